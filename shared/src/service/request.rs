//! What a tabular export asks of the pipeline: format, columns, sort,
//! filters, locale and timezone; and what a v2 list or filter-values
//! request asks. The body of `POST /api/exports/{entity}`
//! deserialises into it; the tabular API's `parse_request` does so with the
//! API's error rules, and the service resolves it against the tenant.

use crate::filter::FilterCondition;
use crate::model::FieldType;
use crate::render::ExportFormat;
use serde::{Deserialize, Serialize};

/// The body of `POST /api/exports/{entity}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TabularExportRequest {
    pub format: ExportFormat,
    #[serde(default)]
    pub view_state: Option<ViewState>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub filters: Option<Vec<FilterCondition>>,
    #[serde(default)]
    pub include_all_custom_fields: Option<bool>,
    #[serde(default)]
    pub ui_screen_name: Option<String>,
}

/// Columns and sort. A UI grid sends its whole view state (widths,
/// pinning, hidden flags, page size): what the export does not use is
/// ignored here and in the columns and sort, and logged at debug level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewState {
    #[serde(default)]
    pub columns: Option<Vec<ColumnRequest>>,
    #[serde(default)]
    pub sort: Option<SortRequest>,
}

/// One requested column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnRequest {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub custom: Option<bool>,
    /// A hint for formatting; one that is unknown or does not fit the
    /// column is ignored, never an error.
    #[serde(default, rename = "type")]
    pub field_type: Option<TypeHint>,
    #[serde(default)]
    pub form_uuid: Option<String>,
}

/// A column's `type` hint: one of the field types, or anything else a
/// client's grid uses (kept only to be ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TypeHint {
    Known(FieldType),
    Other(serde_json::Value),
}

impl TypeHint {
    /// The field type it names, if it names one.
    pub fn known(&self) -> Option<FieldType> {
        match self {
            TypeHint::Known(t) => Some(*t),
            TypeHint::Other(_) => None,
        }
    }
}

/// The sort of the export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SortRequest {
    pub field: String,
    #[serde(default)]
    pub direction: SortDirection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SortDirection {
    #[serde(rename = "ASC", alias = "asc")]
    Asc,
    #[default]
    #[serde(rename = "DESC", alias = "desc")]
    Desc,
}

/// The body of `POST /api/{entity}/filter`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterPageRequest {
    #[serde(default)]
    pub filters: Option<Vec<FilterCondition>>,
    #[serde(default)]
    pub page: Option<i64>,
    #[serde(default)]
    pub size: Option<i64>,
    /// `["createdAt,desc"]`
    #[serde(default)]
    pub sort: Option<Vec<String>>,
    /// IANA zone of date-time filter values written without an offset, as
    /// in the tabular export (default: the tenant's, else UTC).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// The body of `POST /api/{entity}/filter-values`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterValuesRequest {
    pub field: String,
    #[serde(default)]
    pub base_filters: Option<Vec<FilterCondition>>,
    #[serde(default)]
    pub page: Option<i64>,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub timezone: Option<String>,
}
