//! API-key authentication of the bulk exports API: `Authorization: apiKey
//! {key}`, looked up by SHA-256, then the blocked flag, the permission and
//! the key's token bucket.

use super::rate_limit::{take_from, take_token, RateDecision, RateLimit};
use crate::model::bulk::{hash_key, ApiKey, Permission};
use crate::model::TenantId;
use crate::store::bulk::ApiKeyStore;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use http::HeaderMap;
use std::net::IpAddr;

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

/// The limit on unknown keys from one source address: 10 at once, then one
/// every 5 seconds. Guessing keys from one address is slowed to 17,280 a
/// day; a client with a typo in its key is told so 10 times before it waits.
pub const FAILED_ATTEMPTS: RateLimit = RateLimit {
    per_second: 0.2,
    burst: 10.0,
};

/// The bucket of failed attempts of one source address. Its items sit in
/// the TenantConfig table under a scope of their own (`~source:{addr}`: no
/// tenant id holds `~`), one partition per address.
fn source_scope(addr: IpAddr) -> (TenantId, &'static str) {
    (TenantId::new(format!("~source:{addr}")), "auth-failures")
}

/// Who is asking, and for what.
#[derive(Debug, Clone, Copy)]
pub struct KeyRequest<'a> {
    pub headers: &'a HeaderMap,
    /// The client's address (API Gateway's `sourceIp`), when known.
    pub source: Option<IpAddr>,
    pub permission: Permission,
}

/// Authenticates a request needing `permission`, taking one token of the
/// key's bucket.
///
/// - An address that sent [`FAILED_ATTEMPTS`]`.burst` unknown keys is
///   answered 429 for any key until its bucket refills, so it cannot go on
///   guessing.
/// - A read ([`Permission::ReadExports`]) does not depend on the limiter's
///   write: when the bucket store fails, the read goes ahead and a warning
///   is logged. A write request fails with the store.
///
/// # Errors
/// [`ApiKeyError`]: missing or unknown key (401), blocked account or
/// missing permission (403), rate limited (429), store failure.
pub async fn authenticate_key(
    store: &dyn ApiKeyStore,
    request: KeyRequest<'_>,
    limit: RateLimit,
    now: DateTime<Utc>,
) -> Result<ApiKey, ApiKeyError> {
    let KeyRequest {
        headers,
        source,
        permission,
    } = request;
    if let Some(addr) = source {
        let (scope, id) = source_scope(addr);
        match store.get_bucket(&scope, id).await {
            Ok(bucket) => {
                if let (_, RateDecision::Limited { retry_after_secs }) =
                    take_from(bucket, FAILED_ATTEMPTS, now.timestamp_millis())
                {
                    return Err(ApiKeyError::RateLimited(retry_after_secs));
                }
            }
            Err(e) => tracing::warn!(error = %e, "failed-attempt limiter unreadable; not applied"),
        }
    }
    let key = key_of(headers).ok_or(ApiKeyError::Missing)?;
    let Some(found) = store.api_key_by_hash(&hash_key(key)).await? else {
        return Err(failed_attempt(store, source, now).await);
    };
    if store.account_blocked(&found.tenant).await? {
        return Err(ApiKeyError::Blocked);
    }
    if !found.permissions.contains(&permission) {
        return Err(ApiKeyError::Forbidden(permission));
    }
    match take_token(store, &found.tenant, &found.id, limit, now).await {
        Ok(RateDecision::Allowed) => Ok(found),
        Ok(RateDecision::Limited { retry_after_secs }) => {
            Err(ApiKeyError::RateLimited(retry_after_secs))
        }
        Err(e) if permission == Permission::ReadExports => {
            tracing::warn!(error = %e, key = %found.id, "rate limiter write failed; read let through");
            Ok(found)
        }
        Err(e) => Err(e.into()),
    }
}

/// Counts an unknown key against its source address: 401, or 429 once the
/// address has used up its attempts.
async fn failed_attempt(
    store: &dyn ApiKeyStore,
    source: Option<IpAddr>,
    now: DateTime<Utc>,
) -> ApiKeyError {
    let Some(addr) = source else {
        return ApiKeyError::Unknown;
    };
    let (scope, id) = source_scope(addr);
    match take_token(store, &scope, id, FAILED_ATTEMPTS, now).await {
        Ok(RateDecision::Limited { retry_after_secs }) => {
            tracing::warn!(%addr, "unknown API keys from one address; throttled");
            ApiKeyError::RateLimited(retry_after_secs)
        }
        Ok(RateDecision::Allowed) => ApiKeyError::Unknown,
        Err(e) => {
            tracing::warn!(error = %e, "failed-attempt limiter write failed");
            ApiKeyError::Unknown
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

    use crate::store::bulk::Bucket;
    use crate::store::embedded::EmbeddedStore;
    use async_trait::async_trait;

    /// The embedded store, whose bucket writes fail as on a full disk.
    struct FullDisk(EmbeddedStore);

    #[async_trait]
    impl ApiKeyStore for FullDisk {
        async fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
            self.0.put_api_key(key).await
        }
        async fn api_key_by_hash(&self, sha256: &str) -> Result<Option<ApiKey>, StoreError> {
            self.0.api_key_by_hash(sha256).await
        }
        async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
            self.0.list_api_keys(tenant).await
        }
        async fn revoke_api_key(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
            self.0.revoke_api_key(tenant, id).await
        }
        async fn account_blocked(&self, tenant: &TenantId) -> Result<bool, StoreError> {
            self.0.account_blocked(tenant).await
        }
        async fn set_account_blocked(&self, t: &TenantId, b: bool) -> Result<(), StoreError> {
            self.0.set_account_blocked(t, b).await
        }
        async fn get_bucket(&self, t: &TenantId, id: &str) -> Result<Option<Bucket>, StoreError> {
            self.0.get_bucket(t, id).await
        }
        async fn put_bucket(
            &self,
            _: &TenantId,
            _: &str,
            _: &Bucket,
            _: Option<u64>,
        ) -> Result<bool, StoreError> {
            Err(StoreError::backend(
                "write bucket",
                std::io::Error::other("database or disk is full"),
            ))
        }
    }

    const LIMIT: RateLimit = RateLimit {
        per_second: 100.0,
        burst: 100.0,
    };

    fn headers(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", format!("apiKey {key}").parse().unwrap());
        h
    }

    async fn store_with_key() -> (tempfile::TempDir, EmbeddedStore, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (key, record) = ApiKey::generate(
            TenantId::new("t-1"),
            "k",
            vec![Permission::ReadExports, Permission::CreateExports],
            Utc::now(),
        );
        store.put_api_key(&record).await.unwrap();
        (dir, store, key)
    }

    #[tokio::test]
    async fn unknown_keys_from_one_address_are_throttled_then_every_key_from_it() {
        // GIVEN a valid key and an address guessing keys
        let (_dir, store, valid) = store_with_key().await;
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        let ask = |h: &'static HeaderMap, source| KeyRequest {
            headers: h,
            source,
            permission: Permission::ReadExports,
        };
        let guess: &'static HeaderMap = Box::leak(Box::new(headers("exk_guess")));
        let good: &'static HeaderMap = Box::leak(Box::new(headers(&valid)));
        let now = Utc::now();
        // WHEN it sends its burst of unknown keys, THEN each is a 401
        for _ in 0..FAILED_ATTEMPTS.burst as usize {
            let e = authenticate_key(&store, ask(guess, Some(attacker)), LIMIT, now).await;
            assert!(matches!(e, Err(ApiKeyError::Unknown)), "{e:?}");
        }
        // AND the next one is a 429 with a wait
        let e = authenticate_key(&store, ask(guess, Some(attacker)), LIMIT, now).await;
        assert!(
            matches!(e, Err(ApiKeyError::RateLimited(s)) if s >= 1),
            "{e:?}"
        );
        // AND so is a valid key from that address, so guessing cannot go on
        let e = authenticate_key(&store, ask(good, Some(attacker)), LIMIT, now).await;
        assert!(matches!(e, Err(ApiKeyError::RateLimited(_))), "{e:?}");
        // AND another address is not affected
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(authenticate_key(&store, ask(good, Some(other)), LIMIT, now)
            .await
            .is_ok());
        // AND once the bucket refills, the address is heard again
        let later = now + chrono::Duration::seconds(10);
        assert!(
            authenticate_key(&store, ask(good, Some(attacker)), LIMIT, later)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_failed_limiter_write_lets_reads_through_but_not_writes() {
        // GIVEN a store whose bucket writes fail (a full disk)
        let (_dir, store, key) = store_with_key().await;
        let full = FullDisk(store);
        let h = headers(&key);
        let ask = |permission| KeyRequest {
            headers: &h,
            source: None,
            permission,
        };
        // WHEN a read is authenticated, THEN it goes ahead
        let read = authenticate_key(&full, ask(Permission::ReadExports), LIMIT, Utc::now()).await;
        assert!(read.is_ok(), "{read:?}");
        // WHEN a write is, THEN the store's failure is reported
        let write =
            authenticate_key(&full, ask(Permission::CreateExports), LIMIT, Utc::now()).await;
        assert!(matches!(write, Err(ApiKeyError::Store(_))), "{write:?}");
    }
}
