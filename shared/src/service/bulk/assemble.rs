//! Joining a fanned-out job's chunks into its one file, in task order, once
//! its last task is done. S3 wants every part but the last to hold at least
//! 5 MiB, and a task's last chunk is usually smaller. So a chunk of at least
//! the minimum is copied inside the store as a whole part (`UploadPartCopy`;
//! its bytes are not uploaded again), and smaller ones are read and merged
//! with their neighbours: a buffer collects them, topped up from the start
//! of the next large chunk, whose rest is then copied. The buffer stays
//! under three minimum parts. The file's size and sha256 are the store's,
//! over every byte in order, as for a file written by one worker.

use super::lease::{self as jobs, Claim};
use super::task::{chunk_key, delete_chunks};
use super::{cancelled, Delivery, JobOutcome, WorkerDeps, WorkerError, STORAGE_FAILED};
use crate::model::bulk::{BulkJob, BulkTask, Compression, JobOutput, TaskStatus};
use crate::model::TenantId;
use crate::store::files::{FileKey, FileMeta, MultipartUpload};
use chrono::Utc;

/// Assembles the job's file under the job's lease and finishes the job.
///
/// # Errors
/// [`WorkerError::Busy`] when another worker is assembling (this message is
/// retried, and sees the job finished then); the store's errors, after the
/// upload was aborted and the lease released.
pub(super) async fn assemble(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job_id: &str,
    owner: &str,
    delivery: Delivery,
) -> Result<JobOutcome, WorkerError> {
    let mut job = match jobs::claim_assembly(
        deps.jobs.as_ref(),
        tenant,
        job_id,
        owner,
        Utc::now(),
        deps.lease,
    )
    .await?
    {
        Claim::Claimed(job) => job,
        Claim::Done(_) => return Ok(JobOutcome::AlreadyDone),
        Claim::Busy(_) => return Err(WorkerError::Busy),
        Claim::Missing => return Ok(JobOutcome::Missing),
    };
    let tasks = deps.jobs.list_tasks(tenant, job_id).await?;
    let planned = job.tasks.unwrap_or_default() as usize;
    if tasks.len() != planned || tasks.iter().any(|t| t.status != TaskStatus::Done) {
        // Not every task is done after all (a stale count): nothing to do
        // until the last one is.
        super::release(deps, tenant, &mut job, owner).await;
        return Ok(JobOutcome::TaskDone);
    }
    match write(deps, tenant, &mut job, owner, &tasks).await {
        Ok(outcome) => {
            for task in &tasks {
                delete_chunks(deps.files.as_ref(), tenant, task).await;
            }
            Ok(outcome)
        }
        Err(WorkerError::Cancelled) => {
            for task in &tasks {
                delete_chunks(deps.files.as_ref(), tenant, task).await;
            }
            Ok(JobOutcome::Cancelled)
        }
        Err(WorkerError::LeaseLost) => Err(WorkerError::LeaseLost),
        Err(e) if delivery.is_last() => {
            tracing::error!(tenant = %tenant, job = %job.id, error = ?e,
                "the assembly's last allowed attempt failed; marking the job error");
            let failed = super::give_up(deps, tenant, &mut job, owner, STORAGE_FAILED).await;
            for task in &tasks {
                delete_chunks(deps.files.as_ref(), tenant, task).await;
            }
            failed
        }
        Err(e) => {
            super::release(deps, tenant, &mut job, owner).await;
            Err(e)
        }
    }
}

/// Writes the file and finishes the job.
async fn write(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    tasks: &[BulkTask],
) -> Result<JobOutcome, WorkerError> {
    let gzip = job.spec.compression == Compression::Gzip;
    let name = format!(
        "{}_{}.csv{}",
        job.spec.export_type.as_str(),
        job.created_at.format("%Y%m%d-%H%M%S"),
        if gzip { ".gz" } else { "" }
    );
    let key = FileKey::new(tenant, &format!("bulk/{}", job.id), &name)?;
    let meta = FileMeta {
        content_type: if gzip {
            "application/gzip".into()
        } else {
            "text/csv; charset=utf-8".into()
        },
        content_disposition: crate::render::attachment(&name),
    };
    let mut upload = deps.files.start_upload(&key, &meta).await?;
    let joined = match join(deps, tenant, tasks, upload.as_mut()).await {
        // A cancel that came meanwhile is seen before the file is visible.
        Ok(()) => match cancelled(deps, tenant, &job.id).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(WorkerError::Cancelled),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    if let Err(e) = joined {
        if let Err(abort) = upload.abort().await {
            tracing::error!(error = ?abort, job = %job.id, "aborting the upload failed");
        }
        return Err(e);
    }
    let stored = upload.complete().await?;
    let rows = tasks.iter().map(BulkTask::rows).sum();
    let output = JobOutput {
        file_key: stored.key.as_str().to_string(),
        rows,
        bytes: stored.bytes,
        sha256: stored.sha256,
        finished_at: Utc::now(),
    };
    if jobs::finish(deps.jobs.as_ref(), tenant, job, owner, output).await? {
        tracing::info!(tenant = %tenant, job = %job.id, rows, tasks = tasks.len(), "job finished");
        Ok(JobOutcome::Finished(job.clone()))
    } else if cancelled(deps, tenant, &job.id).await? {
        // Cancelled between the check and the finish: the file goes.
        deps.files.delete(&stored.key).await?;
        Err(WorkerError::Cancelled)
    } else {
        Err(WorkerError::LeaseLost)
    }
}

/// Appends every chunk, in order, to the upload.
async fn join(
    deps: &WorkerDeps,
    tenant: &TenantId,
    tasks: &[BulkTask],
    upload: &mut dyn MultipartUpload,
) -> Result<(), WorkerError> {
    let min = deps.min_part_bytes as u64;
    let mut pending: Vec<u8> = Vec::new();
    let mut parts = 0usize;
    for task in tasks {
        for (n, chunk) in task.chunks.iter().enumerate() {
            let key = chunk_key(tenant, &task.job_id, task.index, n)?;
            let size = chunk.bytes;
            if pending.is_empty() && size >= min {
                upload.copy_part(&key, 0, size).await?;
                parts += 1;
                continue;
            }
            let need = min.saturating_sub(pending.len() as u64);
            if size >= need + min {
                // Top the buffer up to a part from the chunk's start; copy
                // the rest.
                read_into(deps, &key, need, &mut pending).await?;
                upload.put_part(&mut pending).await?;
                pending.clear();
                upload.copy_part(&key, need, size - need).await?;
                parts += 2;
            } else {
                read_into(deps, &key, size, &mut pending).await?;
                if pending.len() as u64 >= min {
                    upload.put_part(&mut pending).await?;
                    pending.clear();
                    parts += 1;
                }
            }
        }
    }
    // The last part may be small (or, for an empty file, empty).
    if !pending.is_empty() || parts == 0 {
        upload.put_part(&mut pending).await?;
    }
    Ok(())
}

/// Appends the first `len` bytes of `key` to `buf`.
async fn read_into(
    deps: &WorkerDeps,
    key: &FileKey,
    len: u64,
    buf: &mut Vec<u8>,
) -> Result<(), WorkerError> {
    let bytes = deps.files.read_range(key, 0, len).await?;
    if bytes.len() as u64 != len {
        return Err(WorkerError::Store(crate::store::StoreError::Corrupt(
            format!(
                "chunk {} holds {} bytes, {len} expected",
                key.as_str(),
                bytes.len()
            ),
        )));
    }
    buf.extend_from_slice(&bytes);
    Ok(())
}
