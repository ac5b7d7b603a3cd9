//! Request bodies as JSON values, with duplicate object keys refused.
//!
//! `serde_json` keeps the last of two equal keys, so
//! `{"format":"CSV","format":"XLSX"}` would silently ask for an XLSX file.
//! RFC 8259 leaves duplicate names to the parser; an API that names one
//! meaning per field must refuse them. Every POST body of every API is read
//! through [`parse_value`], and each API words the [`JsonBodyError`] in its
//! own error shape.

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// Why a body is not a usable JSON value.
#[derive(Debug, thiserror::Error)]
pub enum JsonBodyError {
    /// Not JSON at all.
    #[error("{0}")]
    Syntax(#[source] serde_json::Error),
    /// An object holds the same key twice.
    #[error("duplicate key '{key}' at {}", pointer(.at))]
    DuplicateKey {
        /// Where the object is: keys and array indexes from the root.
        at: Vec<Segment>,
        key: String,
    },
}

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl JsonBodyError {
    /// The duplicated member as a dotted path (`viewState.columns[0].id`),
    /// for the APIs whose errors name fields that way.
    pub fn dotted_path(&self) -> Option<String> {
        match self {
            JsonBodyError::Syntax(_) => None,
            JsonBodyError::DuplicateKey { at, key } => {
                let mut out = String::new();
                for s in at.iter().chain(std::iter::once(&Segment::Key(key.clone()))) {
                    match s {
                        Segment::Key(k) if out.is_empty() => out.push_str(k),
                        Segment::Key(k) => {
                            out.push('.');
                            out.push_str(k);
                        }
                        Segment::Index(i) => out.push_str(&format!("[{i}]")),
                    }
                }
                Some(out)
            }
        }
    }

    /// The duplicated member as a JSON pointer (`/data/attributes/format`),
    /// for JSON:API error sources.
    pub fn json_pointer(&self) -> String {
        match self {
            JsonBodyError::Syntax(_) => String::new(),
            JsonBodyError::DuplicateKey { at, key } => {
                let mut path = at.clone();
                path.push(Segment::Key(key.clone()));
                pointer(&path)
            }
        }
    }
}

fn pointer(path: &[Segment]) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.iter()
        .map(|s| match s {
            Segment::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
            Segment::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// Parses a body into a JSON value, refusing an object with a repeated key.
///
/// # Errors
/// [`JsonBodyError::Syntax`] for text that is not JSON (trailing characters
/// included), [`JsonBodyError::DuplicateKey`] naming the first repeated key.
pub fn parse_value(body: &[u8]) -> Result<Value, JsonBodyError> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Node {
        path: Vec::new(),
        duplicate: &found,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, found.into_inner()) {
        (_, Some((at, key))) => Err(JsonBodyError::DuplicateKey { at, key }),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(JsonBodyError::Syntax(e)),
    }
}

/// A value being read at `path`; the first duplicate key found is kept in
/// `duplicate` (a serde error can carry only text).
struct Node<'a> {
    path: Vec<Segment>,
    duplicate: &'a RefCell<Option<(Vec<Segment>, String)>>,
}

impl<'a> Node<'a> {
    fn child(&self, s: Segment) -> Node<'a> {
        let mut path = self.path.clone();
        path.push(s);
        Node {
            path,
            duplicate: self.duplicate,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child(Segment::Index(out.len())))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let message = format!("duplicate key '{key}'");
                *self.duplicate.borrow_mut() = Some((self.path, key));
                return Err(A::Error::custom(message));
            }
            let value = map.next_value_seed(self.child(Segment::Key(key.clone())))?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_top_level_key_is_refused_by_name() {
        // GIVEN a body asking for two formats
        let body = br#"{"format":"CSV","format":"XLSX"}"#;
        // WHEN it is parsed
        let err = parse_value(body).unwrap_err();
        // THEN the duplicate is named, not silently resolved
        assert_eq!(err.dotted_path().as_deref(), Some("format"));
        assert_eq!(err.json_pointer(), "/format");
    }

    #[test]
    fn a_nested_duplicate_names_its_path() {
        let body = br#"{"viewState":{"columns":[{"id":"a"},{"id":"b","id":"c"}]}}"#;
        let err = parse_value(body).unwrap_err();
        assert_eq!(
            err.dotted_path().as_deref(),
            Some("viewState.columns[1].id")
        );
        assert_eq!(err.json_pointer(), "/viewState/columns/1/id");
    }

    #[test]
    fn equal_keys_in_different_objects_are_fine() {
        let body = br#"{"a":{"id":1},"b":{"id":2},"c":[{"id":3},{"id":4}]}"#;
        let v = parse_value(body).unwrap();
        assert_eq!(v["c"][1]["id"], 4);
    }

    #[test]
    fn values_match_serde_json() {
        let body =
            br#"{"n":-3,"u":18446744073709551615,"f":1.5e3,"s":"\u00e9","b":true,"z":null,"a":[]}"#;
        let ours = parse_value(body).unwrap();
        let theirs: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn syntax_errors_and_trailing_text_stay_syntax_errors() {
        assert!(matches!(
            parse_value(b"{\"a\":"),
            Err(JsonBodyError::Syntax(_))
        ));
        assert!(matches!(
            parse_value(b"{} {}"),
            Err(JsonBodyError::Syntax(_))
        ));
    }
}
