//! `exports-local serve` as a new user meets it: fetch the stages, use a
//! stage code in a v2 filter, page through the preview, export the same
//! filters, and get the same rows. Plain HTTP/1.1 over a TCP socket.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TENANT: &str = "3f1c9a52-6d1e-4c2b-9a57-0c5e2b7d4e10";
const USER: &str = "2080a55f-7c54-4381-83b7-279841984660";
const EMAIL: &str = "demo@exports.local";

/// The server, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exports-local"));
    c.env_remove("EXPORTS_JWT_SECRET")
        .env_remove("EXPORTS_DATA_DIR")
        .env_remove("EXPORTS_BACKEND")
        .env("RUST_LOG", "warn");
    c
}

/// One request; returns the status and the body.
fn http(port: u16, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nx-tenant-uuid: {TENANT}\r\nx-user-email: {EMAIL}\r\n\
         x-user-id: {USER}\r\nx-user-type: TENANT_STAFF\r\nContent-Length: {}\r\n",
        payload.len()
    );
    if body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(payload.as_bytes()).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let status = head[9..12].parse().expect("status");
    (status, raw[split + 4..].to_vec())
}

fn json_of(port: u16, method: &str, path: &str, token: &str, body: Option<&Value>) -> Value {
    let (status, bytes) = http(port, method, path, token, body);
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&bytes));
    serde_json::from_slice(&bytes).expect("JSON")
}

#[test]
fn a_new_user_filters_on_a_stage_pages_the_preview_and_exports_the_same_rows() {
    // GIVEN a fresh `exports-local serve` (it seeds the demo tenant)
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = bin()
        .args(["serve", "--data-dir", dir.path().to_str().unwrap()])
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("start serve");
    let _server = Server(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = bin().arg("token").output().expect("token");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // WHEN the user fetches the stages and takes an enabled one's code
    let stages = json_of(
        port,
        "GET",
        "/api/core/platformconfigs/v1/contacts/stages",
        &token,
        None,
    );
    let code = stages
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["enabled"] == true && s["deleted"] == false)
        .and_then(|s| s["code"].as_str())
        .expect("an enabled stage")
        .to_string();
    let filters = json!([{"field": "stageName", "operator": "in", "values": [code]},
        {"field": "isActive", "operator": "equals", "value": "true"}]);

    // AND pages through the preview, 20 at a time
    let mut preview = Vec::new();
    let mut page = 0;
    loop {
        let body =
            json!({"filters": filters, "page": page, "size": 20, "sort": ["createdAt,desc"]});
        let got = json_of(port, "POST", "/api/contacts/filter", &token, Some(&body));
        for row in got["content"].as_array().unwrap() {
            assert_eq!(row["stage"], code.as_str());
            assert_eq!(row["isActive"], true);
            preview.push(row["id"].as_str().unwrap().to_string());
        }
        page += 1;
        if page >= got["totalPages"].as_u64().unwrap() {
            assert_eq!(preview.len() as u64, got["totalElements"].as_u64().unwrap());
            break;
        }
    }
    assert!(preview.len() > 20, "several pages: {}", preview.len());

    // AND exports the same filters
    let export = json!({"format": "CSV", "filters": filters,
        "viewState": {"columns": [{"id": "id", "label": "id"}], "sort": {"field": "createdAt", "direction": "DESC"}}});
    let (status, csv) = http(port, "POST", "/api/exports/contacts", &token, Some(&export));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&csv));
    let exported: Vec<String> = String::from_utf8(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();

    // THEN the export's rows are the preview's, in the same order
    assert_eq!(exported, preview);
}
