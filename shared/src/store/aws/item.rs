//! Conversions between DynamoDB items and domain values.
//!
//! Every item has the string attributes `pk`, `sk` and `data` (JSON text; see
//! the [module header](super)). Reading an item that lacks one of them, holds
//! another type, or whose `data` does not parse is [`StoreError::Corrupt`],
//! naming the item's keys.

use crate::model::Record;
use crate::store::kv::ConfigItem;
use crate::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// A DynamoDB item, as the SDK represents it.
pub type Item = HashMap<String, AttributeValue>;

/// The partition key attribute.
pub const PK: &str = "pk";
/// The sort key attribute.
pub const SK: &str = "sk";
/// The attribute holding the value's JSON text.
pub const DATA: &str = "data";

/// The primary key of one item: `{pk, sk}`.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk.into())),
        (SK.to_string(), AttributeValue::S(sk.into())),
    ])
}

/// A string attribute of an item.
///
/// # Errors
/// [`StoreError::Corrupt`] when the attribute is missing or not a string.
pub fn string_attr<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        Some(_) => Err(StoreError::Corrupt(format!(
            "{}: attribute '{name}' is not a string",
            describe(item)
        ))),
        None => Err(StoreError::Corrupt(format!(
            "{}: attribute '{name}' is missing",
            describe(item)
        ))),
    }
}

/// `pk/sk` of an item, for error messages (`?` where unreadable).
fn describe(item: &Item) -> String {
    let part = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.as_str(),
        _ => "?",
    };
    format!("{}/{}", part(PK), part(SK))
}

/// A record about to be written to the Entities table, in partition `pk`.
#[derive(Debug, Clone, Copy)]
pub struct EntityItem<'a> {
    /// `T#{tenant}#{entity}#{shard}`, from [`crate::store::keys::entity_pk`].
    pub pk: &'a str,
    pub record: &'a Record,
}

impl TryFrom<EntityItem<'_>> for Item {
    type Error = StoreError;

    /// `{pk, sk: id, data: JSON of the record's fields}`.
    fn try_from(entity: EntityItem<'_>) -> Result<Self, StoreError> {
        let data = serde_json::to_string(&entity.record.data)
            .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", entity.pk, entity.record.id)))?;
        let mut item = key(entity.pk, entity.record.id.clone());
        item.insert(DATA.to_string(), AttributeValue::S(data));
        Ok(item)
    }
}

impl TryFrom<&Item> for Record {
    type Error = StoreError;

    /// The record of an Entities item: the id is the sort key, the fields are
    /// the JSON object in `data`.
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let id = string_attr(item, SK)?;
        let data = string_attr(item, DATA)?;
        let map: Map<String, Json> = serde_json::from_str(data)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", describe(item))))?;
        Ok(Record::new(id, map))
    }
}

impl From<ConfigItem> for Item {
    fn from(config: ConfigItem) -> Self {
        let mut item = key(config.pk, config.sk);
        item.insert(DATA.to_string(), AttributeValue::S(config.data));
        item
    }
}

impl TryFrom<&Item> for ConfigItem {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(ConfigItem {
            pk: string_attr(item, PK)?.to_string(),
            sk: string_attr(item, SK)?.to_string(),
            data: string_attr(item, DATA)?.to_string(),
        })
    }
}

/// One item by key, read consistently; `None` when absent.
///
/// # Errors
/// When DynamoDB fails.
pub async fn get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: impl Into<String>,
    sk: &str,
) -> Result<Option<Item>, StoreError> {
    Ok(client
        .get_item()
        .table_name(table)
        .set_key(Some(key(pk, sk)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| StoreError::backend(format!("get {table} {sk}"), e))?
        .item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ConfigOption, CustomFieldDef, EntityKind, OptionKind, TenantId, TenantSettings,
    };
    use crate::store::keys;
    use serde_json::json;

    fn record(id: &str, data: Json) -> Record {
        match data {
            Json::Object(map) => Record::new(id, map),
            other => panic!("not an object: {other}"),
        }
    }

    fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.into())
    }

    #[test]
    fn a_record_becomes_pk_sk_and_json_data_and_comes_back_equal() {
        let rec = record(
            "c-1",
            json!({"firstName": "Zoë", "netWorth": 1500.5, "big": 12345678901234567890u64,
                   "isActive": true, "nothing": null, "tags": ["a", {"b": 1}], "custom:cf_x": "=1+1"}),
        );
        let pk = keys::entity_pk(&TenantId::new("T1"), EntityKind::Contacts, 3);
        let item = Item::try_from(EntityItem {
            pk: &pk,
            record: &rec,
        })
        .expect("serialises");
        assert_eq!(item.len(), 3);
        assert_eq!(item[PK], s("T#t1#CONTACT#3"));
        assert_eq!(item[SK], s("c-1"));
        let data: Json = serde_json::from_str(item[DATA].as_s().expect("string")).expect("JSON");
        assert_eq!(data["firstName"], "Zoë");
        assert_eq!(data["id"], "c-1");
        assert_eq!(Record::try_from(&item).expect("parses"), rec);
    }

    #[test]
    fn the_sort_key_is_the_id_whatever_data_says() {
        let item = HashMap::from([
            (PK.into(), s("T#t#CONTACT#0")),
            (SK.into(), s("c-9")),
            (DATA.into(), s(r#"{"id":"other","firstName":"A"}"#)),
        ]);
        let rec = Record::try_from(&item).expect("parses");
        assert_eq!(rec.id, "c-9");
        assert_eq!(rec.get("id"), "c-9");
        assert_eq!(rec.get("firstName"), "A");
    }

    #[test]
    fn broken_entity_items_are_corrupt_and_named() {
        let base = HashMap::from([
            (PK.to_string(), s("T#t#CONTACT#0")),
            (SK.to_string(), s("c-1")),
            (DATA.to_string(), s("{}")),
        ]);
        let cases: Vec<(Item, &str)> = vec![
            (
                {
                    let mut i = base.clone();
                    i.remove(DATA);
                    i
                },
                "T#t#CONTACT#0/c-1: attribute 'data' is missing",
            ),
            (
                {
                    let mut i = base.clone();
                    i.insert(DATA.into(), AttributeValue::N("1".into()));
                    i
                },
                "attribute 'data' is not a string",
            ),
            (
                {
                    let mut i = base.clone();
                    i.insert(DATA.into(), s("[1,2]"));
                    i
                },
                "T#t#CONTACT#0/c-1: invalid type",
            ),
            (
                {
                    let mut i = base.clone();
                    i.insert(DATA.into(), s("{not json"));
                    i
                },
                "T#t#CONTACT#0/c-1: key must be a string",
            ),
            (
                {
                    let mut i = base.clone();
                    i.remove(SK);
                    i
                },
                "T#t#CONTACT#0/?: attribute 'sk' is missing",
            ),
        ];
        for (item, expected) in cases {
            match Record::try_from(&item) {
                Err(StoreError::Corrupt(msg)) => {
                    assert!(msg.contains(expected), "{msg:?} lacks {expected:?}")
                }
                other => panic!("expected Corrupt({expected}), got {other:?}"),
            }
        }
    }

    #[test]
    fn config_values_round_trip_through_items() {
        let t = TenantId::new("t");
        let (settings, def, option) = crate::store::kv::records::samples();

        let item = Item::from(
            ConfigItem::new(keys::tenant_pk(&t), keys::SETTINGS_SK, &settings).expect("ok"),
        );
        assert_eq!(item[PK], s("T#t"));
        assert_eq!(item[SK], s("SETTINGS"));
        let back = ConfigItem::try_from(&item).expect("ok");
        assert_eq!(back.value::<TenantSettings>().expect("ok"), settings);

        let sk = keys::custom_field_sk(def.entity, &def.uuid);
        let item = Item::from(ConfigItem::new(keys::tenant_pk(&t), sk, &def).expect("ok"));
        assert_eq!(item[SK], s("CF#ORG#u1"));
        let back = ConfigItem::try_from(&item).expect("ok");
        assert_eq!(back.value::<CustomFieldDef>().expect("ok"), def);

        let sk = keys::option_sk(OptionKind::Stages, &option.code);
        let item = Item::from(ConfigItem::new(keys::tenant_pk(&t), sk, &option).expect("ok"));
        assert_eq!(item[SK], s("STAGE#client"));
        let back = ConfigItem::try_from(&item).expect("ok");
        assert_eq!(back.value::<ConfigOption>().expect("ok"), option);
    }

    #[test]
    fn broken_config_items_are_corrupt() {
        let item = HashMap::from([(PK.to_string(), s("T#t")), (SK.to_string(), s("SETTINGS"))]);
        assert!(matches!(
            ConfigItem::try_from(&item),
            Err(StoreError::Corrupt(m)) if m == "T#t/SETTINGS: attribute 'data' is missing"
        ));
        let bad = ConfigItem {
            pk: "T#t".into(),
            sk: "STAGE#x".into(),
            data: r#"{"code": 1}"#.into(),
        };
        assert!(matches!(
            bad.value::<ConfigOption>(),
            Err(StoreError::Corrupt(m)) if m.starts_with("STAGE#x: invalid type")
        ));
    }
}
