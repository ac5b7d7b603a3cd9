//! Bulk exports: what a client asked for ([`ExportSpec`]) and the job that
//! produces it ([`BulkJob`]), with its state machine
//! `pending → inProgress → finished | error`, and `pending | inProgress →
//! cancelled` when the client cancels it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportType {
    Contacts,
    Activities,
}

impl ExportType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportType::Contacts => "contacts",
            ExportType::Activities => "activities",
        }
    }
}

/// How dates are written: ISO 8601, or moment.js-style localized formats in
/// the tenant's locale and timezone (`L` = 09/04/1986, `LL` = September 4,
/// 1986, `LLL` = September 4, 1986 8:30 PM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateFormat {
    #[serde(rename = "ISO")]
    Iso,
    L,
    LL,
    LLL,
}

/// The file's column set. `v2` adds custom fields and segment membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ExportVersion {
    #[default]
    V1,
    V2,
}

/// How the file is written: plain CSV, or gzip-compressed CSV (`.csv.gz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
}

impl Compression {
    /// Whether the file is plain CSV (the default, left out of the stored spec).
    pub fn is_none(&self) -> bool {
        *self == Compression::None
    }
}

/// The export's filters, as validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExportFilters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_date: Option<DateTime<Utc>>,
}

/// A validated export request (the seed's ExportCreation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportSpec {
    pub export_type: ExportType,
    pub date_format: DateFormat,
    /// `,` or `;`.
    pub delimiter: char,
    pub version: ExportVersion,
    #[serde(default)]
    pub filters: ExportFilters,
    /// Left out when `none`, so specs stored before it existed hash alike.
    #[serde(default, skip_serializing_if = "Compression::is_none")]
    pub compression: Compression,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobStatus {
    Pending,
    InProgress,
    Finished,
    Error,
    /// Cancelled by the client (`DELETE /exports/{id}`); no file is kept.
    Cancelled,
}

impl JobStatus {
    /// Whether nothing more happens to the job.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Finished | JobStatus::Error | JobStatus::Cancelled
        )
    }
}

/// A worker's claim on a job, valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    pub owner: String,
    pub expires_at: DateTime<Utc>,
}

/// What a finished job produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobOutput {
    /// The file's key in the file store.
    pub file_key: String,
    pub rows: u64,
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    pub finished_at: DateTime<Utc>,
}

/// A bulk export job (Exports table, `T#{tenant}` / `JOB#{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkJob {
    /// A UUIDv7: ids sort by creation time.
    pub id: String,
    pub status: JobStatus,
    pub spec: ExportSpec,
    /// Rows written so far.
    pub progress: u64,
    /// Rows the export holds, once known (set when finished).
    pub total: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lease: Option<Lease>,
    /// How many times a worker claimed the job.
    pub attempts: u32,
    pub output: Option<JobOutput>,
    /// Why the job failed (`status = error`); safe to show to the client.
    pub error: Option<String>,
    /// Bumped on every write; every transition is conditional on it.
    pub version: u64,
    /// When the job may be deleted, in Unix seconds: the Exports table's
    /// `ttl` attribute (creation + the file expiry days). `None` for jobs
    /// stored before it existed: they are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// How many tasks the job was split into, once planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<u32>,
    /// The rows the export will hold, when counted while planning (a
    /// contacts export on a source that counts in the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
}

impl BulkJob {
    /// A new pending job.
    pub fn new(id: String, spec: ExportSpec, now: DateTime<Utc>) -> BulkJob {
        BulkJob {
            id,
            status: JobStatus::Pending,
            spec,
            progress: 0,
            total: None,
            created_at: now,
            updated_at: now,
            lease: None,
            attempts: 0,
            output: None,
            error: None,
            version: 0,
            ttl: None,
            tasks: None,
            expected: None,
        }
    }

    /// A new time-ordered job id (UUIDv7).
    pub fn new_id() -> String {
        uuid::Uuid::now_v7().to_string()
    }
}

/// Where a fan-out task reads: one UTC day of activities, a range of
/// contact shards, or every contact of a source without shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum TaskPartition {
    Day {
        day: chrono::NaiveDate,
    },
    /// Shards `from..to` of `shards`.
    Shards {
        shards: u32,
        from: u32,
        to: u32,
    },
    All,
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskStatus {
    Pending,
    Running,
    Done,
}

/// One stored piece of a task's output: a temporary file of the job,
/// `bulk/{job}/tasks/{task}-{chunk}.part`, at least the part size except
/// the task's last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskChunk {
    pub rows: u64,
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the chunk.
    pub sha256: String,
}

/// Where a task resumes: the partition of its range (an index into the
/// range's partitions) and the source's cursor after the last record of
/// its last stored chunk (`None`: the partition's start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskCursor {
    pub partition: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// One task of a fanned-out job (Exports table, `T#{tenant}` /
/// `TASK#{job}#{index}`): it writes the rows of its partition as chunks,
/// which the job's assembly joins, in task order, into the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkTask {
    pub job_id: String,
    /// 0-based; the file is the tasks' chunks in index order.
    pub index: u32,
    pub partition: TaskPartition,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Claims since the task last stored a chunk: a task that keeps dying
    /// without progress fails its job after [`crate::service::bulk::MAX_ATTEMPTS`].
    pub attempts: u32,
    /// The chunks stored so far, in order.
    pub chunks: Vec<TaskChunk>,
    /// Where to go on after the last chunk.
    pub cursor: TaskCursor,
    /// Runs that handed the task on to a continuation near their deadline.
    #[serde(default)]
    pub continuations: u32,
    /// The rows the task will write, counted when it first started, where
    /// the store can count them (see `docs/bulk-exports.md`, "Progress").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every write; every write is conditional on it.
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

impl BulkTask {
    /// A new pending task.
    pub fn new(job: &BulkJob, index: u32, partition: TaskPartition, now: DateTime<Utc>) -> Self {
        BulkTask {
            job_id: job.id.clone(),
            index,
            partition,
            status: TaskStatus::Pending,
            lease: None,
            attempts: 0,
            chunks: Vec::new(),
            cursor: TaskCursor::default(),
            continuations: 0,
            expected: None,
            updated_at: now,
            version: 0,
            ttl: job.ttl,
        }
    }

    /// Rows in the chunks stored so far.
    pub fn rows(&self) -> u64 {
        self.chunks.iter().map(|c| c.rows).sum()
    }
}

/// How far a fanned-out job's tasks are: `done` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCounts {
    pub done: u32,
    pub total: u32,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Permission {
    /// `POST /exports`, and `DELETE /exports/{id}` (cancel)
    CreateExports,
    /// `GET /exports[/{id}]`
    ReadExports,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::CreateExports => "createExports",
            Permission::ReadExports => "readExports",
        }
    }

    /// Parses `createExports` / `readExports`.
    pub fn parse(s: &str) -> Option<Permission> {
        match s {
            "createExports" => Some(Permission::CreateExports),
            "readExports" => Some(Permission::ReadExports),
            _ => None,
        }
    }
}

/// A stored API key. The key itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// A short public id: the first 12 hex digits of the hash.
    pub id: String,
    pub tenant: crate::model::TenantId,
    pub name: String,
    /// Lower-case hex SHA-256 of the key.
    pub sha256: String,
    pub permissions: Vec<Permission>,
    pub created_at: DateTime<Utc>,
}

impl ApiKey {
    /// A fresh random key (`exk_` and 40 hex digits) and its record.
    pub fn generate(
        tenant: crate::model::TenantId,
        name: impl Into<String>,
        permissions: Vec<Permission>,
        now: DateTime<Utc>,
    ) -> (String, ApiKey) {
        let bytes: [u8; 20] = rand::random();
        let key: String = std::iter::once("exk_".to_string())
            .chain(bytes.iter().map(|b| format!("{b:02x}")))
            .collect();
        let record = ApiKey::for_key(&key, tenant, name, permissions, now);
        (key, record)
    }

    /// The record of a given key.
    pub fn for_key(
        key: &str,
        tenant: crate::model::TenantId,
        name: impl Into<String>,
        permissions: Vec<Permission>,
        now: DateTime<Utc>,
    ) -> ApiKey {
        let sha256 = hash_key(key);
        ApiKey {
            id: sha256[..12].to_string(),
            tenant,
            name: name.into(),
            sha256,
            permissions,
            created_at: now,
        }
    }
}

/// Lower-case hex SHA-256 of an API key.
pub fn hash_key(key: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_settings_use_the_seed_spelling() {
        assert_eq!(
            serde_json::to_string(&JobStatus::InProgress).unwrap(),
            "\"inProgress\""
        );
        assert_eq!(serde_json::to_string(&DateFormat::Iso).unwrap(), "\"ISO\"");
        assert_eq!(serde_json::to_string(&DateFormat::LLL).unwrap(), "\"LLL\"");
        assert_eq!(serde_json::to_string(&ExportVersion::V2).unwrap(), "\"v2\"");
        assert_eq!(
            serde_json::to_string(&JobStatus::Cancelled).unwrap(),
            "\"cancelled\""
        );
        assert_eq!(
            serde_json::to_string(&Compression::Gzip).unwrap(),
            "\"gzip\""
        );
    }

    #[test]
    fn job_ids_sort_by_creation() {
        let a = BulkJob::new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = BulkJob::new_id();
        assert!(a < b, "{a} {b}");
    }

    #[test]
    fn keys_are_random_and_stored_hashed() {
        let t = crate::model::TenantId::new("t1");
        let (k1, r1) = ApiKey::generate(t.clone(), "a", vec![], Utc::now());
        let (k2, _) = ApiKey::generate(t, "b", vec![], Utc::now());
        assert_ne!(k1, k2);
        assert!(k1.starts_with("exk_") && k1.len() == 44);
        assert_eq!(r1.sha256, hash_key(&k1));
        assert_eq!(r1.id, &r1.sha256[..12]);
        assert!(!serde_json::to_string(&r1).unwrap().contains(&k1));
    }
}
