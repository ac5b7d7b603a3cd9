//! Configuration from the environment, read once per cold start, and the
//! backend it selects.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `EXPORTS_BACKEND` | `embedded` | `embedded` (SQLite + files) or `aws` (DynamoDB, S3, SQS) |
//! | `EXPORTS_DATA_DIR` | `.exports` | the embedded backend's directory |
//! | `EXPORTS_ENTITIES_TABLE` | none (required with `aws`) | the DynamoDB Entities table |
//! | `EXPORTS_CONFIG_TABLE` | none (required with `aws`) | the DynamoDB TenantConfig table |
//! | `EXPORTS_EXPORTS_TABLE` | none | the DynamoDB Exports table (export logs, bulk jobs) |
//! | `EXPORTS_BUCKET` | none | the S3 bucket of export files |
//! | `EXPORTS_QUEUE_URL` | none | the SQS queue of bulk jobs |
//! | `EXPORTS_JWKS_URL` | none | JWKS of the identity provider (RS256/ES256), fetched at start |
//! | `EXPORTS_JWKS_JSON` | none | a JWKS document given inline |
//! | `EXPORTS_JWT_SECRET` | none | HS256 secret, at least 16 bytes, when there is no JWKS |
//! | `EXPORTS_PUBLIC_URL` | `http://127.0.0.1:3000` | base of the embedded backend's signed file links |
//! | `EXPORTS_JWT_ISSUER` | `exports-local` | required `iss` |
//! | `EXPORTS_JWT_AUDIENCE` | `exports-api` | required `aud` |
//!
//! With `aws`, the SDK's own configuration is read once by
//! [`Backend::connect`] (`aws_config::defaults(BehaviorVersion::latest())`):
//! credentials and `AWS_REGION` as usual, and `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT_URL_DYNAMODB`) to talk to moto or another local endpoint.

use crate::auth::{JwtConfig, JwtVerifier};
use crate::store::aws::DynamoStore;
use crate::store::embedded::EmbeddedFiles;
use crate::store::embedded::EmbeddedStore;
use crate::store::{
    ActivityStore, ApiKeyStore, BulkJobStore, EntitySource, EntityWriter, ExportLogStore,
    FileStore, JobQueue, StoreError, TenantConfigStore,
};
use std::path::PathBuf;
use std::sync::Arc;

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

/// Settings read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub backend: BackendKind,
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
}

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
    /// Blank values count as unset.
    ///
    /// # Errors
    /// [`ConfigError::UnknownBackend`] for an unknown `EXPORTS_BACKEND`;
    /// [`ConfigError::MissingVariable`] when `EXPORTS_BACKEND=aws` lacks
    /// `EXPORTS_ENTITIES_TABLE` or `EXPORTS_CONFIG_TABLE`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
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
            data_dir: var("EXPORTS_DATA_DIR")
                .unwrap_or_else(|| DEFAULT_DATA_DIR.into())
                .into(),
            jwt_secret: var("EXPORTS_JWT_SECRET"),
            jwt_issuer: var("EXPORTS_JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into()),
            jwt_audience: var("EXPORTS_JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
            jwks_url: var("EXPORTS_JWKS_URL"),
            jwks_json: var("EXPORTS_JWKS_JSON"),
            public_url: var("EXPORTS_PUBLIC_URL").unwrap_or_else(|| DEFAULT_PUBLIC_URL.into()),
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

/// The storage clients of one process, whichever the backend.
#[derive(Clone)]
pub struct Backend {
    entities: Arc<dyn EntitySource>,
    entity_writer: Arc<dyn EntityWriter>,
    tenant_config: Arc<dyn TenantConfigStore>,
    /// Reference data (TenantConfig `GLOBAL`).
    reference: Arc<dyn crate::store::ReferenceStore>,
    /// `None` when the AWS backend has no `EXPORTS_BUCKET`.
    files: Option<Arc<dyn FileStore>>,
    /// `None` when the AWS backend has no `EXPORTS_QUEUE_URL`.
    queue: Option<Arc<dyn JobQueue>>,
    /// `None` when the AWS backend has no `EXPORTS_EXPORTS_TABLE`.
    export_logs: Option<Arc<dyn ExportLogStore>>,
    /// `None` when the AWS backend has no `EXPORTS_EXPORTS_TABLE`.
    bulk_jobs: Option<Arc<dyn BulkJobStore>>,
    api_keys: Arc<dyn ApiKeyStore>,
    activities: Arc<dyn ActivityStore>,
    /// The SDK configuration, loaded once, for every AWS client (AWS only).
    aws: Option<aws_config::SdkConfig>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("aws", &self.aws.is_some())
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// Opens the configured backend. With `aws` this loads the SDK
    /// configuration (credentials, region, endpoint) once; no table is
    /// touched until the first call.
    ///
    /// # Errors
    /// When the embedded store cannot be opened.
    pub async fn connect(settings: &Settings) -> Result<Self, ConfigError> {
        match &settings.backend {
            BackendKind::Embedded => {
                let dir = settings.data_dir.clone();
                let public_url = settings.public_url.clone();
                let (store, files) = tokio::task::spawn_blocking(move || {
                    Ok::<_, StoreError>((
                        EmbeddedStore::open(&dir)?,
                        EmbeddedFiles::open(&dir, public_url)?,
                    ))
                })
                .await
                .map_err(|e| StoreError::backend("open store", e))??;
                let store = Arc::new(store);
                let mut backend = Backend::over(store.clone(), None);
                backend.files = Some(Arc::new(files));
                backend.queue = Some(store.clone());
                backend.bulk_jobs = Some(store.clone());
                backend.export_logs = Some(store);
                Ok(backend)
            }
            BackendKind::Aws(aws) => {
                let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .load()
                    .await;
                let store = DynamoStore::new(
                    aws_sdk_dynamodb::Client::new(&sdk),
                    aws.entities_table.clone(),
                    aws.config_table.clone(),
                );
                let mut backend = Backend::over(Arc::new(store), None);
                backend.files = aws.bucket.as_ref().map(|bucket| {
                    Arc::new(crate::store::aws::S3Files::new(
                        s3_client(&sdk),
                        bucket.clone(),
                    )) as Arc<dyn FileStore>
                });
                backend.queue = aws.queue_url.as_ref().map(|url| {
                    Arc::new(crate::store::aws::SqsQueue::new(
                        aws_sdk_sqs::Client::new(&sdk),
                        url.clone(),
                    )) as Arc<dyn JobQueue>
                });
                backend.export_logs = aws.exports_table.as_ref().map(|table| {
                    Arc::new(crate::store::aws::DynamoExportLogs::new(
                        aws_sdk_dynamodb::Client::new(&sdk),
                        table.clone(),
                    )) as Arc<dyn ExportLogStore>
                });
                backend.bulk_jobs = aws.exports_table.as_ref().map(|table| {
                    Arc::new(crate::store::aws::DynamoBulkJobs::new(
                        aws_sdk_dynamodb::Client::new(&sdk),
                        table.clone(),
                    )) as Arc<dyn BulkJobStore>
                });
                backend.aws = Some(sdk);
                Ok(backend)
            }
        }
    }

    fn over<S>(store: Arc<S>, aws: Option<aws_config::SdkConfig>) -> Self
    where
        S: EntitySource
            + EntityWriter
            + TenantConfigStore
            + crate::store::ReferenceStore
            + ApiKeyStore
            + ActivityStore
            + 'static,
    {
        Backend {
            api_keys: store.clone(),
            activities: store.clone(),
            bulk_jobs: None,
            entities: store.clone(),
            entity_writer: store.clone(),
            tenant_config: store.clone(),
            reference: store,
            files: None,
            queue: None,
            export_logs: None,
            aws,
        }
    }

    /// The file store: the data directory's `files/` (embedded) or S3.
    ///
    /// # Errors
    /// [`ConfigError::MissingVariable`] when the AWS backend has no bucket.
    pub fn files(&self) -> Result<Arc<dyn FileStore>, ConfigError> {
        self.files.clone().ok_or(ConfigError::MissingVariable {
            name: "EXPORTS_BUCKET",
            what: "the S3 bucket of export files",
        })
    }

    /// The job queue: a SQLite table (embedded) or SQS.
    ///
    /// # Errors
    /// [`ConfigError::MissingVariable`] when the AWS backend has no queue.
    pub fn queue(&self) -> Result<Arc<dyn JobQueue>, ConfigError> {
        self.queue.clone().ok_or(ConfigError::MissingVariable {
            name: "EXPORTS_QUEUE_URL",
            what: "the SQS queue of bulk jobs",
        })
    }

    /// The export logs: a SQLite table (embedded) or the Exports table.
    ///
    /// # Errors
    /// [`ConfigError::MissingVariable`] when the AWS backend has no Exports table.
    pub fn export_logs(&self) -> Result<Arc<dyn ExportLogStore>, ConfigError> {
        self.export_logs
            .clone()
            .ok_or(ConfigError::MissingVariable {
                name: "EXPORTS_EXPORTS_TABLE",
                what: "the DynamoDB Exports table (export logs)",
            })
    }

    /// Bulk jobs: a SQLite table (embedded) or the Exports table.
    ///
    /// # Errors
    /// [`ConfigError::MissingVariable`] when the AWS backend has no Exports table.
    pub fn bulk_jobs(&self) -> Result<Arc<dyn BulkJobStore>, ConfigError> {
        self.bulk_jobs.clone().ok_or(ConfigError::MissingVariable {
            name: "EXPORTS_EXPORTS_TABLE",
            what: "the DynamoDB Exports table (bulk jobs)",
        })
    }

    /// API keys, the blocked flag and rate buckets (TenantConfig).
    pub fn api_keys(&self) -> Arc<dyn ApiKeyStore> {
        self.api_keys.clone()
    }

    /// Day-bucketed activities (Entities).
    pub fn activities(&self) -> Arc<dyn ActivityStore> {
        self.activities.clone()
    }

    pub fn entities(&self) -> Arc<dyn EntitySource> {
        self.entities.clone()
    }

    pub fn entity_writer(&self) -> Arc<dyn EntityWriter> {
        self.entity_writer.clone()
    }

    pub fn tenant_config(&self) -> Arc<dyn TenantConfigStore> {
        self.tenant_config.clone()
    }

    /// Reference data: industries, countries, cities, phone codes.
    pub fn reference(&self) -> Arc<dyn crate::store::ReferenceStore> {
        self.reference.clone()
    }

    /// The SDK configuration the AWS backend loaded (`None` when embedded),
    /// to build further clients (S3, SQS) from.
    pub fn aws_config(&self) -> Option<&aws_config::SdkConfig> {
        self.aws.as_ref()
    }
}

/// An S3 client. With a custom endpoint (an emulator on an IP address),
/// buckets are addressed by path, as virtual-host names cannot resolve.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
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

/// Reads a function's own numeric setting `name` (unset or unparsable:
/// `None`). The variable names stay with the functions that read them, so
/// the template's contract test sees which function needs which.
pub fn u64_var(name: &str) -> Option<u64> {
    u64_from_lookup(name, |n| std::env::var(n).ok())
}

/// [`u64_var`] from `lookup`.
pub fn u64_from_lookup(name: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<u64> {
    lookup(name).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    const AWS: &[(&str, &str)] = &[
        ("EXPORTS_BACKEND", "aws"),
        ("EXPORTS_ENTITIES_TABLE", "exports-dev-entities"),
        ("EXPORTS_CONFIG_TABLE", "exports-dev-tenant-config"),
    ];

    #[test]
    fn embedded_is_the_default() {
        let s = settings(&[]).expect("valid");
        assert_eq!(s.backend, BackendKind::Embedded);
        assert_eq!(s.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        let s = settings(&[("EXPORTS_BACKEND", "  ")]).expect("blank is unset");
        assert_eq!(s.backend, BackendKind::Embedded);
    }

    #[test]
    fn aws_reads_the_table_names_and_the_optional_resources() {
        let s = settings(AWS).expect("valid");
        assert_eq!(
            s.backend,
            BackendKind::Aws(AwsSettings {
                entities_table: "exports-dev-entities".into(),
                config_table: "exports-dev-tenant-config".into(),
                exports_table: None,
                bucket: None,
                queue_url: None,
            })
        );
        let mut all = AWS.to_vec();
        all.extend([
            ("EXPORTS_EXPORTS_TABLE", "exports-dev-exports"),
            ("EXPORTS_BUCKET", "exports-dev-files"),
            (
                "EXPORTS_QUEUE_URL",
                "http://127.0.0.1:5000/123456789012/jobs",
            ),
        ]);
        let BackendKind::Aws(aws) = settings(&all).expect("valid").backend else {
            panic!("not aws");
        };
        assert_eq!(aws.exports_table.as_deref(), Some("exports-dev-exports"));
        assert_eq!(aws.bucket.as_deref(), Some("exports-dev-files"));
        assert_eq!(
            aws.queue_url.as_deref(),
            Some("http://127.0.0.1:5000/123456789012/jobs")
        );
    }

    #[test]
    fn a_missing_table_is_an_error_naming_the_variable() {
        for missing in ["EXPORTS_ENTITIES_TABLE", "EXPORTS_CONFIG_TABLE"] {
            let vars: Vec<(&str, &str)> = AWS
                .iter()
                .map(|&(k, v)| if k == missing { (k, "") } else { (k, v) })
                .collect();
            let err = settings(&vars).expect_err("incomplete");
            assert!(
                matches!(err, ConfigError::MissingVariable { name, .. } if name == missing),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("{missing} is not set: EXPORTS_BACKEND=aws needs")),
                "{message}"
            );
        }
    }

    #[test]
    fn an_unknown_backend_is_an_error() {
        let err = settings(&[("EXPORTS_BACKEND", "dynamo")]).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "EXPORTS_BACKEND='dynamo' is not a backend of this build; use 'embedded' or 'aws'"
        );
    }

    #[test]
    fn aws_still_needs_a_jwt_secret() {
        let with_secret = |secret: Option<&'static str>| {
            let mut vars = AWS.to_vec();
            vars.extend(secret.map(|s| ("EXPORTS_JWT_SECRET", s)));
            settings(&vars).expect("valid").jwt_verifier()
        };
        assert!(matches!(
            with_secret(None),
            Err(ConfigError::MissingJwtSecret)
        ));
        assert!(matches!(
            with_secret(Some("short")),
            Err(ConfigError::WeakJwtSecret)
        ));
        assert!(with_secret(Some("a-secret-of-enough-bytes")).is_ok());
    }

    #[tokio::test]
    async fn the_embedded_backend_has_no_aws_config() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut embedded = settings(&[]).expect("valid");
        embedded.data_dir = dir.path().to_path_buf();
        let backend = Backend::connect(&embedded).await.expect("opens");
        assert!(backend.aws_config().is_none());
    }

    #[test]
    fn numeric_settings_are_trimmed_and_unparsable_is_unset() {
        let vars: HashMap<&str, &str> = [("A", " 1024 "), ("B", "soon")].into_iter().collect();
        let get = |name: &str| vars.get(name).map(|v| (*v).to_string());
        assert_eq!(u64_from_lookup("A", get), Some(1024));
        assert_eq!(u64_from_lookup("B", get), None);
        assert_eq!(u64_from_lookup("C", get), None);
    }
}
