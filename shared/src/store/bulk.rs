//! Bulk export storage: jobs and idempotency records (Exports table), API
//! keys, the blocked flag and rate-limit buckets (TenantConfig), and
//! day-bucketed activities (Entities).
//!
//! Backends provide small primitives (get, conditional replace, put if
//! absent); the state machine and the token bucket are written once here
//! over them, so both backends behave the same.
//!
//! Keys (both backends):
//!
//! | table | pk | sk | holds |
//! |---|---|---|---|
//! | Exports | `T#{tenant}` | `JOB#{uuidv7}` | a [`BulkJob`]; newest first = reverse sort-key order |
//! | Exports | `T#{tenant}` | `IDEM#{sha256(key)}` | an [`IdempotencyRecord`] |
//! | TenantConfig | `T#{tenant}` | `APIKEY#{sha256}` | an [`ApiKey`] |
//! | TenantConfig | `APIKEY#{sha256}` | `APIKEY` | pointer: the key's tenant, to find a key by hash alone |
//! | TenantConfig | `T#{tenant}` | `BLOCKED` | present when the account is blocked |
//! | TenantConfig | `T#{tenant}` | `RATE#{key id}` | the key's token bucket |
//! | Entities | `T#{tenant}#ACT#{yyyy-mm-dd}` | `{occurredAt}#{id}` | an activity |

use super::{RecordLoad, StoreError};
use crate::model::bulk::{ApiKey, BulkJob, JobOutput, JobStatus, Lease};
use crate::model::{Record, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// `JOB#{id}`
pub fn job_sk(id: &str) -> String {
    format!("JOB#{id}")
}
/// `JOB#`
pub const JOB_PREFIX: &str = "JOB#";
/// `IDEM#{sha256 of the client's key}`
pub fn idempotency_sk(key_sha256: &str) -> String {
    format!("IDEM#{key_sha256}")
}
/// `APIKEY#{sha256}`: the key in its tenant's partition, and the pointer's pk.
pub fn api_key_sk(sha256: &str) -> String {
    format!("APIKEY#{sha256}")
}
/// `APIKEY#`
pub const API_KEY_PREFIX: &str = "APIKEY#";
/// The pointer item's sort key.
pub const API_KEY_POINTER_SK: &str = "APIKEY";
/// `BLOCKED`
pub const BLOCKED_SK: &str = "BLOCKED";
/// `RATE#{key id}`
pub fn rate_sk(key_id: &str) -> String {
    format!("RATE#{key_id}")
}
/// `T#{tenant}#ACT#{yyyy-mm-dd}`
pub fn activity_pk(tenant: &TenantId, day: NaiveDate) -> String {
    format!("T#{}#ACT#{}", tenant.as_str(), day.format("%Y-%m-%d"))
}

/// An activity's UTC time and the `{occurredAt}#{id}` sort key, from its
/// `occurredAt` (RFC 3339, normalised to UTC seconds so keys sort by time).
///
/// # Errors
/// [`StoreError::Corrupt`] when `occurredAt` is missing or not RFC 3339.
pub fn activity_key(record: &Record) -> Result<(DateTime<Utc>, String), StoreError> {
    let at = record
        .get("occurredAt")
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "activity {}: occurredAt is not RFC 3339",
                record.id
            ))
        })?;
    let sk = format!(
        "{}#{}",
        at.to_rfc3339_opts(SecondsFormat::Secs, true),
        record.id
    );
    Ok((at, sk))
}

/// One page of a tenant's jobs, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPage {
    pub jobs: Vec<BulkJob>,
    /// How many jobs the tenant has.
    pub total: u64,
}

/// A retried `POST /exports`: the client's `Idempotency-Key` (stored hashed),
/// the hash of the body it came with, and the job it created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub key_sha256: String,
    pub request_sha256: String,
    pub job_id: String,
    pub created_at: DateTime<Utc>,
}

/// Jobs and idempotency records in the Exports table.
#[async_trait]
pub trait BulkJobStore: Send + Sync {
    /// Stores a new job.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] when the id is taken.
    async fn create_job(&self, tenant: &TenantId, job: &BulkJob) -> Result<(), StoreError>;
    /// The tenant's job, `None` when absent (or another tenant's).
    async fn get_job(&self, tenant: &TenantId, id: &str) -> Result<Option<BulkJob>, StoreError>;
    /// Replaces the job if its stored version is still `expected_version`:
    /// the conditional write under every transition. `false` when it is not.
    async fn replace_job(
        &self,
        tenant: &TenantId,
        job: &BulkJob,
        expected_version: u64,
    ) -> Result<bool, StoreError>;
    /// Jobs `offset..offset + limit`, newest first.
    async fn list_jobs(
        &self,
        tenant: &TenantId,
        offset: u64,
        limit: u32,
    ) -> Result<JobPage, StoreError>;
    /// Stores the record unless one with its key exists; returns the
    /// existing one then.
    async fn put_idempotency(
        &self,
        tenant: &TenantId,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}

/// A token bucket's stored state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub tokens: f64,
    /// When `tokens` was computed, in Unix milliseconds.
    pub at_ms: i64,
    /// Bumped on every write; updates are conditional on it.
    pub version: u64,
}

/// API keys, the blocked flag and the rate-limit buckets (TenantConfig).
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a key and its pointer.
    async fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// The key with this SHA-256, whatever its tenant; `None` when unknown
    /// or revoked.
    async fn api_key_by_hash(&self, sha256: &str) -> Result<Option<ApiKey>, StoreError>;
    /// The tenant's keys, by hash.
    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError>;
    /// Deletes the tenant's key whose id is `id`; `false` when there is none.
    async fn revoke_api_key(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError>;
    async fn account_blocked(&self, tenant: &TenantId) -> Result<bool, StoreError>;
    async fn set_account_blocked(&self, tenant: &TenantId, blocked: bool)
        -> Result<(), StoreError>;
    /// The key's bucket, `None` before its first request.
    async fn get_bucket(
        &self,
        tenant: &TenantId,
        key_id: &str,
    ) -> Result<Option<Bucket>, StoreError>;
    /// Writes `bucket` if the stored version is `expected` (`None`: only if
    /// there is no bucket yet). `false` when another request came first.
    async fn put_bucket(
        &self,
        tenant: &TenantId,
        key_id: &str,
        bucket: &Bucket,
        expected: Option<u64>,
    ) -> Result<bool, StoreError>;
}

/// Day-bucketed activities (Entities).
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Inserts or replaces activities; each goes to the day of its `occurredAt`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an activity without a valid `occurredAt`.
    async fn put_activities(
        &self,
        tenant: &TenantId,
        records: Vec<Record>,
    ) -> Result<(), StoreError>;
    /// Starts an all-or-nothing load of the tenant's activities (see
    /// [`RecordLoad`]); each activity is checked as by
    /// [`put_activities`](Self::put_activities).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn begin_activity_load(
        &self,
        tenant: &TenantId,
    ) -> Result<Box<dyn RecordLoad + '_>, StoreError>;
    /// Up to `limit` activities of one UTC day in time order, after the sort
    /// key `after`; with the sort key to resume from (`None` at the end).
    async fn activities_of_day(
        &self,
        tenant: &TenantId,
        day: NaiveDate,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Record>, Option<String>), StoreError>;
}

/// The outcome of [`claim`].
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The job is ours until the lease expires.
    Claimed(BulkJob),
    /// Nothing to do: the job is finished or failed already.
    Done(BulkJob),
    /// Another worker holds an unexpired lease.
    Busy(BulkJob),
    /// No such job.
    Missing,
}

/// Claims a job for `owner` until `now + lease`: a pending job, or one in
/// progress whose lease has expired (its worker died). Conditional on the
/// version read, so of two concurrent claims one wins.
///
/// # Errors
/// When the store fails.
pub async fn claim(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    id: &str,
    owner: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<Claim, StoreError> {
    let Some(job) = store.get_job(tenant, id).await? else {
        return Ok(Claim::Missing);
    };
    match job.status {
        JobStatus::Finished | JobStatus::Error => return Ok(Claim::Done(job)),
        JobStatus::InProgress
            if job
                .lease
                .as_ref()
                .is_some_and(|l| l.expires_at > now && l.owner != owner) =>
        {
            return Ok(Claim::Busy(job));
        }
        JobStatus::Pending | JobStatus::InProgress => {}
    }
    let mut next = job.clone();
    next.status = JobStatus::InProgress;
    next.lease = Some(Lease {
        owner: owner.to_string(),
        expires_at: now + lease,
    });
    next.attempts += 1;
    next.progress = 0;
    next.updated_at = now;
    next.version = job.version + 1;
    if store.replace_job(tenant, &next, job.version).await? {
        Ok(Claim::Claimed(next))
    } else {
        let current = store.get_job(tenant, id).await?;
        Ok(current.map_or(Claim::Missing, Claim::Busy))
    }
}

/// Expires the lease of an `inProgress` job at `now`, whoever holds it, so
/// the next [`claim`] takes the job at once. For a lease whose holder is
/// known to be dead (a crashed local server); conditional on the version
/// read, so a job that changed meanwhile is left alone (`false`).
///
/// # Errors
/// When the store fails.
pub async fn expire_lease(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    job: &BulkJob,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(lease) = job.lease.as_ref() else {
        return Ok(false);
    };
    if job.status != JobStatus::InProgress || lease.expires_at <= now {
        return Ok(false);
    }
    let mut next = job.clone();
    next.lease = Some(Lease {
        owner: lease.owner.clone(),
        expires_at: now,
    });
    next.updated_at = now;
    next.version = job.version + 1;
    store.replace_job(tenant, &next, job.version).await
}

/// Applies `change` to the job if `owner` still holds its lease, extending
/// the lease. `Ok(false)` when the lease was lost (expired and taken, or the
/// job changed under us).
async fn leased_update(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut BulkJob),
) -> Result<bool, StoreError> {
    let holds =
        job.status == JobStatus::InProgress && job.lease.as_ref().is_some_and(|l| l.owner == owner);
    if !holds {
        return Ok(false);
    }
    let mut next = job.clone();
    change(&mut next);
    next.updated_at = now;
    next.version = job.version + 1;
    if store.replace_job(tenant, &next, job.version).await? {
        *job = next;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// Records progress and extends the lease to `now + lease`.
///
/// # Errors
/// When the store fails.
pub async fn report_progress(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    progress: u64,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<bool, StoreError> {
    leased_update(store, tenant, job, owner, now, |j| {
        j.progress = progress;
        j.lease = Some(Lease {
            owner: owner.to_string(),
            expires_at: now + lease,
        });
    })
    .await
}

/// `inProgress → finished`, with the file's rows, bytes and digest.
///
/// # Errors
/// When the store fails.
pub async fn finish(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    output: JobOutput,
) -> Result<bool, StoreError> {
    let now = output.finished_at;
    leased_update(store, tenant, job, owner, now, |j| {
        j.status = JobStatus::Finished;
        j.progress = output.rows;
        j.total = Some(output.rows);
        j.lease = None;
        j.output = Some(output);
    })
    .await
}

/// `inProgress → error`, with a message safe to show the client.
///
/// # Errors
/// When the store fails.
pub async fn fail(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    leased_update(store, tenant, job, owner, now, |j| {
        j.status = JobStatus::Error;
        j.lease = None;
        j.error = Some(message.to_string());
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_keys_sort_by_utc_time() {
        let mut m = serde_json::Map::new();
        m.insert("occurredAt".into(), "2026-01-02T01:30:00-03:00".into());
        let r = Record::new("a1", m);
        let (at, sk) = activity_key(&r).unwrap();
        assert_eq!(sk, "2026-01-02T04:30:00Z#a1");
        assert_eq!(at.date_naive().to_string(), "2026-01-02");
        assert!(activity_key(&Record::new("a2", serde_json::Map::new())).is_err());
    }
}
