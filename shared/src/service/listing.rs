//! The v2 list endpoints over the export pipeline: a preview page of the
//! rows a filter selects, and the distinct values of one field.
//!
//! Both resolve their filters exactly as an export does
//! ([`TenantView::conditions`]: the same column registry, filter engine,
//! option checks and timezone) and ask the source an [`EntityQuery`]: the
//! preview for one window of the ordered rows and their total, filter values
//! for grouped counts. A preview's rows over all pages are therefore the
//! rows the export of the same filters, sort and timezone writes, in the
//! same order, and no page holds more rows than its window.

use super::error::ServiceError;
use super::page::{parse_sort, PageOf, PageSpec};
use super::plan::{add_conditions, add_sort, load_tenant, TenantView};
use super::tabular::OptionValues;
use crate::filter::FilterCondition;
use crate::model::columns::standard_columns;
use crate::model::{resolve, EntityKind, TenantId, Value};
use crate::query::{EntityQuery, Window};
use crate::service::request::{FilterPageRequest, FilterValuesRequest};
use crate::store::{EntitySource, TenantConfigStore};
use serde::Serialize;
use serde_json::{Map, Value as Json};

/// The query of the rows `filters` select, reading every standard column
/// and every custom field.
fn selection(
    view: &TenantView,
    entity: EntityKind,
    filters: &[FilterCondition],
    timezone: Option<&str>,
) -> Result<EntityQuery, ServiceError> {
    let tz = view.timezone(timezone)?;
    let conditions = view.conditions(entity, filters, tz, OptionValues::NewFilter)?;
    let mut query = EntityQuery::new(entity);
    for c in standard_columns(entity) {
        query.projection.index_of(c.id, c.field_type);
    }
    for d in &view.custom_fields {
        query.projection.index_of(&d.storage_key(), d.field_type);
    }
    add_conditions(&mut query, conditions);
    Ok(query)
}

/// A page of the rows `req.filters` select, each as a JSON object of every
/// standard column and every custom field of the entity (`custom:cf_{uuid}`),
/// typed as the export types them (dates as ISO 8601, numbers as numbers).
///
/// # Errors
/// A client fault of [`ServiceError`] for a bad page, sort or filter;
/// internal failures otherwise.
pub async fn preview(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: FilterPageRequest,
) -> Result<PageOf<Json>, ServiceError> {
    let page = PageSpec::new(req.page, req.size)?;
    let sort = parse_sort(req.sort.as_deref())?;
    let view = load_tenant(config, tenant, entity).await?;
    let mut query = selection(
        &view,
        entity,
        req.filters.as_deref().unwrap_or_default(),
        req.timezone.as_deref(),
    )?;
    // Shown fields come first in the projection, in column order.
    let shown = query.projection.fields().len();
    let keys: Vec<String> = query
        .projection
        .fields()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    let mut sort_errors = Vec::new();
    for (i, s) in sort.iter().enumerate() {
        if let Err(e) = add_sort(&mut query, &s.field, s.descending, &view.custom_fields) {
            sort_errors.push(format!("sort[{i}]: {e}"));
        }
    }
    if !sort_errors.is_empty() {
        return Err(ServiceError::InvalidSort(sort_errors));
    }
    if sort.is_empty() {
        add_sort(&mut query, "createdAt", true, &[]).map_err(|source| {
            ServiceError::Misconfigured {
                what: "the default sort",
                source,
            }
        })?;
    }
    query.window = Window::Range {
        offset: page.offset(),
        limit: page.size,
    };
    query.count = true;
    let answer = entities.query(tenant, &query).await?;
    let content = answer
        .rows
        .iter()
        .map(|row| {
            let object: Map<String, Json> = keys
                .iter()
                .zip(&row[..shown])
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            Json::Object(object)
        })
        .collect();
    Ok(page.envelope(content, answer.total.unwrap_or_default()))
}

/// One distinct value of a field and how many selected rows hold it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueCount {
    /// The value as the v2 preview shows it; `null` counts the empty rows.
    pub value: Json,
    /// For stage, contactSource and segment: the option's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub count: u64,
}

/// The distinct values of `req.field` among the rows `req.baseFilters`
/// select, most frequent first (ties by value), the empty rows as one null
/// entry last whatever their count, paginated.
/// Text values are distinct as stored (case-sensitive).
///
/// # Errors
/// A client fault of [`ServiceError`] for an unknown field or a bad filter
/// or page; internal failures otherwise.
pub async fn filter_values(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: FilterValuesRequest,
) -> Result<PageOf<ValueCount>, ServiceError> {
    let page = PageSpec::new(req.page, req.size)?;
    let view = load_tenant(config, tenant, entity).await?;
    let field = resolve(entity, &req.field, None, &view.custom_fields)
        .map_err(|e| ServiceError::InvalidFilter(vec![format!("field: {e}")]))?;
    let mut query = selection(
        &view,
        entity,
        req.base_filters.as_deref().unwrap_or_default(),
        req.timezone.as_deref(),
    )
    .map_err(|e| match e {
        // This endpoint's conditions are `baseFilters`.
        ServiceError::InvalidFilter(problems) => ServiceError::InvalidFilter(
            problems
                .into_iter()
                .map(|line| match line.strip_prefix("filters") {
                    Some(rest) => format!("baseFilters{rest}"),
                    None => line,
                })
                .collect(),
        ),
        other => other,
    })?;
    let index = query.projection.index_of(&field.key, field.field_type);
    let mut counts = entities.count_values(tenant, &query, index).await?;
    // The empty rows' entry comes last whatever its count; the values
    // before it most frequent first, equal counts by value.
    counts.sort_by(|(a, n), (b, m)| {
        a.is_empty()
            .cmp(&b.is_empty())
            .then_with(|| m.cmp(n))
            .then_with(|| a.cmp_same_type(b))
    });
    let display: Option<Vec<(String, String)>> = view
        .options
        .iter()
        .find(|(k, _)| *k == field.key)
        .map(|(_, opts)| {
            opts.iter()
                .map(|o| (o.code.clone(), o.display_name.clone()))
                .collect()
        });
    let display = display.as_ref();
    let values = counts
        .into_iter()
        .map(|(v, count)| ValueCount {
            display_name: match (&v, display) {
                (Value::Text(code), Some(map)) => map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(code))
                    .map(|(_, name)| name.clone()),
                _ => None,
            },
            value: v.to_json(),
            count,
        })
        .collect();
    Ok(page.cut(values))
}
