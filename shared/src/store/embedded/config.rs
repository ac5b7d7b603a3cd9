//! [`KvStore`] on SQLite: the `tenant_config` table, so that
//! [`crate::store::TenantConfigStore`] and [`crate::store::ReferenceStore`]
//! come from [`crate::store::kv`].

use super::rows::{prefixed_data, read_data, upsert};
use super::sqlite::{sql_err, EmbeddedStore};
use crate::store::kv::{ConfigItem, KvStore};
use crate::store::StoreError;
use async_trait::async_trait;

/// The key-value table of tenant settings and reference data.
const CONFIG: &str = "tenant_config";

#[async_trait]
impl KvStore for EmbeddedStore {
    async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<ConfigItem>, StoreError> {
        let (pk, sk) = (pk.to_string(), sk.to_string());
        self.with_conn(move |c| {
            let data = read_data(c, CONFIG, &pk, &sk)?;
            Ok(data.map(|data| ConfigItem { pk, sk, data }))
        })
        .await
    }

    async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<ConfigItem>, StoreError> {
        let (pk, prefix) = (pk.to_string(), prefix.to_string());
        self.with_conn(move |c| {
            let rows = prefixed_data(c, CONFIG, &pk, &prefix, false)?;
            Ok(rows
                .into_iter()
                .map(|(sk, data)| ConfigItem {
                    pk: pk.clone(),
                    sk,
                    data,
                })
                .collect())
        })
        .await
    }

    async fn put_item(&self, item: ConfigItem) -> Result<(), StoreError> {
        self.with_conn(move |c| upsert(c, CONFIG, &item.pk, &item.sk, &item.data))
            .await
    }

    /// One transaction: all the items or none.
    async fn put_items(&self, items: Vec<ConfigItem>) -> Result<(), StoreError> {
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(sql_err("begin"))?;
            for item in &items {
                upsert(&tx, CONFIG, &item.pk, &item.sk, &item.data)?;
            }
            tx.commit().map_err(sql_err("commit"))
        })
        .await
    }
}
