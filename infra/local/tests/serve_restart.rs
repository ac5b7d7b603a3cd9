//! A bulk job queued while `exports-local serve` is down (it was killed
//! with SIGKILL) is finished by the next `serve` on the same data dir: the
//! SQLite queue is durable and the in-process worker drains it at start-up.

mod support;

use bulk_export_api::Deps;
use exports_shared::store::embedded::{EmbeddedFiles, EmbeddedStore};
use lambda_http::Body;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{request, start_serve};

/// One GET with the API key; returns the status and the body.
fn get(port: u16, path: &str, key: &str) -> (u16, Vec<u8>) {
    let auth = format!("apiKey {key}");
    request(port, "GET", path, &[("Authorization", &auth)], None)
}

/// `POST /exports` through the API handler on the data dir, with no server
/// (and so no worker) running: the job is stored and its message queued.
fn create_export_offline(dir: &Path, key: &str) -> Value {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Arc::new(EmbeddedStore::open(dir).expect("open store"));
        let files = EmbeddedFiles::open(dir, "http://127.0.0.1:1").expect("open files");
        let deps = Deps {
            jobs: store.clone(),
            keys: store.clone(),
            config: store.clone(),
            queue: store,
            files: Arc::new(files),
            rate: bulk_export_api::rate_from_env(),
            url_ttl: Duration::from_secs(900),
            retention: Duration::from_secs(7 * 86_400),
        };
        let body = json!({"exportType": "contacts", "dateFormat": "ISO", "delimiter": ";"});
        let req = http::Request::builder()
            .method("POST")
            .uri("/exports")
            .header("authorization", format!("apiKey {key}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let resp = bulk_export_api::handle(&deps, req)
            .await
            .expect("infallible");
        let status = resp.status().as_u16();
        let bytes: &[u8] = resp.body().as_ref();
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(bytes));
        serde_json::from_slice(bytes).expect("Export JSON")
    })
}

#[test]
fn a_job_queued_while_serve_was_killed_is_finished_after_a_restart() {
    // GIVEN a data dir that a `serve` seeded (demo tenant and API key), then
    // was killed with SIGKILL
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = start_serve(dir.path());
    drop(first);
    let key = std::fs::read_to_string(dir.path().join("demo-api-key"))
        .expect("the demo API key")
        .trim()
        .to_string();

    // AND a contacts export created and queued while no serve is running
    let created = create_export_offline(dir.path(), &key);
    assert_eq!(created["status"], "pending", "{created}");
    let id = created["id"].as_str().expect("id").to_string();

    // WHEN `serve` starts again on the same data dir
    let (_second, port) = start_serve(dir.path());

    // THEN polling the export reaches `finished`
    let started = Instant::now();
    let export = loop {
        let (status, body) = get(port, &format!("/exports/{id}"), &key);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let export: Value = serde_json::from_slice(&body).expect("Export JSON");
        match export["status"].as_str() {
            Some("finished") => break export,
            Some("pending" | "inProgress") => {}
            other => panic!("unexpected status {other:?}: {export}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "not finished after 180 s: {export}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };

    // AND the downloaded file has the status's sha256, bytes and rows
    let url = export["fileUrl"].as_str().expect("fileUrl");
    let path = url
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("a link to this server: {url}"));
    let (status, file) = get(port, path, &key);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&file));
    let sha: String = Sha256::digest(&file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(export["sha256"], sha.as_str());
    assert_eq!(export["bytes"], file.len() as u64);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(file.as_slice());
    assert_eq!(reader.headers().expect("header").get(0), Some("id"));
    let mut rows = 0u64;
    for record in reader.records() {
        record.expect("a CSV record");
        rows += 1;
    }
    assert!(rows > 0, "the demo tenant has contacts");
    assert_eq!(export["rows"], rows);
    assert_eq!(export["progress"], rows);
    assert_eq!(export["total"], rows);
}
