//! `exports-local migrate` and `import` on the PostgreSQL entity source, as
//! a user runs them: the schema is created once, a file loads whole or not
//! at all, even when the process is killed part-way.
//!
//! Each test works in a fresh schema of the server `make test` starts
//! (`EXPORTS_TEST_DATABASE_URL`), named in the URL's `options`; fails
//! without it unless `EXPORTS_SKIP_PG=1`.

use exports_shared::model::{EntityKind, TenantId};
use exports_shared::query::{EntityQuery, Window};
use exports_shared::store::postgres::{PgOptions, PgStore};
use exports_shared::store::EntitySource;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The test server's URL, with a fresh schema first on its search path;
/// `None` when the PostgreSQL tests are skipped on purpose.
fn database_url() -> Option<String> {
    let Some(url) = std::env::var("EXPORTS_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        if std::env::var("EXPORTS_SKIP_PG").as_deref() == Ok("1") {
            return None;
        }
        panic!("EXPORTS_TEST_DATABASE_URL is not set: run `make unit`, or set EXPORTS_SKIP_PG=1");
    };
    let schema = format!("cli_{}", uuid::Uuid::new_v4().simple());
    rt().block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let running = tokio::spawn(connection);
        client
            // The name is ours (hex digits), not a value: it cannot be bound.
            .batch_execute(&["CREATE SCHEMA ", &schema].concat())
            .await
            .expect("create schema");
        drop(client);
        let _ = running.await;
    });
    let sep = if url.contains('?') { "&" } else { "?" };
    Some([url.as_str(), sep, "options=-c%20search_path%3D", &schema].concat())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn bin(url: &str, data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exports-local"));
    c.env_remove("EXPORTS_JWT_SECRET")
        .env_remove("EXPORTS_BACKEND")
        .env("EXPORTS_ENTITY_SOURCE", "postgres")
        .env("EXPORTS_DATABASE_URL", url)
        .env("EXPORTS_DATA_DIR", data)
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

/// The tenant's contacts in the database, as the service counts them.
fn contacts_seen(url: &str, tenant: &str) -> u64 {
    rt().block_on(async {
        let store = PgStore::connect(&PgOptions {
            config: url.parse().expect("url"),
            pool_size: 1,
            statement_timeout: Duration::from_secs(30),
        })
        .expect("pool");
        let mut q = EntityQuery::new(EntityKind::Contacts);
        q.window = Window::Range {
            offset: 0,
            limit: 1,
        };
        q.count = true;
        store
            .query(&TenantId::new(tenant), &q)
            .await
            .expect("count")
            .total
            .unwrap_or_default()
    })
}

/// A file of `n` valid contact lines, then `tail` as the last line.
fn contacts_file(path: &Path, n: usize, tail: Option<&str>) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for i in 0..n {
        writeln!(
            f,
            r#"{{"id":"c-{i:07}","firstName":"Ana {i}","paternalLastName":"Rojas","stage":"client","netWorth":{i}.5,"isActive":true,"createdAt":"2024-01-01T00:00:00Z"}}"#
        )
        .expect("write");
    }
    if let Some(tail) = tail {
        writeln!(f, "{tail}").expect("write");
    }
    f.flush().expect("flush");
}

#[test]
fn migrate_creates_the_schema_once() {
    let Some(url) = database_url() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // WHEN the schema is migrated twice
    let (code, out, err) = run(bin(&url, dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Applied PostgreSQL migrations: 1, 2."),
        "{out}"
    );
    let (code, out, err) = run(bin(&url, dir.path()).arg("migrate"));
    // THEN the second run has nothing to do
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("The PostgreSQL schema is up to date."),
        "{out}"
    );
    // AND without the PostgreSQL source, migrate says what it needs
    let (code, _, err) = run(bin(&url, dir.path())
        .env("EXPORTS_ENTITY_SOURCE", "backend")
        .arg("migrate"));
    assert_ne!(code, 0);
    assert!(err.contains("EXPORTS_ENTITY_SOURCE=postgres"), "{err}");
}

#[test]
fn an_import_loads_whole_or_not_at_all() {
    let Some(url) = database_url() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, err) = run(bin(&url, dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{err}");
    let import = |file: &Path| {
        let mut c = bin(&url, dir.path());
        c.args(["import", "--tenant", "t-pg", "--entity", "contacts"])
            .arg(file);
        c
    };

    // GIVEN a file whose last line is invalid
    let bad = dir.path().join("bad.jsonl");
    contacts_file(&bad, 3_000, Some(r#"{"id":"c-bad","netWorth":"lots"}"#));
    // WHEN it is imported, THEN nothing loads and the line is named
    let (code, _, err) = run(&mut import(&bad));
    assert_ne!(code, 0);
    assert!(err.contains("line 3001"), "{err}");
    assert_eq!(contacts_seen(&url, "t-pg"), 0);

    // GIVEN a large valid file, WHEN its import is killed part-way
    let file = dir.path().join("contacts.jsonl");
    contacts_file(&file, 200_000, None);
    let mut child = import(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn import");
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        child.try_wait().expect("poll import").is_none(),
        "the import ended before it could be killed; use a larger file"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    // THEN none of it is visible
    assert_eq!(contacts_seen(&url, "t-pg"), 0);

    // WHEN it runs to the end, THEN every line is there
    let (code, out, err) = run(&mut import(&file));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Imported 200000 contacts into tenant t-pg"),
        "{out}"
    );
    assert_eq!(contacts_seen(&url, "t-pg"), 200_000);
}
