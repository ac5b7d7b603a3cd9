//! The SQS consumer of bulk export jobs. Each message body is a
//! [`JobMessage`]; every message of a batch runs concurrently through
//! [`run_job`], and the response lists only the messages that failed
//! (`ReportBatchItemFailures`), so SQS redelivers just those and moves them
//! to the DLQ after 5 receives.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
pub use exports_shared::service::bulk::{run_job, JobOutcome, WorkerDeps, WorkerError};
use exports_shared::store::JobMessage;

/// Runs one SQS message; `Err` when it should be redelivered.
///
/// # Errors
/// A body that is not a job message, or a run that did not complete.
pub async fn process(deps: &WorkerDeps, message: &SqsMessage) -> Result<JobOutcome, String> {
    let body = message.body.as_deref().unwrap_or_default();
    let job: JobMessage =
        serde_json::from_str(body).map_err(|e| format!("not a job message: {e}"))?;
    run_job(deps, &job).await.map_err(|e| {
        let source = std::error::Error::source(&e).map(ToString::to_string);
        format!("{e}: {}", source.unwrap_or_default())
    })
}

/// Handles one batch; never fails as a whole.
pub async fn handle(deps: &WorkerDeps, event: SqsEvent) -> SqsBatchResponse {
    let runs = event
        .records
        .iter()
        .map(|m| async move { (m, process(deps, m).await) });
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
