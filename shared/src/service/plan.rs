//! An export plan: the request resolved against the column registry, ready
//! to read, filter, sort and render rows.
//!
//! The plan projects each stored record onto the few fields the export needs
//! (columns, filter fields, sort field), typed once per record.

use crate::filter::Condition;
use crate::model::{FieldType, Record, Value};
use crate::render::RenderColumn;
use std::cmp::Ordering;

/// Where each needed field sits in a projected row.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    fields: Vec<(String, FieldType)>,
}

impl Projection {
    /// The index of a field, adding it when new.
    pub fn index_of(&mut self, key: &str, ty: FieldType) -> usize {
        if let Some(i) = self.fields.iter().position(|(k, _)| k == key) {
            return i;
        }
        self.fields.push((key.to_string(), ty));
        self.fields.len() - 1
    }

    /// Types the needed fields of a record. A stored value that does not fit
    /// its column's type is read as empty, and logged.
    pub fn project(&self, record: &Record) -> Vec<Value> {
        self.fields
            .iter()
            .map(|(key, ty)| match Value::from_json(*ty, record.get(key)) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(record = %record.id, field = %key, error = %e, "stored value does not fit its column; exported as empty");
                    Value::Null
                }
            })
            .collect()
    }
}

/// One output column: its header and the projected field it shows.
#[derive(Debug, Clone)]
pub struct PlannedColumn {
    pub render: RenderColumn,
    pub index: usize,
    /// Code → display name, for option-list fields (stage, source, segment).
    pub display: Option<Vec<(String, String)>>,
}

/// A resolved export.
#[derive(Debug, Clone)]
pub struct Plan {
    pub projection: Projection,
    pub columns: Vec<PlannedColumn>,
    pub conditions: Vec<(usize, Condition)>,
    pub sort_index: usize,
    pub descending: bool,
    pub id_index: usize,
}

impl Plan {
    /// Whether a projected row passes every condition.
    pub fn keep(&self, row: &[Value]) -> bool {
        self.conditions.iter().all(|(i, c)| c.matches(&row[*i]))
    }

    /// Stable order: the sort field (empty values last either way), then id.
    pub fn compare(&self, a: &[Value], b: &[Value]) -> Ordering {
        let (x, y) = (&a[self.sort_index], &b[self.sort_index]);
        let primary = match (x.is_empty(), y.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if self.descending => y.cmp_same_type(x),
            (false, false) => x.cmp_same_type(y),
        };
        primary.then_with(|| a[self.id_index].cmp_same_type(&b[self.id_index]))
    }

    /// The output cells of a projected row, in column order.
    pub fn cells(&self, row: &[Value], out: &mut Vec<Value>) {
        out.clear();
        for c in &self.columns {
            let v = &row[c.index];
            let shown = match (&c.display, v) {
                (Some(map), Value::Text(code)) => map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(code))
                    .map(|(_, name)| Value::Text(name.clone())),
                _ => None,
            };
            out.push(shown.unwrap_or_else(|| v.clone()));
        }
    }
}
