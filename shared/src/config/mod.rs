//! Configuration from the environment, read and validated once per cold
//! start, and the backend it selects.
//!
//! [`Settings`] is the one place the environment is read. Every variable,
//! its default, range and the functions that use it are listed in
//! [`variables::VARIABLES`] (and in `docs/deploy.md`, kept in step by a
//! test). A value that does not parse or lies outside its range stops the
//! start with a [`ConfigError`] naming the variable and the range.
//!
//! With `aws`, the SDK's own configuration is read once by
//! [`Backend::connect`] (`aws_config::defaults(BehaviorVersion::latest())`):
//! credentials and `AWS_REGION` as usual, and `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT_URL_DYNAMODB`) to talk to moto or another local endpoint.

mod backend;
mod secret;
pub mod variables;

pub use backend::{s3_client, Backend};

use crate::auth::rate_limit::RateLimit;
use crate::auth::{JwtConfig, JwtVerifier};
use crate::service::delivery::{Delivery, DEFAULT_INLINE_LIMIT, DEFAULT_URL_TTL};
use crate::store::StoreError;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use variables::{number, with_deprecated_aliases};

pub const DEFAULT_ISSUER: &str = "exports-local";
pub const DEFAULT_AUDIENCE: &str = "exports-api";
pub const DEFAULT_DATA_DIR: &str = ".exports";
/// The shortest HS256 secret accepted.
pub const MIN_SECRET_BYTES: usize = 16;

/// What is wrong with the configuration; the message says what to set.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("EXPORTS_BACKEND='{0}' is not a backend of this build; use 'embedded' or 'aws'")]
    UnknownBackend(String),
    #[error("{name} is not set: EXPORTS_BACKEND=aws needs {what}")]
    MissingVariable {
        name: &'static str,
        what: &'static str,
    },
    #[error("no JWT key is configured: set EXPORTS_JWKS_URL or EXPORTS_JWKS_JSON (RS256/ES256), or EXPORTS_JWT_SECRET (HS256)")]
    MissingJwtSecret,
    #[error("the JWKS could not be used")]
    Jwks(#[from] crate::auth::JwksError),
    #[error("the JWKS could not be fetched from {url}")]
    JwksFetch {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("EXPORTS_JWT_SECRET is too short: use at least {MIN_SECRET_BYTES} bytes")]
    WeakJwtSecret,
    #[error("could not open the store")]
    Store(#[from] StoreError),
    #[error("EXPORTS_ENTITY_SOURCE='{0}' is not an entity source; use 'backend' or 'postgres'")]
    UnknownEntitySource(String),
    #[error(
        "EXPORTS_ENTITY_SOURCE=postgres needs EXPORTS_DATABASE_URL or EXPORTS_DATABASE_SECRET_ARN"
    )]
    MissingDatabase,
    #[error("EXPORTS_DATABASE_URL is not a PostgreSQL URL: {0}")]
    BadDatabaseUrl(String),
    #[error("the database secret {arn} could not be used: {reason}")]
    DatabaseSecret { arn: String, reason: String },
    #[error("{name}='{value}' is not a number")]
    NotANumber { name: &'static str, value: String },
    #[error("{name}='{value}' is out of range: use {range}")]
    OutOfRange {
        name: &'static str,
        value: String,
        range: String,
    },
}

/// Which storage backend to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendKind {
    /// SQLite and files in [`Settings::data_dir`].
    Embedded,
    /// DynamoDB, S3 and SQS.
    Aws(AwsSettings),
}

/// The AWS resources of one deployment (names from the SAM template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// `EXPORTS_ENTITIES_TABLE`
    pub entities_table: String,
    /// `EXPORTS_CONFIG_TABLE`
    pub config_table: String,
    /// `EXPORTS_EXPORTS_TABLE`; not used yet.
    pub exports_table: Option<String>,
    /// `EXPORTS_BUCKET`; not used yet.
    pub bucket: Option<String>,
    /// `EXPORTS_QUEUE_URL`; not used yet.
    pub queue_url: Option<String>,
}

/// Where entity records are read.
#[derive(Debug, Clone)]
pub enum EntitySourceKind {
    /// The backend's own store: the Entities table or the SQLite tables.
    Backend,
    /// A PostgreSQL database (`EXPORTS_ENTITY_SOURCE=postgres`).
    Postgres(Box<PostgresSettings>),
}

/// How to reach the PostgreSQL entity source.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    pub location: DatabaseLocation,
    /// `EXPORTS_DATABASE_POOL_SIZE`
    pub pool_size: usize,
    /// `EXPORTS_DATABASE_STATEMENT_TIMEOUT_MS`
    pub statement_timeout: Duration,
}

/// The database's address: a URL, or a Secrets Manager secret read at start.
#[derive(Clone)]
pub enum DatabaseLocation {
    /// `EXPORTS_DATABASE_URL`, parsed.
    Url(Box<tokio_postgres::Config>),
    /// `EXPORTS_DATABASE_SECRET_ARN`
    Secret(String),
}

impl std::fmt::Debug for DatabaseLocation {
    /// Never shows a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseLocation::Url(c) => f
                .debug_struct("Url")
                .field("hosts", &c.get_hosts())
                .field("dbname", &c.get_dbname())
                .field("user", &c.get_user())
                .finish_non_exhaustive(),
            DatabaseLocation::Secret(arn) => f.debug_tuple("Secret").field(arn).finish(),
        }
    }
}

/// The default of `EXPORTS_DATABASE_POOL_SIZE`.
pub const DEFAULT_DATABASE_POOL_SIZE: u64 = 4;
/// The default of `EXPORTS_DATABASE_STATEMENT_TIMEOUT_MS`: under API
/// Gateway's 30-second limit, with room to answer.
pub const DEFAULT_DATABASE_STATEMENT_TIMEOUT_MS: u64 = 20_000;

/// Reads `EXPORTS_ENTITY_SOURCE` and, for `postgres`, where the database is.
fn entity_source(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<EntitySourceKind, ConfigError> {
    let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    match var(variables::ENTITY_SOURCE).as_deref().map(str::trim) {
        None | Some("backend") => Ok(EntitySourceKind::Backend),
        Some("postgres") => {
            let location = match (
                var(variables::DATABASE_SECRET_ARN),
                var(variables::DATABASE_URL),
            ) {
                (Some(arn), _) => DatabaseLocation::Secret(arn.trim().to_string()),
                (None, Some(url)) => DatabaseLocation::Url(Box::new(
                    url.trim()
                        .parse::<tokio_postgres::Config>()
                        .map_err(|e| ConfigError::BadDatabaseUrl(e.to_string()))?,
                )),
                (None, None) => return Err(ConfigError::MissingDatabase),
            };
            let pool_size = number(
                lookup,
                variables::DATABASE_POOL_SIZE,
                &variables::DATABASE_POOL_SIZE_RANGE,
            )?
            .unwrap_or(DEFAULT_DATABASE_POOL_SIZE);
            let timeout = number(
                lookup,
                variables::DATABASE_STATEMENT_TIMEOUT,
                &variables::DATABASE_STATEMENT_TIMEOUT_RANGE,
            )?
            .unwrap_or(DEFAULT_DATABASE_STATEMENT_TIMEOUT_MS);
            Ok(EntitySourceKind::Postgres(Box::new(PostgresSettings {
                location,
                pool_size: usize::try_from(pool_size).unwrap_or(1),
                statement_timeout: Duration::from_millis(timeout),
            })))
        }
        Some(other) => Err(ConfigError::UnknownEntitySource(other.to_string())),
    }
}

/// Settings read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub backend: BackendKind,
    /// `EXPORTS_ENTITY_SOURCE` and the database it names.
    pub entity_source: EntitySourceKind,
    pub data_dir: PathBuf,
    pub jwt_secret: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// `EXPORTS_JWKS_URL`: the identity provider's JWKS, fetched at start.
    pub jwks_url: Option<String>,
    /// `EXPORTS_JWKS_JSON`: a JWKS document given inline.
    pub jwks_json: Option<String>,
    /// The base of the embedded backend's signed file links
    /// (`EXPORTS_PUBLIC_URL`, default `http://127.0.0.1:3000`).
    pub public_url: String,
    /// The deployment's cap on every tenant's sync row limit
    /// (`EXPORTS_MAX_SYNC_ROWS`); `None` leaves the tenants' own limits.
    pub max_sync_rows: Option<u64>,
    /// The inline limit and link lifetime of sync files
    /// (`EXPORTS_INLINE_LIMIT_BYTES`, `EXPORTS_FILE_URL_TTL_SECONDS`).
    pub delivery: Delivery,
    /// How long export files and bulk jobs are kept
    /// (`EXPORTS_FILE_EXPIRY_DAYS`).
    pub file_expiry: Duration,
    /// Every API key's token bucket (`EXPORTS_API_KEY_RATE_PER_SECOND`,
    /// `EXPORTS_API_KEY_BURST`).
    pub api_key_rate: RateLimit,
    /// Deliveries of a bulk job message before its job is marked error
    /// (`EXPORTS_MAX_RECEIVE_COUNT`).
    pub max_receives: u32,
}

/// The default of `EXPORTS_FILE_EXPIRY_DAYS`.
pub const DEFAULT_FILE_EXPIRY_DAYS: u64 = 7;
/// The default API-key rate limit: 5 per second, bursts of 20.
pub const DEFAULT_API_KEY_RATE: RateLimit = RateLimit {
    per_second: 5.0,
    burst: 20.0,
};

/// The default base of local file links.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:3000";

impl Settings {
    /// Reads the environment.
    ///
    /// # Errors
    /// As [`Settings::from_lookup`].
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings from `lookup` (the environment, or a map in tests).
    /// Blank values count as unset; a deprecated name is read when its
    /// successor is unset, with a warning.
    ///
    /// # Errors
    /// [`ConfigError::UnknownBackend`] for an unknown `EXPORTS_BACKEND`;
    /// [`ConfigError::MissingVariable`] when `EXPORTS_BACKEND=aws` lacks
    /// `EXPORTS_ENTITIES_TABLE` or `EXPORTS_CONFIG_TABLE`;
    /// [`ConfigError::NotANumber`] or [`ConfigError::OutOfRange`] for a
    /// numeric setting.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup = with_deprecated_aliases(lookup);
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str, what: &'static str| {
            var(name).ok_or(ConfigError::MissingVariable { name, what })
        };
        let backend = match var("EXPORTS_BACKEND").as_deref().map(str::trim) {
            None | Some("embedded") => BackendKind::Embedded,
            Some("aws") => BackendKind::Aws(AwsSettings {
                entities_table: required(
                    "EXPORTS_ENTITIES_TABLE",
                    "the name of the DynamoDB Entities table",
                )?,
                config_table: required(
                    "EXPORTS_CONFIG_TABLE",
                    "the name of the DynamoDB TenantConfig table",
                )?,
                exports_table: var("EXPORTS_EXPORTS_TABLE"),
                bucket: var("EXPORTS_BUCKET"),
                queue_url: var("EXPORTS_QUEUE_URL"),
            }),
            Some(other) => return Err(ConfigError::UnknownBackend(other.to_string())),
        };
        Ok(Settings {
            backend,
            entity_source: entity_source(&lookup)?,
            data_dir: var("EXPORTS_DATA_DIR")
                .unwrap_or_else(|| DEFAULT_DATA_DIR.into())
                .into(),
            jwt_secret: var("EXPORTS_JWT_SECRET"),
            jwt_issuer: var("EXPORTS_JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into()),
            jwt_audience: var("EXPORTS_JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
            jwks_url: var("EXPORTS_JWKS_URL"),
            jwks_json: var("EXPORTS_JWKS_JSON"),
            public_url: var("EXPORTS_PUBLIC_URL").unwrap_or_else(|| DEFAULT_PUBLIC_URL.into()),
            max_sync_rows: number(
                &lookup,
                variables::MAX_SYNC_ROWS,
                &variables::MAX_SYNC_ROWS_RANGE,
            )?,
            delivery: Delivery {
                inline_limit: number(
                    &lookup,
                    variables::INLINE_LIMIT,
                    &variables::INLINE_LIMIT_RANGE,
                )?
                .map_or(DEFAULT_INLINE_LIMIT, |n| n as usize),
                url_ttl: number(
                    &lookup,
                    variables::FILE_URL_TTL,
                    &variables::FILE_URL_TTL_RANGE,
                )?
                .map_or(DEFAULT_URL_TTL, Duration::from_secs),
            },
            file_expiry: Duration::from_secs(
                number(
                    &lookup,
                    variables::FILE_EXPIRY_DAYS,
                    &variables::FILE_EXPIRY_DAYS_RANGE,
                )?
                .unwrap_or(DEFAULT_FILE_EXPIRY_DAYS)
                    * 86_400,
            ),
            api_key_rate: RateLimit {
                per_second: number(
                    &lookup,
                    variables::RATE_PER_SECOND,
                    &variables::RATE_PER_SECOND_RANGE,
                )?
                .unwrap_or(DEFAULT_API_KEY_RATE.per_second),
                burst: number(&lookup, variables::BURST, &variables::BURST_RANGE)?
                    .unwrap_or(DEFAULT_API_KEY_RATE.burst),
            },
            max_receives: number(
                &lookup,
                variables::MAX_RECEIVES,
                &variables::MAX_RECEIVES_RANGE,
            )?
            .unwrap_or(crate::service::bulk::DEFAULT_MAX_RECEIVES),
        })
    }

    /// The token verifier, fetching `EXPORTS_JWKS_URL` when it is set (once,
    /// at cold start). Otherwise as [`Settings::jwt_verifier`].
    ///
    /// # Errors
    /// [`ConfigError::JwksFetch`] or [`ConfigError::Jwks`] for an unusable
    /// JWKS; as [`Settings::jwt_verifier`] without one.
    pub async fn load_jwt_verifier(&self) -> Result<Arc<JwtVerifier>, ConfigError> {
        let Some(url) = &self.jwks_url else {
            return self.jwt_verifier();
        };
        let fetch_err = |source| ConfigError::JwksFetch {
            url: url.clone(),
            source,
        };
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(fetch_err)?;
        let jwks = client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fetch_err)?
            .text()
            .await
            .map_err(fetch_err)?;
        Ok(Arc::new(JwtVerifier::new(JwtConfig::from_jwks(
            &jwks,
            &self.jwt_issuer,
            &self.jwt_audience,
        )?)))
    }

    /// The token verifier from `EXPORTS_JWKS_JSON` or `EXPORTS_JWT_SECRET`.
    /// There is no default key: a deployment without one refuses to start.
    ///
    /// # Errors
    /// [`ConfigError::MissingJwtSecret`], [`ConfigError::WeakJwtSecret`] or
    /// [`ConfigError::Jwks`].
    pub fn jwt_verifier(&self) -> Result<Arc<JwtVerifier>, ConfigError> {
        if let Some(jwks) = &self.jwks_json {
            return Ok(Arc::new(JwtVerifier::new(JwtConfig::from_jwks(
                jwks,
                &self.jwt_issuer,
                &self.jwt_audience,
            )?)));
        }
        let secret = self
            .jwt_secret
            .as_deref()
            .ok_or(ConfigError::MissingJwtSecret)?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::WeakJwtSecret);
        }
        Ok(Arc::new(JwtVerifier::new(JwtConfig::hs256(
            secret.as_bytes(),
            &self.jwt_issuer,
            &self.jwt_audience,
        ))))
    }
}

/// JSON logs for Lambda (CloudWatch), level from `RUST_LOG` (default info).
pub fn init_lambda_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests;
