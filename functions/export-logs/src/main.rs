//! Lambda entry point of `export-logs`: tracing, config and clients once per
//! cold start, then the handler.

use exports_shared::config::{self, Backend, ConfigError, Settings};
use lambda_http::{run, service_fn, Error};

/// Everything built once per cold start.
async fn setup() -> Result<export_logs::Deps, ConfigError> {
    let settings = Settings::from_env()?;
    let backend = Backend::connect(&settings).await?;
    Ok(export_logs::Deps {
        entities: backend.entities(),
        config: backend.tenant_config(),
        logs: backend.export_logs()?,
        verifier: settings.load_jwt_verifier().await?,
        files: backend.files()?,
        delivery: settings.delivery,
        max_sync_rows: settings.max_sync_rows,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    config::init_lambda_tracing();
    let deps = setup().await.map_err(|e| {
        tracing::error!(error = %e, "export-logs cannot start");
        eprintln!("export-logs cannot start: {e}");
        e
    })?;
    run(service_fn(|req| {
        let deps = deps.clone();
        async move { export_logs::handle(&deps, req).await }
    }))
    .await
}
