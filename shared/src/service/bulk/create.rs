//! Creating and reading bulk exports: the logic behind `POST /exports`,
//! `GET /exports` and `GET /exports/{id}`.
//!
//! [`BulkExports::create`] checks the segment, honours an `Idempotency-Key`
//! (a retry replays the first request's export, and heals one that died
//! part-way), writes the job and queues it for the worker.
//! [`BulkExports::get`] and [`BulkExports::list`] read jobs back, each with
//! a fresh presigned link to its file. [`BulkExports::cancel`] cancels a
//! pending or running job (`DELETE /exports/{id}`). Results and errors are domain types;
//! the handler maps them to the API's wire format.

use crate::model::bulk::{BulkJob, BulkTask, ExportSpec, JobStatus, TaskCounts, TaskStatus};
use crate::model::{OptionKind, TenantId};
use crate::store::bulk::{BulkJobStore, IdempotencyRecord};
use crate::store::TenantConfigStore;
use crate::store::{FileKey, FileStore, JobMessage, JobQueue, PresignedUrl, StoreError};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::num::NonZeroU32;
use std::time::Duration;

/// The longest `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// Why a bulk export request failed.
#[derive(Debug, thiserror::Error)]
pub enum BulkExportError {
    /// `filters.segmentId` names no (live) segment of the tenant.
    #[error("segment '{0}' does not exist")]
    UnknownSegment(String),
    /// The `Idempotency-Key` is not 1 to 255 visible ASCII characters.
    #[error(
        "the idempotency key is not 1 to {MAX_IDEMPOTENCY_KEY_BYTES} visible ASCII characters"
    )]
    InvalidIdempotencyKey,
    /// The `Idempotency-Key` was used before with another request body.
    #[error("the idempotency key was used with a different request body")]
    IdempotencyConflict,
    /// No such job (or another tenant's).
    #[error("export {0} not found")]
    NotFound(String),
    /// The job has ended (`finished` or `error`): it cannot be cancelled.
    #[error("export {0} has ended ({1:?}) and cannot be cancelled")]
    NotCancellable(String, JobStatus),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl BulkExportError {
    /// Whether the storage under the store is full (see
    /// [`StoreError::is_storage_full`]).
    pub fn is_storage_full(&self) -> bool {
        matches!(self, BulkExportError::Store(e) if e.is_storage_full())
    }
}

/// A job as the client sees it: the job, and a fresh link to its file once
/// it is finished.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    /// The job; a running job's `progress` is its tasks' rows so far.
    pub job: BulkJob,
    pub link: Option<PresignedUrl>,
    /// A fanned-out job's tasks, done and in all.
    pub tasks: Option<TaskCounts>,
}

/// What [`BulkExports::create`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Creation {
    /// A new job was written and queued.
    Created(BulkJob),
    /// A retry with a known `Idempotency-Key`: the first request's job.
    Replayed(JobView),
}

/// One page of [`BulkExports::list`], newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct JobList {
    pub items: Vec<JobView>,
    /// The page asked for, from 0.
    pub page: u32,
    pub size: NonZeroU32,
    /// How many jobs the tenant has.
    pub total: u64,
    pub total_pages: u64,
}

/// What creating and reading bulk exports needs.
#[derive(Clone, Copy)]
pub struct BulkExports<'a> {
    pub jobs: &'a dyn BulkJobStore,
    pub config: &'a dyn TenantConfigStore,
    pub queue: &'a dyn JobQueue,
    pub files: &'a dyn FileStore,
    /// Lifetime of a file link.
    pub url_ttl: Duration,
    /// How long a job is kept after its creation: its `ttl` is
    /// `createdAt + retention`.
    pub retention: Duration,
}

impl BulkExports<'_> {
    /// Creates the export `spec` for `tenant`, or, when `idempotency_key`
    /// (the header's raw value) was seen before, replays the first
    /// request's export.
    ///
    /// A replay also heals a first request that died part-way: if the
    /// recorded job was never written (a crash after the idempotency
    /// record), it is written now under the recorded id; if it is still
    /// `pending` (a crash before it was queued, or a lost message), it is
    /// queued again.
    ///
    /// # Errors
    /// [`BulkExportError::UnknownSegment`], then
    /// [`BulkExportError::InvalidIdempotencyKey`],
    /// [`BulkExportError::IdempotencyConflict`] for a key used with another
    /// body, [`BulkExportError::Store`] when a store or the queue fails.
    pub async fn create(
        &self,
        tenant: &TenantId,
        spec: ExportSpec,
        idempotency_key: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Creation, BulkExportError> {
        if let Some(segment) = &spec.filters.segment_id {
            self.check_segment(tenant, segment).await?;
        }
        let idempotency = idempotency_key.map(parse_idempotency_key).transpose()?;
        let mut job = BulkJob::new(BulkJob::new_id(), spec.clone(), now);
        job.ttl = Some(
            now.timestamp()
                .saturating_add(self.retention.as_secs() as i64),
        );
        if let Some(idem) = idempotency {
            let record = IdempotencyRecord {
                key_sha256: sha256_hex(idem.as_bytes()),
                request_sha256: spec_hash(&spec)?,
                job_id: job.id.clone(),
                created_at: now,
            };
            if let Some(existing) = self.jobs.put_idempotency(tenant, &record).await? {
                let view = self.replay(tenant, &record, &existing, job).await?;
                return Ok(Creation::Replayed(view));
            }
        }
        self.jobs.create_job(tenant, &job).await?;
        self.enqueue(tenant, &job.id).await?;
        Ok(Creation::Created(job))
    }

    /// The tenant's job `id`, with its file link.
    ///
    /// # Errors
    /// [`BulkExportError::NotFound`] when there is no such job,
    /// [`BulkExportError::Store`] when a store fails.
    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<JobView, BulkExportError> {
        let job = self
            .jobs
            .get_job(tenant, id)
            .await?
            .ok_or_else(|| BulkExportError::NotFound(id.to_string()))?;
        self.view(tenant, job).await
    }

    /// Cancels the tenant's job `id` if it is pending or running: its
    /// worker stops at its next part and aborts the upload, so no file is
    /// left. Cancelling a cancelled job changes nothing.
    ///
    /// # Errors
    /// [`BulkExportError::NotFound`] when there is no such job,
    /// [`BulkExportError::NotCancellable`] when it has finished or failed,
    /// [`BulkExportError::Store`] when a store fails.
    pub async fn cancel(
        &self,
        tenant: &TenantId,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<JobView, BulkExportError> {
        match super::lease::cancel(self.jobs, tenant, id, now).await? {
            super::lease::Cancel::Cancelled(job) => {
                tracing::info!(tenant = %tenant, job = %job.id, "bulk export cancelled");
                // The chunks its tasks stored go now; a task still writing
                // sees the cancel after its next chunk and removes its own.
                if job.tasks.is_some() {
                    for task in self.jobs.list_tasks(tenant, &job.id).await? {
                        super::task::delete_chunks(self.files, tenant, &task).await;
                    }
                }
                Ok(JobView {
                    job,
                    link: None,
                    tasks: None,
                })
            }
            super::lease::Cancel::Ended(job) => {
                Err(BulkExportError::NotCancellable(job.id, job.status))
            }
            super::lease::Cancel::Missing => Err(BulkExportError::NotFound(id.to_string())),
        }
    }

    /// Page `page` (from 0) of the tenant's jobs, `size` a page, newest
    /// first, each with its file link.
    ///
    /// # Errors
    /// [`BulkExportError::Store`] when a store fails.
    pub async fn list(
        &self,
        tenant: &TenantId,
        page: u32,
        size: NonZeroU32,
    ) -> Result<JobList, BulkExportError> {
        let offset = u64::from(page) * u64::from(size.get());
        let found = self.jobs.list_jobs(tenant, offset, size.get()).await?;
        let mut items = Vec::with_capacity(found.jobs.len());
        for job in found.jobs {
            items.push(self.view(tenant, job).await?);
        }
        Ok(JobList {
            items,
            page,
            size,
            total: found.total,
            total_pages: found.total.div_ceil(u64::from(size.get())),
        })
    }

    /// Whether `segment` is one of the tenant's live segments.
    async fn check_segment(&self, tenant: &TenantId, segment: &str) -> Result<(), BulkExportError> {
        let known = self
            .config
            .options(tenant, OptionKind::Segments)
            .await?
            .iter()
            .any(|o| o.code == segment && !o.deleted);
        if known {
            Ok(())
        } else {
            Err(BulkExportError::UnknownSegment(segment.to_string()))
        }
    }

    /// Queues the job for the worker. Sending twice is harmless: the worker
    /// ignores a finished job and a job another worker holds.
    async fn enqueue(&self, tenant: &TenantId, job_id: &str) -> Result<(), StoreError> {
        self.queue
            .send(&JobMessage {
                tenant: tenant.clone(),
                job_id: job_id.to_string(),
                task: None,
            })
            .await
    }

    /// A retried creation: the same export for the same body, healed (see
    /// [`create`](Self::create)); a conflict for another body.
    async fn replay(
        &self,
        tenant: &TenantId,
        mine: &IdempotencyRecord,
        existing: &IdempotencyRecord,
        fresh: BulkJob,
    ) -> Result<JobView, BulkExportError> {
        if existing.request_sha256 != mine.request_sha256 {
            return Err(BulkExportError::IdempotencyConflict);
        }
        // The first request may still be writing its job.
        let mut found = None;
        for _ in 0..20 {
            found = self.jobs.get_job(tenant, &existing.job_id).await?;
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let job = match found {
            Some(job) => job,
            None => {
                let job = BulkJob {
                    id: existing.job_id.clone(),
                    ..fresh
                };
                match self.jobs.create_job(tenant, &job).await {
                    Ok(()) => job,
                    Err(StoreError::AlreadyExists(_)) => self
                        .jobs
                        .get_job(tenant, &existing.job_id)
                        .await?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("job {} vanished", existing.job_id))
                        })?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if job.status == JobStatus::Pending {
            self.enqueue(tenant, &job.id).await?;
        }
        self.view(tenant, job).await
    }

    /// The job with a fresh presigned link to its file, once finished.
    async fn view(&self, tenant: &TenantId, mut job: BulkJob) -> Result<JobView, BulkExportError> {
        let link = self.file_link(tenant, &job).await?;
        let tasks = match (job.tasks, job.status) {
            (Some(total), JobStatus::InProgress) => {
                let tasks = self.jobs.list_tasks(tenant, &job.id).await?;
                job.progress = tasks.iter().map(BulkTask::rows).sum();
                // Counted while planning, or once every task has started
                // and counted its own rows.
                job.total = job.expected.or_else(|| {
                    (tasks.len() == total as usize)
                        .then(|| tasks.iter().map(|t| t.expected).sum::<Option<u64>>())
                        .flatten()
                });
                let done = tasks
                    .iter()
                    .filter(|t| t.status == TaskStatus::Done)
                    .count() as u32;
                Some(TaskCounts { done, total })
            }
            (Some(total), JobStatus::Finished) => Some(TaskCounts { done: total, total }),
            _ => None,
        };
        Ok(JobView { job, link, tasks })
    }

    /// A fresh presigned URL of a finished job's file, valid for `url_ttl`.
    async fn file_link(
        &self,
        tenant: &TenantId,
        job: &BulkJob,
    ) -> Result<Option<PresignedUrl>, StoreError> {
        let Some(output) = &job.output else {
            return Ok(None);
        };
        let file = FileKey::parse(&output.file_key)?;
        // Files live under their tenant's prefix; never presign another's.
        if !output
            .file_key
            .starts_with(&format!("{}/", tenant.as_str()))
        {
            return Err(StoreError::Corrupt(format!(
                "job {} names a foreign file",
                job.id
            )));
        }
        self.files.presign_get(&file, self.url_ttl).await.map(Some)
    }
}

/// An `Idempotency-Key` header's value: 1 to 255 visible ASCII characters.
fn parse_idempotency_key(raw: &[u8]) -> Result<&str, BulkExportError> {
    let valid = !raw.is_empty()
        && raw.len() <= MAX_IDEMPOTENCY_KEY_BYTES
        && raw.iter().all(u8::is_ascii_graphic);
    match std::str::from_utf8(raw) {
        Ok(s) if valid => Ok(s),
        _ => Err(BulkExportError::InvalidIdempotencyKey),
    }
}

/// Lower-case hex SHA-256, as idempotency keys are stored.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash an idempotency record keeps of its request: two bodies with
/// the same meaning (key order, defaults) hash the same.
///
/// # Errors
/// [`StoreError::Corrupt`] only if the spec cannot be serialised, which
/// would be a bug.
pub fn spec_hash(spec: &ExportSpec) -> Result<String, StoreError> {
    let canonical = serde_json::to_vec(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(sha256_hex(&canonical))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert_eq!(parse_idempotency_key(b"k-1").ok(), Some("k-1"));
        assert!(parse_idempotency_key(&[b'a'; 255]).is_ok());
        for bad in [&b""[..], &[b'a'; 256], b"a b", b"a\tb", "é".as_bytes()] {
            assert!(parse_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }
}
