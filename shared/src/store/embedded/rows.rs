//! Rows of the key-value tables (`tenant_config`, `export_logs`,
//! `activities`): `(pk, sk, data)` read, written and listed by prefix, with
//! every statement built by sea-query and every value bound.

use super::sqlite::sql_err;
use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension};
use sea_query::{Expr, OnConflict, Order, Query, SqliteQueryBuilder};
use sea_query_rusqlite::RusqliteBinder;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub(super) fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn parse<T: DeserializeOwned>(sk: &str, data: &str) -> Result<T, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Corrupt(format!("{sk}: {e}")))
}

/// The `data` of the item at (`pk`, `sk`) of one of the key-value tables.
pub(super) fn read_data(
    c: &Connection,
    table: &'static str,
    pk: &str,
    sk: &str,
) -> Result<Option<String>, StoreError> {
    use sea_query::ExprTrait as _;
    let (sql, values) = Query::select()
        .column("data")
        .from(table)
        .and_where(Expr::col("pk").eq(pk))
        .and_where(Expr::col("sk").eq(sk))
        .build_rusqlite(SqliteQueryBuilder);
    c.prepare_cached(&sql)
        .and_then(|mut s| s.query_row(&*values.as_params(), |r| r.get(0)).optional())
        .map_err(sql_err("read item"))
}

/// The item at (`pk`, `sk`) of one of the key-value tables, parsed.
pub(super) fn read<T: DeserializeOwned>(
    c: &Connection,
    table: &'static str,
    pk: &str,
    sk: &str,
) -> Result<Option<T>, StoreError> {
    read_data(c, table, pk, sk)?
        .map(|d| parse(sk, &d))
        .transpose()
}

/// Writes (`pk`, `sk`, `data`) into one of the key-value tables: replacing
/// an item that is there (`replace`), or only when there is none.
/// Returns whether a row was written.
fn write(
    c: &Connection,
    table: &'static str,
    (pk, sk, data): (&str, &str, &str),
    replace: bool,
) -> Result<bool, StoreError> {
    let mut conflict = OnConflict::columns(["pk", "sk"]);
    if replace {
        conflict.update_column("data");
    } else {
        conflict.do_nothing();
    }
    let (sql, values) = Query::insert()
        .into_table(table)
        .columns(["pk", "sk", "data"])
        .values([pk.into(), sk.into(), data.into()])
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .on_conflict(conflict)
        .build_rusqlite(SqliteQueryBuilder);
    let n = c
        .prepare_cached(&sql)
        .and_then(|mut s| s.execute(&*values.as_params()))
        .map_err(sql_err("write item"))?;
    Ok(n == 1)
}

pub(super) fn upsert(
    c: &Connection,
    table: &'static str,
    pk: &str,
    sk: &str,
    data: &str,
) -> Result<(), StoreError> {
    write(c, table, (pk, sk, data), true).map(|_| ())
}

pub(super) fn insert_new(
    c: &Connection,
    table: &'static str,
    pk: &str,
    sk: &str,
    data: &str,
) -> Result<bool, StoreError> {
    write(c, table, (pk, sk, data), false)
}

/// The (`sk`, `data`) of every item of `pk` whose sort key starts with
/// `prefix`, in sort-key order (`descending` reverses it).
pub(super) fn prefixed_data(
    c: &Connection,
    table: &'static str,
    pk: &str,
    prefix: &str,
    descending: bool,
) -> Result<Vec<(String, String)>, StoreError> {
    use sea_query::ExprTrait as _;
    let upper = format!("{prefix}\u{10FFFF}");
    let order = if descending { Order::Desc } else { Order::Asc };
    let (sql, values) = Query::select()
        .columns(["sk", "data"])
        .from(table)
        .and_where(Expr::col("pk").eq(pk))
        .and_where(Expr::col("sk").gte(prefix))
        .and_where(Expr::col("sk").lt(upper))
        .order_by("sk", order)
        .build_rusqlite(SqliteQueryBuilder);
    let mut stmt = c.prepare_cached(&sql).map_err(sql_err("prepare list"))?;
    let rows = stmt
        .query_map(&*values.as_params(), |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err("list"))?;
    rows.collect::<Result<_, _>>().map_err(sql_err("read row"))
}

/// [`prefixed_data`], each item parsed.
pub(super) fn prefixed<T: DeserializeOwned>(
    c: &Connection,
    table: &'static str,
    pk: &str,
    prefix: &str,
    descending: bool,
) -> Result<Vec<T>, StoreError> {
    prefixed_data(c, table, pk, prefix, descending)?
        .iter()
        .map(|(sk, data)| parse(sk, data))
        .collect()
}
