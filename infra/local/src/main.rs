//! `exports-local`: the local runner. Parses the command line and calls the
//! command's module.

mod cli;

use clap::Parser;
use cli::{ApiKeyCommand, Cli, Command, OptionsAction};
use exports_local::options::{self as opts, Change};
use exports_local::{activities, api_keys, demo, generate, import, start, token, DEV_JWT_SECRET};
use exports_shared::config::{Backend, Settings};
use exports_shared::model::TenantId;
use std::path::PathBuf;
use std::process::ExitCode;

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

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve {
            common,
            port,
            limits,
            workers,
        } => {
            let (settings, backend) = open(common.data_dir.clone()).await?;
            start::start(
                &settings,
                &backend,
                &common.data_dir,
                port,
                limits.into_limits(),
                usize::from(workers),
            )
            .await?;
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
            backend.entity_writer().finish_load().await?;
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
                    activities::Span::SEED,
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
        Command::Migrate { common } => {
            let (_, backend) = open(common.data_dir).await?;
            let store = backend
                .postgres()
                .ok_or("migrate needs EXPORTS_ENTITY_SOURCE=postgres and EXPORTS_DATABASE_URL")?;
            let applied = exports_shared::store::postgres::migrate(&store).await?;
            if applied.is_empty() {
                println!("The PostgreSQL schema is up to date.");
            } else {
                let versions: Vec<String> = applied.iter().map(i32::to_string).collect();
                println!("Applied PostgreSQL migrations: {}.", versions.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKey { command } => run_api_key(command).await,
        Command::BulkRun {
            common,
            tenant,
            body,
        } => {
            // One process runs bulk jobs on a data dir: a `serve` starting
            // meanwhile would take this run's part file for an orphan.
            let _lock = exports_local::lock::DataDirLock::acquire(&common.data_dir).await?;
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
                task: None,
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
            println!("{}", token::mint(&req, &token::signing_secret(&settings))?);
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
            // Checked here, so a missing file is reported before any load.
            tokio::fs::metadata(&file).await?;
            let path = file.clone();
            let open = move || std::fs::File::open(&path).map(std::io::BufReader::new);
            let tenant = TenantId::new(tenant);
            let (config, writer, activities) = (
                backend.tenant_config(),
                backend.entity_writer(),
                backend.activities(),
            );
            let stores = import::ImportStores {
                config: config.as_ref(),
                entities: writer.as_ref(),
                activities: activities.as_ref(),
            };
            let report = import::import(open, &tenant, entity, stores, skip_invalid).await?;
            writer.finish_load().await?;
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
