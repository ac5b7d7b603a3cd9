//! Conversions between TenantConfig items and domain values, shared by both
//! backends: the key each value is stored under, and its JSON.
//!
//! A value becomes a [`ConfigItem`] through `TryFrom` (with its tenant, and
//! its option kind, where the key needs them), and comes back through
//! `TryFrom<&ConfigItem>`. Both fail only with [`StoreError::Corrupt`].

use super::ConfigItem;
use crate::model::{
    City, ConfigOption, Country, CustomFieldDef, Industry, OptionKind, PhoneCode, ReferenceData,
    TenantId, TenantSettings,
};
use crate::store::{keys, StoreError};
use serde::{Deserialize, Serialize};

/// The pointer item of an API key (`APIKEY#{sha256}` / `APIKEY`, see
/// [`crate::store::bulk`]): the key's tenant, so that a key is found by its
/// hash alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyPointer {
    pub tenant: TenantId,
}

/// An account's blocked flag (`T#{tenant}` / `BLOCKED`, see
/// [`crate::store::bulk`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub blocked: bool,
}

impl TryFrom<(&TenantId, &TenantSettings)> for ConfigItem {
    type Error = StoreError;

    /// `T#{tenant}` / `SETTINGS`.
    fn try_from((tenant, settings): (&TenantId, &TenantSettings)) -> Result<Self, StoreError> {
        ConfigItem::new(keys::tenant_pk(tenant), keys::SETTINGS_SK, settings)
    }
}

impl TryFrom<(&TenantId, &CustomFieldDef)> for ConfigItem {
    type Error = StoreError;

    /// `T#{tenant}` / `CF#{entity}#{uuid}`.
    fn try_from((tenant, def): (&TenantId, &CustomFieldDef)) -> Result<Self, StoreError> {
        let sk = keys::custom_field_sk(def.entity, &def.uuid);
        ConfigItem::new(keys::tenant_pk(tenant), sk, def)
    }
}

impl TryFrom<(&TenantId, OptionKind, &ConfigOption)> for ConfigItem {
    type Error = StoreError;

    /// `T#{tenant}` / `{STAGE|SOURCE|SEGMENT}#{code}`.
    fn try_from(
        (tenant, kind, option): (&TenantId, OptionKind, &ConfigOption),
    ) -> Result<Self, StoreError> {
        let sk = keys::option_sk(kind, &option.code);
        ConfigItem::new(keys::tenant_pk(tenant), sk, option)
    }
}

impl TryFrom<&Industry> for ConfigItem {
    type Error = StoreError;

    /// `GLOBAL` / `INDUSTRY#{name}`.
    fn try_from(industry: &Industry) -> Result<Self, StoreError> {
        ConfigItem::new(keys::GLOBAL_PK, keys::industry_sk(&industry.name), industry)
    }
}

impl TryFrom<&Country> for ConfigItem {
    type Error = StoreError;

    /// `GLOBAL` / `COUNTRY#{cca3}`.
    fn try_from(country: &Country) -> Result<Self, StoreError> {
        ConfigItem::new(keys::GLOBAL_PK, keys::country_sk(&country.cca3), country)
    }
}

impl TryFrom<&City> for ConfigItem {
    type Error = StoreError;

    /// `GLOBAL` / `CITY#{cca3}#{name}`.
    fn try_from(city: &City) -> Result<Self, StoreError> {
        ConfigItem::new(
            keys::GLOBAL_PK,
            keys::city_sk(&city.country, &city.name),
            city,
        )
    }
}

impl TryFrom<&PhoneCode> for ConfigItem {
    type Error = StoreError;

    /// `GLOBAL` / `PHONE#{cca2}`.
    fn try_from(phone: &PhoneCode) -> Result<Self, StoreError> {
        ConfigItem::new(keys::GLOBAL_PK, keys::phone_sk(&phone.cca2), phone)
    }
}

/// `TryFrom<&ConfigItem>` for values read back as their JSON says.
macro_rules! from_item {
    ($($ty:ty),* $(,)?) => {$(
        impl TryFrom<&ConfigItem> for $ty {
            type Error = StoreError;

            fn try_from(item: &ConfigItem) -> Result<Self, StoreError> {
                item.value()
            }
        }
    )*};
}

from_item!(
    TenantSettings,
    CustomFieldDef,
    ConfigOption,
    Industry,
    Country,
    City,
    PhoneCode,
    ApiKeyPointer,
    Blocked,
);

/// Every item of `data`, under [`keys::GLOBAL_PK`]: industries, countries,
/// cities, then phone codes.
///
/// # Errors
/// [`StoreError::Corrupt`] when a value does not serialise.
pub fn reference_items(data: &ReferenceData) -> Result<Vec<ConfigItem>, StoreError> {
    let mut out = Vec::with_capacity(
        data.industries.len() + data.countries.len() + data.cities.len() + data.phone_codes.len(),
    );
    for i in &data.industries {
        out.push(ConfigItem::try_from(i)?);
    }
    for c in &data.countries {
        out.push(ConfigItem::try_from(c)?);
    }
    for c in &data.cities {
        out.push(ConfigItem::try_from(c)?);
    }
    for p in &data.phone_codes {
        out.push(ConfigItem::try_from(p)?);
    }
    Ok(out)
}

/// A tenant's settings, a custom field and a stage, for the conversion tests
/// of this module and of each backend's item format.
#[cfg(test)]
pub(crate) fn samples() -> (TenantSettings, CustomFieldDef, ConfigOption) {
    use crate::model::{EntityKind, FieldType};
    (
        TenantSettings {
            shards: 2,
            locale: Some("es-CL".into()),
            ..TenantSettings::default()
        },
        CustomFieldDef {
            uuid: "u1".into(),
            entity: EntityKind::Organisations,
            key: "tier".into(),
            label: "Tier".into(),
            field_type: FieldType::String,
            form_uuid: None,
        },
        ConfigOption {
            code: "client".into(),
            display_name: "Client".into(),
            enabled: true,
            deleted: false,
            sort_order: 2,
            created_at: "2024-01-01T00:00:00Z".into(),
            updated_at: "2024-01-02T00:00:00Z".into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(item: &ConfigItem) -> T
    where
        T: for<'a> TryFrom<&'a ConfigItem, Error = StoreError>,
    {
        T::try_from(item).expect("reads back")
    }

    #[test]
    fn tenant_values_are_stored_under_their_keys_and_read_back_equal() {
        // GIVEN a tenant's settings, a custom field and a stage
        let t = TenantId::new("T1");
        let (settings, def, option) = samples();
        // WHEN they become items
        let s = ConfigItem::try_from((&t, &settings)).expect("ok");
        let d = ConfigItem::try_from((&t, &def)).expect("ok");
        let o = ConfigItem::try_from((&t, OptionKind::Stages, &option)).expect("ok");
        // THEN each has the data model's key, and reads back equal
        assert_eq!((s.pk.as_str(), s.sk.as_str()), ("T#t1", "SETTINGS"));
        assert_eq!((d.pk.as_str(), d.sk.as_str()), ("T#t1", "CF#ORG#u1"));
        assert_eq!((o.pk.as_str(), o.sk.as_str()), ("T#t1", "STAGE#client"));
        assert_eq!(round_trip::<TenantSettings>(&s), settings);
        assert_eq!(round_trip::<CustomFieldDef>(&d), def);
        assert_eq!(round_trip::<ConfigOption>(&o), option);
    }

    #[test]
    fn every_reference_value_has_its_own_key_and_reads_back_equal() {
        // GIVEN the bundled data, WHEN it becomes items
        let data = ReferenceData::bundled().expect("data");
        let items = reference_items(&data).expect("items");
        // THEN all are GLOBAL, no two share a sort key, and each list has its prefix
        assert!(items.iter().all(|i| i.pk == keys::GLOBAL_PK));
        let sks: std::collections::HashSet<&str> = items.iter().map(|i| i.sk.as_str()).collect();
        assert_eq!(sks.len(), items.len());
        assert!(sks.contains("COUNTRY#CHL"));
        assert!(sks.contains("CITY#CHL#Santiago"));
        assert!(sks.contains("PHONE#CL"));
        assert!(sks.contains("INDUSTRY#TECHNOLOGY"));
        assert_eq!(
            items.len(),
            data.industries.len()
                + data.countries.len()
                + data.cities.len()
                + data.phone_codes.len()
        );
        // AND the first of each list reads back equal
        let find = |sk: String| items.iter().find(|i| i.sk == sk).expect("present");
        let i = &data.industries[0];
        assert_eq!(round_trip::<Industry>(find(keys::industry_sk(&i.name))), *i);
        let c = &data.countries[0];
        assert_eq!(round_trip::<Country>(find(keys::country_sk(&c.cca3))), *c);
        let c = &data.cities[0];
        assert_eq!(
            round_trip::<City>(find(keys::city_sk(&c.country, &c.name))),
            *c
        );
        let p = &data.phone_codes[0];
        assert_eq!(round_trip::<PhoneCode>(find(keys::phone_sk(&p.cca2))), *p);
    }

    #[test]
    fn the_api_key_records_keep_their_stored_json() {
        // GIVEN a pointer and a blocked flag
        let pointer = ApiKeyPointer {
            tenant: TenantId::new("t1"),
        };
        let blocked = Blocked { blocked: true };
        // WHEN they become items, THEN their JSON is what both backends store
        let p = ConfigItem::new("APIKEY#ab", "APIKEY", &pointer).expect("ok");
        let b = ConfigItem::new("T#t1", "BLOCKED", &blocked).expect("ok");
        assert_eq!(p.data, r#"{"tenant":"t1"}"#);
        assert_eq!(b.data, r#"{"blocked":true}"#);
        assert_eq!(round_trip::<ApiKeyPointer>(&p), pointer);
        assert_eq!(round_trip::<Blocked>(&b), blocked);
    }

    #[test]
    fn an_item_that_is_not_its_value_is_corrupt_and_names_its_key() {
        let bad = ConfigItem {
            pk: "T#t".into(),
            sk: "STAGE#x".into(),
            data: r#"{"code": 1}"#.into(),
        };
        assert!(matches!(
            ConfigOption::try_from(&bad),
            Err(StoreError::Corrupt(m)) if m.starts_with("STAGE#x: invalid type")
        ));
    }
}
