//! The `exports-local` binary as a user runs it: token, seed, import.

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exports-local"));
    c.env_remove("EXPORTS_JWT_SECRET")
        .env_remove("EXPORTS_DATA_DIR")
        .env("RUST_LOG", "warn");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("run exports-local");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn token_prints_a_jwt_the_service_accepts() {
    // GIVEN the dev secret, WHEN a token is minted
    let (code, out, _) = run(bin().args([
        "token",
        "--tenant",
        "t-1",
        "--role",
        "TENANT_ADMIN",
        "--ttl",
        "60",
    ]));
    assert_eq!(code, 0);
    // THEN the service's verifier accepts it with those claims
    let verifier = exports_shared::auth::JwtVerifier::new(exports_shared::auth::JwtConfig::hs256(
        exports_local::DEV_JWT_SECRET.as_bytes(),
        "exports-local",
        "exports-api",
    ));
    let claims = verifier.verify(out.trim()).expect("valid token");
    assert_eq!(claims.tenant_uuids, ["t-1"]);
    assert_eq!(claims.roles, ["TENANT_ADMIN"]);
}

#[test]
fn import_reports_bad_lines_by_number_and_loads_nothing_without_skip_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("contacts.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"id\":\"c-1\",\"firstName\":\"Ana\",\"netWorth\":10.5,\"createdAt\":\"2024-01-01T00:00:00Z\"}\n",
            "{\"id\":\"c-2\",\"netWorth\":\"lots\"}\n",
            "\n",
            "not json\n",
            "{\"firstName\":\"no id\",\"shoeSize\":9}\n",
            "{\"id\":\"c-3\",\"birthDate\":\"1990-02-30\"}\n",
            "{\"id\":\"c-4\",\"isActive\":\"true\",\"stageName\":\"client\"}\n",
        ),
    )
    .unwrap();
    let (code, _, err) = run(bin().args(["seed", "--data-dir"]).arg(&data).args([
        "--tenant",
        "t-1",
        "--contacts",
        "0",
        "--organisations",
        "0",
        "--households",
        "0",
    ]));
    assert_eq!(code, 0, "{err}");

    // WHEN a file with bad lines is imported without --skip-invalid
    let (code, _, err) = run(bin()
        .arg("import")
        .arg("--data-dir")
        .arg(&data)
        .args(["--tenant", "t-1", "--entity", "contacts"])
        .arg(&file));
    // THEN it fails, naming each bad line, and loads nothing
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("line 2: netWorth: expected a number, got \"lots\""),
        "{err}"
    );
    assert!(err.contains("line 4: invalid JSON"), "{err}");
    assert!(err.contains("line 5: id: a string id is required"), "{err}");
    assert!(
        err.contains("line 5: shoeSize: unknown column 'shoeSize' for contacts"),
        "{err}"
    );
    assert!(
        err.contains("line 6: birthDate: expected a date as YYYY-MM-DD"),
        "{err}"
    );
    assert!(err.contains("Nothing imported: 4 invalid line(s)"), "{err}");
    assert_eq!(count_contacts(&data), 0);

    // WHEN imported with --skip-invalid, THEN the two good lines load
    let (code, out, err) = run(bin()
        .arg("import")
        .arg("--data-dir")
        .arg(&data)
        .args(["--tenant", "t-1", "--entity", "contacts", "--skip-invalid"])
        .arg(&file));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Imported 2 contacts into tenant t-1 (4 invalid line(s) skipped)"),
        "{out}"
    );
    assert_eq!(count_contacts(&data), 2);
}

#[test]
fn seed_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for dir in [&a, &b] {
        let (code, out, err) = run(bin().arg("seed").arg("--data-dir").arg(dir.path()).args([
            "--tenant",
            "t-9",
            "--contacts",
            "1500",
            "--organisations",
            "20",
            "--households",
            "30",
            "--seed",
            "7",
        ]));
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(
                "Seeded tenant t-9: 1500 contacts, 20 organisations, 30 households (seed 7)"
            ),
            "{out}"
        );
    }
    assert_eq!(dump(a.path()), dump(b.path()));
    assert_eq!(count_contacts_in(a.path(), "t-9"), 1500);
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn all_contacts(dir: &std::path::Path, tenant: &str) -> Vec<exports_shared::model::Record> {
    use exports_shared::store::EntitySource;
    rt().block_on(async {
        let store = exports_shared::store::embedded::EmbeddedStore::open(dir).unwrap();
        let tenant = exports_shared::model::TenantId::new(tenant);
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .page(
                    &tenant,
                    exports_shared::model::EntityKind::Contacts,
                    cursor,
                    500,
                )
                .await
                .unwrap();
            out.extend(page.records);
            match page.next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        out
    })
}

fn count_contacts(dir: &std::path::Path) -> usize {
    all_contacts(dir, "t-1").len()
}

fn count_contacts_in(dir: &std::path::Path, tenant: &str) -> usize {
    all_contacts(dir, tenant).len()
}

fn dump(dir: &std::path::Path) -> Vec<String> {
    all_contacts(dir, "t-9")
        .into_iter()
        .map(|r| serde_json::to_string(&r.data).unwrap())
        .collect()
}

#[test]
fn options_are_managed_and_reference_data_loaded_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let options = |args: &[&str]| {
        let mut c = bin();
        c.args(["options", "--data-dir", &data, "--tenant", "t-1"])
            .args(args);
        run(&mut c)
    };
    // GIVEN a new stage, WHEN it is added, disabled and listed
    let (code, out, err) = options(&["add", "stages", "won", "--name", "Won"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"code\": \"won\""), "{out}");
    let (code, _, err) = options(&["disable", "stages", "won"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = options(&["list", "stages"]);
    assert_eq!(code, 0);
    // THEN the list shows it disabled, not deleted
    let list: serde_json::Value = serde_json::from_str(&out).expect("JSON list");
    assert_eq!(list[0]["code"], "won");
    assert_eq!(list[0]["enabled"], false);
    assert_eq!(list[0]["deleted"], false);
    // AND an unknown code or list is refused with a message
    let (code, _, err) = options(&["delete", "stages", "nope"]);
    assert_ne!(code, 0);
    assert!(err.contains("no option with code 'nope'"), "{err}");
    let (code, _, err) = options(&["list", "colours"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("expected stages, sources or segments"),
        "{err}"
    );
    // WHEN the reference data is loaded, THEN it says how much
    let (code, out, err) = run(bin().args(["load-reference", "--data-dir", &data]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("249 countries"), "{out}");
}
