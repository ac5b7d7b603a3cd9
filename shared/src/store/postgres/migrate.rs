//! The standalone schema's migrations, applied in order by
//! `exports-local migrate` (and the tests), each once.
//!
//! One run is one transaction under a transaction-level advisory lock: two
//! processes migrating one database apply each migration once, and a
//! migration that fails leaves the database as it was.

use super::{pg_err, PgStore};
use crate::store::StoreError;

/// Every migration, in order: its version and its SQL.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_entities.sql")),
    (2, include_str!("migrations/0002_count_indexes.sql")),
];

/// The advisory lock key migrations hold (any constant: "exports" in ASCII).
const LOCK_KEY: i64 = 0x0065_7870_6f72_7473;

/// Applies the migrations the database has not seen; returns the versions
/// applied now (empty when it was up to date).
///
/// # Errors
/// [`StoreError`] when the database refuses a statement; nothing of the
/// run is applied then.
pub async fn migrate(store: &PgStore) -> Result<Vec<i32>, StoreError> {
    let mut client = store.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(pg_err("begin the migrations"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(pg_err("lock the migrations"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS exports_schema_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(pg_err("create the migrations table"))?;
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        let done = tx
            .query_opt(
                "SELECT 1 FROM exports_schema_migrations WHERE version = $1",
                &[version],
            )
            .await
            .map_err(pg_err("read the migrations"))?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql)
            .await
            .map_err(pg_err("apply a migration"))?;
        tx.execute(
            "INSERT INTO exports_schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(pg_err("record a migration"))?;
        applied.push(*version);
    }
    tx.commit().await.map_err(pg_err("commit the migrations"))?;
    for version in &applied {
        tracing::info!(version, "PostgreSQL migration applied");
    }
    Ok(applied)
}
