//! Lambda entry point of `bulk-export-worker`: tracing, config and clients
//! once per cold start, then the SQS handler.

use exports_shared::config::{self, Backend, ConfigError, Settings};
use exports_shared::service::bulk::WorkerDeps;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

/// Everything built once per cold start: the dependencies and the queue's
/// `maxReceiveCount`.
async fn setup() -> Result<(WorkerDeps, u32), ConfigError> {
    let settings = Settings::from_env()?;
    let backend = Backend::connect(&settings).await?;
    let deps = WorkerDeps::new(
        backend.bulk_jobs()?,
        backend.entities(),
        backend.activities(),
        backend.tenant_config(),
        backend.files()?,
    );
    Ok((deps, settings.max_receives))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    config::init_lambda_tracing();
    let (deps, max_receives) = setup().await.map_err(|e| {
        tracing::error!(error = %e, "bulk-export-worker cannot start");
        eprintln!("bulk-export-worker cannot start: {e}");
        e
    })?;
    run(service_fn(
        |event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
            let deps = deps.clone();
            async move {
                Ok::<_, Error>(bulk_export_worker::handle(&deps, max_receives, event.payload).await)
            }
        },
    ))
    .await
}
