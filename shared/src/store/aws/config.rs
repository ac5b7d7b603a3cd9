//! [`KvStore`] on DynamoDB: the TenantConfig table, so that
//! [`crate::store::TenantConfigStore`] and [`crate::store::ReferenceStore`]
//! come from [`crate::store::kv`]; and the typed reads and writes the
//! API-key store ([`super::bulk`]) makes on it.

use super::dynamodb::{DynamoStore, BATCH_WRITE_MAX};
use super::item::{self, Item};
use crate::store::kv::{ConfigItem, KvStore};
use crate::store::StoreError;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde::de::DeserializeOwned;

#[async_trait]
impl KvStore for DynamoStore {
    async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<ConfigItem>, StoreError> {
        item::get(self.client(), self.config_table(), pk, sk)
            .await?
            .as_ref()
            .map(ConfigItem::try_from)
            .transpose()
    }

    /// Follows `LastEvaluatedKey` to the end.
    async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<ConfigItem>, StoreError> {
        let table = self.config_table();
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_string()))
                .consistent_read(true)
                .set_limit(self.config_page_size())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::backend(format!("query {table} {pk} {prefix}"), e))?;
            for found in out.items() {
                items.push(ConfigItem::try_from(found)?);
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }

    async fn put_item(&self, config: ConfigItem) -> Result<(), StoreError> {
        let table = self.config_table();
        let context = format!("put {table} {}", config.sk);
        self.client()
            .put_item()
            .table_name(table)
            .set_item(Some(Item::from(config)))
            .send()
            .await
            .map_err(|e| StoreError::backend(context, e))?;
        Ok(())
    }

    /// `BatchWriteItem` in chunks of 25, resending unprocessed items (the
    /// Entities table's loop, [`DynamoStore::batch_write_to`]).
    async fn put_items(&self, items: Vec<ConfigItem>) -> Result<(), StoreError> {
        let table = self.config_table().to_string();
        for chunk in items.chunks(BATCH_WRITE_MAX) {
            let pending = chunk
                .iter()
                .map(|config| {
                    let put = PutRequest::builder()
                        .set_item(Some(Item::from(config.clone())))
                        .build()
                        .map_err(|e| StoreError::backend("build put request", e))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.batch_write_to(&table, pending).await?;
        }
        Ok(())
    }
}

impl DynamoStore {
    /// One TenantConfig value, `None` when absent.
    pub(super) async fn get_config<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get_item(&pk, sk)
            .await?
            .map(|found| found.value())
            .transpose()
    }

    /// Every TenantConfig value of `pk` whose sort key starts with `prefix`,
    /// in sort-key order.
    pub(super) async fn list_config<T: DeserializeOwned>(
        &self,
        pk: String,
        prefix: String,
    ) -> Result<Vec<T>, StoreError> {
        self.query_prefix(&pk, &prefix)
            .await?
            .iter()
            .map(ConfigItem::value)
            .collect()
    }
}
