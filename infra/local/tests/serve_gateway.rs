//! `exports-local serve` hands each function what API Gateway HTTP API
//! would: the query string and path parameters of the route that matched,
//! and API Gateway's own 404 for a request no route matches.

mod support;

use serde_json::{json, Value};
use support::{request, start_serve};

/// One request with the demo API key (and a JSON content type when it has
/// a body).
fn with_key(port: u16, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
    let auth = format!("apiKey {key}");
    let payload = body.map(Value::to_string);
    let (status, bytes) = request(
        port,
        method,
        path,
        &[("Authorization", &auth)],
        payload.as_deref().map(str::as_bytes),
    );
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

#[test]
fn the_bulk_list_pages_by_the_query_string_it_was_sent() {
    // GIVEN a fresh serve and three exports of the demo tenant
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve(dir.path());
    let key = std::fs::read_to_string(dir.path().join("demo-api-key"))
        .expect("the demo API key")
        .trim()
        .to_string();
    let body = json!({"exportType": "contacts", "dateFormat": "ISO", "delimiter": ","});
    let mut created = Vec::new();
    for _ in 0..3 {
        let (status, export) = with_key(port, "POST", "/exports", &key, Some(&body));
        assert_eq!(status, 201, "{export}");
        created.push(export["id"].as_str().expect("id").to_string());
    }

    // WHEN the second page of two is asked for over HTTP
    let (status, page) = with_key(port, "GET", "/exports?page=1&size=2", &key, None);

    // THEN one page comes back: the oldest export alone, with the paging
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["page"], 1, "{page}");
    assert_eq!(page["size"], 2, "{page}");
    assert_eq!(page["totalElements"], 3, "{page}");
    assert_eq!(page["totalPages"], 2, "{page}");
    let ids: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, vec![created[0].as_str()], "{page}");

    // AND a size of 0 is the handler's own 400, as on Lambda
    let (status, error) = with_key(port, "GET", "/exports?size=0", &key, None);
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("'size'"),
        "{error}"
    );
}

#[test]
fn a_request_no_route_matches_gets_api_gateways_404() {
    // GIVEN a fresh serve
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve(dir.path());

    // WHEN requests match no route of the template: an unknown path, a
    // known path with another method, a trailing slash the template lacks
    for (method, path) in [
        ("GET", "/nowhere"),
        ("GET", "/api/exports/contacts"),
        ("POST", "/api/industries"),
        ("GET", "/api/industries/"),
        ("DELETE", "/exports"),
    ] {
        let (status, bytes) = request(port, method, path, &[], None);

        // THEN each is API Gateway's own answer, before any function runs
        assert_eq!(status, 404, "{method} {path}");
        let body: Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(body, json!({"message": "Not Found"}), "{method} {path}");
    }
}
