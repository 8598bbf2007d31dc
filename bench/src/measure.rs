//! Measuring one thing well: the server under test (started here or given),
//! warm-up and repetitions that wait for a quiet machine and redo disturbed
//! runs, the bulk fill, and the sled baselines wrapped as measurements.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::client::Endpoint;
use crate::load::{self, Spec, Workload};
use crate::report::{Measurement, ms, num};
use crate::server::{Server, TempDir};
use crate::{Common, FillArgs, SledArgs, baseline, players_in, procstat, stats, workloads};

/// The server under test: one we started, or one given with --server.
pub struct Target {
    pub endpoint: Endpoint,
    pub owned: Option<Server>,
}

impl Target {
    pub fn new(common: &Common, durability: &str) -> Result<Target> {
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

    pub fn pid(&self) -> Option<u32> {
        self.owned.as_ref().map(Server::pid)
    }

    pub fn reuse(&self) -> bool {
        self.owned.is_none()
    }

    /// Stop a server we started; returns how long the clean shutdown took.
    pub fn stop(&mut self) -> Result<Option<Duration>> {
        match self.owned.as_mut() {
            Some(s) => s.stop().map(Some),
            None => Ok(None),
        }
    }

    /// Add the server's log to an error.
    pub fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        match &self.owned {
            Some(s) => e.context(format!("server log tail:\n{}", s.log_tail())),
            None => e,
        }
    }
}

/// The machine counts as quiet below this share of one core (idle servers, the kernel, …).
pub const QUIET_PCT: f64 = 15.0;

/// Warm up, then `repeat` timed runs.
pub async fn measure(
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
pub const DISTURBED_PCT: f64 = 25.0;
/// At most this many disturbed repetitions are redone per measurement; after that they count.
pub const MAX_REDONE: usize = 3;

/// Run `one(i)` until `repeat` undisturbed repetitions are in, each after
/// waiting for quiet. Disturbed ones are redone (at most [`MAX_REDONE`]) and
/// returned separately so the report can show them.
pub async fn repeat_runs<F, Fut>(
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
pub struct Filled {
    pub rows: u64,
    pub run: stats::Run,
}

/// Set up the schema, load `fill.rows` rows with the bulk endpoint, check one query.
pub async fn prepare_filled(target: &Target, fill: &FillArgs, quiet_wait: f64) -> Result<Option<Filled>> {
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

pub async fn sled_baseline(s: &SledArgs, flush: bool) -> Result<Measurement> {
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

/// How the writer groups its writes, in words.
pub fn layout_words(layout: baseline::Layout) -> &'static str {
    match layout {
        baseline::Layout::SingleTree => "one log append, then plain inserts into one tree",
        baseline::Layout::TreePerLogical => "one transaction over the trees",
    }
}

/// The context measurement: sled written the way Arcade's writer writes (see `baseline::sled_groups`).
pub async fn sled_writer_like(s: &SledArgs, layout: baseline::Layout, flush: bool) -> Result<Measurement> {
    let dir = TempDir::new("sled-groups")?;
    let name = format!(
        "sled like Arcade's writer: groups of {} rows, 4 records per row, {} per group{} ({} B rows, {} B events; \
         latency per group)",
        s.batch,
        layout_words(layout),
        if flush { ", synced per group" } else { ", no sync" },
        s.value_bytes,
        s.event_bytes
    );
    let sizes = baseline::RowRecords { row_value: s.value_bytes, event_value: s.event_bytes };
    let path = dir.path().join("db");
    let (runs, discarded) = repeat_runs(&name, s.repeat, None, Duration::from_secs_f64(s.quiet_wait), |_| {
        let (path, s2) = (path.clone(), s.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                baseline::sled_groups(
                    &path,
                    layout,
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
