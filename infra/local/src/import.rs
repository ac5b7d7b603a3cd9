//! `exports-local import`: load a user's own records from JSON lines.
//!
//! Each line is one JSON object keyed by export column ids (`firstName`,
//! `createdAt`, `custom:cf_{uuid}`, ...) with a string `id`. Every line is
//! validated before anything is written: a file with errors loads nothing
//! unless `skip_invalid` is set, in which case only the valid lines load.

use exports_shared::model::{resolve, CustomFieldDef, EntityKind, Record, TenantId, Value};
use exports_shared::store::{EntityWriter, StoreError, TenantConfigStore};
use serde_json::{Map, Value as Json};
use std::io::BufRead;

/// The longest record id accepted.
pub const MAX_ID_LEN: usize = 128;

/// The outcome of an import.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
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
}

/// Validates one line into a record with normalised values.
pub fn parse_line(
    line: &str,
    entity: EntityKind,
    custom_fields: &[CustomFieldDef],
) -> Result<Record, Vec<String>> {
    let object: Map<String, Json> = match serde_json::from_str::<Json>(line) {
        Ok(Json::Object(o)) => o,
        Ok(_) => return Err(vec!["expected a JSON object".into()]),
        Err(e) => return Err(vec![format!("invalid JSON: {e}")]),
    };
    let mut errors = Vec::new();
    let id = match object.get("id") {
        Some(Json::String(s)) if !s.trim().is_empty() && s.len() <= MAX_ID_LEN => {
            s.trim().to_string()
        }
        Some(Json::String(_)) => {
            errors.push(format!("id: must be 1 to {MAX_ID_LEN} characters"));
            String::new()
        }
        _ => {
            errors.push("id: a string id is required".into());
            String::new()
        }
    };
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

/// Reads, validates and (when allowed) writes every line.
///
/// # Errors
/// When the input cannot be read or the store fails; invalid lines are
/// reported in the [`ImportReport`], not as errors.
pub async fn import(
    input: impl BufRead,
    tenant: &TenantId,
    entity: EntityKind,
    config: &dyn TenantConfigStore,
    writer: &dyn EntityWriter,
    skip_invalid: bool,
) -> Result<ImportReport, ImportError> {
    let custom_fields = config.custom_fields(tenant, entity).await?;
    let mut report = ImportReport::default();
    let mut valid = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(&line, entity, &custom_fields) {
            Ok(record) => valid.push(record),
            Err(problems) => {
                report.skipped += 1;
                report
                    .errors
                    .extend(problems.into_iter().map(|p| format!("line {}: {p}", n + 1)));
            }
        }
    }
    if !report.errors.is_empty() && !skip_invalid {
        return Ok(report);
    }
    report.imported = valid.len();
    for chunk in valid.chunks(1_000) {
        writer.put_records(tenant, entity, chunk.to_vec()).await?;
    }
    Ok(report)
}
