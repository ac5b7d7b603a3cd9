//! The bulk files' column sets, per export type and version, and how a cell
//! is written (see `docs/bulk-exports.md`).

use crate::model::bulk::{ExportType, ExportVersion};
use crate::model::{CustomFieldDef, FieldType, Record};
use crate::render::moment::MomentFormatter;
use crate::render::neutralise_formula;
use serde_json::Value as Json;
use std::collections::HashMap;

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Text,
    Number,
    Bool,
    Date,
    DateTime,
    /// The segment's display name, from the record's segment code.
    SegmentName,
}

/// One file column: its header, the record field it reads, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkColumn {
    pub header: String,
    pub field: String,
    pub cell: Cell,
}

fn col(header: &str, field: &str, cell: Cell) -> BulkColumn {
    BulkColumn {
        header: header.into(),
        field: field.into(),
        cell,
    }
}

/// Contacts, v1.
const CONTACTS_V1: [(&str, Cell); 19] = [
    ("id", Cell::Text),
    ("firstName", Cell::Text),
    ("middleName", Cell::Text),
    ("paternalLastName", Cell::Text),
    ("maternalLastName", Cell::Text),
    ("preferredEmail", Cell::Text),
    ("phone", Cell::Text),
    ("stage", Cell::Text),
    ("contactType", Cell::Text),
    ("contactSource", Cell::Text),
    ("organisationId", Cell::Text),
    ("householdId", Cell::Text),
    ("city", Cell::Text),
    ("country", Cell::Text),
    ("birthDate", Cell::Date),
    ("netWorth", Cell::Number),
    ("isActive", Cell::Bool),
    ("createdAt", Cell::DateTime),
    ("updatedAt", Cell::DateTime),
];

/// Activities, v1.
const ACTIVITIES_V1: [(&str, Cell); 9] = [
    ("id", Cell::Text),
    ("contactId", Cell::Text),
    ("contactEmail", Cell::Text),
    ("activityType", Cell::Text),
    ("occurredAt", Cell::DateTime),
    ("channel", Cell::Text),
    ("amount", Cell::Number),
    ("currency", Cell::Text),
    ("metadata", Cell::Text),
];

/// The record field holding the segment code: `segment` on contacts,
/// `segmentId` (the contact's segment when the activity happened) on
/// activities.
pub fn segment_field(export_type: ExportType) -> &'static str {
    match export_type {
        ExportType::Contacts => "segment",
        ExportType::Activities => "segmentId",
    }
}

/// The columns of one export. v2 appends `segmentId` and `segmentName`
/// (segment membership) and, for contacts, every contact custom field as
/// `custom:cf_{uuid}`, ordered by key then uuid.
pub fn columns(
    export_type: ExportType,
    version: ExportVersion,
    custom_fields: &[CustomFieldDef],
) -> Vec<BulkColumn> {
    let base: &[(&str, Cell)] = match export_type {
        ExportType::Contacts => &CONTACTS_V1,
        ExportType::Activities => &ACTIVITIES_V1,
    };
    let mut out: Vec<BulkColumn> = base.iter().map(|(n, c)| col(n, n, *c)).collect();
    if version == ExportVersion::V2 {
        let seg = segment_field(export_type);
        out.push(col("segmentId", seg, Cell::Text));
        out.push(col("segmentName", seg, Cell::SegmentName));
        if export_type == ExportType::Contacts {
            for def in custom_fields {
                let key = def.storage_key();
                let cell = match def.field_type {
                    FieldType::Number => Cell::Number,
                    FieldType::Boolean => Cell::Bool,
                    FieldType::Date => Cell::Date,
                    FieldType::DateTime => Cell::DateTime,
                    _ => Cell::Text,
                };
                out.push(BulkColumn {
                    header: key.clone(),
                    field: key,
                    cell,
                });
            }
        }
    }
    out
}

/// Writes cells of one export.
pub struct CellWriter {
    pub dates: MomentFormatter,
    /// Segment code → display name.
    pub segments: HashMap<String, String>,
}

impl CellWriter {
    /// Appends the cell of `column` for `record` to `out` (cleared first).
    pub fn write(&self, column: &BulkColumn, record: &Record, out: &mut String) {
        out.clear();
        let value = record.get(&column.field);
        match (column.cell, value) {
            (_, Json::Null) => {}
            (Cell::SegmentName, Json::String(code)) => {
                out.push_str(
                    self.segments
                        .get(code)
                        .map_or(code.as_str(), String::as_str),
                );
            }
            (Cell::Date, Json::String(s)) => match crate::model::value::parse_date(s) {
                Some(d) => self.dates.date(d, out),
                None => out.push_str(s),
            },
            (Cell::DateTime, Json::String(s)) => match crate::model::value::parse_datetime_utc(s) {
                Some(t) => self.dates.datetime(t, out),
                None => out.push_str(s),
            },
            (Cell::Number | Cell::Bool, v @ (Json::Number(_) | Json::Bool(_))) => {
                out.push_str(&v.to_string());
            }
            (_, Json::String(s)) => {
                match neutralise_formula(s) {
                    Some(safe) => out.push_str(&safe),
                    None => out.push_str(s),
                };
            }
            (_, other) => {
                let text = other.to_string();
                match neutralise_formula(&text) {
                    Some(safe) => out.push_str(&safe),
                    None => out.push_str(&text),
                }
            }
        }
    }
}
