//! `exports-local import`: load a user's own records from JSON lines.
//!
//! Each line is one JSON object. Contacts, organisations and households are
//! keyed by export column ids (`firstName`, `createdAt`, `custom:cf_{uuid}`,
//! ...) with a string `id`; activities hold the fields of
//! [`parse_activity`].
//!
//! A file loads whole or not at all: lines are read and checked one by one
//! on a blocking thread and streamed, a batch at a time, into one load of
//! the store ([`RecordLoad`](exports_shared::store::RecordLoad): one SQLite transaction), which is committed
//! only after the last line. A file with an invalid line loads nothing
//! unless `skip_invalid` is set, in which case only the valid lines load;
//! a process killed part-way loads nothing (on DynamoDB, which has no such
//! transaction, the file is checked whole before the first write, and a
//! killed import keeps what it wrote). Memory stays flat in the number of
//! lines (a few batches in flight, plus the error messages).

use chrono::{DateTime, SecondsFormat, Utc};
use exports_shared::api::bulk::ACTIVITY_TYPES;
use exports_shared::model::{resolve, CustomFieldDef, EntityKind, Record, TenantId, Value};
use exports_shared::store::{ActivityStore, EntityWriter, StoreError, TenantConfigStore};
use serde_json::{Map, Value as Json};
use std::fmt;
use std::io::BufRead;
use tokio::sync::mpsc;

/// The longest record id (and activity `contactId`) accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Records sent to the store at a time.
const BATCH: usize = 1_000;

/// What `import` takes, as `--entity` spells it.
pub const KINDS: &str = "contacts, organisations, households or activities";

/// What one import loads: an entity's records, or activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Entity(EntityKind),
    Activities,
}

impl ImportKind {
    /// Reads `contacts`, `organisations`, `households` or `activities`.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "activities" {
            return Some(ImportKind::Activities);
        }
        EntityKind::from_path(s).map(ImportKind::Entity)
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportKind::Entity(e) => e.fmt(f),
            ImportKind::Activities => f.write_str("activities"),
        }
    }
}

/// The stores an import reads and writes.
#[derive(Clone, Copy)]
pub struct ImportStores<'a> {
    pub config: &'a dyn TenantConfigStore,
    pub entities: &'a dyn EntityWriter,
    pub activities: &'a dyn ActivityStore,
}

/// The outcome of an import.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records loaded (0 when the file was refused).
    pub imported: usize,
    pub skipped: usize,
    /// `line N: problem`, one per problem.
    pub errors: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("could not read the input")]
    Io(#[from] std::io::Error),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("the reading thread failed")]
    Reader(#[from] tokio::task::JoinError),
}

/// A checked string id: trimmed, 1 to [`MAX_ID_LEN`] bytes.
fn parse_id(field: &str, value: Option<&Json>, errors: &mut Vec<String>) -> String {
    match value {
        Some(Json::String(s)) if !s.trim().is_empty() && s.trim().len() <= MAX_ID_LEN => {
            s.trim().to_string()
        }
        Some(Json::String(_)) => {
            errors.push(format!("{field}: must be 1 to {MAX_ID_LEN} characters"));
            String::new()
        }
        _ => {
            errors.push(format!("{field}: a string {field} is required"));
            String::new()
        }
    }
}

fn parse_object(line: &str) -> Result<Map<String, Json>, Vec<String>> {
    match serde_json::from_str::<Json>(line) {
        Ok(Json::Object(o)) => Ok(o),
        Ok(_) => Err(vec!["expected a JSON object".into()]),
        Err(e) => Err(vec![format!("invalid JSON: {e}")]),
    }
}

/// Validates one line into a record with normalised values.
///
/// # Errors
/// Every problem of the line, each as `field: problem`.
pub fn parse_line(
    line: &str,
    entity: EntityKind,
    custom_fields: &[CustomFieldDef],
) -> Result<Record, Vec<String>> {
    let object = parse_object(line)?;
    let mut errors = Vec::new();
    let id = parse_id("id", object.get("id"), &mut errors);
    let mut data = Map::new();
    for (key, value) in &object {
        if key == "id" {
            continue;
        }
        match resolve(entity, key, None, custom_fields) {
            Ok(field) => match Value::from_json(field.field_type, value) {
                Ok(v) => {
                    data.insert(field.key, v.to_json());
                }
                Err(e) => errors.push(format!("{key}: {e}")),
            },
            Err(e) => errors.push(format!("{key}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(Record::new(id, data))
    } else {
        Err(errors)
    }
}

/// The fields an activity line may hold.
pub const ACTIVITY_FIELDS: [&str; 10] = [
    "id",
    "contactId",
    "contactEmail",
    "segmentId",
    "activityType",
    "occurredAt",
    "channel",
    "amount",
    "currency",
    "metadata",
];

/// Validates one activity line into an activity record.
///
/// Required: `id` and `contactId` (strings of 1 to [`MAX_ID_LEN`] bytes),
/// `activityType` (one of [`ACTIVITY_TYPES`]) and `occurredAt` (RFC 3339
/// with an offset; stored in UTC). Optional: `contactEmail`, `segmentId`,
/// `channel` (strings), `amount` (a number) with `currency` (three
/// upper-case letters, ISO 4217) — both or neither, and both on a
/// `purchase` — and `metadata` (an object). `null` means absent; any other
/// field is an error.
///
/// # Errors
/// Every problem of the line, each as `field: problem`.
pub fn parse_activity(line: &str) -> Result<Record, Vec<String>> {
    let object = parse_object(line)?;
    let mut errors = Vec::new();
    let id = parse_id("id", object.get("id"), &mut errors);
    let mut data = Map::new();
    data.insert(
        "contactId".into(),
        Json::String(parse_id("contactId", object.get("contactId"), &mut errors)),
    );
    for (key, value) in &object {
        let key = key.as_str();
        if !ACTIVITY_FIELDS.contains(&key) {
            errors.push(format!("{key}: unknown field for activities"));
            continue;
        }
        if matches!(key, "id" | "contactId") || value.is_null() {
            continue;
        }
        let checked = match key {
            "activityType" => match value.as_str() {
                Some(t) if ACTIVITY_TYPES.contains(&t) => Ok(value.clone()),
                _ => Err(format!(
                    "must be one of {}, got {value}",
                    ACTIVITY_TYPES.join(", ")
                )),
            },
            "occurredAt" => value
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| {
                    Json::String(
                        t.with_timezone(&Utc)
                            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
                    )
                })
                .ok_or_else(|| {
                    format!("expected an RFC 3339 date-time with an offset, got {value}")
                }),
            "amount" => match value.as_f64() {
                Some(n) if n.is_finite() => Ok(value.clone()),
                _ => Err(format!("expected a number, got {value}")),
            },
            "currency" => match value.as_str() {
                Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => {
                    Ok(value.clone())
                }
                _ => Err(format!(
                    "expected a three-letter ISO 4217 code such as USD, got {value}"
                )),
            },
            "metadata" if value.is_object() => Ok(value.clone()),
            "metadata" => Err(format!("expected a JSON object, got {value}")),
            _ if value.is_string() => Ok(value.clone()),
            _ => Err(format!("expected a string, got {value}")),
        };
        match checked {
            Ok(v) => {
                data.insert(key.to_string(), v);
            }
            Err(e) => errors.push(format!("{key}: {e}")),
        }
    }
    for required in ["activityType", "occurredAt"] {
        if object.get(required).is_none_or(Json::is_null) {
            errors.push(format!("{required}: is required"));
        }
    }
    let has = |k: &str| object.get(k).is_some_and(|v| !v.is_null());
    if has("amount") != has("currency") {
        errors.push("amount, currency: give both or neither".into());
    } else if !has("amount") && object.get("activityType") == Some(&Json::from("purchase")) {
        errors.push("amount, currency: a purchase needs both".into());
    }
    if errors.is_empty() {
        Ok(Record::new(id, data))
    } else {
        Err(errors)
    }
}

/// Checks lines with the rules of one kind.
enum LineParser {
    Entity(EntityKind, Vec<CustomFieldDef>),
    Activities,
}

impl LineParser {
    fn parse(&self, line: &str) -> Result<Record, Vec<String>> {
        match self {
            LineParser::Entity(entity, fields) => parse_line(line, *entity, fields),
            LineParser::Activities => parse_activity(line),
        }
    }
}

/// Reads and checks every line, sending valid records in batches to
/// `sink` (when there is one) while they may load: no error yet, or
/// `skip_invalid`. Stops early when `sink` is closed. Runs on a blocking
/// thread.
fn read_lines(
    input: impl BufRead,
    parser: &LineParser,
    skip_invalid: bool,
    sink: Option<&mpsc::Sender<Vec<Record>>>,
) -> Result<ImportReport, std::io::Error> {
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(BATCH);
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match parser.parse(&line) {
            Ok(record) if skip_invalid || report.errors.is_empty() => {
                let Some(sink) = sink else { continue };
                batch.push(record);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if sink.blocking_send(full).is_err() {
                        return Ok(report);
                    }
                }
            }
            Ok(_) => {}
            Err(problems) => {
                report.skipped += 1;
                report
                    .errors
                    .extend(problems.into_iter().map(|p| format!("line {}: {p}", n + 1)));
                if !skip_invalid {
                    batch = Vec::new();
                }
            }
        }
    }
    if let Some(sink) = sink.filter(|_| !batch.is_empty()) {
        // A closed sink means the writer failed; it reports why.
        let _ = sink.blocking_send(batch);
    }
    Ok(report)
}

/// Reads, validates and (when allowed) loads every line of the input
/// `open` opens, all or nothing.
///
/// On a store whose load is one transaction ([`RecordLoad::all_or_nothing`](exports_shared::store::RecordLoad::all_or_nothing),
/// SQLite) the input is read once, records streaming into the load as they
/// are checked, and the load is dropped (rolled back) on an invalid line.
/// On one without (DynamoDB) the input is read twice: checked whole first,
/// then written, so a bad file writes nothing; a killed import there keeps
/// the batches it wrote.
///
/// # Errors
/// When the input cannot be read or the store fails (nothing is committed
/// then); invalid lines are reported in the [`ImportReport`], not as
/// errors.
pub async fn import<R, F>(
    open: F,
    tenant: &TenantId,
    kind: ImportKind,
    stores: ImportStores<'_>,
    skip_invalid: bool,
) -> Result<ImportReport, ImportError>
where
    R: BufRead,
    F: Fn() -> std::io::Result<R> + Send + 'static,
{
    let (parser, mut load) = match kind {
        ImportKind::Entity(entity) => {
            let fields = stores.config.custom_fields(tenant, entity).await?;
            (
                LineParser::Entity(entity, fields),
                stores.entities.begin_load(tenant, entity).await?,
            )
        }
        ImportKind::Activities => (
            LineParser::Activities,
            stores.activities.begin_activity_load(tenant).await?,
        ),
    };
    let check_first = !load.all_or_nothing();
    let (sink, mut batches) = mpsc::channel(2);
    let reader = tokio::task::spawn_blocking(move || {
        if check_first {
            let report = read_lines(open()?, &parser, skip_invalid, None)?;
            if !report.errors.is_empty() && !skip_invalid {
                return Ok(report);
            }
            read_lines(open()?, &parser, true, Some(&sink))?;
            return Ok(report);
        }
        read_lines(open()?, &parser, skip_invalid, Some(&sink))
    });
    while let Some(batch) = batches.recv().await {
        // On an error the load is dropped, so nothing is committed, and
        // the closed channel stops the reader.
        load.write(batch).await?;
    }
    let mut report: ImportReport = reader.await??;
    if !report.errors.is_empty() && !skip_invalid {
        drop(load);
        return Ok(report);
    }
    report.imported = usize::try_from(load.commit().await?).unwrap_or(usize::MAX);
    Ok(report)
}
