//! The bulk job state machine, written once over [`BulkJobStore`]'s
//! conditional replace so both backends behave the same:
//!
//! - [`claim`]: `pending` (or `inProgress` with an expired lease) →
//!   `inProgress`, leased to one worker;
//! - [`report_progress`]: progress, and the lease extended;
//! - [`finish`]: `inProgress → finished`, with the file's rows, bytes and
//!   digest;
//! - [`fail`]: `inProgress → error`, with a message safe to show;
//! - [`expire_lease`]: a dead holder's lease expired at once;
//! - [`cancel`]: `pending | inProgress → cancelled`, whoever holds the
//!   lease; its worker sees it at its next part and stops.
//!
//! Every transition is conditional on the version read, so of two
//! concurrent writers one wins.

use crate::model::bulk::{BulkJob, JobOutput, JobStatus, Lease};
use crate::model::TenantId;
use crate::store::bulk::BulkJobStore;
use crate::store::StoreError;
use chrono::{DateTime, Utc};

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
        JobStatus::Finished | JobStatus::Error | JobStatus::Cancelled => {
            return Ok(Claim::Done(job))
        }
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

/// The outcome of [`cancel`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cancel {
    /// The job is cancelled now (or was already).
    Cancelled(BulkJob),
    /// The job had ended (`finished` or `error`): nothing changed.
    Ended(BulkJob),
    /// No such job.
    Missing,
}

/// Conditional writes a cancel tries before giving up on a job a worker
/// keeps changing (it writes at most once per part or progress interval).
const CANCEL_TRIES: usize = 16;

/// `pending | inProgress → cancelled`, whoever holds the lease. A worker's
/// concurrent write (progress, a claim) makes the conditional write fail;
/// the job is read again and the cancel retried, so contention is never an
/// error.
///
/// # Errors
/// When the store fails, or the job changed under every one of
/// [`CANCEL_TRIES`] tries.
pub async fn cancel(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Cancel, StoreError> {
    for _ in 0..CANCEL_TRIES {
        let Some(job) = store.get_job(tenant, id).await? else {
            return Ok(Cancel::Missing);
        };
        match job.status {
            JobStatus::Cancelled => return Ok(Cancel::Cancelled(job)),
            JobStatus::Finished | JobStatus::Error => return Ok(Cancel::Ended(job)),
            JobStatus::Pending | JobStatus::InProgress => {}
        }
        let mut next = job.clone();
        next.status = JobStatus::Cancelled;
        next.lease = None;
        next.updated_at = now;
        next.version = job.version + 1;
        if store.replace_job(tenant, &next, job.version).await? {
            return Ok(Cancel::Cancelled(next));
        }
    }
    Err(StoreError::Corrupt(
        "the job kept changing while it was cancelled".into(),
    ))
}
