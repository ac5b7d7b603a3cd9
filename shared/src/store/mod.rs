//! Storage traits. Domain code sees only these; each has an embedded
//! implementation (SQLite) and, with the AWS backend, a DynamoDB one.
//!
//! Every call takes the tenant, and implementations put it in the partition
//! key, so no call can read or write across tenants.

pub mod aws;
pub mod bulk;
pub mod embedded;
pub mod files;
pub mod keys;
pub mod kv;
pub mod postgres;
pub mod queue;

pub use bulk::{ActivityStore, ApiKeyStore, BulkJobStore};
pub use files::{FileKey, FileMeta, FileStore, MultipartUpload, PresignedUrl, StoredFile};
pub use queue::{JobMessage, JobQueue};

use crate::model::{
    City, ConfigOption, Country, CustomFieldDef, EntityKind, Industry, OptionKind, PhoneCode,
    Projection, Record, ReferenceData, TenantId, TenantSettings, Value,
};
use crate::query::engine::{Collector, RowSink, ValueCounter};
use crate::query::{EntityQuery, QueryAnswer};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Errors of the storage layer. Never shown to clients as they are.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage backend failed: {context}")]
    Backend {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    #[error("invalid page cursor")]
    BadCursor,
    #[error("an item with key {0} already exists")]
    AlreadyExists(String),
}

impl StoreError {
    /// Whether the storage under the store is full (`ENOSPC`, `EDQUOT`,
    /// SQLite's `SQLITE_FULL`) anywhere in the error's chain: a condition
    /// that passes, answered 503 with `Retry-After`, not 500.
    pub fn is_storage_full(&self) -> bool {
        storage_full(self)
    }

    pub fn backend(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: Box::new(source),
        }
    }
}

/// Whether `err` or any error in its chain says the storage is full.
pub fn storage_full(err: &(dyn std::error::Error + 'static)) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(ENOSPC | EDQUOT))
            {
                return true;
            }
        }
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = e.downcast_ref::<rusqlite::Error>() {
            if f.code == rusqlite::ErrorCode::DiskFull {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// An opaque position in a paged read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor(pub String);

/// One page of records and where the next starts (`None` at the end).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub records: Vec<Record>,
    pub next: Option<PageCursor>,
}

/// Rows read per page when a query is answered in process.
pub const QUERY_PAGE_SIZE: usize = 1_000;

/// Reads a tenant's records: page by page in storage order, or as the
/// answer to an [`EntityQuery`].
#[async_trait]
pub trait EntitySource: Send + Sync {
    /// The page after `cursor` (the first page when `None`), of at most
    /// `limit` records. Pages come in storage order, not in any sort order.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails or the cursor is not one of ours.
    async fn page(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
    ) -> Result<Page, StoreError>;

    /// Whether [`page`](Self::page) takes the shard cursors of
    /// [`keys::encode_cursor`], so a full read can be split by shard (the
    /// bulk worker reads shards side by side). A source without shards
    /// (PostgreSQL) is read as one partition.
    fn shard_cursors(&self) -> bool {
        true
    }

    /// Whether [`query`](Self::query) counts in the store (an index or a
    /// `COUNT` over the filtered rows), not by reading every record out: the
    /// bulk worker counts a contacts export up front only then.
    fn counts_in_store(&self) -> bool {
        false
    }

    /// [`page`](Self::page), each record projected onto `projection`'s row
    /// ([`Projection::project`]). A store that holds records as JSON text
    /// reads the needed fields straight from it.
    ///
    /// # Errors
    /// As [`page`](Self::page).
    async fn page_rows(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        cursor: Option<PageCursor>,
        limit: usize,
        projection: &Projection,
    ) -> Result<RowPage, StoreError> {
        let page = self.page(tenant, entity, cursor, limit).await?;
        Ok(RowPage {
            rows: page.records.iter().map(|r| projection.project(r)).collect(),
            next: page.next,
        })
    }

    /// The rows `q` selects, in its order, cut to its window, with the
    /// total when asked. The default reads every record of the tenant's
    /// entity through [`page_rows`](Self::page_rows) and evaluates the
    /// query in process ([`Collector`]), holding no more rows than the
    /// window needs; a store that can filter and sort overrides it.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn query(&self, tenant: &TenantId, q: &EntityQuery) -> Result<QueryAnswer, StoreError> {
        let mut collector = Collector::new(q);
        scan_pages(self, tenant, q, &mut collector).await?;
        Ok(collector.finish())
    }

    /// The distinct values of the projected field at `index` among the rows
    /// `q`'s conditions select, each with its count, in no particular order.
    /// Empty values (null or blank) count as one `Null`. `q`'s window,
    /// sort and count are ignored.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn count_values(
        &self,
        tenant: &TenantId,
        q: &EntityQuery,
        index: usize,
    ) -> Result<Vec<(Value, u64)>, StoreError> {
        let mut counter = ValueCounter::new(q, index);
        scan_pages(self, tenant, q, &mut counter).await?;
        Ok(counter.finish())
    }
}

/// Pushes every projected row of the tenant's entity, page by page, into
/// `sink`, until the pages end or the sink is done.
async fn scan_pages<S: EntitySource + ?Sized>(
    source: &S,
    tenant: &TenantId,
    q: &EntityQuery,
    sink: &mut dyn RowSink,
) -> Result<(), StoreError> {
    let mut cursor = None;
    loop {
        let page = source
            .page_rows(tenant, q.entity, cursor, QUERY_PAGE_SIZE, &q.projection)
            .await?;
        for row in page.rows {
            sink.push(row);
        }
        match page.next {
            Some(next) if !sink.is_done() => cursor = Some(next),
            _ => return Ok(()),
        }
    }
}

/// One page of projected rows and where the next starts (`None` at the end).
#[derive(Debug, Clone, Default)]
pub struct RowPage {
    pub rows: Vec<Vec<Value>>,
    pub next: Option<PageCursor>,
}

/// A load in progress (`exports-local import`): records are written batch
/// by batch, so memory stays flat in their number, and become visible
/// together when the load is committed. Dropping it uncommitted, or the
/// process dying first, loads nothing where the backend has transactions
/// (SQLite: one transaction); where it has none (DynamoDB) each batch is
/// written as it comes.
#[async_trait]
pub trait RecordLoad: Send {
    /// Adds records to the load (inserting or replacing by id).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; the load is then over and
    /// nothing of it is committed.
    async fn write(&mut self, records: Vec<Record>) -> Result<(), StoreError>;

    /// Makes every record written visible at once; returns how many were
    /// written (repeated ids counted each time).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; nothing is committed then.
    async fn commit(self: Box<Self>) -> Result<u64, StoreError>;

    /// Whether nothing is visible before [`commit`](Self::commit) (one
    /// transaction). When `false`, each batch is visible once written, so a
    /// caller that must not load a bad file checks it whole first.
    fn all_or_nothing(&self) -> bool;
}

/// Writes records (seeding and `exports-local import`).
#[async_trait]
pub trait EntityWriter: Send + Sync {
    /// Inserts or replaces records, in one transaction where the backend has them.
    async fn put_records(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: Vec<Record>,
    ) -> Result<(), StoreError>;

    /// Starts an all-or-nothing load of one tenant's entity (see
    /// [`RecordLoad`]). On SQLite the load holds the database's write lock
    /// until it is committed or dropped.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn begin_load(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Box<dyn RecordLoad + '_>, StoreError>;

    /// Called once after a large load (`exports-local seed` and `import`):
    /// a store refreshes what its queries rely on (SQLite: the planner's
    /// statistics). The default does nothing.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn finish_load(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Per-tenant configuration: settings, custom fields and option lists.
#[async_trait]
pub trait TenantConfigStore: Send + Sync {
    /// The tenant's settings, or the defaults when none are stored.
    async fn settings(&self, tenant: &TenantId) -> Result<TenantSettings, StoreError>;
    async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
    ) -> Result<(), StoreError>;
    /// Custom field definitions of one entity, ordered by key then uuid.
    async fn custom_fields(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Vec<CustomFieldDef>, StoreError>;
    async fn put_custom_field(
        &self,
        tenant: &TenantId,
        def: &CustomFieldDef,
    ) -> Result<(), StoreError>;
    /// One option list, ordered by `sortOrder` then code.
    async fn options(
        &self,
        tenant: &TenantId,
        kind: OptionKind,
    ) -> Result<Vec<ConfigOption>, StoreError>;
    async fn put_option(
        &self,
        tenant: &TenantId,
        kind: OptionKind,
        option: &ConfigOption,
    ) -> Result<(), StoreError>;
}

/// Reference data every tenant shares (TenantConfig `GLOBAL`): industries,
/// countries, cities and phone codes. Not tenant data, so no tenant argument;
/// it is read-only to the APIs.
#[async_trait]
pub trait ReferenceStore: Send + Sync {
    /// Industries, ordered by display name.
    async fn industries(&self) -> Result<Vec<Industry>, StoreError>;
    /// Countries, ordered by common name.
    async fn countries(&self) -> Result<Vec<Country>, StoreError>;
    /// The cities of one country (its alpha-3 code, upper case), ordered by name.
    async fn cities(&self, cca3: &str) -> Result<Vec<City>, StoreError>;
    /// Phone codes, ordered by country name.
    async fn phone_codes(&self) -> Result<Vec<PhoneCode>, StoreError>;
    /// Inserts or replaces every item of `data`; loading twice changes nothing.
    /// Items that are no longer in `data` are left in place.
    async fn put_reference(&self, data: &ReferenceData) -> Result<(), StoreError>;
}

/// Orders a reference list by its display name with the root Unicode
/// collation ([`compare_names`](crate::render::locale::compare_names)), the
/// same way on every backend.
pub fn sort_by_text<T>(items: &mut [T], key: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| crate::render::locale::compare_names(key(a), key(b)));
}

/// A stored export log (`POST /api/v2/contacts/exports`): who asked for
/// which contacts, and when the file was last produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportLog {
    pub id: String,
    /// The user who created the log (`relationships.user`).
    pub user_id: String,
    /// `params` exactly as the client sent it (`filter` as a string or an object).
    pub params: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the file was last produced; the creation time until then.
    pub export_at: DateTime<Utc>,
    /// The client's own last-update time, stored and returned as given.
    pub updated_in_db_at: DateTime<Utc>,
}

/// Export logs, per tenant: `T#{tenant}` / `LOG#{id}` in both backends.
#[async_trait]
pub trait ExportLogStore: Send + Sync {
    /// Stores a new log.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] when the tenant already has a log with that id.
    async fn put_log(&self, tenant: &TenantId, log: &ExportLog) -> Result<(), StoreError>;
    /// The tenant's log `id`, `None` when absent (or another tenant's).
    async fn get_log(&self, tenant: &TenantId, id: &str) -> Result<Option<ExportLog>, StoreError>;
    /// Records that the file was produced at `at` (`export_at` and
    /// `updated_at`), returning the updated log, `None` when absent.
    async fn mark_exported(
        &self,
        tenant: &TenantId,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ExportLog>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_recognised_through_the_error_chain() {
        // GIVEN a backend error wrapping ENOSPC, one wrapping SQLITE_FULL,
        // and one wrapping another I/O failure
        let enospc = StoreError::backend("write file", std::io::Error::from_raw_os_error(28));
        let sqlite_full = StoreError::backend(
            "insert",
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                None,
            ),
        );
        let denied = StoreError::backend(
            "write file",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        // THEN the first two are storage full and the third is not
        assert!(enospc.is_storage_full());
        assert!(sqlite_full.is_storage_full());
        assert!(!denied.is_storage_full());
        assert!(!StoreError::Corrupt("x".into()).is_storage_full());
    }
}
