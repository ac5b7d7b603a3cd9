//! Bulk export storage traits and their records: jobs and idempotency
//! records (Exports table), API keys, the blocked flag and rate-limit
//! buckets (TenantConfig), and day-bucketed activities (Entities).
//!
//! Backends provide small primitives (get, conditional replace, put if
//! absent). The rules over them are written once elsewhere, so both
//! backends behave the same: the job state machine in
//! [`crate::service::bulk::lease`], the token bucket in
//! [`crate::auth::rate_limit`]. The keys are in [`crate::store::keys`].

use super::{RecordLoad, StoreError};
use crate::model::bulk::{ApiKey, BulkJob, BulkTask};
use crate::model::{Record, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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
    /// Stores a planned job's tasks, each only if absent: planning a job
    /// again keeps what its tasks have done.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn put_tasks(&self, tenant: &TenantId, tasks: &[BulkTask]) -> Result<(), StoreError>;
    /// One task of the tenant's job, `None` when absent.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn get_task(
        &self,
        tenant: &TenantId,
        job_id: &str,
        index: u32,
    ) -> Result<Option<BulkTask>, StoreError>;
    /// Replaces the task if its stored version is still `expected_version`;
    /// `false` when it is not (or the task is gone).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn replace_task(
        &self,
        tenant: &TenantId,
        task: &BulkTask,
        expected_version: u64,
    ) -> Result<bool, StoreError>;
    /// The job's tasks in index order.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn list_tasks(
        &self,
        tenant: &TenantId,
        job_id: &str,
    ) -> Result<Vec<BulkTask>, StoreError>;
    /// Adds `index` to the job's set of finished tasks in one atomic,
    /// conditional write (adding it again changes nothing) and returns how
    /// many tasks the set holds: the task that brings it to the job's task
    /// count is the one that assembles the file.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn mark_task_done(
        &self,
        tenant: &TenantId,
        job_id: &str,
        index: u32,
    ) -> Result<u32, StoreError>;
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
    /// How many activities of one UTC day occurred in `[from, to)`, both
    /// whole seconds, counted in the store without reading them out (an
    /// index range count on SQLite, a `COUNT` query on DynamoDB).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn count_activities_of_day(
        &self,
        tenant: &TenantId,
        day: NaiveDate,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}
