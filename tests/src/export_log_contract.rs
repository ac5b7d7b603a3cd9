//! The [`ExportLogStore`] contract, run on both backends:
//! `tests/contract_embedded.rs` and `tests/contract_aws.rs` instantiate
//! [`export_log_contract_suite!`](crate::export_log_contract_suite).

use crate::contract::fresh_tenant;
use chrono::{TimeZone, Utc};
use exports_shared::store::{ExportLog, ExportLogStore, StoreError};
use serde_json::json;

/// Instantiates every export-log case over a backend: `$backend` is an
/// `async fn() -> Option<TestLogs>`; `None` skips the case.
#[macro_export]
macro_rules! export_log_contract_suite {
    ($backend:path) => {
        $crate::export_log_contract_suite!(@cases $backend;
            logs_round_trip_every_field,
            a_second_put_of_one_id_is_refused,
            logs_are_tenant_scoped,
            mark_exported_updates_export_at_only_of_existing_logs,
        );
    };
    (@cases $backend:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(backend) = $backend().await else {
                    return;
                };
                $crate::export_log_contract::$case(backend.get()).await;
            }
        )*
    };
}

/// A log with distinct timestamps, so a swapped field shows.
pub fn sample_log(id: &str, user: &str) -> ExportLog {
    ExportLog {
        id: id.into(),
        user_id: user.into(),
        params: json!({"filter": "{\"status\":\"active\",\"city\":\"Ñuñoa\"}"}),
        created_at: Utc.with_ymd_and_hms(2022, 1, 12, 17, 18, 7).unwrap(),
        updated_at: Utc.with_ymd_and_hms(2022, 1, 12, 17, 18, 8).unwrap(),
        export_at: Utc.with_ymd_and_hms(2022, 1, 12, 17, 18, 9).unwrap(),
        updated_in_db_at: Utc.with_ymd_and_hms(2021, 12, 31, 23, 59, 59).unwrap(),
    }
}

pub async fn logs_round_trip_every_field(store: &dyn ExportLogStore) {
    // GIVEN a stored log
    let tenant = fresh_tenant("logs-rt");
    let log = sample_log("l-1", "u-1");
    store.put_log(&tenant, &log).await.expect("put");
    // WHEN it is read back
    let got = store.get_log(&tenant, "l-1").await.expect("get");
    // THEN every field is as written, and an absent id is None
    assert_eq!(got, Some(log));
    assert_eq!(store.get_log(&tenant, "l-2").await.expect("get"), None);
}

pub async fn a_second_put_of_one_id_is_refused(store: &dyn ExportLogStore) {
    // GIVEN a stored log
    let tenant = fresh_tenant("logs-dup");
    let first = sample_log("l-1", "u-1");
    store.put_log(&tenant, &first).await.expect("put");
    // WHEN another log with the same id is put
    let second = sample_log("l-1", "u-2");
    let got = store.put_log(&tenant, &second).await;
    // THEN it is refused and the first is kept
    assert!(matches!(got, Err(StoreError::AlreadyExists(_))), "{got:?}");
    assert_eq!(
        store.get_log(&tenant, "l-1").await.expect("get"),
        Some(first)
    );
}

pub async fn logs_are_tenant_scoped(store: &dyn ExportLogStore) {
    // GIVEN the same id in two tenants
    let (a, b) = (fresh_tenant("logs-a"), fresh_tenant("logs-b"));
    store
        .put_log(&a, &sample_log("l-1", "ua"))
        .await
        .expect("put a");
    store
        .put_log(&b, &sample_log("l-1", "ub"))
        .await
        .expect("put b");
    let c = fresh_tenant("logs-c");
    // THEN each tenant sees only its own, and a third tenant sees none
    let got_a = store
        .get_log(&a, "l-1")
        .await
        .expect("get")
        .expect("a's log");
    let got_b = store
        .get_log(&b, "l-1")
        .await
        .expect("get")
        .expect("b's log");
    assert_eq!(
        (got_a.user_id.as_str(), got_b.user_id.as_str()),
        ("ua", "ub")
    );
    assert_eq!(store.get_log(&c, "l-1").await.expect("get"), None);
    // AND marking in one tenant leaves the other alone
    let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    assert!(store
        .mark_exported(&c, "l-1", at)
        .await
        .expect("mark")
        .is_none());
    store.mark_exported(&a, "l-1", at).await.expect("mark");
    assert_eq!(store.get_log(&b, "l-1").await.expect("get"), Some(got_b));
}

pub async fn mark_exported_updates_export_at_only_of_existing_logs(store: &dyn ExportLogStore) {
    // GIVEN a stored log
    let tenant = fresh_tenant("logs-mark");
    let log = sample_log("l-1", "u-1");
    store.put_log(&tenant, &log).await.expect("put");
    // WHEN it is marked exported, twice
    let first = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let second = Utc.with_ymd_and_hms(2026, 11, 22, 11, 0, 0).unwrap();
    store
        .mark_exported(&tenant, "l-1", first)
        .await
        .expect("mark");
    let returned = store
        .mark_exported(&tenant, "l-1", second)
        .await
        .expect("mark")
        .expect("exists");
    // THEN export_at and updated_at are the last time, the rest unchanged
    let stored = store
        .get_log(&tenant, "l-1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(returned, stored);
    assert_eq!(stored.export_at, second);
    assert_eq!(stored.updated_at, second);
    assert_eq!(
        ExportLog {
            export_at: log.export_at,
            updated_at: log.updated_at,
            ..stored
        },
        log
    );
    // AND marking an absent log creates nothing
    assert!(store
        .mark_exported(&tenant, "nope", second)
        .await
        .expect("mark")
        .is_none());
    assert_eq!(store.get_log(&tenant, "nope").await.expect("get"), None);
}
