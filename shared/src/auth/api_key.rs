//! API-key authentication of the bulk exports API: `Authorization: apiKey
//! {key}`, looked up by SHA-256, then the blocked flag, the permission and
//! the key's token bucket.

use crate::model::bulk::{hash_key, ApiKey, Permission};
use crate::store::bulk::{take_token, ApiKeyStore, RateDecision, RateLimit};
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use http::HeaderMap;

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("missing API key: send 'Authorization: apiKey {{key}}'")]
    Missing,
    #[error("unknown API key")]
    Unknown,
    #[error("the API key lacks the '{}' permission", .0.as_str())]
    Forbidden(Permission),
    #[error("the account is blocked")]
    Blocked,
    #[error("rate limit reached; retry after {0} seconds")]
    RateLimited(u64),
    #[error("key lookup failed")]
    Store(#[from] StoreError),
}

/// The key in an `Authorization: apiKey {key}` header (scheme
/// case-insensitive), `None` when absent or of another scheme.
pub fn key_of(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("apiKey") && !key.is_empty() && key.len() <= 256).then_some(key)
}

/// Authenticates a request needing `permission`, taking one token of the
/// key's bucket.
///
/// # Errors
/// [`ApiKeyError`]: missing or unknown key (401), blocked account or
/// missing permission (403), rate limited (429), store failure.
pub async fn authenticate_key(
    store: &dyn ApiKeyStore,
    headers: &HeaderMap,
    permission: Permission,
    limit: RateLimit,
    now: DateTime<Utc>,
) -> Result<ApiKey, ApiKeyError> {
    let key = key_of(headers).ok_or(ApiKeyError::Missing)?;
    let found = store
        .api_key_by_hash(&hash_key(key))
        .await?
        .ok_or(ApiKeyError::Unknown)?;
    if store.account_blocked(&found.tenant).await? {
        return Err(ApiKeyError::Blocked);
    }
    if !found.permissions.contains(&permission) {
        return Err(ApiKeyError::Forbidden(permission));
    }
    match take_token(store, &found.tenant, &found.id, limit, now).await? {
        RateDecision::Allowed => Ok(found),
        RateDecision::Limited { retry_after_secs } => {
            Err(ApiKeyError::RateLimited(retry_after_secs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_key_scheme_is_read() {
        let mut h = HeaderMap::new();
        assert_eq!(key_of(&h), None);
        h.insert("authorization", "apiKey exk_1".parse().unwrap());
        assert_eq!(key_of(&h), Some("exk_1"));
        h.insert("authorization", "APIKEY  exk_2 ".parse().unwrap());
        assert_eq!(key_of(&h), Some("exk_2"));
        h.insert("authorization", "Bearer exk_1".parse().unwrap());
        assert_eq!(key_of(&h), None);
        h.insert("authorization", "apiKey ".parse().unwrap());
        assert_eq!(key_of(&h), None);
    }
}
