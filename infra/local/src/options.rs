//! `exports-local options` and `exports-local load-reference`: a tenant's
//! option lists (stages, sources, segments) and the shared reference data,
//! on whichever backend `EXPORTS_BACKEND` selects.
//!
//! Deleting an option is a soft delete (`deleted: true`, `enabled: false`):
//! records and stored filters may still carry its code, and the lookup
//! endpoints keep listing it with its flags, as the conventions describe.

use exports_shared::model::{ConfigOption, OptionKind, ReferenceData, TenantId};
use exports_shared::store::{ReferenceStore, StoreError, TenantConfigStore};

/// What went wrong with an options command.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    #[error("{kind} has no option with code '{code}'")]
    NotFound { kind: &'static str, code: String },
    #[error("{kind} already has an option with code '{code}'")]
    Exists { kind: &'static str, code: String },
    #[error("invalid code '{0}': use 1 to 64 letters, digits, '_' or '-'")]
    BadCode(String),
    #[error("invalid display name: use 1 to 255 characters")]
    BadName,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the bundled reference data is invalid: {0}")]
    Reference(#[from] exports_shared::model::reference::ReferenceError),
}

/// The CLI name of a list.
pub fn kind_name(kind: OptionKind) -> &'static str {
    match kind {
        OptionKind::Stages => "stages",
        OptionKind::Sources => "sources",
        OptionKind::Segments => "segments",
    }
}

/// Reads `stages`, `sources` or `segments`.
///
/// # Errors
/// A message naming the valid lists.
pub fn parse_kind(s: &str) -> Result<OptionKind, String> {
    match s {
        "stages" => Ok(OptionKind::Stages),
        "sources" => Ok(OptionKind::Sources),
        "segments" => Ok(OptionKind::Segments),
        _ => Err("expected stages, sources or segments".into()),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn find(
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    kind: OptionKind,
    code: &str,
) -> Result<Option<ConfigOption>, StoreError> {
    Ok(config
        .options(tenant, kind)
        .await?
        .into_iter()
        .find(|o| o.code == code))
}

/// Adds an enabled option; `sort_order` defaults to after the last one.
///
/// # Errors
/// [`OptionsError::Exists`] when the code is taken (even by a deleted option),
/// [`OptionsError::BadCode`] / [`OptionsError::BadName`] for bad input.
pub async fn add(
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    kind: OptionKind,
    code: &str,
    display_name: &str,
    sort_order: Option<i64>,
) -> Result<ConfigOption, OptionsError> {
    let valid_code = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_code {
        return Err(OptionsError::BadCode(code.chars().take(64).collect()));
    }
    if display_name.trim().is_empty() || display_name.chars().count() > 255 {
        return Err(OptionsError::BadName);
    }
    let existing = config.options(tenant, kind).await?;
    if existing.iter().any(|o| o.code == code) {
        return Err(OptionsError::Exists {
            kind: kind_name(kind),
            code: code.into(),
        });
    }
    let at = now();
    let option = ConfigOption {
        code: code.into(),
        display_name: display_name.trim().into(),
        enabled: true,
        deleted: false,
        sort_order: sort_order
            .unwrap_or_else(|| existing.iter().map(|o| o.sort_order).max().unwrap_or(0) + 1),
        created_at: at.clone(),
        updated_at: at,
    };
    config.put_option(tenant, kind, &option).await?;
    Ok(option)
}

/// How [`update`] changes an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Enable,
    Disable,
    /// Soft delete: `deleted: true` and `enabled: false`.
    Delete,
}

/// Enables, disables or deletes an option, stamping `updatedAt`.
///
/// # Errors
/// [`OptionsError::NotFound`] when the tenant has no such option.
pub async fn update(
    config: &dyn TenantConfigStore,
    tenant: &TenantId,
    kind: OptionKind,
    code: &str,
    change: Change,
) -> Result<ConfigOption, OptionsError> {
    let mut option =
        find(config, tenant, kind, code)
            .await?
            .ok_or_else(|| OptionsError::NotFound {
                kind: kind_name(kind),
                code: code.into(),
            })?;
    match change {
        Change::Enable => {
            option.enabled = true;
            option.deleted = false;
        }
        Change::Disable => option.enabled = false,
        Change::Delete => {
            option.enabled = false;
            option.deleted = true;
        }
    }
    option.updated_at = now();
    config.put_option(tenant, kind, &option).await?;
    Ok(option)
}

/// Loads the bundled reference data; returns how many items of each list.
///
/// # Errors
/// When the data is invalid or the store fails.
pub async fn load_reference(
    store: &dyn ReferenceStore,
) -> Result<(usize, usize, usize, usize), OptionsError> {
    let data = ReferenceData::bundled()?;
    store.put_reference(&data).await?;
    Ok((
        data.industries.len(),
        data.countries.len(),
        data.cities.len(),
        data.phone_codes.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use exports_shared::store::embedded::EmbeddedStore;

    #[tokio::test]
    async fn options_are_added_disabled_and_soft_deleted() {
        // GIVEN an empty tenant
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let t = TenantId::new("t-1");
        // WHEN a stage is added, THEN it is enabled and ordered last
        let a = add(&store, &t, OptionKind::Stages, "won", "Won", None)
            .await
            .unwrap();
        assert!(a.enabled && !a.deleted);
        assert_eq!(a.sort_order, 1);
        assert!(matches!(
            add(&store, &t, OptionKind::Stages, "won", "Again", None).await,
            Err(OptionsError::Exists { .. })
        ));
        assert!(matches!(
            add(&store, &t, OptionKind::Stages, "bad code", "X", None).await,
            Err(OptionsError::BadCode(_))
        ));
        // WHEN disabled and deleted, THEN the flags follow and it stays listed
        let d = update(&store, &t, OptionKind::Stages, "won", Change::Disable)
            .await
            .unwrap();
        assert!(!d.enabled && !d.deleted);
        let x = update(&store, &t, OptionKind::Stages, "won", Change::Delete)
            .await
            .unwrap();
        assert!(!x.enabled && x.deleted);
        let listed = store.options(&t, OptionKind::Stages).await.unwrap();
        assert_eq!(listed, vec![x]);
        assert!(matches!(
            update(&store, &t, OptionKind::Sources, "won", Change::Enable).await,
            Err(OptionsError::NotFound { .. })
        ));
    }
}
