//! What can go wrong in the export pipeline, in the pipeline's own terms.
//!
//! [`ServiceError`] names the fault (no columns, an invalid filter, too many
//! rows, a full disk); each API turns it into its own wire format in one
//! place: the tabular API's `BE####` body, the export logs' JSON:API document
//! (both under `crate::api`). Client faults carry their problems as
//! `path: what is wrong` lines ([`ServiceError::problems`]); internal
//! failures keep their cause as the error source, to be logged, never shown.

use crate::model::ColumnError;
use crate::render::{LocaleError, RenderError};
use crate::store::StoreError;

/// Why a request of the pipeline failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request names no columns.
    #[error("no columns requested")]
    NoColumns,
    /// Columns that do not resolve, one problem each.
    #[error("invalid columns: {}", .0.join("; "))]
    InvalidColumns(Vec<String>),
    /// Sort orders that are malformed or name unknown fields.
    #[error("invalid sort: {}", .0.join("; "))]
    InvalidSort(Vec<String>),
    /// Filter conditions the engine rejects, or a field that is not
    /// filterable, one problem each.
    #[error("invalid filter: {}", .0.join("; "))]
    InvalidFilter(Vec<String>),
    /// A malformed locale tag.
    #[error("invalid locale")]
    InvalidLocale(#[source] LocaleError),
    /// An unknown timezone.
    #[error("invalid timezone")]
    InvalidTimezone(#[source] LocaleError),
    /// A page or size out of range.
    #[error("invalid page: {}", .0.join("; "))]
    InvalidPage(Vec<String>),
    /// The filters select no rows, and the caller wants some.
    #[error("the filters select no rows")]
    NoRows,
    /// More rows match than the limit allows.
    #[error("more than {limit} rows match")]
    RowLimitExceeded { limit: u64 },
    /// A `fields` projection naming unknown fields.
    #[error("invalid fields: {}", .0.join("; "))]
    InvalidFields(Vec<String>),
    /// A country code that is missing or names no country.
    #[error("unknown country: {0}")]
    UnknownCountry(String),
    /// Columns the service itself chose do not resolve: a bug, not a
    /// client fault.
    #[error("{what} do not resolve")]
    Misconfigured {
        what: &'static str,
        #[source]
        source: ColumnError,
    },
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("rendering failed")]
    Render(#[from] RenderError),
}

impl ServiceError {
    /// Whether the fault is the client's (the request or its result), as
    /// opposed to an internal failure.
    pub fn is_client_fault(&self) -> bool {
        !matches!(
            self,
            ServiceError::Misconfigured { .. } | ServiceError::Store(_) | ServiceError::Render(_)
        )
    }

    /// Whether the failure is a full disk or volume: it passes, so the
    /// APIs answer 503 with `Retry-After` rather than 500.
    pub fn is_storage_full(&self) -> bool {
        match self {
            ServiceError::Store(e) => e.is_storage_full(),
            ServiceError::Render(e) => crate::store::storage_full(e),
            _ => false,
        }
    }

    /// What is wrong with the request, one `path: problem` line each, safe
    /// to show; empty for internal failures.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ServiceError::NoColumns => {
                vec!["viewState.columns: must contain at least one column".into()]
            }
            ServiceError::InvalidColumns(p)
            | ServiceError::InvalidSort(p)
            | ServiceError::InvalidFilter(p)
            | ServiceError::InvalidPage(p)
            | ServiceError::InvalidFields(p) => p.clone(),
            ServiceError::InvalidLocale(e) => vec![format!("locale: {e}")],
            ServiceError::InvalidTimezone(e) => vec![format!("timezone: {e}")],
            ServiceError::NoRows => vec!["the filters select no rows".into()],
            ServiceError::RowLimitExceeded { limit } => vec![format!(
                "more than {limit} rows match; apply tighter filters"
            )],
            ServiceError::UnknownCountry(p) => vec![p.clone()],
            ServiceError::Misconfigured { .. }
            | ServiceError::Store(_)
            | ServiceError::Render(_) => Vec::new(),
        }
    }
}
