//! The storage contract, written once over the traits and run on every
//! backend: `tests/contract_embedded.rs` and `tests/contract_aws.rs` each
//! instantiate [`contract_suite!`](crate::contract_suite) with their backend.
//!
//! Every case makes its own tenants (random ids), so cases can share a store
//! and run in parallel.

use crate::backends::Store;
use exports_shared::model::{
    ConfigOption, CustomFieldDef, EntityKind, FieldType, OptionKind, Record, TenantId,
    TenantSettings,
};
use exports_shared::store::{EntitySource, Page, PageCursor, StoreError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// Instantiates every contract case as a `#[tokio::test]` over a backend:
/// `$backend` is an `async fn() -> Option<TestStore<S>>` such as
/// [`crate::backends::embedded`]; `None` skips the case.
#[macro_export]
macro_rules! contract_suite {
    ($backend:path) => {
        $crate::contract_suite!(@cases $backend;
            pages_stream_and_cover_every_record,
            pages_of_every_size_cover_every_record_once,
            tenants_and_entities_are_isolated,
            put_records_upserts,
            settings_default_when_absent_and_round_trip,
            custom_fields_are_per_entity_and_ordered,
            options_are_ordered_by_sort_order_then_code,
            a_bad_cursor_is_rejected,
        );
    };
    (@cases $backend:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(backend) = $backend().await else {
                    return;
                };
                $crate::contract::$case(backend.get()).await;
            }
        )*
    };
}

/// A tenant no other test uses.
pub fn fresh_tenant(label: &str) -> TenantId {
    TenantId::new(format!("contract-{label}-{}", uuid::Uuid::new_v4()))
}

fn record(id: &str, data: Value) -> Record {
    match data {
        Value::Object(map) => Record::new(id, map),
        other => panic!("record data must be an object, not {other}"),
    }
}

/// A record with varied JSON: text with unicode and formula characters,
/// numbers, booleans, null, nesting, a custom field.
fn varied(id: &str, i: usize, tag: &str) -> Record {
    record(
        id,
        json!({
            "firstName": format!("Zoë-{i}"),
            "paternalLastName": if i.is_multiple_of(7) { "=1+1".to_string() } else { format!("Muñoz {i}") },
            "netWorth": (i as f64) * 1.5 - 100.0,
            "memberCount": i,
            "isActive": i.is_multiple_of(2),
            "birthDate": if i.is_multiple_of(3) { Value::Null } else { json!("1990-01-31") },
            "custom:cf_00000000-0000-4000-8000-000000000001": {"nested": [i, "x"]},
            "tag": tag,
        }),
    )
}

async fn set_shards<S: Store + ?Sized>(store: &S, tenant: &TenantId, shards: u32) {
    store
        .put_settings(
            tenant,
            &TenantSettings {
                shards,
                ..TenantSettings::default()
            },
        )
        .await
        .expect("put settings");
}

/// Reads every page of `tenant`'s `entity`, `limit` records at a time.
pub async fn read_pages<S: EntitySource + ?Sized>(
    store: &S,
    tenant: &TenantId,
    entity: EntityKind,
    limit: usize,
) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut cursor: Option<PageCursor> = None;
    loop {
        let page = store
            .page(tenant, entity, cursor.take(), limit)
            .await
            .expect("page");
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(
            pages.len() <= 100_000,
            "paging does not end ({} pages)",
            pages.len()
        );
    }
}

/// Every record of every page, checking that no id comes twice.
fn records_once(pages: Vec<Page>) -> BTreeMap<String, Record> {
    let mut all = BTreeMap::new();
    for record in pages.into_iter().flat_map(|p| p.records) {
        let id = record.id.clone();
        assert!(all.insert(id.clone(), record).is_none(), "{id} came twice");
    }
    all
}

fn by_id(records: Vec<Record>) -> BTreeMap<String, Record> {
    records.into_iter().map(|r| (r.id.clone(), r)).collect()
}

/// 2,537 records over 4 shards, read 100 at a time: every record exactly
/// once and as written, no page over the limit, and no more pages than the
/// records need plus one per shard.
pub async fn pages_stream_and_cover_every_record<S: Store + ?Sized>(store: &S) {
    let tenant = fresh_tenant("paging");
    set_shards(store, &tenant, 4).await;
    let written: Vec<Record> = (0..2537)
        .map(|i| varied(&format!("c-{i:05}"), i, "A"))
        .collect();
    store
        .put_records(&tenant, EntityKind::Contacts, written.clone())
        .await
        .expect("put records");

    let pages = read_pages(store, &tenant, EntityKind::Contacts, 100).await;
    let sizes: Vec<usize> = pages.iter().map(|p| p.records.len()).collect();
    assert!(
        sizes.iter().all(|&n| n <= 100),
        "a page over the limit: {sizes:?}"
    );
    assert!(
        pages.len() <= 2537_usize.div_ceil(100) + 4,
        "{} pages for 2,537 records: {sizes:?}",
        pages.len()
    );
    assert_eq!(records_once(pages), by_id(written));
}

/// Small tenants read at every page size, including sizes that end a page
/// exactly at the end of a shard or of the tenant.
pub async fn pages_of_every_size_cover_every_record_once<S: Store + ?Sized>(store: &S) {
    let tenant = fresh_tenant("sizes");
    set_shards(store, &tenant, 3).await;
    let written: Vec<Record> = (0..23)
        .map(|i| varied(&format!("h-{i:02}"), i, "A"))
        .collect();
    store
        .put_records(&tenant, EntityKind::Households, written.clone())
        .await
        .expect("put records");
    for limit in [1, 2, 3, 5, 7, 8, 11, 22, 23, 24, 1000] {
        let pages = read_pages(store, &tenant, EntityKind::Households, limit).await;
        let sizes: Vec<usize> = pages.iter().map(|p| p.records.len()).collect();
        assert!(
            sizes.iter().all(|&n| n <= limit),
            "limit {limit}: {sizes:?}"
        );
        assert!(
            pages.len() <= 23_usize.div_ceil(limit) + 3,
            "limit {limit}: {sizes:?}"
        );
        assert_eq!(records_once(pages), by_id(written.clone()), "limit {limit}");
    }

    // A tenant without records: one empty, final page.
    let empty = read_pages(store, &fresh_tenant("empty"), EntityKind::Households, 10).await;
    assert_eq!(empty.len(), 1);
    assert!(empty[0].records.is_empty() && empty[0].next.is_none());
}

/// The same ids in two tenants stay two records; a tenant's pages never hold
/// another tenant's records, nor another entity's.
pub async fn tenants_and_entities_are_isolated<S: Store + ?Sized>(store: &S) {
    let a = fresh_tenant("a");
    let b = fresh_tenant("b");
    set_shards(store, &a, 2).await;
    let ids: Vec<String> = (0..40).map(|i| format!("x-{i:02}")).collect();
    let of = |tag: &str| -> Vec<Record> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| varied(id, i, tag))
            .collect()
    };
    store
        .put_records(&a, EntityKind::Contacts, of("A"))
        .await
        .expect("put A");
    store
        .put_records(&b, EntityKind::Contacts, of("B"))
        .await
        .expect("put B");
    store
        .put_records(&a, EntityKind::Organisations, of("A-org"))
        .await
        .expect("put A orgs");

    for (tenant, entity, tag) in [
        (&a, EntityKind::Contacts, "A"),
        (&b, EntityKind::Contacts, "B"),
        (&a, EntityKind::Organisations, "A-org"),
    ] {
        for limit in [7, 100] {
            let pages = read_pages(store, tenant, entity, limit).await;
            for page in &pages {
                assert!(
                    page.records.iter().all(|r| r.get("tag") == tag),
                    "{tenant}/{entity:?} page has another tenant's or entity's records"
                );
            }
            let got = records_once(pages);
            assert_eq!(got, by_id(of(tag)), "{tenant}/{entity:?}");
        }
    }
    let none = read_pages(store, &b, EntityKind::Organisations, 10).await;
    assert!(none.iter().all(|p| p.records.is_empty()));
    // B's settings are its own: the defaults, not A's.
    assert_eq!(
        store.settings(&b).await.expect("settings"),
        TenantSettings::default()
    );
    assert_eq!(store.settings(&a).await.expect("settings").shards, 2);
}

/// Writing an id again replaces the record, within one call or across calls.
pub async fn put_records_upserts<S: Store + ?Sized>(store: &S) {
    let tenant = fresh_tenant("upsert");
    let first: Vec<Record> = (0..30)
        .map(|i| varied(&format!("u-{i:02}"), i, "v1"))
        .collect();
    store
        .put_records(&tenant, EntityKind::Contacts, first)
        .await
        .expect("put v1");
    // u-03 twice in one call: the last one wins.
    let second = vec![
        varied("u-03", 3, "v2-first"),
        varied("u-10", 10, "v2"),
        varied("u-03", 3, "v2-last"),
        varied("u-99", 99, "v2"),
    ];
    store
        .put_records(&tenant, EntityKind::Contacts, second)
        .await
        .expect("put v2");
    store
        .put_records(&tenant, EntityKind::Contacts, Vec::new())
        .await
        .expect("an empty put is fine");

    let got = records_once(read_pages(store, &tenant, EntityKind::Contacts, 8).await);
    assert_eq!(got.len(), 31);
    assert_eq!(got["u-03"].get("tag"), "v2-last");
    assert_eq!(got["u-10"].get("tag"), "v2");
    assert_eq!(got["u-99"].get("tag"), "v2");
    assert_eq!(got["u-11"].get("tag"), "v1");
    assert_eq!(got["u-03"], varied("u-03", 3, "v2-last"));
}

/// Absent settings are the defaults; stored ones come back as written and
/// are replaced by the next write.
pub async fn settings_default_when_absent_and_round_trip<S: Store + ?Sized>(store: &S) {
    let tenant = fresh_tenant("settings");
    assert_eq!(
        store.settings(&tenant).await.expect("settings"),
        TenantSettings::default()
    );
    let custom = TenantSettings {
        sync_row_limit: 3,
        shards: 7,
        locale: Some("es-CL".into()),
        timezone: Some("America/Santiago".into()),
    };
    store
        .put_settings(&tenant, &custom)
        .await
        .expect("put settings");
    assert_eq!(store.settings(&tenant).await.expect("settings"), custom);
    store
        .put_settings(&tenant, &TenantSettings::default())
        .await
        .expect("put settings");
    assert_eq!(
        store.settings(&tenant).await.expect("settings"),
        TenantSettings::default()
    );
    assert_eq!(
        store
            .settings(&fresh_tenant("other"))
            .await
            .expect("settings"),
        TenantSettings::default()
    );
}

fn field(uuid: &str, entity: EntityKind, key: &str, form: Option<&str>) -> CustomFieldDef {
    CustomFieldDef {
        uuid: uuid.into(),
        entity,
        key: key.into(),
        label: format!("Label of {key}"),
        field_type: FieldType::String,
        form_uuid: form.map(str::to_string),
    }
}

/// Custom fields are listed per entity, ordered by key then uuid, and a
/// definition written again is replaced, not repeated.
pub async fn custom_fields_are_per_entity_and_ordered<S: Store + ?Sized>(store: &S) {
    let tenant = fresh_tenant("fields");
    let contacts = [
        field("u-9", EntityKind::Contacts, "alpha", None),
        field("u-5", EntityKind::Contacts, "risk", Some("form-review")),
        field("u-1", EntityKind::Contacts, "score", None),
        field("u-2", EntityKind::Contacts, "risk", Some("form-onboarding")),
        field("u-7", EntityKind::Contacts, "beta", None),
    ];
    for def in &contacts {
        store
            .put_custom_field(&tenant, def)
            .await
            .expect("put field");
    }
    let tier = field("u-3", EntityKind::Organisations, "tier", None);
    store
        .put_custom_field(&tenant, &tier)
        .await
        .expect("put field");
    // Relabel one: replaced in place.
    let mut relabelled = contacts[2].clone();
    relabelled.label = "Score (new)".into();
    store
        .put_custom_field(&tenant, &relabelled)
        .await
        .expect("put field");

    let got = store
        .custom_fields(&tenant, EntityKind::Contacts)
        .await
        .expect("fields");
    let order: Vec<(&str, &str)> = got
        .iter()
        .map(|d| (d.key.as_str(), d.uuid.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("alpha", "u-9"),
            ("beta", "u-7"),
            ("risk", "u-2"),
            ("risk", "u-5"),
            ("score", "u-1")
        ]
    );
    assert_eq!(got[4], relabelled);
    assert_eq!(got[2], contacts[3]);
    assert_eq!(
        store
            .custom_fields(&tenant, EntityKind::Organisations)
            .await
            .expect("fields"),
        [tier]
    );
    assert!(store
        .custom_fields(&tenant, EntityKind::Households)
        .await
        .expect("fields")
        .is_empty());
    assert!(store
        .custom_fields(&fresh_tenant("other"), EntityKind::Contacts)
        .await
        .expect("fields")
        .is_empty());
}

fn option(code: &str, sort_order: i64) -> ConfigOption {
    ConfigOption {
        code: code.into(),
        display_name: format!("Name of {code}"),
        enabled: true,
        deleted: false,
        sort_order,
        created_at: "2024-01-01T00:00:00Z".into(),
        updated_at: "2024-01-01T00:00:00Z".into(),
    }
}

/// Option lists are per kind, ordered by `sortOrder` then code, and an
/// option written again is replaced.
pub async fn options_are_ordered_by_sort_order_then_code<S: Store + ?Sized>(store: &S) {
    let tenant = fresh_tenant("options");
    for (code, order) in [("b", 3), ("z", 1), ("a", 3), ("m", 2), ("c", -1), ("y", 2)] {
        store
            .put_option(&tenant, OptionKind::Stages, &option(code, order))
            .await
            .expect("put option");
    }
    store
        .put_option(&tenant, OptionKind::Sources, &option("web", 1))
        .await
        .expect("put option");
    let mut disabled = option("m", 2);
    disabled.enabled = false;
    store
        .put_option(&tenant, OptionKind::Stages, &disabled)
        .await
        .expect("put option");

    let stages = store
        .options(&tenant, OptionKind::Stages)
        .await
        .expect("options");
    let codes: Vec<&str> = stages.iter().map(|o| o.code.as_str()).collect();
    assert_eq!(codes, ["c", "z", "m", "y", "a", "b"]);
    assert_eq!(stages[2], disabled);
    assert_eq!(
        store
            .options(&tenant, OptionKind::Sources)
            .await
            .expect("options"),
        [option("web", 1)]
    );
    assert!(store
        .options(&tenant, OptionKind::Segments)
        .await
        .expect("options")
        .is_empty());
}

/// A cursor that is not one of ours is `StoreError::BadCursor`.
pub async fn a_bad_cursor_is_rejected<S: Store + ?Sized>(store: &S) {
    let tenant = fresh_tenant("cursor");
    store
        .put_records(
            &tenant,
            EntityKind::Contacts,
            (0..5).map(|i| varied(&format!("k-{i}"), i, "A")).collect(),
        )
        .await
        .expect("put records");
    for bad in [
        "", "garbage", "4", "4|1", "4|4|k-1", "0|0|", "x|0|k-1", "4|-1|k-1",
    ] {
        let got = store
            .page(
                &tenant,
                EntityKind::Contacts,
                Some(PageCursor(bad.into())),
                10,
            )
            .await;
        assert!(
            matches!(got, Err(StoreError::BadCursor)),
            "{bad:?} gave {:?}",
            got.map(|p| p.records.len())
        );
    }
    // A real cursor still works after the bad ones.
    let first = store
        .page(&tenant, EntityKind::Contacts, None, 2)
        .await
        .expect("page");
    let mut ids: HashSet<String> = first.records.iter().map(|r| r.id.clone()).collect();
    let mut cursor = first.next;
    while let Some(next) = cursor {
        let page = store
            .page(&tenant, EntityKind::Contacts, Some(next), 2)
            .await
            .expect("page");
        ids.extend(page.records.iter().map(|r| r.id.clone()));
        cursor = page.next;
    }
    assert_eq!(ids.len(), 5);
}
