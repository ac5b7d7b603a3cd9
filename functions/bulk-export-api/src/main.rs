//! Lambda entry point of `bulk-export-api`: tracing, config and clients once
//! per cold start, then the handler.

use exports_shared::config::{self, Backend, ConfigError, Settings};
use lambda_http::{run, service_fn, Error};

/// Everything built once per cold start.
async fn setup() -> Result<bulk_export_api::Deps, ConfigError> {
    let settings = Settings::from_env()?;
    let backend = Backend::connect(&settings).await?;
    Ok(bulk_export_api::Deps {
        jobs: backend.bulk_jobs()?,
        keys: backend.api_keys(),
        config: backend.tenant_config(),
        queue: backend.queue()?,
        files: backend.files()?,
        rate: settings.api_key_rate,
        url_ttl: settings.delivery.url_ttl,
        retention: settings.file_expiry,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    config::init_lambda_tracing();
    let deps = setup().await.map_err(|e| {
        tracing::error!(error = %e, "bulk-export-api cannot start");
        eprintln!("bulk-export-api cannot start: {e}");
        e
    })?;
    run(service_fn(|req| {
        let deps = deps.clone();
        async move { bulk_export_api::handle(&deps, req).await }
    }))
    .await
}
