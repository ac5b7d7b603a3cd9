//! `exports-local serve` as a new user meets it: fetch the stages, use a
//! stage code in a v2 filter, page through the preview, export the same
//! filters, and get the same rows. Plain HTTP/1.1 over a TCP socket.

mod support;

use serde_json::{json, Value};
use support::{bin, request, start_serve};

const TENANT: &str = "3f1c9a52-6d1e-4c2b-9a57-0c5e2b7d4e10";
const USER: &str = "2080a55f-7c54-4381-83b7-279841984660";
const EMAIL: &str = "demo@exports.local";

/// One request with the demo user's token and context headers.
fn http(port: u16, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let auth = format!("Bearer {token}");
    let payload = body.map(Value::to_string);
    request(
        port,
        method,
        path,
        &[
            ("Authorization", &auth),
            ("x-tenant-uuid", TENANT),
            ("x-user-email", EMAIL),
            ("x-user-id", USER),
            ("x-user-type", "TENANT_STAFF"),
        ],
        payload.as_deref().map(str::as_bytes),
    )
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
    let (_server, port) = start_serve(dir.path());
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
