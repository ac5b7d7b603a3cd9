//! Token buckets: the API-key rate limit and the limit on failed attempts
//! per source address.
//!
//! A bucket holds `burst` tokens and refills at `per_second`; a request
//! takes one. The state lives in the [`ApiKeyStore`] (one item per bucket,
//! written conditionally on its version), so every Lambda instance shares
//! it; the arithmetic and the retry rule live here.

use crate::model::TenantId;
use crate::store::bulk::{ApiKeyStore, Bucket};
use crate::store::StoreError;
use chrono::{DateTime, Utc};

/// A per-key token bucket: `burst` requests at once, refilled at
/// `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

/// Whether a request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateDecision {
    Allowed,
    /// Try again in this many seconds (at least 1).
    Limited {
        retry_after_secs: u64,
    },
}

/// Refills the bucket to `now` and takes one token if there is one.
pub fn take_from(bucket: Option<Bucket>, limit: RateLimit, now_ms: i64) -> (Bucket, RateDecision) {
    let (tokens, version) = match bucket {
        None => (limit.burst, 0),
        Some(b) => {
            let elapsed = (now_ms - b.at_ms).max(0) as f64 / 1000.0;
            (
                (b.tokens + elapsed * limit.per_second).min(limit.burst),
                b.version,
            )
        }
    };
    let (tokens, decision) = if tokens >= 1.0 {
        (tokens - 1.0, RateDecision::Allowed)
    } else {
        let wait = ((1.0 - tokens) / limit.per_second.max(f64::MIN_POSITIVE)).ceil();
        let retry_after_secs = if wait.is_finite() {
            (wait as u64).max(1)
        } else {
            3600
        };
        (tokens, RateDecision::Limited { retry_after_secs })
    };
    (
        Bucket {
            tokens,
            at_ms: now_ms,
            version: version + 1,
        },
        decision,
    )
}

/// How many times a lost race on one bucket is retried.
pub const MAX_ATTEMPTS: u32 = 12;

/// Takes a token from a bucket with a conditional update. A lost race is
/// normal traffic on a busy key: it re-reads after a short, jittered,
/// growing pause (0-1 ms, 0-2 ms, ... up to 0-32 ms), so concurrent
/// requests spread out instead of colliding again. A request that loses
/// every one of [`MAX_ATTEMPTS`] races goes ahead: each read showed a
/// token, and the winners are the ones spending them, so the bucket still
/// runs dry and answers 429 once the key is really over its limit. Contention
/// is therefore never an error and never a 429 on its own; the most it can
/// let through beyond the limit is the requests in flight at that moment.
///
/// # Errors
/// [`StoreError`] when the store fails (not when the bucket is contended).
pub async fn take_token(
    store: &dyn ApiKeyStore,
    tenant: &TenantId,
    key_id: &str,
    limit: RateLimit,
    now: DateTime<Utc>,
) -> Result<RateDecision, StoreError> {
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            let cap_us = 1_000u64 << (attempt - 1).min(5);
            let pause = rand::random_range(0..=cap_us);
            tokio::time::sleep(std::time::Duration::from_micros(pause)).await;
        }
        let current = store.get_bucket(tenant, key_id).await?;
        let (next, decision) = take_from(current, limit, now.timestamp_millis());
        if let RateDecision::Limited { .. } = decision {
            return Ok(decision);
        }
        if store
            .put_bucket(tenant, key_id, &next, current.map(|b| b.version))
            .await?
        {
            return Ok(decision);
        }
    }
    tracing::warn!(
        key_id,
        attempts = MAX_ATTEMPTS,
        "rate bucket stayed contended while it held tokens; letting the request through"
    );
    Ok(RateDecision::Allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        per_second: 2.0,
        burst: 3.0,
    };

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let mut b = None;
        for _ in 0..3 {
            let (next, d) = take_from(b, LIMIT, 1_000);
            assert_eq!(d, RateDecision::Allowed);
            b = Some(next);
        }
        let (_, d) = take_from(b, LIMIT, 1_000);
        assert_eq!(
            d,
            RateDecision::Limited {
                retry_after_secs: 1
            }
        );
        // half a second later one token (2/s) is back
        let (_, d) = take_from(b, LIMIT, 1_500);
        assert_eq!(d, RateDecision::Allowed);
    }

    #[test]
    fn slow_rates_say_how_long_to_wait() {
        let slow = RateLimit {
            per_second: 0.1,
            burst: 1.0,
        };
        let (b, _) = take_from(None, slow, 0);
        let (_, d) = take_from(Some(b), slow, 0);
        assert_eq!(
            d,
            RateDecision::Limited {
                retry_after_secs: 10
            }
        );
    }
}
