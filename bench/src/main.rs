//! `arcade-bench`: measures Arcade's TablesDB REST API (row creates in both
//! durability modes, point reads, an indexed `equal` query on a million rows)
//! against a baseline of plain sled writes, and prints the markdown section of
//! BENCHMARKS.md. See `bench/run.sh` for the one command that does it all.

mod baseline;
mod client;
mod load;
mod procstat;
mod report;
mod server;
mod stats;
mod workloads;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use client::Endpoint;
use load::{Spec, Workload};
use report::{Measurement, ms, num, runs_table};
use server::{Server, TempDir};

#[derive(Parser)]
#[command(name = "arcade-bench", about = "Benchmarks for Arcade's TablesDB API and the sled baseline")]
struct Cli {
    /// Load-generator threads: 0 = one current-thread tokio runtime, N = a multi-thread runtime with N workers.
    #[arg(long, global = true, default_value_t = 0)]
    gen_threads: usize,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Everything below, on fresh servers, then a markdown report on stdout.
    All(AllArgs),
    /// Row creates per second (one row per request, server-chosen ids).
    HttpCreate {
        #[command(flatten)]
        common: Common,
        /// Durability of the server we start (`durable` or `relaxed`); ignored with --server.
        #[arg(long, default_value = "durable")]
        durability: String,
    },
    /// Point reads per second (GET one row by id) after a bulk fill.
    HttpRead {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        fill: FillArgs,
    },
    /// Indexed `equal` query latency and throughput after a bulk fill.
    Query {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        fill: FillArgs,
        /// Clients for the latency measurement (1 = unloaded latency).
        #[arg(long, default_value_t = 1)]
        latency_clients: usize,
    },
    /// Plain sled inserts from this process, with and without a flush after each.
    SledBaseline(SledArgs),
}

#[derive(Args, Clone)]
struct Common {
    /// Concurrent clients, each with one keep-alive connection.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds per repetition.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Repetitions per measurement (the report gives the median).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Unmeasured warm-up seconds before the repetitions.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Use an already-running server (loopback only) instead of starting one.
    #[arg(long)]
    server: Option<String>,
    /// API key (given to the server we start, or of the --server).
    #[arg(long, default_value = "arcade-bench-key")]
    key: String,
    /// The arcade binary to start.
    #[arg(long, default_value = "target/release/arcade")]
    arcade_bin: PathBuf,
    /// Upper bound on requests per repetition, across clients.
    #[arg(long, default_value_t = 5_000_000)]
    max_requests: u64,
    /// Before each repetition, wait up to this many seconds for the machine to be quiet (0 = don't).
    #[arg(long, default_value_t = 120.0)]
    quiet_wait: f64,
}

#[derive(Args, Clone)]
struct FillArgs {
    /// Rows to load with the bulk endpoint (100 per request).
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Concurrent bulk requests while loading.
    #[arg(long, default_value_t = 16)]
    fill_clients: usize,
    /// The table is already filled with `--rows` rows by an earlier run (with --server).
    #[arg(long)]
    skip_fill: bool,
}

#[derive(Args, Clone)]
struct SledArgs {
    /// Value size in bytes (the `all` command uses Arcade's measured row size).
    #[arg(long, default_value_t = 200)]
    value_bytes: usize,
    /// Key size in bytes (Arcade's row keys are 12).
    #[arg(long, default_value_t = 12)]
    key_bytes: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Upper bound on writes per repetition.
    #[arg(long, default_value_t = 20_000_000)]
    max_writes: u64,
    /// Event record size for the transaction-batch context measurement.
    #[arg(long, default_value_t = 420)]
    event_bytes: usize,
    /// Rows per transaction in the transaction-batch context measurement.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Before each repetition, wait up to this many seconds for the machine to be quiet (0 = don't).
    #[arg(long, default_value_t = 120.0)]
    quiet_wait: f64,
}

#[derive(Args, Clone)]
struct AllArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    fill: FillArgs,
    #[arg(long, default_value_t = 1)]
    latency_clients: usize,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = if cli.gen_threads == 0 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(cli.gen_threads).enable_all().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start tokio: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli.command, cli.gen_threads)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn dispatch(cmd: Cmd, gen_threads: usize) -> Result<()> {
    match cmd {
        Cmd::All(a) => all(a, gen_threads).await,
        Cmd::HttpCreate { common, durability } => {
            let mut target = Target::new(&common, &durability)?;
            workloads::setup(&target.endpoint, target.reuse()).await?;
            let m = measure(
                &target,
                &common,
                common.clients,
                &format!("creates ({durability})"),
                Arc::new(workloads::CreateOne),
            )
            .await?;
            target.stop()?;
            print_runs(&m, "creates");
            Ok(())
        }
        Cmd::HttpRead { common, fill } => {
            let mut target = Target::new(&common, "relaxed")?;
            prepare_filled(&target, &fill, common.quiet_wait).await?;
            let m = measure(
                &target,
                &common,
                common.clients,
                "point reads",
                Arc::new(workloads::ReadOne { rows: fill.rows }),
            )
            .await?;
            target.stop()?;
            print_runs(&m, "reads");
            Ok(())
        }
        Cmd::Query { common, fill, latency_clients } => {
            let mut target = Target::new(&common, "relaxed")?;
            prepare_filled(&target, &fill, common.quiet_wait).await?;
            for (clients, no_total) in [(latency_clients, false), (latency_clients, true), (common.clients, false)] {
                let name = format!("equal query{}", if no_total { ", total=false" } else { "" });
                let work = Arc::new(workloads::EqualQuery { players: players_in(fill.rows), no_total });
                let m = measure(&target, &common, clients, &name, work).await?;
                print_runs(&m, "queries");
            }
            target.stop()?;
            Ok(())
        }
        Cmd::SledBaseline(s) => {
            for flush in [true, false] {
                let m = sled_baseline(&s, flush).await?;
                print_runs(&m, "writes");
            }
            for flush in [true, false] {
                let m = sled_tx(&s, flush).await?;
                print_runs(&m, "rows");
            }
            Ok(())
        }
    }
}

fn print_runs(m: &Measurement, unit: &str) {
    let mut out = String::new();
    runs_table(&mut out, m, unit);
    println!("{out}");
}

/// Players that have rows in a table filled with `rows` rows.
fn players_in(rows: u64) -> u64 {
    rows.clamp(1, workloads::PLAYERS)
}

/// The server under test: one we started, or one given with --server.
struct Target {
    endpoint: Endpoint,
    owned: Option<Server>,
}

impl Target {
    fn new(common: &Common, durability: &str) -> Result<Target> {
        match &common.server {
            Some(url) => Ok(Target { endpoint: Endpoint::parse(url, &common.key)?, owned: None }),
            None => {
                eprintln!("starting {} serve --durability {durability}", common.arcade_bin.display());
                let s = Server::start(&common.arcade_bin, durability, &common.key)?;
                eprintln!("  listening on {}", s.endpoint.addr);
                Ok(Target { endpoint: s.endpoint.clone(), owned: Some(s) })
            }
        }
    }

    fn pid(&self) -> Option<u32> {
        self.owned.as_ref().map(Server::pid)
    }

    fn reuse(&self) -> bool {
        self.owned.is_none()
    }

    /// Stop a server we started; returns how long the clean shutdown took.
    fn stop(&mut self) -> Result<Option<Duration>> {
        match self.owned.as_mut() {
            Some(s) => s.stop().map(Some),
            None => Ok(None),
        }
    }

    /// Add the server's log to an error.
    fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        match &self.owned {
            Some(s) => e.context(format!("server log tail:\n{}", s.log_tail())),
            None => e,
        }
    }
}

/// The machine counts as quiet below this share of one core (idle servers, the kernel, …).
const QUIET_PCT: f64 = 15.0;

/// Warm up, then `repeat` timed runs.
async fn measure(
    target: &Target,
    common: &Common,
    clients: usize,
    name: &str,
    work: Arc<dyn Workload>,
) -> Result<Measurement> {
    let spec = |secs: f64, seed: u64| Spec {
        clients,
        duration: Duration::from_secs_f64(secs),
        max_requests: common.max_requests,
        seed,
    };
    if common.warmup > 0.0 {
        eprintln!("{name}: {clients} clients, warm-up {:.0} s", common.warmup);
        load::run(&target.endpoint, &spec(common.warmup, 1_000_000), work.clone(), target.pid())
            .await
            .map_err(|e| target.explain(e))?;
    }
    let quiet = Duration::from_secs_f64(common.quiet_wait);
    let (runs, discarded) = repeat_runs(name, common.repeat, target.pid(), quiet, |i| {
        let (spec, work) = (spec(common.seconds, (i as u64 + 1) * 1000), work.clone());
        async move { load::run(&target.endpoint, &spec, work, target.pid()).await.map_err(|e| target.explain(e)) }
    })
    .await?;
    Ok(Measurement { name: name.to_owned(), clients, runs, discarded })
}

/// A repetition during which other processes used more than this share of one core is redone.
const DISTURBED_PCT: f64 = 25.0;
/// At most this many disturbed repetitions are redone per measurement; after that they count.
const MAX_REDONE: usize = 3;

/// Run `one(i)` until `repeat` undisturbed repetitions are in, each after
/// waiting for quiet. Disturbed ones are redone (at most [`MAX_REDONE`]) and
/// returned separately so the report can show them.
async fn repeat_runs<F, Fut>(
    name: &str,
    repeat: usize,
    server_pid: Option<u32>,
    quiet_wait: Duration,
    mut one: F,
) -> Result<(Vec<stats::Run>, Vec<stats::Run>)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<stats::Run>>,
{
    let (mut runs, mut discarded) = (Vec::with_capacity(repeat), Vec::new());
    let mut i = 0;
    while runs.len() < repeat {
        procstat::wait_for_quiet(server_pid, quiet_wait, QUIET_PCT).await;
        let r = one(i).await?;
        i += 1;
        let others = r.cpu.as_ref().and_then(procstat::CpuUse::others_pct).unwrap_or(0.0);
        let disturbed = others > DISTURBED_PCT && discarded.len() < MAX_REDONE;
        eprintln!(
            "{name}: run {}/{repeat}: {}/s, p50 {} ms, p99 {} ms{}",
            runs.len() + 1,
            num(r.per_second()),
            ms(r.latency_ms(0.5)),
            ms(r.latency_ms(0.99)),
            if disturbed {
                format!(" — disturbed (others used {others:.0}% of a core), redoing")
            } else {
                String::new()
            }
        );
        if disturbed {
            discarded.push(r);
        } else {
            runs.push(r);
        }
    }
    Ok((runs, discarded))
}

/// Outcome of loading the table.
struct Filled {
    rows: u64,
    run: stats::Run,
}

/// Set up the schema, load `fill.rows` rows with the bulk endpoint, check one query.
async fn prepare_filled(target: &Target, fill: &FillArgs, quiet_wait: f64) -> Result<Option<Filled>> {
    workloads::setup(&target.endpoint, target.reuse()).await?;
    let filled = if fill.skip_fill {
        None
    } else {
        let work = Arc::new(workloads::Fill::new(fill.rows));
        let requests = work.requests();
        eprintln!("loading {} rows: {requests} bulk requests, {} at a time", num(fill.rows as f64), fill.fill_clients);
        let spec =
            Spec { clients: fill.fill_clients, duration: Duration::from_secs(3600), max_requests: requests, seed: 7 };
        procstat::wait_for_quiet(target.pid(), Duration::from_secs_f64(quiet_wait), QUIET_PCT).await;
        let run = load::run(&target.endpoint, &spec, work, target.pid()).await.map_err(|e| target.explain(e))?;
        if run.ops != requests {
            bail!("the fill stopped after {} of {requests} bulk requests", run.ops);
        }
        eprintln!(
            "  loaded in {:.1} s ({} rows/s)",
            run.elapsed.as_secs_f64(),
            num(fill.rows as f64 / run.elapsed.as_secs_f64())
        );
        Some(Filled { rows: fill.rows, run })
    };
    let k = 123 % players_in(fill.rows);
    workloads::verify_query(&target.endpoint, &format!("p{k}"), workloads::matches_of(k, fill.rows)).await?;
    Ok(filled)
}

async fn sled_baseline(s: &SledArgs, flush: bool) -> Result<Measurement> {
    let dir = TempDir::new(if flush { "sled-flush" } else { "sled-noflush" })?;
    let name = format!(
        "sled insert{} ({} B key, {} B value)",
        if flush { " + flush" } else { ", no flush" },
        s.key_bytes,
        s.value_bytes
    );
    let path = dir.path().join("db");
    let (runs, discarded) = repeat_runs(&name, s.repeat, None, Duration::from_secs_f64(s.quiet_wait), |_| {
        let (path, s2) = (path.clone(), s.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                baseline::sled_writes(
                    &path,
                    s2.key_bytes,
                    s2.value_bytes,
                    flush,
                    Duration::from_secs_f64(s2.seconds),
                    s2.max_writes,
                )
            })
            .await
            .context("sled baseline thread")?
        }
    })
    .await?;
    Ok(Measurement { name, clients: 1, runs, discarded })
}

/// The transaction-batch context measurement (see `baseline::sled_tx_batches`).
async fn sled_tx(s: &SledArgs, flush: bool) -> Result<Measurement> {
    let dir = TempDir::new("sled-tx")?;
    let name = format!(
        "sled transactions like Arcade's writer: {} rows per 8-tree transaction{} ({} B rows, {} B events; latency per batch)",
        s.batch,
        if flush { " + flush per batch" } else { ", no flush" },
        s.value_bytes,
        s.event_bytes
    );
    let sizes = baseline::RowRecords { row_value: s.value_bytes, event_value: s.event_bytes };
    let path = dir.path().join("db");
    let (runs, discarded) = repeat_runs(&name, s.repeat, None, Duration::from_secs_f64(s.quiet_wait), |_| {
        let (path, s2) = (path.clone(), s.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                baseline::sled_tx_batches(
                    &path,
                    s2.batch,
                    sizes,
                    flush,
                    Duration::from_secs_f64(s2.seconds),
                    s2.max_writes,
                )
            })
            .await
            .context("sled baseline thread")?
        }
    })
    .await?;
    Ok(Measurement { name, clients: 1, runs, discarded })
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}×", a / b) } else { "n/a".into() }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**NOT met**" }
}

async fn all(a: AllArgs, gen_threads: usize) -> Result<()> {
    let c = &a.common;
    if c.server.is_some() {
        bail!("`all` starts its own servers (durable and relaxed); use the single subcommands with --server");
    }
    let started = Instant::now();
    let load_before = report::sh("uptime", &[]);
    let date = report::sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = report::sh("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !report::sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();

    // 1. Durable creates, then the shape of what the server wrote.
    let mut t = Target::new(c, "durable")?;
    workloads::setup(&t.endpoint, false).await?;
    let durable = measure(&t, c, c.clients, "creates, durable", Arc::new(workloads::CreateOne)).await?;
    let durable_stop = t.stop()?;
    let shape = match &t.owned {
        Some(s) => baseline::inspect(&s.data_dir())?,
        None => Vec::new(),
    };
    drop(t);
    let avg_value = |tree: &str, default: usize| {
        shape.iter().find(|s| s.name == tree && s.entries > 0).map(|s| s.avg_value.round() as usize).unwrap_or(default)
    };
    let (row_bytes, event_bytes) = (avg_value("rows", 200), avg_value("events", 420));

    // 2. The sled baseline with the same value size, right after, on the same disk.
    let sled_args = SledArgs {
        value_bytes: row_bytes,
        key_bytes: 12,
        seconds: c.seconds,
        repeat: c.repeat,
        max_writes: 20_000_000,
        event_bytes,
        batch: c.clients,
        quiet_wait: c.quiet_wait,
    };
    let sled_flush = sled_baseline(&sled_args, true).await?;
    let sled_noflush = sled_baseline(&sled_args, false).await?;
    // Context: sled used the way the writer uses it, at the largest batch the clients can make.
    let tx_flush = sled_tx(&sled_args, true).await?;
    let tx_noflush = sled_tx(&sled_args, false).await?;

    // 3. Relaxed creates.
    let mut t = Target::new(c, "relaxed")?;
    workloads::setup(&t.endpoint, false).await?;
    let relaxed = measure(&t, c, c.clients, "creates, relaxed", Arc::new(workloads::CreateOne)).await?;
    t.stop()?;
    drop(t);

    // 4. A million rows (relaxed, index first), then queries and point reads.
    let mut t = Target::new(c, "relaxed")?;
    let filled = prepare_filled(&t, &a.fill, c.quiet_wait).await?;
    let players = players_in(a.fill.rows);
    let q = |no_total| -> Arc<dyn Workload> { Arc::new(workloads::EqualQuery { players, no_total }) };
    let q1 = measure(&t, c, a.latency_clients, "equal query (total counted)", q(false)).await?;
    let q1n = measure(&t, c, a.latency_clients, "equal query, total=false", q(true)).await?;
    let qn = measure(&t, c, c.clients, "equal query (total counted)", q(false)).await?;
    let qnn = measure(&t, c, c.clients, "equal query, total=false", q(true)).await?;
    let reads = measure(&t, c, c.clients, "point reads", Arc::new(workloads::ReadOne { rows: a.fill.rows })).await?;
    let data_bytes = t.owned.as_ref().map(|s| server::dir_bytes(&s.data_dir())).unwrap_or(0);
    let big_stop = t.stop()?;
    drop(t);
    let load_after = report::sh("uptime", &[]);

    // The report.
    let mut o = String::new();
    let gen_desc = if gen_threads == 0 {
        "one current-thread tokio runtime".to_owned()
    } else {
        format!("a multi-thread tokio runtime with {gen_threads} workers")
    };
    let _ = writeln!(o, "## TablesDB HTTP benchmark\n");
    let _ = writeln!(
        o,
        "Command: `bench/run.sh` (builds `-p arcade -p arcade-bench` in release, then runs \
         `target/release/arcade-bench{} all`). Run on {date}, commit `{commit}`{}, total time {:.0} s.\n",
        if gen_threads == 0 { String::new() } else { format!(" --gen-threads {gen_threads}") },
        if dirty { " (with uncommitted changes)" } else { "" },
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        o,
        "Load generator: {} closed-loop clients over keep-alive HTTP/1.1 (hyper), {gen_desc}, in the same \
         2-core machine as the server; only 2xx answers count and any other answer aborts the run. Each HTTP \
         measurement: {:.0} s warm-up, then {} × {:.0} s; medians below.\n",
        c.clients, c.warmup, c.repeat, c.seconds
    );
    let _ = writeln!(o, "Machine:\n\n```\n{}\n```\n", report::machine());
    let _ = writeln!(o, "Load: before `{load_before}`; after `{load_after}`.\n");

    let _ = writeln!(o, "### Summary (medians)\n");
    let _ = writeln!(o, "| measurement | median | target | verdict | vs sled baseline |");
    let _ = writeln!(o, "|---|---:|---|---|---|");
    let (df, nf) = (sled_flush.rate(), sled_noflush.rate());
    let _ = writeln!(
        o,
        "| row creates/s, durable, {} clients | {} | ≥ 10,000 | {} | {} of insert+flush ({}/s) |",
        c.clients,
        num(durable.rate()),
        verdict(durable.rate() >= 10_000.0),
        ratio(durable.rate(), df),
        num(df)
    );
    let _ = writeln!(
        o,
        "| row creates/s, relaxed, {} clients | {} | ≥ 40,000 | {} | {} of insert without flush ({}/s) |",
        c.clients,
        num(relaxed.rate()),
        verdict(relaxed.rate() >= 40_000.0),
        ratio(relaxed.rate(), nf),
        num(nf)
    );
    let _ = writeln!(o, "| point reads/s, {} clients | {} | – | – | – |", c.clients, num(reads.rate()));
    let _ = writeln!(
        o,
        "| `equal` query on {} rows, {} client{}, p50 / p99 ms | {} / {} | p50 ≤ 1 ms | {} | – |",
        num(a.fill.rows as f64),
        a.latency_clients,
        if a.latency_clients == 1 { "" } else { "s" },
        ms(q1.p50_ms()),
        ms(q1.p99_ms()),
        verdict(q1.p50_ms() <= 1.0)
    );
    let _ = writeln!(
        o,
        "| same with `total=false`, p50 / p99 ms | {} / {} | – | – | – |",
        ms(q1n.p50_ms()),
        ms(q1n.p99_ms())
    );
    let _ = writeln!(
        o,
        "| `equal` queries/s, {} clients (p50 / p99 ms) | {} ({} / {}) | – | – | – |",
        c.clients,
        num(qn.rate()),
        ms(qn.p50_ms()),
        ms(qn.p99_ms())
    );
    let _ = writeln!(
        o,
        "| same with `total=false` | {} ({} / {}) | – | – | – |",
        num(qnn.rate()),
        ms(qnn.p50_ms()),
        ms(qnn.p99_ms())
    );
    if let Some(f) = &filled {
        let _ = writeln!(
            o,
            "| bulk load, rows/s ({} rows, 100 per request, {} concurrent requests, relaxed) | {} ({:.1} s) | – | – | – |",
            num(f.rows as f64),
            a.fill.fill_clients,
            num(f.rows as f64 / f.run.elapsed.as_secs_f64()),
            f.run.elapsed.as_secs_f64()
        );
    }
    let _ = writeln!(
        o,
        "| sled insert + flush() per write, 1 thread | {}/s (p50 {} ms) | – | – | baseline |",
        num(df),
        ms(sled_flush.p50_ms())
    );
    let _ = writeln!(o, "| sled insert, no flush, 1 thread | {}/s | – | – | context |", num(nf));
    let _ = writeln!(
        o,
        "| sled, {} rows per 8-tree transaction like the writer's, flush per batch | {} rows/s | – | – | context: storage ceiling for durable |",
        c.clients,
        num(tx_flush.rate())
    );
    let _ = writeln!(
        o,
        "| same, no flush | {} rows/s | – | – | context: storage ceiling for relaxed |",
        num(tx_noflush.rate())
    );
    let _ = writeln!(o);

    let _ = writeln!(o, "### Every run\n");
    runs_table(&mut o, &durable, "creates");
    runs_table(&mut o, &relaxed, "creates");
    runs_table(&mut o, &reads, "reads");
    runs_table(&mut o, &q1, "queries");
    runs_table(&mut o, &q1n, "queries");
    runs_table(&mut o, &qn, "queries");
    runs_table(&mut o, &qnn, "queries");
    runs_table(&mut o, &sled_flush, "writes");
    runs_table(&mut o, &sled_noflush, "writes");
    runs_table(&mut o, &tx_flush, "rows");
    runs_table(&mut o, &tx_noflush, "rows");
    if let Some(f) = &filled {
        let fm = Measurement {
            discarded: Vec::new(),
            name: "bulk load (requests of 100 rows)".into(),
            clients: a.fill.fill_clients,
            runs: vec![f.run.clone()],
        };
        runs_table(&mut o, &fm, "requests");
    }

    let _ = writeln!(o, "### What the durable server wrote\n");
    let _ = writeln!(
        o,
        "sled trees after the durable create runs ({} rows created):\n",
        num(shape.iter().find(|s| s.name == "rows").map(|s| s.entries as f64).unwrap_or(0.0))
    );
    let _ = writeln!(o, "| tree | entries | avg key B | avg value B |");
    let _ = writeln!(o, "|---|---:|---:|---:|");
    for s in &shape {
        let _ = writeln!(o, "| {} | {} | {:.1} | {:.1} |", s.name, num(s.entries as f64), s.avg_key, s.avg_value);
    }
    let _ = writeln!(
        o,
        "\nThe sled baseline writes {} B values under 12 B keys (the average row record above), one insert per write.\n",
        row_bytes
    );
    let stop_s = |d: Option<Duration>| d.map(|d| format!("{:.1} s", d.as_secs_f64())).unwrap_or_else(|| "n/a".into());
    let _ = writeln!(
        o,
        "Shutdown (SIGTERM → exit 0): durable server {}, million-row server {} (data dir {:.0} MiB).\n",
        stop_s(durable_stop),
        stop_s(big_stop),
        data_bytes as f64 / (1u64 << 20) as f64
    );

    let not_quiet = procstat::NOT_QUIET.load(std::sync::atomic::Ordering::Relaxed);
    let _ = writeln!(
        o,
        "Each repetition waited (up to {:.0} s) for other processes to be quiet (< {QUIET_PCT:.0}% of a core); \
         {}. The *other CPU* column is what processes other than the server and the generator used during the \
         run. A repetition during which they used more than {DISTURBED_PCT:.0}% of a core was redone (at most \
         {MAX_REDONE} times per measurement) and is listed as `x…` in the tables, not counted.\n",
        c.quiet_wait,
        if not_quiet == 0 {
            "every one found it quiet".to_owned()
        } else {
            format!("{not_quiet} started without it going quiet")
        }
    );
    let stale = workloads::STALE_READS.load(std::sync::atomic::Ordering::Relaxed);
    if stale > 0 {
        let _ = writeln!(
            o,
            "Setup saw {stale} stale read(s): a GET of an index or column answered 404 right after its creation \
             was acknowledged (retried; see the notes).\n"
        );
    }
    print!("{o}");
    if let Some(path) = &a.out {
        std::fs::write(path, &o).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
