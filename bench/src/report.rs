//! Markdown output: one table per measurement with every repetition, a
//! summary of medians against the targets and the sled baseline, and the
//! machine the numbers came from. Everything printed here was measured in
//! this process's run; nothing is carried over from elsewhere.

use std::fmt::Write as _;
use std::process::Command;

use crate::stats::{Run, median};

/// One measured thing, repeated.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub name: String,
    /// Concurrent clients (1 for the sled baseline).
    pub clients: usize,
    pub runs: Vec<Run>,
    /// Repetitions disturbed by other processes and redone: shown, not counted.
    pub discarded: Vec<Run>,
}

impl Measurement {
    pub fn rate(&self) -> f64 {
        median(&self.runs.iter().map(Run::per_second).collect::<Vec<_>>())
    }
    pub fn p50_ms(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.latency_ms(0.50)).collect::<Vec<_>>())
    }
    pub fn p99_ms(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.latency_ms(0.99)).collect::<Vec<_>>())
    }
}

/// Thousands separators for readability: 12345.6 → "12,346".
pub fn num(x: f64) -> String {
    let n = x.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub fn ms(x: f64) -> String {
    if x < 10.0 { format!("{x:.3}") } else { format!("{x:.1}") }
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.0}%")).unwrap_or_else(|| "n/a".into())
}

/// Every repetition of a measurement, with CPU use.
pub fn runs_table(out: &mut String, m: &Measurement, unit: &str) {
    let _ = writeln!(out, "**{}** ({} client{})\n", m.name, m.clients, if m.clients == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "| run | {unit}/s | ops | seconds | p50 ms | p99 ms | max ms | server CPU | bench CPU | other CPU | busiest server threads: CPU (+ time runnable, waiting for a core) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let rows = m.runs.iter().enumerate().map(|(i, r)| (format!("{}", i + 1), r));
    let redone = m.discarded.iter().enumerate().map(|(i, r)| (format!("x{} (disturbed, not counted)", i + 1), r));
    for (label, r) in rows.chain(redone) {
        let cpu = r.cpu.clone().unwrap_or_default();
        let threads = cpu
            .server_threads
            .iter()
            .filter(|t| t.cpu_pct >= 1.0)
            .take(3)
            .map(|t| {
                let n = if t.threads > 1 { format!(" ×{}", t.threads) } else { String::new() };
                format!("{}{n} {:.0}% (+{:.0}% waiting)", t.name, t.cpu_pct, t.wait_pct)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
            label,
            num(r.per_second()),
            num(r.ops as f64),
            r.elapsed.as_secs_f64(),
            ms(r.latency_ms(0.50)),
            ms(r.latency_ms(0.99)),
            ms(r.latency_ms(1.0)),
            pct(cpu.server_pct),
            pct(cpu.bench_pct),
            pct(cpu.others_pct()),
            if threads.is_empty() { "–".to_owned() } else { threads },
        );
    }
    let _ = writeln!(
        out,
        "| **median** | **{}** | | | **{}** | **{}** | | | | | |\n",
        num(m.rate()),
        ms(m.p50_ms()),
        ms(m.p99_ms())
    );
}

/// Output of a shell command, trimmed, or a note that it could not run.
pub fn sh(cmd: &str, args: &[&str]) -> String {
    match Command::new(cmd).args(args).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim_end().to_owned(),
        Ok(o) => format!("({cmd} failed: {})", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => format!("({cmd} unavailable: {e})"),
    }
}

/// nproc, the head of lscpu, free -h.
pub fn machine() -> String {
    let lscpu = sh("lscpu", &[]);
    let head: Vec<&str> = lscpu.lines().take(10).collect();
    format!("$ nproc\n{}\n$ lscpu | head\n{}\n$ free -h\n{}", sh("nproc", &[]), head.join("\n"), sh("free", &["-h"]))
}
