//! The bulk export worker of `exports-local serve`: polls the SQLite job
//! queue and hands each message, as the SQS record Lambda would deliver
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

/// Runs forever: receive up to 4 messages, run them concurrently, ack.
/// A message is hidden for `visibility` while it runs, and its job failed
/// on its `max_receives`-th delivery.
pub async fn run(queue: EmbeddedStore, deps: WorkerDeps, visibility: Duration, max_receives: u32) {
    loop {
        let received = match queue.receive(4, visibility).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = ?e, "receiving bulk jobs failed");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if received.is_empty() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        let runs = received.into_iter().map(|m| {
            let (queue, deps) = (queue.clone(), deps.clone());
            tokio::spawn(async move {
                let record = sqs_record(&m.message, m.receive_count);
                match bulk_export_worker::process(&deps, max_receives, &record).await {
                    Ok(outcome) => {
                        tracing::info!(job = %m.message.job_id, ?outcome, "bulk job processed");
                        if let Err(e) = queue.ack(m.receipt).await {
                            tracing::error!(error = ?e, "ack failed");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(job = %m.message.job_id, receives = m.receive_count, error = %e, "bulk job failed; it will be retried");
                    }
                }
            })
        });
        for r in runs.collect::<Vec<_>>() {
            let _ = r.await;
        }
    }
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
