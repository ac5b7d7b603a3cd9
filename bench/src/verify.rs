//! Checks an output file (ours or a peer's) against the generated rows: it
//! must open, hold the header and every row in order, and each cell must
//! hold the same value. Writers differ in how they spell a value in CSV
//! (`true`/`True`, `2024-01-15T08:00:00+00:00`/`2024-01-15 08:00:00+00:00`),
//! so CSV cells are compared as the column's type, not as bytes. Since every
//! output is compared with the same rows, ours and each peer hold the same
//! values as each other.

use crate::rows::SCHEMA;
use crate::Res;
use calamine::{open_workbook, Data, DataType, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use exports_shared::model::Value;
use std::path::Path;

fn parse_datetime(cell: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(cell)
        .or_else(|_| DateTime::parse_from_str(cell, "%Y-%m-%d %H:%M:%S%:z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn parse_date(cell: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(cell, "%Y-%m-%d")
        .or_else(|_| NaiveDateTime::parse_from_str(cell, "%Y-%m-%d %H:%M:%S").map(|t| t.date()))
        .ok()
}

/// Whether a CSV cell spells `truth`.
fn csv_cell_matches(cell: &str, truth: &Value) -> bool {
    match truth {
        Value::Null => cell.is_empty(),
        Value::Text(s) => cell == s,
        Value::Number(n) => cell.parse::<f64>().is_ok_and(|c| c == *n),
        Value::Bool(b) => cell.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Date(d) => parse_date(cell) == Some(*d),
        Value::DateTime(t) => parse_datetime(cell) == Some(*t),
    }
}

/// Checks a CSV file.
///
/// # Errors
/// The first difference found.
pub fn csv_file(path: &Path, truth: &[Vec<Value>]) -> Res<()> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)?;
    let mut records = r.records();
    let header = records.next().ok_or("empty file")??;
    let names: Vec<&str> = SCHEMA.iter().map(|c| c.name).collect();
    if header.iter().collect::<Vec<_>>() != names {
        return Err(format!("header {header:?}").into());
    }
    let mut n = 0usize;
    for (i, record) in records.enumerate() {
        let record = record?;
        let want = truth.get(i).ok_or_else(|| format!("extra row {}", i + 1))?;
        if record.len() != want.len() {
            return Err(format!("row {}: {} cells", i + 1, record.len()).into());
        }
        for (j, (cell, v)) in record.iter().zip(want).enumerate() {
            if !csv_cell_matches(cell, v) {
                return Err(format!(
                    "row {} column {}: {cell:?}, want {v:?}",
                    i + 1,
                    SCHEMA[j].name
                )
                .into());
            }
        }
        n += 1;
    }
    if n != truth.len() {
        return Err(format!("{n} rows, want {}", truth.len()).into());
    }
    Ok(())
}

/// Whether an XLSX cell holds `truth` (dates as Excel dates, to the second).
fn xlsx_cell_matches(cell: &Data, truth: &Value) -> bool {
    let at_second = |t: NaiveDateTime| {
        // Excel stores days as a float: round to the nearest second.
        let ms = t.and_utc().timestamp_millis();
        (ms + 500).div_euclid(1000)
    };
    match truth {
        Value::Null => matches!(cell, Data::Empty),
        Value::Text(s) => cell.get_string() == Some(s.as_str()),
        Value::Number(n) => cell.as_f64() == Some(*n) && !matches!(cell, Data::String(_)),
        Value::Bool(b) => matches!(cell, Data::Bool(c) if c == b),
        Value::Date(d) => {
            matches!(cell, Data::DateTime(_))
                && cell
                    .as_datetime()
                    .is_some_and(|t| at_second(t) == d.and_hms_opt(0, 0, 0).map_or(0, at_second))
        }
        Value::DateTime(t) => {
            matches!(cell, Data::DateTime(_))
                && cell
                    .as_datetime()
                    .is_some_and(|c| at_second(c) == t.timestamp())
        }
    }
}

/// Checks an XLSX file: every sheet starts with the header, and the data rows
/// of all sheets, in order, are the generated rows with their types.
///
/// # Errors
/// The first difference found, or when the file does not open.
pub fn xlsx_file(path: &Path, truth: &[Vec<Value>]) -> Res<()> {
    let mut wb: Xlsx<_> = open_workbook(path)?;
    let names: Vec<&str> = SCHEMA.iter().map(|c| c.name).collect();
    let mut i = 0usize;
    for sheet in wb.sheet_names() {
        let range = wb.worksheet_range(&sheet)?;
        let mut rows = range.rows();
        let header: Vec<String> = rows
            .next()
            .ok_or("sheet without header")?
            .iter()
            .map(ToString::to_string)
            .collect();
        if header != names {
            return Err(format!("{sheet}: header {header:?}").into());
        }
        for row in rows {
            let want = truth.get(i).ok_or_else(|| format!("extra row {}", i + 1))?;
            for (j, v) in want.iter().enumerate() {
                let cell = row.get(j).unwrap_or(&Data::Empty);
                if !xlsx_cell_matches(cell, v) {
                    return Err(format!(
                        "{sheet} row {} column {}: {cell:?}, want {v:?}",
                        i + 1,
                        SCHEMA[j].name
                    )
                    .into());
                }
            }
            i += 1;
        }
    }
    if i != truth.len() {
        return Err(format!("{i} rows, want {}", truth.len()).into());
    }
    Ok(())
}

/// Checks a bulk export's CSV (rows in shard order, not generated order):
/// its sha256 is `sha256`, its header holds every schema column (custom
/// fields as `custom:cf_{uuid}`), and it holds each generated row exactly
/// once, every schema cell equal to the generated value (found by id).
///
/// # Errors
/// The first difference found.
pub fn bulk_csv(path: &Path, truth: &[Vec<Value>], sha256: &str) -> Res<()> {
    use std::io::Read;
    let mut digest = exports_shared::store::files::Digest256::default();
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
    }
    let (_, got) = digest.finish();
    if got != sha256 {
        return Err(format!("sha256 {got}, job record says {sha256}").into());
    }
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)?;
    let mut records = r.records();
    let header = records.next().ok_or("empty file")??;
    let index: Vec<usize> = SCHEMA
        .iter()
        .map(|c| {
            let name = c.request_id();
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| format!("no column {name} in {header:?}"))
        })
        .collect::<Result<_, _>>()?;
    let by_id: std::collections::HashMap<&str, usize> = truth
        .iter()
        .enumerate()
        .filter_map(|(i, row)| match row.first() {
            Some(Value::Text(id)) => Some((id.as_str(), i)),
            _ => None,
        })
        .collect();
    let mut seen = vec![false; truth.len()];
    let mut n = 0usize;
    for record in records {
        let record = record?;
        n += 1;
        let id = record.get(index[0]).unwrap_or_default();
        let &i = by_id
            .get(id)
            .ok_or_else(|| format!("line {}: unknown id {id:?}", n + 1))?;
        if std::mem::replace(&mut seen[i], true) {
            return Err(format!("line {}: id {id} twice", n + 1).into());
        }
        for ((c, &j), v) in SCHEMA.iter().zip(&index).zip(&truth[i]) {
            let cell = record.get(j).unwrap_or_default();
            if !csv_cell_matches(cell, v) {
                return Err(format!("id {id} column {}: {cell:?}, want {v:?}", c.name).into());
            }
        }
    }
    if n != truth.len() {
        return Err(format!("{n} rows, want {}", truth.len()).into());
    }
    Ok(())
}
