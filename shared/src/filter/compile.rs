//! Compilation of client conditions against the column registry: fields
//! resolved, operators checked against the field's type, operands typed.

use super::{
    Condition, FilterCondition, FilterContext, FilterError, Operand, Operator, MAX_CONDITIONS,
    MAX_VALUES,
};
use crate::model::value::{parse_date, parse_datetime_utc};
use crate::model::{resolve, FieldType, ResolvedField, Value};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde_json::Value as Json;

/// Compiles conditions, collecting every problem rather than the first.
///
/// # Errors
/// All [`FilterError`]s found, each naming the condition and the part at fault.
pub fn compile(
    conditions: &[FilterCondition],
    ctx: &FilterContext<'_>,
) -> Result<Vec<Condition>, Vec<FilterError>> {
    if conditions.len() > MAX_CONDITIONS {
        return Err(vec![FilterError {
            path: "filters".into(),
            message: format!("at most {MAX_CONDITIONS} conditions are allowed"),
        }]);
    }
    let mut out = Vec::with_capacity(conditions.len());
    let mut errors = Vec::new();
    for (i, c) in conditions.iter().enumerate() {
        match compile_one(c, ctx) {
            Ok(cond) => out.push(cond),
            Err((part, message)) => errors.push(FilterError {
                path: format!("filters[{i}].{part}"),
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

type PartError = (&'static str, String);

fn compile_one(c: &FilterCondition, ctx: &FilterContext<'_>) -> Result<Condition, PartError> {
    let field = resolve(ctx.entity, &c.field, None, ctx.custom_fields)
        .map_err(|e| ("field", e.to_string()))?;
    let operator = Operator::parse(&c.operator).ok_or_else(|| {
        (
            "operator",
            format!(
                "unknown operator '{}'; expected one of {}",
                c.operator,
                Operator::ALL.map(|(n, _)| n).join(", ")
            ),
        )
    })?;
    if !operator.applies_to(field.field_type) {
        return Err((
            "operator",
            format!(
                "operator '{}' does not apply to {} field '{}'",
                operator.name(),
                field.field_type.as_str(),
                c.field
            ),
        ));
    }
    let operand = typed_operand(c, operator, &field, ctx)?;
    Ok(Condition {
        field,
        operator,
        operand,
    })
}

fn typed_operand(
    c: &FilterCondition,
    op: Operator,
    field: &ResolvedField,
    ctx: &FilterContext<'_>,
) -> Result<Operand, PartError> {
    use Operator::*;
    let one =
        |json: &Json, part: &'static str| typed_value(json, field, ctx).map_err(|m| (part, m));
    match op {
        IsEmpty | IsNotEmpty => {
            if c.value.is_some() || c.values.is_some() {
                return Err(("value", format!("'{}' takes no value", op.name())));
            }
            Ok(Operand::None)
        }
        In | NotIn => {
            let values = match (&c.values, &c.value) {
                (Some(v), None) => v,
                (None, Some(Json::Array(v))) => v,
                _ => {
                    return Err((
                        "values",
                        format!("'{}' needs a non-empty 'values' array", op.name()),
                    ))
                }
            };
            if values.is_empty() || values.len() > MAX_VALUES {
                return Err((
                    "values",
                    format!("'{}' needs 1 to {MAX_VALUES} values", op.name()),
                ));
            }
            let mut typed = Vec::with_capacity(values.len());
            for v in values {
                typed.extend(expand_option(one(v, "values")?, field, ctx));
            }
            Ok(Operand::Many(typed))
        }
        Between => {
            let values = match (&c.values, &c.value) {
                (Some(v), None) => v,
                (None, Some(Json::Array(v))) => v,
                _ => return Err(("values", "'between' needs 'values' with [from, to]".into())),
            };
            let [lo, hi] = values.as_slice() else {
                return Err((
                    "values",
                    "'between' needs exactly two values [from, to]".into(),
                ));
            };
            let (lo, hi) = (one(lo, "values")?, one(hi, "values")?);
            if lo.is_empty() || hi.is_empty() {
                return Err(("values", "'between' bounds must not be empty".into()));
            }
            if lo.cmp_same_type(&hi) == std::cmp::Ordering::Greater {
                return Err(("values", "'between' needs from <= to".into()));
            }
            Ok(Operand::Range(lo, hi))
        }
        _ => {
            if c.values.is_some() {
                return Err(("values", format!("'{}' takes a single 'value'", op.name())));
            }
            let v = c
                .value
                .as_ref()
                .ok_or_else(|| ("value", format!("'{}' needs a 'value'", op.name())))?;
            let typed = one(v, "value")?;
            if typed.is_empty() {
                return Err((
                    "value",
                    "must not be empty; use isEmpty or isNotEmpty".into(),
                ));
            }
            let expanded = expand_option(typed, field, ctx);
            Ok(match (op, expanded.len()) {
                (Equals | NotEquals, n) if n > 1 => Operand::Many(expanded),
                _ => Operand::One(expanded.into_iter().next().unwrap_or(Value::Null)),
            })
        }
    }
}

/// For option-list fields (stage, source, segment), a display name also
/// matches its code.
fn expand_option(v: Value, field: &ResolvedField, ctx: &FilterContext<'_>) -> Vec<Value> {
    let Value::Text(text) = &v else {
        return vec![v];
    };
    let code = ctx
        .options
        .iter()
        .filter(|(key, _)| *key == field.key)
        .flat_map(|(_, opts)| opts.iter())
        .find(|o| o.display_name.eq_ignore_ascii_case(text) && !o.code.eq_ignore_ascii_case(text))
        .map(|o| Value::Text(o.code.to_lowercase()));
    let mut out = vec![lower(v)];
    out.extend(code);
    out
}

fn lower(v: Value) -> Value {
    match v {
        Value::Text(s) => Value::Text(s.to_lowercase()),
        other => other,
    }
}

fn typed_value(
    json: &Json,
    field: &ResolvedField,
    ctx: &FilterContext<'_>,
) -> Result<Value, String> {
    if field.field_type == FieldType::DateTime {
        if let Json::String(s) = json {
            return parse_filter_datetime(s, ctx.timezone).map(Value::DateTime).ok_or_else(|| {
                format!(
                    "expected a date-time (RFC 3339, or YYYY-MM-DD[THH:MM:SS] in the request timezone), got \"{}\"",
                    truncate(s)
                )
            });
        }
    }
    if json.is_null() {
        return Err("must not be null; use isEmpty or isNotEmpty".into());
    }
    // Stored data may hold a number in a text field, but an operand says
    // what the client means: `true` is not the text "true".
    if field.field_type == FieldType::String && !json.is_string() {
        return Err(format!(
            "expected a string for {} field '{}', got {}",
            field.field_type.as_str(),
            field.key,
            json_kind(json)
        ));
    }
    Value::from_json(field.field_type, json)
        .map(lower)
        .map_err(|e| e.to_string())
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

pub(super) fn truncate(s: &str) -> &str {
    let end = s.char_indices().nth(60).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// DATE_TIME operands: RFC 3339 with an offset, or a local date-time or date
/// in the request's timezone (a date means its local midnight).
fn parse_filter_datetime(s: &str, tz: chrono_tz::Tz) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Some(t) = parse_datetime_utc(s) {
        return Some(t);
    }
    let local: NaiveDateTime = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S")
        .ok()
        .or_else(|| parse_date(s).and_then(|d: NaiveDate| d.and_hms_opt(0, 0, 0)))?;
    // In a DST gap, take the first valid instant after it.
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&chrono::Utc))
}
