//! Tenant-defined custom fields.

use super::entity::EntityKind;
use super::value::FieldType;
use serde::{Deserialize, Serialize};

/// The prefix of custom field ids: a column `custom:cf_{uuid|key}` names a
/// custom field, and records store its value under `custom:cf_{uuid}`.
pub const CUSTOM_PREFIX: &str = "custom:cf_";

/// A custom field definition (TenantConfig `CF#{entity}#{uuid}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldDef {
    pub uuid: String,
    pub entity: EntityKind,
    /// A short machine name; unique per form, not per tenant.
    pub key: String,
    /// The default header when the column is added by `includeAllCustomFields`.
    pub label: String,
    pub field_type: FieldType,
    /// The form the field belongs to, when forms are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_uuid: Option<String>,
}

impl CustomFieldDef {
    /// The key under which records store this field's value.
    pub fn storage_key(&self) -> String {
        format!("{CUSTOM_PREFIX}{}", self.uuid)
    }
}
