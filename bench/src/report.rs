//! The side-by-side table and the targets, as Markdown, and the
//! replacement of the generated section in docs/benchmarks.md and README.md
//! (between `<!-- bench:begin -->` and `<!-- bench:end -->`), so the prose
//! around it (method, profile, shortfalls) stays as written.

use crate::Res;
use std::fmt::Write as _;
use std::path::Path;

const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";

/// One workload × format × tool.
pub struct Row {
    pub workload: &'static str,
    pub format: &'static str,
    pub tool: String,
    pub ours: bool,
    /// The deflate level of an XLSX writer.
    pub zip_level: Option<u8>,
    pub rows: usize,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub peak_rss_mb: f64,
    /// Peak RSS above what the process held once its input rows were loaded.
    pub work_rss_mb: f64,
    pub bytes: u64,
    pub verified: Result<(), String>,
}

/// Everything one run measured.
pub struct Outcome {
    pub rows: Vec<Row>,
    pub pending: Vec<String>,
    pub quick: bool,
    pub runs: usize,
}

impl Outcome {
    /// The fastest peer's median on the same workload and format.
    fn best_peer(&self, workload: &str, format: &str) -> Option<f64> {
        self.rows
            .iter()
            .filter(|r| !r.ours && r.workload == workload && r.format == format)
            .map(|r| r.median_s)
            .min_by(f64::total_cmp)
    }

    fn find(&self, workload: &str, format: &str, pred: impl Fn(&Row) -> bool) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.workload == workload && r.format == format && pred(r))
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_default();
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{cores} cores, {cpu}; load average {load} at the end; commit {commit}; {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
}

fn ratio(best_peer: Option<f64>, median: f64) -> String {
    match best_peer {
        Some(b) if median > 0.0 => format!("{:.1}×", b / median),
        _ => "–".into(),
    }
}

/// The full generated section.
pub fn markdown(o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} mode, median of {} runs after a warm-up, each run a child process. Machine: {}.\n",
        if o.quick { "**quick**" } else { "full" },
        o.runs,
        machine()
    );
    s.push_str("| workload | format | tool | rows | median | min–max | rows/s | peak RSS | RSS over input | output | vs best peer | check |\n");
    s.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for r in &o.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {}{}{} | {} | {} | {}–{} | {:.0} | {:.0} MB | {:.0} MB | {:.1} MB | {} | {} |",
            r.workload,
            r.format,
            if r.ours { "**" } else { "" },
            r.tool,
            if r.ours { "**" } else { "" },
            r.rows,
            time(r.median_s),
            time(r.min_s),
            time(r.max_s),
            r.rows as f64 / r.median_s,
            r.peak_rss_mb,
            r.work_rss_mb,
            r.bytes as f64 / 1e6,
            ratio(o.best_peer(r.workload, r.format), r.median_s),
            match &r.verified {
                Ok(()) => "same values".to_string(),
                Err(e) => format!("**FAILED**: {}", e.replace('|', "\\|")),
            }
        );
    }
    for p in &o.pending {
        let _ = writeln!(s, "\n{p}.");
    }
    s.push_str("\n### Targets\n\n");
    for line in targets(o) {
        let _ = writeln!(s, "- {line}");
    }
    s
}

fn time(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**missed**"
    }
}

fn targets(o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    let peer = |w: &str, f: &str, name: &str| o.find(w, f, |r| !r.ours && r.tool.starts_with(name));
    for w in ["W2", "W3"] {
        let Some(xw) = peer(w, "XLSX", "XlsxWriter") else {
            continue;
        };
        for level in [exports_shared::render::xlsx::ZIP_LEVEL, 6] {
            if let Some(ours) = o.find(w, "XLSX", |r| r.ours && r.zip_level == Some(level)) {
                let x = xw.median_s / ours.median_s;
                out.push(format!(
                    "{w} XLSX ≥ 5× XlsxWriter constant_memory (ours at zip {level}, XlsxWriter at 6): {x:.1}× — {}",
                    verdict(x >= 5.0)
                ));
            }
        }
    }
    if let (Some(py), Some(ours)) = (
        peer("W2", "CSV", "Python csv"),
        o.find("W2", "CSV", |r| r.ours),
    ) {
        let x = py.median_s / ours.median_s;
        out.push(format!(
            "W2 CSV ≥ 10× Python csv: {x:.1}× — {}",
            verdict(x >= 10.0)
        ));
    }
    for (format, limit) in [("CSV", 0.020), ("XLSX", 0.060)] {
        if let Some(ours) = o.find("W1", format, |r| r.ours) {
            out.push(format!(
                "W1 {format} < {:.0} ms per request: {} — {}",
                limit * 1e3,
                time(ours.median_s),
                verdict(ours.median_s < limit)
            ));
        }
    }
    let w4: Vec<&Row> = o.rows.iter().filter(|r| r.workload == "W4").collect();
    if let (Some(small), Some(big)) = (
        w4.iter().min_by_key(|r| r.rows),
        w4.iter().max_by_key(|r| r.rows),
    ) {
        if small.rows < big.rows {
            out.push(format!(
                "W4 peak RSS < 64 MB ({} rows): {:.1} MB — {}",
                big.rows,
                big.peak_rss_mb,
                verdict(big.peak_rss_mb < 64.0)
            ));
            let rise = big.peak_rss_mb / small.peak_rss_mb - 1.0;
            out.push(format!(
                "W4 RSS independent of rows ({} vs {} rows within 10%): {:.1} vs {:.1} MB ({:+.1}%) — {}",
                small.rows,
                big.rows,
                small.peak_rss_mb,
                big.peak_rss_mb,
                rise * 100.0,
                verdict(rise.abs() <= 0.10)
            ));
        }
    }
    if o.quick {
        out.push(
            "Quick mode: row counts are reduced, so these verdicts are indicative only".into(),
        );
    }
    out
}

/// The README's short table: ours and the best peer per workload.
pub fn readme_table(o: &Outcome) -> String {
    let mut s = String::from("| workload | format | rows | ours | best peer | ours vs best peer | peak RSS (ours) |\n|---|---|--:|--:|---|--:|--:|\n");
    for r in o.rows.iter().filter(|r| r.ours) {
        let best = o
            .rows
            .iter()
            .filter(|p| !p.ours && p.workload == r.workload && p.format == r.format)
            .min_by(|a, b| a.median_s.total_cmp(&b.median_s));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.0} MB |",
            r.workload,
            r.format,
            r.rows,
            format!(
                "{} ({})",
                time(r.median_s),
                r.tool
                    .trim_start_matches("exports (ours)")
                    .trim_start_matches(", ")
            )
            .replace(" ()", ""),
            best.map_or("–".into(), |b| format!("{} {}", b.tool, time(b.median_s))),
            ratio(best.map(|b| b.median_s), r.median_s),
            r.peak_rss_mb
        );
    }
    for p in &o.pending {
        let _ = writeln!(s, "\n{p}.");
    }
    s
}

/// Replaces the generated section of `path` with `text` (creating the file,
/// or appending the section, when it has none).
///
/// # Errors
/// When the file cannot be read or written.
pub fn replace_section(path: &Path, text: &str) -> Res<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let section = format!("{BEGIN}\n{text}\n{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &old[..b], &old[e + END.len()..]),
        _ => format!("{old}\n{section}\n"),
    };
    std::fs::write(path, new)?;
    Ok(())
}
