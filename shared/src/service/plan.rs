//! An export plan: a request resolved against the tenant (column registry,
//! custom fields, option lists, timezone) into an [`EntityQuery`] and the
//! columns that render its rows.
//!
//! [`TenantView`] is what resolution needs of the tenant; [`build_plan`]
//! resolves a tabular export request; [`Plan::for_columns`] a fixed column
//! set (export-log files). Previews build their query from the same
//! [`TenantView::conditions`] and [`add_sort`].

use super::error::ServiceError;
use super::request::{ColumnRequest, SortDirection, TabularExportRequest, TypeHint};
use super::select::OptionValues;
use crate::filter::{self, Condition, FilterCondition, FilterContext};
pub use crate::model::Projection;
use crate::model::{
    resolve, ColumnError, ConfigOption, CustomFieldDef, EntityKind, FieldType, OptionKind,
    TenantId, Value,
};
use crate::query::{EntityQuery, SortKey};
use crate::render::{parse_timezone, ColumnKind, Locale, RenderColumn};
use crate::store::{StoreError, TenantConfigStore};

/// One output column: its header and the projected field it shows.
#[derive(Debug, Clone)]
pub struct PlannedColumn {
    pub render: RenderColumn,
    pub index: usize,
    /// Code → display name, for option-list fields (stage, source, segment).
    pub display: Option<Vec<(String, String)>>,
}

/// A resolved export: the query that reads its rows (its window is the
/// caller's) and the columns that show them.
#[derive(Debug, Clone)]
pub struct Plan {
    pub query: EntityQuery,
    pub columns: Vec<PlannedColumn>,
    /// Per column: whether it is the last to show its field, so its cell
    /// can be moved out of the row rather than copied.
    last_use: Vec<bool>,
}

impl Plan {
    /// A plan reading `query`'s rows and showing `columns`.
    pub fn new(query: EntityQuery, columns: Vec<PlannedColumn>) -> Self {
        let last_use = columns
            .iter()
            .enumerate()
            .map(|(j, c)| columns[j + 1..].iter().all(|d| d.index != c.index))
            .collect();
        Plan {
            query,
            columns,
            last_use,
        }
    }

    /// A plan showing the standard fields `columns` (`(id, header)`), newest
    /// first, keeping the rows `conditions` select.
    ///
    /// # Errors
    /// [`ColumnError`] when an id is not a standard column of `entity`.
    pub fn for_columns(
        entity: EntityKind,
        columns: &[(&str, String)],
        conditions: Vec<Condition>,
        view: &TenantView,
    ) -> Result<Plan, ColumnError> {
        let mut query = EntityQuery::new(entity);
        let mut planned = Vec::with_capacity(columns.len());
        for (id, header) in columns {
            let field = resolve(entity, id, None, &[])?;
            planned.push(view.planned_column(
                &mut query.projection,
                &field.key,
                field.field_type,
                header.clone(),
                ColumnKind::Typed,
            ));
        }
        add_sort(&mut query, "createdAt", true, &[])?;
        add_conditions(&mut query, conditions);
        Ok(Plan::new(query, planned))
    }

    /// The output cells of a projected row, in column order. Cells are
    /// moved out of `row` (a field shown twice is copied for all but its
    /// last column), so the row is spent afterwards.
    pub fn take_cells(&self, row: &mut [Value], out: &mut Vec<Value>) {
        out.clear();
        for (c, last) in self.columns.iter().zip(&self.last_use) {
            let v = &mut row[c.index];
            let shown = match (&c.display, &*v) {
                (Some(map), Value::Text(code)) => map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(code))
                    .map(|(_, name)| Value::Text(name.clone())),
                _ => None,
            };
            out.push(match shown {
                Some(name) => name,
                None if *last => std::mem::replace(v, Value::Null),
                None => v.clone(),
            });
        }
    }
}

/// Adds compiled conditions to a query, projecting their fields.
pub fn add_conditions(query: &mut EntityQuery, conditions: Vec<Condition>) {
    for c in conditions {
        let index = query.projection.index_of(&c.field.key, c.field.field_type);
        query.conditions.push((index, c));
    }
}

/// Adds a sort key on the field `id` (a standard column, alias or custom
/// field id), projecting it.
///
/// # Errors
/// [`ColumnError`] when `id` does not resolve.
pub fn add_sort(
    query: &mut EntityQuery,
    id: &str,
    descending: bool,
    custom_fields: &[CustomFieldDef],
) -> Result<(), ColumnError> {
    let field = resolve(query.entity, id, None, custom_fields)?;
    let index = query.projection.index_of(&field.key, field.field_type);
    query.sort.push(SortKey { index, descending });
    Ok(())
}

/// The tenant data a request is resolved against.
#[derive(Debug, Clone)]
pub struct TenantView {
    pub custom_fields: Vec<CustomFieldDef>,
    pub options: Vec<(String, Vec<ConfigOption>)>,
    pub row_limit: u64,
    pub default_locale: Option<String>,
    pub default_timezone: Option<String>,
}

/// Reads what resolving a request against `tenant`'s `entity` needs.
///
/// # Errors
/// [`StoreError`] when the configuration store fails.
pub async fn load_tenant(
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
) -> Result<TenantView, StoreError> {
    let settings = config.settings(tenant).await?;
    let custom_fields = config.custom_fields(tenant, entity).await?;
    let mut options = Vec::new();
    if entity == EntityKind::Contacts {
        for (key, kind) in [
            ("stage", OptionKind::Stages),
            ("contactSource", OptionKind::Sources),
            ("segment", OptionKind::Segments),
        ] {
            options.push((key.to_string(), config.options(tenant, kind).await?));
        }
    }
    Ok(TenantView {
        custom_fields,
        options,
        row_limit: settings.sync_row_limit,
        default_locale: settings.locale,
        default_timezone: settings.timezone,
    })
}

impl TenantView {
    /// The request's locale, else the tenant's default: for files whose
    /// request has no locale of its own (export logs).
    ///
    /// # Errors
    /// [`ServiceError::InvalidLocale`] for a malformed tag.
    pub fn locale(&self, requested: Option<&str>) -> Result<Locale, ServiceError> {
        Locale::parse(requested.or(self.default_locale.as_deref()))
            .map_err(ServiceError::InvalidLocale)
    }

    /// The locale of a request that names its own: omitted means ISO 8601,
    /// as the tabular API document says ("When locale is omitted or set to
    /// en, ISO 8601 formatting is used"), whatever the tenant's default.
    ///
    /// # Errors
    /// [`ServiceError::InvalidLocale`] for a malformed tag.
    pub fn request_locale(&self, requested: Option<&str>) -> Result<Locale, ServiceError> {
        Locale::parse(requested).map_err(ServiceError::InvalidLocale)
    }

    /// The request's timezone, else the tenant's default, else UTC.
    ///
    /// # Errors
    /// [`ServiceError::InvalidTimezone`] for an unknown zone.
    pub fn timezone(&self, requested: Option<&str>) -> Result<chrono_tz::Tz, ServiceError> {
        parse_timezone(requested.or(self.default_timezone.as_deref()))
            .map_err(ServiceError::InvalidTimezone)
    }

    /// Compiles `filters` against the registry, the tenant's custom fields
    /// and option lists; with [`OptionValues::NewFilter`] option-list values
    /// must name enabled, undeleted options.
    ///
    /// # Errors
    /// [`ServiceError::InvalidFilter`] naming every condition at fault.
    pub fn conditions(
        &self,
        entity: EntityKind,
        filters: &[FilterCondition],
        timezone: chrono_tz::Tz,
        values: OptionValues,
    ) -> Result<Vec<Condition>, ServiceError> {
        let invalid = ServiceError::InvalidFilter;
        if values == OptionValues::NewFilter {
            let problems = filter::check_option_values(filters, entity, &self.options);
            if !problems.is_empty() {
                return Err(invalid(problems.iter().map(ToString::to_string).collect()));
            }
        }
        let ctx = FilterContext {
            entity,
            custom_fields: &self.custom_fields,
            options: &self.options,
            timezone,
        };
        filter::compile(filters, &ctx)
            .map_err(|errs| invalid(errs.iter().map(ToString::to_string).collect()))
    }

    fn planned_column(
        &self,
        projection: &mut Projection,
        key: &str,
        ty: FieldType,
        header: String,
        kind: ColumnKind,
    ) -> PlannedColumn {
        let display = self
            .options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, opts)| {
                opts.iter()
                    .map(|o| (o.code.clone(), o.display_name.clone()))
                    .collect()
            });
        PlannedColumn {
            render: RenderColumn { header, kind },
            index: projection.index_of(key, ty),
            display,
        }
    }
}

/// Resolves a tabular export request's columns, sort and conditions into a
/// plan.
///
/// # Errors
/// [`ServiceError::InvalidColumns`] naming every bad column,
/// [`ServiceError::InvalidSort`] for a bad sort field.
pub fn build_plan(
    entity: EntityKind,
    req: &TabularExportRequest,
    columns: &[ColumnRequest],
    view: &TenantView,
    conditions: Vec<Condition>,
) -> Result<Plan, ServiceError> {
    let mut query = EntityQuery::new(entity);
    let mut planned = Vec::with_capacity(columns.len());
    let mut errors = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let path = format!("viewState.columns[{i}]");
        let is_custom_id = c.id.starts_with(crate::model::custom::CUSTOM_PREFIX);
        if c.custom.is_some_and(|custom| custom != is_custom_id) {
            errors.push(format!(
                "{path}.custom: {} does not match id '{}' (custom ids look like custom:cf_{{uuid}})",
                c.custom.unwrap_or_default(),
                c.id
            ));
            continue;
        }
        let field = match resolve(entity, &c.id, c.form_uuid.as_deref(), &view.custom_fields) {
            Ok(f) => f,
            Err(e) => {
                let part = if matches!(e, ColumnError::WrongForm { .. }) {
                    "formUuid"
                } else {
                    "id"
                };
                errors.push(format!("{path}.{part}: {e}"));
                continue;
            }
        };
        let kind = column_kind(field.field_type, c.field_type.as_ref().and_then(TypeHint::known))
            .unwrap_or_else(|| {
                tracing::debug!(column = %c.id, hint = ?c.field_type, actual = field.field_type.as_str(),
                    "type hint does not fit the column; written as its own type");
                ColumnKind::Typed
            });
        let header = c.label.clone().unwrap_or_else(|| {
            view.custom_fields
                .iter()
                .find(|d| d.storage_key() == field.key)
                .map_or_else(|| c.id.clone(), |d| d.label.clone())
        });
        planned.push(view.planned_column(
            &mut query.projection,
            &field.key,
            field.field_type,
            header,
            kind,
        ));
    }
    if !errors.is_empty() {
        return Err(ServiceError::InvalidColumns(errors));
    }
    let has_custom = columns
        .iter()
        .any(|c| c.id.starts_with(crate::model::custom::CUSTOM_PREFIX));
    if req.include_all_custom_fields == Some(true) && !has_custom {
        for def in &view.custom_fields {
            planned.push(view.planned_column(
                &mut query.projection,
                &def.storage_key(),
                def.field_type,
                def.label.clone(),
                ColumnKind::Typed,
            ));
        }
    }

    let sort = req.view_state.as_ref().and_then(|v| v.sort.as_ref());
    let (sort_field, descending) = match sort {
        Some(s) => (s.field.as_str(), s.direction == SortDirection::Desc),
        None => ("createdAt", true),
    };
    add_sort(&mut query, sort_field, descending, &view.custom_fields)
        .map_err(|e| ServiceError::InvalidSort(vec![format!("viewState.sort.field: {e}")]))?;
    add_conditions(&mut query, conditions);
    Ok(Plan::new(query, planned))
}

/// How a column of type `actual` is written when the client hints `hint`.
/// `STRING` fits everything (written as formatted text); `DATE` fits a
/// `DATE_TIME` (written as its local date); otherwise the hint must match.
fn column_kind(actual: FieldType, hint: Option<FieldType>) -> Option<ColumnKind> {
    match hint {
        None => Some(ColumnKind::Typed),
        Some(h) if h == actual => Some(ColumnKind::Typed),
        Some(FieldType::String) => Some(ColumnKind::Text),
        Some(FieldType::Date) if actual == FieldType::DateTime => Some(ColumnKind::DateOnly),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(index: usize, display: Option<Vec<(String, String)>>) -> PlannedColumn {
        PlannedColumn {
            render: RenderColumn {
                header: format!("c{index}"),
                kind: ColumnKind::Typed,
            },
            index,
            display,
        }
    }

    #[test]
    fn cells_are_moved_out_and_a_repeated_field_is_shown_each_time() {
        // GIVEN a plan showing field 1 twice, field 0 once and a display map on field 2
        let mut query = EntityQuery::new(EntityKind::Contacts);
        query.projection.index_of("name", FieldType::String);
        query.projection.index_of("stage", FieldType::String);
        let stages = vec![("lead".to_string(), "Lead".to_string())];
        let plan = Plan::new(
            query,
            vec![
                column(1, None),
                column(0, None),
                column(1, None),
                column(2, Some(stages)),
            ],
        );
        let mut row = vec![
            Value::Text("c-1".into()),
            Value::Text("Ana".into()),
            Value::Text("LEAD".into()),
        ];
        // WHEN its cells are taken
        let mut out = Vec::new();
        plan.take_cells(&mut row, &mut out);
        // THEN every column shows its value, the repeated one twice
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(
            out,
            vec![text("Ana"), text("c-1"), text("Ana"), text("Lead")]
        );
    }

    #[test]
    fn a_type_hint_shapes_a_column_but_never_fails_it() {
        // GIVEN a view with no custom fields and columns with every kind of hint
        let view = TenantView {
            custom_fields: Vec::new(),
            options: Vec::new(),
            row_limit: 10,
            default_locale: None,
            default_timezone: None,
        };
        let req: TabularExportRequest = serde_json::from_slice(
            br#"{"format":"CSV","viewState":{"columns":[
              {"id":"createdAt","type":"DATE"},
              {"id":"firstName","type":"NUMBER"},
              {"id":"isActive","type":"CURRENCY"},
              {"id":"netWorth","type":"STRING"}]}}"#,
        )
        .unwrap();
        let columns = req.view_state.as_ref().unwrap().columns.clone().unwrap();
        // WHEN the plan is built
        let plan = build_plan(EntityKind::Contacts, &req, &columns, &view, Vec::new()).unwrap();
        // THEN a fitting hint shapes the column and the others are ignored
        let kinds: Vec<ColumnKind> = plan.columns.iter().map(|c| c.render.kind).collect();
        assert_eq!(
            kinds,
            [
                ColumnKind::DateOnly,
                ColumnKind::Typed,
                ColumnKind::Typed,
                ColumnKind::Text
            ]
        );
    }
}
