//! The bulk export workers of `exports-local serve` (`--workers N`, by
//! default one per core): each polls the SQLite job queue and hands each
//! message, as the SQS record Lambda would deliver
//! (body and `ApproximateReceiveCount`), to the worker function's own
//! [`bulk_export_worker::process`]. A message is acknowledged when its run completes (or the
//! job was already done, or it was marked `error`); otherwise it reappears
//! after the visibility timeout, like SQS. The receive count goes with each
//! run, so the last allowed one that fails marks the job `error` (the rule
//! is the service's) instead of the message being dropped with the job
//! still `inProgress`. Messages queued before a restart are picked up
//! after it, and [`recover`] gives back at once what a killed server held.

use aws_lambda_events::event::sqs::SqsMessage;
use exports_shared::service::bulk::{release_dead_leases, WorkerDeps};
use exports_shared::store::embedded::{EmbeddedFiles, EmbeddedStore};
use exports_shared::store::StoreError;
use std::sync::Arc;
use std::time::Duration;

/// What [`recover`] gave back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// In-flight queue messages made visible again.
    pub messages: u64,
    /// Job leases expired.
    pub leases: usize,
    /// `uploads/*.part` files removed.
    pub part_files: usize,
}

/// Gives back what a previous process on this data directory held when it
/// died: its in-flight messages become visible at once, the leases of its
/// `inProgress` jobs expire now, and its part files are removed. Only for
/// the process that holds the data directory's lock ([`crate::lock`]),
/// before its worker starts: then nothing of this is anyone else's.
///
/// # Errors
/// When SQLite or the file system fails.
pub async fn recover(
    store: &EmbeddedStore,
    files: &EmbeddedFiles,
) -> Result<Recovered, StoreError> {
    let messages = store.release_in_flight().await?;
    let held = store.in_progress_jobs().await?;
    let leases = release_dead_leases(store, held, chrono::Utc::now()).await?;
    let part_files = files.remove_orphaned_uploads().await?;
    let recovered = Recovered {
        messages,
        leases,
        part_files,
    };
    if recovered != Recovered::default() {
        tracing::warn!(
            ?recovered,
            "recovered from a previous process that stopped mid-work"
        );
    }
    Ok(recovered)
}

/// Runs `workers` workers forever over the SQLite queue, as many
/// invocations would: each receives one message at a time (a job to plan,
/// or one of its tasks), runs it, and acknowledges it. Task messages go
/// back to the same queue, so the workers share a job's tasks. A message is
/// hidden for `visibility` while it runs, and its job failed on its
/// `max_receives`-th delivery. Runs have no deadline here; a task hands
/// itself on only under Lambda's.
pub async fn run(
    queue: EmbeddedStore,
    deps: WorkerDeps,
    workers: usize,
    visibility: Duration,
    max_receives: u32,
) {
    let worker = bulk_export_worker::Worker {
        deps,
        queue: Arc::new(queue.clone()),
        max_receives,
    };
    let loops: Vec<_> = (0..workers.max(1))
        .map(|n| {
            let (queue, worker) = (queue.clone(), worker.clone());
            tokio::spawn(async move { run_one(n, queue, worker, visibility).await })
        })
        .collect();
    for l in loops {
        if let Err(e) = l.await {
            tracing::error!(error = ?e, "a bulk worker stopped");
        }
    }
}

/// One worker: receive, run, acknowledge, forever.
async fn run_one(
    n: usize,
    queue: EmbeddedStore,
    worker: bulk_export_worker::Worker,
    visibility: Duration,
) {
    loop {
        match run_next(n, &queue, &worker, visibility).await {
            Ok(true) => {}
            Ok(false) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => {
                tracing::error!(error = ?e, worker = n, "receiving bulk jobs failed");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Receives one message from the SQLite queue, hides it for `visibility`,
/// runs it as worker `n` and acknowledges it when its run completes; a run
/// that fails leaves the message to reappear, like SQS. Returns whether
/// there was a message.
///
/// # Errors
/// When the queue cannot be read.
pub async fn run_next(
    n: usize,
    queue: &EmbeddedStore,
    worker: &bulk_export_worker::Worker,
    visibility: Duration,
) -> Result<bool, StoreError> {
    let received = queue.receive(1, visibility).await?;
    let any = !received.is_empty();
    for m in received {
        let record = sqs_record(&m.message, m.receive_count);
        match bulk_export_worker::process(worker, &record, None).await {
            Ok(outcome) => {
                tracing::info!(worker = n, job = %m.message.job_id, task = ?m.message.task, ?outcome, "bulk message processed");
                if let Err(e) = queue.ack(m.receipt).await {
                    tracing::error!(error = ?e, "ack failed");
                }
            }
            Err(e) => {
                tracing::warn!(worker = n, job = %m.message.job_id, task = ?m.message.task, receives = m.receive_count, error = %e, "bulk message failed; it will be retried");
            }
        }
    }
    Ok(any)
}

/// The SQS record Lambda would deliver for `message` on its
/// `receive_count`-th receive.
fn sqs_record(message: &exports_shared::store::JobMessage, receive_count: u32) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(message.job_id.to_string());
    record.body = serde_json::to_string(message).ok();
    record
        .attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    record
}
