//! W6: a bulk export fanned out over worker processes. A tenant with
//! 10,000,000 activities spread over 31 UTC days (one task per day) is
//! exported as one CSV job by 1, 2 and 4 worker processes that share the
//! SQLite queue, as Lambda invocations share the SQS queue: each process
//! receives one message at a time (the job's, which plans and queues the
//! tasks, or one task's), runs it through the worker function's own
//! `process`, and acknowledges it. The wall time runs from the job's
//! creation to the last worker's exit, once the job is final.
//!
//! Each worker is its own child process, so its peak RSS is its own. The
//! finished file is re-read by the parent (not timed): its SHA-256 must be
//! the job's and the same for every worker count, and it must hold every
//! activity of the window exactly once. The seeded store is kept between
//! runs (`<out-dir>/w6-store-N`); seeding 10M activities takes minutes.

use crate::measure::{median, own_peak_rss_kb, run_child, ChildReport, Sample};
use crate::Res;
use exports_local::activities::{self, Span, FIRST_DAY};
use exports_local::generate::{self, Counts};
use exports_shared::model::bulk::JobStatus;
use exports_shared::model::TenantId;
use exports_shared::service::bulk::create::{BulkExports, Creation};
use exports_shared::store::bulk::BulkJobStore;
use exports_shared::store::embedded::{EmbeddedFiles, EmbeddedStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The tenant whose activities W6 exports.
pub const W6_TENANT: &str = "be0c4be0-0000-4000-8000-0000000000b6";
/// Days of activities, all inside the job's window.
const DAYS: i64 = 31;
/// The job: every activity of the 31 days, v1 columns, ISO dates.
const BODY: &str = r#"{"exportType":"activities","dateFormat":"ISO","delimiter":",","filters":{"fromDate":"2026-09-01T00:00:00Z","toDate":"2026-10-02T00:00:00Z"}}"#;
/// The seed of the generated contacts and activities.
const SEED: u64 = 6;
/// How long a received message stays hidden: longer than any task here.
const VISIBILITY: Duration = Duration::from_secs(900);

/// One W6 run: `workers` processes, one job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutRun {
    pub workers: usize,
    /// Job creation to the last worker's exit.
    pub seconds: f64,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    /// Each worker's peak RSS (KiB).
    pub peak_rss_kb: Vec<u64>,
    /// Messages each worker ran.
    pub messages: Vec<u64>,
}

/// The runs of one worker count, and the median.
#[derive(Debug, Clone)]
pub struct FanoutCase {
    pub activities: u64,
    pub workers: usize,
    pub runs: Vec<FanoutRun>,
}

impl FanoutCase {
    /// The median wall time of the runs.
    pub fn seconds(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.seconds).collect::<Vec<_>>())
    }
    /// The largest peak RSS of any worker in any run (KiB).
    pub fn peak_rss_kb(&self) -> u64 {
        self.runs
            .iter()
            .flat_map(|r| r.peak_rss_kb.iter().copied())
            .max()
            .unwrap_or(0)
    }
}

/// Seeds `data_dir` with 10,000 contacts and `rows` activities over
/// [`DAYS`] days, unless a previous run did.
///
/// # Errors
/// When the store cannot be written.
pub async fn seed(data_dir: &Path, rows: u64) -> Res<()> {
    let marker = data_dir.join(format!("w6-seeded-{rows}"));
    if marker.exists() {
        eprintln!("W6: reusing {} ({rows} activities)", data_dir.display());
        return Ok(());
    }
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)?;
    }
    eprintln!("W6: seeding {rows} activities into {}", data_dir.display());
    let started = Instant::now();
    let store = EmbeddedStore::open(data_dir)?;
    let tenant = TenantId::new(W6_TENANT);
    exports_local::demo::configure_tenant(&store, &tenant).await?;
    let counts = Counts {
        contacts: 10_000,
        organisations: 100,
        households: 200,
    };
    generate::write_all(&store, &tenant, counts, SEED, None).await?;
    exports_shared::store::EntityWriter::finish_load(&store).await?;
    let bar = indicatif::ProgressBar::new(rows);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "W6: {bar:40} {pos}/{len} activities ({per_sec}, eta {eta})",
    )?);
    let span = Span {
        first_day: FIRST_DAY,
        days: DAYS,
    };
    activities::write_activities(&store, &store, &tenant, rows, SEED, span, Some(&bar)).await?;
    bar.finish();
    std::fs::write(&marker, b"")?;
    eprintln!("W6: seeded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// One run: creates the job through the service (which queues it), starts
/// `workers` worker processes side by side and waits for all of them, then
/// checks the file and removes it.
///
/// # Errors
/// When a worker fails, the job does not finish, or the file is not the job's.
pub fn run(data_dir: &Path, workers: usize) -> Res<FanoutRun> {
    let runtime = tokio::runtime::Runtime::new()?;
    let store = EmbeddedStore::open(data_dir)?;
    let files = EmbeddedFiles::open(data_dir, "http://127.0.0.1:1")?;
    let tenant = TenantId::new(W6_TENANT);
    let spec = exports_shared::api::bulk::parse_creation(BODY.as_bytes())
        .map_err(|e| format!("W6 body: {}", e.body()))?;
    let service = BulkExports {
        jobs: &store,
        config: &store,
        queue: &store,
        files: &files,
        url_ttl: Duration::from_secs(3600),
        retention: Duration::from_secs(86_400),
    };
    let started = Instant::now();
    let Creation::Created(job) =
        runtime.block_on(service.create(&tenant, spec, None, chrono::Utc::now()))?
    else {
        return Err("W6: the job was replayed, not created".into());
    };
    let exe = std::env::current_exe()?;
    let samples: Vec<Res<Sample>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|n| {
                let mut cmd = Command::new(&exe);
                cmd.args(["child", "w6-worker"])
                    .arg(data_dir)
                    .arg(&job.id)
                    .arg(n.to_string())
                    // The worker's malloc setting in `template.yaml`.
                    .env("MALLOC_ARENA_MAX", crate::workloads::W4_MALLOC_ARENA_MAX);
                s.spawn(move || run_child(&cmd))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a W6 worker thread panicked".into()))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let samples = samples.into_iter().collect::<Res<Vec<_>>>()?;
    let done = runtime
        .block_on(store.get_job(&tenant, &job.id))?
        .ok_or("W6: the job is gone")?;
    let output = match (done.status, done.output) {
        (JobStatus::Finished, Some(output)) => output,
        (status, _) => return Err(format!("W6: the job ended {status:?}: {:?}", done.error).into()),
    };
    let path = data_dir.join("files").join(&output.file_key);
    let (sha256, records) = digest_and_count(&path)?;
    std::fs::remove_file(&path)?;
    if sha256 != output.sha256 {
        return Err(format!("W6: file sha256 {sha256}, job says {}", output.sha256).into());
    }
    if records != output.rows {
        return Err(format!("W6: file holds {records} rows, job says {}", output.rows).into());
    }
    Ok(FanoutRun {
        workers,
        seconds,
        rows: output.rows,
        bytes: output.bytes,
        sha256,
        peak_rss_kb: samples.iter().map(|s| s.peak_rss_kb).collect(),
        messages: samples.iter().map(|s| s.report.rows).collect(),
    })
}

/// The file's SHA-256 and its CSV records after the header.
fn digest_and_count(path: &PathBuf) -> Res<(String, u64)> {
    struct Tee<R> {
        inner: R,
        hash: Sha256,
    }
    impl<R: Read> Read for Tee<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.hash.update(&buf[..n]);
            Ok(n)
        }
    }
    let mut tee = Tee {
        inner: std::fs::File::open(path)?,
        hash: Sha256::new(),
    };
    let mut records = 0;
    {
        let mut reader = csv::Reader::from_reader(&mut tee);
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record)? {
            records += 1;
        }
    }
    std::io::copy(&mut tee, &mut std::io::sink())?;
    let sha = tee
        .hash
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((sha, records))
}

/// A W6 worker process: runs messages of the SQLite queue until job `job_id`
/// is final and the queue has nothing for it. Its report's `rows` is the
/// number of messages it ran.
///
/// # Errors
/// When the store cannot be opened or read.
pub fn worker_child(data_dir: &Path, job_id: &str, n: usize) -> Res<ChildReport> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (store, deps) = crate::workloads::embedded_worker(data_dir)?;
        let worker = bulk_export_worker::Worker {
            deps,
            queue: store.clone(),
            max_receives: 5,
        };
        let tenant = TenantId::new(W6_TENANT);
        let load_rss_kb = own_peak_rss_kb();
        let started = Instant::now();
        let mut messages = 0;
        loop {
            if exports_local::worker::run_next(n, &store, &worker, VISIBILITY).await? {
                messages += 1;
                continue;
            }
            let job = store.get_job(&tenant, job_id).await?;
            if job.is_none_or(|j| j.status.is_final()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(ChildReport {
            seconds: started.elapsed().as_secs_f64(),
            rows: messages,
            bytes: 0,
            load_rss_kb,
        })
    })
}

/// The W6 section of the report.
pub fn markdown(cases: &[FanoutCase]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let Some(base) = cases.iter().find(|c| c.workers == 1) else {
        return out;
    };
    let _ = writeln!(
        out,
        "### W6: fan-out, activities over 31 days, one task per day (embedded backend, worker processes, median of {})\n",
        base.runs.len()
    );
    let _ = writeln!(
        out,
        "| activities | workers | wall s | rows/s | of 1 worker's wall | worker peak RSS (MB, max) | messages per worker | file bytes | sha256 |"
    );
    let _ = writeln!(out, "|--:|--:|--:|--:|--:|--:|---|--:|---|");
    for c in cases {
        let first = c.runs.first();
        let one = cases
            .iter()
            .find(|b| b.workers == 1 && b.activities == c.activities)
            .map_or(f64::NAN, FanoutCase::seconds);
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.0} | {:.0}% | {:.1} | {} | {} | `{}…` |",
            c.activities,
            c.workers,
            c.seconds(),
            c.activities as f64 / c.seconds().max(1e-9),
            100.0 * c.seconds() / one,
            c.peak_rss_kb() as f64 / 1024.0,
            first.map_or(String::new(), |r| r
                .messages
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" / ")),
            first.map_or(0, |r| r.bytes),
            first.map_or("", |r| &r.sha256[..16.min(r.sha256.len())]),
        );
    }
    out.push('\n');
    out.push_str(&targets(cases));
    out
}

/// The W6 targets, as met or missed.
fn targets(cases: &[FanoutCase]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let largest = cases.iter().map(|c| c.activities).max().unwrap_or(0);
    let at = |w: usize| {
        cases
            .iter()
            .find(|c| c.activities == largest && c.workers == w)
    };
    if let (Some(one), Some(four)) = (at(1), at(4)) {
        let share = four.seconds() / one.seconds().max(1e-9);
        let _ = writeln!(
            out,
            "- W6 4 workers ≤ 40% of 1 worker's wall time: {:.0}% — **{}**",
            100.0 * share,
            verdict(share <= 0.40)
        );
    }
    let shas: Vec<&str> = cases
        .iter()
        .filter(|c| c.activities == largest)
        .flat_map(|c| c.runs.iter().map(|r| r.sha256.as_str()))
        .collect();
    let same = shas.windows(2).all(|w| w[0] == w[1]);
    let _ = writeln!(
        out,
        "- W6 the same file (sha256) from every run and worker count: {} runs — **{}**",
        shas.len(),
        verdict(same && !shas.is_empty())
    );
    let smallest = cases.iter().map(|c| c.activities).min().unwrap_or(0);
    if smallest < largest {
        let rss = |n: u64| {
            cases
                .iter()
                .find(|c| c.activities == n && c.workers == 1)
                .map_or(0, FanoutCase::peak_rss_kb) as f64
                / 1024.0
        };
        let (small, large) = (rss(smallest), rss(largest));
        let growth = large / small.max(1e-9) - 1.0;
        let _ = writeln!(
            out,
            "- W6 worker memory flat in rows ({smallest} vs {largest} activities, 1 worker, within 10%): {small:.1} vs {large:.1} MB ({:+.1}%) — **{}**",
            100.0 * growth,
            verdict(growth.abs() <= 0.10)
        );
    }
    out
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}
