//! One task of a fanned-out bulk job: read its partition from where its
//! last stored chunk ended, write the rows as chunks of at least the part
//! size (cut at page boundaries, so the chunks are the same whichever
//! worker writes them and however often the task was handed on), store
//! each chunk as a temporary file of the job and record it with the cursor
//! after it. A task that starts for the first time counts the rows it
//! will write, where the store can (the job's `total`). After each chunk
//! the task looks at its job (a cancelled job stops it) and at its
//! deadline (near it, the task hands itself on to a continuation message).

use super::chunk::ChunkWriter;
use super::columns::{columns, CellWriter};
use super::lease as jobs;
use super::rows::TaskRows;
use super::{source, WorkerDeps, WorkerError};
use crate::model::bulk::{BulkJob, BulkTask, ExportType, ExportVersion, JobStatus, TaskChunk};
use crate::model::{EntityKind, OptionKind, TenantId};
use crate::render::moment::MomentFormatter;
use crate::store::files::{FileKey, FileMeta, FileStore};
use crate::store::StoreError;
use std::sync::Arc;
use std::time::Instant;

/// How a task's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TaskEnd {
    /// Every row is in a stored chunk.
    Done,
    /// Near the deadline: the task stopped after a stored chunk.
    HandedOn,
    /// The job ended meanwhile (cancelled, or failed by another task).
    Stopped(JobStatus),
}

/// The temporary file of chunk `chunk` of task `index`.
///
/// # Errors
/// When the job id cannot be part of a key.
pub(super) fn chunk_key(
    tenant: &TenantId,
    job_id: &str,
    index: u32,
    chunk: usize,
) -> Result<FileKey, StoreError> {
    FileKey::new(
        tenant,
        &format!("bulk/{job_id}/tasks"),
        &format!("{index:05}-{chunk:05}.part"),
    )
}

/// Removes the task's chunks, and the one a run may have stored without
/// recording it before it died (chunk keys are deterministic, so at most
/// one such file per task).
pub(super) async fn delete_chunks(files: &dyn FileStore, tenant: &TenantId, task: &BulkTask) {
    for chunk in 0..=task.chunks.len() {
        let deleted = match chunk_key(tenant, &task.job_id, task.index, chunk) {
            Ok(key) => files.delete(&key).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            tracing::warn!(error = ?e, job = %task.job_id, task = task.index, chunk, "deleting a chunk failed");
        }
    }
}

/// Writes the task's rows from its cursor on.
///
/// # Errors
/// [`WorkerError::Invalid`] when the account's settings make the export
/// impossible; [`WorkerError::LeaseLost`] when another worker took the
/// task; the store's and the writer's errors.
pub(super) async fn write_task(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job: &BulkJob,
    task: &mut BulkTask,
    owner: &str,
    deadline: Option<Instant>,
) -> Result<TaskEnd, WorkerError> {
    let spec = &job.spec;
    let settings = deps.config.settings(tenant).await?;
    let dates = MomentFormatter::new(
        spec.date_format,
        settings.locale.as_deref(),
        settings.timezone.as_deref(),
    )
    .map_err(|e| WorkerError::Invalid(format!("The account's locale settings are invalid: {e}")))?;
    let custom = match (spec.export_type, spec.version) {
        (ExportType::Contacts, ExportVersion::V2) => {
            deps.config
                .custom_fields(tenant, EntityKind::Contacts)
                .await?
        }
        _ => Vec::new(),
    };
    let segments = deps
        .config
        .options(tenant, OptionKind::Segments)
        .await?
        .into_iter()
        .map(|o| (o.code, o.display_name))
        .collect();
    let part_bytes = deps.part_bytes.max(deps.min_part_bytes);
    let cols = columns(spec.export_type, spec.version, &custom);
    let rows = Arc::new(TaskRows::new(spec, &cols));
    let mut out = ChunkWriter::new(
        cols,
        rows.columns.clone(),
        CellWriter { dates, segments },
        spec.delimiter as u8,
        spec.compression,
        part_bytes + 64 * 1024,
    );
    if task.index == 0 && task.chunks.is_empty() {
        out.header()?;
    }
    if task.expected.is_none() {
        if let Some(n) = source::expected_task_rows(deps, tenant, &rows, task.partition).await? {
            if !jobs::record_expected(deps.jobs.as_ref(), tenant, task, owner, n).await? {
                return Err(WorkerError::LeaseLost);
            }
        }
    }
    let mut pages = source::open(deps, tenant, task.partition, &task.cursor, rows.clone());
    let mut cursor = task.cursor.clone();
    let mut heartbeat = Instant::now();
    while let Some(page) = pages.next().await {
        let (page, after) = page?;
        for row in page.iter().filter(|r| rows.keep(r)) {
            out.row(row)?;
        }
        cursor = after;
        if out.len()? >= part_bytes {
            store_chunk(deps, tenant, task, owner, &mut out, cursor.clone()).await?;
            heartbeat = Instant::now();
            if let Some(status) = ended(deps, tenant, &job.id).await? {
                return Ok(TaskEnd::Stopped(status));
            }
            if deadline.is_some_and(|d| Instant::now() + deps.deadline_margin >= d) {
                return Ok(TaskEnd::HandedOn);
            }
        } else if heartbeat.elapsed() >= deps.progress_every {
            // A slow source: keep the lease while a chunk fills.
            heartbeat = Instant::now();
            if !jobs::extend_task(deps.jobs.as_ref(), tenant, task, owner, deps.lease).await? {
                return Err(WorkerError::LeaseLost);
            }
        }
    }
    if !out.is_empty() {
        store_chunk(deps, tenant, task, owner, &mut out, cursor).await?;
    }
    if let Some(status) = ended(deps, tenant, &job.id).await? {
        return Ok(TaskEnd::Stopped(status));
    }
    if !jobs::finish_task(deps.jobs.as_ref(), tenant, task, owner, chrono::Utc::now()).await? {
        return Err(WorkerError::LeaseLost);
    }
    Ok(TaskEnd::Done)
}

/// Stores the current chunk and records it with the cursor after it.
async fn store_chunk(
    deps: &WorkerDeps,
    tenant: &TenantId,
    task: &mut BulkTask,
    owner: &str,
    out: &mut ChunkWriter,
    cursor: crate::model::bulk::TaskCursor,
) -> Result<(), WorkerError> {
    let (bytes, rows) = out.take()?;
    let key = chunk_key(tenant, &task.job_id, task.index, task.chunks.len())?;
    let meta = FileMeta {
        content_type: "application/octet-stream".into(),
        content_disposition: crate::render::attachment(key.file_name()),
    };
    let stored = deps.files.put(&key, bytes, &meta).await?;
    let chunk = TaskChunk {
        rows,
        bytes: stored.bytes,
        sha256: stored.sha256,
    };
    if jobs::commit_chunk(
        deps.jobs.as_ref(),
        tenant,
        task,
        owner,
        chunk,
        cursor,
        deps.lease,
    )
    .await?
    {
        Ok(())
    } else {
        Err(WorkerError::LeaseLost)
    }
}

/// The job's status when it has ended (read afresh), else `None`.
pub(super) async fn ended(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job_id: &str,
) -> Result<Option<JobStatus>, StoreError> {
    Ok(match deps.jobs.get_job(tenant, job_id).await? {
        Some(j) if j.status.is_final() => Some(j.status),
        Some(_) => None,
        None => Some(JobStatus::Cancelled),
    })
}
