//! A hostile client against `exports-local serve`: repeated JSON keys and
//! oversized bodies on every POST endpoint, each answered in its own API's
//! error shape and after authentication, as on Lambda.

mod support;

use serde_json::Value;
use support::{bin, request, start_serve};

const TENANT: &str = "3f1c9a52-6d1e-4c2b-9a57-0c5e2b7d4e10";
const USER: &str = "2080a55f-7c54-4381-83b7-279841984660";
const EMAIL: &str = "demo@exports.local";

/// Which error body an endpoint answers with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// The tabular `BE####` body.
    Tabular,
    /// A JSON:API error document.
    JsonApi,
    /// The bulk API's HttpError.
    Bulk,
}

/// Every POST endpoint, a valid body for it, and its error shape.
fn endpoints() -> Vec<(&'static str, &'static str, Shape)> {
    let export = r#"{"format":"CSV","viewState":{"columns":[{"id":"id","label":"Id"}]}}"#;
    let page = r#"{"page":0,"size":5}"#;
    let values = r#"{"field":"city","page":0,"size":5}"#;
    vec![
        ("/api/exports/contacts", export, Shape::Tabular),
        ("/api/exports/organisations", export, Shape::Tabular),
        ("/api/exports/households", export, Shape::Tabular),
        ("/api/contacts/filter", page, Shape::Tabular),
        ("/api/organisations/filter", page, Shape::Tabular),
        ("/api/households/filter", page, Shape::Tabular),
        ("/api/contacts/filter-values", values, Shape::Tabular),
        (
            "/api/v2/contacts/exports",
            r#"{"data":{"type":"export_logs","attributes":{"params":{}}}}"#,
            Shape::JsonApi,
        ),
        (
            "/exports",
            r#"{"exportType":"contacts","dateFormat":"ISO","delimiter":",","version":"v2"}"#,
            Shape::Bulk,
        ),
    ]
}

struct Client {
    port: u16,
    token: String,
    key: String,
}

impl Client {
    fn start(dir: &std::path::Path) -> (support::Server, Client) {
        let (server, port) = start_serve(dir);
        let out = bin().arg("token").output().expect("token");
        let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let key = std::fs::read_to_string(dir.join("demo-api-key"))
            .expect("the demo key")
            .trim()
            .to_string();
        (server, Client { port, token, key })
    }

    /// A POST with this endpoint's credentials (or none).
    fn post(&self, path: &str, shape: Shape, authed: bool, body: &[u8]) -> (u16, Value) {
        let bearer = format!("Bearer {}", self.token);
        let api_key = format!("apiKey {}", self.key);
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if authed {
            match shape {
                Shape::Bulk => headers.push(("Authorization", &api_key)),
                _ => headers.extend([
                    ("Authorization", bearer.as_str()),
                    ("x-tenant-uuid", TENANT),
                    ("x-user-email", EMAIL),
                    ("x-user-id", USER),
                    ("x-user-type", "TENANT_STAFF"),
                ]),
            }
        }
        let (status, bytes) = request(self.port, "POST", path, &headers, Some(body));
        // A served export is a file; an error is always JSON.
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            assert!(
                status < 300,
                "{path}: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
            Value::Null
        });
        (status, json)
    }
}

/// The message or detail text of an error body, in its shape.
fn error_text(shape: Shape, body: &Value) -> String {
    match shape {
        Shape::Tabular => format!("{} {}", body["errorCode"], body["details"]),
        Shape::JsonApi => body["errors"][0].to_string(),
        Shape::Bulk => format!("{} {}", body["message"], body["errors"]),
    }
}

fn assert_shape(shape: Shape, status: u16, body: &Value, path: &str) {
    match shape {
        Shape::Tabular => assert_eq!(body["status"], status, "{path}: {body}"),
        Shape::JsonApi => assert_eq!(
            body["errors"][0]["status"],
            status.to_string(),
            "{path}: {body}"
        ),
        Shape::Bulk => assert_eq!(body["status"], status, "{path}: {body}"),
    }
}

#[test]
fn every_post_endpoint_refuses_a_repeated_key_by_name_and_serves_the_valid_body() {
    // GIVEN a fresh local server
    let dir = tempfile::tempdir().unwrap();
    let (_server, client) = Client::start(dir.path());
    for (path, body, shape) in endpoints() {
        // WHEN the valid body is sent, THEN it is served
        let (status, answer) = client.post(path, shape, true, body.as_bytes());
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        // WHEN its first key is repeated with another value
        let first = body[1..].split(':').next().unwrap();
        let doubled = format!("{{{first}:null,{}", &body[1..]);
        let (status, answer) = client.post(path, shape, true, doubled.as_bytes());
        // THEN it is a 400 naming the key, in the endpoint's own shape
        assert_eq!(status, 400, "{path}: {answer}");
        assert_shape(shape, 400, &answer, path);
        let key = first.trim_matches('"');
        let text = error_text(shape, &answer);
        assert!(
            text.contains(key) && text.contains("duplicate"),
            "{path}: {text}"
        );
    }
}

#[test]
fn an_oversized_body_is_refused_after_authentication_in_each_apis_shape() {
    // GIVEN a fresh local server and a 2 MB body (over the functions' 1 MiB)
    let dir = tempfile::tempdir().unwrap();
    let (_server, client) = Client::start(dir.path());
    let big = format!(
        r#"{{"format":"CSV","pad":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    for (path, _, shape) in endpoints() {
        // WHEN it is sent without credentials, THEN 401 comes first
        let (status, answer) = client.post(path, shape, false, big.as_bytes());
        assert_eq!(status, 401, "{path}: {answer}");
        assert_shape(shape, 401, &answer, path);
        // WHEN it is sent with credentials, THEN the endpoint's own 413
        let (status, answer) = client.post(path, shape, true, big.as_bytes());
        assert_eq!(status, 413, "{path}: {answer}");
        assert_shape(shape, 413, &answer, path);
    }
    // AND past API Gateway's 10 MB the gateway's own answer stops it
    let huge = vec![b' '; 10 * 1024 * 1024 + 1];
    let (status, answer) = client.post("/exports", Shape::Bulk, false, &huge);
    assert_eq!(status, 413);
    assert_eq!(answer["message"], "Request Entity Too Large");
}

#[test]
fn unknown_api_keys_from_one_address_are_throttled() {
    // GIVEN a fresh local server and a client guessing keys
    let dir = tempfile::tempdir().unwrap();
    let (_server, client) = Client::start(dir.path());
    let mut statuses = Vec::new();
    // WHEN it sends 40 random keys
    for i in 0..40 {
        let auth = format!("apiKey exk_guess_{i:04}");
        let (status, body) = request(
            client.port,
            "GET",
            "/exports",
            &[("Authorization", auth.as_str())],
            None,
        );
        statuses.push(status);
        if status == 429 {
            let body: Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(body["status"], 429, "{body}");
        }
    }
    // THEN the first ones are 401 and the rest 429
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    // AND a valid key from the same address waits too, so guessing stops
    // (other addresses are not affected: see `auth::api_key`'s unit tests)
    let key = format!("apiKey {}", client.key);
    let (status, _) = request(
        client.port,
        "GET",
        "/exports",
        &[("Authorization", &key)],
        None,
    );
    assert_eq!(status, 429);
}
