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
//! A fanned-out job's tasks have a machine of their own: [`claim_task`],
//! [`commit_chunk`] (a stored chunk and where to resume), [`finish_task`],
//! [`release_task`]; the job is [`planned`] (its lease given up while the
//! tasks run), its file assembled under [`claim_assembly`], and a task that
//! fails for good [`abort`]s it.
//!
//! Every transition is conditional on the version read, so of two
//! concurrent writers one wins.

use crate::model::bulk::{
    BulkJob, BulkTask, JobOutput, JobStatus, Lease, TaskChunk, TaskCursor, TaskStatus,
};
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

/// `inProgress → error` whoever holds the job (a fan-out task that failed
/// for good holds no lease on its job). Conditional on the version read and
/// retried like [`cancel`]; a job that has ended is left alone (`None`).
///
/// # Errors
/// When the store fails, or the job changed under every try.
pub async fn abort(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    id: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<Option<BulkJob>, StoreError> {
    for _ in 0..CANCEL_TRIES {
        let Some(job) = store.get_job(tenant, id).await? else {
            return Ok(None);
        };
        if job.status.is_final() {
            return Ok(None);
        }
        let mut next = job.clone();
        next.status = JobStatus::Error;
        next.lease = None;
        next.error = Some(message.to_string());
        next.updated_at = now;
        next.version = job.version + 1;
        if store.replace_job(tenant, &next, job.version).await? {
            return Ok(Some(next));
        }
    }
    Err(StoreError::Corrupt(
        "the job kept changing while it was failed".into(),
    ))
}

/// Records that the planned job runs as `tasks` tasks (and holds
/// `expected` rows, when counted) and gives its lease
/// up: from now on its tasks hold leases of their own, and the job's lease
/// is taken again only to assemble the file.
///
/// # Errors
/// When the store fails.
pub async fn planned(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    tasks: u32,
    expected: Option<u64>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    leased_update(store, tenant, job, owner, now, |j| {
        j.tasks = Some(tasks);
        j.expected = expected;
        j.lease = None;
    })
    .await
}

/// Takes the job's lease to assemble its file: an `inProgress` job whose
/// lease is free (none, expired, or `owner`'s). Unlike [`claim`] it counts
/// no attempt and keeps the progress.
///
/// # Errors
/// When the store fails.
pub async fn claim_assembly(
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
    if job.status.is_final() {
        return Ok(Claim::Done(job));
    }
    let free = job
        .lease
        .as_ref()
        .is_none_or(|l| l.expires_at <= now || l.owner == owner);
    if job.status != JobStatus::InProgress || !free {
        return Ok(Claim::Busy(job));
    }
    let mut next = job.clone();
    next.lease = Some(Lease {
        owner: owner.to_string(),
        expires_at: now + lease,
    });
    next.updated_at = now;
    next.version = job.version + 1;
    if store.replace_job(tenant, &next, job.version).await? {
        Ok(Claim::Claimed(next))
    } else {
        Ok(Claim::Busy(job))
    }
}

/// The outcome of [`claim_task`].
#[derive(Debug, Clone, PartialEq)]
pub enum TaskClaim {
    /// The task is ours until the lease expires.
    Claimed(BulkTask),
    /// The task is done already.
    Done(BulkTask),
    /// Another worker holds an unexpired lease.
    Busy,
    /// No such task.
    Missing,
}

/// Claims a task for `owner` until `now + lease`: a pending task, or a
/// running one whose lease has expired. Counts an attempt. Conditional on
/// the version read.
///
/// # Errors
/// When the store fails.
pub async fn claim_task(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    job_id: &str,
    index: u32,
    owner: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<TaskClaim, StoreError> {
    let Some(task) = store.get_task(tenant, job_id, index).await? else {
        return Ok(TaskClaim::Missing);
    };
    match task.status {
        TaskStatus::Done => return Ok(TaskClaim::Done(task)),
        TaskStatus::Running
            if task
                .lease
                .as_ref()
                .is_some_and(|l| l.expires_at > now && l.owner != owner) =>
        {
            return Ok(TaskClaim::Busy)
        }
        TaskStatus::Pending | TaskStatus::Running => {}
    }
    let mut next = task.clone();
    next.status = TaskStatus::Running;
    next.lease = Some(Lease {
        owner: owner.to_string(),
        expires_at: now + lease,
    });
    next.attempts += 1;
    next.updated_at = now;
    next.version = task.version + 1;
    if store.replace_task(tenant, &next, task.version).await? {
        Ok(TaskClaim::Claimed(next))
    } else {
        Ok(TaskClaim::Busy)
    }
}

/// Applies `change` to the task if `owner` still holds its lease.
/// `Ok(false)` when the lease was lost.
async fn leased_task_update(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    task: &mut BulkTask,
    owner: &str,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut BulkTask),
) -> Result<bool, StoreError> {
    let holds =
        task.status == TaskStatus::Running && task.lease.as_ref().is_some_and(|l| l.owner == owner);
    if !holds {
        return Ok(false);
    }
    let mut next = task.clone();
    change(&mut next);
    next.updated_at = now;
    next.version = task.version + 1;
    if store.replace_task(tenant, &next, task.version).await? {
        *task = next;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// Records a stored chunk and the cursor after it, and extends the lease
/// to `lease` from now:
/// a later run resumes there. The task made progress, so its attempts
/// start again from zero.
///
/// # Errors
/// When the store fails.
pub async fn commit_chunk(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    task: &mut BulkTask,
    owner: &str,
    chunk: TaskChunk,
    cursor: TaskCursor,
    lease: chrono::Duration,
) -> Result<bool, StoreError> {
    let now = Utc::now();
    leased_task_update(store, tenant, task, owner, now, |t| {
        t.chunks.push(chunk);
        t.cursor = cursor;
        t.attempts = 0;
        t.lease = Some(Lease {
            owner: owner.to_string(),
            expires_at: now + lease,
        });
    })
    .await
}

/// Records the rows the task will write, counted when it first started.
///
/// # Errors
/// When the store fails.
pub async fn record_expected(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    task: &mut BulkTask,
    owner: &str,
    expected: u64,
) -> Result<bool, StoreError> {
    leased_task_update(store, tenant, task, owner, Utc::now(), |t| {
        t.expected = Some(expected);
    })
    .await
}

/// `running → done`.
///
/// # Errors
/// When the store fails.
pub async fn finish_task(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    task: &mut BulkTask,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    leased_task_update(store, tenant, task, owner, now, |t| {
        t.status = TaskStatus::Done;
        t.lease = None;
    })
    .await
}

/// Gives the task up for a continuation (`handed_on`) or a retry: `running
/// → pending`, the lease freed at once.
///
/// # Errors
/// When the store fails.
pub async fn release_task(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    task: &mut BulkTask,
    owner: &str,
    handed_on: bool,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    leased_task_update(store, tenant, task, owner, now, |t| {
        t.status = TaskStatus::Pending;
        t.lease = None;
        if handed_on {
            t.continuations += 1;
            t.attempts = 0;
        }
    })
    .await
}

/// Extends the task's lease to `lease` from now (a heartbeat while a chunk
/// fills slowly).
///
/// # Errors
/// When the store fails.
pub async fn extend_task(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    task: &mut BulkTask,
    owner: &str,
    lease: chrono::Duration,
) -> Result<bool, StoreError> {
    let now = Utc::now();
    leased_task_update(store, tenant, task, owner, now, |t| {
        t.lease = Some(Lease {
            owner: owner.to_string(),
            expires_at: now + lease,
        });
    })
    .await
}

/// Expires the lease of a running task at `now`, whoever holds it (a dead
/// process's), so its next message claims it at once. Conditional on the
/// version read.
///
/// # Errors
/// When the store fails.
pub async fn expire_task_lease(
    store: &dyn BulkJobStore,
    tenant: &TenantId,
    task: &BulkTask,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let live = task.lease.as_ref().is_some_and(|l| l.expires_at > now);
    if task.status != TaskStatus::Running || !live {
        return Ok(false);
    }
    let mut next = task.clone();
    next.status = TaskStatus::Pending;
    next.lease = None;
    next.updated_at = now;
    next.version = task.version + 1;
    store.replace_task(tenant, &next, task.version).await
}
