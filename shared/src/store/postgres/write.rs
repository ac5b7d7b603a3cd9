//! [`EntityWriter`] on PostgreSQL, for the standalone schema: the demo
//! tenant, `exports-local import` and the tests. A CRM's own database is
//! written by the CRM; the service only reads it.
//!
//! Records are upserted by (`tenant`, `id`) in multi-row statements of at
//! most [`ROWS_PER_STATEMENT`] rows. A load ([`RecordLoad`]) is one
//! transaction on one pooled connection; dropped uncommitted, the
//! connection is closed rather than returned to the pool, so the server
//! rolls it back.

use super::{pg_err, PgStore};
use crate::model::columns::standard_columns;
use crate::model::{EntityKind, FieldType, Record, TenantId, Value};
use crate::query::sql::{self, Dialect};
use crate::store::{EntityWriter, RecordLoad, StoreError};
use async_trait::async_trait;
use sea_query::{Expr, OnConflict, PostgresQueryBuilder, Query};
use sea_query_postgres::PostgresBinder;
use std::collections::HashMap;

/// Rows per `INSERT` (each binds a value per column; PostgreSQL allows 65,535).
const ROWS_PER_STATEMENT: usize = 1_000;

/// One record as its row: the typed value of every standard column (what
/// [`Value::from_json`] makes of the stored value, null when it does not
/// fit), in [`standard_columns`] order.
fn typed_columns(entity: EntityKind, record: &Record) -> Vec<sea_query::Value> {
    sql::column_values(entity, record)
        .map(|(ty, v)| match v {
            Value::Null => match ty {
                FieldType::String => sea_query::Value::String(None),
                FieldType::Number => sea_query::Value::Double(None),
                FieldType::Boolean => sea_query::Value::Bool(None),
                FieldType::Date => sea_query::Value::ChronoDate(None),
                FieldType::DateTime => sea_query::Value::ChronoDateTimeUtc(None),
            },
            v => Dialect::Postgres.value(&v),
        })
        .collect()
}

/// Upserts `records` of one tenant's entity on `client` (in its
/// transaction, if one is open). A repeated id keeps its last record.
async fn upsert(
    client: &impl deadpool_postgres::GenericClient,
    tenant: &TenantId,
    entity: EntityKind,
    records: &[Record],
) -> Result<(), StoreError> {
    let columns = standard_columns(entity);
    let mut names: Vec<&'static str> = vec!["tenant"];
    names.extend(columns.iter().map(|c| c.id));
    names.push("data");
    let update: Vec<&'static str> = names[2..].to_vec();
    // One statement cannot touch a row twice: the last record of an id wins.
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        last.insert(&r.id, i);
    }
    let kept: Vec<&Record> = records
        .iter()
        .enumerate()
        .filter(|(i, r)| last.get(r.id.as_str()) == Some(i))
        .map(|(_, r)| r)
        .collect();
    for chunk in kept.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert
            .into_table(sql::table(entity))
            .columns(names.iter().copied())
            .on_conflict(
                OnConflict::columns(["tenant", "id"])
                    .update_columns(update.iter().copied())
                    .to_owned(),
            );
        for record in chunk {
            let mut values: Vec<sea_query::Value> = vec![tenant.as_str().into()];
            values.extend(typed_columns(entity, record));
            values.push(sea_query::Value::Json(Some(Box::new(
                serde_json::Value::Object(record.data.clone()),
            ))));
            insert
                .values(values.into_iter().map(Expr::val))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        }
        let (stmt, values) = insert.build_postgres(PostgresQueryBuilder);
        client
            .execute(&stmt, &values.as_params())
            .await
            .map_err(pg_err("write records"))?;
    }
    Ok(())
}

#[async_trait]
impl EntityWriter for PgStore {
    async fn put_records(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: Vec<Record>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err("begin"))?;
        upsert(&tx, tenant, entity, &records).await?;
        tx.commit().await.map_err(pg_err("commit"))
    }

    async fn begin_load(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Box<dyn RecordLoad + '_>, StoreError> {
        let client = self.client().await?;
        client
            .batch_execute("BEGIN")
            .await
            .map_err(pg_err("begin a load"))?;
        Ok(Box::new(PgLoad {
            client: Some(client),
            tenant: tenant.clone(),
            entity,
            written: 0,
        }))
    }

    /// Refreshes the planner's statistics of the entity tables, and their
    /// visibility maps: counts and filter values are index-only scans,
    /// which read the table for every row on a page not yet marked
    /// all-visible, as every page a load wrote is until a vacuum.
    /// (`VACUUM` runs outside a transaction: one statement, alone.)
    async fn finish_load(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .batch_execute("VACUUM (ANALYZE) contacts, organisations, households")
            .await
            .map_err(pg_err("vacuum and analyze"))
    }
}

/// A load in one transaction (see the module docs).
struct PgLoad {
    /// `None` once committed or failed.
    client: Option<deadpool_postgres::Object>,
    tenant: TenantId,
    entity: EntityKind,
    written: u64,
}

impl PgLoad {
    fn client(&self) -> Result<&deadpool_postgres::Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("the load has already ended".into()))
    }
}

#[async_trait]
impl RecordLoad for PgLoad {
    async fn write(&mut self, records: Vec<Record>) -> Result<(), StoreError> {
        let result = upsert(self.client()?, &self.tenant, self.entity, &records).await;
        match result {
            Ok(()) => {
                self.written += records.len() as u64;
                Ok(())
            }
            Err(e) => {
                // The transaction is aborted: close the connection.
                if let Some(client) = self.client.take() {
                    drop(deadpool_postgres::Object::take(client));
                }
                Err(e)
            }
        }
    }

    async fn commit(mut self: Box<Self>) -> Result<u64, StoreError> {
        let client = self
            .client
            .take()
            .ok_or_else(|| StoreError::Corrupt("the load has already ended".into()))?;
        match client.batch_execute("COMMIT").await {
            Ok(()) => Ok(self.written),
            Err(e) => {
                drop(deadpool_postgres::Object::take(client));
                Err(StoreError::backend("commit a load", e))
            }
        }
    }

    fn all_or_nothing(&self) -> bool {
        true
    }
}

impl Drop for PgLoad {
    fn drop(&mut self) {
        // Uncommitted: closing the connection rolls the transaction back;
        // it must not go back to the pool mid-transaction.
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}
