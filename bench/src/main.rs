//! `arcade-bench`: measures Arcade's TablesDB REST API (row creates in both
//! durability modes, point reads, an indexed `equal` query on a million rows)
//! against a baseline of plain sled writes, and prints the markdown section of
//! BENCHMARKS.md. See `bench/run.sh` for the one command that does it all.

mod baseline;
mod client;
mod functions;
mod load;
mod measure;
mod procstat;
mod realtime;
mod report;
mod server;
mod stats;
mod suite;
mod workloads;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use measure::{Target, measure, prepare_filled, sled_baseline, sled_writer_like};
use report::{Measurement, runs_table};

/// The server's allocator, so that in-process measurements of the runtime
/// (`functions`) allocate as the server does.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Point reads per second (GET one row by id) after a bulk fill (the server we start is relaxed, to fill fast).
    HttpRead {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        fill: FillArgs,
    },
    /// `GET /v1/ping` per second: the HTTP stack alone, the ceiling for every other endpoint on this machine.
    HttpPing {
        #[command(flatten)]
        common: Common,
    },
    /// Indexed `equal` query latency and throughput after a bulk fill (the server we start is relaxed, to fill fast).
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
    /// Realtime fan-out: 10,000 WebSocket clients on Arcade, then on a naive Node `ws` server (the baseline).
    Realtime(realtime::RealtimeArgs),
    /// The realtime benchmark's wire-ceiling server (started by `realtime`; not for use by hand).
    #[command(hide = true)]
    RealtimeWireServer(realtime::WireArgs),
    /// The function runtime: executions over HTTP and in-process, restarts, the native baseline.
    Functions(functions::FunctionsArgs),
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
    /// Write like the single-tree store (one apply_batch per group) instead of a transaction over 9 trees.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    single_tree: bool,
}

impl SledArgs {
    fn layout(&self) -> baseline::Layout {
        if self.single_tree { baseline::Layout::SingleTree } else { baseline::Layout::TreePerLogical }
    }
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
        Cmd::All(a) => suite::all(a, gen_threads).await,
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
        Cmd::HttpPing { common } => {
            let mut target = Target::new(&common, "relaxed")?;
            let m = measure(&target, &common, common.clients, "ping", Arc::new(workloads::Ping)).await?;
            target.stop()?;
            print_runs(&m, "requests");
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
        Cmd::Functions(a) => functions::run(a).await,
        Cmd::Realtime(a) => realtime::run(a, gen_threads).await,
        Cmd::RealtimeWireServer(a) => realtime::serve_wire(a).await,
        Cmd::SledBaseline(s) => {
            for flush in [true, false] {
                let m = sled_baseline(&s, flush).await?;
                print_runs(&m, "writes");
            }
            for flush in [true, false] {
                let m = sled_writer_like(&s, s.layout(), flush).await?;
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
