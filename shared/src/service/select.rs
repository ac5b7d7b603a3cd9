//! The one selection path of every reader of entity rows: the tabular
//! export, export-log files, the v2 preview and filter values.
//!
//! Selection is one straight line: *prepare* (resolve the request against
//! the tenant into a [`Plan`], whose [`EntityQuery`] says which rows, in
//! which order), *query* (the [`EntitySource`] answers it, pushed down
//! where it can) and *render*. Readers that share [`prepare`] and
//! [`select`] cannot disagree about which rows a filter selects.

use super::error::ServiceError;
use super::plan::{build_plan, load_tenant, Plan};
use super::request::TabularExportRequest;
use crate::model::{EntityKind, TenantId};
use crate::query::{QueryAnswer, Window};
use crate::render::Locale;
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

/// Resolves a tabular export request against the tenant's configuration:
/// columns, sort, filters, locale and timezone.
///
/// # Errors
/// A client fault of [`ServiceError`] for anything wrong with the request;
/// [`ServiceError::Store`] when the configuration store fails.
pub async fn prepare(
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: &TabularExportRequest,
    values: OptionValues,
) -> Result<Prepared, ServiceError> {
    let columns = req
        .view_state
        .as_ref()
        .and_then(|v| v.columns.as_ref())
        .filter(|c| !c.is_empty())
        .ok_or(ServiceError::NoColumns)?;
    let view = load_tenant(config, tenant, entity).await?;
    let locale = view.request_locale(req.locale.as_deref())?;
    let timezone = view.timezone(req.timezone.as_deref())?;
    let conditions = view.conditions(
        entity,
        req.filters.as_deref().unwrap_or_default(),
        timezone,
        values,
    )?;
    let plan = build_plan(entity, req, columns, &view, conditions)?;
    Ok(Prepared {
        plan,
        locale,
        timezone,
        row_limit: view.row_limit,
    })
}

/// Every row the plan selects, in its order, failing when more than
/// `limit` match: the source stops reading as soon as one row too many
/// does.
///
/// # Errors
/// [`ServiceError::RowLimitExceeded`] when more than `limit` rows match;
/// [`ServiceError::Store`] when the store fails.
pub async fn select(
    entities: &dyn EntitySource,
    tenant: &TenantId,
    plan: &Plan,
    limit: u64,
) -> Result<Vec<Vec<crate::model::Value>>, ServiceError> {
    let mut query = plan.query.clone();
    query.window = Window::All { cap: Some(limit) };
    query.count = false;
    let QueryAnswer { rows, .. } = entities.query(tenant, &query).await?;
    if rows.len() as u64 > limit {
        return Err(ServiceError::RowLimitExceeded { limit });
    }
    Ok(rows)
}
