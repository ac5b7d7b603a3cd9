//! Lambda entry point of `sync-export`: tracing, config and clients once per
//! cold start, then the handler.

use exports_shared::config::{self, Backend};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    config::init_lambda_tracing();
    let settings = config::Settings::from_env()?;
    let backend = Backend::connect(&settings).await?;
    let deps = sync_export::Deps {
        entities: backend.entities(),
        config: backend.tenant_config(),
        verifier: settings.jwt_verifier()?,
        files: backend.files()?,
        delivery: sync_export::Delivery::from_env(),
    };
    run(service_fn(|req| {
        let deps = deps.clone();
        async move { sync_export::handle(&deps, req).await }
    }))
    .await
}
