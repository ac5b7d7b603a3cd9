//! Lambda entry point of `sync-export`: tracing, config and clients once per
//! cold start, then the handler.

use exports_shared::config::{self, Backend, ConfigError, Settings};
use lambda_http::{run, service_fn, Error};

/// Everything built once per cold start.
async fn setup() -> Result<sync_export::Deps, ConfigError> {
    let settings = Settings::from_env()?;
    let backend = Backend::connect(&settings).await?;
    Ok(sync_export::Deps {
        entities: backend.entities(),
        config: backend.tenant_config(),
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
        // Say plainly what is missing: this is what an operator reads first.
        tracing::error!(error = %e, "sync-export cannot start");
        eprintln!("sync-export cannot start: {e}");
        e
    })?;
    run(service_fn(|req| {
        let deps = deps.clone();
        async move { sync_export::handle(&deps, req).await }
    }))
    .await
}
