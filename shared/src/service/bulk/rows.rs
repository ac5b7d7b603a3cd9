//! A task's rows: the fields its columns and its filter read, as text.
//!
//! Contacts are read through the query model: the task's [`EntityQuery`]
//! names the entity and the projection, and the entity source answers it
//! page by page ([`EntitySource::page_rows`](crate::store::EntitySource::page_rows)),
//! so a store that keeps records as JSON text reads only these fields.
//! Activities come from their day's partition as records and are projected
//! here, the same way.
//!
//! Every field is read as text: a JSON string as it is, a number or a
//! boolean as its JSON text, so a cell is written from exactly what is
//! stored ([`super::columns::CellWriter`]). On contacts, where every field
//! is a scalar, a stored object or array does not fit its column and is
//! exported empty, as the synchronous export does; an activity's
//! `metadata` object is written as its JSON text.

use super::columns::{segment_field, BulkColumn};
use crate::model::bulk::{ExportSpec, ExportType};
use crate::model::{EntityKind, FieldType, Record, Value};
use crate::query::EntityQuery;
use chrono::{DateTime, Utc};
use serde_json::Value as Json;

/// The projection of one task's rows and its filter.
#[derive(Debug, Clone)]
pub(super) struct TaskRows {
    /// For contacts, the query the entity source answers: every row of the
    /// tenant's contacts (the window is every row, in storage order, as
    /// the bulk file lists them), projected onto the fields below, each
    /// read as text. For activities, only its projection and id are used.
    pub query: EntityQuery,
    /// Where each file column's field sits in a row.
    pub columns: Vec<usize>,
    segment: Option<(usize, String)>,
    activity_types: Option<(usize, Vec<String>)>,
    window: Option<(usize, DateTime<Utc>, DateTime<Utc>)>,
}

impl TaskRows {
    /// The rows of an export with `columns`: their fields, then the fields
    /// its filter reads (segment membership; for activities the types and
    /// the window `[fromDate, toDate)`).
    pub fn new(spec: &ExportSpec, columns: &[BulkColumn]) -> Self {
        let mut query = EntityQuery::new(EntityKind::Contacts);
        let mut field = |key: &str| query.projection.index_of(key, FieldType::String);
        let column_indexes = columns.iter().map(|c| field(&c.field)).collect();
        let segment = spec
            .filters
            .segment_id
            .clone()
            .map(|s| (field(segment_field(spec.export_type)), s));
        let (activity_types, window) = match spec.export_type {
            ExportType::Contacts => (None, None),
            ExportType::Activities => (
                spec.filters
                    .activity_types
                    .clone()
                    .filter(|t| !t.is_empty())
                    .map(|t| (field("activityType"), t)),
                spec.filters
                    .from_date
                    .zip(spec.filters.to_date)
                    .map(|(from, to)| (field("occurredAt"), from, to)),
            ),
        };
        TaskRows {
            query,
            columns: column_indexes,
            segment,
            activity_types,
            window,
        }
    }

    /// A record's row: each projected field as its text (see the module
    /// docs), `Null` when absent or null. The record's strings move into
    /// the row (projected keys are distinct).
    pub fn project(&self, mut record: Record) -> Vec<Value> {
        self.query
            .projection
            .fields()
            .iter()
            .map(|(key, _)| match record.data.remove(key) {
                None | Some(Json::Null) => Value::Null,
                Some(Json::String(s)) => Value::Text(s),
                Some(other) => Value::Text(other.to_string()),
            })
            .collect()
    }

    /// The row's id, as text.
    pub fn id<'r>(&self, row: &'r [Value]) -> &'r str {
        row[self.query.id_index].as_text().unwrap_or_default()
    }

    /// Whether the filter reads more than the window (a segment or
    /// activity types): rows it drops cannot be counted in the store.
    pub fn narrows(&self) -> bool {
        self.segment.is_some() || self.activity_types.is_some()
    }

    /// The activities window `[fromDate, toDate)`, if any.
    pub fn window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.window.map(|(_, from, to)| (from, to))
    }

    /// Whether the row passes the export's filter: its segment code equal
    /// (exactly, case included), its activity type one of the listed ones,
    /// its time inside the window.
    pub fn keep(&self, row: &[Value]) -> bool {
        if let Some((i, code)) = &self.segment {
            if row[*i].as_text() != Some(code.as_str()) {
                return false;
            }
        }
        if let Some((i, types)) = &self.activity_types {
            let t = row[*i].as_text().unwrap_or_default();
            if !types.iter().any(|x| x == t) {
                return false;
            }
        }
        if let Some((i, from, to)) = &self.window {
            match row[*i]
                .as_text()
                .and_then(crate::model::value::parse_datetime_utc)
            {
                Some(at) if at >= *from && at < *to => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bulk::ExportVersion;
    use crate::service::bulk::columns::columns;
    use serde_json::json;

    fn spec(body: Json) -> ExportSpec {
        crate::api::bulk::parse_creation(body.to_string().as_bytes()).expect("spec")
    }

    fn record(data: Json) -> Record {
        let Json::Object(map) = data else {
            unreachable!()
        };
        Record::new("a-1", map)
    }

    #[test]
    fn fields_are_read_as_their_stored_text() {
        // GIVEN the rows of an activities export (v1 columns)
        let s = spec(
            json!({"exportType": "activities", "dateFormat": "ISO", "delimiter": ",",
            "filters": {"fromDate": "2026-03-01T00:00:00Z", "toDate": "2026-03-02T00:00:00Z"}}),
        );
        let rows = TaskRows::new(&s, &columns(ExportType::Activities, ExportVersion::V1, &[]));
        // WHEN a record with a number, an object and a missing field is projected
        let row = rows.project(record(json!({"activityType": "purchase",
            "occurredAt": "2026-03-01T10:00:00Z", "amount": 1000.0, "metadata": {"c": 1}})));
        // THEN each column holds the JSON text of its value, or null
        let cells: Vec<Option<&str>> = rows.columns.iter().map(|&i| row[i].as_text()).collect();
        assert_eq!(
            cells,
            [
                Some("a-1"),
                None,
                None,
                Some("purchase"),
                Some("2026-03-01T10:00:00Z"),
                None,
                Some("1000.0"),
                None,
                Some("{\"c\":1}"),
            ]
        );
        assert_eq!(rows.id(&row), "a-1");
    }

    #[test]
    fn the_filter_matches_segment_exactly_types_and_the_window() {
        // GIVEN an export of calls in segment `retail` on 2026-03-01
        let s = spec(
            json!({"exportType": "activities", "dateFormat": "ISO", "delimiter": ",",
            "version": "v2",
            "filters": {"segmentId": "retail", "activityTypes": ["call"],
                "fromDate": "2026-03-01T00:00:00Z", "toDate": "2026-03-02T00:00:00Z"}}),
        );
        let rows = TaskRows::new(&s, &columns(ExportType::Activities, ExportVersion::V2, &[]));
        let row = |seg: &str, kind: &str, at: &str| {
            rows.project(record(
                json!({"segmentId": seg, "activityType": kind, "occurredAt": at}),
            ))
        };
        // THEN only a row matching all three is kept
        assert!(rows.keep(&row("retail", "call", "2026-03-01T23:59:59Z")));
        assert!(!rows.keep(&row("Retail", "call", "2026-03-01T10:00:00Z")));
        assert!(!rows.keep(&row("retail", "meeting", "2026-03-01T10:00:00Z")));
        assert!(!rows.keep(&row("retail", "call", "2026-03-02T00:00:00Z")));
        assert!(!rows.keep(&row("retail", "call", "not a time")));
    }
}
