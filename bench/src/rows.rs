//! The benchmark rows: generated once with a fixed seed into a shared CSV
//! file that every tool (ours and the Python peers) loads before it is timed.
//!
//! The schema follows the issue (an id, three high-cardinality strings of
//! 15–30 characters, a low-cardinality enum, two decimals, a date, a
//! date-time, a boolean and a 40-character note) mapped onto the contacts
//! column registry, so the real sync-export pipeline can render the same
//! rows: two of the fields are tenant custom fields (`score`, `note`).

use crate::Res;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use exports_shared::model::{CustomFieldDef, EntityKind, FieldType, Record, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map};
use std::io::Write;
use std::path::Path;

/// The custom NUMBER field holding the second decimal.
pub const CF_SCORE: &str = "b3c0b3c0-0000-4000-8000-000000005c02";
/// The custom STRING field holding the 40-character note.
pub const CF_NOTE: &str = "b3c0b3c0-0000-4000-8000-0000000000fe";

/// One column of the benchmark schema.
pub struct Column {
    /// The header every tool writes (and the column's label in requests).
    pub name: &'static str,
    /// Where the value lives in a contacts record: a standard id or a custom field uuid.
    pub registry_id: &'static str,
    pub custom: bool,
    pub ty: FieldType,
}

const fn col(name: &'static str, ty: FieldType) -> Column {
    Column {
        name,
        registry_id: name,
        custom: false,
        ty,
    }
}

const fn custom_col(name: &'static str, uuid: &'static str, ty: FieldType) -> Column {
    Column {
        name,
        registry_id: uuid,
        custom: true,
        ty,
    }
}

/// The schema, in file order.
pub const SCHEMA: [Column; 11] = [
    col("id", FieldType::String),
    col("firstName", FieldType::String),
    col("paternalLastName", FieldType::String),
    col("preferredEmail", FieldType::String),
    col("contactType", FieldType::String),
    col("netWorth", FieldType::Number),
    custom_col("score", CF_SCORE, FieldType::Number),
    col("birthDate", FieldType::Date),
    col("createdAt", FieldType::DateTime),
    col("isActive", FieldType::Boolean),
    custom_col("note", CF_NOTE, FieldType::String),
];

impl Column {
    /// The id a request names this column by.
    pub fn request_id(&self) -> String {
        if self.custom {
            format!("custom:cf_{}", self.registry_id)
        } else {
            self.registry_id.to_string()
        }
    }
}

/// The custom fields the benchmark tenant defines.
pub fn custom_fields() -> Vec<CustomFieldDef> {
    SCHEMA
        .iter()
        .filter(|c| c.custom)
        .map(|c| CustomFieldDef {
            uuid: c.registry_id.into(),
            entity: EntityKind::Contacts,
            key: c.name.into(),
            label: c.name.into(),
            field_type: c.ty,
            form_uuid: None,
        })
        .collect()
}

const CONTACT_TYPES: [&str; 3] = ["ACTIVE", "INACTIVE", "LEAD"];
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const ACCENTED: [&str; 6] = ["á", "é", "í", "ñ", "ó", "ü"];
const WORDS: [&str; 16] = [
    "call",
    "back",
    "about",
    "renewal",
    "portfolio",
    "meeting",
    "prefers",
    "email",
    "review",
    "quarterly",
    "notes",
    "follow",
    "up",
    "pending",
    "signed",
    "offer",
];

/// Lowercase letters (a few accented) of exactly `len` characters.
fn word(rng: &mut ChaCha8Rng, len: usize, out: &mut String) {
    for _ in 0..len {
        if rng.random_ratio(1, 40) {
            out.push_str(ACCENTED[rng.random_range(0..ACCENTED.len())]);
        } else {
            out.push(char::from(LETTERS[rng.random_range(0..LETTERS.len())]));
        }
    }
}

/// A capitalised name of 15–30 characters (two words).
fn name(rng: &mut ChaCha8Rng) -> String {
    let total = rng.random_range(15..=30usize);
    let first = rng.random_range(5..=total - 6);
    let mut s = String::with_capacity(total + 8);
    s.push(char::from(
        LETTERS[rng.random_range(0..26)].to_ascii_uppercase(),
    ));
    word(rng, first - 1, &mut s);
    s.push(' ');
    s.push(char::from(
        LETTERS[rng.random_range(0..26)].to_ascii_uppercase(),
    ));
    word(rng, total - first - 2, &mut s);
    s
}

/// An e-mail address of 15–30 characters.
fn email(rng: &mut ChaCha8Rng) -> String {
    let total = rng.random_range(15..=30usize);
    let domain = rng.random_range(4..=8usize);
    let local = total - domain - ".test".len() - 1;
    let mut s = String::with_capacity(total);
    for _ in 0..local {
        s.push(char::from(LETTERS[rng.random_range(0..26)]));
    }
    s.push('@');
    for _ in 0..domain {
        s.push(char::from(LETTERS[rng.random_range(0..26)]));
    }
    s.push_str(".test");
    s
}

/// A note of exactly 40 characters: words, sometimes a comma or quotes (so
/// CSV quoting is exercised), padded with dots.
fn note(rng: &mut ChaCha8Rng) -> String {
    let mut s = String::with_capacity(48);
    while s.chars().count() < 40 {
        if !s.is_empty() {
            s.push_str(match rng.random_range(0..20) {
                0 => ", ",
                1 => " \"",
                _ => " ",
            });
        }
        s.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    let mut out: String = s.chars().take(40).collect();
    if out.ends_with(' ') {
        out.pop();
        out.push('.');
    }
    out
}

/// A decimal with two places, as the `f64` every tool reads from the file.
fn decimal(rng: &mut ChaCha8Rng, min_cents: i64, max_cents: i64) -> f64 {
    rng.random_range(min_cents..=max_cents) as f64 / 100.0
}

/// Writes `count` rows from `seed` to `path` as CSV (ISO dates, RFC 3339
/// date-times in UTC, `true`/`false`, shortest round-trip decimals).
///
/// # Errors
/// When the file cannot be written.
pub fn generate(path: &Path, count: usize, seed: u64) -> Res<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = csv::Writer::from_writer(file);
    w.write_record(SCHEMA.iter().map(|c| c.name))?;
    let epoch = NaiveDate::from_ymd_opt(1940, 1, 1).ok_or("date")?;
    let created_from = Utc
        .with_ymd_and_hms(2015, 1, 1, 0, 0, 0)
        .single()
        .ok_or("date")?;
    for i in 0..count {
        let birth = epoch + chrono::Days::new(rng.random_range(0..65 * 365));
        let created =
            created_from + chrono::TimeDelta::seconds(rng.random_range(0..11 * 365 * 86_400));
        let record = [
            format!("c-{i:08}"),
            name(&mut rng),
            name(&mut rng),
            email(&mut rng),
            CONTACT_TYPES[rng.random_range(0..3)].to_string(),
            decimal(&mut rng, -100_000_000, 1_000_000_000).to_string(),
            decimal(&mut rng, 0, 10_000).to_string(),
            birth.format("%Y-%m-%d").to_string(),
            created.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
            rng.random_bool(0.7).to_string(),
            note(&mut rng),
        ];
        w.write_record(&record)?;
    }
    w.into_inner().map_err(|e| e.to_string())?.flush()?;
    Ok(())
}

/// Parses one file cell as the column's type (the inverse of [`generate`]).
///
/// # Errors
/// When the cell does not hold a value of that type.
pub fn parse_cell(ty: FieldType, cell: &str) -> Res<Value> {
    Ok(match ty {
        FieldType::String => Value::Text(cell.to_string()),
        FieldType::Number => Value::Number(cell.parse()?),
        FieldType::Boolean => Value::Bool(cell.parse()?),
        FieldType::Date => Value::Date(NaiveDate::parse_from_str(cell, "%Y-%m-%d")?),
        FieldType::DateTime => {
            Value::DateTime(DateTime::parse_from_rfc3339(cell)?.with_timezone(&Utc))
        }
    })
}

/// Loads the first `limit` rows of the file as typed values.
///
/// # Errors
/// When the file is missing, short, or holds a malformed cell.
pub fn load(path: &Path, limit: usize) -> Res<Vec<Vec<Value>>> {
    let mut r = csv::Reader::from_path(path)?;
    let mut rows = Vec::with_capacity(limit);
    for record in r.records().take(limit) {
        let record = record?;
        let row = SCHEMA
            .iter()
            .zip(record.iter())
            .map(|(c, cell)| parse_cell(c.ty, cell))
            .collect::<Res<Vec<Value>>>()?;
        rows.push(row);
    }
    if rows.len() < limit {
        return Err(format!(
            "{} holds {} rows, {limit} needed",
            path.display(),
            rows.len()
        )
        .into());
    }
    Ok(rows)
}

/// The row as a stored contacts record (JSON keyed by registry id).
pub fn to_record(row: &[Value]) -> Record {
    let mut data = Map::new();
    let mut id = String::new();
    for (c, v) in SCHEMA.iter().zip(row) {
        let key = if c.custom {
            format!("custom:cf_{}", c.registry_id)
        } else {
            c.registry_id.to_string()
        };
        let j = match v {
            Value::Null => serde_json::Value::Null,
            Value::Text(s) => json!(s),
            Value::Number(n) => json!(n),
            Value::Bool(b) => json!(b),
            Value::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            Value::DateTime(t) => json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        };
        if c.name == "id" {
            if let Value::Text(s) = v {
                id.clone_from(s);
            }
        }
        data.insert(key, j);
    }
    Record::new(id, data)
}
