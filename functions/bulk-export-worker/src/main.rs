//! Lambda entry point of `bulk-export-worker`: tracing, config and clients
//! once per cold start, then the SQS handler.

use bulk_export_worker::Worker;
use exports_shared::config::{self, Backend, ConfigError, Settings};
use exports_shared::service::bulk::WorkerDeps;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Everything built once per cold start: the dependencies, the queue tasks
/// go to, and the queue's `maxReceiveCount`.
async fn setup() -> Result<Worker, ConfigError> {
    let settings = Settings::from_env()?;
    let backend = Backend::connect(&settings).await?;
    let deps = WorkerDeps::new(
        backend.bulk_jobs()?,
        backend.entities(),
        backend.activities(),
        backend.tenant_config(),
        backend.files()?,
    );
    Ok(Worker {
        deps,
        queue: backend.queue()?,
        max_receives: settings.max_receives,
    })
}

/// The invocation's deadline (Unix milliseconds) as an [`Instant`].
fn deadline(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    config::init_lambda_tracing();
    let worker = setup().await.map_err(|e| {
        tracing::error!(error = %e, "bulk-export-worker cannot start");
        eprintln!("bulk-export-worker cannot start: {e}");
        e
    })?;
    run(service_fn(
        |event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
            let worker = worker.clone();
            let until = deadline(event.context.deadline);
            async move {
                Ok::<_, Error>(bulk_export_worker::handle(&worker, event.payload, until).await)
            }
        },
    ))
    .await
}
