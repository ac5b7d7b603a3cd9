//! `template.yaml` against the workspace: every function in the template has
//! a binary, every binary is in the template, and every HTTP route has a
//! sample event in `events/` that its handler serves.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> String {
    std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml")
}

/// `Binary:` values of the template's `BuildProperties`.
fn template_binaries() -> BTreeSet<String> {
    template()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Binary:"))
        .map(|b| b.trim().to_string())
        .collect()
}

/// `[[bin]]` names of every crate under `functions/`.
fn function_binaries() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("functions")).expect("functions/") {
        let manifest = entry.expect("entry").path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).expect("Cargo.toml");
        let mut in_bin = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin {
                if let Some(name) = line.strip_prefix("name =") {
                    out.insert(name.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    out
}

#[test]
fn every_function_has_a_binary_and_every_binary_a_function() {
    let in_template = template_binaries();
    let in_workspace = function_binaries();
    assert!(!in_workspace.is_empty());
    assert_eq!(in_template, in_workspace);
    // And each function is built the cargo-lambda way for arm64.
    let t = template();
    assert_eq!(
        t.matches("BuildMethod: rust-cargolambda").count(),
        in_template.len()
    );
    assert!(t.contains("Runtime: provided.al2023"));
    assert!(t.contains("Architectures: [arm64]"));
    assert!(t.contains("Handler: bootstrap"));
}

#[test]
fn every_http_route_has_an_event_that_reaches_its_handler() {
    // Routes: `Method:` followed by `Path:` under each HttpApi event.
    let t = template();
    let lines: Vec<&str> = t.lines().map(str::trim).collect();
    let mut routes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(method) = line.strip_prefix("Method:") {
            let path = lines[i + 1]
                .strip_prefix("Path:")
                .expect("Path after Method")
                .trim();
            routes.push(format!("{} {}", method.trim(), path));
        }
    }
    assert!(!routes.is_empty());
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("events")).expect("events/") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("event");
        let json: serde_json::Value = serde_json::from_str(&text).expect("event is JSON");
        if let Some(route) = json["routeKey"].as_str() {
            covered.insert(route.to_string());
            // The event is a valid API Gateway v2 request.
            lambda_http::request::from_str(&text).expect("event parses as a Lambda HTTP request");
        }
    }
    for route in routes {
        assert!(
            covered.contains(&route),
            "no event in events/ for route {route}"
        );
    }
}

#[test]
fn the_sqs_event_carries_a_job_message() {
    let text = std::fs::read_to_string(root().join("events/bulk-export-worker-sqs.json"))
        .expect("sqs event");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let body = json["Records"][0]["body"].as_str().expect("body");
    let msg: exports_shared::store::JobMessage = serde_json::from_str(body).expect("a JobMessage");
    assert_eq!(msg.tenant.as_str(), exports_tests::TENANT_A);
}

#[test]
fn the_bulk_worker_runs_with_two_malloc_arenas() {
    // GIVEN the bulk worker's resource in the template
    let t = template();
    let starts_resource = |l: &str| l.starts_with("  ") && !l.starts_with("   ");
    let worker: Vec<&str> = t
        .lines()
        .skip_while(|l| *l != "  BulkExportWorkerFunction:")
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !starts_resource(l))
        .map(|(_, l)| l)
        .collect();
    assert!(worker.len() > 10, "worker resource not found");
    let worker = worker.join("\n");
    // THEN it sets the malloc arena cap that `make bench` measures W4 with
    // (bench/src/workloads.rs, W4_MALLOC_ARENA_MAX)
    assert!(worker.contains("MALLOC_ARENA_MAX: \"2\""), "{worker}");
}
