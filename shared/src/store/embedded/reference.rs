//! [`ReferenceStore`] on SQLite: the `GLOBAL` partition of `tenant_config`.

use super::sqlite::{sql_err, EmbeddedStore};
use crate::model::{City, Country, Industry, PhoneCode, ReferenceData};
use crate::store::reference_items::reference_items;
use crate::store::{keys, sort_by_text, ReferenceStore, StoreError};
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl ReferenceStore for EmbeddedStore {
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
        let items = reference_items(data)?;
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(sql_err("begin"))?;
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO tenant_config (pk, sk, data) VALUES (?1, ?2, ?3)
                         ON CONFLICT (pk, sk) DO UPDATE SET data = excluded.data",
                    )
                    .map_err(sql_err("prepare reference insert"))?;
                for (sk, data) in &items {
                    stmt.execute(params![keys::GLOBAL_PK, sk, data])
                        .map_err(sql_err("write reference item"))?;
                }
            }
            tx.commit().map_err(sql_err("commit"))
        })
        .await
    }
}
