//! A stored CRM record.

use serde_json::{Map, Value as Json};

/// One record as the stores hold it: the id plus a JSON object keyed by column
/// id (standard fields) or `custom:cf_{uuid}` (custom fields). Values are typed
/// by the column registry when read.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub data: Map<String, Json>,
}

impl Record {
    /// Builds a record, making sure `data.id` agrees with `id`.
    pub fn new(id: impl Into<String>, mut data: Map<String, Json>) -> Self {
        let id = id.into();
        data.insert("id".into(), Json::String(id.clone()));
        Record { id, data }
    }

    /// The raw JSON of one field, `Null` when absent.
    pub fn get(&self, key: &str) -> &Json {
        self.data.get(key).unwrap_or(&Json::Null)
    }
}
