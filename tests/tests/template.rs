//! `template.yaml` against the workspace: every function in the template has
//! a binary, every binary is in the template, and every HTTP route has a
//! sample event in `events/` that its handler serves.

use std::collections::{BTreeMap, BTreeSet};
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

/// The lines of the bulk worker's resource in the template.
fn worker_resource() -> String {
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
    worker.join("\n")
}

/// The actions of the worker's policy statements on `resource` (the text
/// after `Resource: `).
fn worker_actions_on(resource: &str) -> BTreeSet<String> {
    let worker = worker_resource();
    let lines: Vec<&str> = worker.lines().collect();
    let mut actions = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != format!("Resource: {resource}") {
            continue;
        }
        // The statement's Action line is above its Resource, below its Sid.
        let action = lines[..i]
            .iter()
            .rev()
            .take_while(|l| !l.trim_start().starts_with("- Sid:"))
            .find_map(|l| l.trim().strip_prefix("Action: "))
            .unwrap_or_else(|| panic!("no Action above Resource: {resource}"));
        actions.extend(
            action
                .trim_matches(['[', ']'])
                .split(',')
                .map(|a| a.trim().to_string()),
        );
    }
    actions
}

#[test]
fn the_bulk_worker_may_do_what_fan_out_asks_of_its_stores() {
    // GIVEN the worker's policies
    let table = worker_actions_on("!GetAtt ExportsTable.Arn");
    let bucket = worker_actions_on("!Sub ${ExportsBucket.Arn}/*/bulk/*");
    let queue = worker_actions_on("!GetAtt ExportJobsQueue.Arn");
    // THEN on the Exports table it can claim jobs, list a job's tasks and
    // ADD to the set of finished tasks
    for action in [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ] {
        assert!(table.contains(action), "{action} on Exports: {table:?}");
    }
    // AND on bulk files it can upload, read chunks back (ranged GetObject,
    // and the source side of UploadPartCopy), abort and delete
    for action in [
        "s3:PutObject",
        "s3:GetObject",
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
    ] {
        assert!(bucket.contains(action), "{action} on bulk/*: {bucket:?}");
    }
    // AND it can queue tasks and continuations
    assert!(queue.contains("sqs:SendMessage"), "{queue:?}");
}

#[test]
fn the_bulk_worker_runs_with_two_malloc_arenas() {
    // GIVEN the bulk worker's resource in the template
    let worker = worker_resource();
    // THEN it sets the malloc arena cap that `make bench` measures W4 with
    // (bench/src/workloads.rs, W4_MALLOC_ARENA_MAX)
    assert!(worker.contains("MALLOC_ARENA_MAX: \"2\""), "{worker}");
}

/// The `EXPORTS_*` string literals of a Rust file, or of those under a dir (test
/// modules included: a name only a test uses is harmless to set).
fn variables_named_in(path: &std::path::Path, out: &mut BTreeSet<String>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("source dir") {
            variables_named_in(&entry.expect("entry").path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        {
            let text = std::fs::read_to_string(path).expect("source");
            for piece in text.split("\"EXPORTS_").skip(1) {
                let name: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if piece[name.len()..].starts_with('"') {
                    out.insert(format!("EXPORTS_{name}"));
                }
            }
        }
    }
}

/// The variable names of one `Variables:` block starting after line `at`.
fn variables_block(lines: &[&str], at: usize) -> BTreeSet<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(lines[at]);
    lines[at + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > base)
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k.to_string()))
        .collect()
}

/// The variables the template gives the function built from `binary`:
/// the Globals' and its own.
fn template_variables(binary: &str) -> BTreeSet<String> {
    let t = template();
    let lines: Vec<&str> = t.lines().collect();
    let blocks: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim() == "Variables:")
        .collect();
    let globals = blocks[0];
    let resource = lines
        .iter()
        .position(|l| l.trim() == format!("Binary: {binary}"))
        .expect("the function's resource");
    let own = blocks.iter().find(|&&b| b > resource).copied();
    let next_resource = lines[resource..]
        .iter()
        .skip(1)
        .position(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
        .map_or(lines.len(), |p| resource + 1 + p);
    let mut out = variables_block(&lines, globals);
    if let Some(own) = own.filter(|&b| b < next_resource) {
        out.extend(variables_block(&lines, own));
    }
    out
}

#[test]
fn every_variable_a_function_uses_is_set_by_the_template() {
    use exports_shared::config::variables::VARIABLES;
    for binary in template_binaries() {
        // GIVEN the variables the configuration table says the function uses
        let uses: BTreeSet<&str> = VARIABLES
            .iter()
            .filter(|v| v.used_by.contains(&binary.as_str()))
            .map(|v| v.name)
            .collect();
        // WHEN compared with what the template sets for it
        let set = template_variables(&binary);
        let missing: Vec<&&str> = uses.iter().filter(|v| !set.contains(**v)).collect();
        // THEN nothing is left to its default by omission
        assert!(
            missing.is_empty(),
            "{binary} uses {missing:?}, which template.yaml does not set"
        );
        // AND the template sets nothing the configuration does not know
        let known: BTreeSet<&str> = VARIABLES.iter().map(|v| v.name).collect();
        let unknown: Vec<&String> = set
            .iter()
            .filter(|v| v.starts_with("EXPORTS_") && !known.contains(v.as_str()))
            .collect();
        assert!(unknown.is_empty(), "{binary}: template sets {unknown:?}");
    }
}

#[test]
fn every_variable_named_in_the_code_is_in_the_configuration_table() {
    use exports_shared::config::variables::{DEPRECATED, VARIABLES};
    // GIVEN every `"EXPORTS_*"` literal of the shared library and the functions
    let mut named = BTreeSet::new();
    variables_named_in(&root().join("shared/src"), &mut named);
    variables_named_in(&root().join("functions"), &mut named);
    // THEN each is a variable of the table (or a deprecated name of one)
    let known: BTreeSet<&str> = VARIABLES
        .iter()
        .map(|v| v.name)
        .chain(DEPRECATED.iter().map(|(old, _)| *old))
        .collect();
    let unknown: Vec<&String> = named
        .iter()
        .filter(|n| !known.contains(n.as_str()))
        .collect();
    assert!(unknown.is_empty(), "not in config::variables: {unknown:?}");
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_configuration_reads_the_environment() {
    // GIVEN the source of the shared library and of every function
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), &mut files);
    rust_files(&root().join("functions"), &mut files);
    let config = root().join("shared/src/config");
    // THEN no file outside shared/src/config calls std::env::var
    let readers: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(&config))
        .filter(|f| {
            let text = std::fs::read_to_string(f).expect("source");
            text.contains("std::env::var") || text.contains("env::var(")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        readers.is_empty(),
        "environment read outside config: {readers:?}"
    );
}

/// The `METHOD /path` routes of the HttpApi events of the function built
/// from `binary`.
fn template_routes(binary: &str) -> BTreeSet<String> {
    let t = template();
    let lines: Vec<&str> = t.lines().collect();
    let resource = lines
        .iter()
        .position(|l| l.trim() == format!("Binary: {binary}"))
        .expect("the function's resource");
    let end = lines[resource..]
        .iter()
        .skip(1)
        .position(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
        .map_or(lines.len(), |p| resource + 1 + p);
    let block: Vec<&str> = lines[resource..end].iter().map(|l| l.trim()).collect();
    block
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let method = l.strip_prefix("Method:")?.trim();
            let path = block.get(i + 1)?.strip_prefix("Path:")?.trim();
            Some(format!("{method} {path}"))
        })
        .collect()
}

#[test]
fn each_function_serves_exactly_the_routes_the_template_mounts_it_on() {
    // GIVEN the routes each function crate declares (exports-local serve
    // routes by them)
    let declared = [
        ("sync-export", sync_export::ROUTES),
        ("export-logs", export_logs::ROUTES),
        ("config-api", config_api::ROUTES),
        ("bulk-export-api", bulk_export_api::ROUTES),
    ];
    for (binary, routes) in declared {
        let keys: BTreeSet<String> = routes.iter().map(|r| r.key()).collect();
        // THEN they are the HttpApi events of its resource in the template
        assert_eq!(keys, template_routes(binary), "{binary}");
    }
    // AND the worker has none
    assert!(template_routes("bulk-export-worker").is_empty());
}

/// Each template parameter's `MinValue` and `MaxValue`, by name.
fn parameter_bounds() -> BTreeMap<String, (String, String)> {
    let text = template();
    let mut out = BTreeMap::new();
    let mut in_parameters = false;
    let mut current: Option<String> = None;
    let (mut min, mut max) = (None, None);
    let mut flush = |name: &Option<String>, min: &mut Option<String>, max: &mut Option<String>| {
        if let (Some(n), Some(lo), Some(hi)) = (name, min.take(), max.take()) {
            out.insert(n.clone(), (lo, hi));
        }
    };
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            flush(&current, &mut min, &mut max);
            current = None;
            in_parameters = line.trim_end() == "Parameters:";
            continue;
        }
        if !in_parameters {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            flush(&current, &mut min, &mut max);
            current = Some(name.trim_end_matches(':').trim().to_string());
        } else if let Some(v) = line.trim().strip_prefix("MinValue:") {
            min = Some(v.trim().to_string());
        } else if let Some(v) = line.trim().strip_prefix("MaxValue:") {
            max = Some(v.trim().to_string());
        }
    }
    flush(&current, &mut min, &mut max);
    out
}

#[test]
fn every_bounded_parameter_has_the_range_its_variable_accepts() {
    use exports_shared::config::variables::VARIABLES;
    // GIVEN the bounds of the template's numeric parameters
    let bounds = parameter_bounds();
    assert!(bounds.len() >= 9, "{bounds:?}");
    // WHEN each is followed to the variable it sets
    let mut checked = BTreeSet::new();
    for line in template().lines() {
        let line = line.trim();
        let Some((var, value)) = line.split_once(':') else {
            continue;
        };
        if !var.starts_with("EXPORTS_") {
            continue;
        }
        let Some(param) = value.split("!Ref ").nth(1).map(|p| {
            p.trim_end_matches([',', ']', ' '])
                .split([',', ' '])
                .next()
                .unwrap_or("")
        }) else {
            continue;
        };
        let Some((lo, hi)) = bounds.get(param) else {
            continue;
        };
        // THEN its bounds are the range the configuration accepts
        let variable = VARIABLES
            .iter()
            .find(|v| v.name == var)
            .unwrap_or_else(|| panic!("{var} is not in the configuration table"));
        assert_eq!(
            variable.range,
            format!("{lo} to {hi}"),
            "{param} bounds {var}"
        );
        checked.insert(param.to_string());
    }
    let unchecked: Vec<&String> = bounds.keys().filter(|p| !checked.contains(*p)).collect();
    assert!(
        unchecked.is_empty(),
        "bounded parameters that set no variable: {unchecked:?}"
    );
}
