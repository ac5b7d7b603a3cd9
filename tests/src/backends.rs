//! The backends the contract suite and the handler fixture run on: a fresh
//! embedded store in a temporary directory, or fresh DynamoDB tables in the
//! moto server that `make test` starts.
//!
//! The AWS backend needs `EXPORTS_MOTO_URL` (moto's endpoint). Without it an
//! AWS test fails with a message saying how to run it, unless
//! `EXPORTS_SKIP_AWS=1` says explicitly to skip the AWS tests. The tests talk
//! to that endpoint only, with dummy credentials, whatever `AWS_*` says: they
//! never reach a real account.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use exports_shared::store::aws::{DynamoExportLogs, DynamoStore};
use exports_shared::store::embedded::EmbeddedStore;
use exports_shared::store::{
    EntitySource, EntityWriter, ExportLogStore, ReferenceStore, TenantConfigStore,
};
use std::sync::Arc;

/// moto's endpoint URL, written by `infra/moto/start.sh` and exported by `make unit`.
pub const MOTO_URL_VAR: &str = "EXPORTS_MOTO_URL";
/// Set to `1` to skip the AWS tests on purpose.
pub const SKIP_AWS_VAR: &str = "EXPORTS_SKIP_AWS";
/// The region the tests use with moto.
pub const MOTO_REGION: &str = "us-east-1";

/// The tables `infra/moto/create-resources.py` creates by default.
pub const PROVISIONED_ENTITIES_TABLE: &str = "exports-entities";
pub const PROVISIONED_CONFIG_TABLE: &str = "exports-tenant-config";
pub const PROVISIONED_EXPORTS_TABLE: &str = "exports-exports";

/// Every storage trait at once: what the contract cases and fixtures need.
pub trait Store: EntitySource + EntityWriter + TenantConfigStore + ReferenceStore {}
impl<T: EntitySource + EntityWriter + TenantConfigStore + ReferenceStore + ?Sized> Store for T {}

/// A store under test and whatever must live as long as it.
pub struct TestStore<S> {
    pub store: Arc<S>,
    _dir: Option<tempfile::TempDir>,
}

impl<S> TestStore<S> {
    /// A store that lives as long as `dir`.
    pub fn with_dir(store: Arc<S>, dir: tempfile::TempDir) -> Self {
        TestStore {
            store,
            _dir: Some(dir),
        }
    }

    /// The store.
    pub fn get(&self) -> &S {
        &self.store
    }
}

/// A fresh embedded store in a temporary directory. Always `Some`; an
/// `Option` like [`aws`], so one macro instantiates the suite for both.
pub async fn embedded() -> Option<TestStore<EmbeddedStore>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open the embedded store");
    Some(TestStore {
        store: Arc::new(store),
        _dir: Some(dir),
    })
}

/// A [`DynamoStore`] over fresh, uniquely named tables in moto, so tests
/// run in parallel without seeing each other's items. Its config lists are
/// read two items per `Query`, so every list also tests pagination.
/// `None` when `EXPORTS_SKIP_AWS=1`.
///
/// # Panics
/// When `EXPORTS_MOTO_URL` is not set (and the AWS tests are not skipped), or
/// moto does not answer.
pub async fn aws() -> Option<TestStore<DynamoStore>> {
    let url = moto_url()?;
    let client = moto_client(&url).await;
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let entities = format!("{prefix}-entities");
    let config = format!("{prefix}-tenant-config");
    for table in [&entities, &config] {
        create_table(&client, table).await;
    }
    Some(TestStore {
        store: Arc::new(DynamoStore::new(client, entities, config).with_config_page_size(2)),
        _dir: None,
    })
}

/// moto's endpoint; `None` when the AWS tests are skipped on purpose.
///
/// # Panics
/// When neither `EXPORTS_MOTO_URL` nor `EXPORTS_SKIP_AWS=1` is set.
pub fn moto_url() -> Option<String> {
    if let Some(url) = std::env::var(MOTO_URL_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return Some(url.trim().to_string());
    }
    if std::env::var(SKIP_AWS_VAR).as_deref() == Ok("1") {
        eprintln!("skipping an AWS test: {SKIP_AWS_VAR}=1");
        return None;
    }
    panic!(
        "{MOTO_URL_VAR} is not set, so the AWS backend tests cannot reach moto. \
         Run them with `make unit` (it starts moto), or start moto with \
         `infra/moto/start.sh` and run `{MOTO_URL_VAR}=$(cat target/moto.url) cargo test`. \
         To skip the AWS tests on purpose, set {SKIP_AWS_VAR}=1."
    );
}

/// The SDK configuration for moto at `url`: that endpoint, `us-east-1`,
/// dummy static credentials; nothing read from the environment.
pub async fn moto_sdk_config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new(MOTO_REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// A DynamoDB client for moto at `url`.
pub async fn moto_client(url: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&moto_sdk_config(url).await)
}

/// Creates an on-demand table with the design's keys: `pk` (S, hash) and
/// `sk` (S, range), as `infra/moto/create-resources.py` does.
///
/// # Panics
/// When moto refuses.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition")
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .expect("key schema element")
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {name} in moto: {e:?}"));
}

/// An export-log store under test and whatever must live as long as it.
pub struct TestLogs {
    pub logs: Arc<dyn ExportLogStore>,
    _dir: Option<tempfile::TempDir>,
}

impl TestLogs {
    /// The store.
    pub fn get(&self) -> &dyn ExportLogStore {
        self.logs.as_ref()
    }
}

/// Export logs in a fresh embedded store. Always `Some`.
pub async fn embedded_logs() -> Option<TestLogs> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open the embedded store");
    Some(TestLogs {
        logs: Arc::new(store),
        _dir: Some(dir),
    })
}

/// Export logs in a fresh, uniquely named Exports table in moto. `None` when
/// `EXPORTS_SKIP_AWS=1`.
///
/// # Panics
/// As [`aws`].
pub async fn aws_logs() -> Option<TestLogs> {
    let url = moto_url()?;
    let client = moto_client(&url).await;
    let table = format!("test-{}-exports", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await;
    Some(TestLogs {
        logs: Arc::new(DynamoExportLogs::new(client, table)),
        _dir: None,
    })
}
