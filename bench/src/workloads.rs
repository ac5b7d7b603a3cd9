//! The measured work of each workload, run inside a child process
//! (`exports-bench child ...`). Each function loads its input first (not
//! timed), then times the work and returns a [`ChildReport`].

use crate::measure::{median, self_peak_rss_kb, ChildReport};
use crate::rows::{self, SCHEMA};
use crate::Res;
use exports_local::demo::{DEMO_EMAIL, DEMO_ROLE, DEMO_USER_ID, DEMO_USER_TYPE};
use exports_shared::auth::{mint_hs256, Claims, JwtConfig, JwtVerifier};
use exports_shared::model::{TenantId, TenantSettings};
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

/// W2 CSV: rows through [`CsvRenderer`] into a file.
///
/// # Errors
/// When the input cannot be read or the output written.
pub fn render_csv(rows_file: &Path, count: usize, out: &Path) -> Res<ChildReport> {
    let data = rows::load(rows_file, count)?;
    let load_rss_kb = self_peak_rss_kb();
    let started = Instant::now();
    let file = std::fs::File::create(out)?;
    let mut r = CsvRenderer::new(file, &render_columns(), iso_utc(), b',', false)?;
    for row in &data {
        r.write_row(row)?;
    }
    r.finish()?.sync_data()?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(ChildReport {
        seconds,
        rows: count as u64,
        bytes: std::fs::metadata(out)?.len(),
        load_rss_kb,
    })
}

/// W2/W3 XLSX: rows through [`XlsxRenderer`] (constant memory), saved into a file.
///
/// # Errors
/// When the input cannot be read or the workbook written.
pub fn render_xlsx(rows_file: &Path, count: usize, out: &Path, zip_level: u8) -> Res<ChildReport> {
    let data = rows::load(rows_file, count)?;
    let load_rss_kb = self_peak_rss_kb();
    let started = Instant::now();
    let mut r = XlsxRenderer::new(&render_columns(), iso_utc())?.with_zip_level(zip_level);
    for row in &data {
        r.write_row(row)?;
    }
    let file = std::fs::File::create(out)?;
    r.finish_into(std::io::BufWriter::new(file))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(ChildReport {
        seconds,
        rows: count as u64,
        bytes: std::fs::metadata(out)?.len(),
        load_rss_kb,
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
        let now = chrono::Utc::now().timestamp();
        let token = mint_hs256(
            &Claims {
                sub: DEMO_USER_ID.into(),
                email: DEMO_EMAIL.into(),
                user_type: DEMO_USER_TYPE.into(),
                tenant_uuids: vec![BENCH_TENANT.into()],
                roles: vec![DEMO_ROLE.into()],
                iss: "exports-local".into(),
                aud: "exports-api".into(),
                exp: now + 3600,
                iat: now,
            },
            secret,
        )?;
        let body = w1_body(format);
        let load_rss_kb = self_peak_rss_kb();
        let mut times = Vec::with_capacity(W1_REQUESTS);
        let mut last = Vec::new();
        for i in 0..=W1_REQUESTS {
            let req = w1_request(&token, &body)?;
            let started = Instant::now();
            let resp = match sync_export::handle(&deps, req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            let status = resp.status();
            let bytes = resp.into_body().to_vec();
            let elapsed = started.elapsed().as_secs_f64();
            if status != http::StatusCode::OK {
                return Err(format!(
                    "W1 {format}: status {status}: {}",
                    String::from_utf8_lossy(&bytes)
                )
                .into());
            }
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

/// W4: 1,000,000 contacts through the bulk worker to the embedded file
/// store, as CSV. The worker is issue 5's and is not on this branch yet, so
/// this workload reports itself pending instead of measuring anything.
///
/// # Errors
/// Always, until the bulk worker exists.
pub fn w4() -> Res<ChildReport> {
    Err(W4_PENDING.into())
}

/// Why W4 has no figures.
pub const W4_PENDING: &str = "W4: pending bulk worker (issue 5); not measured";
