//! The tabular API's one mapping of a pipeline error ([`ServiceError`]) to
//! its `BE####` body: client faults with their code and problems, a full
//! disk as `BE0503`, every other internal failure as a bare `BE0500`.

use super::error::{ApiError, ErrorCode};
use crate::service::ServiceError;

/// The details of a `BE0503`: the storage filled up.
const STORAGE_FULL: &str = "storage: full; retry later";

impl From<&ServiceError> for ApiError {
    fn from(e: &ServiceError) -> Self {
        let (code, message) = match e {
            ServiceError::NoColumns => (ErrorCode::NoColumns, "No columns supplied"),
            ServiceError::InvalidColumns(_) => (ErrorCode::InvalidColumn, "Invalid column"),
            ServiceError::InvalidSort(_) => (ErrorCode::InvalidSort, "Invalid sort field"),
            ServiceError::InvalidFilter(_) => (ErrorCode::InvalidFilter, "Invalid filter"),
            ServiceError::InvalidLocale(_) => (ErrorCode::InvalidLocale, "Invalid locale"),
            ServiceError::InvalidTimezone(_) => (ErrorCode::InvalidTimezone, "Invalid timezone"),
            ServiceError::InvalidPage(_) => (ErrorCode::InvalidPagination, "Invalid page or size"),
            ServiceError::NoRows => (ErrorCode::NoRows, "No rows to export"),
            ServiceError::RowLimitExceeded { .. } => {
                (ErrorCode::RowLimitExceeded, "Row limit exceeded")
            }
            ServiceError::InvalidFields(_) => (ErrorCode::InvalidFields, "Invalid fields"),
            ServiceError::UnknownCountry(_) => (ErrorCode::UnknownCountry, "Unknown country"),
            other if other.is_storage_full() => {
                return ApiError::new(ErrorCode::Unavailable, "Service temporarily unavailable")
                    .with_details(vec![STORAGE_FULL.into()]);
            }
            ServiceError::Misconfigured { .. }
            | ServiceError::Store(_)
            | ServiceError::Render(_) => {
                return ApiError::new(ErrorCode::Internal, "Internal error");
            }
        };
        ApiError::new(code, message).with_details(e.problems())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn client_faults_keep_their_code_and_problems() {
        let e = ApiError::from(&ServiceError::RowLimitExceeded { limit: 5 });
        assert_eq!(e.code, ErrorCode::RowLimitExceeded);
        assert_eq!(e.message, "Row limit exceeded");
        assert_eq!(
            e.details,
            Some(vec!["more than 5 rows match; apply tighter filters".into()])
        );
        let e = ApiError::from(&ServiceError::NoColumns);
        assert_eq!(e.code.code(), "BE0301");
    }

    #[test]
    fn internal_failures_show_nothing_of_their_cause() {
        let e = ApiError::from(&ServiceError::Store(StoreError::backend(
            "query",
            std::io::Error::other("secret table name"),
        )));
        assert_eq!(e, ApiError::new(ErrorCode::Internal, "Internal error"));
    }
}
