//! A bulk job queued while `exports-local serve` is down (it was killed
//! with SIGKILL) is finished by the next `serve` on the same data dir: the
//! SQLite queue is durable and the in-process worker drains it at start-up.
//! A job that was *running* when `serve` was killed is taken over at once
//! (its message, lease and part file given back), and one data dir is
//! served by one process at a time.

mod support;

use bulk_export_api::Deps;
use exports_shared::store::embedded::{EmbeddedFiles, EmbeddedStore};
use lambda_http::Body;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{bin, request, start_serve};

/// A port free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

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
            rate: exports_shared::config::DEFAULT_API_KEY_RATE,
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

/// The state a `serve` killed mid-job leaves in `dir`: the job's message
/// received with the worker's 300 s visibility, the job claimed under a
/// 2-minute lease with some progress, and an 8 MiB part file in `uploads/`.
fn leave_a_killed_worker_behind(dir: &Path, id: &str) {
    use exports_shared::service::bulk::lease::{claim, report_progress, Claim};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = EmbeddedStore::open(dir).expect("open store");
        let received = store
            .receive(10, Duration::from_secs(300))
            .await
            .expect("receive");
        assert_eq!(received.len(), 1, "the job's message");
        let tenant = exports_shared::model::TenantId::new(exports_local::demo::DEMO_TENANT);
        let now = chrono::Utc::now();
        let lease = chrono::Duration::minutes(2);
        let Claim::Claimed(mut job) = claim(&store, &tenant, id, "killed-serve", now, lease)
            .await
            .expect("claim")
        else {
            panic!("the job is claimable")
        };
        assert!(
            report_progress(&store, &tenant, &mut job, "killed-serve", 250, now, lease)
                .await
                .expect("progress")
        );
        std::fs::write(
            dir.join("uploads")
                .join(format!("{}.part", uuid::Uuid::new_v4())),
            vec![b'x'; 8 * 1024 * 1024],
        )
        .expect("part file");
    });
}

fn part_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("uploads"))
        .expect("uploads/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".part"))
        .collect()
}

#[test]
fn a_job_running_when_serve_was_killed_is_finished_at_once_after_a_restart() {
    // GIVEN a seeded data dir whose `serve` was killed (SIGKILL) while it
    // ran a contacts export: the message in flight for 300 s, the job
    // `inProgress` under a lease held by the dead worker, a part file left
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = start_serve(dir.path());
    drop(first);
    let key = std::fs::read_to_string(dir.path().join("demo-api-key"))
        .expect("the demo API key")
        .trim()
        .to_string();
    let created = create_export_offline(dir.path(), &key);
    let id = created["id"].as_str().expect("id").to_string();
    leave_a_killed_worker_behind(dir.path(), &id);
    assert_eq!(part_files(dir.path()).len(), 1);

    // WHEN `serve` starts again on the same data dir
    let started = Instant::now();
    let (_second, port) = start_serve(dir.path());

    // THEN the job is finished within seconds, not after the 300 s
    // visibility timeout or the 2-minute lease
    let export = loop {
        let (status, body) = get(port, &format!("/exports/{id}"), &key);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let export: Value = serde_json::from_slice(&body).expect("Export JSON");
        if export["status"] == "finished" {
            break export;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not finished 30 s after the restart: {export}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(export["rows"].as_u64().is_some_and(|r| r > 0), "{export}");
    // AND the dead worker's part file is gone, and this run left none
    assert_eq!(part_files(dir.path()), Vec::<String>::new());
}

#[test]
fn a_second_serve_on_the_same_data_dir_refuses_to_start() {
    // GIVEN a `serve` running on a data dir
    let dir = tempfile::tempdir().unwrap();
    let (_first, _) = start_serve(dir.path());
    // WHEN another `serve` starts on the same data dir
    let mut second = bin()
        .args(["serve", "--data-dir", dir.path().to_str().expect("UTF-8")])
        .args(["--port", &free_port().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the second serve");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = second.kill();
            let _ = second.wait();
            panic!("the second serve kept running");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // THEN it exits with an error naming the other process's lock
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(!status.success());
    assert!(
        stderr.contains("another exports-local process") && stderr.contains("worker.lock"),
        "{stderr}"
    );
}
