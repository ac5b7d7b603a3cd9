//! A data directory made by the schema before the typed entity tables
//! (version 0: every record in one `entities (pk, sk, data)` table) is
//! migrated when opened, with nothing lost.
//!
//! `tests/fixtures/embedded-v1/` holds such a database, made by
//! `exports-local seed` of commit dc61376 (two tenants), and the CSV files
//! that build's `exports-local serve` answered to the request bodies beside
//! them. The migrated store must export the same bytes.

use chrono::TimeZone;
use exports_shared::api::tabular::parse_request;
use exports_shared::model::{EntityKind, TenantId};
use exports_shared::service::tabular::{export_with, ExportOptions};
use exports_shared::store::embedded::EmbeddedStore;
use exports_shared::store::EntitySource;
use std::path::PathBuf;

const TENANT: &str = "5b0e4c1e-0000-4000-8000-0000000000f1";
const OTHER: &str = "5b0e4c1e-0000-4000-8000-0000000000f2";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/embedded-v1")
        .join(name)
}

/// A copy of the fixture database in a fresh directory.
fn old_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        fixture("exports.sqlite3"),
        dir.path().join("exports.sqlite3"),
    )
    .expect("copy the fixture");
    dir
}

async fn export(store: &EmbeddedStore, name: &str, entity: EntityKind) -> Vec<u8> {
    let body = std::fs::read(fixture(&format!("{name}.json"))).expect("request body");
    let req = parse_request(&body).expect("a valid request");
    let now = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
    // The service call the sync-export handler makes, without a deployment
    // row cap.
    export_with(
        store,
        store,
        &TenantId::new(TENANT),
        entity,
        &req,
        now,
        ExportOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{name}: {e:?}"))
    .bytes
}

#[tokio::test]
async fn an_old_data_directory_exports_the_same_rows_after_migration() {
    // GIVEN a data directory written by the version-0 schema
    let dir = old_data_dir();
    // WHEN it is opened (and so migrated), twice
    for _ in 0..2 {
        let store = EmbeddedStore::open(dir.path()).expect("open and migrate");
        // THEN every export gives the bytes the old build gave
        for (name, entity) in [
            ("contacts-all", EntityKind::Contacts),
            ("contacts-filtered", EntityKind::Contacts),
            ("contacts-custom", EntityKind::Contacts),
            ("organisations-all", EntityKind::Organisations),
            ("households-all", EntityKind::Households),
        ] {
            let got = export(&store, name, entity).await;
            let want = std::fs::read(fixture(&format!("{name}.csv"))).expect("expected CSV");
            assert!(
                got == want,
                "{name}: the migrated store exports other bytes\n--- got ---\n{}\n--- want ---\n{}",
                String::from_utf8_lossy(&got[..got.len().min(2000)]),
                String::from_utf8_lossy(&want[..want.len().min(2000)])
            );
        }
    }
}

#[tokio::test]
async fn migration_keeps_every_record_of_every_tenant_as_stored() {
    // GIVEN an old data directory and the records its table held
    let dir = old_data_dir();
    let old = rusqlite::Connection::open(dir.path().join("exports.sqlite3")).expect("open");
    let count_old = |needle: &str| -> i64 {
        old.query_row(
            "SELECT count(*) FROM entities WHERE pk LIKE ?1",
            [format!("T#{needle}#%")],
            |r| r.get(0),
        )
        .expect("count")
    };
    let (before_a, before_b) = (count_old(TENANT), count_old(OTHER));
    let sample: (String, String) = old
        .query_row(
            "SELECT sk, data FROM entities WHERE pk LIKE ?1 ORDER BY sk LIMIT 1",
            [format!("T#{OTHER}#CONTACT#%")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a record");
    drop(old);
    assert_eq!((before_a, before_b), (240 + 30 + 30, 50 + 5 + 5));

    // WHEN the store opens it
    let store = EmbeddedStore::open(dir.path()).expect("open and migrate");

    // THEN each tenant has every record, its JSON as it was stored
    for (tenant, want) in [(TENANT, before_a), (OTHER, before_b)] {
        let tenant = TenantId::new(tenant);
        let mut n = 0;
        for entity in [
            EntityKind::Contacts,
            EntityKind::Organisations,
            EntityKind::Households,
        ] {
            let mut cursor = None;
            loop {
                let page = store
                    .page(&tenant, entity, cursor, 100)
                    .await
                    .expect("page");
                for r in &page.records {
                    n += 1;
                    if r.id == sample.0 {
                        let stored: serde_json::Map<String, serde_json::Value> =
                            serde_json::from_str(&sample.1).expect("json");
                        let mut stored = stored;
                        stored.insert("id".into(), serde_json::Value::String(sample.0.clone()));
                        assert_eq!(r.data, stored);
                    }
                }
                match page.next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        assert_eq!(n, want, "{tenant:?}");
    }
    // AND the old table is gone, the schema version recorded
    let conn = rusqlite::Connection::open(dir.path().join("exports.sqlite3")).expect("open");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    let old_tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'entities'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!((version, old_tables), (3, 0));
}
