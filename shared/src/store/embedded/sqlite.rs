//! [`EmbeddedStore`]: every storage trait over one SQLite database.

use crate::model::{
    ConfigOption, CustomFieldDef, EntityKind, OptionKind, Projection, Record, TenantId,
    TenantSettings,
};
use crate::store::keys;
use crate::store::{
    EntitySource, EntityWriter, ExportLog, ExportLogStore, Page, PageCursor, RowPage, StoreError,
    TenantConfigStore,
};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entities (
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
        let conn = Connection::open(&path).map_err(sql_err("open database"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql_err("set WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql_err("set synchronous"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql_err("set busy timeout"))?;
        conn.execute_batch(SCHEMA)
            .map_err(sql_err("create schema"))?;
        Ok(EmbeddedStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
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

    async fn get_config<T: DeserializeOwned + Send + 'static>(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<T>, StoreError> {
        self.with_conn(move |c| {
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM tenant_config WHERE pk = ?1 AND sk = ?2",
                    params![pk, sk],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err("read config"))?;
            data.map(|d| {
                serde_json::from_str(&d).map_err(|e| StoreError::Corrupt(format!("{sk}: {e}")))
            })
            .transpose()
        })
        .await
    }

    pub(super) async fn list_config<T: DeserializeOwned + Send + 'static>(
        &self,
        pk: String,
        prefix: String,
    ) -> Result<Vec<T>, StoreError> {
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT sk, data FROM tenant_config WHERE pk = ?1 AND sk >= ?2 AND sk < ?3 ORDER BY sk",
                )
                .map_err(sql_err("prepare list"))?;
            let upper = format!("{prefix}\u{10FFFF}");
            let rows = stmt
                .query_map(params![pk, prefix, upper], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(sql_err("list config"))?;
            let mut out = Vec::new();
            for row in rows {
                let (sk, data) = row.map_err(sql_err("read config row"))?;
                out.push(
                    serde_json::from_str(&data)
                        .map_err(|e| StoreError::Corrupt(format!("{sk}: {e}")))?,
                );
            }
            Ok(out)
        })
        .await
    }

    async fn put_config(&self, pk: String, sk: String, data: String) -> Result<(), StoreError> {
        self.with_conn(move |c| {
            c.execute(
                "INSERT INTO tenant_config (pk, sk, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (pk, sk) DO UPDATE SET data = excluded.data",
                params![pk, sk, data],
            )
            .map_err(sql_err("write config"))?;
            Ok(())
        })
        .await
    }
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
}

impl EmbeddedStore {
    /// The page of `limit` records after `cursor`, across the tenant's
    /// shards in key order, each read by `read(sk, data)`.
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
            let mut stmt = c
                .prepare_cached(
                    "SELECT sk, data FROM entities WHERE pk = ?1 AND sk > ?2 ORDER BY sk LIMIT ?3",
                )
                .map_err(sql_err("prepare page"))?;
            let mut items = Vec::with_capacity(limit);
            loop {
                let pk = keys::entity_pk(&tenant, entity, shard);
                let want = limit - items.len();
                let mut rows = stmt
                    .query(params![pk, after, want as i64])
                    .map_err(sql_err("read page"))?;
                let mut got = 0;
                while let Some(row) = rows.next().map_err(sql_err("read row"))? {
                    let sk: String = row.get(0).map_err(sql_err("read row"))?;
                    let data = row.get_ref(1).map_err(sql_err("read row"))?;
                    let data = data
                        .as_str()
                        .map_err(|e| StoreError::Corrupt(format!("{pk}/{sk}: {e}")))?;
                    after.clone_from(&sk);
                    let item = read(sk, data)
                        .map_err(|e| StoreError::Corrupt(format!("{pk}/{after}: {e}")))?;
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
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO entities (pk, sk, data) VALUES (?1, ?2, ?3)
                         ON CONFLICT (pk, sk) DO UPDATE SET data = excluded.data",
                    )
                    .map_err(sql_err("prepare insert"))?;
                for record in &records {
                    let pk = keys::entity_pk(&tenant, entity, keys::shard_of(&record.id, shards));
                    let data = serde_json::to_string(&record.data)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    stmt.execute(params![pk, record.id, data])
                        .map_err(sql_err("insert record"))?;
                }
            }
            tx.commit().map_err(sql_err("commit"))
        })
        .await
    }
}

#[async_trait]
impl TenantConfigStore for EmbeddedStore {
    async fn settings(&self, tenant: &TenantId) -> Result<TenantSettings, StoreError> {
        Ok(self
            .get_config(keys::tenant_pk(tenant), keys::SETTINGS_SK.into())
            .await?
            .unwrap_or_default())
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
    ) -> Result<(), StoreError> {
        self.put_config(
            keys::tenant_pk(tenant),
            keys::SETTINGS_SK.into(),
            to_json(settings)?,
        )
        .await
    }

    async fn custom_fields(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Vec<CustomFieldDef>, StoreError> {
        let mut defs: Vec<CustomFieldDef> = self
            .list_config(keys::tenant_pk(tenant), keys::custom_field_prefix(entity))
            .await?;
        defs.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.uuid.cmp(&b.uuid)));
        Ok(defs)
    }

    async fn put_custom_field(
        &self,
        tenant: &TenantId,
        def: &CustomFieldDef,
    ) -> Result<(), StoreError> {
        self.put_config(
            keys::tenant_pk(tenant),
            keys::custom_field_sk(def.entity, &def.uuid),
            to_json(def)?,
        )
        .await
    }

    async fn options(
        &self,
        tenant: &TenantId,
        kind: OptionKind,
    ) -> Result<Vec<ConfigOption>, StoreError> {
        let mut options: Vec<ConfigOption> = self
            .list_config(keys::tenant_pk(tenant), keys::option_prefix(kind))
            .await?;
        options.sort_by(|a, b| {
            a.sort_order
                .cmp(&b.sort_order)
                .then_with(|| a.code.cmp(&b.code))
        });
        Ok(options)
    }

    async fn put_option(
        &self,
        tenant: &TenantId,
        kind: OptionKind,
        option: &ConfigOption,
    ) -> Result<(), StoreError> {
        self.put_config(
            keys::tenant_pk(tenant),
            keys::option_sk(kind, &option.code),
            to_json(option)?,
        )
        .await
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
