//! Every environment variable the service reads: its default, its range and
//! which functions use it. [`VARIABLES`] is the one list; `docs/deploy.md`
//! shows it (a test keeps the two in step) and the template test checks
//! that `template.yaml` sets each variable for each function that uses it.
//!
//! Numbers are read by [`number`]: blank is unset, anything else must
//! parse and lie in its range, or the process stops at start with a
//! [`ConfigError`] naming the variable and the range. Nothing is silently
//! replaced by a default.

use super::ConfigError;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// One environment variable.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    /// The value when unset, as documented.
    pub default: &'static str,
    /// The values accepted, as documented.
    pub range: &'static str,
    pub meaning: &'static str,
    /// The functions (binaries) that use it; empty for local mode only.
    pub used_by: &'static [&'static str],
}

/// Every function of the template.
pub const EVERY_FUNCTION: &[&str] = &[
    "sync-export",
    "export-logs",
    "config-api",
    "bulk-export-api",
    "bulk-export-worker",
];
const FILES_SYNC: &[&str] = &["sync-export", "export-logs"];
const LOCAL_ONLY: &[&str] = &[];
/// The functions that read entity records (and so the entity source).
const ENTITY_READERS: &[&str] = &[
    "sync-export",
    "export-logs",
    "config-api",
    "bulk-export-worker",
];

/// Old names still read, with the name that replaced them. Reading one
/// logs a warning; the new name wins when both are set.
pub const DEPRECATED: &[(&str, &str)] = &[("EXPORTS_FILE_URL_TTL_SECS", FILE_URL_TTL)];

pub const MAX_SYNC_ROWS: &str = "EXPORTS_MAX_SYNC_ROWS";
pub const INLINE_LIMIT: &str = "EXPORTS_INLINE_LIMIT_BYTES";
pub const FILE_URL_TTL: &str = "EXPORTS_FILE_URL_TTL_SECONDS";
pub const FILE_EXPIRY_DAYS: &str = "EXPORTS_FILE_EXPIRY_DAYS";
pub const RATE_PER_SECOND: &str = "EXPORTS_API_KEY_RATE_PER_SECOND";
pub const BURST: &str = "EXPORTS_API_KEY_BURST";
pub const MAX_RECEIVES: &str = "EXPORTS_MAX_RECEIVE_COUNT";
pub const ENTITY_SOURCE: &str = "EXPORTS_ENTITY_SOURCE";
pub const DATABASE_URL: &str = "EXPORTS_DATABASE_URL";
pub const DATABASE_SECRET_ARN: &str = "EXPORTS_DATABASE_SECRET_ARN";
pub const DATABASE_POOL_SIZE: &str = "EXPORTS_DATABASE_POOL_SIZE";
pub const DATABASE_STATEMENT_TIMEOUT: &str = "EXPORTS_DATABASE_STATEMENT_TIMEOUT_MS";

/// The accepted ranges of the numeric settings.
pub const MAX_SYNC_ROWS_RANGE: RangeInclusive<u64> = 1..=10_000_000;
pub const INLINE_LIMIT_RANGE: RangeInclusive<u64> = 1_024..=5_000_000;
pub const FILE_URL_TTL_RANGE: RangeInclusive<u64> = 60..=604_800;
pub const FILE_EXPIRY_DAYS_RANGE: RangeInclusive<u64> = 1..=36_500;
pub const RATE_PER_SECOND_RANGE: RangeInclusive<f64> = 0.001..=10_000.0;
pub const BURST_RANGE: RangeInclusive<f64> = 1.0..=100_000.0;
pub const MAX_RECEIVES_RANGE: RangeInclusive<u32> = 1..=1_000;
pub const DATABASE_POOL_SIZE_RANGE: RangeInclusive<u64> = 1..=64;
pub const DATABASE_STATEMENT_TIMEOUT_RANGE: RangeInclusive<u64> = 100..=900_000;

/// The list, in the order `docs/deploy.md` shows it.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "EXPORTS_BACKEND",
        default: "embedded",
        range: "embedded, aws",
        meaning: "the storage backend: SQLite and files, or DynamoDB, S3 and SQS",
        used_by: EVERY_FUNCTION,
    },
    Variable {
        name: "EXPORTS_ENTITIES_TABLE",
        default: "none (required with aws)",
        range: "a table name",
        meaning: "the DynamoDB Entities table",
        used_by: EVERY_FUNCTION,
    },
    Variable {
        name: "EXPORTS_CONFIG_TABLE",
        default: "none (required with aws)",
        range: "a table name",
        meaning: "the DynamoDB TenantConfig table",
        used_by: EVERY_FUNCTION,
    },
    Variable {
        name: "EXPORTS_EXPORTS_TABLE",
        default: "none",
        range: "a table name",
        meaning: "the DynamoDB Exports table (export logs, bulk jobs)",
        used_by: &["export-logs", "bulk-export-api", "bulk-export-worker"],
    },
    Variable {
        name: "EXPORTS_BUCKET",
        default: "none",
        range: "a bucket name",
        meaning: "the S3 bucket of export files",
        used_by: &["sync-export", "export-logs", "bulk-export-api", "bulk-export-worker"],
    },
    Variable {
        name: "EXPORTS_QUEUE_URL",
        default: "none",
        range: "a queue URL",
        meaning: "the SQS queue of bulk jobs",
        used_by: &["bulk-export-api"],
    },
    Variable {
        name: "EXPORTS_JWKS_URL",
        default: "none",
        range: "an https URL",
        meaning: "the identity provider's JWKS (RS256/ES256), fetched once at start",
        used_by: &["sync-export", "export-logs", "config-api"],
    },
    Variable {
        name: "EXPORTS_JWKS_JSON",
        default: "none",
        range: "a JWKS document",
        meaning: "a JWKS given inline (tests and local mode)",
        used_by: LOCAL_ONLY,
    },
    Variable {
        name: "EXPORTS_JWT_SECRET",
        default: "none",
        range: "at least 16 bytes",
        meaning: "the HS256 secret, when there is no JWKS",
        used_by: &["sync-export", "export-logs", "config-api"],
    },
    Variable {
        name: "EXPORTS_JWT_ISSUER",
        default: "exports-local",
        range: "any text",
        meaning: "the required `iss` of tokens",
        used_by: &["sync-export", "export-logs", "config-api"],
    },
    Variable {
        name: "EXPORTS_JWT_AUDIENCE",
        default: "exports-api",
        range: "any text",
        meaning: "the required `aud` of tokens",
        used_by: &["sync-export", "export-logs", "config-api"],
    },
    Variable {
        name: MAX_SYNC_ROWS,
        default: "none (each tenant's own limit)",
        range: "1 to 10000000",
        meaning: "the deployment's cap on every tenant's sync row limit",
        used_by: FILES_SYNC,
    },
    Variable {
        name: INLINE_LIMIT,
        default: "4194304",
        range: "1024 to 5000000",
        meaning: "the largest file answered inline; larger ones get a 303 to a signed link",
        used_by: FILES_SYNC,
    },
    Variable {
        name: FILE_URL_TTL,
        default: "900",
        range: "60 to 604800",
        meaning: "the lifetime of signed file links, in seconds (formerly `EXPORTS_FILE_URL_TTL_SECS`, still read with a warning)",
        used_by: &["sync-export", "export-logs", "bulk-export-api"],
    },
    Variable {
        name: FILE_EXPIRY_DAYS,
        default: "7",
        range: "1 to 36500",
        meaning: "the days export files and bulk jobs are kept (the bucket's lifecycle rule)",
        used_by: &["bulk-export-api"],
    },
    Variable {
        name: RATE_PER_SECOND,
        default: "5",
        range: "0.001 to 10000",
        meaning: "tokens per second refilled into each API key's bucket",
        used_by: &["bulk-export-api"],
    },
    Variable {
        name: BURST,
        default: "20",
        range: "1 to 100000",
        meaning: "the size of each API key's bucket",
        used_by: &["bulk-export-api"],
    },
    Variable {
        name: MAX_RECEIVES,
        default: "5",
        range: "1 to 1000",
        meaning: "deliveries of a bulk job message before its job is marked error (the queue's maxReceiveCount)",
        used_by: &["bulk-export-worker"],
    },
    Variable {
        name: ENTITY_SOURCE,
        default: "backend",
        range: "backend, postgres",
        meaning: "where contacts, organisations and households are read: the backend's own store (DynamoDB or SQLite), or a PostgreSQL database (docs/postgres-source.md)",
        used_by: ENTITY_READERS,
    },
    Variable {
        name: DATABASE_SECRET_ARN,
        default: "none",
        range: "a Secrets Manager secret ARN",
        meaning: "with postgres: the secret holding `host`, `port`, `username`, `password` and `dbname` (the RDS format; `sslmode` optional, default `require`)",
        used_by: ENTITY_READERS,
    },
    Variable {
        name: DATABASE_URL,
        default: "none",
        range: "a postgres:// URL",
        meaning: "with postgres and no secret: the database URL (`sslmode=require` for TLS)",
        used_by: LOCAL_ONLY,
    },
    Variable {
        name: DATABASE_POOL_SIZE,
        default: "4",
        range: "1 to 64",
        meaning: "with postgres: the most connections one process opens",
        used_by: ENTITY_READERS,
    },
    Variable {
        name: DATABASE_STATEMENT_TIMEOUT,
        default: "20000",
        range: "100 to 900000",
        meaning: "with postgres: the server-side limit on one statement, in milliseconds",
        used_by: ENTITY_READERS,
    },
    Variable {
        name: "EXPORTS_DATA_DIR",
        default: ".exports",
        range: "a directory",
        meaning: "the embedded backend's directory (local mode)",
        used_by: LOCAL_ONLY,
    },
    Variable {
        name: "EXPORTS_PUBLIC_URL",
        default: "http://127.0.0.1:3000",
        range: "a URL",
        meaning: "the base of the embedded backend's signed file links (local mode)",
        used_by: LOCAL_ONLY,
    },
];

/// Reads the number `name` from `lookup`: `None` when unset or blank.
///
/// # Errors
/// [`ConfigError::NotANumber`] when it does not parse,
/// [`ConfigError::OutOfRange`] when it lies outside `range`.
pub fn number<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    range: &RangeInclusive<T>,
) -> Result<Option<T>, ConfigError>
where
    T: FromStr + PartialOrd + Display,
{
    let Some(raw) = lookup(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let value: T = raw.trim().parse().map_err(|_| ConfigError::NotANumber {
        name,
        value: raw.clone(),
    })?;
    if !range.contains(&value) {
        return Err(ConfigError::OutOfRange {
            name,
            value: raw,
            range: range_text(range),
        });
    }
    Ok(Some(value))
}

/// How a range is written in messages and in [`VARIABLES`]: `60 to 604800`.
pub fn range_text<T: Display>(range: &RangeInclusive<T>) -> String {
    format!("{} to {}", range.start(), range.end())
}

/// `lookup` that also answers each deprecated name's successor from the old
/// name when only the old one is set, logging a warning.
pub fn with_deprecated_aliases(
    lookup: impl Fn(&str) -> Option<String>,
) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        let set = |n: &str| lookup(n).filter(|v| !v.trim().is_empty());
        if let Some(v) = set(name) {
            return Some(v);
        }
        let (old, _) = DEPRECATED.iter().find(|(_, new)| *new == name)?;
        let v = set(old)?;
        tracing::warn!(
            variable = old,
            replaced_by = name,
            "a deprecated variable is set; rename it"
        );
        Some(v)
    }
}
