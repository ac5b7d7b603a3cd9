//! An export plan: the request resolved against the column registry, ready
//! to read, filter, sort and render rows.
//!
//! The plan projects each stored record onto the few fields the export needs
//! (columns, filter fields, sort field), typed once per record.

use crate::filter::Condition;
pub use crate::model::Projection;
use crate::model::Value;
use crate::render::RenderColumn;
use std::cmp::Ordering;

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
    /// Per column: whether it is the last to show its field, so its cell
    /// can be moved out of the row rather than copied.
    last_use: Vec<bool>,
}

impl Plan {
    /// A plan over `projection`, showing `columns`, keeping the rows that
    /// pass `conditions`, ordered by the field at `sort_index` (then id).
    pub fn new(
        projection: Projection,
        columns: Vec<PlannedColumn>,
        conditions: Vec<(usize, Condition)>,
        (sort_index, descending): (usize, bool),
        id_index: usize,
    ) -> Self {
        let last_use = columns
            .iter()
            .enumerate()
            .map(|(j, c)| columns[j + 1..].iter().all(|d| d.index != c.index))
            .collect();
        Plan {
            projection,
            columns,
            conditions,
            sort_index,
            descending,
            id_index,
            last_use,
        }
    }

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

    /// The output cells of a projected row, in column order. Cells are
    /// moved out of `row` (a field shown twice is copied for all but its
    /// last column), so the row is spent afterwards.
    pub fn take_cells(&self, row: &mut [Value], out: &mut Vec<Value>) {
        out.clear();
        for (c, last) in self.columns.iter().zip(&self.last_use) {
            let v = &mut row[c.index];
            let shown = match (&c.display, &*v) {
                (Some(map), Value::Text(code)) => map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(code))
                    .map(|(_, name)| Value::Text(name.clone())),
                _ => None,
            };
            out.push(match shown {
                Some(name) => name,
                None if *last => std::mem::replace(v, Value::Null),
                None => v.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldType;
    use crate::render::ColumnKind;

    fn column(index: usize, display: Option<Vec<(String, String)>>) -> PlannedColumn {
        PlannedColumn {
            render: RenderColumn {
                header: format!("c{index}"),
                kind: ColumnKind::Typed,
            },
            index,
            display,
        }
    }

    #[test]
    fn cells_are_moved_out_and_a_repeated_field_is_shown_each_time() {
        // GIVEN a plan showing field 1 twice, field 0 once and a display map on field 2
        let mut projection = Projection::default();
        projection.index_of("id", FieldType::String);
        projection.index_of("name", FieldType::String);
        projection.index_of("stage", FieldType::String);
        let stages = vec![("lead".to_string(), "Lead".to_string())];
        let plan = Plan::new(
            projection,
            vec![
                column(1, None),
                column(0, None),
                column(1, None),
                column(2, Some(stages)),
            ],
            Vec::new(),
            (0, false),
            0,
        );
        let mut row = vec![
            Value::Text("c-1".into()),
            Value::Text("Ana".into()),
            Value::Text("LEAD".into()),
        ];
        // WHEN its cells are taken
        let mut out = Vec::new();
        plan.take_cells(&mut row, &mut out);
        // THEN every column shows its value, the repeated one twice
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(
            out,
            vec![text("Ana"), text("c-1"), text("Ana"), text("Lead")]
        );
    }
}
