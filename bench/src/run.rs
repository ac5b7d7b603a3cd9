//! `exports-bench run`: generates the rows once, measures every workload
//! and tool in child processes (a warm-up, then `--runs` measured runs),
//! verifies each output against the generated rows, and reports.

use crate::measure::{median, run_child, Sample};
use crate::report::{self, Outcome, Row};
use crate::workloads::{self, W4Output};
use crate::{fanout, scale};
use crate::{rows, verify, Res};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The fixed seed of the generated rows.
pub const SEED: u64 = 42;

/// Rows per workload: (W1, W2, W3).
const FULL_ROWS: (usize, usize, usize) = (5_000, 200_000, 1_048_575);
const QUICK_ROWS: (usize, usize, usize) = (5_000, 20_000, 100_000);
/// W4 row counts: the small run (memory must not grow with rows) and the workload.
const FULL_W4: [usize; 2] = [100_000, 1_000_000];
const QUICK_W4: [usize; 2] = [10_000, 100_000];

#[derive(clap::Args)]
pub struct RunArgs {
    /// Fewer rows (W2 20,000, W3 100,000) and 3 runs; writes
    /// `<out-dir>/benchmarks-quick.md` instead of docs/benchmarks.md.
    #[arg(long, env = "BENCH_QUICK")]
    quick: bool,
    /// Measured runs per workload and tool, after one warm-up (default 5, quick 3).
    #[arg(long)]
    runs: Option<usize>,
    /// Where rows, stores and outputs go.
    #[arg(long, default_value = "target/bench")]
    out_dir: PathBuf,
    /// The Python with the peers installed.
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    #[arg(long, default_value = "bench/peers")]
    peers_dir: PathBuf,
    /// The document whose table section is replaced (full mode).
    #[arg(long, default_value = "docs/benchmarks.md")]
    doc: PathBuf,
    /// The README whose table section is replaced (full mode).
    #[arg(long, default_value = "README.md")]
    readme: PathBuf,
    /// Only these workloads (comma-separated, e.g. `w1,w2`). `w5` runs W5 on
    /// SQLite and, with a database URL, on PostgreSQL with W5 bulk; `w5-pg`
    /// only the PostgreSQL part (W5 and W5 bulk), `w5-bulk` only W5 bulk,
    /// `w6` the fan-out over 1, 2 and 4 worker processes.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// W5 also runs on this PostgreSQL server (`make bench` starts one).
    #[arg(long, env = "EXPORTS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

/// Who writes a file, and how it is started.
#[derive(Clone)]
enum Tool {
    /// Our W1 handler, W2/W3 renderers (with a zip level for XLSX).
    Ours { zip_level: Option<u8> },
    /// A peer script under `bench/peers`.
    Peer { script: &'static str },
}

impl Tool {
    fn label(&self) -> String {
        match self {
            Tool::Ours { zip_level: None } => "exports (ours)".into(),
            Tool::Ours { zip_level: Some(l) } => format!("exports (ours), zip {l}"),
            Tool::Peer { script } => match *script {
                "csv_module.py" => "Python csv".into(),
                "pandas_csv.py" => "pandas.to_csv".into(),
                "xlsxwriter_cm.py" => "XlsxWriter constant_memory, zip 6".into(),
                "openpyxl_wo.py" => "openpyxl write_only, zip 6".into(),
                other => other.into(),
            },
        }
    }
}

/// One workload × format and the tools measured on it.
struct Case {
    workload: &'static str,
    format: &'static str,
    rows: usize,
    tools: Vec<Tool>,
}

fn cases(counts: (usize, usize, usize)) -> Vec<Case> {
    let csv_peers = || {
        vec![
            Tool::Peer {
                script: "csv_module.py",
            },
            Tool::Peer {
                script: "pandas_csv.py",
            },
        ]
    };
    let xlsx_peers = || {
        vec![
            Tool::Peer {
                script: "xlsxwriter_cm.py",
            },
            Tool::Peer {
                script: "openpyxl_wo.py",
            },
        ]
    };
    let with = |ours: Vec<Tool>, peers: Vec<Tool>| ours.into_iter().chain(peers).collect();
    let ours_xlsx = || {
        vec![
            Tool::Ours {
                zip_level: Some(exports_shared::render::xlsx::ZIP_LEVEL),
            },
            Tool::Ours { zip_level: Some(6) },
        ]
    };
    vec![
        Case {
            workload: "W1",
            format: "CSV",
            rows: counts.0,
            tools: with(vec![Tool::Ours { zip_level: None }], csv_peers()),
        },
        Case {
            workload: "W1",
            format: "XLSX",
            rows: counts.0,
            tools: with(vec![Tool::Ours { zip_level: None }], xlsx_peers()),
        },
        Case {
            workload: "W2",
            format: "CSV",
            rows: counts.1,
            tools: with(vec![Tool::Ours { zip_level: None }], csv_peers()),
        },
        Case {
            workload: "W2",
            format: "XLSX",
            rows: counts.1,
            tools: with(ours_xlsx(), xlsx_peers()),
        },
        Case {
            workload: "W3",
            format: "XLSX",
            rows: counts.2,
            tools: with(ours_xlsx(), xlsx_peers()),
        },
    ]
}

/// Runs everything and writes the report.
///
/// # Errors
/// When a tool fails to run (a failed verification is reported, not fatal).
pub fn run(args: &RunArgs) -> Res<()> {
    let counts = if args.quick { QUICK_ROWS } else { FULL_ROWS };
    let runs = args.runs.unwrap_or(if args.quick { 3 } else { 5 }).max(1);
    std::fs::create_dir_all(&args.out_dir)?;
    let out_dir = std::fs::canonicalize(&args.out_dir)?;
    let wanted =
        |w: &str| args.only.is_empty() || args.only.iter().any(|o| o.eq_ignore_ascii_case(w));
    let max_rows = counts.0.max(counts.1).max(counts.2).max(FULL_W4[1]);
    let rows_file = out_dir.join(format!("rows-seed{SEED}-{max_rows}.csv"));
    // W5 seeds its own tenants: the rows file is for W1 to W4.
    let needs_rows = ["W1", "W2", "W3", "W4"].iter().any(|w| wanted(w));
    if needs_rows && !rows_file.exists() {
        eprintln!(
            "generating {max_rows} rows (seed {SEED}) into {}",
            rows_file.display()
        );
        let partial = rows_file.with_extension("partial");
        rows::generate(&partial, max_rows, SEED)?;
        std::fs::rename(&partial, &rows_file)?;
    }

    let w1_store = out_dir.join("w1-store");
    if wanted("W1") {
        eprintln!("seeding W1 store with {} contacts", counts.0);
        tokio::runtime::Runtime::new()?
            .block_on(workloads::seed_w1(&rows_file, counts.0, &w1_store))?;
    }

    let mut table = Vec::new();
    for case in cases(counts).into_iter().filter(|c| wanted(c.workload)) {
        eprintln!("{} {}: {} rows", case.workload, case.format, case.rows);
        let truth = rows::load(&rows_file, case.rows)?;
        for tool in &case.tools {
            let out = out_dir.join(output_name(&case, tool));
            let samples = sample_runs(&tool.label(), runs, || {
                command(args, &case, tool, &rows_file, &w1_store, &out)
            })?;
            let checked = if case.format == "CSV" {
                verify::csv_file(&out, &truth)
            } else {
                verify::xlsx_file(&out, &truth)
            };
            if let Err(e) = &checked {
                eprintln!("  VERIFY FAILED {}: {e}", out.display());
            }
            table.push(summarise(
                &case,
                tool,
                &samples,
                checked.map_err(|e| e.to_string()),
            ));
        }
    }
    if wanted("W4") {
        let w4_counts = if args.quick { QUICK_W4 } else { FULL_W4 };
        for count in w4_counts {
            table.push(w4_case(&rows_file, &out_dir, count, runs)?);
        }
    }
    let mut scale_reports = Vec::new();
    let mut pg_reports = Vec::new();
    let mut bulk_reports = Vec::new();
    let sizes: &[u64] = if args.quick { &QUICK_W5 } else { &FULL_W5 };
    if wanted("W5") {
        for &contacts in sizes {
            scale_reports.push(w5_case(&out_dir, contacts, None)?);
        }
    }
    let w5_pg = wanted("W5") || wanted("W5-PG");
    let w5_bulk_wanted = w5_pg || wanted("W5-BULK");
    match &args.database_url {
        Some(url) => {
            if w5_pg {
                for &contacts in sizes {
                    pg_reports.push(w5_case(&out_dir, contacts, Some(url))?);
                }
            }
            if w5_bulk_wanted {
                for &contacts in sizes.iter().filter(|&&n| n >= 100_000) {
                    // The tenant W5 on PostgreSQL seeded (seeded now if not).
                    let store = out_dir.join(format!("w5-store-pg-{contacts}"));
                    tokio::runtime::Runtime::new()?.block_on(scale::seed(
                        &store,
                        contacts,
                        Some(url),
                    ))?;
                    bulk_reports.push(w5_bulk(&out_dir, contacts, url)?);
                }
            }
        }
        None if !args.only.is_empty() && (wanted("W5-PG") || wanted("W5-BULK")) => {
            return Err(
                "W5 on PostgreSQL needs --database-url (make bench starts a server)".into(),
            );
        }
        None => {}
    }
    let mut fanout_cases = Vec::new();
    if wanted("W6") {
        let plan: &[(u64, &[usize])] = if args.quick { &QUICK_W6 } else { &FULL_W6 };
        let w6_runs = if args.quick { 1 } else { runs.min(3) };
        for &(activities, workers) in plan {
            fanout_cases.extend(w6_case(&out_dir, activities, workers, w6_runs)?);
        }
    }
    let outcome = Outcome {
        rows: table,
        pending: Vec::new(),
        quick: args.quick,
        runs,
    };
    let mut text = report::markdown(&outcome);
    if !scale_reports.is_empty() {
        text.push('\n');
        text.push_str(&scale::markdown(&scale_reports, "embedded backend"));
    }
    if !pg_reports.is_empty() {
        text.push('\n');
        text.push_str(&scale::markdown(
            &pg_reports,
            "PostgreSQL entity source, the same records",
        ));
        if scale_reports.len() == pg_reports.len() {
            text.push('\n');
            text.push_str(&scale::side_by_side(&scale_reports, &pg_reports));
        }
    }
    if !bulk_reports.is_empty() {
        text.push('\n');
        text.push_str(&scale::bulk_markdown(
            &bulk_reports,
            "PostgreSQL entity source, keyset pages",
        ));
    }
    if !fanout_cases.is_empty() {
        text.push('\n');
        text.push_str(&fanout::markdown(&fanout_cases));
    }
    println!("{text}");
    if args.quick || !args.only.is_empty() {
        let path = out_dir.join("benchmarks-partial.md");
        std::fs::write(&path, &text)?;
        eprintln!(
            "partial run: wrote {} (docs/benchmarks.md untouched)",
            path.display()
        );
    } else {
        report::replace_section(&args.doc, &text)?;
        report::replace_section(&args.readme, &report::readme_table(&outcome))?;
        eprintln!(
            "wrote {} and the table in {}",
            args.doc.display(),
            args.readme.display()
        );
    }
    Ok(())
}

fn output_name(case: &Case, tool: &Tool) -> String {
    let who = match tool {
        Tool::Ours { zip_level: None } => "ours".to_string(),
        Tool::Ours { zip_level: Some(l) } => format!("ours-zip{l}"),
        Tool::Peer { script } => script.trim_end_matches(".py").to_string(),
    };
    format!(
        "{}-{who}.{}",
        case.workload.to_lowercase(),
        case.format.to_lowercase()
    )
}

fn command(
    args: &RunArgs,
    case: &Case,
    tool: &Tool,
    rows_file: &Path,
    w1_store: &Path,
    out: &Path,
) -> Res<Command> {
    let count = case.rows.to_string();
    Ok(match tool {
        Tool::Ours { zip_level } => {
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.arg("child");
            match (case.workload, case.format) {
                ("W1", format) => {
                    cmd.arg("w1").arg(w1_store).arg(format).arg(&count).arg(out);
                }
                (_, "CSV") => {
                    cmd.arg("render-csv").arg(rows_file).arg(&count).arg(out);
                }
                _ => {
                    cmd.arg("render-xlsx").arg(rows_file).arg(&count).arg(out);
                    if let Some(l) = zip_level {
                        cmd.arg("--zip-level").arg(l.to_string());
                    }
                }
            }
            cmd
        }
        Tool::Peer { script } => {
            let mut cmd = Command::new(&args.python);
            cmd.arg(args.peers_dir.join(script))
                .arg(rows_file)
                .arg(&count)
                .arg(out);
            cmd
        }
    })
}

fn summarise(case: &Case, tool: &Tool, samples: &[Sample], verified: Result<(), String>) -> Row {
    let seconds: Vec<f64> = samples.iter().map(|s| s.report.seconds).collect();
    let peak = samples.iter().map(|s| s.peak_rss_kb).max().unwrap_or(0);
    let load = samples
        .iter()
        .map(|s| s.report.load_rss_kb)
        .max()
        .unwrap_or(0);
    Row {
        workload: case.workload,
        format: case.format,
        tool: tool.label(),
        ours: matches!(tool, Tool::Ours { .. }),
        zip_level: match tool {
            Tool::Ours { zip_level } => *zip_level,
            Tool::Peer { .. } if case.format == "XLSX" => Some(6),
            Tool::Peer { .. } => None,
        },
        rows: case.rows,
        median_s: median(&seconds),
        min_s: seconds.iter().copied().fold(f64::INFINITY, f64::min),
        max_s: seconds.iter().copied().fold(0.0, f64::max),
        peak_rss_mb: peak as f64 / 1024.0,
        work_rss_mb: peak.saturating_sub(load) as f64 / 1024.0,
        bytes: samples.last().map_or(0, |s| s.report.bytes),
        verified,
    }
}

/// W4 at `count` rows: seeds a store with the first `count` generated rows
/// (not timed), runs the bulk worker in a child a warm-up plus `runs`
/// times, and verifies the last file (every row once, values, sha256).
/// One warm-up run and `runs` measured runs of the child `make` builds
/// (called before each run), each printed as it ends; the measured samples.
fn sample_runs(
    label: &str,
    runs: usize,
    mut make: impl FnMut() -> Res<Command>,
) -> Res<Vec<Sample>> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..=runs {
        let sample = run_child(&make()?)?;
        eprintln!(
            "  {label:<40} run {i}{} {:>9.4} s (process {:.2} s)  peak {:>7.1} MB",
            if i == 0 { " (warm-up)" } else { "" },
            sample.report.seconds,
            sample.process_seconds,
            sample.peak_rss_kb as f64 / 1024.0
        );
        if i > 0 {
            samples.push(sample);
        }
    }
    Ok(samples)
}

fn w4_case(rows_file: &Path, out_dir: &Path, count: usize, runs: usize) -> Res<Row> {
    let store = out_dir.join(format!("w4-store-{count}"));
    eprintln!("W4 CSV: seeding {count} contacts into {}", store.display());
    tokio::runtime::Runtime::new()?.block_on(workloads::seed_w1(rows_file, count, &store))?;
    let record = out_dir.join(format!("w4-{count}.json"));
    let bulk_dir = store
        .join("files")
        .join(workloads::BENCH_TENANT)
        .join("bulk");
    let samples = sample_runs(W4_TOOL, runs, || {
        // Only the last run's file is kept (a 1M-row file is ~200 MB).
        if bulk_dir.exists() {
            std::fs::remove_dir_all(&bulk_dir)?;
        }
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["child", "w4"]).arg(&store).arg(&record);
        // The worker's malloc setting in `template.yaml`.
        cmd.env("MALLOC_ARENA_MAX", workloads::W4_MALLOC_ARENA_MAX);
        Ok(cmd)
    })?;
    let output: W4Output = serde_json::from_slice(&std::fs::read(&record)?)?;
    let truth = rows::load(rows_file, count)?;
    let checked = if output.rows == count as u64 {
        verify::bulk_csv(&output.path, &truth, &output.sha256)
    } else {
        Err(format!("job record says {} rows, want {count}", output.rows).into())
    };
    if let Err(e) = &checked {
        eprintln!("  VERIFY FAILED {}: {e}", output.path.display());
    }
    let case = Case {
        workload: "W4",
        format: "CSV",
        rows: count,
        tools: Vec::new(),
    };
    let mut row = summarise(
        &case,
        &Tool::Ours { zip_level: None },
        &samples,
        checked.map_err(|e| e.to_string()),
    );
    row.tool = W4_TOOL.into();
    Ok(row)
}

/// W5 tenant sizes.
const FULL_W5: [u64; 3] = [10_000, 100_000, 1_000_000];
const QUICK_W5: [u64; 2] = [10_000, 100_000];

/// W5 at one tenant size: seeds (or reuses) the store, then runs the child
/// once; it times each request itself (warm-up plus repeats).
fn w5_case(out_dir: &Path, contacts: u64, database_url: Option<&str>) -> Res<scale::ScaleReport> {
    let source = if database_url.is_some() { "pg-" } else { "" };
    let store = out_dir.join(format!("w5-store-{source}{contacts}"));
    tokio::runtime::Runtime::new()?.block_on(scale::seed(&store, contacts, database_url))?;
    let record = out_dir.join(format!("w5-{source}{contacts}.json"));
    let mut child = Command::new(std::env::current_exe()?);
    child
        .args(["child", "w5"])
        .arg(&store)
        .arg(contacts.to_string())
        .arg(&record);
    if let Some(url) = database_url {
        child.arg("--database-url").arg(url);
    }
    let status = child.status()?;
    if !status.success() {
        return Err(format!("W5 child at {contacts} contacts failed: {status}").into());
    }
    let report: scale::ScaleReport = serde_json::from_slice(&std::fs::read(&record)?)?;
    for (r, (ms, rows)) in scale::REQUESTS
        .iter()
        .zip(report.millis.iter().zip(&report.rows))
    {
        eprintln!(
            "  W5 {source}{contacts:>9} {:<36} {ms:>9.1} ms  {rows} rows",
            r.label
        );
    }
    eprintln!(
        "  W5 {contacts:>9} peak RSS {:.1} MB",
        report.peak_rss_kb as f64 / 1024.0
    );
    Ok(report)
}

/// One bulk contacts export of the W5 tenant of `contacts` contacts, its
/// records in PostgreSQL (the store W5 seeded).
fn w5_bulk(out_dir: &Path, contacts: u64, database_url: &str) -> Res<scale::BulkReport> {
    let store = out_dir.join(format!("w5-store-pg-{contacts}"));
    let record = out_dir.join(format!("w5-bulk-pg-{contacts}.json"));
    let status = Command::new(std::env::current_exe()?)
        .args(["child", "w5", "--bulk", "--database-url", database_url])
        .arg(&store)
        .arg(contacts.to_string())
        .arg(&record)
        // The worker's malloc setting in `template.yaml`.
        .env("MALLOC_ARENA_MAX", workloads::W4_MALLOC_ARENA_MAX)
        .status()?;
    if !status.success() {
        return Err(format!("W5 bulk child at {contacts} contacts failed: {status}").into());
    }
    let report: scale::BulkReport = serde_json::from_slice(&std::fs::read(&record)?)?;
    eprintln!(
        "  W5 bulk pg-{contacts:>9} {} rows in {:.2} s, peak RSS {:.1} MB",
        report.rows,
        report.seconds,
        report.peak_rss_kb as f64 / 1024.0
    );
    Ok(report)
}

/// W6: (activities, worker counts). The small store is the 1-worker
/// memory baseline.
const FULL_W6: [(u64, &[usize]); 2] = [(1_000_000, &[1]), (10_000_000, &[1, 2, 4])];
const QUICK_W6: [(u64, &[usize]); 2] = [(100_000, &[1]), (1_000_000, &[1, 2, 4])];

/// W6 with `activities` activities: seeds (or reuses) the store, then
/// `runs` runs with each worker count.
fn w6_case(
    out_dir: &Path,
    activities: u64,
    workers: &[usize],
    runs: usize,
) -> Res<Vec<fanout::FanoutCase>> {
    let store = out_dir.join(format!("w6-store-{activities}"));
    tokio::runtime::Runtime::new()?.block_on(fanout::seed(&store, activities))?;
    let mut cases = Vec::new();
    for &n in workers {
        let mut case = fanout::FanoutCase {
            activities,
            workers: n,
            runs: Vec::new(),
        };
        for _ in 0..runs {
            let run = fanout::run(&store, n)?;
            eprintln!(
                "  W6 {activities:>9} activities, {n} worker(s): {:.2} s, {} rows, peak RSS {} MB, messages {:?}, sha256 {}",
                run.seconds,
                run.rows,
                run.peak_rss_kb.iter().map(|k| format!("{:.1}", *k as f64 / 1024.0)).collect::<Vec<_>>().join("/"),
                run.messages,
                run.sha256
            );
            case.runs.push(run);
        }
        cases.push(case);
    }
    Ok(cases)
}

/// W4's tool label: no peer runs a bulk export to a file store.
const W4_TOOL: &str = "exports (ours), bulk worker (no peer)";
