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

const DATE_EXPECTED: &str = "a date as YYYY-MM-DD";
const DATE_TIME_EXPECTED: &str = "an RFC 3339 date-time";

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
        match (ty, json) {
            (_, J::Null) => Ok(Value::Null),
            (_, J::String(s)) => Value::from_text(ty, s),
            (FieldType::String, J::Number(n)) => Ok(Value::Text(n.to_string())),
            (FieldType::String, J::Bool(b)) => Ok(Value::Text(b.to_string())),
            (FieldType::String, _) => Err(ValueError::new("a string", json)),
            (FieldType::Number, J::Number(n)) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Value::Number)
                .ok_or_else(|| ValueError::new("a finite number", json)),
            (FieldType::Number, _) => Err(ValueError::new("a number", json)),
            (FieldType::Boolean, J::Bool(b)) => Ok(Value::Bool(*b)),
            (FieldType::Boolean, _) => Err(ValueError::new("true or false", json)),
            (FieldType::Date, _) => Err(ValueError::new(DATE_EXPECTED, json)),
            (FieldType::DateTime, _) => Err(ValueError::new(DATE_TIME_EXPECTED, json)),
        }
    }

    /// [`from_json`](Self::from_json) of a JSON string, without building one.
    ///
    /// # Errors
    /// [`ValueError`] when the text cannot be read as `ty`.
    pub fn from_text(ty: FieldType, s: &str) -> Result<Value, ValueError> {
        let typed = match ty {
            FieldType::String => return Ok(Value::Text(s.to_owned())),
            FieldType::Number => parse_number(s).map(Value::Number).ok_or("a number"),
            FieldType::Boolean => parse_bool(s).map(Value::Bool).ok_or("true or false"),
            FieldType::Date => parse_date(s).map(Value::Date).ok_or(DATE_EXPECTED),
            FieldType::DateTime => parse_datetime_utc(s)
                .map(Value::DateTime)
                .ok_or(DATE_TIME_EXPECTED),
        };
        typed.map_err(|expected| ValueError::new(expected, &serde_json::Value::from(s)))
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

    /// The text of a `Text` value; `None` for any other.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
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
    if a.is_ascii() && b.is_ascii() {
        // ASCII folds byte by byte: the same order as the general case below.
        let folded = a
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()));
        return folded.then_with(|| a.cmp(b));
    }
    // `str::to_lowercase`, as filters fold text: a final capital sigma
    // becomes `ς`, as PostgreSQL's `lower()` makes it too.
    a.to_lowercase()
        .cmp(&b.to_lowercase())
        .then_with(|| a.cmp(b))
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
    let s = s.trim();
    // Stored dates are exactly `YYYY-MM-DD`: read them digit by digit, and
    // leave every other shape to chrono.
    iso_date(s.as_bytes()).or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// Reads an RFC 3339 date-time with an offset, as UTC.
pub fn parse_datetime_utc(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    // Stored date-times are `YYYY-MM-DDTHH:MM:SS` and `Z` or `±HH:MM`: read
    // those digit by digit, and leave every other shape (fractions, leap
    // seconds, lower-case separators) to chrono.
    iso_date_time(s.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// The value of the ASCII digits `b`, or `None` when one is not a digit.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

fn iso_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(&b[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&b[5..7])?, digits(&b[8..10])?)
}

fn iso_date_time(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, m, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let local = iso_date(&b[..10])?.and_hms_opt(h, m, sec)?;
    let offset_seconds = match &b[19..] {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), oh @ .., b':', m1, m2] if oh.len() == 2 => {
            let (oh, om) = (digits(oh)?, digits(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let s = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' {
                -s
            } else {
                s
            }
        }
        _ => return None,
    };
    let utc = local.and_utc() - chrono::TimeDelta::seconds(offset_seconds);
    Some(utc)
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

    fn chrono_date(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
    }

    fn chrono_date_time(s: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn fixed_format_dates_read_as_chrono_reads_them() {
        // GIVEN dates and date-times around every field's bounds, with
        // offsets, fractions, leap seconds and broken separators
        let mut dates = Vec::new();
        for y in [
            "0000", "0001", "1969", "2024", "2023", "9999", "20x4", "+2024",
        ] {
            for m in ["00", "01", "02", "09", "12", "13", "1"] {
                for d in ["00", "01", "28", "29", "30", "31", "32", "5"] {
                    dates.push(format!("{y}-{m}-{d}"));
                }
            }
        }
        let mut times = Vec::new();
        for date in [
            "2024-02-29",
            "2023-02-29",
            "1970-01-01",
            "9999-12-31",
            "0000-01-01",
        ] {
            for time in [
                "00:00:00",
                "23:59:59",
                "24:00:00",
                "12:60:00",
                "23:59:60",
                "08:00:00.5",
                "8:00:00",
            ] {
                for zone in [
                    "Z", "z", "+00:00", "-00:00", "+05:30", "-03:00", "+23:59", "+24:00", "-12:60",
                    "+0530", "",
                ] {
                    for sep in ["T", "t", " "] {
                        times.push(format!("{date}{sep}{time}{zone}"));
                    }
                }
            }
        }
        // WHEN each is read by the fast path and by chrono alone
        // THEN they agree, value for value and failure for failure
        for s in &dates {
            assert_eq!(parse_date(s), chrono_date(s), "{s}");
            assert_eq!(parse_date(&format!(" {s} ")), chrono_date(s), "{s}");
        }
        for s in &times {
            assert_eq!(parse_datetime_utc(s), chrono_date_time(s), "{s}");
        }
        assert!(parse_date("2024-02-29").is_some());
        assert_eq!(
            parse_datetime_utc("2024-03-10T02:30:00-03:00").map(|t| t.to_rfc3339()),
            Some("2024-03-10T05:30:00+00:00".into())
        );
    }

    #[test]
    fn ascii_text_orders_as_the_general_fold_does() {
        // GIVEN random ASCII strings over letters of both cases, digits and punctuation
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let alphabet = b"aAbBzZ09-_ ~";
        let words: Vec<String> = (0..400)
            .map(|_| {
                let n = rng.random_range(0..6);
                (0..n)
                    .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
                    .collect()
            })
            .collect();
        // WHEN each pair is compared
        // THEN the ASCII path gives the order of the full Unicode fold
        let general = |a: &str, b: &str| {
            a.chars()
                .flat_map(char::to_lowercase)
                .cmp(b.chars().flat_map(char::to_lowercase))
                .then_with(|| a.cmp(b))
        };
        for a in &words {
            for b in &words {
                assert_eq!(cmp_text(a, b), general(a, b), "{a:?} {b:?}");
            }
        }
        assert_eq!(cmp_text("Ábc", "abd"), general("Ábc", "abd"));
    }
}
