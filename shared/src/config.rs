//! Configuration from the environment, read once per cold start, and the
//! backend it selects.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `EXPORTS_BACKEND` | `embedded` | `embedded` (SQLite + files) |
//! | `EXPORTS_DATA_DIR` | `.exports` | the embedded backend's directory |
//! | `EXPORTS_JWT_SECRET` | none (required) | HS256 secret, at least 16 bytes |
//! | `EXPORTS_JWT_ISSUER` | `exports-local` | required `iss` |
//! | `EXPORTS_JWT_AUDIENCE` | `exports-api` | required `aud` |

use crate::auth::{JwtConfig, JwtVerifier};
use crate::store::embedded::EmbeddedStore;
use crate::store::{EntitySource, EntityWriter, StoreError, TenantConfigStore};
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
    #[error("EXPORTS_BACKEND='{0}' is not a backend of this build; use 'embedded'")]
    UnknownBackend(String),
    #[error("EXPORTS_JWT_SECRET is not set: the service needs a JWT key to verify tokens")]
    MissingJwtSecret,
    #[error("EXPORTS_JWT_SECRET is too short: use at least {MIN_SECRET_BYTES} bytes")]
    WeakJwtSecret,
    #[error("could not open the store")]
    Store(#[from] StoreError),
}

/// Which storage backend to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendKind {
    Embedded,
}

/// Settings read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub backend: BackendKind,
    pub data_dir: PathBuf,
    pub jwt_secret: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
}

impl Settings {
    /// Reads the environment.
    ///
    /// # Errors
    /// [`ConfigError::UnknownBackend`] for an unknown `EXPORTS_BACKEND`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let backend = match var("EXPORTS_BACKEND").as_deref() {
            None | Some("embedded") => BackendKind::Embedded,
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
        })
    }

    /// The token verifier. There is no default key: a deployment without one
    /// refuses to start.
    ///
    /// # Errors
    /// [`ConfigError::MissingJwtSecret`] or [`ConfigError::WeakJwtSecret`].
    pub fn jwt_verifier(&self) -> Result<Arc<JwtVerifier>, ConfigError> {
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

/// The storage clients of one process.
#[derive(Clone)]
pub struct Backend {
    embedded: Arc<EmbeddedStore>,
}

impl Backend {
    /// Opens the configured backend.
    ///
    /// # Errors
    /// When the store cannot be opened.
    pub async fn connect(settings: &Settings) -> Result<Self, ConfigError> {
        match settings.backend {
            BackendKind::Embedded => {
                let dir = settings.data_dir.clone();
                let store = tokio::task::spawn_blocking(move || EmbeddedStore::open(&dir))
                    .await
                    .map_err(|e| StoreError::backend("open store", e))??;
                Ok(Backend {
                    embedded: Arc::new(store),
                })
            }
        }
    }

    pub fn entities(&self) -> Arc<dyn EntitySource> {
        self.embedded.clone()
    }

    pub fn entity_writer(&self) -> Arc<dyn EntityWriter> {
        self.embedded.clone()
    }

    pub fn tenant_config(&self) -> Arc<dyn TenantConfigStore> {
        self.embedded.clone()
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
