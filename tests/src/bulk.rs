//! The bulk exports fixture: two tenants with contacts (in segments) and
//! activities (across days and types), API keys, and the API's and worker's
//! dependencies over one backend: embedded (SQLite, files, SQLite queue) or
//! AWS in moto (DynamoDB, S3, SQS).

use crate::backends;
use exports_local::demo::configure_tenant;
use exports_shared::auth::rate_limit::RateLimit;
use exports_shared::model::bulk::{ApiKey, Permission};
use exports_shared::model::{EntityKind, Record, TenantId};
use exports_shared::service::bulk::WorkerDeps;
use exports_shared::store::aws::{DynamoBulkJobs, S3Files, SqsQueue};
use exports_shared::store::embedded::{EmbeddedFiles, EmbeddedStore};
use exports_shared::store::{
    ActivityStore, ApiKeyStore, BulkJobStore, EntityWriter, FileStore, JobMessage, JobQueue,
    TenantConfigStore,
};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub const BULK_A: &str = "a1a1a1a1-0000-4000-8000-0000000000a1";
pub const BULK_B: &str = "b2b2b2b2-0000-4000-8000-0000000000b2";

/// Everything a bulk test needs.
pub struct BulkFixture {
    pub writer: Arc<dyn EntityWriter>,
    pub config: Arc<dyn TenantConfigStore>,
    pub jobs: Arc<dyn BulkJobStore>,
    pub keys: Arc<dyn ApiKeyStore>,
    pub activities: Arc<dyn ActivityStore>,
    pub files: Arc<dyn FileStore>,
    /// Local files (signed links checked locally); `None` on S3.
    pub local_files: Option<EmbeddedFiles>,
    /// The S3 client and bucket behind `files` in moto; `None` locally.
    pub s3: Option<(aws_sdk_s3::Client, String)>,
    pub api: bulk_export_api::Deps,
    pub worker: WorkerDeps,
    /// Tenant A's key with both permissions.
    pub key_a: String,
    /// Tenant A's key that may only read.
    pub key_a_read: String,
    /// Tenant B's key with both permissions.
    pub key_b: String,
    _dir: tempfile::TempDir,
}

/// A record from a JSON object.
pub fn rec(id: &str, data: Value) -> Record {
    match data {
        Value::Object(m) => Record::new(id, m),
        _ => panic!("object expected"),
    }
}

/// Tenant A's contacts: three in `retail`, two in `institutional`, one in none.
pub fn bulk_contacts_a() -> Vec<Record> {
    let seg = |i: usize| match i % 3 {
        0 => json!("retail"),
        1 => json!("institutional"),
        _ => json!(null),
    };
    (0..6)
        .map(|i| {
            let mut data = json!({"firstName": format!("A{i}"), "paternalLastName": "Alpha",
                "preferredEmail": format!("a{i}@a.test"), "birthDate": "1986-09-04",
                "createdAt": "1986-09-05T00:30:00Z", "netWorth": 10.5, "isActive": true,
                exports_tests_cf(): "low"});
            if !seg(i).is_null() {
                data["segment"] = seg(i);
            }
            rec(&format!("ca-{i}"), data)
        })
        .chain(std::iter::once(rec(
            "ca-x",
            json!({"firstName": "=HYPERLINK(\"x\")", "segment": "retail", "preferredEmail": "x@a.test"}),
        )))
        .collect()
}

fn exports_tests_cf() -> String {
    format!("custom:cf_{}", exports_local::generate::CF_RISK_ONBOARDING)
}

/// Tenant B's contacts.
pub fn bulk_contacts_b() -> Vec<Record> {
    vec![rec(
        "cb-1",
        json!({"firstName": "OnlyInB", "segment": "retail", "preferredEmail": "b@b.test"}),
    )]
}

/// Tenant A's activities: 2026-01-01 .. 2026-02-02, two a day, alternating
/// `call` (retail) and `purchase` (institutional), at 10:00 and 23:30 UTC.
pub fn bulk_activities_a() -> Vec<Record> {
    let mut out = Vec::new();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    for d in 0..33 {
        let day = start + chrono::Duration::days(d);
        for (n, time) in ["10:00:00", "23:30:00"].iter().enumerate() {
            let (kind, seg) = if n == 0 {
                ("call", "retail")
            } else {
                ("purchase", "institutional")
            };
            out.push(rec(
                &format!("act-{d:02}-{n}"),
                json!({"contactId": "ca-0", "contactEmail": "a0@a.test", "activityType": kind,
                    "occurredAt": format!("{day}T{time}Z"), "channel": "web", "amount": 12.5,
                    "currency": "USD", "segmentId": seg, "metadata": {"k": 1}}),
            ));
        }
    }
    out
}

impl BulkFixture {
    /// Over a fresh embedded store.
    pub async fn embedded() -> BulkFixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
        let files = EmbeddedFiles::open(dir.path(), "http://127.0.0.1:1").expect("files");
        BulkFixture::build(
            store.clone(),
            store.clone(),
            store.clone(),
            store.clone(),
            store.clone(),
            Arc::new(files.clone()),
            Some(files),
            store,
            dir,
        )
        .await
    }

    /// Entities in PostgreSQL (a fresh schema), the rest embedded: a
    /// deployment with `EXPORTS_ENTITY_SOURCE=postgres`. `None` when the
    /// PostgreSQL tests are skipped.
    pub async fn postgres() -> Option<BulkFixture> {
        let pg = crate::postgres::pg_store().await?;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
        let files = EmbeddedFiles::open(dir.path(), "http://127.0.0.1:1").expect("files");
        let entities = Arc::new(crate::postgres::PgBacked {
            pg,
            rest: (*store).clone(),
        });
        Some(
            BulkFixture::build(
                entities,
                store.clone(),
                store.clone(),
                store.clone(),
                store.clone(),
                Arc::new(files.clone()),
                Some(files),
                store,
                dir,
            )
            .await,
        )
    }

    /// Over fresh DynamoDB tables, an S3 bucket and an SQS queue in moto;
    /// `None` when the AWS tests are skipped.
    pub async fn aws() -> Option<BulkFixture> {
        let aws = backends::aws().await?;
        let url = backends::moto_url()?;
        let sdk = backends::moto_sdk_config(&url).await;
        let store = aws.store.clone();
        let table = format!("test-{}-exports", uuid::Uuid::new_v4().simple());
        backends::create_table(store.client(), &table).await;
        let s3 = exports_shared::config::s3_client(&sdk);
        let bucket = format!("bulk-{}", uuid::Uuid::new_v4().simple());
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket");
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = sqs
            .create_queue()
            .queue_name(format!("bulk-{}", uuid::Uuid::new_v4().simple()))
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("queue url");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut fx = BulkFixture::build(
            store.clone(),
            store.clone(),
            Arc::new(DynamoBulkJobs::new(store.client().clone(), table)),
            store.clone(),
            store.clone(),
            Arc::new(S3Files::new(s3.clone(), bucket.clone())),
            None,
            Arc::new(SqsQueue::new(sqs, queue)),
            dir,
        )
        .await;
        fx.s3 = Some((s3, bucket));
        Some(fx)
    }

    #[allow(clippy::too_many_arguments)]
    async fn build<S>(
        entities: Arc<S>,
        config: Arc<dyn TenantConfigStore>,
        jobs: Arc<dyn BulkJobStore>,
        keys: Arc<dyn ApiKeyStore>,
        activities: Arc<dyn ActivityStore>,
        files: Arc<dyn FileStore>,
        local_files: Option<EmbeddedFiles>,
        queue: Arc<dyn JobQueue>,
        dir: tempfile::TempDir,
    ) -> BulkFixture
    where
        S: backends::Store + 'static,
    {
        let (a, b) = (TenantId::new(BULK_A), TenantId::new(BULK_B));
        for t in [&a, &b] {
            configure_tenant(config.as_ref(), t)
                .await
                .expect("configure");
        }
        entities
            .put_records(&a, EntityKind::Contacts, bulk_contacts_a())
            .await
            .expect("seed");
        entities
            .put_records(&b, EntityKind::Contacts, bulk_contacts_b())
            .await
            .expect("seed");
        activities
            .put_activities(&a, bulk_activities_a())
            .await
            .expect("seed");
        let now = chrono::Utc::now();
        let both = vec![Permission::CreateExports, Permission::ReadExports];
        let mut made = Vec::new();
        for (tenant, perms) in [
            (&a, both.clone()),
            (&a, vec![Permission::ReadExports]),
            (&b, both),
        ] {
            let (key, record) = ApiKey::generate(tenant.clone(), "test", perms, now);
            keys.put_api_key(&record).await.expect("key");
            made.push(key);
        }
        let api = bulk_export_api::Deps {
            jobs: jobs.clone(),
            keys: keys.clone(),
            config: config.clone(),
            queue,
            files: files.clone(),
            rate: RateLimit {
                per_second: 100.0,
                burst: 1000.0,
            },
            url_ttl: Duration::from_secs(300),
            retention: Duration::from_secs(3 * 86_400),
        };
        let mut worker = WorkerDeps::new(
            jobs.clone(),
            entities.clone(),
            activities.clone(),
            config.clone(),
            files.clone(),
        );
        worker.page_size = 2;
        worker.progress_every = Duration::ZERO;
        let writer: Arc<dyn EntityWriter> = entities;
        BulkFixture {
            writer,
            config,
            jobs,
            keys,
            activities,
            files,
            local_files,
            s3: None,
            api,
            worker,
            key_a: made[0].clone(),
            key_a_read: made[1].clone(),
            key_b: made[2].clone(),
            _dir: dir,
        }
    }

    /// Calls the API.
    pub async fn call(&self, req: Request) -> Response<Body> {
        match bulk_export_api::handle(&self.api, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }

    /// Runs the worker on a job of tenant `tenant`.
    pub async fn work(
        &self,
        tenant: &str,
        job_id: &str,
    ) -> exports_shared::service::bulk::JobOutcome {
        exports_shared::service::bulk::run_job(
            &self.worker,
            &JobMessage {
                tenant: TenantId::new(tenant),
                job_id: job_id.to_string(),
                task: None,
            },
        )
        .await
        .expect("the job runs")
    }

    /// Downloads a `fileUrl`; `None` when it does not give a file.
    pub async fn download(&self, url: &str) -> Option<Vec<u8>> {
        match &self.local_files {
            Some(files) => {
                let (path, _) = files
                    .open_link(url, chrono::Utc::now().timestamp())
                    .await
                    .ok()?;
                std::fs::read(path).ok()
            }
            None => {
                let resp = reqwest::get(url).await.ok()?;
                if !resp.status().is_success() {
                    return None;
                }
                resp.bytes().await.ok().map(|b| b.to_vec())
            }
        }
    }
}

/// A request from `events/bulk-export-*.json` with `key` as its API key.
pub fn bulk_event(name: &str, key: Option<&str>) -> Request {
    let mut req = crate::event(name);
    match key {
        Some(k) => {
            req.headers_mut().insert(
                "authorization",
                format!("apiKey {k}").parse().expect("header"),
            );
        }
        None => {
            req.headers_mut().remove("authorization");
        }
    }
    req
}

/// `POST /exports` with a JSON body.
pub fn post(key: &str, body: &Value) -> Request {
    let req = crate::without_header(
        bulk_event("bulk-export-create", Some(key)),
        "idempotency-key",
    );
    crate::with_body(req, body.to_string())
}

/// `GET {path}` (`/exports`, `/exports/{id}`, with a query).
pub fn get(key: &str, path_and_query: &str) -> Request {
    let mut req = bulk_event("bulk-export-get", Some(key));
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    *req.uri_mut() = format!("https://api.example.com{path_and_query}")
        .parse()
        .expect("uri");
    let params: std::collections::HashMap<String, String> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    lambda_http::RequestExt::with_query_string_parameters(req, params)
}

/// SHA-256 hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses CSV with a delimiter into rows of cells (header first).
pub fn parse_csv(bytes: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.expect("valid CSV").iter().map(str::to_string).collect())
        .collect()
}
