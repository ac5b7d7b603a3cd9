//! The SQS consumer of bulk export jobs. Each message body is a
//! [`JobMessage`]: a job to split into tasks, or one task of a job (the
//! tasks a job's message queues come back here, so up to one invocation per
//! task runs at once). Every message of a batch runs concurrently through
//! [`run_delivery`] with its `ApproximateReceiveCount` and the invocation's
//! deadline (a task near it hands itself on), and the response
//! lists only the messages that failed (`ReportBatchItemFailures`), so SQS
//! redelivers just those. The delivery the queue's redrive policy allows
//! last (`maxReceiveCount`, here `EXPORTS_MAX_RECEIVE_COUNT`, read into
//! `Settings::max_receives`) never fails:
//! when its run does, the job is marked `error` and the message
//! acknowledged, so no job is left `inProgress` behind a dead letter.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
pub use exports_shared::service::bulk::{
    run_delivery, run_job, Delivery, JobOutcome, WorkerDeps, WorkerError, DEFAULT_MAX_RECEIVES,
};
use exports_shared::store::{JobMessage, JobQueue};
use std::sync::Arc;
use std::time::Instant;

/// What the handler needs: the runner's dependencies, the queue that task
/// messages go to (this worker's own), and the queue's `maxReceiveCount`.
#[derive(Clone)]
pub struct Worker {
    pub deps: WorkerDeps,
    pub queue: Arc<dyn JobQueue>,
    pub max_receives: u32,
}

/// Which delivery `message` is: its `ApproximateReceiveCount` (1 when the
/// attribute is missing or not a number), running until `deadline`.
pub fn delivery_of(message: &SqsMessage, max_receives: u32, deadline: Option<Instant>) -> Delivery {
    let receive_count = message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.trim().parse().ok())
        .filter(|c| *c >= 1)
        .unwrap_or(1);
    Delivery {
        receive_count,
        max_receives,
        deadline,
    }
}

/// Runs one SQS message; `Err` when it should be redelivered.
///
/// # Errors
/// A body that is not a job message, or a run that did not complete.
pub async fn process(
    worker: &Worker,
    message: &SqsMessage,
    deadline: Option<Instant>,
) -> Result<JobOutcome, String> {
    let body = message.body.as_deref().unwrap_or_default();
    let job: JobMessage =
        serde_json::from_str(body).map_err(|e| format!("not a job message: {e}"))?;
    let delivery = delivery_of(message, worker.max_receives, deadline);
    run_delivery(&worker.deps, worker.queue.as_ref(), &job, delivery)
        .await
        .map_err(|e| {
            let source = std::error::Error::source(&e).map(ToString::to_string);
            format!("{e}: {}", source.unwrap_or_default())
        })
}

/// Handles one batch, running until `deadline`; never fails as a whole.
pub async fn handle(
    worker: &Worker,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let runs = event
        .records
        .iter()
        .map(|m| async move { (m, process(worker, m, deadline).await) });
    let mut response = SqsBatchResponse::default();
    for (message, result) in futures::future::join_all(runs).await {
        let id = message.message_id.clone().unwrap_or_default();
        match result {
            Ok(outcome) => tracing::info!(message = %id, ?outcome, "message processed"),
            Err(e) => {
                tracing::warn!(message = %id, error = %e, "message failed; it will be redelivered");
                response.add_failure(id);
            }
        }
    }
    response
}
