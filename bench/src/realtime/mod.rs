//! `arcade-bench realtime`: Arcade's `/v1/realtime` fan-out under 10,000
//! WebSocket clients, and the same load against a naive Node broadcast server
//! (`bench/realtime-baseline/`) as the baseline.
//!
//! The scenario, the same for both servers:
//! - `--clients` users (created with the Users API, each with a session) are
//!   spread over `--rooms` rooms; room k has one row in `rt.lobby` that only
//!   members of k may read (`read("label:r<k>")`), and each user watches it
//!   (`channels[]=tablesdb.rt.tables.lobby.rows.room<k>` in the URL, the
//!   session in the cookie). `--intruders` more clients (half of them users
//!   of no room, half guests) watch room rows too and must receive nothing.
//! - Memory: the server's RSS before the clients connect and with all of them
//!   connected and idle gives the cost of an idle connection.
//! - Each client then adds `--extra-subs` subscriptions with a `subscribe`
//!   message (rows nobody writes), for ≥ 100,000 subscriptions in all, and
//!   `--quiet-events` updates of a row nobody watches measure the cost of an
//!   event without a matching subscriber (the server's own dispatch timer).
//! - Deliveries/s: row updates as fast as the clients take them, with a
//!   bounded number of deliveries outstanding (no queue ever overflows), over
//!   `--repeat` × `--seconds`. Latency: updates at a fixed rate that makes
//!   `--rate` deliveries/s. Latency is measured from the moment the publisher
//!   sends the update (stamped in the row) to the moment a client has read the
//!   frame: it includes the HTTP write and, for Arcade, the commit to the log.
//! - Every run ends only when every expected delivery has arrived, exactly
//!   once per watcher, and nothing reached a client without read permission.

mod backend;
mod fleet;
mod hist;
mod publish;
mod report;
mod setup;
mod wire;

pub use wire::{WireArgs, serve as serve_wire};

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::measure::{QUIET_PCT, repeat_runs};
use crate::procstat::{self, Snapshot};
use crate::report::{Measurement, num};
use crate::server::Server;
use crate::stats::Run;
use backend::{Backend, Counters, Kind, NodeServer, Template, rss_bytes};
use fleet::{ClientSpec, Fleet};
use publish::{Paced, Publisher};

#[derive(Args, Clone, Debug)]
pub struct RealtimeArgs {
    /// WebSocket clients that may read what they watch.
    #[arg(long, default_value_t = 10_000)]
    pub clients: usize,
    /// Rooms (rows) the clients are spread over: each event reaches clients / rooms of them.
    #[arg(long, default_value_t = 10)]
    pub rooms: usize,
    /// More clients without read permission on what they watch (half users of no room, half guests).
    #[arg(long, default_value_t = 100)]
    pub intruders: usize,
    /// Subscriptions each client adds with a `subscribe` message before the throughput runs.
    #[arg(long, default_value_t = 9)]
    pub extra_subs: usize,
    /// Seconds per throughput and latency repetition.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Repetitions of each (the report gives the median).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Unmeasured warm-up seconds before the throughput runs.
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    /// Deliveries outstanding (published, not yet received) at most during the throughput runs.
    #[arg(long, default_value_t = 200_000)]
    pub window: u64,
    /// Deliveries per second of the fixed-rate latency runs.
    #[arg(long, default_value_t = 100_000.0)]
    pub rate: f64,
    /// Deliveries per second of a second, lighter fixed-rate latency run (0 = skip it).
    #[arg(long, default_value_t = 50_000.0)]
    pub low_rate: f64,
    /// Events on a row nobody watches, for the cost of a non-matching event.
    #[arg(long, default_value_t = 5_000)]
    pub quiet_events: u64,
    /// HTTP connections publishing events (enough that publishing never limits the throughput runs).
    #[arg(long, default_value_t = 64)]
    pub writers: usize,
    /// WebSocket handshakes in flight while connecting.
    #[arg(long, default_value_t = 128)]
    pub connect_concurrency: usize,
    /// Before each repetition, wait up to this many seconds for the machine to be quiet (0 = don't).
    #[arg(long, default_value_t = 120.0)]
    pub quiet_wait: f64,
    /// Durability of the Arcade server.
    #[arg(long, default_value = "durable")]
    pub durability: String,
    /// The arcade binary to start.
    #[arg(long, default_value = "target/release/arcade")]
    pub arcade_bin: PathBuf,
    /// API key given to the server.
    #[arg(long, default_value = "arcade-bench-key")]
    pub key: String,
    /// The baseline's directory (server.js, node_modules from `npm ci`).
    #[arg(long, default_value = "bench/realtime-baseline")]
    pub baseline_dir: PathBuf,
    /// The node binary for the baseline.
    #[arg(long, default_value = "node")]
    pub node: PathBuf,
    /// Stop each server right after the idle-memory measurement (for memory work; no report).
    #[arg(long)]
    pub memory_only: bool,
    /// Skip the baseline (the report then has no ratio).
    #[arg(long)]
    pub no_baseline: bool,
    /// Skip the wire ceiling (`realtime-wire-server`).
    #[arg(long)]
    pub no_wire: bool,
    /// Also write the report to this file (see --append).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Append to --out instead of replacing it (bench/run.sh adds this section after `all`'s).
    #[arg(long)]
    pub append: bool,
}

/// Everything measured on one server.
pub struct Outcome {
    pub clients: usize,
    pub intruders: usize,
    pub fanout: Vec<u64>,
    pub connect_secs: f64,
    pub rss_before: u64,
    pub rss_idle: u64,
    pub rss_subscribed: u64,
    pub rss_after: u64,
    pub subscriptions: u64,
    pub quiet: Counters,
    pub frame_bytes: f64,
    pub throughput: Measurement,
    pub paced: Measurement,
    pub paced_events: Vec<Paced>,
    /// The lighter fixed-rate runs (`--low-rate`).
    pub paced_low: Option<Measurement>,
    /// Event frames per socket write the server reported (0: not reported),
    /// in the throughput runs, the fixed-rate runs and the lighter ones.
    pub frames_per_write: [f64; 3],
    pub checked_deliveries: u64,
    pub template: Option<Template>,
    pub setup_secs: f64,
}

impl Outcome {
    pub fn rss_per_idle(&self) -> f64 {
        self.rss_idle.saturating_sub(self.rss_before) as f64 / (self.clients + self.intruders).max(1) as f64
    }
    pub fn rss_per_subscribed(&self) -> f64 {
        self.rss_subscribed.saturating_sub(self.rss_before) as f64 / (self.clients + self.intruders).max(1) as f64
    }
    /// Wall-clock dispatch time per event nobody watches.
    pub fn ns_per_quiet_event(&self) -> f64 {
        if self.quiet.events == 0 { 0.0 } else { self.quiet.dispatch_nanos as f64 / self.quiet.events as f64 }
    }
    /// CPU time of the same.
    pub fn cpu_ns_per_quiet_event(&self) -> f64 {
        if self.quiet.events == 0 { 0.0 } else { self.quiet.dispatch_cpu_nanos as f64 / self.quiet.events as f64 }
    }
}

/// Raise this process's open-file limit (children inherit it) to at least `want`.
fn raise_nofile(want: u64) -> Result<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            bail!("getrlimit: {}", std::io::Error::last_os_error());
        }
        if lim.rlim_cur >= want {
            return Ok(lim.rlim_cur);
        }
        // Root may raise the hard limit too; otherwise go as far as the hard limit allows.
        let raised = libc::rlimit { rlim_cur: want, rlim_max: lim.rlim_max.max(want) };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return Ok(want);
        }
        let capped = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &capped) != 0 {
            bail!("setrlimit: {}", std::io::Error::last_os_error());
        }
        Ok(lim.rlim_max)
    }
}

pub async fn run(a: RealtimeArgs, gen_threads: usize) -> Result<()> {
    if a.rooms == 0 || a.clients < a.rooms {
        bail!("need at least one client per room");
    }
    let total = (a.clients + a.intruders) as u64;
    let nofile = raise_nofile(total + 1024)?;
    if nofile < total + 256 {
        bail!("the open-file limit is {nofile}, too low for {total} connections (raise `ulimit -n`)");
    }
    let started = Instant::now();
    let load_before = crate::report::sh("uptime", &[]);
    let date = crate::report::sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = crate::report::sh("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !crate::report::sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();

    // Arcade.
    eprintln!("realtime: starting {} serve --durability {}", a.arcade_bin.display(), a.durability);
    let extra: Vec<String> =
        ["--realtime-connects-per-minute", "0", "--realtime-messages-per-minute", "0"].map(String::from).to_vec();
    let mut server = Server::start_with(&a.arcade_bin, &a.durability, &a.key, &extra)?;
    let t0 = Instant::now();
    setup::schema(&server.endpoint, a.rooms).await?;
    let outsiders = a.intruders / 2;
    let labels: Vec<String> = (0..a.clients)
        .map(|i| setup::room_label(i % a.rooms))
        .chain((0..outsiders).map(|_| setup::OUTSIDER.to_owned()))
        .collect();
    eprintln!("realtime: creating {} users with sessions", labels.len());
    let users = setup::users(&server.endpoint, &labels, 16).await?;
    let setup_secs = t0.elapsed().as_secs_f64();
    eprintln!("  done in {setup_secs:.1} s");
    let arcade = Backend { name: "Arcade", kind: Kind::Arcade, endpoint: server.endpoint.clone(), pid: server.pid() };
    let mut arcade_out = match scenario(&arcade, &a, &users).await {
        Ok(o) => o,
        Err(e) => return Err(e.context(format!("server log tail:\n{}", server.log_tail()))),
    };
    arcade_out.setup_secs = setup_secs;
    server.stop()?;
    drop(server);

    // The reference servers, with the frames Arcade sent.
    let template = arcade_out.template.clone().context("no event frame was captured from Arcade")?;
    let mut templates: Vec<(Template, Vec<String>)> = (0..a.rooms)
        .map(|k| (template.for_row(&setup::room_row(k)), vec![format!("label:{}", setup::room_label(k))]))
        .collect();
    templates.push((template.for_row(setup::QUIET_ROW), vec!["users".to_owned()]));
    let roles = setup::roles_map(&users);
    let baseline_out = if a.no_baseline {
        None
    } else {
        eprintln!("realtime: starting the baseline ({} {})", a.node.display(), a.baseline_dir.display());
        let node = NodeServer::start(&a.node, &a.baseline_dir, &roles, "local")?;
        Some(reference(node, "baseline (Node ws)", templates.clone(), &a, &users).await?)
    };
    let wire_out = if a.no_wire {
        None
    } else {
        eprintln!("realtime: starting the wire ceiling (arcade-bench realtime-wire-server)");
        let wire = NodeServer::start_wire(&roles, "local")?;
        Some(reference(wire, "wire ceiling (Rust)", templates, &a, &users).await?)
    };

    let md = report::section(&report::Context {
        args: &a,
        gen_threads,
        date,
        commit,
        dirty,
        load_before,
        load_after: crate::report::sh("uptime", &[]),
        node_version: crate::report::sh(&a.node.to_string_lossy(), &["--version"]),
        total_secs: started.elapsed().as_secs_f64(),
        arcade: &arcade_out,
        baseline: baseline_out.as_ref(),
        wire: wire_out.as_ref(),
    });
    print!("{md}");
    if let Some(path) = &a.out {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(a.append)
            .truncate(!a.append)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        f.write_all(md.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The scenario on a reference server (published to with `templates`), then stop it.
async fn reference(
    mut server: NodeServer,
    name: &'static str,
    templates: Vec<(Template, Vec<String>)>,
    a: &RealtimeArgs,
    users: &[User],
) -> Result<Outcome> {
    let b = Backend { name, kind: Kind::Baseline { templates }, endpoint: server.endpoint.clone(), pid: server.pid() };
    let out = scenario(&b, a, users).await?;
    server.stop()?;
    Ok(out)
}

/// Settle, then the server's RSS.
async fn settled_rss(pid: u32) -> Result<u64> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    rss_bytes(pid)
}

async fn scenario(b: &Backend, a: &RealtimeArgs, users: &[User]) -> Result<Outcome> {
    let quiet = Duration::from_secs_f64(a.quiet_wait);
    let mut http = b.endpoint.connect().await?;
    procstat::wait_for_quiet(Some(b.pid), quiet, QUIET_PCT).await;
    let rss_before = settled_rss(b.pid).await?;

    // The clients: watchers first (client i watches room i % rooms), then the intruders.
    let rows: Vec<String> = (0..a.rooms).map(setup::room_row).collect();
    let mut specs: Vec<ClientSpec> = (0..a.clients)
        .map(|i| {
            let row = &rows[i % a.rooms];
            ClientSpec { url: b.ws_url(row), session: Some(users[i].secret.clone()), row: Some(row.clone()) }
        })
        .collect();
    for j in 0..a.intruders {
        let row = &rows[j % a.rooms];
        let session = if j < a.intruders / 2 { users.get(a.clients + j).map(|u| u.secret.clone()) } else { None };
        specs.push(ClientSpec { url: b.ws_url(row), session, row: None });
    }
    let mut fanout = vec![0u64; a.rooms];
    for i in 0..a.clients {
        fanout[i % a.rooms] += 1;
    }
    eprintln!("{}: connecting {} clients", b.name, specs.len());
    let t0 = Instant::now();
    let mut fleet = Fleet::connect(specs, &b.endpoint.project, a.connect_concurrency).await?;
    let connect_secs = t0.elapsed().as_secs_f64();
    let rss_idle = settled_rss(b.pid).await?;
    eprintln!(
        "  connected in {connect_secs:.1} s; server RSS {} → {} MiB ({:.1} KiB per connection)",
        rss_before >> 20,
        rss_idle >> 20,
        rss_idle.saturating_sub(rss_before) as f64 / 1024.0 / fleet.len() as f64
    );

    if a.memory_only {
        fleet.close().await;
        bail!("--memory-only: stopped after the idle-memory measurement");
    }

    // Every watcher gets exactly its room's event, nobody else anything.
    let publisher = Publisher::new(b, rows.clone(), fanout.clone(), a.writers).await?;
    publisher.each_room_once().await?;
    fleet.wait_delivered(publisher.expected(), Duration::from_secs(60)).await?;
    check_counts(&fleet, &publisher, a)?;
    let template = fleet.sample_frame();

    // Many subscriptions; then events nobody watches.
    fleet.subscribe_extra(a.extra_subs, a.connect_concurrency).await?;
    let rss_subscribed = settled_rss(b.pid).await?;
    let c0 = b.counters(&mut http).await?;
    let delivered0 = fleet.delivered();
    procstat::wait_for_quiet(Some(b.pid), quiet, QUIET_PCT).await;
    publisher.quiet(a.quiet_events).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let c1 = loop {
        let c = b.counters(&mut http).await?;
        if c.events >= c0.events + a.quiet_events || Instant::now() > deadline {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if c1.events < c0.events + a.quiet_events {
        bail!("{}: only {} of {} quiet events were dispatched", b.name, c1.events - c0.events, a.quiet_events);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    fleet.check()?;
    if fleet.delivered() != delivered0 {
        bail!("{}: events on a row nobody watches were delivered", b.name);
    }
    let quiet_c = Counters {
        connections: c1.connections,
        subscriptions: c1.subscriptions,
        events: c1.events - c0.events,
        deliveries: c1.deliveries - c0.deliveries,
        dispatch_nanos: c1.dispatch_nanos - c0.dispatch_nanos,
        dispatch_cpu_nanos: c1.dispatch_cpu_nanos - c0.dispatch_cpu_nanos,
        writes: c1.writes - c0.writes,
    };
    eprintln!(
        "  {} subscriptions; {} events nobody watches: {:.2} µs CPU ({:.2} µs wall) each in dispatch",
        num(quiet_c.subscriptions as f64),
        num(quiet_c.events as f64),
        quiet_c.dispatch_cpu_nanos as f64 / quiet_c.events.max(1) as f64 / 1000.0,
        quiet_c.dispatch_nanos as f64 / quiet_c.events.max(1) as f64 / 1000.0
    );

    // Throughput.
    let bytes0 = (fleet.bytes(), fleet.delivered());
    if a.warmup > 0.0 {
        eprintln!("{}: warm-up {:.0} s", b.name, a.warmup);
        window_run(b, &fleet, &publisher, a.window, a.warmup).await?;
    }
    let name =
        format!("{}: deliveries/s, as fast as the clients read ({} outstanding at most)", b.name, num(a.window as f64));
    let writes = std::sync::Mutex::new(Writes::default());
    let (runs, discarded) = repeat_runs(&name, a.repeat, Some(b.pid), quiet, |_| {
        let writes = &writes;
        let (fleet, publisher) = (&fleet, &publisher);
        async move {
            let (run, w) = window_run(b, fleet, publisher, a.window, a.seconds).await?;
            if let Ok(mut all) = writes.lock() {
                all.add(w);
            }
            Ok(run)
        }
    })
    .await?;
    let throughput = Measurement { name, clients: fleet.len(), runs, discarded };
    let throughput_fpw = writes.lock().map(|w| w.frames_per_write()).unwrap_or(0.0);
    let frame_bytes = (fleet.bytes() - bytes0.0) as f64 / (fleet.delivered() - bytes0.1).max(1) as f64;

    // Latency at fixed delivery rates.
    let per_event = a.clients as f64 / a.rooms as f64;
    let paced_log = std::sync::Mutex::new(Vec::new());
    let (paced, paced_fpw) = paced_measurement(b, a, &fleet, &publisher, a.rate, per_event, quiet, &paced_log).await?;
    let (paced_low, low_fpw) = if a.low_rate > 0.0 {
        let (m, fpw) = paced_measurement(b, a, &fleet, &publisher, a.low_rate, per_event, quiet, &paced_log).await?;
        (Some(m), fpw)
    } else {
        (None, 0.0)
    };
    check_counts(&fleet, &publisher, a)?;
    let checked_deliveries = fleet.delivered();
    let rss_after = settled_rss(b.pid).await?;
    fleet.close().await;
    Ok(Outcome {
        clients: a.clients,
        intruders: a.intruders,
        fanout,
        connect_secs,
        rss_before,
        rss_idle,
        rss_subscribed,
        rss_after,
        subscriptions: quiet_c.subscriptions,
        quiet: quiet_c,
        frame_bytes,
        throughput,
        paced,
        paced_events: paced_log.into_inner().unwrap_or_default(),
        paced_low,
        frames_per_write: [throughput_fpw, paced_fpw, low_fpw],
        checked_deliveries,
        template,
        setup_secs: 0.0,
    })
}

use setup::User;

/// Every watcher received exactly the events of its room; intruders nothing.
fn check_counts(fleet: &Fleet, publisher: &Publisher<'_>, a: &RealtimeArgs) -> Result<()> {
    for i in 0..fleet.len() {
        let want = if i < a.clients { publisher.published(i % a.rooms) } else { 0 };
        let got = fleet.per_client(i);
        if got != want {
            bail!("client {i} received {got} events, expected {want}");
        }
    }
    Ok(())
}

/// Event frames and the socket writes that carried them, as the server counts them.
#[derive(Debug, Default, Clone, Copy)]
struct Writes {
    frames: u64,
    writes: u64,
}

impl Writes {
    fn between(c0: &Counters, c1: &Counters) -> Writes {
        Writes { frames: c1.deliveries.saturating_sub(c0.deliveries), writes: c1.writes.saturating_sub(c0.writes) }
    }
    fn add(&mut self, w: Writes) {
        self.frames += w.frames;
        self.writes += w.writes;
    }
    /// 0 when the server does not count its writes (the Node baseline).
    fn frames_per_write(&self) -> f64 {
        if self.writes == 0 { 0.0 } else { self.frames as f64 / self.writes as f64 }
    }
}

/// The fixed-rate runs at `rate` deliveries/s: the measurement and the frames per write.
#[allow(clippy::too_many_arguments)]
async fn paced_measurement(
    b: &Backend,
    a: &RealtimeArgs,
    fleet: &Fleet,
    publisher: &Publisher<'_>,
    rate: f64,
    per_event: f64,
    quiet: Duration,
    paced_log: &std::sync::Mutex<Vec<Paced>>,
) -> Result<(Measurement, f64)> {
    let events_per_second = rate / per_event;
    let name = format!(
        "{}: latency at {} deliveries/s ({:.0} events/s × {:.0} watchers)",
        b.name,
        num(rate),
        events_per_second,
        per_event
    );
    let writes = std::sync::Mutex::new(Writes::default());
    let (runs, discarded) = repeat_runs(&name, a.repeat, Some(b.pid), quiet, |_| {
        let writes = &writes;
        async move {
            let (run, paced, w) = paced_run(b, fleet, publisher, events_per_second, a.seconds).await?;
            if let Ok(mut l) = paced_log.lock() {
                l.push(paced);
            }
            if let Ok(mut all) = writes.lock() {
                all.add(w);
            }
            Ok(run)
        }
    })
    .await?;
    let fpw = writes.lock().map(|w| w.frames_per_write()).unwrap_or(0.0);
    Ok((Measurement { name, clients: fleet.len(), runs, discarded }, fpw))
}

/// One closed-loop throughput run; ends when every published event has reached every watcher.
async fn window_run(
    b: &Backend,
    fleet: &Fleet,
    publisher: &Publisher<'_>,
    window: u64,
    secs: f64,
) -> Result<(Run, Writes)> {
    fleet.check()?;
    let base = fleet.delivered();
    fleet.reset_latency();
    let mut http = b.endpoint.connect().await?;
    let c0 = b.counters(&mut http).await?;
    let before = Snapshot::take(Some(b.pid));
    let t0 = Instant::now();
    publisher.closed_loop(fleet, window, Duration::from_secs_f64(secs)).await?;
    let elapsed = t0.elapsed();
    let got = fleet.delivered() - base;
    let after = Snapshot::take(Some(b.pid));
    let latencies_us = fleet.take_latency();
    fleet.wait_delivered(publisher.expected(), Duration::from_secs(60)).await?;
    let w = Writes::between(&c0, &b.counters(&mut http).await?);
    Ok((Run { ops: got, elapsed, latencies_us, cpu: Some(before.until(&after)) }, w))
}

/// One fixed-rate run: deliveries counted over the schedule, latency of every delivery.
async fn paced_run(
    b: &Backend,
    fleet: &Fleet,
    publisher: &Publisher<'_>,
    events_per_second: f64,
    secs: f64,
) -> Result<(Run, Paced, Writes)> {
    fleet.check()?;
    let base = fleet.delivered();
    fleet.reset_latency();
    let mut http = b.endpoint.connect().await?;
    let c0 = b.counters(&mut http).await?;
    let before = Snapshot::take(Some(b.pid));
    let t0 = Instant::now();
    let paced = publisher.fixed_rate(fleet, events_per_second, Duration::from_secs_f64(secs)).await?;
    fleet.wait_delivered(publisher.expected(), Duration::from_secs(60)).await?;
    let elapsed = t0.elapsed();
    let after = Snapshot::take(Some(b.pid));
    let latencies_us = fleet.take_latency();
    let w = Writes::between(&c0, &b.counters(&mut http).await?);
    let run = Run { ops: fleet.delivered() - base, elapsed, latencies_us, cpu: Some(before.until(&after)) };
    Ok((run, paced, w))
}
