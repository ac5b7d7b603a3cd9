//! What `exports-local serve` does: seed the demo tenant on the first start,
//! load the reference data, build every function's dependencies and the
//! in-process bulk worker over one embedded backend, print the banners with a
//! working token and API key, and serve.
//!
//! It holds the data directory's lock ([`crate::lock`]) while it runs and,
//! before its worker starts, gives back what a killed predecessor held
//! ([`worker::recover`]), so jobs that were running are claimed at once.

use crate::options as opts;
use crate::{activities, api_keys, demo, serve, token, worker, DEV_JWT_SECRET};
use exports_shared::config::{Backend, BackendKind, Settings};
use exports_shared::model::TenantId;
use std::path::Path;

/// Activities seeded into the demo tenant.
const DEMO_ACTIVITIES: u64 = 3_000;

/// Serves every API on `127.0.0.1:port` (0: a free port, named in the
/// banner's first line) from the embedded backend in
/// `data_dir` until the process is stopped, under the connection `limits`,
/// with `workers` bulk workers.
///
/// # Errors
/// When another process holds the data directory's lock, or seeding, the
/// recovery, the JWT set-up or the listener fails.
pub async fn start(
    settings: &Settings,
    backend: &Backend,
    data_dir: &Path,
    port: u16,
    limits: serve::Limits,
    workers: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let _lock = crate::lock::DataDirLock::acquire(data_dir).await?;
    if settings.jwt_secret.as_deref() == Some(DEV_JWT_SECRET) {
        println!("Using the development JWT secret '{DEV_JWT_SECRET}' (set EXPORTS_JWT_SECRET to change it; local mode only).");
    }
    if !demo::is_seeded(backend.tenant_config().as_ref()).await? {
        println!("Seeding the demo tenant into {} ...", data_dir.display());
        demo::seed_demo(
            backend.tenant_config().as_ref(),
            backend.entity_writer().as_ref(),
        )
        .await?;
        activities::write_activities(
            backend.entities().as_ref(),
            backend.activities().as_ref(),
            &TenantId::new(demo::DEMO_TENANT),
            DEMO_ACTIVITIES,
            42,
            activities::Span::SEED,
            None,
        )
        .await?;
    } else if backend.postgres().is_some()
        && !demo::has_entities(backend.entities().as_ref()).await?
    {
        // The tenant was seeded with another entity source: its records
        // are written to this one.
        println!("Seeding the demo tenant's records into PostgreSQL ...");
        demo::seed_demo(
            backend.tenant_config().as_ref(),
            backend.entity_writer().as_ref(),
        )
        .await?;
    }
    if backend.reference().countries().await?.is_empty() {
        opts::load_reference(backend.reference().as_ref()).await?;
    }
    let api_key = api_keys::demo_key(
        backend.api_keys().as_ref(),
        &TenantId::new(demo::DEMO_TENANT),
        data_dir,
    )
    .await?;
    let verifier = settings.load_jwt_verifier().await?;
    let token = token::mint(
        &token_request(settings, demo::DEMO_TENANT),
        &token::signing_secret(settings),
    )?;
    // Port 0 takes a free port; the banner names the one bound.
    let listener =
        tokio::net::TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let port = listener.local_addr()?.port();
    let files = exports_shared::store::embedded::EmbeddedFiles::open(
        data_dir,
        format!("http://127.0.0.1:{port}"),
    )?;
    let sync_export = sync_export::Deps {
        entities: backend.entities(),
        config: backend.tenant_config(),
        verifier,
        files: std::sync::Arc::new(files.clone()),
        delivery: settings.delivery,
        max_sync_rows: settings.max_sync_rows,
    };
    let export_logs = export_logs::Deps {
        entities: sync_export.entities.clone(),
        config: sync_export.config.clone(),
        logs: backend.export_logs()?,
        verifier: sync_export.verifier.clone(),
        files: sync_export.files.clone(),
        delivery: sync_export.delivery,
        max_sync_rows: sync_export.max_sync_rows,
    };
    let config_api = config_api::Deps {
        entities: sync_export.entities.clone(),
        config: sync_export.config.clone(),
        reference: backend.reference(),
        verifier: sync_export.verifier.clone(),
    };
    let bulk_exports = bulk_export_api::Deps {
        jobs: backend.bulk_jobs()?,
        keys: backend.api_keys(),
        config: backend.tenant_config(),
        queue: backend.queue()?,
        files: export_logs.files.clone(),
        rate: settings.api_key_rate,
        url_ttl: settings.delivery.url_ttl,
        retention: settings.file_expiry,
    };
    let worker_deps = exports_shared::service::bulk::WorkerDeps::new(
        backend.bulk_jobs()?,
        backend.entities(),
        backend.activities(),
        backend.tenant_config(),
        export_logs.files.clone(),
    );
    let queue = exports_shared::store::embedded::EmbeddedStore::open(data_dir)?;
    if settings.backend == BackendKind::Embedded {
        worker::recover(&queue, &files).await?;
    }
    tokio::spawn(worker::run(
        queue,
        worker_deps,
        workers,
        std::time::Duration::from_secs(300),
        settings.max_receives,
    ));
    let app = serve::App {
        sync_export,
        export_logs,
        config_api,
        bulk_exports,
        files,
        openapi: crate::openapi::OpenApi::load()?,
    };
    print_banner(port, &token);
    print_bulk_banner(port, &api_key);
    serve::serve(app, listener, limits).await?;
    Ok(())
}

fn token_request(settings: &Settings, tenant: &str) -> token::TokenRequest {
    token::TokenRequest {
        tenant: tenant.into(),
        user: demo::DEMO_USER_ID.into(),
        email: demo::DEMO_EMAIL.into(),
        user_type: demo::DEMO_USER_TYPE.into(),
        roles: vec![demo::DEMO_ROLE.into()],
        ttl_secs: 7 * 86_400,
        issuer: settings.jwt_issuer.clone(),
        audience: settings.jwt_audience.clone(),
    }
}

fn print_bulk_banner(port: u16, key: &str) {
    println!(
        r#"Bulk exports (API key of the demo tenant: {key}):

curl "http://127.0.0.1:{port}/exports" -X POST \
  -H "Authorization: apiKey {key}" -H "Content-Type: application/json" \
  --data '{{"exportType":"activities","dateFormat":"ISO","delimiter":",","filters":{{"fromDate":"2026-10-01T00:00:00Z","toDate":"2026-11-01T00:00:00Z"}}}}'
curl "http://127.0.0.1:{port}/exports" -H "Authorization: apiKey {key}"
"#
    );
}

fn print_banner(port: u16, token: &str) {
    let t = demo::DEMO_TENANT;
    println!(
        r#"
Exports service listening on http://127.0.0.1:{port}

  tenant   {t}
  user     {user} ({email}, TENANT_STAFF)
  token    {token}
  openapi  http://127.0.0.1:{port}/openapi.json (import it in Postman or Insomnia)

Try the first example of the API docs (active contacts to CSV):

curl "http://127.0.0.1:{port}/api/exports/contacts" \
  -X POST \
  -H "Authorization: Bearer {token}" \
  -H "Content-Type: application/json" \
  -H "x-tenant-uuid: {t}" \
  -H "x-user-email: {email}" \
  -H "x-user-id: {user}" \
  -H "x-user-type: TENANT_STAFF" \
  -o contacts_export.csv \
  --data '{{"format":"CSV","locale":"en","timezone":"America/New_York","viewState":{{"columns":[{{"id":"firstName","label":"First Name","custom":false,"type":"STRING"}},{{"id":"paternalLastName","label":"Last Name","custom":false,"type":"STRING"}},{{"id":"preferredEmail","label":"Email","custom":false,"type":"STRING"}},{{"id":"stage","label":"Stage","custom":false,"type":"STRING"}},{{"id":"createdAt","label":"Created","custom":false,"type":"DATE_TIME"}}],"sort":{{"field":"createdAt","direction":"DESC"}}}},"filters":[{{"field":"contactType","operator":"equals","value":"ACTIVE"}}]}}'

The tenant's stages (then preview a filter on a stage code with
POST /api/contacts/filter; README, "Lookups and v2 lists"):

curl "http://127.0.0.1:{port}/api/core/platformconfigs/v1/contacts/stages" \
  -H "Authorization: Bearer {token}" \
  -H "x-tenant-uuid: {t}" -H "x-user-email: {email}" -H "x-user-id: {user}" -H "x-user-type: TENANT_STAFF"
"#,
        user = demo::DEMO_USER_ID,
        email = demo::DEMO_EMAIL,
    );
}
