//! CPU accounting from /proc, so the report can show who used the two cores
//! during a run: the server (per thread name, e.g. its single writer), the
//! load generator itself, and the machine as a whole. On a 2-core machine the
//! generator competes with the server, and this makes that visible.

use std::collections::BTreeMap;
use std::time::Instant;

/// CPU times of one process: the whole process and each live thread.
#[derive(Debug, Clone, Default)]
struct ProcTimes {
    total_ticks: u64,
    /// tid → the thread's name and times.
    threads: BTreeMap<u32, ThreadTimes>,
}

#[derive(Debug, Clone, Default)]
struct ThreadTimes {
    name: String,
    ticks: u64,
    /// Nanoseconds spent runnable but waiting for a CPU (`schedstat`, second field).
    run_delay_ns: u64,
}

/// A point-in-time reading; two of them make a [`CpuUse`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    server: Option<ProcTimes>,
    bench: Option<ProcTimes>,
    machine: Option<(u64, u64)>,
}

/// CPU used between two snapshots, in percent of one core (200% = both cores busy).
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    pub server_pct: Option<f64>,
    pub bench_pct: Option<f64>,
    /// Whole machine, busy share of all cores in percent of one core.
    pub machine_pct: Option<f64>,
    /// Server threads grouped by name, busiest first.
    pub server_threads: Vec<ThreadGroup>,
}

/// Threads of one name (e.g. `tokio-rt-worker`) over a run.
#[derive(Debug, Clone, Default)]
pub struct ThreadGroup {
    pub name: String,
    pub threads: usize,
    /// CPU used, in percent of one core.
    pub cpu_pct: f64,
    /// Time runnable but not running (waiting for a core), in percent of the run, summed over the threads.
    pub wait_pct: f64,
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime from a `stat` file's contents, and the name in parentheses.
fn parse_stat(text: &str) -> Option<(String, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

fn read_proc(pid: &str) -> Option<ProcTimes> {
    let (_, total_ticks) = parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
    let mut threads = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for entry in dir.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if let Some((name, ticks)) =
                std::fs::read_to_string(entry.path().join("stat")).ok().as_deref().and_then(parse_stat)
            {
                let run_delay_ns = std::fs::read_to_string(entry.path().join("schedstat"))
                    .ok()
                    .and_then(|t| t.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
                    .unwrap_or(0);
                threads.insert(tid, ThreadTimes { name, ticks, run_delay_ns });
            }
        }
    }
    Some(ProcTimes { total_ticks, threads })
}

/// (busy, total) jiffies of all cores from /proc/stat.
fn read_machine() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?;
    let nums: Vec<u64> = line.split_whitespace().skip(1).filter_map(|s| s.parse().ok()).collect();
    let total: u64 = nums.iter().take(8).sum();
    let idle = nums.get(3).copied().unwrap_or(0) + nums.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

impl CpuUse {
    /// What everything but the server and the generator used.
    pub fn others_pct(&self) -> Option<f64> {
        self.machine_pct.map(|m| (m - self.server_pct.unwrap_or(0.0) - self.bench_pct.unwrap_or(0.0)).max(0.0))
    }
}

impl Snapshot {
    pub fn take(server_pid: Option<u32>) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            server: server_pid.and_then(|p| read_proc(&p.to_string())),
            bench: read_proc("self"),
            machine: read_machine(),
        }
    }

    /// What was used from `self` until `later`.
    pub fn until(&self, later: &Snapshot) -> CpuUse {
        let secs = later.at.duration_since(self.at).as_secs_f64();
        if secs <= 0.0 {
            return CpuUse::default();
        }
        let hz = clock_ticks_per_second();
        let pct = |ticks: u64| ticks as f64 / hz / secs * 100.0;
        let proc_pct = |a: &Option<ProcTimes>, b: &Option<ProcTimes>| match (a, b) {
            (Some(a), Some(b)) => Some(pct(b.total_ticks.saturating_sub(a.total_ticks))),
            _ => None,
        };
        let mut groups: BTreeMap<String, (usize, u64, u64)> = BTreeMap::new();
        if let (Some(a), Some(b)) = (&self.server, &later.server) {
            for (tid, t) in &b.threads {
                let before = a.threads.get(tid).cloned().unwrap_or_default();
                let g = groups.entry(t.name.clone()).or_default();
                g.0 += 1;
                g.1 += t.ticks.saturating_sub(before.ticks);
                g.2 += t.run_delay_ns.saturating_sub(before.run_delay_ns);
            }
        }
        let mut server_threads: Vec<ThreadGroup> = groups
            .into_iter()
            .map(|(name, (threads, ticks, delay))| ThreadGroup {
                name,
                threads,
                cpu_pct: pct(ticks),
                wait_pct: delay as f64 / 1e9 / secs * 100.0,
            })
            .collect();
        server_threads.sort_by(|x, y| y.cpu_pct.total_cmp(&x.cpu_pct));
        let machine_pct = match (self.machine, later.machine) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
                Some((b1 - b0) as f64 / (t1 - t0) as f64 * 100.0 * cores)
            }
            _ => None,
        };
        CpuUse {
            server_pct: proc_pct(&self.server, &later.server),
            bench_pct: proc_pct(&self.bench, &later.bench),
            machine_pct,
            server_threads,
        }
    }
}

/// Repetitions that started although the machine never went quiet (see [`wait_for_quiet`]).
pub static NOT_QUIET: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Wait (at most `max_wait`) until processes other than the server and this
/// one used less than `threshold_pct` of one core over one second, so that a repetition does not
/// start in the middle of someone else's compile. Returns how long it waited;
/// gives up quietly after `max_wait` (and counts that in [`NOT_QUIET`]).
pub async fn wait_for_quiet(
    server_pid: Option<u32>,
    max_wait: std::time::Duration,
    threshold_pct: f64,
) -> std::time::Duration {
    let start = Instant::now();
    if max_wait.is_zero() {
        return std::time::Duration::ZERO;
    }
    let mut warned = false;
    loop {
        let a = Snapshot::take(server_pid);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let busy = a.until(&Snapshot::take(server_pid)).others_pct().unwrap_or(0.0);
        if busy < threshold_pct {
            return start.elapsed();
        }
        if start.elapsed() >= max_wait {
            NOT_QUIET.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            eprintln!("  machine still busy ({busy:.0}% of a core) after {max_wait:?}; going ahead");
            return start.elapsed();
        }
        if !warned {
            warned = true;
            eprintln!("  machine busy ({busy:.0}% of a core used by others); waiting up to {max_wait:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_name() {
        let line = "123 (tokio runtime) S 1 2 3 4 5 6 7 8 9 10 40 2 0 0 20 0 1 0";
        assert_eq!(parse_stat(line), Some(("tokio runtime".to_owned(), 42)));
    }

    #[test]
    fn reads_own_process() {
        let s = Snapshot::take(None);
        assert!(s.bench.is_some());
    }
}
