//! The servers under test, seen the same way by the load generator: Arcade
//! (`arcade serve`, started through [`crate::server::Server`]), the naive
//! Node broadcast server in `bench/realtime-baseline/`, and the wire ceiling
//! (`super::wire`). All take the same WebSocket URL and cookie and report the
//! same counters on `/v1/arcade/metrics`; they differ in how an event is
//! published (a row update over Arcade's REST API, a POST to the reference
//! servers' `/publish`).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hyper::Method;
use serde_json::{Map, Value, json};

use crate::client::{Conn, Endpoint, Req, urlencode};
use crate::server::TempDir;

pub const DB: &str = "rt";
pub const TABLE: &str = "lobby";

/// The channel a watcher of `row` subscribes to.
pub fn row_channel(row: &str) -> String {
    format!("tablesdb.{DB}.tables.{TABLE}.rows.{row}")
}

/// What Arcade sent for one row update (`events`, `channels`, `payload`), so
/// the baseline can send the very same frames: taken from a real Arcade frame
/// and re-targeted to other rows.
#[derive(Debug, Clone)]
pub struct Template {
    pub row: String,
    pub events: Vec<String>,
    pub channels: Vec<String>,
    pub payload: Map<String, Value>,
}

impl Template {
    pub fn from_frame(text: &str) -> Result<Template> {
        let v: Value = serde_json::from_str(text).context("event frame is not JSON")?;
        let data = &v["data"];
        let strings = |k: &str| -> Result<Vec<String>> {
            data[k]
                .as_array()
                .with_context(|| format!("event frame without {k}"))?
                .iter()
                .map(|x| x.as_str().map(str::to_owned).context("a non-string name"))
                .collect()
        };
        let payload = data["payload"].as_object().cloned().context("event frame without a payload object")?;
        let row = payload.get("$id").and_then(Value::as_str).context("payload without $id")?.to_owned();
        Ok(Template { row, events: strings("events")?, channels: strings("channels")?, payload })
    }

    /// The same event for another row of the table.
    pub fn for_row(&self, row: &str) -> Template {
        let swap = |s: &String| -> String {
            s.split('.').map(|seg| if seg == self.row { row } else { seg }).collect::<Vec<_>>().join(".")
        };
        let mut payload = self.payload.clone();
        payload.insert("$id".into(), Value::String(row.to_owned()));
        Template {
            row: row.to_owned(),
            events: self.events.iter().map(swap).collect(),
            channels: self.channels.iter().map(swap).collect(),
            payload,
        }
    }
}

/// How events reach the server.
pub enum Kind {
    Arcade,
    /// The baseline: frames built from these templates, one per row, with the row's read roles.
    Baseline {
        templates: Vec<(Template, Vec<String>)>,
    },
}

pub struct Backend {
    pub name: &'static str,
    pub kind: Kind,
    pub endpoint: Endpoint,
    pub pid: u32,
}

/// The counters both servers report on `/v1/arcade/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub connections: u64,
    pub subscriptions: u64,
    pub events: u64,
    pub deliveries: u64,
    pub dispatch_nanos: u64,
    /// CPU time of the same (the dispatcher thread's on Arcade, the process's on the baseline).
    pub dispatch_cpu_nanos: u64,
    /// Socket writes carrying event frames (Arcade only; 0 for the baseline).
    pub writes: u64,
}

impl Backend {
    pub fn ws_url(&self, row: &str) -> String {
        format!(
            "ws://{}/v1/realtime?project={}&channels%5B%5D={}",
            self.endpoint.addr,
            self.endpoint.project,
            urlencode(&row_channel(row))
        )
    }

    /// The request that publishes update number `n` of `row`, stamped `sent_us`.
    pub fn publish(&self, row_idx: usize, row: &str, n: u64, sent_us: u64) -> Result<Req> {
        match &self.kind {
            Kind::Arcade => {
                let body = json!({"data": {"sent_us": sent_us, "n": n}});
                let mut r = Req::post(format!("/v1/tablesdb/{DB}/tables/{TABLE}/rows/{row}"), body.to_string());
                r.method = Method::PATCH;
                Ok(r)
            }
            Kind::Baseline { templates } => {
                let (t, roles) = templates.get(row_idx).context("no template for this row")?;
                let mut payload = t.payload.clone();
                payload.insert("sent_us".into(), json!(sent_us));
                payload.insert("n".into(), json!(n));
                let body = json!({"roles": roles, "events": t.events, "channels": t.channels, "payload": payload});
                Ok(Req::post("/publish", body.to_string()))
            }
        }
    }

    pub async fn counters(&self, c: &mut Conn) -> Result<Counters> {
        let v = c.expect(Req::get("/v1/arcade/metrics"), &[200]).await?;
        let r = &v["realtime"];
        let n = |k: &str| r[k].as_u64().with_context(|| format!("metrics without realtime.{k}: {v}"));
        Ok(Counters {
            connections: n("connections")?,
            subscriptions: n("subscriptions")?,
            events: n("events")?,
            deliveries: n("deliveries")?,
            dispatch_nanos: n("dispatchNanos")?,
            dispatch_cpu_nanos: n("dispatchCpuNanos")?,
            writes: r["writes"].as_u64().unwrap_or(0),
        })
    }
}

/// Resident memory of a process, in bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc/PID/status")?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS line")?;
    let kib: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).context("unreadable VmRSS")?;
    Ok(kib * 1024)
}

/// A reference server process: the naive Node baseline
/// (`node bench/realtime-baseline/server.js`) or the wire ceiling (this
/// binary's `realtime-wire-server`). Both take a session → roles file and
/// print `baseline listening on http://…`.
pub struct NodeServer {
    child: Child,
    pub endpoint: Endpoint,
    log: PathBuf,
    _dir: TempDir,
}

impl NodeServer {
    /// Start the Node baseline; fails with advice if `npm ci` has not run.
    pub fn start(node: &Path, dir: &Path, sessions: &Map<String, Value>, project: &str) -> Result<NodeServer> {
        let script = dir.join("server.js");
        if !script.exists() {
            bail!("{} not found (run from the repository root or pass --baseline-dir)", script.display());
        }
        if !dir.join("node_modules/ws/package.json").exists() {
            bail!(
                "the baseline's packages are not installed: run `npm ci --prefix {}` (bench/run.sh does)",
                dir.display()
            );
        }
        let mut cmd = Command::new(node);
        cmd.arg(&script).args(["--port", "0", "--project", project]);
        NodeServer::spawn(cmd, sessions, project)
    }

    /// Start the wire ceiling: this very binary, on a tokio runtime with as many workers as Arcade's.
    pub fn start_wire(sessions: &Map<String, Value>, project: &str) -> Result<NodeServer> {
        let exe = std::env::current_exe().context("finding this executable")?;
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let mut cmd = Command::new(exe);
        cmd.args(["--gen-threads", &workers.to_string(), "realtime-wire-server", "--project", project]);
        NodeServer::spawn(cmd, sessions, project)
    }

    /// Run `cmd --roles FILE` and wait for its address.
    fn spawn(mut cmd: Command, sessions: &Map<String, Value>, project: &str) -> Result<NodeServer> {
        let tmp = TempDir::new("rt-reference")?;
        let roles = tmp.path().join("roles.json");
        std::fs::write(&roles, serde_json::to_vec(sessions)?).context("writing the roles file")?;
        let log = tmp.path().join("reference.log");
        let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        // SAFETY: prctl in the forked child before exec; async-signal-safe, touches no memory.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let what = format!("{cmd:?}");
        let mut child = cmd
            .arg("--roles")
            .arg(&roles)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.trim().strip_prefix("baseline listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{what} did not start; log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            }
        };
        let mut endpoint = Endpoint::parse(&url, "none")?;
        endpoint.project = project.to_owned();
        Ok(NodeServer { child, endpoint, log, _dir: tmp })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) -> Result<()> {
        if self.child.try_wait()?.is_some() {
            bail!("the baseline had already exited; log:\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
        }
        let pid = libc::pid_t::try_from(self.child.id()).context("pid out of range")?;
        // SAFETY: kill(2) on the pid of a child we own and have not reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let t0 = Instant::now();
        while self.child.try_wait()?.is_none() {
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_retarget_rows() {
        let frame = r#"{"type":"event","data":{"seq":5,"events":["tablesdb.rt.tables.lobby.rows.room1.update","rows.room1"],
            "channels":["rows","tablesdb.rt.tables.lobby.rows.room1","tablesdb.rt.tables.lobby.rows.room1.update"],
            "timestamp":"x","payload":{"$id":"room1","n":1},"subscriptions":["a"]}}"#;
        let t = Template::from_frame(frame).unwrap().for_row("room12");
        assert_eq!(t.events[0], "tablesdb.rt.tables.lobby.rows.room12.update");
        assert_eq!(t.channels[1], "tablesdb.rt.tables.lobby.rows.room12");
        assert_eq!(t.channels[0], "rows");
        assert_eq!(t.payload["$id"], "room12");
    }
}
