//! The file formats an export is rendered in, with the media type and the
//! file extension each is delivered under.

use serde::{Deserialize, Serialize};

/// CSV or XLSX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportFormat {
    #[serde(rename = "CSV", alias = "csv")]
    Csv,
    #[serde(rename = "XLSX", alias = "xlsx")]
    Xlsx,
}

impl ExportFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    /// The media type of the file (`Content-Type`).
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv;charset=UTF-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    /// Whether the file is binary (sent base64-encoded by API Gateway).
    pub fn is_binary(self) -> bool {
        self == ExportFormat::Xlsx
    }
}

/// A `Content-Disposition: attachment` value for an ASCII-safe file name.
pub fn attachment(filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}
