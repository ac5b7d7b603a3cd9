//! The tabular exports API (`POST /api/exports/{entity}`): its request body
//! and its standard error body with `BE####` codes.

mod error;
mod request;
mod service;

pub use error::{ApiError, ErrorCode, RETRY_AFTER_SECS};
pub use request::{
    parse_json_object, parse_request, ColumnRequest, ExportFormat, SortDirection, SortRequest,
    TabularExportRequest, TypeHint, ViewState,
};
