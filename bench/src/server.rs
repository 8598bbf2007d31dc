//! Starting and stopping the `arcade` binary under test: a fresh data
//! directory per server (removed afterwards), the port read from its
//! `arcade listening on http://…` line, its log kept in a file for error
//! messages, and a SIGTERM stop that must end in a clean exit.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::client::Endpoint;

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(180);

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Result<TempDir> {
        static N: AtomicU64 = AtomicU64::new(0);
        if N.load(Ordering::Relaxed) == 0 {
            sweep_stale();
        }
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "arcade-bench-{label}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// Remove directories left by an earlier `arcade-bench` that was killed
/// (its pid, the third part of the name, is no longer running).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("arcade-bench-") else { continue };
        let parts: Vec<&str> = rest.split('-').collect();
        // label-pid-nanos-n; labels may contain dashes, so count from the end.
        let Some(pid) = parts.len().checked_sub(3).and_then(|i| parts[i].parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `arcade serve` that we started.
pub struct Server {
    child: Child,
    pub endpoint: Endpoint,
    log: PathBuf,
    dir: TempDir,
    bin: PathBuf,
    durability: String,
    key: String,
    /// More `serve` options (e.g. the realtime benchmark's `--realtime-connects-per-minute 0`).
    extra: Vec<String>,
}

impl Server {
    /// Start `bin serve` on a free loopback port with a fresh data directory.
    pub fn start(bin: &Path, durability: &str, key: &str) -> Result<Server> {
        Server::start_with(bin, durability, key, &[])
    }

    /// [`Server::start`] with more `serve` options.
    pub fn start_with(bin: &Path, durability: &str, key: &str, extra: &[String]) -> Result<Server> {
        if !bin.exists() {
            bail!("{} not found: build it with `cargo build --release -p arcade`", bin.display());
        }
        let dir = TempDir::new(durability)?;
        let log = dir.path().join("server.log");
        let (child, endpoint) = spawn(bin, &dir.path().join("data"), durability, key, &log, extra)?;
        Ok(Server {
            child,
            endpoint,
            log,
            dir,
            bin: bin.to_owned(),
            durability: durability.to_owned(),
            key: key.to_owned(),
            extra: extra.to_vec(),
        })
    }

    /// Start the server again on the same data directory (after [`Server::stop`]);
    /// returns how long it took from the spawn until it announced its address
    /// (it accepts requests from then on). It gets a new port.
    pub fn restart(&mut self) -> Result<Duration> {
        if self.child.try_wait()?.is_none() {
            bail!("restart: the server is still running; stop it first");
        }
        let t0 = Instant::now();
        let (child, endpoint) =
            spawn(&self.bin, &self.data_dir(), &self.durability, &self.key, &self.log, &self.extra)?;
        let took = t0.elapsed();
        self.child = child;
        self.endpoint = endpoint;
        Ok(took)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `--data` directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// SIGTERM, then wait for a clean exit (the server flushes first).
    pub fn stop(&mut self) -> Result<Duration> {
        let t0 = Instant::now();
        if self.child.try_wait()?.is_some() {
            bail!("arcade had already exited; log:\n{}", self.log_tail());
        }
        let pid = libc::pid_t::try_from(self.child.id()).context("pid out of range")?;
        // SAFETY: kill(2) on the pid of a child we own and have not reaped yet.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            bail!("cannot signal arcade: {}", std::io::Error::last_os_error());
        }
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("arcade exited with {status} after SIGTERM; log:\n{}", self.log_tail());
                }
                return Ok(t0.elapsed());
            }
            if t0.elapsed() > STOP_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("arcade did not stop within {STOP_TIMEOUT:?} of SIGTERM (killed); log:\n{}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Spawn `bin serve --data data_dir` on a free loopback port (its log appended to
/// `log`) and wait for its `arcade listening on …` line.
fn spawn(
    bin: &Path,
    data_dir: &Path,
    durability: &str,
    key: &str,
    log: &Path,
    extra: &[String],
) -> Result<(Child, Endpoint)> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let mut cmd = Command::new(bin);
    // If this process dies without stopping the server, the kernel sends it SIGTERM. (The
    // signal follows the spawning *thread*: start servers from the runtime's own threads,
    // never from a spawn_blocking thread, which may exit while the server runs.)
    // SAFETY: prctl in the forked child before exec; async-signal-safe, touches no memory.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .args(["serve", "--data"])
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0", "--durability", durability])
        .args(extra)
        .env("ARCADE_API_KEY", key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    // Reads the announcement, then keeps draining stdout so the server never blocks on it.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.trim().strip_prefix("arcade listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let url = match rx.recv_timeout(START_TIMEOUT) {
        Ok(u) => u,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("arcade did not announce its address within {START_TIMEOUT:?}; log:\n{}", tail(log));
        }
    };
    Ok((child, Endpoint::parse(&url, key)?))
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Size of a directory tree in bytes (for the report: what the data costs on disk).
pub fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
