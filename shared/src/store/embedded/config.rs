//! [`KvStore`] on SQLite: the `tenant_config` table, so that
//! [`crate::store::TenantConfigStore`] and [`crate::store::ReferenceStore`]
//! come from [`crate::store::kv`].

use super::sqlite::{sql_err, EmbeddedStore};
use crate::store::kv::{ConfigItem, KvStore};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

/// The upsert of one `tenant_config` item.
const UPSERT: &str = "INSERT INTO tenant_config (pk, sk, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (pk, sk) DO UPDATE SET data = excluded.data";

fn upsert(c: &Connection, item: &ConfigItem, context: &'static str) -> Result<(), StoreError> {
    c.prepare_cached(UPSERT)
        .and_then(|mut stmt| stmt.execute(params![item.pk, item.sk, item.data]))
        .map_err(sql_err(context))?;
    Ok(())
}

#[async_trait]
impl KvStore for EmbeddedStore {
    async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<ConfigItem>, StoreError> {
        let (pk, sk) = (pk.to_string(), sk.to_string());
        self.with_conn(move |c| {
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM tenant_config WHERE pk = ?1 AND sk = ?2",
                    params![pk, sk],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err("read config"))?;
            Ok(data.map(|data| ConfigItem { pk, sk, data }))
        })
        .await
    }

    async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<ConfigItem>, StoreError> {
        let (pk, prefix) = (pk.to_string(), prefix.to_string());
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
                out.push(ConfigItem {
                    pk: pk.clone(),
                    sk,
                    data,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn put_item(&self, item: ConfigItem) -> Result<(), StoreError> {
        self.with_conn(move |c| upsert(c, &item, "write config"))
            .await
    }

    /// One transaction: all the items or none.
    async fn put_items(&self, items: Vec<ConfigItem>) -> Result<(), StoreError> {
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(sql_err("begin"))?;
            for item in &items {
                upsert(&tx, item, "write reference item")?;
            }
            tx.commit().map_err(sql_err("commit"))
        })
        .await
    }
}
