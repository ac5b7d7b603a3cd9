//! The synchronous tabular export: resolve the request, stream the tenant's
//! records page by page, filter, sort and render.

use super::plan::{Plan, PlannedColumn, Projection};
pub use super::select::{prepare, select, OptionValues, Prepared};
use crate::api::tabular::{ApiError, ErrorCode, ExportFormat, SortDirection, TabularExportRequest};
use crate::filter::{self, FilterContext};
use crate::model::{
    resolve, ColumnError, CustomFieldDef, EntityKind, FieldType, OptionKind, TenantId,
};
use crate::render::{
    CellFormatter, ColumnKind, CsvRenderer, RenderColumn, RenderError, XlsxRenderer,
};
use crate::store::{EntitySource, StoreError, TenantConfigStore};
use chrono::{DateTime, Utc};

/// Records read per storage page.
pub const PAGE_SIZE: usize = 1_000;

/// A rendered export.
#[derive(Debug, Clone)]
pub struct RenderedExport {
    pub bytes: Vec<u8>,
    pub format: ExportFormat,
    pub filename: String,
    pub rows: usize,
}

/// Why an export failed. Client faults carry an [`ApiError`]; the rest are
/// internal and are logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0:?}")]
    Client(ApiError),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("rendering failed")]
    Render(#[from] RenderError),
}

impl From<ApiError> for ExportError {
    fn from(e: ApiError) -> Self {
        ExportError::Client(e)
    }
}

/// The tenant data an export is resolved against.
pub(super) struct TenantView {
    pub(super) custom_fields: Vec<CustomFieldDef>,
    pub(super) options: Vec<(String, Vec<crate::model::ConfigOption>)>,
    pub(super) row_limit: u64,
    pub(super) default_locale: Option<String>,
    pub(super) default_timezone: Option<String>,
}

pub(super) async fn load_tenant(
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

/// Runs a synchronous export for a verified tenant.
///
/// # Errors
/// [`ExportError::Client`] for anything wrong with the request or its result
/// (no rows, too many rows); other variants for internal failures.
pub async fn export(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: &TabularExportRequest,
    now: DateTime<Utc>,
) -> Result<RenderedExport, ExportError> {
    export_with(
        entities,
        config,
        tenant,
        entity,
        req,
        now,
        ExportOptions::default(),
    )
    .await
}

/// How one caller of the pipeline differs from the tabular API's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// The deployment's cap on every tenant's row limit
    /// (`EXPORTS_MAX_SYNC_ROWS`): the limit is the smaller of the two.
    pub max_rows: Option<u64>,
    /// Whether a filter selecting no rows gives a header-only file (`true`)
    /// or [`ErrorCode::NoRows`] (`false`, the tabular API's rule).
    pub allow_empty: bool,
    /// Whether the filters' option-list values are checked against the
    /// tenant's enabled options ([`OptionValues::NewFilter`], the default)
    /// or matched as stored ([`OptionValues::Stored`]: an export log's
    /// filter keeps working after a stage it names is disabled).
    pub option_values: OptionValues,
}

/// [`export`], with [`ExportOptions`].
///
/// # Errors
/// As [`export`].
pub async fn export_with(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: &TabularExportRequest,
    now: DateTime<Utc>,
    opts: ExportOptions,
) -> Result<RenderedExport, ExportError> {
    let prepared = prepare(config, tenant, entity, req, opts.option_values).await?;
    let row_limit = opts
        .max_rows
        .map_or(prepared.row_limit, |cap| prepared.row_limit.min(cap));
    let plan = &prepared.plan;
    let mut rows = select(entities, tenant, entity, plan, Some(row_limit)).await?;
    if rows.is_empty() && !opts.allow_empty {
        return Err(ApiError::new(ErrorCode::NoRows, "No rows to export")
            .with_details(vec!["the filters select no rows".into()])
            .into());
    }

    let tz = prepared.timezone;
    let formatter = CellFormatter::new(&prepared.locale, tz);
    let render_columns: Vec<RenderColumn> = plan.columns.iter().map(|c| c.render.clone()).collect();
    let mut cells = Vec::with_capacity(render_columns.len());
    let bytes = match req.format {
        ExportFormat::Csv => {
            let mut out = CsvRenderer::new(Vec::new(), &render_columns, formatter, b',', false)?;
            for row in &mut rows {
                plan.take_cells(row, &mut cells);
                out.write_row(&cells)?;
            }
            out.finish()?
        }
        ExportFormat::Xlsx => {
            let mut out = XlsxRenderer::new(&render_columns, formatter)?;
            for row in &mut rows {
                plan.take_cells(row, &mut cells);
                out.write_row(&cells)?;
            }
            out.finish()?
        }
    };
    let local_now = now.with_timezone(&tz);
    Ok(RenderedExport {
        bytes,
        format: req.format,
        filename: format!(
            "{}_{}.{}",
            entity.path_name(),
            local_now.format("%Y%m%d-%H%M%S"),
            req.format.extension()
        ),
        rows: rows.len(),
    })
}

pub(super) fn build_plan(
    entity: EntityKind,
    req: &TabularExportRequest,
    columns: &[crate::api::tabular::ColumnRequest],
    view: &TenantView,
    tz: chrono_tz::Tz,
) -> Result<Plan, ApiError> {
    let mut projection = Projection::default();
    let id_index = projection.index_of("id", FieldType::String);
    let mut planned = Vec::with_capacity(columns.len());
    let mut errors = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let path = format!("viewState.columns[{i}]");
        let is_custom_id = c.id.starts_with(crate::model::columns::CUSTOM_PREFIX);
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
        let kind = match column_kind(field.field_type, c.field_type) {
            Some(k) => k,
            None => {
                errors.push(format!(
                    "{path}.type: column '{}' is {}, it cannot be exported as {}",
                    c.id,
                    field.field_type.as_str(),
                    c.field_type.map_or("?", FieldType::as_str)
                ));
                continue;
            }
        };
        let header = c.label.clone().unwrap_or_else(|| {
            view.custom_fields
                .iter()
                .find(|d| d.storage_key() == field.key)
                .map_or_else(|| c.id.clone(), |d| d.label.clone())
        });
        planned.push(planned_column(
            &mut projection,
            &field.key,
            field.field_type,
            header,
            kind,
            view,
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidColumn, "Invalid column").with_details(errors));
    }
    let has_custom = columns
        .iter()
        .any(|c| c.id.starts_with(crate::model::columns::CUSTOM_PREFIX));
    if req.include_all_custom_fields == Some(true) && !has_custom {
        for def in &view.custom_fields {
            planned.push(planned_column(
                &mut projection,
                &def.storage_key(),
                def.field_type,
                def.label.clone(),
                ColumnKind::Typed,
                view,
            ));
        }
    }

    let sort = req.view_state.as_ref().and_then(|v| v.sort.as_ref());
    let (sort_field, descending) = match sort {
        Some(s) => (s.field.as_str(), s.direction == SortDirection::Desc),
        None => ("createdAt", true),
    };
    let sort_resolved = resolve(entity, sort_field, None, &view.custom_fields).map_err(|e| {
        ApiError::new(ErrorCode::InvalidSort, "Invalid sort field")
            .with_details(vec![format!("viewState.sort.field: {e}")])
    })?;
    let sort_index = projection.index_of(&sort_resolved.key, sort_resolved.field_type);

    let ctx = FilterContext {
        entity,
        custom_fields: &view.custom_fields,
        options: &view.options,
        timezone: tz,
    };
    let conditions = filter::compile(req.filters.as_deref().unwrap_or_default(), &ctx)
        .map_err(|errs| {
            ApiError::new(ErrorCode::InvalidFilter, "Invalid filter")
                .with_details(errs.iter().map(ToString::to_string).collect())
        })?
        .into_iter()
        .map(|c| (projection.index_of(&c.field.key, c.field.field_type), c))
        .collect();

    Ok(Plan::new(
        projection,
        planned,
        conditions,
        (sort_index, descending),
        id_index,
    ))
}

fn planned_column(
    projection: &mut Projection,
    key: &str,
    ty: FieldType,
    header: String,
    kind: ColumnKind,
    view: &TenantView,
) -> PlannedColumn {
    let display = view
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
