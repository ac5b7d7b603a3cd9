//! The bulk export worker: a job runs as tasks, each a message of its own,
//! so any number of workers (Lambda invocations) share it.
//!
//! - The job's message (no task) plans it: one task per UTC day of an
//!   activities window, or per range of contact shards ([`source::plan`]),
//!   stored with the job, and one message queued per task.
//! - A task's message runs that task ([`task`]): its rows, as chunks of at
//!   least the part size, each stored as a temporary file and recorded
//!   with the cursor after it. A task near its invocation's deadline hands
//!   itself on to a continuation message; a task that died resumes from
//!   its last recorded chunk. Attempts are counted per task.
//! - The task that completes the job's set of done tasks (one conditional
//!   write, [`BulkJobStore::mark_task_done`]) assembles the file from the
//!   chunks in task order ([`assemble`]) and finishes the job with its
//!   rows, bytes and sha256.
//!
//! A cancelled job is seen by its tasks after each chunk and by the
//! assembly before the file becomes visible; the chunks are removed and no
//! file is left. [`run_delivery`] knows which delivery of its message a run
//! is: when the last one a queue allows fails, the job becomes `error` with
//! a safe message and the message is acknowledged, instead of the message
//! going to a dead-letter queue and the job staying `inProgress` forever.
//! [`run_job`] runs a whole job in this process, task after task (the
//! `bulk-run` command, tests, the benchmark).

mod assemble;
mod chunk;
pub mod columns;
pub mod create;
pub mod lease;
mod recovery;
mod rows;
mod source;
mod task;

pub use recovery::release_dead_leases;
pub use source::MAX_CONTACT_TASKS;

use crate::model::bulk::{BulkJob, BulkTask, JobStatus};
use crate::model::TenantId;
use crate::store::bulk::{ActivityStore, BulkJobStore};
use crate::store::files::{FileStore, MIN_PART_BYTES};
use crate::store::queue::{JobMessage, JobQueue};
use crate::store::{EntitySource, StoreError, TenantConfigStore};
use chrono::Utc;
use lease::{self as jobs, Claim, TaskClaim};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use task::TaskEnd;

/// After this many claims without progress a job (or one of its tasks)
/// fails instead of being retried.
pub const MAX_ATTEMPTS: u32 = 5;

/// Deliveries of a message before the queue gives up on it: the template's
/// redrive `maxReceiveCount`, and the local worker's limit.
pub const DEFAULT_MAX_RECEIVES: u32 = 5;

/// The job's `error` when its last allowed attempt failed on storage (a
/// file that cannot be written, a store that fails). Safe to show: the
/// cause is only logged.
pub const STORAGE_FAILED: &str =
    "The export could not be written: storage failed. Create the export again.";

/// The job's `error` when it was claimed too often, or its last delivery
/// died with its worker.
pub const FAILED_REPEATEDLY: &str = "The export failed repeatedly; create it again";

/// Which delivery of its message a run is, and until when it may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// 1 on the first delivery (SQS `ApproximateReceiveCount`).
    pub receive_count: u32,
    /// Deliveries the queue allows before it dead-letters the message.
    pub max_receives: u32,
    /// When the invocation ends (Lambda's deadline); a task nearer to it
    /// than [`WorkerDeps::deadline_margin`] hands itself on.
    pub deadline: Option<Instant>,
}

impl Delivery {
    /// A delivery with no limit: a failed run is always left to a retry
    /// (`exports-local bulk-run`, tests, the benchmark).
    pub const UNLIMITED: Delivery = Delivery {
        receive_count: 1,
        max_receives: u32::MAX,
        deadline: None,
    };

    /// Whether no delivery comes after this one.
    pub fn is_last(&self) -> bool {
        self.receive_count >= self.max_receives
    }
}

/// What the runner needs.
#[derive(Clone)]
pub struct WorkerDeps {
    pub jobs: Arc<dyn BulkJobStore>,
    pub entities: Arc<dyn EntitySource>,
    pub activities: Arc<dyn ActivityStore>,
    pub config: Arc<dyn TenantConfigStore>,
    pub files: Arc<dyn FileStore>,
    /// How long a claim lasts without progress.
    pub lease: chrono::Duration,
    /// Chunk size: a chunk is cut at the first page boundary past it (at
    /// least [`Self::min_part_bytes`]).
    pub part_bytes: usize,
    /// The store's smallest part but the last: [`MIN_PART_BYTES`] (S3's);
    /// tests of the embedded store lower it to make many chunks of few rows.
    pub min_part_bytes: usize,
    /// Records per read.
    pub page_size: usize,
    /// Partitions read at once within a task (shards of a range).
    pub parallelism: usize,
    /// Least time between two lease renewals while a chunk fills.
    pub progress_every: Duration,
    /// How long before its delivery's deadline a task hands itself on.
    pub deadline_margin: Duration,
}

impl WorkerDeps {
    /// Defaults: 2-minute lease, 8 MiB chunks, 500-record pages, 4
    /// partitions at once, a heartbeat every 2 seconds, and tasks handed on
    /// 90 seconds before their deadline.
    pub fn new(
        jobs: Arc<dyn BulkJobStore>,
        entities: Arc<dyn EntitySource>,
        activities: Arc<dyn ActivityStore>,
        config: Arc<dyn TenantConfigStore>,
        files: Arc<dyn FileStore>,
    ) -> Self {
        WorkerDeps {
            jobs,
            entities,
            activities,
            config,
            files,
            lease: chrono::Duration::minutes(2),
            part_bytes: 8 * 1024 * 1024,
            min_part_bytes: MIN_PART_BYTES,
            page_size: 500,
            parallelism: 4,
            progress_every: Duration::from_secs(2),
            deadline_margin: Duration::from_secs(90),
        }
    }
}

/// What happened to a message.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// The job's message split it into this many tasks, each queued.
    Planned(u32),
    /// A task is done; others are not yet.
    TaskDone,
    /// A task neared its deadline and queued its continuation.
    Continued,
    /// This run assembled the file and finished the job.
    Finished(BulkJob),
    /// The job was finished or failed before (a redelivery): nothing done.
    AlreadyDone,
    /// The job was marked `error` (a permanent failure).
    Failed(BulkJob),
    /// No such job (e.g. expired): nothing to do.
    Missing,
    /// The job was cancelled: this run stopped, and removed what it wrote.
    Cancelled,
}

/// Why a run did not complete. The message should be retried.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("another worker holds the job's or the task's lease")]
    Busy,
    #[error("the lease was lost while running")]
    LeaseLost,
    #[error("the job was cancelled while running")]
    Cancelled,
    /// The export cannot be made (the message is safe to show); the job
    /// fails at once.
    #[error("{0}")]
    Invalid(String),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("writing the CSV failed")]
    Csv(#[from] csv::Error),
    #[error("compressing the file failed")]
    Compress(#[from] std::io::Error),
}

/// Runs a whole job in this process: its message, then every task message
/// it queues (and every continuation), in order, with no delivery limit.
/// The outcome is the first that ended the job ([`JobOutcome::Finished`]
/// when this run wrote the file, `Failed`, `Cancelled`), else the last
/// message's.
///
/// # Errors
/// As [`run_delivery`]: the first message that fails stops the run.
pub async fn run_job(deps: &WorkerDeps, msg: &JobMessage) -> Result<JobOutcome, WorkerError> {
    let queue = LocalQueue::default();
    let mut outcome = run_delivery(deps, &queue, msg, Delivery::UNLIMITED).await?;
    let mut ended = None;
    loop {
        if ended.is_none()
            && matches!(
                outcome,
                JobOutcome::Finished(_) | JobOutcome::Failed(_) | JobOutcome::Cancelled
            )
        {
            ended = Some(outcome.clone());
        }
        let Some(next) = queue.pop() else { break };
        outcome = run_delivery(deps, &queue, &next, Delivery::UNLIMITED).await?;
    }
    Ok(ended.unwrap_or(outcome))
}

/// The queue of [`run_job`] (and of tests that run messages one by one):
/// messages kept in order, in memory.
#[derive(Default)]
pub struct LocalQueue(Mutex<std::collections::VecDeque<JobMessage>>);

impl LocalQueue {
    /// The oldest message, taken off the queue.
    pub fn pop(&self) -> Option<JobMessage> {
        self.0.lock().ok()?.pop_front()
    }

    /// Every queued message, in order; the queue is left empty.
    pub fn take(&self) -> Vec<JobMessage> {
        self.0
            .lock()
            .map(|mut q| q.drain(..).collect())
            .unwrap_or_default()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.0.lock().map_or(true, |q| q.is_empty())
    }
}

#[async_trait::async_trait]
impl JobQueue for LocalQueue {
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError::Corrupt("the local job queue is poisoned".into()))?
            .push_back(message.clone());
        Ok(())
    }
}

/// Runs one delivery of a message: a job's (plan it and queue its tasks)
/// or a task's (write it; the last one assembles the file). Ended jobs are
/// left alone, so a redelivered message is a no-op; a job or task another
/// worker holds is `Busy`. When the run fails and `delivery` is the last
/// one the queue allows, the job becomes `error` with [`STORAGE_FAILED`]
/// (the cause is logged) and the outcome is [`JobOutcome::Failed`], so the
/// message is acknowledged; a delivery past the last one (its predecessor
/// died with its worker) fails the job with [`FAILED_REPEATEDLY`].
///
/// # Errors
/// [`WorkerError`] when the message should be retried (leases released
/// first).
pub async fn run_delivery(
    deps: &WorkerDeps,
    queue: &dyn JobQueue,
    msg: &JobMessage,
    delivery: Delivery,
) -> Result<JobOutcome, WorkerError> {
    match msg.task {
        None => plan_job(deps, queue, msg, delivery).await,
        Some(index) => run_task(deps, queue, msg, index, delivery).await,
    }
}

/// The job's message: split the job into tasks and queue them.
async fn plan_job(
    deps: &WorkerDeps,
    queue: &dyn JobQueue,
    msg: &JobMessage,
    delivery: Delivery,
) -> Result<JobOutcome, WorkerError> {
    let owner = uuid::Uuid::new_v4().to_string();
    let tenant = &msg.tenant;
    let mut job = match jobs::claim(
        deps.jobs.as_ref(),
        tenant,
        &msg.job_id,
        &owner,
        Utc::now(),
        deps.lease,
    )
    .await?
    {
        Claim::Claimed(job) => job,
        Claim::Done(_) => return Ok(JobOutcome::AlreadyDone),
        Claim::Busy(_) => return Err(WorkerError::Busy),
        Claim::Missing => {
            tracing::warn!(tenant = %tenant, job = %msg.job_id, "job message for an unknown job");
            return Ok(JobOutcome::Missing);
        }
    };
    tracing::info!(tenant = %tenant, job = %job.id, attempt = job.attempts, receive = delivery.receive_count, "job claimed");
    if job.attempts > MAX_ATTEMPTS || delivery.receive_count > delivery.max_receives {
        return give_up(deps, tenant, &mut job, &owner, FAILED_REPEATEDLY).await;
    }
    match plan_and_queue(deps, queue, tenant, &mut job, &owner).await {
        Ok(tasks) => Ok(JobOutcome::Planned(tasks)),
        Err(WorkerError::LeaseLost) => match cancelled(deps, tenant, &job.id).await? {
            true => Ok(JobOutcome::Cancelled),
            false => Err(WorkerError::LeaseLost),
        },
        Err(WorkerError::Invalid(message)) => {
            give_up(deps, tenant, &mut job, &owner, &message).await
        }
        Err(e) if delivery.is_last() => {
            tracing::error!(tenant = %tenant, job = %job.id, error = ?e, "planning the job failed on its last delivery");
            give_up(deps, tenant, &mut job, &owner, STORAGE_FAILED).await
        }
        Err(e) => {
            release(deps, tenant, &mut job, &owner).await;
            Err(e)
        }
    }
}

/// Stores the job's tasks (unless a previous delivery did), records their
/// number, and queues one message per task.
async fn plan_and_queue(
    deps: &WorkerDeps,
    queue: &dyn JobQueue,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
) -> Result<u32, WorkerError> {
    let (tasks, expected) = match job.tasks {
        Some(n) => (n, job.expected),
        None => {
            let now = Utc::now();
            let tasks: Vec<BulkTask> = source::plan(deps, tenant, &job.spec)
                .await?
                .into_iter()
                .zip(0u32..)
                .map(|(partition, index)| BulkTask::new(job, index, partition, now))
                .collect();
            if tasks.is_empty() {
                return Err(WorkerError::Invalid(
                    "The export selects no partition to read.".into(),
                ));
            }
            let expected = source::expected_rows(deps, tenant, &job.spec).await?;
            deps.jobs.put_tasks(tenant, &tasks).await?;
            (tasks.len() as u32, expected)
        }
    };
    if !jobs::planned(
        deps.jobs.as_ref(),
        tenant,
        job,
        owner,
        tasks,
        expected,
        Utc::now(),
    )
    .await?
    {
        return Err(WorkerError::LeaseLost);
    }
    for index in 0..tasks {
        queue
            .send(&JobMessage::task(tenant.clone(), job.id.clone(), index))
            .await?;
    }
    tracing::info!(tenant = %tenant, job = %job.id, tasks, "job planned");
    Ok(tasks)
}

/// A task's message: write the task; the last task done assembles.
async fn run_task(
    deps: &WorkerDeps,
    queue: &dyn JobQueue,
    msg: &JobMessage,
    index: u32,
    delivery: Delivery,
) -> Result<JobOutcome, WorkerError> {
    let owner = uuid::Uuid::new_v4().to_string();
    let tenant = &msg.tenant;
    let Some(job) = deps.jobs.get_job(tenant, &msg.job_id).await? else {
        return Ok(JobOutcome::Missing);
    };
    match job.status {
        JobStatus::Cancelled | JobStatus::Error => {
            // Whatever this task stored is of no use now.
            if let Some(task) = deps.jobs.get_task(tenant, &job.id, index).await? {
                task::delete_chunks(deps.files.as_ref(), tenant, &task).await;
            }
            return Ok(if job.status == JobStatus::Cancelled {
                JobOutcome::Cancelled
            } else {
                JobOutcome::AlreadyDone
            });
        }
        JobStatus::Finished => return Ok(JobOutcome::AlreadyDone),
        JobStatus::Pending | JobStatus::InProgress => {}
    }
    let mut task = match jobs::claim_task(
        deps.jobs.as_ref(),
        tenant,
        &job.id,
        index,
        &owner,
        Utc::now(),
        deps.lease,
    )
    .await?
    {
        TaskClaim::Claimed(task) => task,
        TaskClaim::Done(_) => return complete(deps, tenant, &job, index, &owner, delivery).await,
        TaskClaim::Busy => return Err(WorkerError::Busy),
        TaskClaim::Missing => {
            tracing::warn!(tenant = %tenant, job = %job.id, task = index, "message for an unknown task");
            return Ok(JobOutcome::Missing);
        }
    };
    if task.attempts > MAX_ATTEMPTS || delivery.receive_count > delivery.max_receives {
        return abort(deps, tenant, &job.id, FAILED_REPEATEDLY).await;
    }
    let run = task::write_task(deps, tenant, &job, &mut task, &owner, delivery.deadline).await;
    match run {
        Ok(TaskEnd::Done) => complete(deps, tenant, &job, index, &owner, delivery).await,
        Ok(TaskEnd::HandedOn) => {
            if !jobs::release_task(
                deps.jobs.as_ref(),
                tenant,
                &mut task,
                &owner,
                true,
                Utc::now(),
            )
            .await?
            {
                return Err(WorkerError::LeaseLost);
            }
            queue.send(msg).await?;
            tracing::info!(tenant = %tenant, job = %job.id, task = index, chunks = task.chunks.len(), "task handed on near its deadline");
            Ok(JobOutcome::Continued)
        }
        Ok(TaskEnd::Stopped(status)) => {
            task::delete_chunks(deps.files.as_ref(), tenant, &task).await;
            Ok(if status == JobStatus::Cancelled {
                JobOutcome::Cancelled
            } else {
                JobOutcome::AlreadyDone
            })
        }
        Err(WorkerError::Invalid(message)) => abort(deps, tenant, &job.id, &message).await,
        Err(WorkerError::LeaseLost) => Err(WorkerError::LeaseLost),
        Err(e) if delivery.is_last() => {
            tracing::error!(tenant = %tenant, job = %job.id, task = index, error = ?e,
                "the task's last allowed attempt failed; marking the job error");
            abort(deps, tenant, &job.id, STORAGE_FAILED).await
        }
        Err(e) => {
            let released = jobs::release_task(
                deps.jobs.as_ref(),
                tenant,
                &mut task,
                &owner,
                false,
                Utc::now(),
            )
            .await;
            if let Err(r) = released {
                tracing::warn!(error = ?r, job = %job.id, task = index, "releasing the task failed");
            }
            Err(e)
        }
    }
}

/// A task is done: count it, and assemble when it was the last.
async fn complete(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job: &BulkJob,
    index: u32,
    owner: &str,
    delivery: Delivery,
) -> Result<JobOutcome, WorkerError> {
    let done = deps.jobs.mark_task_done(tenant, &job.id, index).await?;
    let planned = job.tasks.unwrap_or(u32::MAX);
    if done < planned {
        return Ok(JobOutcome::TaskDone);
    }
    assemble::assemble(deps, tenant, &job.id, owner, delivery).await
}

/// Fails the job (no lease needed: a task holds none on its job).
async fn abort(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job_id: &str,
    message: &str,
) -> Result<JobOutcome, WorkerError> {
    match jobs::abort(deps.jobs.as_ref(), tenant, job_id, message, Utc::now()).await? {
        Some(job) => {
            tracing::warn!(tenant = %tenant, job = %job_id, message, "job failed");
            discard(deps, tenant, job_id).await;
            Ok(JobOutcome::Failed(job))
        }
        None => Ok(JobOutcome::AlreadyDone),
    }
}

/// Removes the chunks of every task of an ended job (best effort: a failure
/// is logged; a task still running removes its own when it sees the end).
async fn discard(deps: &WorkerDeps, tenant: &TenantId, job_id: &str) {
    match deps.jobs.list_tasks(tenant, job_id).await {
        Ok(tasks) => {
            for t in &tasks {
                task::delete_chunks(deps.files.as_ref(), tenant, t).await;
            }
        }
        Err(e) => tracing::warn!(error = ?e, job = %job_id, "listing the tasks to discard failed"),
    }
}

/// Whether the job has been cancelled (read afresh).
async fn cancelled(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job_id: &str,
) -> Result<bool, WorkerError> {
    Ok(task::ended(deps, tenant, job_id).await? == Some(JobStatus::Cancelled))
}

async fn give_up(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    message: &str,
) -> Result<JobOutcome, WorkerError> {
    if jobs::fail(deps.jobs.as_ref(), tenant, job, owner, message, Utc::now()).await? {
        tracing::warn!(tenant = %tenant, job = %job.id, message, "job failed");
        Ok(JobOutcome::Failed(job.clone()))
    } else {
        Err(WorkerError::LeaseLost)
    }
}

/// Gives the job's lease up (expires it now), so a retry need not wait.
async fn release(deps: &WorkerDeps, tenant: &TenantId, job: &mut BulkJob, owner: &str) {
    let now = Utc::now();
    let r = jobs::report_progress(
        deps.jobs.as_ref(),
        tenant,
        job,
        owner,
        job.progress,
        now,
        chrono::Duration::zero(),
    )
    .await;
    if let Err(e) = r {
        tracing::warn!(error = ?e, job = %job.id, "releasing the lease failed");
    }
}
