//! `exports-bench`: our exports against the tools a team would otherwise
//! use (Python's csv module, pandas, XlsxWriter, openpyxl), on the same
//! generated rows, in one run. `make bench` builds it in release mode and
//! runs `exports-bench run`; see docs/benchmarks.md.
//!
//! Every measurement is a child process (`exports-bench child ...` for ours,
//! `python bench/peers/*.py` for the peers) so wall time and peak RSS belong
//! to one workload and one tool.

mod fanout;
mod measure;
mod report;
mod rows;
mod run;
mod scale;
mod verify;
mod workloads;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// The benchmark's error type: a message is all a failed run needs.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser)]
#[command(name = "exports-bench", about = "Exports benchmarks against peers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the rows, run every workload and tool, verify, print and write the table.
    Run(run::RunArgs),
    /// Write `rows` generated rows from `seed` to a CSV file.
    Gen {
        #[arg(long)]
        rows: usize,
        #[arg(long, default_value_t = run::SEED)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// One measurement of our side (started by `run`); prints a JSON report.
    #[command(hide = true)]
    Child {
        #[command(subcommand)]
        what: ChildWork,
    },
}

#[derive(Subcommand)]
enum ChildWork {
    /// W2: rows through the CSV renderer into OUT.
    RenderCsv {
        rows_file: PathBuf,
        count: usize,
        out: PathBuf,
    },
    /// W2/W3: rows through the XLSX renderer into OUT.
    RenderXlsx {
        rows_file: PathBuf,
        count: usize,
        out: PathBuf,
        #[arg(long, default_value_t = exports_shared::render::xlsx::ZIP_LEVEL)]
        zip_level: u8,
    },
    /// Runs PROGRAM ARGS... and prints its report with its peak RSS.
    Launch {
        program: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// W1: requests through the sync-export handler on a seeded store.
    W1 {
        data_dir: PathBuf,
        /// CSV or XLSX.
        format: String,
        count: usize,
        out: PathBuf,
    },
    /// W4: one bulk job through the worker on a seeded store; writes the
    /// job's output record (JSON) to OUT.
    W4 { data_dir: PathBuf, out: PathBuf },
    /// W5: every scale request through the handlers on a seeded store;
    /// writes its report (JSON) to OUT.
    W5 {
        data_dir: PathBuf,
        contacts: u64,
        out: PathBuf,
        /// Read entities from this PostgreSQL database (schema `w5_N`).
        #[arg(long)]
        database_url: Option<String>,
        /// Run one bulk contacts export through the worker instead.
        #[arg(long)]
        bulk: bool,
    },
    /// W6: one worker process over the SQLite queue of DATA_DIR, until
    /// job JOB_ID is final; reports the messages it ran as rows.
    W6Worker {
        data_dir: PathBuf,
        job_id: String,
        n: usize,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Gen { rows, seed, out } => rows::generate(&out, rows, seed),
        Command::Child { what } => child(what),
    };
    if let Err(e) = result {
        eprintln!("exports-bench: {e}");
        std::process::exit(1);
    }
}

fn child(what: ChildWork) -> Res<()> {
    let report = match what {
        ChildWork::RenderCsv {
            rows_file,
            count,
            out,
        } => workloads::render_csv(&rows_file, count, &out)?,
        ChildWork::RenderXlsx {
            rows_file,
            count,
            out,
            zip_level,
        } => workloads::render_xlsx(&rows_file, count, &out, zip_level)?,
        ChildWork::W1 {
            data_dir,
            format,
            count,
            out,
        } => workloads::w1(&data_dir, &format, count, &out)?,
        ChildWork::W4 { data_dir, out } => workloads::w4(&data_dir, &out)?,
        ChildWork::W6Worker {
            data_dir,
            job_id,
            n,
        } => fanout::worker_child(&data_dir, &job_id, n)?,
        ChildWork::Launch { program, args } => return measure::launch(&program, &args),
        ChildWork::W5 {
            data_dir,
            contacts,
            out,
            database_url,
            bulk: false,
        } => return scale::child(&data_dir, contacts, &out, database_url.as_deref()),
        ChildWork::W5 {
            data_dir,
            contacts,
            out,
            database_url,
            bulk: true,
        } => return scale::bulk_child(&data_dir, contacts, &out, database_url.as_deref()),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
