//! [`TenantConfigStore`] for every [`KvStore`]: settings, custom fields and
//! option lists in the tenant's TenantConfig partition (`T#{tenant}`).

use super::{ConfigItem, KvStore};
use crate::model::{
    ConfigOption, CustomFieldDef, EntityKind, OptionKind, TenantId, TenantSettings,
};
use crate::store::{keys, StoreError, TenantConfigStore};
use async_trait::async_trait;

/// Reads every item of `pk` under `prefix` as a `T`.
///
/// # Errors
/// [`StoreError`] when the backend fails or an item is not a `T`.
pub(super) async fn list<K, T>(kv: &K, pk: &str, prefix: &str) -> Result<Vec<T>, StoreError>
where
    K: KvStore + ?Sized,
    T: for<'a> TryFrom<&'a ConfigItem, Error = StoreError>,
{
    kv.query_prefix(pk, prefix)
        .await?
        .iter()
        .map(T::try_from)
        .collect()
}

#[async_trait]
impl<K: KvStore> TenantConfigStore for K {
    async fn settings(&self, tenant: &TenantId) -> Result<TenantSettings, StoreError> {
        self.get_item(&keys::tenant_pk(tenant), keys::SETTINGS_SK)
            .await?
            .as_ref()
            .map(TenantSettings::try_from)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
    ) -> Result<(), StoreError> {
        self.put_item(ConfigItem::try_from((tenant, settings))?)
            .await
    }

    async fn custom_fields(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Vec<CustomFieldDef>, StoreError> {
        let mut defs: Vec<CustomFieldDef> = list(
            self,
            &keys::tenant_pk(tenant),
            &keys::custom_field_prefix(entity),
        )
        .await?;
        defs.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.uuid.cmp(&b.uuid)));
        Ok(defs)
    }

    async fn put_custom_field(
        &self,
        tenant: &TenantId,
        def: &CustomFieldDef,
    ) -> Result<(), StoreError> {
        self.put_item(ConfigItem::try_from((tenant, def))?).await
    }

    async fn options(
        &self,
        tenant: &TenantId,
        kind: OptionKind,
    ) -> Result<Vec<ConfigOption>, StoreError> {
        let mut options: Vec<ConfigOption> =
            list(self, &keys::tenant_pk(tenant), &keys::option_prefix(kind)).await?;
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
        self.put_item(ConfigItem::try_from((tenant, kind, option))?)
            .await
    }
}
