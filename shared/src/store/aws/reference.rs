//! [`ReferenceStore`] on DynamoDB: the `GLOBAL` partition of the
//! TenantConfig table, written with `BatchWriteItem`.

use super::dynamodb::DynamoStore;
use super::item::{Item, DATA};
use crate::model::{City, Country, Industry, PhoneCode, ReferenceData};
use crate::store::reference_items::reference_items;
use crate::store::{keys, sort_by_text, ReferenceStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use std::time::Duration;

/// The most puts one `BatchWriteItem` may carry.
const BATCH: usize = 25;
/// How many times one chunk is sent before unprocessed items are an error.
const ATTEMPTS: u32 = 8;

#[async_trait]
impl ReferenceStore for DynamoStore {
    async fn industries(&self) -> Result<Vec<Industry>, StoreError> {
        let mut v: Vec<Industry> = self
            .list_config(keys::GLOBAL_PK.into(), keys::INDUSTRY_PREFIX.into())
            .await?;
        sort_by_text(&mut v, |i| &i.display_name);
        Ok(v)
    }

    async fn countries(&self) -> Result<Vec<Country>, StoreError> {
        let mut v: Vec<Country> = self
            .list_config(keys::GLOBAL_PK.into(), keys::COUNTRY_PREFIX.into())
            .await?;
        sort_by_text(&mut v, |c| &c.name.common);
        Ok(v)
    }

    async fn cities(&self, cca3: &str) -> Result<Vec<City>, StoreError> {
        let mut v: Vec<City> = self
            .list_config(keys::GLOBAL_PK.into(), keys::city_prefix(cca3))
            .await?;
        sort_by_text(&mut v, |c| &c.name);
        Ok(v)
    }

    async fn phone_codes(&self) -> Result<Vec<PhoneCode>, StoreError> {
        let mut v: Vec<PhoneCode> = self
            .list_config(keys::GLOBAL_PK.into(), keys::PHONE_PREFIX.into())
            .await?;
        sort_by_text(&mut v, |p| &p.name);
        Ok(v)
    }

    async fn put_reference(&self, data: &ReferenceData) -> Result<(), StoreError> {
        let table = self.config_table().to_string();
        let items = reference_items(data)?;
        for chunk in items.chunks(BATCH) {
            let mut pending = chunk
                .iter()
                .map(|(sk, data)| {
                    let mut item: Item = super::item::key(keys::GLOBAL_PK, sk.clone());
                    item.insert(DATA.to_string(), AttributeValue::S(data.clone()));
                    let put = PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|e| StoreError::backend("build put request", e))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt == ATTEMPTS {
                    return Err(StoreError::Corrupt(format!(
                        "{} reference items still unprocessed after {ATTEMPTS} attempts",
                        pending.len()
                    )));
                }
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                }
                attempt += 1;
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(table.clone(), pending)
                    .send()
                    .await
                    .map_err(|e| StoreError::backend(format!("batch write {table}"), e))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}
