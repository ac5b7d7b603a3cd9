//! The measured work of each workload, run inside a child process
//! (`exports-bench child ...`). Each function loads its input first (not
//! timed), then times the work and returns a [`ChildReport`].

use crate::measure::{median, self_peak_rss_kb, ChildReport};
use crate::rows::{self, SCHEMA};
use crate::Res;
use exports_local::demo::{DEMO_EMAIL, DEMO_ROLE, DEMO_USER_ID, DEMO_USER_TYPE};
use exports_shared::auth::{mint_hs256, Claims, JwtConfig, JwtVerifier};
use exports_shared::model::{TenantId, TenantSettings, Value};
use exports_shared::render::{
    CellFormatter, ColumnKind, CsvRenderer, Locale, RenderColumn, XlsxRenderer,
};
use exports_shared::store::embedded::{EmbeddedFiles, EmbeddedStore};
use exports_shared::store::{EntityWriter, TenantConfigStore};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The tenant whose contacts W1 exports.
pub const BENCH_TENANT: &str = "be0c4be0-0000-4000-8000-0000000000b1";

/// Requests timed per W1 child, after one warm-up request.
pub const W1_REQUESTS: usize = 5;

/// The renderers' columns: the schema's names, typed.
fn render_columns() -> Vec<RenderColumn> {
    SCHEMA
        .iter()
        .map(|c| RenderColumn {
            header: c.name.to_string(),
            kind: ColumnKind::Typed,
        })
        .collect()
}

fn iso_utc() -> CellFormatter {
    CellFormatter::new(&Locale::iso(), chrono_tz::UTC)
}

/// Loads the first `count` rows (not timed), then times `render` writing
/// them to `out`.
fn timed_render(
    rows_file: &Path,
    count: usize,
    out: &Path,
    render: impl FnOnce(&[Vec<Value>]) -> Res<()>,
) -> Res<ChildReport> {
    let data = rows::load(rows_file, count)?;
    let load_rss_kb = self_peak_rss_kb();
    let started = Instant::now();
    render(&data)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(ChildReport {
        seconds,
        rows: count as u64,
        bytes: std::fs::metadata(out)?.len(),
        load_rss_kb,
    })
}

/// W2 CSV: rows through [`CsvRenderer`] into a file.
///
/// # Errors
/// When the input cannot be read or the output written.
pub fn render_csv(rows_file: &Path, count: usize, out: &Path) -> Res<ChildReport> {
    timed_render(rows_file, count, out, |data| {
        let file = std::fs::File::create(out)?;
        let mut r = CsvRenderer::new(file, &render_columns(), iso_utc(), b',', false)?;
        for row in data {
            r.write_row(row)?;
        }
        // Flushed and closed, not synced to disk: the peers do not sync either.
        drop(r.finish()?);
        Ok(())
    })
}

/// W2/W3 XLSX: rows through [`XlsxRenderer`] (constant memory), saved into a file.
///
/// # Errors
/// When the input cannot be read or the workbook written.
pub fn render_xlsx(rows_file: &Path, count: usize, out: &Path, zip_level: u8) -> Res<ChildReport> {
    timed_render(rows_file, count, out, |data| {
        let mut r = XlsxRenderer::new(&render_columns(), iso_utc())?.with_zip_level(zip_level);
        for row in data {
            r.write_row(row)?;
        }
        let file = std::fs::File::create(out)?;
        r.finish_into(std::io::BufWriter::new(file))?;
        Ok(())
    })
}

/// Loads the first `count` rows into a fresh embedded store as the bench
/// tenant's contacts (done once by the parent, not timed).
///
/// # Errors
/// When the store cannot be written.
pub async fn seed_w1(rows_file: &Path, count: usize, data_dir: &Path) -> Res<()> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)?;
    }
    let store = EmbeddedStore::open(data_dir)?;
    let tenant = TenantId::new(BENCH_TENANT);
    exports_local::demo::configure_tenant(&store, &tenant).await?;
    store
        .put_settings(&tenant, &TenantSettings::default())
        .await?;
    for def in rows::custom_fields() {
        store.put_custom_field(&tenant, &def).await?;
    }
    let data = rows::load(rows_file, count)?;
    for chunk in data.chunks(1_000) {
        let records = chunk.iter().map(|r| rows::to_record(r)).collect();
        store
            .put_records(
                &tenant,
                exports_shared::model::EntityKind::Contacts,
                records,
            )
            .await?;
    }
    Ok(())
}

/// The W1 request body: every schema column, a filter that every row
/// passes (so the filter runs on each row), sorted by id.
fn w1_body(format: &str) -> String {
    let columns: Vec<_> = SCHEMA
        .iter()
        .map(|c| json!({"id": c.request_id(), "label": c.name, "custom": c.custom}))
        .collect();
    json!({
        "format": format,
        "locale": "en",
        "timezone": "UTC",
        "viewState": {"columns": columns, "sort": {"field": "id", "direction": "ASC"}},
        "filters": [{"field": "contactType", "operator": "in", "values": ["ACTIVE", "INACTIVE", "LEAD"]}]
    })
    .to_string()
}

fn w1_request(token: &str, body: &str) -> Res<lambda_http::Request> {
    Ok(http::Request::builder()
        .method("POST")
        .uri("https://bench.local/api/exports/contacts")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("x-tenant-uuid", BENCH_TENANT)
        .header("x-user-email", DEMO_EMAIL)
        .header("x-user-id", DEMO_USER_ID)
        .header("x-user-type", DEMO_USER_TYPE)
        .body(lambda_http::Body::from(body.to_string()))?)
}

/// W1: requests through the real sync-export handler on the embedded
/// backend (auth, validation, paged reads, filter, sort, render), from
/// request to response bytes. Reports the median of [`W1_REQUESTS`]
/// requests after one warm-up, and writes the last response body to `out`.
///
/// # Errors
/// When the store cannot be opened or a response is not a 200 with the file.
pub fn w1(data_dir: &Path, format: &str, count: usize, out: &Path) -> Res<ChildReport> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Arc::new(EmbeddedStore::open(data_dir)?);
        let files = EmbeddedFiles::open(data_dir, "http://127.0.0.1:1")?;
        let secret = exports_local::DEV_JWT_SECRET.as_bytes();
        let deps = sync_export::Deps {
            entities: store.clone(),
            config: store,
            verifier: Arc::new(JwtVerifier::new(JwtConfig::hs256(
                secret,
                "exports-local",
                "exports-api",
            ))),
            files: Arc::new(files),
            delivery: sync_export::Delivery::default(),
            max_sync_rows: None,
        };
        let token = demo_token(BENCH_TENANT)?;
        let body = w1_body(format);
        let load_rss_kb = self_peak_rss_kb();
        let mut times = Vec::with_capacity(W1_REQUESTS);
        let mut last = Vec::new();
        for i in 0..=W1_REQUESTS {
            let req = w1_request(&token, &body)?;
            let started = Instant::now();
            let bytes = ok_body(
                &format!("W1 {format}"),
                sync_export::handle(&deps, req).await,
            )?;
            let elapsed = started.elapsed().as_secs_f64();
            if i > 0 {
                times.push(elapsed);
            }
            last = bytes;
        }
        let mut f = std::fs::File::create(out)?;
        f.write_all(&last)?;
        Ok(ChildReport {
            seconds: median(&times),
            rows: count as u64,
            bytes: last.len() as u64,
            load_rss_kb,
        })
    })
}

/// The body of a handler's response, which must be a 200.
///
/// # Errors
/// When the status is not 200 (the body is in the message).
pub fn ok_body(
    label: &str,
    resp: Result<http::Response<lambda_http::Body>, std::convert::Infallible>,
) -> Res<Vec<u8>> {
    let resp = match resp {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    let status = resp.status();
    let bytes = resp.into_body().to_vec();
    if status != http::StatusCode::OK {
        return Err(format!(
            "{label}: status {status}: {}",
            String::from_utf8_lossy(&bytes)
        )
        .into());
    }
    Ok(bytes)
}

/// A one-hour token of the demo user for `tenant`, signed with the local
/// development secret.
///
/// # Errors
/// When signing fails.
pub fn demo_token(tenant: &str) -> Res<String> {
    let now = chrono::Utc::now().timestamp();
    Ok(mint_hs256(
        &Claims {
            sub: DEMO_USER_ID.into(),
            email: DEMO_EMAIL.into(),
            user_type: DEMO_USER_TYPE.into(),
            tenant_uuids: vec![tenant.into()],
            roles: vec![DEMO_ROLE.into()],
            iss: "exports-local".into(),
            aud: "exports-api".into(),
            exp: now + 3600,
            iat: now,
        },
        exports_local::DEV_JWT_SECRET.as_bytes(),
    )?)
}

/// `MALLOC_ARENA_MAX` of the bulk worker function in `template.yaml`, which
/// the W4 child runs with, as the deployed worker does.
pub const W4_MALLOC_ARENA_MAX: &str = "2";

/// The bulk job W4 runs: contacts, v2 (so the custom fields `score` and
/// `note` are columns), ISO dates, comma-separated.
pub const W4_BODY: &str =
    r#"{"exportType":"contacts","version":"v2","dateFormat":"ISO","delimiter":","}"#;

/// What a W4 child leaves next to its report: the job's output record.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct W4Output {
    /// The file on disk (under the store's `files/`).
    pub path: std::path::PathBuf,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// The embedded store of `data_dir` and the bulk worker's dependencies on
/// it (files served from a dummy address: the benchmarks read them from disk).
///
/// # Errors
/// When the store or the files cannot be opened.
pub fn embedded_worker(
    data_dir: &Path,
) -> Res<(
    Arc<EmbeddedStore>,
    exports_shared::service::bulk::WorkerDeps,
)> {
    let store = Arc::new(EmbeddedStore::open(data_dir)?);
    let files = Arc::new(EmbeddedFiles::open(data_dir, "http://127.0.0.1:1")?);
    let deps = exports_shared::service::bulk::WorkerDeps::new(
        store.clone(),
        store.clone(),
        store.clone(),
        store.clone(),
        files,
    );
    Ok((store, deps))
}

/// W4: the store's contacts through the real bulk worker ([`run_job`]) to
/// the embedded file store, as CSV. Creating the job is not timed; the run
/// (claim, paged reads, CSV, parts, digest, finish) is. Writes the job's
/// output record as JSON to `out`.
///
/// # Errors
/// When the store cannot be opened or the job does not finish.
///
/// [`run_job`]: exports_shared::service::bulk::run_job
pub fn w4(data_dir: &Path, out: &Path) -> Res<ChildReport> {
    use exports_shared::model::bulk::BulkJob;
    use exports_shared::service::bulk::{run_job, JobOutcome};
    use exports_shared::store::bulk::BulkJobStore;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (store, deps) = embedded_worker(data_dir)?;
        let tenant = TenantId::new(BENCH_TENANT);
        let spec = exports_shared::api::bulk::parse_creation(W4_BODY.as_bytes())
            .map_err(|e| format!("W4 body: {}", e.body()))?;
        let job = BulkJob::new(BulkJob::new_id(), spec, chrono::Utc::now());
        store.create_job(&tenant, &job).await?;
        let msg = exports_shared::store::JobMessage {
            tenant,
            job_id: job.id.clone(),
            task: None,
        };
        let load_rss_kb = self_peak_rss_kb();
        let started = Instant::now();
        let outcome = run_job(&deps, &msg).await?;
        let seconds = started.elapsed().as_secs_f64();
        let JobOutcome::Finished(done) = outcome else {
            return Err(format!("W4: job did not finish: {outcome:?}").into());
        };
        let output = done.output.ok_or("W4: finished without output")?;
        let record = W4Output {
            path: data_dir.join("files").join(&output.file_key),
            rows: output.rows,
            bytes: output.bytes,
            sha256: output.sha256,
        };
        std::fs::write(out, serde_json::to_vec(&record)?)?;
        Ok(ChildReport {
            seconds,
            rows: output.rows,
            bytes: output.bytes,
            load_rss_kb,
        })
    })
}
