//! The TenantConfig table as a key-value store: the small primitive both
//! backends provide ([`KvStore`]: DynamoDB's TenantConfig table, SQLite's
//! `tenant_config`), and the traits implemented once on top of it
//! ([`crate::store::TenantConfigStore`] and [`crate::store::ReferenceStore`],
//! for every `T: KvStore`).
//!
//! An item is a JSON value under `{pk, sk}` ([`ConfigItem`]); the keys are
//! [`crate::store::keys`]. Conversions between items and domain values live
//! in [`records`].

pub mod records;
mod reference;
mod tenant_config;

use crate::store::StoreError;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One TenantConfig item: a JSON value under `{pk, sk}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigItem {
    pub pk: String,
    pub sk: String,
    /// The value's JSON text.
    pub data: String,
}

impl ConfigItem {
    /// Serialises `value` under `{pk, sk}`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the value does not serialise.
    pub fn new<T: Serialize + ?Sized>(
        pk: impl Into<String>,
        sk: impl Into<String>,
        value: &T,
    ) -> Result<Self, StoreError> {
        let sk = sk.into();
        let data =
            serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{sk}: {e}")))?;
        Ok(ConfigItem {
            pk: pk.into(),
            sk,
            data,
        })
    }

    /// The stored value.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when `data` is not a `T`.
    pub fn value<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_str(&self.data)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", self.sk)))
    }
}

/// The TenantConfig table's primitive operations. Reads are strongly
/// consistent; every write inserts or replaces by `{pk, sk}`.
#[async_trait]
pub trait KvStore: Send + Sync {
    /// The item at `{pk, sk}`, `None` when absent.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<ConfigItem>, StoreError>;

    /// Every item of `pk` whose sort key starts with `prefix`, in sort-key
    /// order, however many pages the backend reads them in.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<ConfigItem>, StoreError>;

    /// Inserts or replaces one item.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn put_item(&self, item: ConfigItem) -> Result<(), StoreError>;

    /// Inserts or replaces many items: in one transaction where the backend
    /// has them (SQLite), in batches otherwise (DynamoDB).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; without a transaction, the
    /// batches written before the failure stay.
    async fn put_items(&self, items: Vec<ConfigItem>) -> Result<(), StoreError>;
}
