//! Lambda entry point of `config-api`: tracing, config and clients once per
//! cold start, then the handler.

use exports_shared::config::{self, Backend, ConfigError, Settings};
use lambda_http::{run, service_fn, Error};

/// Everything built once per cold start.
async fn setup() -> Result<config_api::Deps, ConfigError> {
    let settings = Settings::from_env()?;
    let backend = Backend::connect(&settings).await?;
    Ok(config_api::Deps {
        entities: backend.entities(),
        config: backend.tenant_config(),
        reference: backend.reference(),
        verifier: settings.load_jwt_verifier().await?,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    config::init_lambda_tracing();
    let deps = setup().await.map_err(|e| {
        tracing::error!(error = %e, "config-api cannot start");
        eprintln!("config-api cannot start: {e}");
        e
    })?;
    run(service_fn(|req| {
        let deps = deps.clone();
        async move { config_api::handle(&deps, req).await }
    }))
    .await
}
