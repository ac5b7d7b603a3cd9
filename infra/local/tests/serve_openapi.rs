//! `exports-local serve` answers the OpenAPI document at `/openapi.json`
//! and `/openapi.yaml`, outside the API Gateway routes, so a client can
//! import it from the running server.

mod support;

use serde_json::{json, Value};
use support::{request, start_serve};

#[test]
fn the_openapi_document_is_served_as_json_and_yaml() {
    // GIVEN a fresh serve
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_serve(dir.path());

    // WHEN the document is fetched in both forms
    let (status, json_bytes) = request(port, "GET", "/openapi.json", &[], None);
    assert_eq!(status, 200);
    let (status, yaml_bytes) = request(port, "GET", "/openapi.yaml", &[], None);
    assert_eq!(status, 200);

    // THEN both parse, and hold the same document
    let from_json: Value = serde_json::from_slice(&json_bytes).expect("JSON");
    let yaml = String::from_utf8(yaml_bytes).expect("UTF-8");
    let from_yaml = exports_local::openapi::parse(&yaml).expect("YAML");
    assert_eq!(from_json, from_yaml);
    assert_eq!(from_json["openapi"], "3.1.0");

    // AND its paths hold every route the server routes to a function
    let paths = from_json["paths"].as_object().expect("paths");
    for route in [
        sync_export::ROUTES,
        export_logs::ROUTES,
        config_api::ROUTES,
        bulk_export_api::ROUTES,
    ]
    .concat()
    {
        let method = route.method.to_ascii_lowercase();
        assert!(
            paths
                .get(route.path)
                .is_some_and(|item| item.get(&method).is_some()),
            "{} is not in /openapi.json",
            route.key()
        );
    }

    // AND another method is no route: API Gateway's 404
    let (status, bytes) = request(port, "POST", "/openapi.json", &[], Some(b"{}"));
    assert_eq!(status, 404);
    let body: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(body, json!({"message": "Not Found"}));
}
