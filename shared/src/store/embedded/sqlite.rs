//! [`EmbeddedStore`]: every storage trait over one SQLite database. Its
//! `tenant_config` table is a [`crate::store::kv::KvStore`] (`config.rs`),
//! which gives it [`TenantConfigStore`].

use super::entities;
use crate::model::{EntityKind, Projection, Record, TenantId, Value};
use crate::query::sql as entities_sql;
use crate::query::{EntityQuery, QueryAnswer};
use crate::store::keys;
use crate::store::{
    EntitySource, EntityWriter, ExportLog, ExportLogStore, Page, PageCursor, RecordLoad, RowPage,
    StoreError, TenantConfigStore,
};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sea_query::{Expr, Order, Query, SqliteQueryBuilder};
use sea_query_rusqlite::RusqliteBinder;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The schema version this code writes (`PRAGMA user_version`). Version 0
/// kept every record in one `entities (pk, sk, data)` table; version 1 has
/// the typed tables of [`super::entities`] for contacts, organisations and
/// households, and `activities (pk, sk, data)` for activities.
/// Version 2 orders text by `str::to_lowercase` (a final sigma folds to
/// `ς`): the indexes on `rs_text` columns are rebuilt.
/// Version 3 adds the fan-out tables: `bulk_tasks` (one row per task of a
/// job, [`TASKS_SCHEMA`]) and `bulk_tasks_done` (the set of a job's finished
/// tasks). An older build refuses a version-3 database (see [`migrate`]).
const SCHEMA_VERSION: i64 = 3;

/// The tables of version 3, created by [`migrate`] (never by [`SCHEMA`], so
/// a database only has them once its version says so). Both are scoped by
/// tenant and job:
///
/// - `bulk_tasks`: a job's tasks, `data` the [`crate::model::bulk::BulkTask`]
///   JSON and `version` its version, the column every conditional replace
///   compares;
/// - `bulk_tasks_done`: one row per finished task; its primary key makes
///   adding an index twice a no-op, so the set's size is a `COUNT`.
const TASKS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bulk_tasks (
    tenant     TEXT NOT NULL,
    job        TEXT NOT NULL,
    task_index INTEGER NOT NULL,
    data       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (tenant, job, task_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bulk_tasks_done (
    tenant     TEXT NOT NULL,
    job        TEXT NOT NULL,
    task_index INTEGER NOT NULL,
    PRIMARY KEY (tenant, job, task_index)
) WITHOUT ROWID;
";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS activities (
    pk   TEXT NOT NULL,
    sk   TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    body          TEXT NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    enqueued_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS export_logs (
    pk   TEXT NOT NULL,
    sk   TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tenant_config (
    pk   TEXT NOT NULL,
    sk   TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
";

/// The embedded store. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish()
    }
}

pub(super) fn sql_err(context: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::backend(context, e)
}

impl EmbeddedStore {
    /// Opens (and creates when missing) `exports.sqlite3` in `data_dir`.
    ///
    /// # Errors
    /// When the directory cannot be created or the database cannot be opened.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::backend(format!("create {}", data_dir.display()), e))?;
        let path = data_dir.join("exports.sqlite3");
        let mut conn = Connection::open(&path).map_err(sql_err("open database"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql_err("set WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql_err("set synchronous"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql_err("set busy timeout"))?;
        entities::register_functions(&conn).map_err(sql_err("register functions"))?;
        conn.execute_batch(SCHEMA)
            .map_err(sql_err("create schema"))?;
        migrate(&mut conn)?;
        Ok(EmbeddedStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// Refreshes the query planner's statistics (`ANALYZE`, sampled), so
    /// it picks the right index for each filter. Worth running after a
    /// large load; `exports-local seed` and `import` do.
    ///
    /// # Errors
    /// When SQLite fails.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        self.with_conn(|c| {
            c.execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;")
                .map_err(sql_err("analyze"))
        })
        .await
    }

    /// The connection, for work that holds it across several steps (a load).
    pub(super) fn shared_connection(&self) -> Arc<Mutex<Connection>> {
        Arc::clone(&self.conn)
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(super) async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Corrupt("connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::backend("blocking task", e))?
    }
}

/// Brings a database to [`SCHEMA_VERSION`] in one transaction: creates the
/// entity tables and, from version 0, moves every record of the old
/// `entities` table into them (same tenant, shard and id, the same JSON)
/// and its activities into `activities`, then drops it; below version 3 it
/// creates the task tables ([`TASKS_SCHEMA`]). A crash part-way leaves the
/// database at the version it had.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql_err("read schema version"))?;
    // A database to migrate: the write lock first, then the version again,
    // so two processes opening it at once migrate it once, one after the
    // other. An up-to-date one takes no lock (its `IF NOT EXISTS` statements
    // write nothing), so it opens while another process holds a load.
    let behavior = if current < SCHEMA_VERSION {
        TransactionBehavior::Immediate
    } else {
        TransactionBehavior::Deferred
    };
    let tx = conn
        .transaction_with_behavior(behavior)
        .map_err(sql_err("begin migration"))?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql_err("read schema version"))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {version}; this build reads up to {SCHEMA_VERSION}"
        )));
    }
    for ddl in entities::schema() {
        tx.execute_batch(&ddl)
            .map_err(sql_err("create entity tables"))?;
    }
    if version < 1 {
        let old: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'entities'",
                [],
                |r| r.get(0),
            )
            .map_err(sql_err("look for the old entities table"))?;
        if old > 0 {
            let moved = move_old_entities(&tx)?;
            let activities = tx
                .execute(
                    "INSERT INTO activities (pk, sk, data) SELECT pk, sk, data FROM entities",
                    [],
                )
                .map_err(sql_err("move old activities"))?;
            tracing::info!(
                records = moved,
                activities,
                "migrated the entities table to typed entity tables"
            );
            tx.execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;")
                .map_err(sql_err("analyze"))?;
            tx.execute_batch("DROP TABLE entities")
                .map_err(sql_err("drop the old entities table"))?;
        }
    }
    if version == 1 {
        tx.execute_batch("REINDEX rs_text")
            .map_err(sql_err("rebuild the text indexes"))?;
    }
    if version < 3 {
        tx.execute_batch(TASKS_SCHEMA)
            .map_err(sql_err("create the task tables"))?;
    }
    // Written only when it changes: on a current database opening takes no
    // write lock, so the server can open while an import holds it.
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql_err("write schema version"))?;
    }
    tx.commit().map_err(sql_err("commit migration"))
}

/// Moves the records of the version-0 `entities` table (`pk` =
/// `T#{tenant}#{CONTACT|ORG|HOUSEHOLD}#{shard}`, `sk` = id) into the typed
/// tables and deletes them there, leaving its activities (`…#ACT#{day}`);
/// returns how many moved.
fn move_old_entities(tx: &rusqlite::Transaction<'_>) -> Result<u64, StoreError> {
    let mut stmt = tx
        .prepare("SELECT pk, sk, data FROM entities")
        .map_err(sql_err("read old entities"))?;
    let mut rows = stmt.query([]).map_err(sql_err("read old entities"))?;
    let mut moved = 0;
    let mut moved_pks = std::collections::BTreeSet::new();
    while let Some(row) = rows.next().map_err(sql_err("read old entity"))? {
        let (pk, sk, data): (String, String, String) = (
            row.get(0).map_err(sql_err("read old entity"))?,
            row.get(1).map_err(sql_err("read old entity"))?,
            row.get(2).map_err(sql_err("read old entity"))?,
        );
        let bad = || StoreError::Corrupt(format!("old entity key {pk}/{sk}"));
        let mut parts = pk.strip_prefix("T#").ok_or_else(bad)?.rsplitn(3, '#');
        let (shard, kind, tenant) = (parts.next(), parts.next(), parts.next());
        let Some(entity) = entities::ENTITIES
            .into_iter()
            .find(|e| Some(e.key_name()) == kind)
        else {
            continue; // an activity day: it stays in the key-value table
        };
        let shard: u32 = shard.and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let tenant = TenantId::new(tenant.ok_or_else(bad)?);
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&data)
            .map_err(|e| StoreError::Corrupt(format!("{pk}/{sk}: {e}")))?;
        entities::upsert(tx, &tenant, entity, |_| shard, &[Record::new(sk, map)])?;
        moved += 1;
        moved_pks.insert(pk);
    }
    for pk in moved_pks {
        tx.execute("DELETE FROM entities WHERE pk = ?1", [pk])
            .map_err(sql_err("delete moved entities"))?;
    }
    Ok(moved)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl EntitySource for EmbeddedStore {
    async fn page(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let (records, next) = self
            .read_page(tenant, entity, cursor, limit, |sk, data| {
                let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(data)?;
                Ok(Record::new(sk, map))
            })
            .await?;
        Ok(Page { records, next })
    }

    fn counts_in_store(&self) -> bool {
        true
    }

    async fn page_rows(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
        projection: &Projection,
    ) -> Result<RowPage, StoreError> {
        let projection = projection.clone();
        let (rows, next) = self
            .read_page(tenant, entity, cursor, limit, move |sk, data| {
                projection.project_json(&sk, data)
            })
            .await?;
        Ok(RowPage { rows, next })
    }

    async fn query(&self, tenant: &TenantId, q: &EntityQuery) -> Result<QueryAnswer, StoreError> {
        self.run_query(tenant, q).await
    }

    async fn count_values(
        &self,
        tenant: &TenantId,
        q: &EntityQuery,
        index: usize,
    ) -> Result<Vec<(Value, u64)>, StoreError> {
        self.run_value_counts(tenant, q, index).await
    }
}

impl EmbeddedStore {
    /// The page of `limit` records after `cursor`, across the tenant's
    /// shards in key order, each read by `read(id, data)`.
    async fn read_page<T, F>(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
        mut read: F,
    ) -> Result<(Vec<T>, Option<PageCursor>), StoreError>
    where
        T: Send + 'static,
        F: FnMut(String, &str) -> Result<T, serde_json::Error> + Send + 'static,
    {
        let (shards, mut shard, mut after) = match cursor {
            Some(c) => keys::decode_cursor(&c)?,
            None => (self.settings(tenant).await?.shards.max(1), 0, String::new()),
        };
        let tenant = tenant.clone();
        let limit = limit.max(1);
        self.with_conn(move |c| {
            use sea_query::ExprTrait as _;
            let mut items = Vec::with_capacity(limit);
            loop {
                let want = limit - items.len();
                let (sql, params) = Query::select()
                    .columns(["id", "data"])
                    .from(entities_sql::table(entity))
                    .and_where(Expr::col("tenant").eq(tenant.as_str()))
                    .and_where(Expr::col("shard").eq(i64::from(shard)))
                    .and_where(Expr::col("id").gt(after.as_str()))
                    .order_by("id", Order::Asc)
                    .limit(want as u64)
                    .build_rusqlite(SqliteQueryBuilder);
                let mut stmt = c.prepare_cached(&sql).map_err(sql_err("prepare page"))?;
                let mut rows = stmt
                    .query(&*params.as_params())
                    .map_err(sql_err("read page"))?;
                let mut got = 0;
                while let Some(row) = rows.next().map_err(sql_err("read row"))? {
                    let id: String = row.get(0).map_err(sql_err("read row"))?;
                    let data = row.get_ref(1).map_err(sql_err("read row"))?;
                    let data = data
                        .as_str()
                        .map_err(|e| StoreError::Corrupt(format!("{id}: {e}")))?;
                    after.clone_from(&id);
                    let item =
                        read(id, data).map_err(|e| StoreError::Corrupt(format!("{after}: {e}")))?;
                    items.push(item);
                    got += 1;
                }
                if items.len() >= limit {
                    // Full page: resume after the last key of this shard.
                    let next = keys::encode_cursor(shards, shard, &after);
                    return Ok((items, Some(next)));
                }
                debug_assert!(got < want);
                shard += 1;
                after.clear();
                if shard >= shards {
                    return Ok((items, None));
                }
            }
        })
        .await
    }
}

#[async_trait]
impl EntityWriter for EmbeddedStore {
    async fn put_records(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: Vec<Record>,
    ) -> Result<(), StoreError> {
        let shards = self.settings(tenant).await?.shards.max(1);
        let tenant = tenant.clone();
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(sql_err("begin"))?;
            entities::upsert(
                &tx,
                &tenant,
                entity,
                |r| keys::shard_of(&r.id, shards),
                &records,
            )?;
            tx.commit().map_err(sql_err("commit"))
        })
        .await
    }

    /// One transaction for the whole load (see [`super::load`]).
    async fn begin_load(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Box<dyn RecordLoad + '_>, StoreError> {
        let shards = self.settings(tenant).await?.shards.max(1);
        let tenant = tenant.clone();
        Ok(Box::new(self.begin_load_with(move |tx, records| {
            entities::upsert(
                tx,
                &tenant,
                entity,
                |r| keys::shard_of(&r.id, shards),
                records,
            )
        })))
    }

    async fn finish_load(&self) -> Result<(), StoreError> {
        self.optimize().await
    }
}

fn read_log(c: &Connection, pk: &str, sk: &str) -> Result<Option<ExportLog>, StoreError> {
    let data: Option<String> = c
        .query_row(
            "SELECT data FROM export_logs WHERE pk = ?1 AND sk = ?2",
            params![pk, sk],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err("read export log"))?;
    data.map(|d| serde_json::from_str(&d).map_err(|e| StoreError::Corrupt(format!("{sk}: {e}"))))
        .transpose()
}

#[async_trait]
impl ExportLogStore for EmbeddedStore {
    async fn put_log(&self, tenant: &TenantId, log: &ExportLog) -> Result<(), StoreError> {
        let pk = keys::tenant_pk(tenant);
        let sk = keys::export_log_sk(&log.id);
        let data = to_json(log)?;
        self.with_conn(move |c| {
            let inserted = c
                .execute(
                    "INSERT INTO export_logs (pk, sk, data) VALUES (?1, ?2, ?3)
                     ON CONFLICT (pk, sk) DO NOTHING",
                    params![pk, sk, data],
                )
                .map_err(sql_err("write export log"))?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(sk));
            }
            Ok(())
        })
        .await
    }

    async fn get_log(&self, tenant: &TenantId, id: &str) -> Result<Option<ExportLog>, StoreError> {
        let pk = keys::tenant_pk(tenant);
        let sk = keys::export_log_sk(id);
        self.with_conn(move |c| read_log(c, &pk, &sk)).await
    }

    async fn mark_exported(
        &self,
        tenant: &TenantId,
        id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<ExportLog>, StoreError> {
        let pk = keys::tenant_pk(tenant);
        let sk = keys::export_log_sk(id);
        self.with_conn(move |c| {
            // The connection is held for the whole read-modify-write.
            let Some(mut log) = read_log(c, &pk, &sk)? else {
                return Ok(None);
            };
            log.export_at = at;
            log.updated_at = at;
            c.execute(
                "UPDATE export_logs SET data = ?3 WHERE pk = ?1 AND sk = ?2",
                params![pk, sk, to_json(&log)?],
            )
            .map_err(sql_err("update export log"))?;
            Ok(Some(log))
        })
        .await
    }
}
