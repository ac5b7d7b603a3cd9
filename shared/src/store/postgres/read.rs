//! [`EntitySource`] on PostgreSQL: pages by id (keyset), and queries
//! compiled for [`Dialect::Postgres`]. A window is one statement; a read of
//! every row (an export, or a query with a custom-field condition left to
//! the in-process evaluator) streams through a portal, a page of rows at a
//! time, so memory holds what the answer holds and no more.

use super::{pg_err, PgStore};
use crate::model::{EntityKind, FieldType, Record, TenantId, Value};
use crate::query::engine::{Collector, RowSink, ValueCounter};
use crate::query::sql::dialect::collate;
use crate::query::sql::{self, Compiled, Dialect, Source};
use crate::query::{EntityQuery, QueryAnswer, Window};
use crate::store::{EntitySource, Page, PageCursor, StoreError, QUERY_PAGE_SIZE};
use async_trait::async_trait;
use sea_query::{Expr, ExprTrait, Order, PostgresQueryBuilder, Query};
use sea_query_postgres::PostgresBinder;
use tokio_postgres::Row;

/// The prefix of this source's page cursors: `id>` and the last id read.
const CURSOR_PREFIX: &str = "id>";

fn decode_cursor(cursor: &PageCursor) -> Result<&str, StoreError> {
    match cursor.0.strip_prefix(CURSOR_PREFIX) {
        Some(last) if !last.is_empty() => Ok(last),
        _ => Err(StoreError::BadCursor),
    }
}

/// One typed column of a row.
fn typed(row: &Row, pos: usize, ty: FieldType) -> Result<Value, tokio_postgres::Error> {
    Ok(match ty {
        FieldType::String => row.try_get::<_, Option<String>>(pos)?.map(Value::Text),
        FieldType::Number => row.try_get::<_, Option<f64>>(pos)?.map(Value::Number),
        FieldType::Boolean => row.try_get::<_, Option<bool>>(pos)?.map(Value::Bool),
        FieldType::Date => row
            .try_get::<_, Option<chrono::NaiveDate>>(pos)?
            .map(Value::Date),
        FieldType::DateTime => row
            .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(pos)?
            .map(Value::DateTime),
    }
    .unwrap_or(Value::Null))
}

/// A compiled row as the query's projected row.
fn read_row(row: &Row, sources: &[Source]) -> Result<Vec<Value>, StoreError> {
    sources
        .iter()
        .map(|source| match *source {
            Source::Column(pos, ty) => typed(row, pos, ty).map_err(pg_err("read a row")),
            Source::JsonField(pos, ty) => {
                let json: Option<serde_json::Value> =
                    row.try_get(pos).map_err(pg_err("read a row"))?;
                Ok(json.map_or(Value::Null, |json| {
                    Value::from_json(ty, &json).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "stored value does not fit its column; exported as empty");
                        Value::Null
                    })
                }))
            }
            // PostgreSQL names every key in a path: never compiled so.
            Source::Json => Ok(Value::Null),
        })
        .collect()
}

impl PgStore {
    /// Runs `compiled` in a read-only transaction through a portal, pushing
    /// each row into `sink` until the rows end or the sink is done.
    async fn stream_into(
        &self,
        compiled: &Compiled,
        sink: &mut dyn RowSink,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(pg_err("begin a read"))?;
        let (stmt, values) = compiled.select.build_postgres(PostgresQueryBuilder);
        let stmt = tx
            .prepare_cached(&stmt)
            .await
            .map_err(pg_err("prepare a query"))?;
        let portal = tx
            .bind(&stmt, &values.as_params())
            .await
            .map_err(pg_err("run a query"))?;
        let batch = i32::try_from(QUERY_PAGE_SIZE).unwrap_or(i32::MAX);
        loop {
            let rows = tx
                .query_portal(&portal, batch)
                .await
                .map_err(pg_err("read rows"))?;
            let end = rows.len() < QUERY_PAGE_SIZE;
            for row in &rows {
                sink.push(read_row(row, &compiled.sources)?);
                if sink.is_done() {
                    return Ok(());
                }
            }
            if end {
                return Ok(());
            }
        }
    }
}

/// Collects every row in SQL's order (an `All` window without residual).
struct Rows(Vec<Vec<Value>>);

impl RowSink for Rows {
    fn push(&mut self, row: Vec<Value>) {
        self.0.push(row);
    }
    fn is_done(&self) -> bool {
        false
    }
}

#[async_trait]
impl EntitySource for PgStore {
    async fn page(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let after = cursor.as_ref().map(decode_cursor).transpose()?;
        let limit = limit.max(1);
        let mut select = Query::select();
        select
            .column("id")
            .column("data")
            .from(sql::table(entity))
            .and_where(Expr::col("tenant").eq(tenant.as_str()));
        if let Some(after) = after {
            select.and_where(collate(Expr::col("id"), "C").gt(after));
        }
        // Byte order, as the keyset condition compares: the primary key's
        // order, one index range per page (not the text order of sorts).
        select.order_by_expr(collate(Expr::col("id"), "C"), Order::Asc);
        select.limit(limit as u64 + 1);
        let (stmt, values) = select.build_postgres(PostgresQueryBuilder);
        let client = self.client().await?;
        let rows = client
            .query(&stmt, &values.as_params())
            .await
            .map_err(pg_err("read a page"))?;
        let more = rows.len() > limit;
        let mut records = Vec::with_capacity(limit.min(rows.len()));
        for row in rows.iter().take(limit) {
            let id: String = row.try_get(0).map_err(pg_err("read a page"))?;
            let data: serde_json::Value = row.try_get(1).map_err(pg_err("read a page"))?;
            let serde_json::Value::Object(map) = data else {
                return Err(StoreError::Corrupt(
                    [&id, ": data is not an object"].concat(),
                ));
            };
            records.push(Record::new(id, map));
        }
        let next = match records.last() {
            Some(last) if more => Some(PageCursor([CURSOR_PREFIX, &last.id].concat())),
            _ => None,
        };
        Ok(Page { records, next })
    }

    fn shard_cursors(&self) -> bool {
        false
    }

    fn counts_in_store(&self) -> bool {
        true
    }

    async fn query(&self, tenant: &TenantId, q: &EntityQuery) -> Result<QueryAnswer, StoreError> {
        let compiled = sql::compile(q, tenant, Dialect::Postgres);
        if compiled.residual {
            let mut collector = Collector::new(q);
            self.stream_into(&compiled, &mut collector).await?;
            return Ok(collector.finish());
        }
        // The window and its total on two pooled connections at once: the
        // page reads its rows through an index and stops, the count reads
        // every selected index entry; neither waits for the other.
        let rows = async {
            if compiled.sort_in_process {
                let mut all = Rows(Vec::new());
                self.stream_into(&compiled, &mut all).await?;
                return Ok::<_, StoreError>(all.0);
            }
            let (stmt, values) = compiled.select.build_postgres(PostgresQueryBuilder);
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&stmt)
                .await
                .map_err(pg_err("prepare a query"))?;
            client
                .query(&stmt, &values.as_params())
                .await
                .map_err(pg_err("run a query"))?
                .iter()
                .map(|row| read_row(row, &compiled.sources))
                .collect()
        };
        let total = async {
            let Some(count) = &compiled.count else {
                return Ok::<_, StoreError>(None);
            };
            let (stmt, values) = count.build_postgres(PostgresQueryBuilder);
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&stmt)
                .await
                .map_err(pg_err("prepare a count"))?;
            let n: i64 = client
                .query_one(&stmt, &values.as_params())
                .await
                .and_then(|row| row.try_get(0))
                .map_err(pg_err("count"))?;
            Ok(Some(n.unsigned_abs()))
        };
        let (mut rows, total) = tokio::try_join!(rows, total)?;
        let within_cap = match q.window {
            Window::All { cap: Some(cap) } => rows.len() as u64 <= cap,
            _ => true,
        };
        if compiled.sort_in_process && within_cap {
            rows.sort_by(|a, b| q.compare(a, b));
        }
        Ok(QueryAnswer { rows, total })
    }

    async fn count_values(
        &self,
        tenant: &TenantId,
        q: &EntityQuery,
        index: usize,
    ) -> Result<Vec<(Value, u64)>, StoreError> {
        let Some(grouped) = sql::compile_value_counts(q, tenant, index, Dialect::Postgres) else {
            // A custom field: stream the selected rows and count here.
            let mut all = q.clone();
            all.window = Window::All { cap: None };
            let compiled = sql::compile(&all, tenant, Dialect::Postgres);
            let mut counter = ValueCounter::new(&all, index);
            self.stream_into(&compiled, &mut counter).await?;
            return Ok(counter.finish());
        };
        let ty = q.projection.fields()[index].1;
        let (stmt, values) = grouped.build_postgres(PostgresQueryBuilder);
        let client = self.client().await?;
        let rows = client
            .query(&stmt, &values.as_params())
            .await
            .map_err(pg_err("count values"))?;
        let mut counter = ValueCounter::new(q, index);
        for row in &rows {
            let v = typed(row, 0, ty).map_err(pg_err("count values"))?;
            let n: i64 = row.try_get(1).map_err(pg_err("count values"))?;
            counter.add(v, n.unsigned_abs());
        }
        Ok(counter.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_sources_cursors_are_accepted() {
        assert_eq!(
            decode_cursor(&PageCursor("id>c-1".into())).ok(),
            Some("c-1")
        );
        for bad in ["", "id>", "4|1|c-1", "garbage"] {
            assert!(matches!(
                decode_cursor(&PageCursor(bad.into())),
                Err(StoreError::BadCursor)
            ));
        }
    }
}
