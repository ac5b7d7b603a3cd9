//! The bulk export worker of `exports-local serve`: polls the SQLite job
//! queue and runs each message through the same [`run_job`] the Lambda
//! worker calls. A message is acknowledged when its run completes (or the
//! job was already done); otherwise it reappears after the visibility
//! timeout, like SQS, and after [`MAX_RECEIVES`] receives it is dropped as
//! a dead letter (logged). Messages queued before a restart are picked up
//! after it.

use exports_shared::service::bulk::{run_job, WorkerDeps};
use exports_shared::store::embedded::EmbeddedStore;
use std::time::Duration;

/// Receives after which a message is a dead letter (the template's
/// `maxReceiveCount`).
pub const MAX_RECEIVES: u32 = 5;

/// Runs forever: receive up to 4 messages, run them concurrently, ack.
pub async fn run(queue: EmbeddedStore, deps: WorkerDeps, visibility: Duration) {
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
                if m.receive_count > MAX_RECEIVES {
                    tracing::error!(job = %m.message.job_id, receives = m.receive_count, "dead letter: job message dropped");
                    let _ = queue.ack(m.receipt).await;
                    return;
                }
                match run_job(&deps, &m.message).await {
                    Ok(outcome) => {
                        tracing::info!(job = %m.message.job_id, ?outcome, "bulk job processed");
                        if let Err(e) = queue.ack(m.receipt).await {
                            tracing::error!(error = ?e, "ack failed");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(job = %m.message.job_id, error = ?e, "bulk job failed; it will be retried");
                    }
                }
            })
        });
        for r in runs.collect::<Vec<_>>() {
            let _ = r.await;
        }
    }
}
