//! `EXPORTS_BACKEND=aws` end to end: `Settings` from variables, then
//! `Backend::connect`, which loads the SDK configuration from the environment
//! once. It must honour `AWS_ENDPOINT_URL`, and so reach moto.
//!
//! This is the only test of its binary, and a plain `#[test]`: it sets the
//! process environment before any other thread exists, so that the SDK can
//! only ever reach moto, whatever the caller's `AWS_*` variables say.

use exports_shared::config::{Backend, BackendKind, Settings};
use exports_shared::model::{EntityKind, Record, TenantId, TenantSettings};
use exports_tests::backends::{
    moto_url, MOTO_REGION, PROVISIONED_CONFIG_TABLE, PROVISIONED_ENTITIES_TABLE,
};
use exports_tests::contract::{fresh_tenant, read_pages};
use std::collections::HashMap;

#[test]
fn the_aws_backend_from_the_environment_reaches_the_endpoint_url() {
    let Some(url) = moto_url() else {
        return;
    };
    // Single-threaded here: no other thread reads the environment.
    for (name, value) in [
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_REGION", MOTO_REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ] {
        std::env::set_var(name, value);
    }
    for name in [
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ] {
        std::env::remove_var(name);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(check(&url));
}

async fn check(url: &str) {
    let vars = HashMap::from([
        ("EXPORTS_BACKEND", "aws"),
        ("EXPORTS_ENTITIES_TABLE", PROVISIONED_ENTITIES_TABLE),
        ("EXPORTS_CONFIG_TABLE", PROVISIONED_CONFIG_TABLE),
        ("EXPORTS_BUCKET", "exports-files"),
    ]);
    let settings =
        Settings::from_lookup(|name| vars.get(name).map(|v| v.to_string())).expect("settings");
    assert!(
        matches!(&settings.backend, BackendKind::Aws(aws) if aws.bucket.as_deref() == Some("exports-files"))
    );
    let backend = Backend::connect(&settings).await.expect("connect");
    let sdk = backend
        .aws_config()
        .expect("the AWS backend keeps its SDK config");
    assert_eq!(
        sdk.endpoint_url(),
        Some(url),
        "AWS_ENDPOINT_URL is honoured"
    );

    // The provisioned tables answer through the trait objects.
    let tenant: TenantId = fresh_tenant("env");
    let settings = TenantSettings {
        shards: 2,
        ..TenantSettings::default()
    };
    let config = backend.tenant_config();
    config
        .put_settings(&tenant, &settings)
        .await
        .expect("put settings in moto");
    assert_eq!(config.settings(&tenant).await.expect("settings"), settings);
    let records: Vec<Record> = (0..30)
        .map(|i| Record::new(format!("e-{i:02}"), serde_json::Map::new()))
        .collect();
    backend
        .entity_writer()
        .put_records(&tenant, EntityKind::Contacts, records)
        .await
        .expect("put records in moto");
    let pages = read_pages(
        backend.entities().as_ref(),
        &tenant,
        EntityKind::Contacts,
        7,
    )
    .await;
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 30);
}
