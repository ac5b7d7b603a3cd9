//! The v2 list endpoints over the export pipeline: a preview page of the
//! rows a filter selects, and the distinct values of one field.
//!
//! Both build a [`TabularExportRequest`] and go through
//! [`tabular::prepare`] and [`tabular::select`], exactly as an export does:
//! the same column registry, filter engine, option checks, tenant scoping
//! and order. A preview's rows over all pages are therefore the rows the
//! export of the same filters, sort and timezone writes, in the same order.

use super::tabular::{self, ExportError, OptionValues};
use crate::api::listing::{parse_sort, FilterPageRequest, FilterValuesRequest, PageOf, PageSpec};
use crate::api::tabular::{
    ApiError, ColumnRequest, ErrorCode, ExportFormat, SortDirection, SortRequest,
    TabularExportRequest, ViewState,
};
use crate::filter::FilterCondition;
use crate::model::columns::standard_columns;
use crate::model::{resolve, EntityKind, TenantId, Value};
use crate::store::{EntitySource, TenantConfigStore};
use serde::Serialize;
use serde_json::{Map, Value as Json};

fn column(id: String, form_uuid: Option<String>) -> ColumnRequest {
    ColumnRequest {
        label: Some(id.clone()),
        id,
        custom: None,
        field_type: None,
        form_uuid,
    }
}

fn request(
    columns: Vec<ColumnRequest>,
    sort: Option<SortRequest>,
    filters: Option<Vec<FilterCondition>>,
    timezone: Option<String>,
) -> TabularExportRequest {
    TabularExportRequest {
        format: ExportFormat::Csv,
        view_state: Some(ViewState {
            columns: Some(columns),
            sort,
        }),
        locale: None,
        timezone,
        filters,
        include_all_custom_fields: None,
        ui_screen_name: None,
    }
}

/// A page of the rows `req.filters` select, each as a JSON object of every
/// standard column and every custom field of the entity (`custom:cf_{uuid}`),
/// typed as the export types them (dates as ISO 8601, numbers as numbers).
///
/// # Errors
/// [`ExportError::Client`] for a bad page, sort or filter; other variants
/// for internal failures.
pub async fn preview(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: FilterPageRequest,
) -> Result<PageOf<Json>, ExportError> {
    let page = PageSpec::new(req.page, req.size)?;
    let sort = parse_sort(req.sort.as_deref())?;
    let custom_fields = config.custom_fields(tenant, entity).await?;
    if let Some(s) = &sort {
        resolve(entity, &s.field, None, &custom_fields).map_err(|e| {
            ApiError::new(ErrorCode::InvalidSort, "Invalid sort field")
                .with_details(vec![format!("sort[0]: {e}")])
        })?;
    }
    let mut columns: Vec<ColumnRequest> = standard_columns(entity)
        .iter()
        .map(|c| column(c.id.to_string(), None))
        .collect();
    columns.extend(
        custom_fields
            .iter()
            .map(|d| column(d.storage_key(), d.form_uuid.clone())),
    );
    let sort = sort.map(|s| SortRequest {
        field: s.field,
        direction: if s.descending {
            SortDirection::Desc
        } else {
            SortDirection::Asc
        },
    });
    let export_req = request(columns, sort, req.filters, req.timezone);
    let prepared =
        tabular::prepare(config, tenant, entity, &export_req, OptionValues::NewFilter).await?;
    let rows = tabular::select(entities, tenant, entity, &prepared.plan, None).await?;
    let page = page.cut(rows);
    let content = page
        .content
        .iter()
        .map(|row| {
            let object: Map<String, Json> = prepared
                .plan
                .columns
                .iter()
                .map(|c| (c.render.header.clone(), row[c.index].to_json()))
                .collect();
            Json::Object(object)
        })
        .collect();
    Ok(PageOf {
        content,
        page: page.page,
        size: page.size,
        total_elements: page.total_elements,
        total_pages: page.total_pages,
    })
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
/// select, most frequent first (ties by value, empty last), paginated.
/// Text values are distinct as stored (case-sensitive).
///
/// # Errors
/// [`ExportError::Client`] for an unknown field or a bad filter or page.
pub async fn filter_values(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: FilterValuesRequest,
) -> Result<PageOf<ValueCount>, ExportError> {
    let page = PageSpec::new(req.page, req.size)?;
    let custom_fields = config.custom_fields(tenant, entity).await?;
    let field = resolve(entity, &req.field, None, &custom_fields).map_err(|e| {
        ApiError::new(ErrorCode::InvalidFilter, "Invalid filter")
            .with_details(vec![format!("field: {e}")])
    })?;
    let export_req = request(
        vec![column(field.key.clone(), None)],
        None,
        req.base_filters,
        req.timezone,
    );
    let prepared = tabular::prepare(config, tenant, entity, &export_req, OptionValues::NewFilter)
        .await
        .map_err(|e| match e {
            ExportError::Client(mut api) => {
                if let Some(d) = api.details.as_mut() {
                    for line in d.iter_mut() {
                        if let Some(rest) = line.strip_prefix("filters") {
                            *line = format!("baseFilters{rest}");
                        }
                    }
                }
                ExportError::Client(api)
            }
            other => other,
        })?;
    let rows = tabular::select(entities, tenant, entity, &prepared.plan, None).await?;
    let planned = prepared
        .plan
        .columns
        .first()
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "Internal error"))?;
    let mut counts: Vec<(Value, u64)> = Vec::new();
    let mut by_json: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for row in &rows {
        let v = &row[planned.index];
        let v = if v.is_empty() { Value::Null } else { v.clone() };
        let key = v.to_json().to_string();
        match by_json.get(&key) {
            Some(i) => counts[*i].1 += 1,
            None => {
                by_json.insert(key, counts.len());
                counts.push((v, 1));
            }
        }
    }
    counts.sort_by(|(a, n), (b, m)| {
        m.cmp(n).then_with(|| match (a.is_empty(), b.is_empty()) {
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => a.cmp_same_type(b),
        })
    });
    let display = planned.display.as_ref();
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
