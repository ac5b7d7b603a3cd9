//! The PostgreSQL entity source: a CRM's own database (or a read replica),
//! queried directly. Contacts, organisations and households are read from
//! one table or view per entity ([`migrate`] creates them for a standalone
//! schema; `docs/postgres-source.md` gives the contract), with every
//! filter, sort, window and count compiled by [`crate::query::sql`] for
//! [`Dialect::Postgres`](crate::query::sql::Dialect) and every value bound.
//!
//! Export logs, jobs, tenant configuration and files stay in the backend's
//! own stores; this source only answers [`EntitySource`] and (for the demo,
//! the tests and `exports-local import`) [`EntityWriter`].
//!
//! Connections come from a bounded `deadpool-postgres` pool. TLS (rustls,
//! with the system's root certificates) is used when the URL's `sslmode`
//! asks for it; each connection sets `statement_timeout`, and
//! `plan_cache_mode=force_custom_plan`.
//!
//! [`EntitySource`]: crate::store::EntitySource
//! [`EntityWriter`]: crate::store::EntityWriter

mod migrate;
mod read;
mod write;

pub use migrate::{migrate, MIGRATIONS};

use crate::store::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::time::Duration;
use tokio_postgres::config::SslMode;

/// How to reach the database, validated by the configuration.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// A libpq-style URL or key-value string (`postgres://user@host/db?sslmode=require`).
    pub config: tokio_postgres::Config,
    /// The most connections the pool opens.
    pub pool_size: usize,
    /// The server-side limit on one statement.
    pub statement_timeout: Duration,
}

/// The PostgreSQL entity source. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

pub(super) fn pg_err(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::backend(context, e)
}

fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::backend("connect to PostgreSQL", e)
}

impl PgStore {
    /// Builds the pool. No connection is opened until the first call.
    ///
    /// # Errors
    /// When the TLS configuration cannot be built (no usable root
    /// certificates) or the pool refuses its settings.
    pub fn connect(options: &PgOptions) -> Result<Self, StoreError> {
        let mut config = options.config.clone();
        let timeout = options.statement_timeout.as_millis();
        let mut startup = config.get_options().unwrap_or_default().to_string();
        if !startup.is_empty() {
            startup.push(' ');
        }
        startup.push_str(&["-c statement_timeout=", &timeout.to_string()].concat());
        // Every execution planned for its own values: a generic plan of a
        // prepared statement is planned for an average tenant and an
        // unknown `LIMIT` (10% of the table), which for a page's id
        // subquery is a hash join over the whole table.
        startup.push_str(" -c plan_cache_mode=force_custom_plan");
        config.options(&startup);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match config.get_ssl_mode() {
            SslMode::Disable => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
            _ => Manager::from_config(config, tls()?, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(Duration::from_secs(30)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::backend("build the PostgreSQL pool", e))?;
        Ok(PgStore { pool })
    }

    /// A pooled connection.
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_err)
    }
}

/// rustls with the system's root certificates (and those of the Amazon
/// Trust Services, which RDS Proxy presents, are among them).
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs_load();
    for cert in found {
        // A certificate the store cannot parse is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(StoreError::Corrupt(
            "TLS to PostgreSQL: the system has no root certificates".into(),
        ));
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::backend("TLS to PostgreSQL", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn rustls_native_certs_load() -> Vec<rustls::pki_types::CertificateDer<'static>> {
    let result = rustls_native_certs::load_native_certs();
    for e in &result.errors {
        tracing::warn!(error = %e, "a system root certificate could not be read");
    }
    result.certs
}
