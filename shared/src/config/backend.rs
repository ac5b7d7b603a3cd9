//! The storage clients one process builds from its [`Settings`], whichever
//! the backend.

use super::{BackendKind, ConfigError, DatabaseLocation, EntitySourceKind, Settings};
use crate::store::aws::DynamoStore;
use crate::store::embedded::EmbeddedFiles;
use crate::store::embedded::EmbeddedStore;
use crate::store::{
    ActivityStore, ApiKeyStore, BulkJobStore, EntitySource, EntityWriter, ExportLogStore,
    FileStore, JobQueue, StoreError, TenantConfigStore,
};
use std::sync::Arc;

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
    /// The PostgreSQL entity source, when it is the one configured.
    postgres: Option<Arc<crate::store::postgres::PgStore>>,
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
    /// touched until the first call. With `EXPORTS_ENTITY_SOURCE=postgres`
    /// entities are read from (and written to) PostgreSQL instead; its
    /// secret, when it has one, is read now, and its pool connects on the
    /// first call.
    ///
    /// # Errors
    /// When the embedded store cannot be opened, or the database secret
    /// cannot be read.
    pub async fn connect(settings: &Settings) -> Result<Self, ConfigError> {
        let mut backend = Self::connect_backend(settings).await?;
        if let EntitySourceKind::Postgres(pg) = &settings.entity_source {
            let config = match &pg.location {
                DatabaseLocation::Url(config) => (**config).clone(),
                DatabaseLocation::Secret(arn) => {
                    let sdk = match &backend.aws {
                        Some(sdk) => sdk.clone(),
                        None => {
                            aws_config::defaults(aws_config::BehaviorVersion::latest())
                                .load()
                                .await
                        }
                    };
                    super::secret::database_config(&sdk, arn).await?
                }
            };
            let store = Arc::new(crate::store::postgres::PgStore::connect(
                &crate::store::postgres::PgOptions {
                    config,
                    pool_size: pg.pool_size,
                    statement_timeout: pg.statement_timeout,
                },
            )?);
            backend.entities = store.clone();
            backend.entity_writer = store.clone();
            backend.postgres = Some(store);
        }
        Ok(backend)
    }

    /// The backend's own stores (entities included).
    async fn connect_backend(settings: &Settings) -> Result<Self, ConfigError> {
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
            postgres: None,
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

    /// The PostgreSQL entity source (`EXPORTS_ENTITY_SOURCE=postgres`),
    /// for `exports-local migrate`; `None` with the backend's own source.
    pub fn postgres(&self) -> Option<Arc<crate::store::postgres::PgStore>> {
        self.postgres.clone()
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
