//! Typed cell values and the field types of the column registry.
//!
//! Records are stored as plain JSON objects keyed by column id. A value only
//! gets its type from the column it belongs to, so conversion always goes
//! through [`Value::from_json`] with the column's [`FieldType`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The data type of a column, as named in `viewState.columns[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldType {
    String,
    Date,
    DateTime,
    Number,
    Boolean,
}

impl FieldType {
    /// The wire name (`STRING`, `DATE_TIME`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "STRING",
            FieldType::Date => "DATE",
            FieldType::DateTime => "DATE_TIME",
            FieldType::Number => "NUMBER",
            FieldType::Boolean => "BOOLEAN",
        }
    }

    /// Parses a wire name; `None` when it is not one of the five types.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "STRING" => FieldType::String,
            "DATE" => FieldType::Date,
            "DATE_TIME" => FieldType::DateTime,
            "NUMBER" => FieldType::Number,
            "BOOLEAN" => FieldType::Boolean,
            _ => return None,
        })
    }
}

/// One typed cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

/// Why a JSON value does not fit a column's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {got}")]
pub struct ValueError {
    pub expected: &'static str,
    pub got: String,
}

impl ValueError {
    fn new(expected: &'static str, got: &serde_json::Value) -> Self {
        let mut got = got.to_string();
        if got.len() > 60 {
            let cut = (0..=60)
                .rev()
                .find(|i| got.is_char_boundary(*i))
                .unwrap_or(0);
            got.truncate(cut);
            got.push('…');
        }
        ValueError { expected, got }
    }
}

impl Value {
    /// Converts a stored or imported JSON value into a typed value.
    ///
    /// Strings are accepted for every type (`"true"`, `"12.5"`, `"2024-01-31"`),
    /// because filter values and CSV-born data often arrive as text.
    ///
    /// # Errors
    /// [`ValueError`] when the JSON cannot be read as `ty`.
    pub fn from_json(ty: FieldType, json: &serde_json::Value) -> Result<Value, ValueError> {
        use serde_json::Value as J;
        if json.is_null() {
            return Ok(Value::Null);
        }
        match ty {
            FieldType::String => match json {
                J::String(s) => Ok(Value::Text(s.clone())),
                J::Number(n) => Ok(Value::Text(n.to_string())),
                J::Bool(b) => Ok(Value::Text(b.to_string())),
                _ => Err(ValueError::new("a string", json)),
            },
            FieldType::Number => match json {
                J::Number(n) => n
                    .as_f64()
                    .filter(|f| f.is_finite())
                    .map(Value::Number)
                    .ok_or_else(|| ValueError::new("a finite number", json)),
                J::String(s) => parse_number(s)
                    .map(Value::Number)
                    .ok_or_else(|| ValueError::new("a number", json)),
                _ => Err(ValueError::new("a number", json)),
            },
            FieldType::Boolean => match json {
                J::Bool(b) => Ok(Value::Bool(*b)),
                J::String(s) => parse_bool(s)
                    .map(Value::Bool)
                    .ok_or_else(|| ValueError::new("true or false", json)),
                _ => Err(ValueError::new("true or false", json)),
            },
            FieldType::Date => match json {
                J::String(s) => parse_date(s)
                    .map(Value::Date)
                    .ok_or_else(|| ValueError::new("a date as YYYY-MM-DD", json)),
                _ => Err(ValueError::new("a date as YYYY-MM-DD", json)),
            },
            FieldType::DateTime => match json {
                J::String(s) => parse_datetime_utc(s)
                    .map(Value::DateTime)
                    .ok_or_else(|| ValueError::new("an RFC 3339 date-time", json)),
                _ => Err(ValueError::new("an RFC 3339 date-time", json)),
            },
        }
    }

    /// The JSON form used by the stores and by `exports-local import`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Text(s) => J::String(s.clone()),
            Value::Number(n) => serde_json::Number::from_f64(*n).map_or(J::Null, J::Number),
            Value::Bool(b) => J::Bool(*b),
            Value::Date(d) => J::String(d.format("%Y-%m-%d").to_string()),
            Value::DateTime(t) => J::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }

    /// `true` for null and for empty or blank text.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// Orders two values of the same column. Text compares case-insensitively
    /// first, then byte-wise, so the order is total and stable. Nulls are not
    /// handled here: callers put them last.
    pub fn cmp_same_type(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => cmp_text(a, b),
            (Value::Number(a), Value::Number(b)) => a.total_cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Date(a), Value::Date(b)) => a.cmp(b),
            (Value::DateTime(a), Value::DateTime(b)) => a.cmp(b),
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            // Mixed types cannot come from one column; keep the order total anyway.
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 5,
            Value::Text(_) => 0,
            Value::Number(_) => 1,
            Value::Bool(_) => 2,
            Value::Date(_) => 3,
            Value::DateTime(_) => 4,
        }
    }
}

/// Case-insensitive comparison with a byte-wise tie-break.
pub fn cmp_text(a: &str, b: &str) -> Ordering {
    let folded = a
        .chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase));
    folded.then_with(|| a.cmp(b))
}

/// Reads `true`/`false` (any case) and `1`/`0`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Reads a finite decimal number written with a `.` decimal point.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("nan") || t.to_ascii_lowercase().contains("inf") {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Reads `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Reads an RFC 3339 date-time with an offset, as UTC.
pub fn parse_datetime_utc(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_read_for_every_type() {
        // GIVEN text values as filters and CSV-born data send them
        // WHEN they are typed by their column
        // THEN each becomes the typed value
        assert_eq!(
            Value::from_json(FieldType::Boolean, &json!("TRUE")),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            Value::from_json(FieldType::Number, &json!("12.5")),
            Ok(Value::Number(12.5))
        );
        assert_eq!(
            Value::from_json(FieldType::Date, &json!("1986-09-04")),
            Ok(Value::Date(NaiveDate::from_ymd_opt(1986, 9, 4).unwrap()))
        );
        let t = Value::from_json(FieldType::DateTime, &json!("2024-03-10T02:30:00-03:00")).unwrap();
        assert_eq!(t.to_json(), json!("2024-03-10T05:30:00Z"));
    }

    #[test]
    fn wrong_types_are_rejected_with_what_was_expected() {
        let err = Value::from_json(FieldType::Number, &json!("12,5")).unwrap_err();
        assert_eq!(err.expected, "a number");
        assert!(Value::from_json(FieldType::Number, &json!("NaN")).is_err());
        assert!(Value::from_json(FieldType::Date, &json!("04/09/1986")).is_err());
        assert!(Value::from_json(FieldType::DateTime, &json!("2024-03-10 02:30")).is_err());
        assert!(Value::from_json(FieldType::Boolean, &json!(2)).is_err());
        assert!(Value::from_json(FieldType::String, &json!({"a": 1})).is_err());
    }

    #[test]
    fn text_orders_case_insensitively_and_nulls_last() {
        let a = Value::Text("alpha".into());
        let b = Value::Text("Beta".into());
        assert_eq!(a.cmp_same_type(&b), Ordering::Less);
        assert_eq!(Value::Null.cmp_same_type(&a), Ordering::Greater);
    }
}
