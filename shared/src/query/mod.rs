//! The query model: what every reader of entity rows asks an
//! [`EntitySource`](crate::store::EntitySource) for.
//!
//! An [`EntityQuery`] names the entity, the fields to read (a
//! [`Projection`]), the compiled filter conditions, one or more sort keys
//! (the id always breaks ties), a [`Window`] of the ordered result and
//! whether the total count is wanted. The export, export-log files, the v2
//! preview, filter values and the bulk worker's contact reads all build one.
//!
//! The semantics are defined here, once, in Rust: [`EntityQuery::keep`]
//! (the filter engine) and [`EntityQuery::compare`] (the order). The
//! in-process evaluator ([`engine`]) applies them to rows as they stream
//! from any source, and is the reference: stores that push a query down
//! (SQLite, through [`sql`]) are held to it by a property test.
//!
//! ## Order
//!
//! Rows are ordered by each sort key in turn, then by id ascending. Empty
//! values (null, or text that is blank) come last whichever the direction.
//! Text compares by its Unicode lower-case form (`str::to_lowercase`: full
//! case mapping, a final capital sigma to `ς`), code point by code point,
//! then byte-wise: `"ana" < "Ánia"` is decided by `'a' < 'á'`, and
//! `"Ana" < "ana"` by the byte tie-break. Filters compare the same
//! lower-case form.

pub mod engine;
pub mod sql;

use crate::filter::Condition;
use crate::model::{EntityKind, FieldType, Projection, Value};
use std::cmp::Ordering;

/// One sort key: the projected field at `index`, ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub index: usize,
    pub descending: bool,
}

/// Which rows of the ordered result a query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Rows `offset .. offset + limit` of the ordered result.
    Range { offset: u64, limit: u64 },
    /// Every row, in order. With a `cap`, a source stops reading once more
    /// than `cap` rows match and returns `cap + 1` of them (in no
    /// particular order), so the caller can tell the cap was exceeded.
    All { cap: Option<u64> },
}

impl Window {
    /// The most rows an answer to this window holds.
    pub fn max_rows(self) -> Option<u64> {
        match self {
            Window::Range { offset, limit } => Some(offset.saturating_add(limit)),
            Window::All { cap } => cap.map(|c| c.saturating_add(1)),
        }
    }
}

/// A query over one entity of one tenant (the tenant is given apart, by
/// the caller's verified credentials).
#[derive(Debug, Clone)]
pub struct EntityQuery {
    pub entity: EntityKind,
    /// The fields every row holds, in this order.
    pub projection: Projection,
    /// Where the id sits in the projection.
    pub id_index: usize,
    /// Conditions on projected fields; a row must pass every one.
    pub conditions: Vec<(usize, Condition)>,
    /// Sort keys in priority order; the id breaks the remaining ties.
    pub sort: Vec<SortKey>,
    pub window: Window,
    /// Whether the answer carries the number of rows the conditions select.
    pub count: bool,
}

/// A source's answer: the window's rows and, when asked, the total.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryAnswer {
    pub rows: Vec<Vec<Value>>,
    pub total: Option<u64>,
}

impl EntityQuery {
    /// A query for every row of `entity`, reading only the id, in id order.
    pub fn new(entity: EntityKind) -> Self {
        let mut projection = Projection::default();
        let id_index = projection.index_of("id", FieldType::String);
        EntityQuery {
            entity,
            projection,
            id_index,
            conditions: Vec::new(),
            sort: Vec::new(),
            window: Window::All { cap: None },
            count: false,
        }
    }

    /// Whether a projected row passes every condition.
    pub fn keep(&self, row: &[Value]) -> bool {
        self.conditions.iter().all(|(i, c)| c.matches(&row[*i]))
    }

    /// The order of two projected rows: each sort key (empty values last
    /// either way), then id ascending.
    pub fn compare(&self, a: &[Value], b: &[Value]) -> Ordering {
        for key in &self.sort {
            let (x, y) = (&a[key.index], &b[key.index]);
            let o = match (x.is_empty(), y.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) if key.descending => y.cmp_same_type(x),
                (false, false) => x.cmp_same_type(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        a[self.id_index].cmp_same_type(&b[self.id_index])
    }
}
