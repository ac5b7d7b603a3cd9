//! The PostgreSQL entity source under test: the private server `make test`
//! starts (`infra/postgres/start.sh`), its URL in `EXPORTS_TEST_DATABASE_URL`.
//!
//! Without that variable a PostgreSQL test fails with a message saying how
//! to run it, unless `EXPORTS_SKIP_PG=1` says explicitly to skip them.
//! Every test migrates the schema (idempotent, under an advisory lock) and
//! uses fresh tenants, so tests share one database and run in parallel.
//!
//! [`PgBacked`] is what a deployment with `EXPORTS_ENTITY_SOURCE=postgres`
//! is: entities from PostgreSQL, tenant configuration and reference data
//! from the backend's own store (here, an embedded one).

use crate::backends::TestStore;
use async_trait::async_trait;
use exports_shared::model::{
    City, ConfigOption, Country, CustomFieldDef, EntityKind, Industry, OptionKind, PhoneCode,
    Record, ReferenceData, TenantId, TenantSettings, Value,
};
use exports_shared::query::{EntityQuery, QueryAnswer};
use exports_shared::store::embedded::EmbeddedStore;
use exports_shared::store::postgres::{migrate, PgOptions, PgStore};
use exports_shared::store::{
    EntitySource, EntityWriter, Page, PageCursor, RecordLoad, ReferenceStore, StoreError,
    TenantConfigStore,
};
use std::sync::Arc;
use std::time::Duration;

/// The test server's URL, written by `infra/postgres/start.sh` and exported by `make unit`.
pub const PG_URL_VAR: &str = "EXPORTS_TEST_DATABASE_URL";
/// Set to `1` to skip the PostgreSQL tests on purpose.
pub const SKIP_PG_VAR: &str = "EXPORTS_SKIP_PG";

/// The server's URL; `None` when the PostgreSQL tests are skipped on purpose.
///
/// # Panics
/// When neither `EXPORTS_TEST_DATABASE_URL` nor `EXPORTS_SKIP_PG=1` is set.
pub fn pg_url() -> Option<String> {
    if let Some(url) = std::env::var(PG_URL_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return Some(url.trim().to_string());
    }
    if std::env::var(SKIP_PG_VAR).as_deref() == Ok("1") {
        eprintln!("skipping a PostgreSQL test: {SKIP_PG_VAR}=1");
        return None;
    }
    panic!(
        "{PG_URL_VAR} is not set, so the PostgreSQL tests cannot reach a server. \
         Run them with `make unit` (it starts one), or start one with `make pg-start` and run \
         `{PG_URL_VAR}=$(cat target/pg.url) cargo test`. \
         To skip the PostgreSQL tests on purpose, set {SKIP_PG_VAR}=1."
    );
}

/// A source over the test server, in a fresh schema of its own (first on
/// the connection's `search_path`), migrated. `None` when skipped.
///
/// # Panics
/// When the server cannot be reached or migrated.
pub async fn pg_store() -> Option<PgStore> {
    let url = pg_url()?;
    let mut config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
    let schema = ["t_", &uuid::Uuid::new_v4().simple().to_string()].concat();
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let running = tokio::spawn(connection);
    // The name is ours (hex digits), not a value: it cannot be bound.
    client
        .batch_execute(&["CREATE SCHEMA ", &schema].concat())
        .await
        .expect("create a test schema");
    drop(client);
    let _ = running.await;
    config.options(["-c search_path=", &schema].concat());
    let store = PgStore::connect(&PgOptions {
        config,
        pool_size: 4,
        statement_timeout: Duration::from_secs(30),
    })
    .expect("PostgreSQL pool");
    migrate(&store).await.expect("migrate the test schema");
    Some(store)
}

/// Entities in PostgreSQL, the rest in a fresh embedded store.
pub struct PgBacked {
    pub pg: PgStore,
    pub rest: EmbeddedStore,
}

/// A [`PgBacked`] store in a temporary directory. `None` when skipped.
pub async fn postgres() -> Option<TestStore<PgBacked>> {
    let pg = pg_store().await?;
    let dir = tempfile::tempdir().expect("temp dir");
    let rest = EmbeddedStore::open(dir.path()).expect("open the embedded store");
    Some(TestStore::with_dir(Arc::new(PgBacked { pg, rest }), dir))
}

#[async_trait]
impl EntitySource for PgBacked {
    async fn page(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        self.pg.page(tenant, entity, cursor, limit).await
    }
    fn shard_cursors(&self) -> bool {
        self.pg.shard_cursors()
    }
    fn counts_in_store(&self) -> bool {
        self.pg.counts_in_store()
    }
    async fn query(&self, tenant: &TenantId, q: &EntityQuery) -> Result<QueryAnswer, StoreError> {
        self.pg.query(tenant, q).await
    }
    async fn count_values(
        &self,
        tenant: &TenantId,
        q: &EntityQuery,
        index: usize,
    ) -> Result<Vec<(Value, u64)>, StoreError> {
        self.pg.count_values(tenant, q, index).await
    }
}

#[async_trait]
impl EntityWriter for PgBacked {
    async fn put_records(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: Vec<Record>,
    ) -> Result<(), StoreError> {
        self.pg.put_records(tenant, entity, records).await
    }
    async fn begin_load(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Box<dyn RecordLoad + '_>, StoreError> {
        self.pg.begin_load(tenant, entity).await
    }
}

#[async_trait]
impl TenantConfigStore for PgBacked {
    async fn settings(&self, tenant: &TenantId) -> Result<TenantSettings, StoreError> {
        self.rest.settings(tenant).await
    }
    async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
    ) -> Result<(), StoreError> {
        self.rest.put_settings(tenant, settings).await
    }
    async fn custom_fields(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Vec<CustomFieldDef>, StoreError> {
        self.rest.custom_fields(tenant, entity).await
    }
    async fn put_custom_field(
        &self,
        tenant: &TenantId,
        def: &CustomFieldDef,
    ) -> Result<(), StoreError> {
        self.rest.put_custom_field(tenant, def).await
    }
    async fn options(
        &self,
        tenant: &TenantId,
        kind: OptionKind,
    ) -> Result<Vec<ConfigOption>, StoreError> {
        self.rest.options(tenant, kind).await
    }
    async fn put_option(
        &self,
        tenant: &TenantId,
        kind: OptionKind,
        option: &ConfigOption,
    ) -> Result<(), StoreError> {
        self.rest.put_option(tenant, kind, option).await
    }
}

#[async_trait]
impl ReferenceStore for PgBacked {
    async fn industries(&self) -> Result<Vec<Industry>, StoreError> {
        self.rest.industries().await
    }
    async fn countries(&self) -> Result<Vec<Country>, StoreError> {
        self.rest.countries().await
    }
    async fn cities(&self, cca3: &str) -> Result<Vec<City>, StoreError> {
        self.rest.cities(cca3).await
    }
    async fn phone_codes(&self) -> Result<Vec<PhoneCode>, StoreError> {
        self.rest.phone_codes().await
    }
    async fn put_reference(&self, data: &ReferenceData) -> Result<(), StoreError> {
        self.rest.put_reference(data).await
    }
}
