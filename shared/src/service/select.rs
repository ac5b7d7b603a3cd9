//! The one selection path of every reader of entity rows: the tabular
//! export, export-log files, the v2 preview and filter values.
//!
//! [`prepare`] resolves a request against the tenant (columns, sort,
//! filters, option checks, locale, timezone) into a [`Plan`]; [`select`]
//! streams the tenant's records, keeps the rows the plan's filters pass and
//! sorts them in the plan's stable order. Readers that share these two
//! functions cannot disagree about which rows a filter selects.

use super::plan::Plan;
use super::tabular::{build_plan, load_tenant, ExportError, PAGE_SIZE};
use crate::api::tabular::{ApiError, ErrorCode, TabularExportRequest};
use crate::filter;
use crate::model::{EntityKind, TenantId};
use crate::render::{parse_timezone, Locale};
use crate::store::{EntitySource, TenantConfigStore};

/// Whether the option-list values of a request's filters (stage, source,
/// segment) must name enabled, undeleted options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptionValues {
    /// A filter written now (exports, v2 previews, filter values): values
    /// must be enabled, undeleted options of the tenant.
    #[default]
    NewFilter,
    /// A filter stored earlier (export logs): any value is matched as it is.
    Stored,
}

/// A request resolved against its tenant: the plan, the locale and
/// timezone, and the tenant's row limit.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub plan: Plan,
    pub locale: Locale,
    pub timezone: chrono_tz::Tz,
    /// The tenant's sync row limit (before any deployment cap).
    pub row_limit: u64,
}

/// Resolves a request against the tenant's configuration: columns, sort,
/// filters, locale and timezone. Every reader of entity rows (the tabular
/// export, export logs, the v2 preview and filter values) goes through here
/// and [`select`], so they select the same rows in the same order.
///
/// # Errors
/// [`ExportError::Client`] for anything wrong with the request.
pub async fn prepare(
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: &TabularExportRequest,
    values: OptionValues,
) -> Result<Prepared, ExportError> {
    let columns = req
        .view_state
        .as_ref()
        .and_then(|v| v.columns.as_ref())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::NoColumns, "No columns supplied").with_details(vec![
                "viewState.columns: must contain at least one column".into(),
            ])
        })?;
    let view = load_tenant(config, tenant, entity).await?;

    let locale_tag = req.locale.as_deref().or(view.default_locale.as_deref());
    let locale = Locale::parse(locale_tag).map_err(|e| {
        ApiError::new(ErrorCode::InvalidLocale, "Invalid locale")
            .with_details(vec![format!("locale: {e}")])
    })?;
    let tz_name = req.timezone.as_deref().or(view.default_timezone.as_deref());
    let tz = parse_timezone(tz_name).map_err(|e| {
        ApiError::new(ErrorCode::InvalidTimezone, "Invalid timezone")
            .with_details(vec![format!("timezone: {e}")])
    })?;
    if values == OptionValues::NewFilter {
        let problems = filter::check_option_values(
            req.filters.as_deref().unwrap_or_default(),
            entity,
            &view.options,
        );
        if !problems.is_empty() {
            return Err(ApiError::new(ErrorCode::InvalidFilter, "Invalid filter")
                .with_details(problems.iter().map(ToString::to_string).collect())
                .into());
        }
    }

    let plan = build_plan(entity, req, columns, &view, tz)?;
    Ok(Prepared {
        plan,
        locale,
        timezone: tz,
        row_limit: view.row_limit,
    })
}

/// Streams the tenant's records page by page, keeps the projected rows that
/// pass the plan's filters and sorts them by the plan's order.
///
/// # Errors
/// [`ErrorCode::RowLimitExceeded`] when more than `limit` rows match;
/// [`ExportError::Store`] when the store fails.
pub async fn select(
    entities: &dyn EntitySource,
    tenant: &TenantId,
    entity: EntityKind,
    plan: &Plan,
    limit: Option<u64>,
) -> Result<Vec<Vec<crate::model::Value>>, ExportError> {
    let mut rows: Vec<Vec<crate::model::Value>> = Vec::new();
    let mut cursor = None;
    loop {
        let page = entities
            .page_rows(tenant, entity, cursor, PAGE_SIZE, &plan.projection)
            .await?;
        for row in page.rows {
            if plan.keep(&row) {
                rows.push(row);
                if let Some(limit) = limit.filter(|l| rows.len() as u64 > *l) {
                    return Err(
                        ApiError::new(ErrorCode::RowLimitExceeded, "Row limit exceeded")
                            .with_details(vec![format!(
                                "more than {limit} rows match; apply tighter filters"
                            )])
                            .into(),
                    );
                }
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    rows.sort_by(|a, b| plan.compare(a, b));
    Ok(rows)
}
