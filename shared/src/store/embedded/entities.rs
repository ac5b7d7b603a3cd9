//! The embedded entity tables: one SQLite table per entity, with a typed
//! column per standard field and the record as stored in `data`, queried by
//! [`crate::query::sql`] with every filter, sort, window and count pushed
//! down.
//!
//! Keys mirror the DynamoDB Entities table: a record lives at
//! (`tenant`, `shard`, `id`), the shard fixed by the tenant's shard count
//! when it was written, so paged reads ([`EntitySource::page`]) and the
//! bulk worker's shard partitions work as on DynamoDB.
//!
//! Indexes serve the default order (tenant, `createdAt` descending, id) and
//! the common equality filters, each followed by the default order so an
//! equality filter's first page reads only its rows.

use super::sqlite::{sql_err, EmbeddedStore};
use crate::model::columns::standard_columns;
use crate::model::{EntityKind, FieldType, Projection, Record, TenantId, Value};
use crate::query::engine::{Collector, RowSink, ValueCounter};
use crate::query::sql::{self, Compiled, Source};
use crate::query::{EntityQuery, QueryAnswer};
use crate::store::StoreError;
use chrono::{DateTime, NaiveDate};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use sea_query::{ColumnDef, Expr, Index, OnConflict, Query, SqliteQueryBuilder, Table};
use sea_query_rusqlite::RusqliteBinder;
use std::collections::HashMap;

/// Every entity with a table.
pub(super) const ENTITIES: [EntityKind; 3] = [
    EntityKind::Contacts,
    EntityKind::Organisations,
    EntityKind::Households,
];

/// The equality filters each entity's indexes serve (besides the default order).
fn indexed_fields(entity: EntityKind) -> &'static [&'static str] {
    match entity {
        EntityKind::Contacts => &[
            "stage",
            "contactType",
            "contactSource",
            "segment",
            "isActive",
            "country",
            "city",
            "organisationId",
            "householdId",
        ],
        EntityKind::Organisations => &["industry", "isActive", "country", "city"],
        EntityKind::Households => &["primaryContactId", "isActive", "country", "city"],
    }
}

/// Registers the functions and the collation of [`crate::query::sql`] on a
/// connection. Every connection that touches the entity tables needs them.
///
/// # Errors
/// When SQLite refuses a registration.
pub(super) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_collation("rs_text", crate::model::value::cmp_text)?;
    conn.create_scalar_function("rs_lower", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).to_lowercase()),
            _ => None,
        })
    })?;
    conn.create_scalar_function("rs_empty", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => 1,
            ValueRef::Text(t) => i64::from(String::from_utf8_lossy(t).trim().is_empty()),
            _ => 0,
        })
    })?;
    conn.create_scalar_function("rs_text_key", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => {
                let t = String::from_utf8_lossy(t);
                (!t.trim().is_empty()).then(|| t.into_owned())
            }
            _ => None,
        })
    })?;
    // Each test runs on the cell's lower-case form; the needle is lower
    // case already. ASCII cells fold byte by byte, without allocating.
    type TextTest = fn(&str, &str) -> bool;
    type AsciiTest = fn(&[u8], &[u8]) -> bool;
    let tests: [(&str, TextTest, AsciiTest); 3] = [
        (
            "rs_contains",
            |s, n| s.contains(n),
            |s, n| n.is_empty() || s.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)),
        ),
        (
            "rs_starts",
            |s, n| s.starts_with(n),
            |s, n| s.len() >= n.len() && s[..n.len()].eq_ignore_ascii_case(n),
        ),
        (
            "rs_ends",
            |s, n| s.ends_with(n),
            |s, n| s.len() >= n.len() && s[s.len() - n.len()..].eq_ignore_ascii_case(n),
        ),
    ];
    for (name, test, ascii) in tests {
        conn.create_scalar_function(name, 2, flags, move |ctx| {
            Ok(match (ctx.get_raw(0), ctx.get_raw(1)) {
                (ValueRef::Text(s), ValueRef::Text(n)) if s.is_ascii() => i64::from(ascii(s, n)),
                (ValueRef::Text(s), ValueRef::Text(n)) => i64::from(test(
                    &String::from_utf8_lossy(s).to_lowercase(),
                    &String::from_utf8_lossy(n),
                )),
                _ => 0,
            })
        })?;
    }
    Ok(())
}

/// The DDL of the entity tables and their indexes.
pub(super) fn schema() -> Vec<String> {
    let mut ddl = vec!["CREATE TABLE IF NOT EXISTS entity_counts (
            tbl TEXT NOT NULL, tenant TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (tbl, tenant)
        ) WITHOUT ROWID"
        .to_string()];
    for entity in ENTITIES {
        let table = sql::table(entity);
        let mut create = Table::create();
        create
            .table(table)
            .if_not_exists()
            .col(ColumnDef::new("tenant").text().not_null())
            .col(ColumnDef::new("shard").integer().not_null());
        for c in standard_columns(entity) {
            let mut def = ColumnDef::new(c.id);
            match c.field_type {
                FieldType::String => def.text().extra("COLLATE rs_text"),
                FieldType::Number => def.double(),
                _ => def.big_integer(),
            };
            if c.id == "id" {
                def.not_null();
            }
            create.col(&mut def);
        }
        create
            .col(ColumnDef::new("data").text().not_null())
            .primary_key(Index::create().col("tenant").col("shard").col("id"));
        ddl.push(create.to_string(SqliteQueryBuilder));

        // sea-query's SQLite backend has no expression indexes, so the
        // index DDL is written here; it holds identifiers of the registry
        // only, never a value.
        let index = |name: &str, keys: &str, tail: &str| {
            format!(
                "CREATE INDEX IF NOT EXISTS \"{table}_by_{name}\" ON \"{table}\" (\"tenant\", {keys}\"createdAt\" DESC, \"id\"{tail})"
            )
        };
        ddl.push(index("created", "", ""));
        // Name searches (`contains`, `startsWith`) count from this narrow
        // index instead of the table.
        let name = match entity {
            EntityKind::Contacts => "\"firstName\", \"paternalLastName\", ",
            _ => "\"name\", ",
        };
        ddl.push(index("name", name, ""));
        // Rows per tenant, kept by triggers: an unfiltered count reads one row.
        ddl.push(
            [
                "CREATE TRIGGER IF NOT EXISTS \"",
                table,
                "_counted\" AFTER INSERT ON \"",
                table,
                "\" BEGIN INSERT INTO entity_counts (tbl, tenant, n) VALUES ('",
                table,
                "', NEW.tenant, 1) ON CONFLICT (tbl, tenant) DO UPDATE SET n = n + 1; END",
            ]
            .concat(),
        );
        ddl.push(
            [
                "CREATE TRIGGER IF NOT EXISTS \"",
                table,
                "_uncounted\" AFTER DELETE ON \"",
                table,
                "\" BEGIN UPDATE entity_counts SET n = n - 1 WHERE tbl = '",
                table,
                "' AND tenant = OLD.tenant; END",
            ]
            .concat(),
        );
        for field in indexed_fields(entity) {
            let text = standard_columns(entity)
                .iter()
                .any(|c| c.id == *field && c.field_type == FieldType::String);
            // A text field's index also holds the value as stored (last, so
            // the order is untouched): filter values count it from the index.
            let (key, tail) = if text {
                (format!("rs_lower(\"{field}\"), "), format!(", \"{field}\""))
            } else {
                (format!("\"{field}\", "), String::new())
            };
            ddl.push(index(field, &key, &tail));
        }
    }
    ddl
}

/// One record as its table row: the typed value of every standard column
/// (what [`Value::from_json`] makes of the stored value, null when it does
/// not fit), in [`standard_columns`] order.
pub(super) fn typed_columns(entity: EntityKind, record: &Record) -> Vec<sea_query::Value> {
    sql::column_values(entity, record)
        .map(|(ty, v)| match v {
            Value::DateTime(t) if t.timestamp_nanos_opt().is_none() => {
                tracing::warn!(record = %record.id, "date-time outside 1677..2262; stored as empty");
                sea_query::Value::BigInt(None)
            }
            Value::Null => match ty {
                FieldType::String => sea_query::Value::String(None),
                FieldType::Number => sea_query::Value::Double(None),
                _ => sea_query::Value::BigInt(None),
            },
            v => sql::sqlite_value(&v),
        })
        .collect()
}

/// Inserts or replaces `records` of one tenant's entity, in the caller's
/// transaction.
pub(super) fn upsert(
    tx: &rusqlite::Transaction<'_>,
    tenant: &TenantId,
    entity: EntityKind,
    shard_of: impl Fn(&Record) -> u32,
    records: &[Record],
) -> Result<(), StoreError> {
    let columns = standard_columns(entity);
    let mut names: Vec<&'static str> = vec!["tenant", "shard"];
    names.extend(columns.iter().map(|c| c.id));
    names.push("data");
    let mut update: Vec<&'static str> = columns.iter().map(|c| c.id).collect();
    update.push("data");
    for record in records {
        let data =
            serde_json::to_string(&record.data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut values: Vec<sea_query::Value> =
            vec![tenant.as_str().into(), i64::from(shard_of(record)).into()];
        values.extend(typed_columns(entity, record));
        values.push(data.into());
        let (stmt, params) = Query::insert()
            .into_table(sql::table(entity))
            .columns(names.iter().copied())
            .values(values.into_iter().map(Expr::val))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["tenant", "shard", "id"])
                    .update_columns(update.iter().copied())
                    .to_owned(),
            )
            .build_rusqlite(SqliteQueryBuilder);
        tx.prepare_cached(&stmt)
            .and_then(|mut s| s.execute(&*params.as_params()))
            .map_err(sql_err("insert record"))?;
    }
    Ok(())
}

/// Reads rows of a compiled query into projected rows.
struct RowReader {
    sources: Vec<Source>,
    /// The fields read from `data`, and where each goes in the row.
    json: Option<(Projection, Vec<usize>)>,
    json_column: usize,
    id_index: usize,
}

impl RowReader {
    fn new(q: &EntityQuery, compiled: &Compiled) -> Self {
        let mut json = Projection::default();
        let mut targets = Vec::new();
        for (i, (key, ty)) in q.projection.fields().iter().enumerate() {
            if compiled.sources[i] == Source::Json {
                json.index_of(key, *ty);
                targets.push(i);
            }
        }
        let json_column = compiled
            .sources
            .iter()
            .filter(|s| matches!(s, Source::Column(..) | Source::JsonField(..)))
            .count();
        RowReader {
            sources: compiled.sources.clone(),
            json: compiled.reads_json.then_some((json, targets)),
            json_column,
            id_index: q.id_index,
        }
    }

    fn read(&self, row: &rusqlite::Row<'_>) -> Result<Vec<Value>, StoreError> {
        let mut out = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            out.push(match source {
                Source::Column(pos, ty) => {
                    let raw = row.get_ref(*pos).map_err(sql_err("read row"))?;
                    typed(*ty, raw)?
                }
                Source::JsonField(pos, ty) => {
                    match row.get_ref(*pos).map_err(sql_err("read row"))? {
                        ValueRef::Text(json) => {
                            let json: serde_json::Value = serde_json::from_slice(json)
                                .map_err(|e| StoreError::Corrupt(format!("extracted JSON: {e}")))?;
                            Value::from_json(*ty, &json).unwrap_or_else(|e| {
                                tracing::warn!(error = %e, "stored value does not fit its column; exported as empty");
                                Value::Null
                            })
                        }
                        _ => Value::Null,
                    }
                }
                Source::Json => Value::Null,
            });
        }
        if let Some((projection, targets)) = &self.json {
            let data = row
                .get_ref(self.json_column)
                .and_then(|d| d.as_str().map_err(Into::into))
                .map_err(sql_err("read row"))?;
            let id = match &out[self.id_index] {
                Value::Text(id) => id.clone(),
                _ => String::new(),
            };
            let values = projection
                .project_json(&id, data)
                .map_err(|e| StoreError::Corrupt(format!("{id}: {e}")))?;
            for (v, i) in values.into_iter().zip(targets) {
                out[*i] = v;
            }
        }
        Ok(out)
    }
}

/// A typed column's value.
fn typed(ty: FieldType, raw: ValueRef<'_>) -> Result<Value, StoreError> {
    let bad = || {
        StoreError::Corrupt(format!(
            "a {} column holds {:?}",
            ty.as_str(),
            raw.data_type()
        ))
    };
    Ok(match (ty, raw) {
        (_, ValueRef::Null) => Value::Null,
        (FieldType::String, ValueRef::Text(t)) => {
            Value::Text(std::str::from_utf8(t).map_err(|_| bad())?.to_owned())
        }
        (FieldType::Number, ValueRef::Real(n)) => Value::Number(n),
        #[allow(clippy::cast_precision_loss)]
        (FieldType::Number, ValueRef::Integer(n)) => Value::Number(n as f64),
        (FieldType::Boolean, ValueRef::Integer(n)) => Value::Bool(n != 0),
        (FieldType::Date, ValueRef::Integer(d)) => i32::try_from(d)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .map(Value::Date)
            .ok_or_else(bad)?,
        (FieldType::DateTime, ValueRef::Integer(n)) => {
            Value::DateTime(DateTime::from_timestamp_nanos(n))
        }
        _ => return Err(bad()),
    })
}

/// Runs a compiled query and pushes every row it selects into `sink`, for
/// the part of a query SQL cannot finish (custom-field conditions, sorts
/// and counts), until the rows end or the sink is done.
fn stream_into(
    c: &Connection,
    q: &EntityQuery,
    compiled: &Compiled,
    sink: &mut dyn RowSink,
) -> Result<(), StoreError> {
    let reader = RowReader::new(q, compiled);
    let (stmt, params) = compiled.select.build_rusqlite(SqliteQueryBuilder);
    let mut stmt = c.prepare_cached(&stmt).map_err(sql_err("prepare query"))?;
    let mut rows = stmt
        .query(&*params.as_params())
        .map_err(sql_err("run query"))?;
    while let Some(row) = rows.next().map_err(sql_err("read row"))? {
        sink.push(reader.read(row)?);
        if sink.is_done() {
            break;
        }
    }
    Ok(())
}

impl EmbeddedStore {
    /// Answers `q` with SQL; the in-process evaluator finishes what SQL
    /// cannot express.
    pub(super) async fn run_query(
        &self,
        tenant: &TenantId,
        q: &EntityQuery,
    ) -> Result<QueryAnswer, StoreError> {
        let compiled = sql::compile(q, tenant, sql::Dialect::Sqlite);
        let q = q.clone();
        self.with_conn(move |c| {
            if compiled.residual {
                let mut collector = Collector::new(&q);
                stream_into(c, &q, &compiled, &mut collector)?;
                return Ok(collector.finish());
            }
            let reader = RowReader::new(&q, &compiled);
            let (stmt, params) = compiled.select.build_rusqlite(SqliteQueryBuilder);
            let mut stmt = c.prepare_cached(&stmt).map_err(sql_err("prepare query"))?;
            let mut rows = stmt
                .query(&*params.as_params())
                .map_err(sql_err("run query"))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(sql_err("read row"))? {
                out.push(reader.read(row)?);
            }
            let within_cap = match q.window {
                crate::query::Window::All { cap: Some(cap) } => out.len() as u64 <= cap,
                _ => true,
            };
            if compiled.sort_in_process && within_cap {
                out.sort_by(|a, b| q.compare(a, b));
            }
            let total = match &compiled.count {
                Some(count) => {
                    let (stmt, params) = count.build_rusqlite(SqliteQueryBuilder);
                    let n: i64 = c
                        .prepare_cached(&stmt)
                        .and_then(|mut s| s.query_row(&*params.as_params(), |r| r.get(0)))
                        .map_err(sql_err("count"))?;
                    Some(n.unsigned_abs())
                }
                None => None,
            };
            Ok(QueryAnswer { rows: out, total })
        })
        .await
    }

    /// The distinct values of field `index` among the rows `q` selects.
    pub(super) async fn run_value_counts(
        &self,
        tenant: &TenantId,
        q: &EntityQuery,
        index: usize,
    ) -> Result<Vec<(Value, u64)>, StoreError> {
        let Some(grouped) = sql::compile_value_counts(q, tenant, index, sql::Dialect::Sqlite)
        else {
            // A custom field: stream the selected rows and count here.
            let mut all = q.clone();
            all.window = crate::query::Window::All { cap: None };
            let compiled = sql::compile(&all, tenant, sql::Dialect::Sqlite);
            return self
                .with_conn(move |c| {
                    let mut counter = ValueCounter::new(&all, index);
                    stream_into(c, &all, &compiled, &mut counter)?;
                    Ok(counter.finish())
                })
                .await;
        };
        let ty = q.projection.fields()[index].1;
        let q = q.clone();
        self.with_conn(move |c| {
            let (stmt, params) = grouped.build_rusqlite(SqliteQueryBuilder);
            let mut stmt = c.prepare_cached(&stmt).map_err(sql_err("prepare values"))?;
            let mut rows = stmt
                .query(&*params.as_params())
                .map_err(sql_err("count values"))?;
            // Counted by the stored SQL value, borrowed from the row; each
            // distinct value is typed once.
            let mut texts: HashMap<Vec<u8>, u64> = HashMap::new();
            let mut others: HashMap<(u8, u64), u64> = HashMap::new();
            let mut nulls = 0;
            while let Some(row) = rows.next().map_err(sql_err("read row"))? {
                match row.get_ref(0).map_err(sql_err("read row"))? {
                    ValueRef::Null => nulls += 1,
                    ValueRef::Text(t) => match texts.get_mut(t) {
                        Some(n) => *n += 1,
                        None => {
                            texts.insert(t.to_vec(), 1);
                        }
                    },
                    ValueRef::Integer(i) => *others.entry((0, i.cast_unsigned())).or_default() += 1,
                    ValueRef::Real(f) => *others.entry((1, f.to_bits())).or_default() += 1,
                    ValueRef::Blob(_) => {
                        return Err(StoreError::Corrupt("a typed column holds a blob".into()))
                    }
                }
            }
            let mut counter = ValueCounter::new(&q, index);
            counter.add(Value::Null, nulls);
            for (t, n) in texts {
                counter.add(typed(ty, ValueRef::Text(&t))?, n);
            }
            for ((kind, bits), n) in others {
                let raw = if kind == 0 {
                    ValueRef::Integer(bits.cast_signed())
                } else {
                    ValueRef::Real(f64::from_bits(bits))
                };
                counter.add(typed(ty, raw)?, n);
            }
            Ok(counter.finish())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{EntityQuery, Window};
    use crate::store::{EntitySource, EntityWriter};

    fn record(id: &str) -> Record {
        let serde_json::Value::Object(map) = serde_json::json!({"firstName": id}) else {
            unreachable!()
        };
        Record::new(id, map)
    }

    #[tokio::test]
    async fn an_unfiltered_count_follows_inserts_not_upserts() {
        // GIVEN a store with three contacts of a tenant and one of another
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let (a, b) = (TenantId::new("a"), TenantId::new("b"));
        let put = |t: &TenantId, ids: &[&str]| {
            let records = ids.iter().map(|id| record(id)).collect();
            let store = store.clone();
            let t = t.clone();
            async move { store.put_records(&t, EntityKind::Contacts, records).await }
        };
        put(&a, &["1", "2", "3"]).await.expect("put");
        put(&b, &["1"]).await.expect("put");
        // WHEN two of them are written again and one is new
        put(&a, &["2", "3", "4"]).await.expect("put");
        // THEN the unfiltered total counts each record once, per tenant
        let mut q = EntityQuery::new(EntityKind::Contacts);
        q.window = Window::Range {
            offset: 0,
            limit: 1,
        };
        q.count = true;
        assert_eq!(store.query(&a, &q).await.expect("query").total, Some(4));
        assert_eq!(store.query(&b, &q).await.expect("query").total, Some(1));
        let none = TenantId::new("none");
        assert_eq!(store.query(&none, &q).await.expect("query").total, Some(0));
    }
}
