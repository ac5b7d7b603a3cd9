//! The column registry: the standard columns of each entity and the tenant's
//! custom fields, resolved from the ids clients send.

use super::custom::{CustomFieldDef, CUSTOM_PREFIX};
use super::entity::EntityKind;
use super::value::FieldType;

/// A standard column of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardColumn {
    /// The id clients use in columns, filters and sort.
    pub id: &'static str,
    pub field_type: FieldType,
    /// Other ids accepted for the same field (`stageName` for `stage`).
    pub aliases: &'static [&'static str],
    /// A tenant-configured option list holds the valid codes (stages, sources, segments).
    pub option_list: Option<super::tenant::OptionKind>,
}

const fn col(id: &'static str, field_type: FieldType) -> StandardColumn {
    StandardColumn {
        id,
        field_type,
        aliases: &[],
        option_list: None,
    }
}

use super::tenant::OptionKind;
use FieldType::{Boolean as B, Date as D, DateTime as DT, Number as N, String as S};

const CONTACTS: &[StandardColumn] = &[
    col("id", S),
    col("firstName", S),
    col("middleName", S),
    col("paternalLastName", S),
    col("maternalLastName", S),
    col("preferredEmail", S),
    col("phone", S),
    StandardColumn {
        id: "stage",
        field_type: S,
        aliases: &["stageName"],
        option_list: Some(OptionKind::Stages),
    },
    col("contactType", S),
    StandardColumn {
        id: "contactSource",
        field_type: S,
        aliases: &[],
        option_list: Some(OptionKind::Sources),
    },
    StandardColumn {
        id: "segment",
        field_type: S,
        aliases: &["segmentName"],
        option_list: Some(OptionKind::Segments),
    },
    col("organisationId", S),
    col("householdId", S),
    col("city", S),
    col("country", S),
    col("birthDate", D),
    col("netWorth", N),
    col("isActive", B),
    col("createdAt", DT),
    col("updatedAt", DT),
];

const ORGANISATIONS: &[StandardColumn] = &[
    col("id", S),
    col("name", S),
    col("industry", S),
    col("email", S),
    col("phone", S),
    col("website", S),
    col("city", S),
    col("country", S),
    col("employeeCount", N),
    col("annualRevenue", N),
    col("isActive", B),
    col("createdAt", DT),
    col("updatedAt", DT),
];

const HOUSEHOLDS: &[StandardColumn] = &[
    col("id", S),
    col("name", S),
    col("primaryContactId", S),
    col("memberCount", N),
    col("city", S),
    col("country", S),
    col("isActive", B),
    col("createdAt", DT),
    col("updatedAt", DT),
];

/// The standard columns of an entity, in their canonical order.
pub fn standard_columns(entity: EntityKind) -> &'static [StandardColumn] {
    match entity {
        EntityKind::Contacts => CONTACTS,
        EntityKind::Organisations => ORGANISATIONS,
        EntityKind::Households => HOUSEHOLDS,
    }
}

/// Finds a standard column by id or alias.
pub fn find_standard(entity: EntityKind, id: &str) -> Option<&'static StandardColumn> {
    standard_columns(entity)
        .iter()
        .find(|c| c.id == id || c.aliases.contains(&id))
}

/// A column resolved against the registry: where its value lives in a record
/// and what type it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedField {
    /// The key of the value in a stored record: a standard id, or `custom:cf_{uuid}`.
    pub key: String,
    pub field_type: FieldType,
    pub option_list: Option<OptionKind>,
}

/// Why a column id does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("unknown column '{0}' for {1}")]
    Unknown(String, EntityKind),
    #[error("custom field '{0}' is defined on several forms; give formUuid to choose one")]
    Ambiguous(String),
    #[error("custom field '{id}' does not belong to form '{form}'")]
    WrongForm { id: String, form: String },
}

/// Resolves a column id (standard, alias or `custom:cf_{uuid|key}`) for an entity.
///
/// A custom field is found by its uuid, or by its `key` when that key is
/// unique; `form_uuid` chooses between fields of the same key on different
/// forms, and must match when given.
///
/// # Errors
/// [`ColumnError`] when nothing, or more than one field, matches.
pub fn resolve(
    entity: EntityKind,
    id: &str,
    form_uuid: Option<&str>,
    custom_fields: &[CustomFieldDef],
) -> Result<ResolvedField, ColumnError> {
    if let Some(rest) = id.strip_prefix(CUSTOM_PREFIX) {
        let by_uuid: Vec<&CustomFieldDef> = custom_fields
            .iter()
            .filter(|d| d.entity == entity && d.uuid.eq_ignore_ascii_case(rest))
            .collect();
        let candidates: Vec<&CustomFieldDef> = if by_uuid.is_empty() {
            custom_fields
                .iter()
                .filter(|d| d.entity == entity && d.key == rest)
                .collect()
        } else {
            by_uuid
        };
        let chosen: Vec<&CustomFieldDef> = match form_uuid {
            Some(form) => candidates
                .iter()
                .copied()
                .filter(|d| {
                    d.form_uuid
                        .as_deref()
                        .is_some_and(|f| f.eq_ignore_ascii_case(form))
                })
                .collect(),
            None => candidates.clone(),
        };
        return match (candidates.len(), chosen.as_slice()) {
            (0, _) => Err(ColumnError::Unknown(id.to_string(), entity)),
            (_, [one]) => Ok(ResolvedField {
                key: one.storage_key(),
                field_type: one.field_type,
                option_list: None,
            }),
            (_, []) => Err(ColumnError::WrongForm {
                id: id.to_string(),
                form: form_uuid.unwrap_or_default().to_string(),
            }),
            _ => Err(ColumnError::Ambiguous(id.to_string())),
        };
    }
    find_standard(entity, id)
        .map(|c| ResolvedField {
            key: c.id.to_string(),
            field_type: c.field_type,
            option_list: c.option_list,
        })
        .ok_or_else(|| ColumnError::Unknown(id.to_string(), entity))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf(uuid: &str, key: &str, form: Option<&str>) -> CustomFieldDef {
        CustomFieldDef {
            uuid: uuid.into(),
            entity: EntityKind::Contacts,
            key: key.into(),
            label: key.into(),
            field_type: FieldType::String,
            form_uuid: form.map(Into::into),
        }
    }

    #[test]
    fn stage_name_is_an_alias_of_stage() {
        let a = resolve(EntityKind::Contacts, "stageName", None, &[]).unwrap();
        let b = resolve(EntityKind::Contacts, "stage", None, &[]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.key, "stage");
    }

    #[test]
    fn columns_are_per_entity() {
        assert!(resolve(EntityKind::Households, "firstName", None, &[]).is_err());
        assert!(resolve(EntityKind::Organisations, "industry", None, &[]).is_ok());
    }

    #[test]
    fn custom_fields_resolve_by_uuid_or_key_with_form_disambiguation() {
        // GIVEN two fields with the same key on two forms
        let defs = [
            cf("aaa", "risk", Some("form-1")),
            cf("bbb", "risk", Some("form-2")),
        ];
        // WHEN addressed by uuid, THEN the uuid wins
        let r = resolve(EntityKind::Contacts, "custom:cf_bbb", None, &defs).unwrap();
        assert_eq!(r.key, "custom:cf_bbb");
        // WHEN addressed by key without a form, THEN it is ambiguous
        assert_eq!(
            resolve(EntityKind::Contacts, "custom:cf_risk", None, &defs),
            Err(ColumnError::Ambiguous("custom:cf_risk".into()))
        );
        // WHEN the form is given, THEN it chooses
        let r = resolve(
            EntityKind::Contacts,
            "custom:cf_risk",
            Some("form-1"),
            &defs,
        )
        .unwrap();
        assert_eq!(r.key, "custom:cf_aaa");
        // WHEN the form does not match the uuid, THEN it is rejected
        assert!(matches!(
            resolve(EntityKind::Contacts, "custom:cf_aaa", Some("form-2"), &defs),
            Err(ColumnError::WrongForm { .. })
        ));
        assert!(resolve(EntityKind::Contacts, "custom:cf_nope", None, &defs).is_err());
    }
}
