//! The bulk export worker's job runner, [`run_job`]: claim the job with a
//! lease, read the rows (contact shards, or one query per UTC day of the
//! activities window, several partitions in parallel), filter them, write CSV
//! (gzip-compressed as it streams when the export asks) into a multipart
//! upload in parts of at least 5 MiB, report progress, and finish the job
//! with rows, bytes and sha256 of the file as stored. Memory is bounded by
//! the part size and a few pages per partition in flight, whatever the row
//! count. A job cancelled meanwhile is seen at the next part: the upload is
//! aborted and nothing is kept.
//!
//! [`run_delivery`] knows which delivery of its message a run is: when the
//! last one a queue allows fails, the job becomes `error` with a safe
//! message and the message is acknowledged, instead of the message going to
//! a dead-letter queue and the job staying `inProgress` forever.

pub mod columns;
pub mod create;
pub mod lease;
mod recovery;
mod source;

pub use recovery::release_dead_leases;

use crate::model::bulk::{BulkJob, Compression, ExportType, JobOutput, JobStatus};
use crate::model::{EntityKind, OptionKind, Record, TenantId};
use crate::render::moment::MomentFormatter;
use crate::store::bulk::{ActivityStore, BulkJobStore};
use crate::store::files::{FileKey, FileMeta, FileStore, MultipartUpload, MIN_PART_BYTES};
use crate::store::queue::JobMessage;
use crate::store::{EntitySource, StoreError, TenantConfigStore};
use chrono::Utc;
use columns::{columns, segment_field, CellWriter};
use lease::{self as jobs, Claim};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// After this many claims a job is marked `error` instead of retried.
pub const MAX_ATTEMPTS: u32 = 5;

/// Deliveries of a message before the queue gives up on it: the template's
/// redrive `maxReceiveCount`, and the local worker's limit.
pub const DEFAULT_MAX_RECEIVES: u32 = 5;

/// The job's `error` when its last allowed attempt failed on storage (a
/// file that cannot be written, a store that fails). Safe to show: the
/// cause is only logged.
pub const STORAGE_FAILED: &str =
    "The export could not be written: storage failed. Create the export again.";

/// The job's `error` when it was claimed too often, or its last delivery
/// died with its worker.
pub const FAILED_REPEATEDLY: &str = "The export failed repeatedly; create it again";

/// Which delivery of its message a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// 1 on the first delivery (SQS `ApproximateReceiveCount`).
    pub receive_count: u32,
    /// Deliveries the queue allows before it dead-letters the message.
    pub max_receives: u32,
}

impl Delivery {
    /// A delivery with no limit: a failed run is always left to a retry
    /// (`exports-local bulk-run`, tests, the benchmark).
    pub const UNLIMITED: Delivery = Delivery {
        receive_count: 1,
        max_receives: u32::MAX,
    };

    /// Whether no delivery comes after this one.
    pub fn is_last(&self) -> bool {
        self.receive_count >= self.max_receives
    }
}

/// What the runner needs.
#[derive(Clone)]
pub struct WorkerDeps {
    pub jobs: Arc<dyn BulkJobStore>,
    pub entities: Arc<dyn EntitySource>,
    pub activities: Arc<dyn ActivityStore>,
    pub config: Arc<dyn TenantConfigStore>,
    pub files: Arc<dyn FileStore>,
    /// How long a claim lasts without progress.
    pub lease: chrono::Duration,
    /// Upload part size (at least [`MIN_PART_BYTES`]).
    pub part_bytes: usize,
    /// Records per read.
    pub page_size: usize,
    /// Partitions read at once.
    pub parallelism: usize,
    /// Least time between two progress writes.
    pub progress_every: Duration,
}

impl WorkerDeps {
    /// Defaults: 2-minute lease, 8 MiB parts, 500-record pages, 4 partitions
    /// at once, progress every 2 seconds.
    pub fn new(
        jobs: Arc<dyn BulkJobStore>,
        entities: Arc<dyn EntitySource>,
        activities: Arc<dyn ActivityStore>,
        config: Arc<dyn TenantConfigStore>,
        files: Arc<dyn FileStore>,
    ) -> Self {
        WorkerDeps {
            jobs,
            entities,
            activities,
            config,
            files,
            lease: chrono::Duration::minutes(2),
            part_bytes: 8 * 1024 * 1024,
            page_size: 500,
            parallelism: 4,
            progress_every: Duration::from_secs(2),
        }
    }
}

/// What happened to a message.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// This run wrote the file.
    Finished(BulkJob),
    /// The job was finished or failed before (a redelivery): nothing done.
    AlreadyDone,
    /// The job was marked `error` (a permanent failure).
    Failed(BulkJob),
    /// No such job (e.g. expired): nothing to do.
    Missing,
    /// The job was cancelled while this run wrote it: the upload was
    /// aborted, no file is left.
    Cancelled,
}

/// Why a run did not complete. The message should be retried.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("another worker holds the job's lease")]
    Busy,
    #[error("the lease was lost while running")]
    LeaseLost,
    #[error("the job was cancelled while running")]
    Cancelled,
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("writing the CSV failed")]
    Csv(#[from] csv::Error),
    #[error("compressing the file failed")]
    Compress(#[from] std::io::Error),
}

/// Runs one job message with no delivery limit (see [`run_delivery`]).
///
/// # Errors
/// As [`run_delivery`].
pub async fn run_job(deps: &WorkerDeps, msg: &JobMessage) -> Result<JobOutcome, WorkerError> {
    run_delivery(deps, msg, Delivery::UNLIMITED).await
}

/// Runs one delivery of a job message. Finished and failed jobs are left
/// alone, so a redelivered message is a no-op; a job another worker holds
/// is `Busy`. When the run fails and `delivery` is the last one the queue
/// allows, the job becomes `error` with [`STORAGE_FAILED`] (the cause is
/// logged) and the outcome is [`JobOutcome::Failed`], so the message is
/// acknowledged; a delivery past the last one (its predecessor died with
/// its worker) fails the job with [`FAILED_REPEATEDLY`] without running it.
///
/// # Errors
/// [`WorkerError`] when the message should be retried (the upload is
/// aborted and the lease released first).
pub async fn run_delivery(
    deps: &WorkerDeps,
    msg: &JobMessage,
    delivery: Delivery,
) -> Result<JobOutcome, WorkerError> {
    let owner = uuid::Uuid::new_v4().to_string();
    let tenant = &msg.tenant;
    let now = Utc::now();
    let mut job = match jobs::claim(
        deps.jobs.as_ref(),
        tenant,
        &msg.job_id,
        &owner,
        now,
        deps.lease,
    )
    .await?
    {
        Claim::Claimed(job) => job,
        Claim::Done(_) => return Ok(JobOutcome::AlreadyDone),
        Claim::Busy(_) => return Err(WorkerError::Busy),
        Claim::Missing => {
            tracing::warn!(tenant = %tenant, job = %msg.job_id, "job message for an unknown job");
            return Ok(JobOutcome::Missing);
        }
    };
    tracing::info!(tenant = %tenant, job = %job.id, attempt = job.attempts, receive = delivery.receive_count, "job claimed");
    if job.attempts > MAX_ATTEMPTS || delivery.receive_count > delivery.max_receives {
        return give_up(deps, tenant, &mut job, &owner, FAILED_REPEATEDLY).await;
    }
    match attempt(deps, tenant, &mut job, &owner).await {
        Ok(outcome) => Ok(outcome),
        Err(WorkerError::Cancelled) => {
            tracing::info!(tenant = %tenant, job = %job.id, "job cancelled; its upload was aborted");
            Ok(JobOutcome::Cancelled)
        }
        Err(WorkerError::LeaseLost) => Err(WorkerError::LeaseLost),
        Err(e) if delivery.is_last() => {
            tracing::error!(tenant = %tenant, job = %job.id, error = ?e, receive = delivery.receive_count,
                "the job's last allowed attempt failed; marking it error");
            give_up(deps, tenant, &mut job, &owner, STORAGE_FAILED).await
        }
        Err(e) => {
            release(deps, tenant, &mut job, &owner).await;
            Err(e)
        }
    }
}

/// One run of a claimed job: write the file, complete it, finish the job.
/// On an error the upload is aborted (the caller decides about the lease).
async fn attempt(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
) -> Result<JobOutcome, WorkerError> {
    let settings = deps.config.settings(tenant).await?;
    let dates = match MomentFormatter::new(
        job.spec.date_format,
        settings.locale.as_deref(),
        settings.timezone.as_deref(),
    ) {
        Ok(f) => f,
        Err(e) => {
            let message = format!("The account's locale settings are invalid: {e}");
            return give_up(deps, tenant, job, owner, &message).await;
        }
    };
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
    let written = match write_file(deps, tenant, job, owner, dates, upload.as_mut()).await {
        // A cancel that came after the last part is seen before the file
        // becomes visible.
        Ok(rows) => match cancelled(deps, tenant, job).await {
            Ok(false) => Ok(rows),
            Ok(true) => Err(WorkerError::Cancelled),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match written {
        Ok(rows) => {
            let stored = upload.complete().await?;
            let output = JobOutput {
                file_key: stored.key.as_str().to_string(),
                rows,
                bytes: stored.bytes,
                sha256: stored.sha256,
                finished_at: Utc::now(),
            };
            if jobs::finish(deps.jobs.as_ref(), tenant, job, owner, output).await? {
                tracing::info!(tenant = %tenant, job = %job.id, rows, "job finished");
                Ok(JobOutcome::Finished(job.clone()))
            } else if cancelled(deps, tenant, job).await? {
                // Cancelled between the check and the finish: the file goes.
                deps.files.delete(&stored.key).await?;
                Err(WorkerError::Cancelled)
            } else {
                Err(WorkerError::LeaseLost)
            }
        }
        Err(e) => {
            if let Err(abort) = upload.abort().await {
                tracing::error!(error = ?abort, job = %job.id, "aborting the upload failed");
            }
            Err(e)
        }
    }
}

/// Whether the job has been cancelled (read afresh).
async fn cancelled(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job: &BulkJob,
) -> Result<bool, WorkerError> {
    Ok(deps
        .jobs
        .get_job(tenant, &job.id)
        .await?
        .is_some_and(|j| j.status == JobStatus::Cancelled))
}

/// The error of a lost lease: [`WorkerError::Cancelled`] when the job was
/// cancelled (which takes the lease), else [`WorkerError::LeaseLost`].
async fn lost(deps: &WorkerDeps, tenant: &TenantId, job: &BulkJob) -> WorkerError {
    match cancelled(deps, tenant, job).await {
        Ok(true) => WorkerError::Cancelled,
        Ok(false) => WorkerError::LeaseLost,
        Err(e) => e,
    }
}

async fn give_up(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    message: &str,
) -> Result<JobOutcome, WorkerError> {
    if jobs::fail(deps.jobs.as_ref(), tenant, job, owner, message, Utc::now()).await? {
        tracing::warn!(tenant = %tenant, job = %job.id, message, "job failed");
        Ok(JobOutcome::Failed(job.clone()))
    } else {
        Err(WorkerError::LeaseLost)
    }
}

/// Gives the lease up (expires it now), so a retry need not wait for it.
async fn release(deps: &WorkerDeps, tenant: &TenantId, job: &mut BulkJob, owner: &str) {
    let now = Utc::now();
    let r = jobs::report_progress(
        deps.jobs.as_ref(),
        tenant,
        job,
        owner,
        job.progress,
        now,
        chrono::Duration::zero(),
    )
    .await;
    if let Err(e) = r {
        tracing::warn!(error = ?e, job = %job.id, "releasing the lease failed");
    }
}

/// Streams the rows into the upload; returns how many were written.
async fn write_file(
    deps: &WorkerDeps,
    tenant: &TenantId,
    job: &mut BulkJob,
    owner: &str,
    dates: MomentFormatter,
    upload: &mut dyn MultipartUpload,
) -> Result<u64, WorkerError> {
    let spec = job.spec.clone();
    let custom = match (spec.export_type, spec.version) {
        (ExportType::Contacts, crate::model::bulk::ExportVersion::V2) => {
            deps.config
                .custom_fields(tenant, EntityKind::Contacts)
                .await?
        }
        _ => Vec::new(),
    };
    let cols = columns(spec.export_type, spec.version, &custom);
    let segments = deps
        .config
        .options(tenant, OptionKind::Segments)
        .await?
        .into_iter()
        .map(|o| (o.code, o.display_name))
        .collect();
    let cells = CellWriter { dates, segments };
    let part_bytes = deps.part_bytes.max(MIN_PART_BYTES);
    let builder = {
        let mut b = csv::WriterBuilder::new();
        b.delimiter(spec.delimiter as u8)
            .terminator(csv::Terminator::CRLF);
        b
    };
    let part_capacity = part_bytes + 64 * 1024;
    let mut csv = builder.from_writer(PartWriter::new(
        spec.compression,
        Vec::with_capacity(part_capacity),
    ));
    csv.write_record(cols.iter().map(|c| c.header.as_str()))?;
    let mut pages = source::open(deps, tenant, &spec).await?;
    let keep = filter_for(&spec);
    let mut rows: u64 = 0;
    let mut cell = String::new();
    let mut record_cells: Vec<String> = vec![String::new(); cols.len()];
    let mut last_progress = Instant::now();
    while let Some(page) = pages.next().await {
        for record in page? {
            if !keep(&record) {
                continue;
            }
            for (c, slot) in cols.iter().zip(record_cells.iter_mut()) {
                cells.write(c, &record, &mut cell);
                slot.clone_from(&cell);
            }
            csv.write_record(&record_cells)?;
            rows += 1;
            if csv.get_ref().len() >= part_bytes {
                // One part buffer for the whole file (and one compressor):
                // hand the bytes to the store, then write the next part into
                // the same allocation (fresh 8 MiB buffers per part grew the
                // heap with the row count).
                // (An empty Vec allocates nothing.)
                let full =
                    std::mem::replace(&mut csv, builder.from_writer(PartWriter::Plain(Vec::new())));
                let mut writer = into_writer(full)?;
                upload.put_part(writer.part()).await?;
                writer.part().clear();
                writer.part().reserve(part_capacity);
                csv = builder.from_writer(writer);
                // A cancelled job stops at its next part.
                if cancelled(deps, tenant, job).await? {
                    return Err(WorkerError::Cancelled);
                }
            }
        }
        if last_progress.elapsed() >= deps.progress_every {
            last_progress = Instant::now();
            let ok = jobs::report_progress(
                deps.jobs.as_ref(),
                tenant,
                job,
                owner,
                rows,
                Utc::now(),
                deps.lease,
            )
            .await?;
            if !ok {
                return Err(lost(deps, tenant, job).await);
            }
        }
    }
    let mut last = into_writer(csv)?.finish()?;
    upload.put_part(&mut last).await?;
    Ok(rows)
}

fn into_writer(csv: csv::Writer<PartWriter>) -> Result<PartWriter, WorkerError> {
    csv.into_inner()
        .map_err(|e| WorkerError::Csv(csv::Error::from(e.into_error())))
}

/// Where the CSV goes: the current part's bytes, written as they come or
/// gzip-compressed as they stream (one compressor for the whole file, so
/// the parts join into one gzip member).
enum PartWriter {
    Plain(Vec<u8>),
    Gzip(Box<flate2::write::GzEncoder<Vec<u8>>>),
}

impl PartWriter {
    fn new(compression: Compression, buffer: Vec<u8>) -> Self {
        match compression {
            Compression::None => PartWriter::Plain(buffer),
            Compression::Gzip => PartWriter::Gzip(Box::new(flate2::write::GzEncoder::new(
                buffer,
                flate2::Compression::default(),
            ))),
        }
    }

    /// The bytes of the part so far (compressed, with gzip).
    fn len(&self) -> usize {
        match self {
            PartWriter::Plain(v) => v.len(),
            PartWriter::Gzip(e) => e.get_ref().len(),
        }
    }

    /// The part's buffer, to hand to the store and clear.
    fn part(&mut self) -> &mut Vec<u8> {
        match self {
            PartWriter::Plain(v) => v,
            PartWriter::Gzip(e) => e.get_mut(),
        }
    }

    /// The last part: what is left, with the gzip trailer.
    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            PartWriter::Plain(v) => Ok(v),
            PartWriter::Gzip(e) => (*e).finish(),
        }
    }
}

impl std::io::Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            PartWriter::Plain(v) => v.write(buf),
            PartWriter::Gzip(e) => e.write(buf),
        }
    }

    /// Nothing to flush: the bytes are in the part already, and a gzip
    /// sync flush per part would only cost compression (the parts are
    /// joined in order anyway).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The filter of an export: segment membership, and for activities the
/// types and the window `[fromDate, toDate)`.
fn filter_for(spec: &crate::model::bulk::ExportSpec) -> impl Fn(&Record) -> bool {
    let segment = spec.filters.segment_id.clone();
    let seg_field = segment_field(spec.export_type);
    let types = spec
        .filters
        .activity_types
        .clone()
        .filter(|t| !t.is_empty());
    let window = match spec.export_type {
        ExportType::Activities => spec.filters.from_date.zip(spec.filters.to_date),
        ExportType::Contacts => None,
    };
    move |r: &Record| {
        if let Some(s) = &segment {
            if r.get(seg_field).as_str() != Some(s.as_str()) {
                return false;
            }
        }
        if let Some(types) = &types {
            let t = r.get("activityType").as_str().unwrap_or_default();
            if !types.iter().any(|x| x == t) {
                return false;
            }
        }
        if let Some((from, to)) = window {
            match r
                .get("occurredAt")
                .as_str()
                .and_then(crate::model::value::parse_datetime_utc)
            {
                Some(at) if at >= from && at < to => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn gzip_parts_taken_mid_stream_join_into_one_member_of_the_whole_file() {
        // GIVEN a gzip part writer fed 200,000 CSV lines
        let mut writer = PartWriter::new(Compression::Gzip, Vec::new());
        let mut plain = Vec::new();
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for i in 0..200_000 {
            let line = format!("c-{i:07},Zoë {i},{}\r\n", i * 7 % 1_000);
            writer.write_all(line.as_bytes()).expect("write");
            plain.extend_from_slice(line.as_bytes());
            // WHEN parts are taken whenever 64 KiB of output is pending,
            // the buffer cleared and reused
            if writer.len() >= 64 * 1024 {
                parts.push(writer.part().clone());
                writer.part().clear();
            }
        }
        parts.push(writer.finish().expect("finish"));
        // THEN there were several parts, and joined they are one gzip
        // member that decompresses to exactly the lines written
        assert!(parts.len() > 3, "{} parts", parts.len());
        let joined: Vec<u8> = parts.concat();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&joined[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        assert!(out == plain, "the decompressed bytes differ");
        assert!(
            joined.len() * 3 < plain.len(),
            "{} of {}",
            joined.len(),
            plain.len()
        );
    }

    #[test]
    fn a_plain_part_writer_passes_bytes_through() {
        let mut writer = PartWriter::new(Compression::None, Vec::new());
        writer.write_all(b"a,b\r\n").expect("write");
        assert_eq!(writer.len(), 5);
        assert_eq!(writer.part().as_slice(), b"a,b\r\n");
        writer.part().clear();
        writer.write_all(b"c\r\n").expect("write");
        assert_eq!(writer.finish().expect("finish"), b"c\r\n");
    }
}
