//! The demo tenant seeded by `make dev` on first start.

use crate::generate::{self, Counts};
use exports_shared::model::{
    ConfigOption, CustomFieldDef, EntityKind, FieldType, OptionKind, TenantId, TenantSettings,
};
use exports_shared::store::{EntityWriter, StoreError, TenantConfigStore};

pub const DEMO_TENANT: &str = "3f1c9a52-6d1e-4c2b-9a57-0c5e2b7d4e10";
pub const DEMO_USER_ID: &str = "2080a55f-7c54-4381-83b7-279841984660";
pub const DEMO_EMAIL: &str = "demo@exports.local";
pub const DEMO_USER_TYPE: &str = "TENANT_STAFF";
pub const DEMO_ROLE: &str = "TENANT_STAFF";
/// The form uuids of the demo's two `risk_profile` custom fields.
pub const FORM_ONBOARDING: &str = "6a0b3f8e-1c1d-4e55-8f7a-2b9c0d1e2f30";
pub const FORM_REVIEW: &str = "7b1c4a9f-2d2e-4f66-9a8b-3c0d1e2f3a41";

/// The demo data set's size.
pub const DEMO_COUNTS: Counts = Counts {
    contacts: 500,
    organisations: 80,
    households: 150,
};

fn option(code: &str, name: &str, order: i64, enabled: bool) -> ConfigOption {
    ConfigOption {
        code: code.into(),
        display_name: name.into(),
        enabled,
        deleted: false,
        sort_order: order,
        created_at: "2024-01-10T08:00:00Z".into(),
        updated_at: "2024-01-10T08:00:00Z".into(),
    }
}

/// Option lists of every generated tenant.
pub fn options() -> Vec<(OptionKind, ConfigOption)> {
    let mut out = Vec::new();
    for (i, (code, name)) in generate::STAGES.iter().enumerate() {
        out.push((
            OptionKind::Stages,
            option(code, name, i as i64 + 1, *code != "inactive"),
        ));
    }
    for (i, (code, name)) in generate::SOURCES.iter().enumerate() {
        out.push((OptionKind::Sources, option(code, name, i as i64 + 1, true)));
    }
    for (i, (code, name)) in generate::SEGMENTS.iter().enumerate() {
        out.push((OptionKind::Segments, option(code, name, i as i64 + 1, true)));
    }
    out
}

/// Custom fields of every generated tenant: two `risk_profile` fields on two
/// forms (to show `formUuid`), a number and a date on contacts, a tier on
/// organisations.
pub fn custom_fields() -> Vec<CustomFieldDef> {
    let cf = |uuid: &str, entity, key: &str, label: &str, ty, form: Option<&str>| CustomFieldDef {
        uuid: uuid.into(),
        entity,
        key: key.into(),
        label: label.into(),
        field_type: ty,
        form_uuid: form.map(Into::into),
    };
    vec![
        cf(
            generate::CF_RISK_ONBOARDING,
            EntityKind::Contacts,
            "risk_profile",
            "Risk profile (onboarding)",
            FieldType::String,
            Some(FORM_ONBOARDING),
        ),
        cf(
            generate::CF_RISK_REVIEW,
            EntityKind::Contacts,
            "risk_profile",
            "Risk profile (review)",
            FieldType::String,
            Some(FORM_REVIEW),
        ),
        cf(
            generate::CF_SCORE,
            EntityKind::Contacts,
            "score",
            "Score",
            FieldType::Number,
            None,
        ),
        cf(
            generate::CF_KYC,
            EntityKind::Contacts,
            "kyc_review",
            "KYC review",
            FieldType::Date,
            None,
        ),
        cf(
            generate::CF_TIER,
            EntityKind::Organisations,
            "tier",
            "Tier",
            FieldType::String,
            None,
        ),
    ]
}

/// Writes a tenant's configuration (settings, option lists, custom fields).
///
/// # Errors
/// When the store fails.
pub async fn configure_tenant(
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
) -> Result<(), StoreError> {
    config
        .put_settings(tenant, &TenantSettings::default())
        .await?;
    for (kind, opt) in options() {
        config.put_option(tenant, kind, &opt).await?;
    }
    for def in custom_fields() {
        config.put_custom_field(tenant, &def).await?;
    }
    Ok(())
}

/// Whether the demo tenant has been seeded already.
///
/// # Errors
/// When the store fails.
pub async fn is_seeded(config: &dyn TenantConfigStore) -> Result<bool, StoreError> {
    let tenant = TenantId::new(DEMO_TENANT);
    Ok(!config
        .options(&tenant, OptionKind::Stages)
        .await?
        .is_empty())
}

/// Whether the entity source holds any of the demo tenant's contacts.
///
/// # Errors
/// [`StoreError`] when the source fails.
pub async fn has_entities(
    entities: &dyn exports_shared::store::EntitySource,
) -> Result<bool, StoreError> {
    let page = entities
        .page(
            &TenantId::new(DEMO_TENANT),
            exports_shared::model::EntityKind::Contacts,
            None,
            1,
        )
        .await?;
    Ok(!page.records.is_empty())
}

/// Seeds the demo tenant with [`DEMO_COUNTS`] records from seed 42.
///
/// # Errors
/// When the store fails.
pub async fn seed_demo(
    config: &dyn TenantConfigStore,
    writer: &dyn EntityWriter,
) -> Result<(), StoreError> {
    let tenant = TenantId::new(DEMO_TENANT);
    configure_tenant(config, &tenant).await?;
    generate::write_all(writer, &tenant, DEMO_COUNTS, 42, None).await
}
