//! The command line of `exports-local`: every command and its flags.

use clap::{Args, Parser, Subcommand};
use exports_local::demo;
use exports_local::import::{self, ImportKind};
use exports_local::options as opts;
use exports_local::serve::limits::{self, Limits};
use exports_shared::model::bulk::Permission;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "exports-local",
    version,
    about = "Run the exports service locally on the embedded backend"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct Common {
    /// Data directory of the embedded backend.
    #[arg(long, env = "EXPORTS_DATA_DIR", default_value = ".exports")]
    pub data_dir: PathBuf,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve every API on 127.0.0.1:PORT (0: a free port, named in the banner),
    /// seeding the demo tenant on first start.
    Serve {
        #[command(flatten)]
        common: Common,
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
        #[command(flatten)]
        limits: ServeLimits,
        /// Bulk export workers over the SQLite queue: each runs one job or
        /// task message at a time, as one Lambda invocation would.
        #[arg(long, default_value_t = default_workers(), value_parser = clap::value_parser!(u16).range(1..=64))]
        workers: u16,
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
    /// Create or update the PostgreSQL entity source's standalone schema
    /// (EXPORTS_ENTITY_SOURCE=postgres with EXPORTS_DATABASE_URL): the
    /// migrations in shared/src/store/postgres/migrations, each applied once.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Load contacts, organisations, households or activities from a
    /// JSON-lines file, all or nothing.
    ///
    /// Every line is checked; problems are reported as `FILE: line N: field:
    /// problem` and a file with any invalid line loads nothing (unless
    /// --skip-invalid). The file is committed in one transaction at its end,
    /// so a killed import loads nothing. Line formats: docs/data-model.md.
    Import {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        tenant: String,
        /// What the file holds: contacts, organisations, households or activities.
        #[arg(long, value_parser = parse_import_kind)]
        entity: ImportKind,
        /// Load the valid lines even when some are invalid.
        #[arg(long)]
        skip_invalid: bool,
        file: PathBuf,
    },
}

/// The connection limits of `serve` (defaults in `serve::limits`; README,
/// "The local server's connection limits").
#[derive(Args, Clone)]
pub struct ServeLimits {
    /// Time to send a request's line and headers once its first byte
    /// arrives, e.g. 10s or 500ms [default: 10s].
    #[arg(long, env = "EXPORTS_SERVE_HEADER_TIMEOUT", value_parser = limits::parse_timeout)]
    pub header_timeout: Option<Duration>,
    /// Time an idle keep-alive connection (or one that sends nothing) stays
    /// open [default: 60s].
    #[arg(long, env = "EXPORTS_SERVE_IDLE_TIMEOUT", value_parser = limits::parse_timeout)]
    pub idle_timeout: Option<Duration>,
    /// Time to send a whole request body once the headers are in; then 408
    /// [default: 30s].
    #[arg(long, env = "EXPORTS_SERVE_BODY_TIMEOUT", value_parser = limits::parse_timeout)]
    pub body_timeout: Option<Duration>,
    /// Connections served at once; more wait in the listen backlog
    /// [default: 256].
    #[arg(long, env = "EXPORTS_SERVE_MAX_CONNECTIONS", value_parser = limits::parse_max_connections)]
    pub max_connections: Option<usize>,
}

impl ServeLimits {
    /// The limits given, the defaults for the others.
    pub fn into_limits(self) -> Limits {
        let default = Limits::default();
        Limits {
            header_timeout: self.header_timeout.unwrap_or(default.header_timeout),
            idle_timeout: self.idle_timeout.unwrap_or(default.idle_timeout),
            body_timeout: self.body_timeout.unwrap_or(default.body_timeout),
            max_connections: self.max_connections.unwrap_or(default.max_connections),
        }
    }
}

/// `exports-local options ...`
#[derive(Subcommand)]
pub enum OptionsAction {
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
pub enum ApiKeyCommand {
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

pub fn parse_permission(s: &str) -> Result<Permission, String> {
    Permission::parse(s).ok_or_else(|| "expected createExports or readExports".into())
}

pub fn parse_import_kind(s: &str) -> Result<ImportKind, String> {
    ImportKind::parse(s).ok_or_else(|| format!("expected {}", import::KINDS))
}

/// One bulk worker per core.
fn default_workers() -> u16 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(64) as u16)
}
