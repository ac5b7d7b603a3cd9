//! The synchronous tabular export: prepare the request, query the rows,
//! render them ([`super::select`]).

use super::error::ServiceError;
use super::request::TabularExportRequest;
pub use super::select::{prepare, select, OptionValues, Prepared};
use crate::model::{EntityKind, TenantId};
use crate::render::{CellFormatter, CsvRenderer, ExportFormat, RenderColumn, XlsxRenderer};
use crate::store::{EntitySource, TenantConfigStore};
use chrono::{DateTime, Utc};

/// A rendered export.
#[derive(Debug, Clone)]
pub struct RenderedExport {
    pub bytes: Vec<u8>,
    pub format: ExportFormat,
    pub filename: String,
    pub rows: usize,
}

/// How one caller of the pipeline differs from the tabular API's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// The deployment's cap on every tenant's row limit
    /// (`EXPORTS_MAX_SYNC_ROWS`): the limit is the smaller of the two.
    pub max_rows: Option<u64>,
    /// Whether a filter selecting no rows gives a header-only file (`true`)
    /// or [`ServiceError::NoRows`] (`false`, the tabular API's rule).
    pub allow_empty: bool,
    /// Whether the filters' option-list values are checked against the
    /// tenant's enabled options ([`OptionValues::NewFilter`], the default)
    /// or matched as stored ([`OptionValues::Stored`]: an export log's
    /// filter keeps working after a stage it names is disabled).
    pub option_values: OptionValues,
}

/// Runs a synchronous export for a verified tenant, as [`ExportOptions`] say.
///
/// # Errors
/// [`ExportError::Client`] for anything wrong with the request or its result
/// (no rows, too many rows); other variants for internal failures.
pub async fn export_with(
    entities: &dyn EntitySource,
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    entity: EntityKind,
    req: &TabularExportRequest,
    now: DateTime<Utc>,
    opts: ExportOptions,
) -> Result<RenderedExport, ServiceError> {
    let prepared = prepare(config, tenant, entity, req, opts.option_values).await?;
    let mut file = render(entities, tenant, &prepared, req.format, opts).await?;
    let local_now = now.with_timezone(&prepared.timezone);
    file.filename = format!(
        "{}_{}.{}",
        entity.path_name(),
        local_now.format("%Y%m%d-%H%M%S"),
        req.format.extension()
    );
    Ok(file)
}

/// Queries and renders a prepared export (its `filename` is left empty for
/// the caller to name).
///
/// # Errors
/// As [`export_with`].
pub async fn render(
    entities: &dyn EntitySource,
    tenant: &TenantId,
    prepared: &Prepared,
    format: ExportFormat,
    opts: ExportOptions,
) -> Result<RenderedExport, ServiceError> {
    let row_limit = opts
        .max_rows
        .map_or(prepared.row_limit, |cap| prepared.row_limit.min(cap));
    let plan = &prepared.plan;
    let mut rows = select(entities, tenant, plan, row_limit).await?;
    if rows.is_empty() && !opts.allow_empty {
        return Err(ServiceError::NoRows);
    }

    let tz = prepared.timezone;
    let formatter = CellFormatter::new(&prepared.locale, tz);
    let render_columns: Vec<RenderColumn> = plan.columns.iter().map(|c| c.render.clone()).collect();
    let mut cells = Vec::with_capacity(render_columns.len());
    let bytes = match format {
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
    Ok(RenderedExport {
        bytes,
        format,
        filename: String::new(),
        rows: rows.len(),
    })
}
