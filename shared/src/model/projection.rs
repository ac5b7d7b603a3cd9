//! Projection of stored records onto the few typed fields a reader needs.
//!
//! An export, a preview or a filter-values call needs a handful of fields of
//! each record (its columns, filter fields and sort field), typed by the
//! column registry. [`Projection::project`] types them from a [`Record`];
//! [`Projection::project_json`] reads them straight from a record's stored
//! JSON text, without building the record's whole `Map` first (a store that
//! holds records as JSON text uses it; the two give the same row).

use super::value::{FieldType, Value, ValueError};
use super::Record;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value as Json;
use std::fmt;

/// Where each needed field sits in a projected row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    fields: Vec<(String, FieldType)>,
}

impl Projection {
    /// The index of a field, adding it when new.
    pub fn index_of(&mut self, key: &str, ty: FieldType) -> usize {
        if let Some(i) = self.position(key) {
            return i;
        }
        self.fields.push((key.to_string(), ty));
        self.fields.len() - 1
    }

    /// Every field, `(key, type)`, in row order.
    pub fn fields(&self) -> &[(String, FieldType)] {
        &self.fields
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|(k, _)| k == key)
    }

    /// Types the needed fields of a record. A stored value that does not fit
    /// its column's type is read as empty, and logged.
    pub fn project(&self, record: &Record) -> Vec<Value> {
        self.fields
            .iter()
            .map(|(key, ty)| or_null(Value::from_json(*ty, record.get(key)), &record.id, key))
            .collect()
    }

    /// [`project`](Self::project) of the record `Record::new(id, data)`,
    /// where `data` is the stored JSON object `json`, read without building
    /// the object: fields the projection does not need are skipped unread.
    ///
    /// # Errors
    /// When `json` is not a JSON object.
    pub fn project_json(&self, id: &str, json: &str) -> Result<Vec<Value>, serde_json::Error> {
        let mut row = vec![Value::Null; self.fields.len()];
        let mut de = serde_json::Deserializer::from_str(json);
        RowSeed {
            projection: self,
            id,
            row: &mut row,
        }
        .deserialize(&mut de)?;
        de.end()?;
        // `Record::new` makes the record's `id` field its key.
        if let Some(i) = self.position("id") {
            row[i] = or_null(Value::from_text(self.fields[i].1, id), id, "id");
        }
        Ok(row)
    }
}

/// A typed value, or `Null` (logged) when the stored value does not fit.
fn or_null(typed: Result<Value, ValueError>, id: &str, key: &str) -> Value {
    typed.unwrap_or_else(|e| {
        tracing::warn!(record = %id, field = %key, error = %e, "stored value does not fit its column; exported as empty");
        Value::Null
    })
}

/// Reads a JSON object into a projected row, field by field.
struct RowSeed<'p, 'r> {
    projection: &'p Projection,
    id: &'r str,
    row: &'r mut Vec<Value>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(index) = map.next_key_seed(KeySeed(self.projection))? {
            match index {
                Some(i) => {
                    let (key, ty) = &self.projection.fields[i];
                    let typed = map.next_value_seed(CellSeed(*ty))?;
                    // A repeated key keeps its last value, as a `Map` would.
                    self.row[i] = or_null(typed, self.id, key);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Reads an object key as the index of a needed field, without copying it.
struct KeySeed<'p>(&'p Projection);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.position(key))
    }
}

/// Reads one stored value as its column's type, exactly as
/// [`Value::from_json`] would read it.
struct CellSeed(FieldType);

impl<'de> DeserializeSeed<'de> for CellSeed {
    type Value = Result<Value, ValueError>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellSeed {
    type Value = Result<Value, ValueError>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(Value::Null))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Value::from_json(self.0, &Json::Bool(b)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Value::from_json(self.0, &Json::from(n)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Value::from_json(self.0, &Json::from(n)))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Value::from_json(self.0, &Json::from(n)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Value::from_text(self.0, s))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(match self.0 {
            FieldType::String => Ok(Value::Text(s)),
            ty => Value::from_text(ty, &s),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let json = Json::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Value::from_json(self.0, &json))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let json = Json::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Value::from_json(self.0, &json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn projection() -> Projection {
        let mut p = Projection::default();
        for (key, ty) in [
            ("id", FieldType::String),
            ("name", FieldType::String),
            ("n", FieldType::Number),
            ("ok", FieldType::Boolean),
            ("born", FieldType::Date),
            ("at", FieldType::DateTime),
            ("code", FieldType::String),
        ] {
            p.index_of(key, ty);
        }
        p
    }

    fn both_ways(p: &Projection, id: &str, data: &Json) -> (Vec<Value>, Vec<Value>) {
        let map = data.as_object().cloned().unwrap_or_default();
        let from_record = p.project(&Record::new(id, map));
        let from_text = p.project_json(id, &data.to_string()).unwrap();
        (from_record, from_text)
    }

    #[test]
    fn stored_text_projects_like_the_record() {
        // GIVEN records with every JSON kind in every typed field, unknown
        // fields, escapes, a stale `id` and a repeated key
        let p = projection();
        let cases = [
            json!({"name": "Ana", "n": 12.5, "ok": true, "born": "1986-09-04",
                   "at": "2024-03-10T02:30:00-03:00", "skip": {"deep": [1, 2]}}),
            json!({"name": "Jos\u{e9} \"J\"\n", "n": "12.5", "ok": "TRUE", "born": "04/09/1986",
                   "at": "2024-03-10 02:30", "id": "stale"}),
            json!({"name": 7, "n": -3, "ok": 1, "born": 19860904, "at": true, "code": false}),
            json!({"name": [1, "a"], "n": {"x": 1}, "ok": null, "born": null, "at": [],
                   "code": 18446744073709551615_u64}),
            json!({"name": 1.0e-7, "n": 2.5e300, "code": -0.0}),
            json!({}),
        ];
        for data in &cases {
            // WHEN each is projected from its record and from its stored text
            let (from_record, from_text) = both_ways(&p, "c-1", data);
            // THEN both rows are equal
            assert_eq!(from_record, from_text, "{data}");
        }
        let text = r#"{"name":"first","name":"last"}"#;
        assert_eq!(
            p.project_json("c-1", text).unwrap()[1],
            Value::Text("last".into())
        );
    }

    #[test]
    fn the_id_comes_from_the_key_and_bad_text_is_an_error() {
        let p = projection();
        let row = p.project_json("c-9", r#"{"id": "other"}"#).unwrap();
        assert_eq!(row[0], Value::Text("c-9".into()));
        assert!(p.project_json("c-9", "[1, 2]").is_err());
        assert!(p.project_json("c-9", r#"{"name": "a"} trailing"#).is_err());
        assert!(p.project_json("c-9", r#"{"name": "#).is_err());
    }
}
