//! The bulk files' column sets, per export type and version, and how a cell
//! is written (see `docs/bulk-exports.md`).

use crate::model::bulk::{ExportType, ExportVersion};
use crate::model::{CustomFieldDef, FieldType, Value};
use crate::render::moment::MomentFormatter;
use crate::render::neutralise_formula;
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
    /// Appends the cell of `column` for the field's stored text `value` (see
    /// [`super::rows`]) to `out` (cleared first). Dates and times are
    /// formatted in the export's format; a number or boolean column writes
    /// a plain number, `true` or `false` as it is; everything else is text,
    /// with a formula start neutralised (a value that does not read as its
    /// column's type included).
    pub fn write(&self, column: &BulkColumn, value: &Value, out: &mut String) {
        out.clear();
        // Rows are read as text; any other value is written as its JSON.
        let json;
        let s = match value {
            Value::Null => return,
            Value::Text(s) => s.as_str(),
            other => {
                json = other.to_json().to_string();
                &json
            }
        };
        match column.cell {
            Cell::Date => {
                if let Some(d) = crate::model::value::parse_date(s) {
                    return self.dates.date(d, out);
                }
            }
            Cell::DateTime => {
                if let Some(t) = crate::model::value::parse_datetime_utc(s) {
                    return self.dates.datetime(t, out);
                }
            }
            Cell::Number | Cell::Bool if plain_scalar(s) => return out.push_str(s),
            Cell::SegmentName => {
                let name = self.segments.get(s).map_or(s, String::as_str);
                return push_text(name, out);
            }
            Cell::Number | Cell::Bool | Cell::Text => {}
        }
        push_text(s, out);
    }
}

/// Text, its formula start neutralised.
fn push_text(s: &str, out: &mut String) {
    match neutralise_formula(s) {
        Some(safe) => out.push_str(&safe),
        None => out.push_str(s),
    }
}

/// Whether `s` is a JSON number or boolean as stored: a finite number
/// starting with a digit or `-`, `true` or `false`.
fn plain_scalar(s: &str) -> bool {
    s == "true"
        || s == "false"
        || (s.starts_with(|c: char| c == '-' || c.is_ascii_digit())
            && s.parse::<f64>().is_ok_and(f64::is_finite))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bulk::DateFormat;

    fn cell(c: Cell, value: Value) -> String {
        let writer = CellWriter {
            dates: MomentFormatter::new(DateFormat::Iso, None, None).expect("ISO"),
            segments: HashMap::from([("vip".to_string(), "=VIP".to_string())]),
        };
        let mut out = String::from("left over");
        writer.write(&col("h", "f", c), &value, &mut out);
        out
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn numbers_and_booleans_are_written_as_stored_and_anything_else_as_safe_text() {
        // GIVEN stored texts in number and boolean columns, THEN a plain
        // number or boolean is written as it is
        assert_eq!(cell(Cell::Number, text("-1250.5")), "-1250.5");
        assert_eq!(cell(Cell::Number, text("1000.0")), "1000.0");
        assert_eq!(cell(Cell::Bool, text("false")), "false");
        // AND text that is not one keeps its formula start neutralised
        assert_eq!(
            cell(Cell::Number, text("-1+cmd|' /C calc'!A0")),
            "'-1+cmd|' /C calc'!A0"
        );
        assert_eq!(cell(Cell::Number, text("-inf")), "'-inf");
        assert_eq!(cell(Cell::Bool, text("=TRUE()")), "'=TRUE()");
        // AND in a text column a negative number is text like any other
        assert_eq!(cell(Cell::Text, text("-5")), "'-5");
        assert_eq!(cell(Cell::Text, Value::Null), "");
    }

    #[test]
    fn dates_are_formatted_and_unreadable_ones_written_as_safe_text() {
        assert_eq!(cell(Cell::Date, text("2026-03-01")), "2026-03-01");
        assert_eq!(
            cell(Cell::DateTime, text("2026-03-01T10:00:00+02:00")),
            "2026-03-01T08:00:00+00:00"
        );
        assert_eq!(
            cell(Cell::Date, text("=HYPERLINK(\"x\")")),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(cell(Cell::DateTime, text("soon")), "soon");
    }

    #[test]
    fn a_segment_code_is_written_as_its_display_name_neutralised() {
        assert_eq!(cell(Cell::SegmentName, text("vip")), "'=VIP");
        assert_eq!(cell(Cell::SegmentName, text("unknown")), "unknown");
        assert_eq!(cell(Cell::SegmentName, text("+unknown")), "'+unknown");
    }
}
