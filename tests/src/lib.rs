//! Shared fixtures of the workspace-level tests: a fresh store per test,
//! two tenants with hand-made records, the sample events of `events/`, and
//! helpers to call handlers and read their files.

use exports_local::demo::{configure_tenant, DEMO_EMAIL, DEMO_TENANT, DEMO_USER_ID};
use exports_local::DEV_JWT_SECRET;
use exports_shared::auth::{mint_hs256, Claims, JwtConfig, JwtVerifier};
use exports_shared::model::{EntityKind, Record, TenantId};
use exports_shared::store::embedded::EmbeddedStore;
use exports_shared::store::{EntityWriter, TenantConfigStore};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

pub mod backends;
pub mod bulk;
pub mod bulk_cancel_cases;
pub mod bulk_cases;
pub mod bulk_contract;
pub mod bulk_fanout_cases;
pub mod config_api_cases;
pub mod contract;
pub mod export_log_contract;
pub mod export_logs_cases;
pub mod postgres;
pub mod reference_contract;
pub mod sync_export_cases;

/// Tenant A is the demo tenant, so the committed events work as they are.
pub const TENANT_A: &str = DEMO_TENANT;
pub const TENANT_B: &str = "b0b0b0b0-0000-4000-8000-00000000000b";
pub const USER_B: &str = "b1b1b1b1-0000-4000-8000-0000000000b1";

/// Both tenants seeded into a fresh store (embedded, or DynamoDB in moto),
/// and the sync-export handler's dependencies over it.
pub struct Fixture {
    pub store: Arc<dyn backends::Store>,
    /// The embedded file store, when files are local; `None` on S3.
    pub files: Option<exports_shared::store::embedded::EmbeddedFiles>,
    pub deps: sync_export::Deps,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// The fixture over a fresh embedded store in a temporary directory.
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open store"));
        Fixture::over(store, dir).await
    }

    /// The same fixture over DynamoDB and S3: fresh tables and a fresh
    /// bucket in moto (see [`backends::aws`]). `None` when the AWS tests are
    /// skipped with `EXPORTS_SKIP_AWS=1`.
    pub async fn aws() -> Option<Fixture> {
        let aws = backends::aws().await?;
        let url = backends::moto_url()?;
        let s3 = exports_shared::config::s3_client(&backends::moto_sdk_config(&url).await);
        let bucket = format!("fixture-{}", uuid::Uuid::new_v4().simple());
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut fx = Fixture::over(aws.store, dir).await;
        fx.deps.files = Arc::new(exports_shared::store::aws::S3Files::new(s3, bucket));
        fx.files = None;
        Some(fx)
    }

    /// The same fixture with entities in PostgreSQL (a fresh schema of the
    /// test server, [`postgres::pg_store`]) and the rest embedded, as a
    /// deployment with `EXPORTS_ENTITY_SOURCE=postgres`. `None` when the
    /// PostgreSQL tests are skipped with `EXPORTS_SKIP_PG=1`.
    pub async fn postgres() -> Option<Fixture> {
        let pg = postgres::pg_store().await?;
        let dir = tempfile::tempdir().expect("temp dir");
        let rest = EmbeddedStore::open(dir.path()).expect("open store");
        Some(Fixture::over(Arc::new(postgres::PgBacked { pg, rest }), dir).await)
    }

    /// Downloads a presigned URL as a client following a 303 would: through
    /// the local file store's signed-link check, or by HTTP GET from S3.
    /// Returns the body and its `Content-Type`.
    pub async fn download(&self, url: &str) -> (Vec<u8>, String) {
        match &self.files {
            Some(files) => {
                let (path, meta) = files
                    .open_link(url, chrono::Utc::now().timestamp())
                    .await
                    .expect("a valid signed link");
                (std::fs::read(path).expect("file"), meta.content_type)
            }
            None => {
                let resp = reqwest::get(url).await.expect("GET presigned URL");
                assert!(resp.status().is_success(), "{}", resp.status());
                let ct = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                (resp.bytes().await.expect("body").to_vec(), ct)
            }
        }
    }

    /// Seeds `store` and builds the handler's dependencies over it.
    async fn over<S: backends::Store + 'static>(store: Arc<S>, dir: tempfile::TempDir) -> Fixture {
        seed(store.as_ref()).await;
        let verifier = Arc::new(JwtVerifier::new(JwtConfig::hs256(
            DEV_JWT_SECRET.as_bytes(),
            "exports-local",
            "exports-api",
        )));
        let files =
            exports_shared::store::embedded::EmbeddedFiles::open(dir.path(), "http://127.0.0.1:1")
                .expect("open files");
        let deps = sync_export::Deps {
            entities: store.clone(),
            config: store.clone(),
            verifier,
            files: Arc::new(files.clone()),
            delivery: sync_export::Delivery::default(),
            max_sync_rows: None,
        };
        Fixture {
            store,
            files: Some(files),
            deps,
            _dir: dir,
        }
    }

    /// Calls the sync-export handler.
    pub async fn call(&self, req: Request) -> Response<Body> {
        match sync_export::handle(&self.deps, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }
}

fn record(id: &str, data: Value) -> Record {
    match data {
        Value::Object(map) => Record::new(id, map),
        _ => panic!("record data must be an object"),
    }
}

/// The custom field uuids of the demo configuration.
pub use exports_local::generate::{CF_RISK_ONBOARDING, CF_RISK_REVIEW, CF_SCORE, CF_TIER};

/// Tenant A's contacts, by id: what the tests assert against.
pub fn contacts_a() -> Vec<Record> {
    let risk = format!("custom:cf_{CF_RISK_ONBOARDING}");
    let review = format!("custom:cf_{CF_RISK_REVIEW}");
    let score = format!("custom:cf_{CF_SCORE}");
    vec![
        record(
            "c-001",
            json!({"firstName": "Ana", "paternalLastName": "González", "preferredEmail": "ana@a.test",
            "stage": "client", "contactType": "ACTIVE", "createdAt": "2024-03-10T12:00:00Z", "netWorth": 1500.5,
            "birthDate": "1986-09-04", "isActive": true, "phone": "+56 9 1111 2222", risk.clone(): "low", score.clone(): 80}),
        ),
        record(
            "c-002",
            json!({"firstName": "=cmd|' /C calc'!A0", "paternalLastName": "Muñoz", "preferredEmail": "hostile@a.test",
            "stage": "prospect", "contactType": "ACTIVE", "createdAt": "2024-05-01T03:30:00Z", "netWorth": -20,
            "birthDate": "1990-01-31", "isActive": false, review.clone(): "high"}),
        ),
        record(
            "c-003",
            json!({"firstName": "José", "paternalLastName": "Pérez", "preferredEmail": "jose@a.test",
            "stage": "lead", "contactType": "INACTIVE", "createdAt": "2024-06-01T00:00:00Z", "netWorth": 0,
            "isActive": true, risk.clone(): "medium"}),
        ),
        record(
            "c-004",
            json!({"firstName": "María", "paternalLastName": "Soto", "preferredEmail": "maria@a.test",
            "stage": "prospect", "contactType": "ACTIVE", "createdAt": "2024-05-01T03:30:00Z", "netWorth": 250000.75,
            "isActive": true, score: 55}),
        ),
        record(
            "c-005",
            json!({"firstName": "Zoë", "paternalLastName": "Díaz", "preferredEmail": "zoe@a.test",
            "stage": "client", "contactType": "ACTIVE", "isActive": true}),
        ),
    ]
}

/// Tenant B's contacts: none of these may ever reach tenant A.
pub fn contacts_b() -> Vec<Record> {
    vec![
        record(
            "c-b01",
            json!({"firstName": "Bea", "paternalLastName": "OnlyInB", "preferredEmail": "bea@b.test",
            "stage": "client", "contactType": "ACTIVE", "createdAt": "2024-07-01T00:00:00Z", "isActive": true}),
        ),
        record(
            "c-b02",
            json!({"firstName": "Bruno", "paternalLastName": "OnlyInB", "preferredEmail": "bruno@b.test",
            "stage": "lead", "contactType": "ACTIVE", "createdAt": "2024-08-01T00:00:00Z", "isActive": true}),
        ),
    ]
}

/// Tenant A's households, around Santiago's April 2024 DST change
/// (2024-04-07 03:00 UTC: 00:00 -03 becomes 23:00 -04).
pub fn households_a() -> Vec<Record> {
    vec![
        record(
            "hh-1",
            json!({"name": "Familia González", "isActive": true, "createdAt": "2024-04-07T02:30:00Z", "memberCount": 4}),
        ),
        record(
            "hh-2",
            json!({"name": "Familia Soto", "isActive": false, "createdAt": "2024-04-07T03:30:00Z", "memberCount": 2}),
        ),
        record(
            "hh-3",
            json!({"name": "@Familia Rojas", "isActive": true, "createdAt": "2024-01-15T13:00:00Z", "memberCount": 1}),
        ),
    ]
}

pub fn organisations_a() -> Vec<Record> {
    let tier = format!("custom:cf_{CF_TIER}");
    vec![
        record(
            "org-1",
            json!({"name": "Andes SpA", "industry": "TECHNOLOGY", "annualRevenue": 1234567.5, "isActive": true,
            "createdAt": "2024-02-01T00:00:00Z", tier.clone(): "gold"}),
        ),
        record(
            "org-2",
            json!({"name": "Beta Ltda.", "industry": "RETAIL", "annualRevenue": 10, "isActive": false,
            "createdAt": "2024-02-02T00:00:00Z", tier.clone(): "silver"}),
        ),
        record(
            "org-3",
            json!({"name": "Condor S.A.", "industry": "HEALTHCARE", "isActive": true,
            "createdAt": "2024-02-03T00:00:00Z"}),
        ),
    ]
}

/// Seeds both tenants' configuration and records into any backend.
pub async fn seed<S: TenantConfigStore + EntityWriter>(store: &S) {
    let a = TenantId::new(TENANT_A);
    let b = TenantId::new(TENANT_B);
    for t in [&a, &b] {
        configure_tenant(store, t).await.expect("configure tenant");
    }
    store
        .put_records(&a, EntityKind::Contacts, contacts_a())
        .await
        .expect("seed");
    store
        .put_records(&a, EntityKind::Households, households_a())
        .await
        .expect("seed");
    store
        .put_records(&a, EntityKind::Organisations, organisations_a())
        .await
        .expect("seed");
    store
        .put_records(&b, EntityKind::Contacts, contacts_b())
        .await
        .expect("seed");
}

/// The workspace's `events/` directory.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// Loads `events/{name}.json` as a Lambda HTTP request.
pub fn event(name: &str) -> Request {
    let text =
        std::fs::read_to_string(events_dir().join(format!("{name}.json"))).expect("event file");
    lambda_http::request::from_str(&text).expect("valid API Gateway event")
}

/// Claims of the demo user of tenant A, valid for an hour.
pub fn claims_a() -> Claims {
    Claims {
        sub: DEMO_USER_ID.into(),
        email: DEMO_EMAIL.into(),
        user_type: "TENANT_STAFF".into(),
        tenant_uuids: vec![TENANT_A.into()],
        roles: vec!["TENANT_STAFF".into()],
        iss: "exports-local".into(),
        aud: "exports-api".into(),
        exp: chrono::Utc::now().timestamp() + 3600,
        iat: chrono::Utc::now().timestamp(),
    }
}

/// Claims of a user of tenant B.
pub fn claims_b() -> Claims {
    Claims {
        sub: USER_B.into(),
        email: "bob@b.test".into(),
        tenant_uuids: vec![TENANT_B.into()],
        ..claims_a()
    }
}

pub fn token(claims: &Claims) -> String {
    mint_hs256(claims, DEV_JWT_SECRET.as_bytes()).expect("mint")
}

/// Sets a header.
pub fn with_header(mut req: Request, name: &'static str, value: &str) -> Request {
    req.headers_mut()
        .insert(name, value.parse().expect("header value"));
    req
}

/// Removes a header.
pub fn without_header(mut req: Request, name: &str) -> Request {
    req.headers_mut().remove(name);
    req
}

/// Sets the four context headers and the token for `claims`.
pub fn as_user(req: Request, claims: &Claims, tenant_header: &str) -> Request {
    let req = with_header(req, "authorization", &format!("Bearer {}", token(claims)));
    let req = with_header(req, "x-tenant-uuid", tenant_header);
    let req = with_header(req, "x-user-email", &claims.email);
    with_header(req, "x-user-id", &claims.sub)
}

/// Replaces the body.
pub fn with_body(req: Request, body: impl Into<String>) -> Request {
    let (parts, _) = req.into_parts();
    http::Request::from_parts(parts, Body::Text(body.into()))
}

/// Replaces the body with a JSON value.
pub fn with_json(req: Request, body: &Value) -> Request {
    with_body(req, body.to_string())
}

/// The JSON body of an event, to edit and send back.
pub fn body_json(req: &Request) -> Value {
    serde_json::from_slice(req.body().as_ref()).expect("event body is JSON")
}

/// The response body's bytes.
pub fn bytes(resp: &Response<Body>) -> Vec<u8> {
    resp.body().as_ref().to_vec()
}

/// The response body as JSON (error bodies).
pub fn json_body(resp: &Response<Body>) -> Value {
    serde_json::from_slice(resp.body().as_ref()).expect("JSON body")
}

/// Parses a CSV body into rows (header first).
pub fn csv_rows(resp: &Response<Body>) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(resp.body().as_ref())
        .records()
        .map(|r| r.expect("valid CSV").iter().map(String::from).collect())
        .collect()
}

/// Opens an XLSX body and returns the cells of its first sheet.
pub fn xlsx_rows(resp: &Response<Body>) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes(resp))).expect("valid XLSX");
    let first = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&first).expect("sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

/// The id of the log the `events/export-logs-{get,download-*}.json` events name.
pub const EVENT_LOG_ID: &str = "d7905e44-37ff-4f78-9f99-21f26baf3c5f";

/// [`Fixture`] plus an export-log store and the export-logs handler over both.
pub struct LogsFixture {
    pub base: Fixture,
    pub logs: Arc<dyn exports_shared::store::ExportLogStore>,
    pub deps: export_logs::Deps,
    _logs_backend: Option<backends::TestLogs>,
}

impl LogsFixture {
    /// Over a fresh embedded store (logs in the same SQLite database).
    pub async fn new() -> LogsFixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open store"));
        let logs: Arc<dyn exports_shared::store::ExportLogStore> = store.clone();
        let base = Fixture::over(store, dir).await;
        LogsFixture::with(base, logs, None)
    }

    /// Entities in PostgreSQL, logs and the rest embedded. `None` when the
    /// PostgreSQL tests are skipped.
    pub async fn postgres() -> Option<LogsFixture> {
        let pg = postgres::pg_store().await?;
        let dir = tempfile::tempdir().expect("temp dir");
        let rest = EmbeddedStore::open(dir.path()).expect("open store");
        let logs: Arc<dyn exports_shared::store::ExportLogStore> = Arc::new(rest.clone());
        let base = Fixture::over(Arc::new(postgres::PgBacked { pg, rest }), dir).await;
        Some(LogsFixture::with(base, logs, None))
    }

    /// Over DynamoDB in moto: fresh Entities, TenantConfig and Exports
    /// tables. `None` when the AWS tests are skipped.
    pub async fn aws() -> Option<LogsFixture> {
        let logs_backend = backends::aws_logs().await?;
        let base = Fixture::aws().await?;
        let logs = logs_backend.logs.clone();
        Some(LogsFixture::with(base, logs, Some(logs_backend)))
    }

    fn with(
        base: Fixture,
        logs: Arc<dyn exports_shared::store::ExportLogStore>,
        logs_backend: Option<backends::TestLogs>,
    ) -> LogsFixture {
        let deps = export_logs::Deps {
            entities: base.deps.entities.clone(),
            config: base.deps.config.clone(),
            logs: logs.clone(),
            verifier: base.deps.verifier.clone(),
            files: base.deps.files.clone(),
            delivery: base.deps.delivery,
            max_sync_rows: base.deps.max_sync_rows,
        };
        LogsFixture {
            base,
            logs,
            deps,
            _logs_backend: logs_backend,
        }
    }

    /// Calls the export-logs handler.
    pub async fn call(&self, req: Request) -> Response<Body> {
        match export_logs::handle(&self.deps, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }

    /// Stores a log of `user` in `tenant` with `filter` as its `params.filter`,
    /// created (and last exported) on 2022-01-12T17:18:07Z.
    pub async fn seed_log(&self, tenant: &str, id: &str, user: &str, filter: Value) {
        let at = chrono::DateTime::parse_from_rfc3339("2022-01-12T17:18:07Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let log = exports_shared::store::ExportLog {
            id: id.into(),
            user_id: user.into(),
            params: json!({ "filter": filter }),
            created_at: at,
            updated_at: at,
            export_at: at,
            updated_in_db_at: at,
        };
        self.logs
            .put_log(&TenantId::new(tenant), &log)
            .await
            .expect("seed log");
    }
}
