//! The in-process evaluator of an [`EntityQuery`]: the reference semantics.
//!
//! Rows stream in, in any order, through [`Collector::push`]; the collector
//! keeps the ones the conditions select, counts them, and holds no more
//! rows than the window needs: for [`Window::Range`] a top-k selection of at
//! most `2 × (offset + limit)` rows, cut back to `offset + limit` whenever
//! it fills; for [`Window::All`] every selected row up to the cap.
//! [`Collector::finish`] sorts what it holds and cuts the window.
//!
//! Sources that cannot filter or sort (DynamoDB) answer every query this
//! way; the SQL sources use it for the part of a query SQL cannot express
//! (conditions and sorts on custom fields).

use super::{EntityQuery, QueryAnswer, Window};
use crate::model::Value;
use std::collections::HashMap;

/// Where a scan of a source's rows goes: a [`Collector`] or a
/// [`ValueCounter`].
pub trait RowSink: Send {
    /// Offers one projected row.
    fn push(&mut self, row: Vec<Value>);
    /// Whether more rows cannot change the answer.
    fn is_done(&self) -> bool {
        false
    }
}

impl RowSink for Collector<'_> {
    fn push(&mut self, row: Vec<Value>) {
        Collector::push(self, row);
    }
    fn is_done(&self) -> bool {
        Collector::is_done(self)
    }
}

impl RowSink for ValueCounter<'_> {
    fn push(&mut self, row: Vec<Value>) {
        ValueCounter::push(self, row);
    }
}

/// Collects the answer to a query from rows pushed in any order.
#[derive(Debug)]
pub struct Collector<'q> {
    query: &'q EntityQuery,
    rows: Vec<Vec<Value>>,
    total: u64,
    /// How many of the best rows a [`Window::Range`] keeps.
    keep: Option<usize>,
}

impl<'q> Collector<'q> {
    /// A collector for `query`.
    pub fn new(query: &'q EntityQuery) -> Self {
        let keep = match query.window {
            Window::Range { offset, limit } => {
                Some(usize::try_from(offset.saturating_add(limit)).unwrap_or(usize::MAX))
            }
            Window::All { .. } => None,
        };
        Collector {
            query,
            rows: Vec::new(),
            total: 0,
            keep,
        }
    }

    /// Offers one projected row.
    pub fn push(&mut self, row: Vec<Value>) {
        if !self.query.keep(&row) {
            return;
        }
        self.total += 1;
        if self.keep == Some(0) {
            return;
        }
        self.rows.push(row);
        if let Some(k) = self.keep {
            if self.rows.len() >= k.saturating_mul(2).max(64) {
                self.shrink(k);
            }
        }
    }

    /// Whether more rows cannot change the answer: a capped
    /// [`Window::All`] that already holds more than its cap, when no total
    /// is wanted.
    pub fn is_done(&self) -> bool {
        match self.query.window {
            Window::All { cap: Some(cap) } => !self.query.count && self.rows.len() as u64 > cap,
            _ => false,
        }
    }

    fn shrink(&mut self, k: usize) {
        let q = self.query;
        if self.rows.len() > k {
            // Partition around the k-th row, then drop the rest.
            self.rows
                .select_nth_unstable_by(k.saturating_sub(1), |a, b| q.compare(a, b));
            self.rows.truncate(k);
        }
    }

    /// The answer: the window's rows in order, and the total when asked.
    pub fn finish(mut self) -> QueryAnswer {
        let q = self.query;
        let total = q.count.then_some(self.total);
        match q.window {
            Window::Range { offset, .. } => {
                if let Some(k) = self.keep {
                    self.shrink(k);
                }
                self.rows.sort_by(|a, b| q.compare(a, b));
                let skip = usize::try_from(offset).unwrap_or(usize::MAX);
                let rows = self.rows.into_iter().skip(skip).collect();
                QueryAnswer { rows, total }
            }
            Window::All { cap } => {
                match cap {
                    Some(c) if self.rows.len() as u64 > c => {
                        self.rows
                            .truncate(usize::try_from(c.saturating_add(1)).unwrap_or(usize::MAX));
                    }
                    _ => self.rows.sort_by(|a, b| q.compare(a, b)),
                }
                QueryAnswer {
                    rows: self.rows,
                    total,
                }
            }
        }
    }
}

/// Counts the distinct values of one projected field among the rows a
/// query's conditions select: the reference of
/// [`EntitySource::count_values`](crate::store::EntitySource::count_values).
#[derive(Debug)]
pub struct ValueCounter<'q> {
    query: &'q EntityQuery,
    index: usize,
    counts: Vec<(Value, u64)>,
    by_key: HashMap<String, usize>,
}

impl<'q> ValueCounter<'q> {
    /// Counts the values of field `index` of `query`'s rows.
    pub fn new(query: &'q EntityQuery, index: usize) -> Self {
        ValueCounter {
            query,
            index,
            counts: Vec::new(),
            by_key: HashMap::new(),
        }
    }

    /// Offers one projected row.
    pub fn push(&mut self, mut row: Vec<Value>) {
        if !self.query.keep(&row) {
            return;
        }
        let v = std::mem::replace(&mut row[self.index], Value::Null);
        self.add(v, 1);
    }

    /// Adds `n` rows holding `v` (empty values count as one null value).
    pub fn add(&mut self, v: Value, n: u64) {
        if n == 0 {
            return;
        }
        let v = if v.is_empty() { Value::Null } else { v };
        // Distinct as the preview shows them: by their JSON form.
        let key = v.to_json().to_string();
        match self.by_key.get(&key) {
            Some(i) => self.counts[*i].1 += n,
            None => {
                self.by_key.insert(key, self.counts.len());
                self.counts.push((v, n));
            }
        }
    }

    /// Every distinct value with its count, in no particular order.
    pub fn finish(self) -> Vec<(Value, u64)> {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntityKind, FieldType};
    use crate::query::SortKey;

    fn query(window: Window) -> EntityQuery {
        let mut q = EntityQuery::new(EntityKind::Contacts);
        let n = q.projection.index_of("netWorth", FieldType::Number);
        q.sort = vec![SortKey {
            index: n,
            descending: true,
        }];
        q.window = window;
        q.count = true;
        q
    }

    fn row(id: usize, n: Option<f64>) -> Vec<Value> {
        vec![
            Value::Text(format!("c{id:04}")),
            n.map_or(Value::Null, Value::Number),
        ]
    }

    #[test]
    fn a_range_keeps_only_its_window_and_counts_everything() {
        // GIVEN 1,000 rows pushed in a scrambled order, some empty
        let q = query(Window::Range {
            offset: 10,
            limit: 5,
        });
        let mut c = Collector::new(&q);
        let mut all = Vec::new();
        for i in 0..1000 {
            let j = (i * 7919) % 1000;
            let r = row(j, (j % 9 != 0).then_some((j % 50) as f64));
            all.push(r.clone());
            c.push(r);
            // THEN the collector never holds more than twice the window (or 64)
            assert!(c.rows.len() <= 64, "{}", c.rows.len());
        }
        // WHEN it finishes
        let answer = c.finish();
        // THEN it gives rows 10..15 of the full sort, and the total
        all.sort_by(|a, b| q.compare(a, b));
        assert_eq!(answer.rows, all[10..15].to_vec());
        assert_eq!(answer.total, Some(1000));
    }

    #[test]
    fn a_capped_all_stops_past_its_cap() {
        // GIVEN a cap of 3 and no count
        let mut q = query(Window::All { cap: Some(3) });
        q.count = false;
        let mut c = Collector::new(&q);
        for i in 0..3 {
            c.push(row(i, Some(1.0)));
        }
        assert!(!c.is_done());
        // WHEN a fourth row matches
        c.push(row(3, Some(1.0)));
        // THEN the collector is done and holds cap + 1 rows
        assert!(c.is_done());
        assert_eq!(c.finish().rows.len(), 4);
    }

    #[test]
    fn empty_values_count_as_one_null() {
        let q = query(Window::All { cap: None });
        let mut counter = ValueCounter::new(&q, 1);
        counter.push(row(1, None));
        counter.add(Value::Text("  ".into()), 2);
        counter.push(row(2, Some(2.0)));
        let mut counts = counter.finish();
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        assert_eq!(counts, vec![(Value::Null, 3), (Value::Number(2.0), 1)]);
    }
}
