//! `exports-local`: the local runner. Parses the command line and calls the
//! command's module.

use clap::{Args, Parser, Subcommand};
use exports_local::options::{self as opts, Change};
use exports_local::{
    activities, api_keys, demo, generate, import, serve, token, worker, DEV_JWT_SECRET,
};
use exports_shared::config::{Backend, Settings};
use exports_shared::model::bulk::Permission;
use exports_shared::model::{EntityKind, TenantId};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "exports-local",
    version,
    about = "Run the exports service locally on the embedded backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Data directory of the embedded backend.
    #[arg(long, env = "EXPORTS_DATA_DIR", default_value = ".exports")]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every API on 127.0.0.1:PORT, seeding the demo tenant on first start.
    Serve {
        #[command(flatten)]
        common: Common,
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
    },
    /// Generate deterministic synthetic data for a tenant.
    Seed {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
        #[arg(long, default_value_t = 1000)]
        contacts: u64,
        #[arg(long, default_value_t = 100)]
        organisations: u64,
        #[arg(long, default_value_t = 200)]
        households: u64,
        /// Activities, spread over 2026-09-01..2026-10-30 (UTC) and every type.
        #[arg(long, default_value_t = 0)]
        activities: u64,
        /// The random seed: the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Run one bulk export in this process (no queue, no HTTP) and print its
    /// rows, bytes, sha256 and file: to measure the worker (e.g. peak RSS).
    BulkRun {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
        /// An ExportCreation body, as POST /exports takes it.
        #[arg(
            long,
            default_value = r#"{"exportType":"contacts","dateFormat":"ISO","delimiter":","}"#
        )]
        body: String,
    },
    /// Create, list or revoke bulk-export API keys.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Print a development JWT signed with EXPORTS_JWT_SECRET (or the dev default).
    Token {
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
        #[arg(long, default_value = demo::DEMO_USER_ID)]
        user: String,
        #[arg(long, default_value = demo::DEMO_EMAIL)]
        email: String,
        #[arg(long, default_value = demo::DEMO_USER_TYPE)]
        user_type: String,
        /// A role; repeat for several.
        #[arg(long = "role", default_value = demo::DEMO_ROLE)]
        roles: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: i64,
    },
    /// Load the bundled reference data (industries, countries, cities, phone
    /// codes) into TenantConfig `GLOBAL`. EXPORTS_BACKEND=aws loads DynamoDB
    /// (EXPORTS_ENTITIES_TABLE and EXPORTS_CONFIG_TABLE name the tables).
    LoadReference {
        #[command(flatten)]
        common: Common,
    },
    /// Manage a tenant's option lists: stages, sources, segments.
    Options {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
        #[command(subcommand)]
        action: OptionsAction,
    },
    /// Load records from a JSON-lines file, validating every line first.
    Import {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = parse_entity)]
        entity: EntityKind,
        /// Load the valid lines even when some are invalid.
        #[arg(long)]
        skip_invalid: bool,
        file: PathBuf,
    },
}

/// `exports-local options ...`
#[derive(Subcommand)]
enum OptionsAction {
    /// List a tenant's options (deleted and disabled ones too, with their flags).
    List {
        #[arg(value_parser = opts::parse_kind)]
        kind: exports_shared::model::OptionKind,
    },
    /// Add an enabled option.
    Add {
        #[arg(value_parser = opts::parse_kind)]
        kind: exports_shared::model::OptionKind,
        code: String,
        /// The display name (`displayName`).
        #[arg(long)]
        name: String,
        /// Position in the list; after the last one when omitted.
        #[arg(long)]
        sort_order: Option<i64>,
    },
    /// Enable (and undelete) an option.
    Enable {
        #[arg(value_parser = opts::parse_kind)]
        kind: exports_shared::model::OptionKind,
        code: String,
    },
    /// Disable an option: it stays listed, but new filters may not use it.
    Disable {
        #[arg(value_parser = opts::parse_kind)]
        kind: exports_shared::model::OptionKind,
        code: String,
    },
    /// Delete an option (soft: `deleted: true`, `enabled: false`).
    Delete {
        #[arg(value_parser = opts::parse_kind)]
        kind: exports_shared::model::OptionKind,
        code: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print it (it is shown only once).
    Create {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// createExports or readExports; repeat for several (default both).
        #[arg(long = "permission", value_parser = parse_permission)]
        permissions: Vec<Permission>,
    },
    /// List a tenant's keys (ids, names, permissions; never the keys).
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
    },
    /// Revoke a key by its id.
    Revoke {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = demo::DEMO_TENANT)]
        tenant: String,
        id: String,
    },
}

fn parse_permission(s: &str) -> Result<Permission, String> {
    Permission::parse(s).ok_or_else(|| "expected createExports or readExports".into())
}

fn parse_entity(s: &str) -> Result<EntityKind, String> {
    EntityKind::from_path(s).ok_or_else(|| "expected contacts, organisations or households".into())
}

fn secret(settings: &Settings) -> String {
    settings
        .jwt_secret
        .clone()
        .unwrap_or_else(|| DEV_JWT_SECRET.to_string())
}

async fn open(data_dir: PathBuf) -> Result<(Settings, Backend), Box<dyn std::error::Error>> {
    let mut settings = Settings::from_env()?;
    settings.data_dir = data_dir;
    // The published development secret is for the embedded backend only.
    if settings.jwt_secret.is_none()
        && settings.backend == exports_shared::config::BackendKind::Embedded
    {
        settings.jwt_secret = Some(DEV_JWT_SECRET.to_string());
    }
    let backend = Backend::connect(&settings).await?;
    Ok((settings, backend))
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

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve { common, port } => {
            let (settings, backend) = open(common.data_dir.clone()).await?;
            if settings.jwt_secret.as_deref() == Some(DEV_JWT_SECRET) {
                println!("Using the development JWT secret '{DEV_JWT_SECRET}' (set EXPORTS_JWT_SECRET to change it; local mode only).");
            }
            if !demo::is_seeded(backend.tenant_config().as_ref()).await? {
                println!(
                    "Seeding the demo tenant into {} ...",
                    common.data_dir.display()
                );
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
                    None,
                )
                .await?;
            }
            if backend.reference().countries().await?.is_empty() {
                opts::load_reference(backend.reference().as_ref()).await?;
            }
            let api_key = api_keys::demo_key(
                backend.api_keys().as_ref(),
                &TenantId::new(demo::DEMO_TENANT),
                &common.data_dir,
            )
            .await?;
            let verifier = settings.load_jwt_verifier().await?;
            let token = token::mint(
                &token_request(&settings, demo::DEMO_TENANT),
                &secret(&settings),
            )?;
            let files = exports_shared::store::embedded::EmbeddedFiles::open(
                &common.data_dir,
                format!("http://127.0.0.1:{port}"),
            )?;
            let sync_export = sync_export::Deps {
                entities: backend.entities(),
                config: backend.tenant_config(),
                verifier,
                files: std::sync::Arc::new(files.clone()),
                delivery: sync_export::Delivery::from_env(),
                max_sync_rows: sync_export::max_sync_rows_from_env(),
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
                rate: bulk_export_api::rate_from_env(),
                url_ttl: bulk_export_api::url_ttl_from_env(),
                retention: bulk_export_api::retention_from_env(),
            };
            let worker_deps = exports_shared::service::bulk::WorkerDeps::new(
                backend.bulk_jobs()?,
                backend.entities(),
                backend.activities(),
                backend.tenant_config(),
                export_logs.files.clone(),
            );
            let queue = exports_shared::store::embedded::EmbeddedStore::open(&common.data_dir)?;
            tokio::spawn(worker::run(
                queue,
                worker_deps,
                std::time::Duration::from_secs(300),
            ));
            let app = serve::App {
                sync_export,
                export_logs,
                config_api,
                bulk_exports,
                files,
            };
            print_banner(port, &token);
            print_bulk_banner(port, &api_key);
            serve::serve(app, std::net::SocketAddr::from(([127, 0, 0, 1], port))).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed {
            common,
            tenant,
            contacts,
            organisations,
            households,
            activities: activity_count,
            seed,
        } => {
            let (_, backend) = open(common.data_dir).await?;
            let tenant = TenantId::new(tenant);
            demo::configure_tenant(backend.tenant_config().as_ref(), &tenant).await?;
            opts::load_reference(backend.reference().as_ref()).await?;
            let counts = generate::Counts {
                contacts,
                organisations,
                households,
            };
            let bar = indicatif::ProgressBar::new(contacts + organisations + households);
            bar.set_style(indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} records ({per_sec}, eta {eta})",
            )?);
            generate::write_all(
                backend.entity_writer().as_ref(),
                &tenant,
                counts,
                seed,
                Some(&bar),
            )
            .await?;
            bar.finish();
            if activity_count > 0 {
                let bar = indicatif::ProgressBar::new(activity_count);
                bar.set_style(indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} activities ({per_sec}, eta {eta})",
                )?);
                activities::write_activities(
                    backend.entities().as_ref(),
                    backend.activities().as_ref(),
                    &tenant,
                    activity_count,
                    seed,
                    Some(&bar),
                )
                .await?;
                bar.finish();
            }
            println!("Seeded tenant {tenant}: {contacts} contacts, {organisations} organisations, {households} households (seed {seed}).");
            if activity_count > 0 {
                println!("Seeded tenant {tenant}: {activity_count} activities (2026-09-01..2026-10-30 UTC).");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKey { command } => run_api_key(command).await,
        Command::BulkRun {
            common,
            tenant,
            body,
        } => {
            let (_, backend) = open(common.data_dir).await?;
            let spec = exports_shared::api::bulk::parse_creation(body.as_bytes())
                .map_err(|e| format!("invalid body: {}", e.body()))?;
            let tenant = TenantId::new(tenant);
            let job = exports_shared::model::bulk::BulkJob::new(
                exports_shared::model::bulk::BulkJob::new_id(),
                spec,
                chrono::Utc::now(),
            );
            backend.bulk_jobs()?.create_job(&tenant, &job).await?;
            let deps = exports_shared::service::bulk::WorkerDeps::new(
                backend.bulk_jobs()?,
                backend.entities(),
                backend.activities(),
                backend.tenant_config(),
                backend.files()?,
            );
            let msg = exports_shared::store::JobMessage {
                tenant,
                job_id: job.id.clone(),
            };
            match exports_shared::service::bulk::run_job(&deps, &msg).await? {
                exports_shared::service::bulk::JobOutcome::Finished(done) => {
                    let out = done.output.ok_or("finished without output")?;
                    println!(
                        "job {} rows {} bytes {} sha256 {} file {}",
                        done.id, out.rows, out.bytes, out.sha256, out.file_key
                    );
                    Ok(ExitCode::SUCCESS)
                }
                other => {
                    eprintln!("job {} did not finish: {other:?}", job.id);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Token {
            tenant,
            user,
            email,
            user_type,
            roles,
            ttl,
        } => {
            let settings = Settings::from_env()?;
            let req = token::TokenRequest {
                tenant,
                user,
                email,
                user_type,
                roles,
                ttl_secs: ttl,
                issuer: settings.jwt_issuer.clone(),
                audience: settings.jwt_audience.clone(),
            };
            println!("{}", token::mint(&req, &secret(&settings))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::LoadReference { common } => {
            let (_, backend) = open(common.data_dir).await?;
            let (industries, countries, cities, phones) =
                opts::load_reference(backend.reference().as_ref()).await?;
            println!("Loaded reference data: {industries} industries, {countries} countries, {cities} cities, {phones} phone codes.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Options {
            common,
            tenant,
            action,
        } => {
            let (_, backend) = open(common.data_dir).await?;
            let config = backend.tenant_config();
            let tenant = TenantId::new(tenant);
            let (kind, code, change) = match action {
                OptionsAction::List { kind } => {
                    let list = config.options(&tenant, kind).await?;
                    println!("{}", serde_json::to_string_pretty(&list)?);
                    return Ok(ExitCode::SUCCESS);
                }
                OptionsAction::Add {
                    kind,
                    code,
                    name,
                    sort_order,
                } => {
                    let added =
                        opts::add(config.as_ref(), &tenant, kind, &code, &name, sort_order).await?;
                    println!("{}", serde_json::to_string_pretty(&added)?);
                    return Ok(ExitCode::SUCCESS);
                }
                OptionsAction::Enable { kind, code } => (kind, code, Change::Enable),
                OptionsAction::Disable { kind, code } => (kind, code, Change::Disable),
                OptionsAction::Delete { kind, code } => (kind, code, Change::Delete),
            };
            let updated = opts::update(config.as_ref(), &tenant, kind, &code, change).await?;
            println!("{}", serde_json::to_string_pretty(&updated)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            common,
            tenant,
            entity,
            skip_invalid,
            file,
        } => {
            let (_, backend) = open(common.data_dir).await?;
            let input = std::io::BufReader::new(std::fs::File::open(&file)?);
            let tenant = TenantId::new(tenant);
            let report = import::import(
                input,
                &tenant,
                entity,
                backend.tenant_config().as_ref(),
                backend.entity_writer().as_ref(),
                skip_invalid,
            )
            .await?;
            for e in &report.errors {
                eprintln!("{}: {e}", file.display());
            }
            if !report.errors.is_empty() && !skip_invalid {
                eprintln!(
                    "Nothing imported: {} invalid line(s). Fix them or pass --skip-invalid.",
                    report.skipped
                );
                return Ok(ExitCode::from(1));
            }
            println!(
                "Imported {} {entity} into tenant {tenant} ({} invalid line(s) skipped).",
                report.imported, report.skipped
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Activities seeded into the demo tenant.
const DEMO_ACTIVITIES: u64 = 3_000;

async fn run_api_key(command: ApiKeyCommand) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match command {
        ApiKeyCommand::Create {
            common,
            tenant,
            name,
            permissions,
        } => {
            let (_, backend) = open(common.data_dir).await?;
            let permissions = if permissions.is_empty() {
                api_keys::ALL.to_vec()
            } else {
                permissions
            };
            let (key, record) = api_keys::create(
                backend.api_keys().as_ref(),
                &TenantId::new(tenant),
                &name,
                permissions,
            )
            .await?;
            println!("{key}");
            eprintln!(
                "Created key {} ({}) for tenant {}. It is shown only once.",
                record.id, record.name, record.tenant
            );
            Ok(ExitCode::SUCCESS)
        }
        ApiKeyCommand::List { common, tenant } => {
            let (_, backend) = open(common.data_dir).await?;
            for k in backend
                .api_keys()
                .list_api_keys(&TenantId::new(tenant))
                .await?
            {
                let perms: Vec<&str> = k.permissions.iter().map(|p| p.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}",
                    k.id,
                    k.name,
                    perms.join(","),
                    k.created_at.to_rfc3339()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ApiKeyCommand::Revoke { common, tenant, id } => {
            let (_, backend) = open(common.data_dir).await?;
            if backend
                .api_keys()
                .revoke_api_key(&TenantId::new(&tenant), &id)
                .await?
            {
                println!("Revoked key {id} of tenant {tenant}.");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("Tenant {tenant} has no key {id}.");
                Ok(ExitCode::from(1))
            }
        }
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

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("exports-local: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("exports-local: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
