//! `openapi/exports.yaml` against the handlers: every route a function
//! serves (its `ROUTES`, the routes `template.yaml` mounts it on) is an
//! operation of the document, and every operation of the document is a
//! route, with its path written exactly as `ROUTES` writes it. And every
//! call the README shows is an operation of the document, with examples.

use exports_shared::api::gateway::RouteKey;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The document, read from the repository and parsed.
fn document() -> Value {
    let text =
        std::fs::read_to_string(root().join("openapi/exports.yaml")).expect("openapi/exports.yaml");
    exports_local::openapi::parse(&text).expect("openapi/exports.yaml parses")
}

/// Every route of every function behind API Gateway.
fn handler_routes() -> Vec<RouteKey> {
    [
        sync_export::ROUTES,
        export_logs::ROUTES,
        config_api::ROUTES,
        bulk_export_api::ROUTES,
    ]
    .concat()
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `METHOD /path` of every operation of the document.
fn document_operations(doc: &Value) -> BTreeSet<String> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert(format!("{} {path}", method.to_ascii_uppercase()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_in_the_document_and_every_operation_is_a_route() {
    // GIVEN the document and the handlers' routes
    let doc = document();
    let in_document = document_operations(&doc);
    let in_handlers: BTreeSet<String> = handler_routes().iter().map(RouteKey::key).collect();
    assert!(!in_handlers.is_empty());

    // THEN each side holds exactly the other's routes
    let undocumented: Vec<&String> = in_handlers.difference(&in_document).collect();
    let unrouted: Vec<&String> = in_document.difference(&in_handlers).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from openapi/exports.yaml: {undocumented:?}; \
         operations of openapi/exports.yaml no handler serves: {unrouted:?}"
    );
}

/// Every operation of the document, with its `METHOD /path`.
fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((format!("{} {path}", method.to_ascii_uppercase()), op));
            }
        }
    }
    out
}

#[test]
fn every_operation_has_an_id_a_security_scheme_and_its_errors() {
    let doc = document();
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    let mut ids = BTreeSet::new();
    for (key, op) in operations(&doc) {
        let id = op["operationId"].as_str().expect("an operationId");
        assert!(ids.insert(id.to_string()), "{key}: operationId {id} twice");
        // One security scheme, a declared one: the JWT or the API key.
        let security = op["security"].as_array().expect("security");
        assert_eq!(security.len(), 1, "{key}");
        let scheme = security[0]
            .as_object()
            .and_then(|s| s.keys().next())
            .expect("a scheme");
        assert!(
            schemes.contains_key(scheme),
            "{key}: unknown scheme {scheme}"
        );
        // The JWT operations take the four context headers, required.
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["$ref"].as_str()).collect())
            .unwrap_or_default();
        let jwt = scheme == "bearerAuth";
        for header in ["TenantUuid", "UserEmail", "UserId", "UserType"] {
            let has = params.contains(&format!("#/components/parameters/{header}").as_str());
            assert_eq!(has, jwt, "{key}: context header {header}");
        }
        // Every operation answers 401 and 500 at least.
        let responses = op["responses"].as_object().expect("responses");
        for status in ["401", "500"] {
            assert!(responses.contains_key(status), "{key}: no {status}");
        }
    }
    // And the headers they name are required header parameters.
    for header in ["TenantUuid", "UserEmail", "UserId", "UserType"] {
        let p = &doc["components"]["parameters"][header];
        assert_eq!(p["in"], "header", "{header}");
        assert_eq!(p["required"], true, "{header}");
    }
}

#[test]
fn the_links_name_operations_of_the_document() {
    // GIVEN every link of every response (inline or a component)
    let doc = document();
    let ops = operations(&doc);
    let ids: BTreeSet<&str> = ops
        .iter()
        .filter_map(|(_, op)| op["operationId"].as_str())
        .collect();
    let mut links = Vec::new();
    let mut responses: Vec<&Value> = ops
        .iter()
        .flat_map(|(_, op)| op["responses"].as_object().expect("responses").values())
        .collect();
    responses.extend(
        doc["components"]["responses"]
            .as_object()
            .expect("components.responses")
            .values(),
    );
    for response in responses {
        if let Some(map) = response["links"].as_object() {
            links.extend(map.iter());
        }
    }
    // THEN each targets an operation that exists
    for (name, link) in &links {
        let target = link["operationId"].as_str().expect("operationId");
        assert!(ids.contains(target), "link {name}: no operation {target}");
    }
    // AND the flows are declared: create an export then GET it, create a
    // log then fetch and download it
    let targets: BTreeSet<&str> = links
        .iter()
        .filter_map(|(_, l)| l["operationId"].as_str())
        .collect();
    assert!(targets.contains("getBulkExport"), "{targets:?}");
    assert!(targets.contains("cancelBulkExport"), "{targets:?}");
    assert!(targets.contains("getExportLog"), "{targets:?}");
    let download = links
        .iter()
        .filter_map(|(_, l)| l["parameters"]["id"].as_str())
        .any(|id| id.ends_with(".csv"));
    assert!(download, "no link downloads an export log");
}

/// `(method, path)` of every curl in the README aimed at the local server.
fn readme_calls() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    // A command continues over lines ending in a backslash.
    let joined = readme.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let pieces: Vec<&str> = line.split("curl ").skip(1).collect();
        for piece in pieces {
            let Some(at) = piece.find("http://127.0.0.1:3000") else {
                continue;
            };
            let rest = &piece[at + "http://127.0.0.1:3000".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| !matches!(c, '"' | ' ' | '?' | '\''))
                .collect();
            let method = ["POST", "DELETE"]
                .into_iter()
                .find(|m| piece.contains(&format!("-X {m}")))
                .unwrap_or("GET");
            out.push((method.to_string(), path));
        }
    }
    out
}

/// Whether `path` (with shell variables such as `$LOG.csv`) fits the
/// document's path `template`, segment by segment.
fn fits(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// The text of `value` and of every component its `$ref`s name, and
/// theirs in turn.
fn expanded(doc: &Value, value: &Value) -> String {
    let mut text = value.to_string();
    let mut seen = BTreeSet::new();
    let mut pending = vec![value.clone()];
    while let Some(v) = pending.pop() {
        let mut refs = Vec::new();
        collect_refs(&v, &mut refs);
        for r in refs {
            if seen.insert(r.clone()) {
                let target = r
                    .strip_prefix('#')
                    .and_then(|p| doc.pointer(p))
                    .unwrap_or_else(|| panic!("{r} resolves to nothing"));
                text.push_str(&target.to_string());
                pending.push(target.clone());
            }
        }
    }
    text
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_call_of_the_readme_is_an_operation_with_examples() {
    // GIVEN the README's calls
    let doc = document();
    let calls = readme_calls();
    assert!(calls.len() >= 20, "{calls:?}");
    let ops = operations(&doc);
    for (method, path) in calls {
        // THEN each is an operation of the document (a literal path first,
        // as API Gateway prefers it)
        let found = ops
            .iter()
            .filter(|(key, _)| {
                let (m, template) = key.split_once(' ').expect("METHOD /path");
                m == method && fits(template, &path)
            })
            .min_by_key(|(key, _)| key.matches('{').count());
        let Some((key, op)) = found else {
            panic!("README calls {method} {path}, which openapi/exports.yaml lacks");
        };
        // AND it shows examples (in it or in the components it names)
        let text = expanded(&doc, op);
        assert!(
            text.contains("\"example\"") || text.contains("\"examples\""),
            "{key} has no example"
        );
    }
}
