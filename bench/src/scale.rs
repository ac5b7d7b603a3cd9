//! W5, scale: the cost of a request against the size of the tenant.
//!
//! Tenants of 10k, 100k and 1M contacts are seeded as `exports-local seed
//! --contacts N` seeds them (the same generator and seed), once: a store
//! is kept between runs and reused while its marker file says it holds
//! N contacts. A child process (`exports-bench child w5`) then sends each
//! request of [`REQUESTS`] through the real handlers (config-api for the v2
//! preview and filter values, sync-export for the CSV), a warm-up and
//! [`W5_REPEATS`] timed times, and reports the median of each and its own
//! peak RSS: the server's memory for the whole set.
//!
//! With a PostgreSQL URL (`make bench` starts a private server), W5 runs a
//! second time with the PostgreSQL entity source: the same records in the
//! schema `w5_N` of that server (kept between runs too), the tenant's
//! configuration in an embedded store beside them.

use crate::measure::{median, own_peak_rss_kb};
use crate::Res;
use exports_local::demo::{self, DEMO_EMAIL, DEMO_USER_ID, DEMO_USER_TYPE};
use exports_local::generate::{self, Counts};
use exports_shared::auth::{JwtConfig, JwtVerifier};
use exports_shared::model::TenantId;
use exports_shared::store::embedded::{EmbeddedFiles, EmbeddedStore};
use exports_shared::store::postgres::{migrate, PgOptions, PgStore};
use exports_shared::store::EntitySource;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The tenant W5 seeds (the demo tenant's configuration).
pub const SCALE_TENANT: &str = demo::DEMO_TENANT;
/// Timed repeats of each request, after one warm-up.
pub const W5_REPEATS: usize = 5;
/// The seed `exports-local seed` uses by default.
const SEED: u64 = 42;

/// One W5 request: a label, the path and the JSON body.
pub struct ScaleRequest {
    pub label: &'static str,
    pub path: &'static str,
    pub body: fn() -> serde_json::Value,
}

/// The requests of W5, in the order.
pub const REQUESTS: [ScaleRequest; 6] = [
    ScaleRequest {
        label: "preview page 0, default sort",
        path: "/api/contacts/filter",
        body: || json!({"page": 0, "size": 20}),
    },
    ScaleRequest {
        label: "preview, stage equals (indexed)",
        path: "/api/contacts/filter",
        body: || json!({"filters": [{"field": "stage", "operator": "equals", "value": "client"}], "size": 20}),
    },
    ScaleRequest {
        label: "preview, firstName contains",
        path: "/api/contacts/filter",
        body: || json!({"filters": [{"field": "firstName", "operator": "contains", "value": "ar"}], "size": 20}),
    },
    ScaleRequest {
        label: "preview page 1,000",
        path: "/api/contacts/filter",
        body: || json!({"page": 1000, "size": 20}),
    },
    ScaleRequest {
        label: "filter values on stage",
        path: "/api/contacts/filter-values",
        body: || json!({"field": "stage"}),
    },
    ScaleRequest {
        label: "sync CSV export, ~1% of contacts",
        path: "/api/exports/contacts",
        body: || {
            let columns: Vec<_> = [
                "id",
                "firstName",
                "paternalLastName",
                "preferredEmail",
                "stage",
                "organisationId",
                "netWorth",
                "createdAt",
            ]
            .iter()
            .map(|c| json!({"id": c, "label": c}))
            .collect();
            json!({
                "format": "CSV",
                "viewState": {"columns": columns},
                "filters": [{"field": "organisationId", "operator": "in", "values": ["org-000007", "org-000042"]}]
            })
        },
    },
];

/// What a W5 child reports for one tenant size.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ScaleReport {
    pub contacts: u64,
    /// Median milliseconds of each request, in [`REQUESTS`] order.
    pub millis: Vec<f64>,
    /// Rows each request returned (preview content, values, CSV rows).
    pub rows: Vec<u64>,
    /// The child's peak RSS over every request, in KiB.
    pub peak_rss_kb: u64,
    /// The peak RSS after each request, in KiB (it only grows): which
    /// request's result raised it.
    pub rss_after_kb: Vec<u64>,
}

/// The PostgreSQL entity source over the schema `w5_{contacts}` of `url`,
/// created when missing (the name is ours, digits only).
async fn pg_source(url: &str, contacts: u64) -> Res<PgStore> {
    let schema = format!("w5_{contacts}");
    let mut config: tokio_postgres::Config = url.parse()?;
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    let running = tokio::spawn(connection);
    client
        .batch_execute(&["CREATE SCHEMA IF NOT EXISTS ", &schema].concat())
        .await?;
    drop(client);
    let _ = running.await;
    config.options(["-c search_path=", &schema].concat());
    Ok(PgStore::connect(&PgOptions {
        config,
        pool_size: 4,
        statement_timeout: std::time::Duration::from_secs(600),
    })?)
}

/// How many contacts of the W5 tenant a source holds.
async fn count_contacts(source: &dyn EntitySource) -> Res<u64> {
    let mut q =
        exports_shared::query::EntityQuery::new(exports_shared::model::EntityKind::Contacts);
    q.window = exports_shared::query::Window::Range {
        offset: 0,
        limit: 1,
    };
    q.count = true;
    Ok(source
        .query(&TenantId::new(SCALE_TENANT), &q)
        .await?
        .total
        .unwrap_or(0))
}

/// Seeds `data_dir` with `contacts` contacts (and `exports-local seed`'s
/// default organisations and households) unless it already holds them.
/// With `database_url`, the records go to PostgreSQL (schema `w5_N`) and
/// `data_dir` holds the tenant's configuration only.
///
/// # Errors
/// When the store cannot be written.
pub async fn seed(data_dir: &Path, contacts: u64, database_url: Option<&str>) -> Res<()> {
    let marker = data_dir.join(format!("w5-seeded-{contacts}"));
    let pg = match database_url {
        Some(url) => Some(pg_source(url, contacts).await?),
        None => None,
    };
    if let Some(pg) = &pg {
        migrate(pg).await?;
    }
    let seeded = match &pg {
        // The server keeps its data between runs only when it was kept.
        Some(pg) => marker.exists() && count_contacts(pg).await? >= contacts,
        None => marker.exists(),
    };
    if seeded {
        eprintln!("W5: reusing {} ({contacts} contacts)", data_dir.display());
        return Ok(());
    }
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)?;
    }
    eprintln!(
        "W5: seeding {contacts} contacts into {}{}",
        data_dir.display(),
        if pg.is_some() { " and PostgreSQL" } else { "" }
    );
    let started = Instant::now();
    let store = EmbeddedStore::open(data_dir)?;
    let tenant = TenantId::new(SCALE_TENANT);
    demo::configure_tenant(&store, &tenant).await?;
    let counts = Counts {
        contacts,
        organisations: 100,
        households: 200,
    };
    match &pg {
        Some(pg) => {
            generate::write_all(pg, &tenant, counts, SEED, None).await?;
            exports_shared::store::EntityWriter::finish_load(pg).await?;
        }
        None => {
            generate::write_all(&store, &tenant, counts, SEED, None).await?;
            exports_shared::store::EntityWriter::finish_load(&store).await?;
        }
    }
    std::fs::write(&marker, b"")?;
    eprintln!("W5: seeded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn request(token: &str, path: &str, body: &serde_json::Value) -> Res<lambda_http::Request> {
    Ok(http::Request::builder()
        .method("POST")
        .uri(format!("https://bench.local{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("x-tenant-uuid", SCALE_TENANT)
        .header("x-user-email", DEMO_EMAIL)
        .header("x-user-id", DEMO_USER_ID)
        .header("x-user-type", DEMO_USER_TYPE)
        .body(lambda_http::Body::from(body.to_string()))?)
}

/// How many rows a response carries: preview content, value entries, or
/// CSV lines after the header.
fn rows_in(path: &str, body: &[u8]) -> Res<u64> {
    if path.starts_with("/api/exports/") {
        let mut reader = csv::Reader::from_reader(body);
        return Ok(reader.records().count() as u64);
    }
    let json: serde_json::Value = serde_json::from_slice(body)?;
    Ok(json["content"].as_array().map_or(0, |c| c.len() as u64))
}

/// The W5 child: every request against the store at `data_dir`.
///
/// # Errors
/// When the store cannot be opened or a response is not a 200.
pub fn child(data_dir: &Path, contacts: u64, out: &Path, database_url: Option<&str>) -> Res<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Arc::new(EmbeddedStore::open(data_dir)?);
        let entities: Arc<dyn EntitySource> = match database_url {
            Some(url) => Arc::new(pg_source(url, contacts).await?),
            None => store.clone(),
        };
        let secret = exports_local::DEV_JWT_SECRET.as_bytes();
        let verifier = Arc::new(JwtVerifier::new(JwtConfig::hs256(
            secret,
            "exports-local",
            "exports-api",
        )));
        let config_deps = config_api::Deps {
            entities: entities.clone(),
            config: store.clone(),
            reference: store.clone(),
            verifier: verifier.clone(),
        };
        let export_deps = sync_export::Deps {
            entities,
            config: store,
            verifier,
            files: Arc::new(EmbeddedFiles::open(data_dir, "http://127.0.0.1:1")?),
            delivery: sync_export::Delivery::default(),
            max_sync_rows: None,
        };
        let token = crate::workloads::demo_token(SCALE_TENANT)?;
        let mut millis = Vec::new();
        let mut rows = Vec::new();
        let mut rss_after_kb = Vec::new();
        for r in &REQUESTS {
            let body = (r.body)();
            let mut times = Vec::with_capacity(W5_REPEATS);
            let mut returned = 0;
            for i in 0..=W5_REPEATS {
                let req = request(&token, r.path, &body)?;
                let started = Instant::now();
                let resp = if r.path.starts_with("/api/exports/") {
                    sync_export::handle(&export_deps, req).await
                } else {
                    config_api::handle(&config_deps, req).await
                };
                let bytes = crate::workloads::ok_body(&format!("W5 {}", r.label), resp)?;
                let elapsed = started.elapsed().as_secs_f64();
                returned = rows_in(r.path, &bytes)?;
                if i > 0 {
                    times.push(elapsed * 1000.0);
                }
            }
            millis.push(median(&times));
            rows.push(returned);
            rss_after_kb.push(own_peak_rss_kb());
        }
        let report = ScaleReport {
            contacts,
            millis,
            rows,
            peak_rss_kb: own_peak_rss_kb(),
            rss_after_kb,
        };
        std::fs::write(out, serde_json::to_vec(&report)?)?;
        Ok(())
    })
}

/// One bulk contacts export of the W5 tenant through the worker.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct BulkReport {
    pub contacts: u64,
    pub seconds: f64,
    pub rows: u64,
    pub bytes: u64,
    /// The child's peak RSS, in KiB: the worker's memory for the job.
    pub peak_rss_kb: u64,
}

/// The W5 bulk child: one contacts export (W4's job) of the W5 tenant,
/// entities from `database_url` when given, jobs and files in `data_dir`.
///
/// # Errors
/// When the store cannot be opened or the job does not finish.
pub fn bulk_child(
    data_dir: &Path,
    contacts: u64,
    out: &Path,
    database_url: Option<&str>,
) -> Res<()> {
    use exports_shared::model::bulk::BulkJob;
    use exports_shared::service::bulk::{run_job, JobOutcome, WorkerDeps};
    use exports_shared::store::bulk::BulkJobStore;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Arc::new(EmbeddedStore::open(data_dir)?);
        let entities: Arc<dyn EntitySource> = match database_url {
            Some(url) => Arc::new(pg_source(url, contacts).await?),
            None => store.clone(),
        };
        let files = Arc::new(EmbeddedFiles::open(data_dir, "http://127.0.0.1:1")?);
        let tenant = TenantId::new(SCALE_TENANT);
        let spec = exports_shared::api::bulk::parse_creation(crate::workloads::W4_BODY.as_bytes())
            .map_err(|e| format!("W4 body: {}", e.body()))?;
        let job = BulkJob::new(BulkJob::new_id(), spec, chrono::Utc::now());
        store.create_job(&tenant, &job).await?;
        let deps = WorkerDeps::new(store.clone(), entities, store.clone(), store, files);
        let msg = exports_shared::store::JobMessage {
            tenant,
            job_id: job.id.clone(),
            task: None,
        };
        let started = Instant::now();
        let outcome = run_job(&deps, &msg).await?;
        let seconds = started.elapsed().as_secs_f64();
        let JobOutcome::Finished(done) = outcome else {
            return Err(format!("W5 bulk: job did not finish: {outcome:?}").into());
        };
        let output = done.output.ok_or("W5 bulk: finished without output")?;
        // The file is not kept: a 1M-row file is ~200 MB.
        let _ = std::fs::remove_file(data_dir.join("files").join(&output.file_key));
        let report = BulkReport {
            contacts,
            seconds,
            rows: output.rows,
            bytes: output.bytes,
            peak_rss_kb: own_peak_rss_kb(),
        };
        std::fs::write(out, serde_json::to_vec(&report)?)?;
        Ok(())
    })
}

/// The bulk exports of the W5 tenants, one row per size.
pub fn bulk_markdown(reports: &[BulkReport], source: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### W5 bulk: the contacts export of each tenant through the worker ({source})\n"
    );
    let _ = writeln!(
        out,
        "| contacts | rows | wall s | rows/s | file bytes | worker peak RSS (MB) |"
    );
    let _ = writeln!(out, "|--:|--:|--:|--:|--:|--:|");
    for r in reports {
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {:.0} | {} | {:.1} |",
            r.contacts,
            r.rows,
            r.seconds,
            r.rows as f64 / r.seconds.max(1e-9),
            r.bytes,
            r.peak_rss_kb as f64 / 1024.0
        );
    }
    out
}

/// Figures of the issue that asked for W5, measured before the pushdown
/// (ms at 10k, 100k, 1M contacts; server peak RSS in MB), for the table.
const BEFORE: [(&str, [f64; 3]); 4] = [
    ("preview page 0, default sort", [99.0, 686.0, 11_746.0]),
    ("filter values on stage", [49.0, 295.0, 4_775.0]),
    ("sync CSV export, ~1% of contacts", [35.0, 380.0, 3_652.0]),
    ("server peak RSS (MB)", [29.0, 137.0, 1_173.0]),
];

/// The W5 section of the report: one row per request, one column per
/// tenant size, the growth from the smallest to the largest, and the
/// figures from before the pushdown where they were measured.
pub fn markdown(reports: &[ScaleReport], source: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let sizes: Vec<String> = reports
        .iter()
        .map(|r| format!("{} contacts", r.contacts))
        .collect();
    let _ = writeln!(
        out,
        "### W5: scale ({source}, median of {W5_REPEATS} after a warm-up, ms)\n"
    );
    let _ = writeln!(
        out,
        "| request | {} | growth | before (10k / 100k / 1M) |",
        sizes.join(" | ")
    );
    let _ = writeln!(out, "|---|{}--:|---|", "--:|".repeat(sizes.len()));
    let before = |label: &str| {
        BEFORE
            .iter()
            .find(|(l, _)| *l == label)
            .map_or_else(String::new, |(_, v)| {
                format!("{} / {} / {}", v[0], v[1], v[2])
            })
    };
    for (i, r) in REQUESTS.iter().enumerate() {
        let cells: Vec<String> = reports
            .iter()
            .map(|rep| format!("{:.1} ({} rows)", rep.millis[i], rep.rows[i]))
            .collect();
        let growth = match (reports.first(), reports.last()) {
            (Some(a), Some(b)) if a.millis[i] > 0.0 => format!("{:.1}×", b.millis[i] / a.millis[i]),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {growth} | {} |",
            r.label,
            cells.join(" | "),
            before(r.label)
        );
    }
    let rss: Vec<String> = reports
        .iter()
        .map(|r| format!("{:.1}", r.peak_rss_kb as f64 / 1024.0))
        .collect();
    let growth = match (reports.first(), reports.last()) {
        (Some(a), Some(b)) if a.peak_rss_kb > 0 => {
            format!(
                "{:+.0}%",
                (b.peak_rss_kb as f64 / a.peak_rss_kb as f64 - 1.0) * 100.0
            )
        }
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "| server peak RSS (MB) | {} | {growth} | {} |",
        rss.join(" | "),
        before("server peak RSS (MB)")
    );
    // Peak RSS once the previews and filter values have run, before the
    // export, whose result grows with the tenant (1% of it).
    let previews = REQUESTS.len() - 1;
    let rss: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "{:.1}",
                r.rss_after_kb.get(previews - 1).copied().unwrap_or(0) as f64 / 1024.0
            )
        })
        .collect();
    let growth = match (reports.first(), reports.last()) {
        (Some(a), Some(b)) => {
            let (a, b) = (a.rss_after_kb[previews - 1], b.rss_after_kb[previews - 1]);
            format!("{:+.0}%", (b as f64 / a.max(1) as f64 - 1.0) * 100.0)
        }
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "| peak RSS before the export (MB) | {} | {growth} | |",
        rss.join(" | ")
    );
    out
}

/// Both sources at each tenant size, one request per row: SQLite, then
/// PostgreSQL, in ms.
pub fn side_by_side(embedded: &[ScaleReport], postgres: &[ScaleReport]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### W5 side by side: embedded (SQLite) / PostgreSQL, median ms\n"
    );
    let sizes: Vec<String> = embedded
        .iter()
        .map(|r| format!("{} contacts", r.contacts))
        .collect();
    let _ = writeln!(out, "| request | {} |", sizes.join(" | "));
    let _ = writeln!(out, "|---|{}", "--:|".repeat(sizes.len()));
    for (i, r) in REQUESTS.iter().enumerate() {
        let cells: Vec<String> = embedded
            .iter()
            .zip(postgres)
            .map(|(a, b)| format!("{:.1} / {:.1}", a.millis[i], b.millis[i]))
            .collect();
        let _ = writeln!(out, "| {} | {} |", r.label, cells.join(" | "));
    }
    let rss: Vec<String> = embedded
        .iter()
        .zip(postgres)
        .map(|(a, b)| {
            format!(
                "{:.1} / {:.1}",
                a.peak_rss_kb as f64 / 1024.0,
                b.peak_rss_kb as f64 / 1024.0
            )
        })
        .collect();
    let _ = writeln!(out, "| server peak RSS (MB) | {} |", rss.join(" | "));
    out
}
