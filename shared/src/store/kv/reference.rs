//! [`ReferenceStore`] for every [`KvStore`]: the reference data in the
//! TenantConfig `GLOBAL` partition, each list in the root collation order
//! ([`sort_by_text`]).

use super::records::reference_items;
use super::tenant_config::list;
use super::KvStore;
use crate::model::{City, Country, Industry, PhoneCode, ReferenceData};
use crate::store::{keys, sort_by_text, ReferenceStore, StoreError};
use async_trait::async_trait;

#[async_trait]
impl<K: KvStore> ReferenceStore for K {
    async fn industries(&self) -> Result<Vec<Industry>, StoreError> {
        let mut v: Vec<Industry> = list(self, keys::GLOBAL_PK, keys::INDUSTRY_PREFIX).await?;
        sort_by_text(&mut v, |i| &i.display_name);
        Ok(v)
    }

    async fn countries(&self) -> Result<Vec<Country>, StoreError> {
        let mut v: Vec<Country> = list(self, keys::GLOBAL_PK, keys::COUNTRY_PREFIX).await?;
        sort_by_text(&mut v, |c| &c.name.common);
        Ok(v)
    }

    async fn cities(&self, cca3: &str) -> Result<Vec<City>, StoreError> {
        let mut v: Vec<City> = list(self, keys::GLOBAL_PK, &keys::city_prefix(cca3)).await?;
        sort_by_text(&mut v, |c| &c.name);
        Ok(v)
    }

    async fn phone_codes(&self) -> Result<Vec<PhoneCode>, StoreError> {
        let mut v: Vec<PhoneCode> = list(self, keys::GLOBAL_PK, keys::PHONE_PREFIX).await?;
        sort_by_text(&mut v, |p| &p.name);
        Ok(v)
    }

    async fn put_reference(&self, data: &ReferenceData) -> Result<(), StoreError> {
        self.put_items(reference_items(data)?).await
    }
}
