//! File renderers (CSV and XLSX) and locale-aware value formatting.
//!
//! A renderer receives the export's columns once and then typed rows, one at
//! a time, so callers can stream. The cell's [`Value`] decides how it is
//! written; [`ColumnKind::Text`] turns any value into formatted text.

pub mod csv;
pub mod format;
pub mod locale;
pub mod moment;
pub mod xlsx;

pub use self::csv::{neutralise_formula, CsvRenderer};
pub use self::xlsx::XlsxRenderer;
pub use format::{attachment, ExportFormat};
pub use locale::{parse_timezone, CellFormatter, Locale, LocaleError};

use crate::model::Value;

/// How a column is written, from its registry type and the request's type hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Values are written as they are typed.
    Typed,
    /// Every value is written as formatted text (the `STRING` hint).
    Text,
    /// DATE_TIME values are written as their local date (the `DATE` hint).
    DateOnly,
}

/// One output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderColumn {
    pub header: String,
    pub kind: ColumnKind,
}

/// Errors of the renderers.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("CSV write failed")]
    Csv(#[from] ::csv::Error),
    #[error("XLSX write failed")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("output write failed")]
    Io(#[from] std::io::Error),
}

/// Formats one value as text, as CSV cells and `STRING`-hinted columns show it.
pub fn format_text(f: &CellFormatter, kind: ColumnKind, value: &Value, out: &mut String) {
    match value {
        Value::Null => {}
        Value::Text(s) => out.push_str(s),
        Value::Number(n) => f.format_number(*n, out),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Date(d) => f.format_date(*d, out),
        Value::DateTime(t) if kind == ColumnKind::DateOnly => {
            f.format_date(f.local_datetime(*t).date(), out)
        }
        Value::DateTime(t) => f.format_datetime(*t, out),
    }
}
