//! `exports-local api-key create|list|revoke`, and the demo tenant's key.
//!
//! The demo key is created on the first `serve` and kept in
//! `{data dir}/demo-api-key` (mode 0600 on Unix) so every start can print
//! it; only its SHA-256 is in the store. Should the file be missing or its
//! key revoked, `serve` creates a fresh one.

use exports_shared::model::bulk::{hash_key, ApiKey, Permission};
use exports_shared::model::TenantId;
use exports_shared::store::{ApiKeyStore, StoreError};
use std::path::Path;

/// Both permissions.
pub const ALL: [Permission; 2] = [Permission::CreateExports, Permission::ReadExports];

/// Creates a key; returns the key (shown once) and its record.
///
/// # Errors
/// When the store fails.
pub async fn create(
    store: &dyn ApiKeyStore,
    tenant: &TenantId,
    name: &str,
    permissions: Vec<Permission>,
) -> Result<(String, ApiKey), StoreError> {
    let (key, record) = ApiKey::generate(tenant.clone(), name, permissions, chrono::Utc::now());
    store.put_api_key(&record).await?;
    Ok((key, record))
}

/// The demo tenant's key: the stored one if it still authenticates, else a
/// fresh one (written to `{data_dir}/demo-api-key`).
///
/// # Errors
/// When the store or the file fails.
pub async fn demo_key(
    store: &dyn ApiKeyStore,
    tenant: &TenantId,
    data_dir: &Path,
) -> Result<String, Box<dyn std::error::Error>> {
    let file = data_dir.join("demo-api-key");
    if let Ok(saved) = std::fs::read_to_string(&file) {
        let saved = saved.trim().to_string();
        if store.api_key_by_hash(&hash_key(&saved)).await?.is_some() {
            return Ok(saved);
        }
    }
    let (key, _) = create(store, tenant, "demo", ALL.to_vec()).await?;
    std::fs::write(&file, format!("{key}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(key)
}
