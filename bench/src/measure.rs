//! One measurement = one child process, so peak RSS belongs to one workload
//! and one tool. The child loads its rows, times only the work itself with a
//! monotonic clock, and prints one JSON line ([`ChildReport`]); the parent
//! adds the child's peak RSS from `wait4`'s rusage.

use crate::Res;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

/// What a child prints on its last stdout line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildReport {
    /// Seconds spent on the measured work (rows in memory → file or response bytes).
    pub seconds: f64,
    pub rows: u64,
    /// Size of the output.
    pub bytes: u64,
    /// The child's own peak RSS (KiB) once its input rows were loaded, before the work.
    pub load_rss_kb: u64,
}

/// One finished measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub report: ChildReport,
    /// Peak RSS of the whole child (KiB), from `wait4`.
    pub peak_rss_kb: u64,
    /// Wall time of the whole child, start to exit.
    pub process_seconds: f64,
}

/// The calling process's own peak RSS in KiB (Linux reports `ru_maxrss` in KiB).
pub fn self_peak_rss_kb() -> u64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc == 0 {
        u64::try_from(usage.ru_maxrss).unwrap_or(0)
    } else {
        0
    }
}

/// This process's own peak RSS in KiB (`VmHWM` of `/proc/self/status`):
/// unlike `getrusage`'s `ru_maxrss`, which a child inherits from the parent
/// it was forked from, it starts afresh at `exec`. 0 when unreadable.
pub fn own_peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `cmd` through a launcher (`exports-bench child launch ...`) and
/// returns its report and peak RSS.
///
/// Linux carries a process's RSS high-water mark across `exec` (fork and
/// posix_spawn both start from the parent's memory), so a child started by
/// this parent, which holds the rows it verifies against, would report at
/// least the parent's peak. The launcher is small, and the command it starts
/// reports its own peak.
///
/// # Errors
/// When the child cannot start, exits unsuccessfully, or prints no report.
pub fn run_child(cmd: &Command) -> Res<Sample> {
    let mut launcher = Command::new(std::env::current_exe()?);
    launcher
        .args(["child", "launch", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    let started = Instant::now();
    let outer = run_direct(launcher)?;
    let mut sample: Sample = serde_json::from_str(outer.stdout.trim())
        .map_err(|e| format!("launcher report {:?}: {e}", outer.stdout))?;
    sample.process_seconds = started.elapsed().as_secs_f64();
    Ok(sample)
}

/// The launcher: runs `program args` directly and prints its [`Sample`] as JSON.
///
/// # Errors
/// As [`run_child`].
pub fn launch(program: &str, args: &[String]) -> Res<()> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let started = Instant::now();
    let direct = run_direct(cmd)?;
    let line = direct
        .stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{program} printed no report: {}", direct.stdout))?;
    let report: ChildReport = serde_json::from_str(line)?;
    let sample = Sample {
        report,
        peak_rss_kb: direct.peak_rss_kb,
        process_seconds: started.elapsed().as_secs_f64(),
    };
    println!("{}", serde_json::to_string(&sample)?);
    Ok(())
}

struct Direct {
    stdout: String,
    peak_rss_kb: u64,
}

/// Runs `cmd`, reaping it with `wait4` for its rusage.
fn run_direct(mut cmd: Command) -> Res<Direct> {
    let described = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: wait4 writes into the zeroed struct and status; the child is ours
    // and has not been waited for (std's Child never reaps on drop).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if rc != pid {
        return Err(format!("wait4 failed for {described}").into());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{described} failed (status {status}); stdout: {stdout}").into());
    }
    Ok(Direct {
        stdout,
        peak_rss_kb: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    })
}

/// Median of a non-empty slice (mean of the middle two for even lengths).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
