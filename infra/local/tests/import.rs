//! `exports-local import` as a user runs it: a file loads whole or not at
//! all, even when the process is killed part-way, and activities load with
//! the same rules and come back out of the bulk activities export.

use exports_shared::model::{EntityKind, TenantId};
use exports_shared::query::{EntityQuery, Window};
use exports_shared::store::embedded::EmbeddedStore;
use exports_shared::store::{ActivityStore, EntitySource};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exports-local"));
    c.env_remove("EXPORTS_JWT_SECRET")
        .env_remove("EXPORTS_DATA_DIR")
        .env_remove("EXPORTS_BACKEND")
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

fn import(data: &Path, tenant: &str, kind: &str, file: &Path) -> Command {
    let mut c = bin();
    c.arg("import")
        .arg("--data-dir")
        .arg(data)
        .args(["--tenant", tenant, "--entity", kind])
        .arg(file);
    c
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The tenant's contacts as the server sees them: the store opened on the
/// data directory, an unfiltered count.
fn contacts_seen(data: &Path, tenant: &str) -> u64 {
    rt().block_on(async {
        let store = EmbeddedStore::open(data).expect("open the data directory");
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

/// The tenant's activities of 2026-10-01..2026-10-03 (UTC) in store order.
fn activities_seen(data: &Path, tenant: &str) -> Vec<exports_shared::model::Record> {
    rt().block_on(async {
        let store = EmbeddedStore::open(data).expect("open the data directory");
        let mut out = Vec::new();
        for day in 1..=3 {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 10, day).expect("date");
            let (page, _) = store
                .activities_of_day(&TenantId::new(tenant), day, None, 1_000)
                .await
                .expect("read activities");
            out.extend(page);
        }
        out
    })
}

/// A file of `n` valid contact lines.
fn contacts_file(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for i in 0..n {
        writeln!(
            f,
            r#"{{"id":"c-{i:07}","firstName":"Ana {i}","paternalLastName":"Rojas","preferredEmail":"ana{i}@example.com","stage":"client","netWorth":{i}.5,"isActive":true,"createdAt":"2024-01-01T00:00:00Z"}}"#
        )
        .expect("write");
    }
    f.flush().expect("flush");
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn a_killed_import_loads_nothing_and_a_full_run_loads_every_line() {
    // GIVEN a file of 200,000 valid contacts
    const LINES: usize = 200_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let file = dir.path().join("contacts.jsonl");
    contacts_file(&file, LINES);

    // WHEN its import is killed (SIGKILL) once it has written a few MiB
    let mut child = import(&data, "t-crash", "contacts", &file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn import");
    let wal = data.join("exports.sqlite3-wal");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        assert!(
            child.try_wait().expect("poll import").is_none(),
            "the import ended before it could be killed; use a larger file"
        );
        if file_len(&wal) > 4 << 20 {
            break;
        }
        assert!(Instant::now() < deadline, "the import wrote nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    // THEN the server, opening the data directory, sees none of the file
    assert_eq!(contacts_seen(&data, "t-crash"), 0);

    // WHEN the same file is imported to the end
    let started = Instant::now();
    let (code, out, err) = run(&mut import(&data, "t-crash", "contacts", &file));
    eprintln!("{LINES} lines imported in {:?}", started.elapsed());
    // THEN every line is there
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Imported 200000 contacts into tenant t-crash (0 invalid line(s) skipped)"),
        "{out}"
    );
    assert_eq!(contacts_seen(&data, "t-crash"), LINES as u64);
}

#[test]
fn an_invalid_line_after_many_batches_loads_nothing_without_skip_invalid() {
    // GIVEN 2,500 valid contacts (several batches) and then an invalid one
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let file = dir.path().join("contacts.jsonl");
    contacts_file(&file, 2_500);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .expect("open");
    writeln!(f, r#"{{"id":"c-bad","netWorth":"lots"}}"#).expect("write");
    drop(f);

    // WHEN it is imported without --skip-invalid
    let (code, _, err) = run(&mut import(&data, "t-1", "contacts", &file));
    // THEN it fails naming the line, and nothing is visible
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("line 2501: netWorth: expected a number, got \"lots\""),
        "{err}"
    );
    assert!(err.contains("Nothing imported: 1 invalid line(s)"), "{err}");
    assert_eq!(contacts_seen(&data, "t-1"), 0);

    // WHEN it is imported with --skip-invalid, THEN the valid lines load
    let (code, out, err) = run(import(&data, "t-1", "contacts", &file).arg("--skip-invalid"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Imported 2500 contacts"), "{out}");
    assert_eq!(contacts_seen(&data, "t-1"), 2_500);
}

const ACTIVITIES: &str = concat!(
    r#"{"id":"a-3","contactId":"c-1","contactEmail":"ana@example.com","segmentId":"vip","activityType":"purchase","occurredAt":"2026-10-02T09:30:00-03:00","channel":"web","amount":1250.5,"currency":"CLP","metadata":{"campaign":"spring"}}"#,
    "\n",
    r#"{"id":"a-1","contactId":"c-1","activityType":"emailSent","occurredAt":"2026-10-01T08:00:00Z","channel":"email"}"#,
    "\n\n",
    r#"{"id":"a-2","contactId":"c-2","contactEmail":null,"activityType":"call","occurredAt":"2026-10-01T17:45:10Z"}"#,
    "\n",
);

#[test]
fn activities_import_and_come_out_of_the_bulk_export_in_time_order() {
    // GIVEN a JSON-lines file of three activities, out of time order
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let file = dir.path().join("activities.jsonl");
    std::fs::write(&file, ACTIVITIES).expect("write");

    // WHEN it is imported as activities
    let (code, out, err) = run(&mut import(&data, "t-act", "activities", &file));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Imported 3 activities into tenant t-act (0 invalid line(s) skipped)"),
        "{out}"
    );

    // THEN the store holds them by day in time order, the time in UTC
    let stored = activities_seen(&data, "t-act");
    let ids: Vec<&str> = stored.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a-1", "a-2", "a-3"]);
    assert_eq!(stored[2].get("occurredAt"), "2026-10-02T12:30:00Z");
    assert_eq!(stored[2].get("amount"), 1250.5);
    assert_eq!(stored[2].get("metadata")["campaign"], "spring");
    assert!(stored[1].data.get("contactEmail").is_none());

    // AND the bulk activities export writes them, in time order, with their values
    let body = r#"{"exportType":"activities","dateFormat":"ISO","delimiter":",","version":"v2","filters":{"fromDate":"2026-10-01T00:00:00Z","toDate":"2026-10-03T00:00:00Z"}}"#;
    let (code, out, err) = run(bin()
        .arg("bulk-run")
        .arg("--data-dir")
        .arg(&data)
        .args(["--tenant", "t-act", "--body", body]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rows 3 "), "{out}");
    let key = out.trim().rsplit(" file ").next().expect("file key");
    let csv = std::fs::read_to_string(data.join("files").join(key)).expect("the export file");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header,
        [
            "id",
            "contactId",
            "contactEmail",
            "activityType",
            "occurredAt",
            "channel",
            "amount",
            "currency",
            "metadata",
            "segmentId",
            "segmentName"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_string).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec![
                "a-1",
                "c-1",
                "",
                "emailSent",
                "2026-10-01T08:00:00+00:00",
                "email",
                "",
                "",
                "",
                "",
                ""
            ],
            vec![
                "a-2",
                "c-2",
                "",
                "call",
                "2026-10-01T17:45:10+00:00",
                "",
                "",
                "",
                "",
                "",
                ""
            ],
            vec![
                "a-3",
                "c-1",
                "ana@example.com",
                "purchase",
                "2026-10-02T12:30:00+00:00",
                "web",
                "1250.5",
                "CLP",
                r#"{"campaign":"spring"}"#,
                "vip",
                "vip"
            ],
        ]
    );
}

#[test]
fn an_invalid_activity_loads_nothing_and_names_its_line() {
    // GIVEN one valid activity and five invalid ones
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let file = dir.path().join("activities.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"id":"a-1","contactId":"c-1","activityType":"call","occurredAt":"2026-10-01T08:00:00Z"}"#,
            "\n",
            r#"{"id":"a-2","contactId":"c-1","activityType":"fax","occurredAt":"2026-10-01T08:00:00Z"}"#,
            "\n",
            r#"{"id":"a-3","contactId":"c-1","activityType":"call","occurredAt":"2026-10-01 08:00"}"#,
            "\n",
            r#"{"id":"a-4","activityType":"meeting","occurredAt":"2026-10-01T08:00:00Z","colour":"red"}"#,
            "\n",
            r#"{"id":"a-5","contactId":"c-1","activityType":"purchase","occurredAt":"2026-10-01T08:00:00Z","amount":"12"}"#,
            "\n",
            r#"{"id":"","contactId":"c-1","occurredAt":"2026-10-01T08:00:00+25:00"}"#,
            "\n",
        ),
    )
    .expect("write");

    // WHEN it is imported as activities without --skip-invalid
    let (code, _, err) = run(&mut import(&data, "t-act", "activities", &file));
    // THEN it fails, naming each problem by line, and nothing is stored
    assert_eq!(code, 1, "{err}");
    for expected in [
        "line 2: activityType: must be one of emailSent, emailOpened, emailClicked, pageVisited, formSubmitted, purchase, call, meeting, got \"fax\"",
        "line 3: occurredAt: expected an RFC 3339 date-time with an offset, got \"2026-10-01 08:00\"",
        "line 4: contactId: a string contactId is required",
        "line 4: colour: unknown field for activities",
        "line 5: amount: expected a number, got \"12\"",
        "line 6: id: must be 1 to 128 characters",
        "line 6: occurredAt: expected an RFC 3339 date-time with an offset",
        "line 6: activityType: is required",
        "Nothing imported: 5 invalid line(s)",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(activities_seen(&data, "t-act").is_empty());

    // WHEN imported with --skip-invalid, THEN only the valid one loads
    let (code, out, err) = run(import(&data, "t-act", "activities", &file).arg("--skip-invalid"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Imported 1 activities"), "{out}");
    let ids: Vec<String> = activities_seen(&data, "t-act")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["a-1"]);
}

#[test]
fn import_help_lists_what_it_takes_and_what_a_crash_does() {
    // WHEN the import command's help is asked for
    let (code, out, err) = run(bin().args(["import", "--help"]));
    // THEN it names every kind it loads and says a killed import loads nothing
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("contacts, organisations, households or activities"),
        "{out}"
    );
    assert!(out.contains("a killed import loads nothing"), "{out}");
    // AND an unknown kind is refused with the same list
    let (code, _, err) = run(bin().args([
        "import",
        "--tenant",
        "t",
        "--entity",
        "organizations",
        "x.jsonl",
    ]));
    assert_ne!(code, 0);
    assert!(
        err.contains("expected contacts, organisations, households or activities"),
        "{err}"
    );
}
