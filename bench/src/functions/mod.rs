//! `arcade-bench functions`: the function runtime (issue 4's targets) over
//! HTTP against the real binary and in-process against the same data, with
//! a native build of `processGameResult` as the baseline, and the markdown
//! section for BENCHMARKS.md.
//!
//! Order: start a server on a fresh data directory; create the casino
//! tables, deploy `noop` and `processGameResult` (the compile is timed), make
//! players with sessions; measure executions over HTTP, with a 1-client row
//! create and read on the same server as the floors under the 1-client
//! execution; restart the server on the same directory several times and
//! time the first executions (compiled components from the disk cache), then
//! again with the cache removed (compiled on first use); stop it and open the
//! same directory in this process for the in-process and native measurements.

mod http;
mod inproc;
mod native;

/// processGameResult's game rules, the guest's own source, compiled natively for the baseline.
#[path = "../../../functions/processGameResult/src/game.rs"]
mod game;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::client::Req;
use crate::measure::{DISTURBED_PCT, MAX_REDONE, QUIET_PCT, Target, measure, repeat_runs};
use crate::report::{self, Measurement, num, runs_table};
use crate::stats::{Run, median};
use crate::{Common, procstat};
use http::{GAME, GAME_BODIES, NOOP};
use inproc::{InProc, http_call, inproc_player};

#[derive(Args, Clone)]
pub struct FunctionsArgs {
    #[command(flatten)]
    pub common: Common,
    /// Durability of the server we start and of the in-process store.
    #[arg(long, default_value = "durable")]
    pub durability: String,
    /// The built components (`scripts/build-functions.sh` puts them there).
    #[arg(long, default_value = "functions/dist")]
    pub dist: PathBuf,
    /// Players taking turns in the HTTP processGameResult load (each has a session).
    #[arg(long, default_value_t = 256)]
    pub players: usize,
    /// Restarts for the first-execution-after-restart measurement (and again without the cache).
    #[arg(long, default_value_t = 5)]
    pub restarts: usize,
    /// Also write the report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only this part (after the setup), for quick looks: its tables, no summary.
    #[arg(long, value_enum)]
    pub only: Option<Part>,
}

#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Http,
    Restarts,
    Inproc,
}

/// First executions after one restart.
struct Restart {
    stop: Duration,
    /// Spawn until `arcade listening on …`.
    start: Duration,
    /// Ready until the first noop execution's answer (a new connection included).
    noop: Duration,
    /// Then the first processGameResult execution's answer.
    game: Duration,
}

fn msf(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn us(x_ms: f64) -> String {
    format!("{:.0}", x_ms * 1000.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**NOT met**" }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}", a / b) } else { "n/a".into() }
}

/// Stop, (remove the compiled cache,) start again, time the first executions.
async fn restarts(
    target: &mut Target,
    n: usize,
    cold: bool,
    session: &hyper::header::HeaderValue,
    quiet: Duration,
) -> Result<Vec<Restart>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let server = target.owned.as_mut().context("restarts need a server we started")?;
        let stop = server.stop()?;
        if cold {
            let dir = server.data_dir().join("compiled");
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        procstat::wait_for_quiet(None, quiet, QUIET_PCT).await;
        let start = server.restart()?;
        let ready = Instant::now();
        let mut c = server.endpoint.connect().await?;
        let e = c.expect(Req::post(http::NOOP_PATH, "{}"), &[201]).await?;
        let noop = ready.elapsed();
        if e["responseStatusCode"] != 204 {
            bail!("first noop execution after a restart: {e}");
        }
        let t = Instant::now();
        let e = c.expect(http::game_request(i, session), &[201]).await?;
        let game = t.elapsed();
        if e["responseStatusCode"] != 200 {
            bail!("first processGameResult execution after a restart: {e}");
        }
        eprintln!(
            "restart {}/{n}{}: start {:.1} ms, first noop {:.1} ms, first game {:.1} ms",
            i + 1,
            if cold { " (cache removed)" } else { "" },
            msf(start),
            msf(noop),
            msf(game)
        );
        out.push(Restart { stop, start, noop, game });
    }
    Ok(out)
}

/// Warm up, then repeated in-process runs (each after waiting for quiet).
async fn inproc_measure<F, Fut>(name: &str, clients: usize, c: &Common, mut one: F) -> Result<Measurement>
where
    F: FnMut(Duration) -> Fut,
    Fut: std::future::Future<Output = Result<Run>>,
{
    if c.warmup > 0.0 {
        eprintln!("{name}: {clients} clients, warm-up {:.0} s", c.warmup);
        one(Duration::from_secs_f64(c.warmup)).await?;
    }
    let quiet = Duration::from_secs_f64(c.quiet_wait);
    let seconds = Duration::from_secs_f64(c.seconds);
    let (runs, discarded) = repeat_runs(name, c.repeat, None, quiet, |_| one(seconds)).await?;
    Ok(Measurement { name: name.to_owned(), clients, runs, discarded })
}

/// Run `f(inproc)` on the blocking pool.
async fn blocking<T: Send + 'static>(
    ip: &Arc<InProc>,
    f: impl FnOnce(Arc<InProc>) -> Result<T> + Send + 'static,
) -> Result<T> {
    let ip = ip.clone();
    tokio::task::spawn_blocking(move || f(ip)).await.context("benchmark thread")?
}

struct InProcResults {
    runner_noop: Measurement,
    runner_game: Measurement,
    runner_native: Measurement,
    service_noop_1: Measurement,
    service_noop: Measurement,
    service_game: Measurement,
    service_native: Measurement,
    native_reruns: u64,
    load_ms: (f64, f64),
    concurrency: usize,
}

async fn in_process(a: &FunctionsArgs, data_dir: PathBuf) -> Result<InProcResults> {
    let durability = a.durability.clone();
    let ip = tokio::task::spawn_blocking(move || InProc::open(&data_dir, &durability))
        .await
        .context("opening the data directory in-process")??;
    let result = in_process_on(a, &ip).await;
    let ip2 = ip.clone();
    drop(ip);
    tokio::task::spawn_blocking(move || ip2.close()).await.context("closing the in-process store")?;
    result
}

async fn in_process_on(a: &FunctionsArgs, ip: &Arc<InProc>) -> Result<InProcResults> {
    let c = &a.common;
    let noop_call = Arc::new(http_call(None, ""));
    let call = noop_call.clone();
    let runner_noop =
        inproc_measure("no-op run: runner layer (fresh store + instantiate + call), 1 thread", 1, c, |d| {
            let call = call.clone();
            blocking(ip, move |ip| {
                inproc::single_thread(d, || {
                    let status = ip.run_wasm(&ip.noop, &call)?;
                    if status != 204 {
                        bail!("noop answered {status}");
                    }
                    Ok(())
                })
            })
        })
        .await?;

    let service_noop_1 =
        inproc_measure("no-op execution: service (Functions::execute, recorded), 1 client", 1, c, |d| {
            ip.load(1, d, |ip, _, _| async move { ip.execute(NOOP, http_call(None, ""), 204).await })
        })
        .await?;
    let service_noop = inproc_measure(
        &format!("no-op executions: service (Functions::execute, recorded), {} clients", c.clients),
        c.clients,
        c,
        |d| ip.load(c.clients, d, |ip, _, _| async move { ip.execute(NOOP, http_call(None, ""), 204).await }),
    )
    .await?;
    let service_game = inproc_measure(
        &format!("processGameResult executions, wasm: service (Functions::execute), {} clients", c.clients),
        c.clients,
        c,
        |d| {
            ip.load(c.clients, d, |ip, client, i| async move {
                let user = inproc_player(client);
                ip.execute(GAME, http_call(Some(&user), GAME_BODIES[i % 3]), 200).await
            })
        },
    )
    .await?;
    let service_native = inproc_measure(
        &format!(
            "processGameResult executions, native baseline: same lookups, slots and commit, {} clients",
            c.clients
        ),
        c.clients,
        c,
        |d| {
            ip.load(c.clients, d, |ip, client, i| async move {
                ip.execute_native(inproc_player(client), GAME_BODIES[i % 3]).await
            })
        },
    )
    .await?;

    // One game per run, no commit: the same player (with a profile by now) every time.
    let user = inproc_player(0);
    let game_calls: Arc<Vec<_>> = Arc::new(GAME_BODIES.iter().map(|b| http_call(Some(&user), b)).collect());
    let calls = game_calls.clone();
    let runner_game = inproc_measure("processGameResult run, wasm: runner layer, no commit, 1 thread", 1, c, |d| {
        let calls = calls.clone();
        blocking(ip, move |ip| {
            let mut i = 0;
            inproc::single_thread(d, || {
                i += 1;
                let status = ip.run_wasm(&ip.game, &calls[i % 3])?;
                if status != 200 {
                    bail!("processGameResult answered {status}");
                }
                Ok(())
            })
        })
    })
    .await?;
    let runner_native =
        inproc_measure("processGameResult run, native: same staging work, no commit, 1 thread", 1, c, |d| {
            let user = user.clone();
            blocking(ip, move |ip| {
                let mut i = 0;
                inproc::single_thread(d, || {
                    i += 1;
                    let status = ip.run_native(&user, GAME_BODIES[i % 3]);
                    if status != 200 {
                        bail!("native game answered {status}");
                    }
                    Ok(())
                })
            })
        })
        .await?;
    Ok(InProcResults {
        runner_noop,
        runner_game,
        runner_native,
        service_noop_1,
        service_noop,
        service_game,
        service_native,
        native_reruns: ip.native_reruns.load(Ordering::Relaxed),
        load_ms: (ip.noop.load_ms, ip.game.load_ms),
        concurrency: ip.concurrency(),
    })
}

pub async fn run(a: FunctionsArgs) -> Result<()> {
    let c = &a.common;
    if c.server.is_some() {
        bail!("`functions` starts (and restarts) its own server; --server is not supported");
    }
    let started = Instant::now();
    let load_before = report::sh("uptime", &[]);
    let date = report::sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = report::sh("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !report::sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let quiet = Duration::from_secs_f64(c.quiet_wait);

    // Pure compile time of each component with the server's engine configuration.
    let mut compile = Vec::new();
    for name in [NOOP, GAME] {
        let wasm = http::component(&a.dist, name)?;
        procstat::wait_for_quiet(None, quiet, QUIET_PCT).await;
        let times = tokio::task::spawn_blocking(move || inproc::compile_times(&wasm, 3)).await??;
        eprintln!("compile {name}: {times:.1?} ms");
        compile.push(median(&times));
    }

    // 1. A server, the schema, the deployments, the players.
    let mut t = Target::new(c, &a.durability)?;
    http::casino(&t.endpoint).await?;
    let deployed = vec![
        http::deploy(&t.endpoint, &a.dist, NOOP, &["any"]).await?,
        http::deploy(&t.endpoint, &a.dist, GAME, &["users"]).await?,
    ];
    for d in &deployed {
        eprintln!(
            "deployed {} ({} bytes) in {:.1} ms (server: compiled in {:?} ms)",
            d.function, d.wasm_bytes, d.request_ms, d.compile_ms
        );
    }
    let sessions = http::players(&t.endpoint, a.players.max(1)).await?;

    if let Some(part) = a.only {
        return only(&a, part, t, &sessions, quiet).await;
    }

    // 2. Over HTTP.
    let http = over_http(&t, c, &sessions).await?;

    // 3. Restarts: with the compiled cache, then without.
    let warm = restarts(&mut t, a.restarts.max(1), false, &sessions[0], quiet).await?;
    let cold = restarts(&mut t, a.restarts.max(1), true, &sessions[0], quiet).await?;
    let data_dir = t.owned.as_ref().map(|s| s.data_dir()).context("no server")?;
    let data_bytes = crate::server::dir_bytes(&data_dir);
    t.stop()?;

    // 4. In-process, on the same data directory.
    let ip = in_process(&a, data_dir).await?;
    drop(t);
    let load_after = report::sh("uptime", &[]);

    let o = render(&Rendered {
        a: &a,
        date,
        commit,
        dirty,
        elapsed: started.elapsed(),
        load_before,
        load_after,
        compile,
        deployed,
        http,
        warm,
        cold,
        ip,
        data_bytes,
    });
    print!("{o}");
    if let Some(path) = &a.out {
        std::fs::write(path, &o).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Everything measured over HTTP.
struct OverHttp {
    noop_1: Measurement,
    noop: Measurement,
    game: Measurement,
    /// Same server, same run, 1 client: what any durable write and any
    /// authenticated read cost, as the floor under the 1-client execution.
    create_1: Measurement,
    read_1: Measurement,
    /// `GET /v1/ping` (the HTTP stack alone), 1 client and all clients: the
    /// ceiling for any endpoint on this machine.
    ping_1: Measurement,
    ping: Measurement,
}

async fn over_http(t: &Target, c: &Common, sessions: &[hyper::header::HeaderValue]) -> Result<OverHttp> {
    crate::workloads::setup(&t.endpoint, false).await?;
    let ping_1 = measure(t, c, 1, "GET /v1/ping over HTTP", Arc::new(crate::workloads::Ping)).await?;
    let ping = measure(t, c, c.clients, "GET /v1/ping over HTTP", Arc::new(crate::workloads::Ping)).await?;
    let read_1 = measure(t, c, 1, "GET /v1/functions/noop over HTTP", Arc::new(http::GetFunction)).await?;
    let create_1 =
        measure(t, c, 1, "row creates over HTTP (durable write)", Arc::new(crate::workloads::CreateOne)).await?;
    let noop_1 = measure(t, c, 1, "no-op execution over HTTP (sync)", Arc::new(http::NoopExec)).await?;
    let noop = measure(t, c, c.clients, "no-op executions over HTTP (sync)", Arc::new(http::NoopExec)).await?;
    let game = Arc::new(http::GameExec { sessions: sessions.to_vec(), next: AtomicUsize::new(0) });
    let name = format!("processGameResult executions over HTTP (sync, {} players in turn)", sessions.len());
    let game = measure(t, c, c.clients, &name, game).await?;
    Ok(OverHttp { noop_1, noop, game, create_1, read_1, ping_1, ping })
}

/// `--only`: one part, its tables on stdout.
async fn only(
    a: &FunctionsArgs,
    part: Part,
    mut t: Target,
    sessions: &[hyper::header::HeaderValue],
    quiet: Duration,
) -> Result<()> {
    let mut o = String::new();
    match part {
        Part::Http => {
            let h = over_http(&t, &a.common, sessions).await?;
            runs_table(&mut o, &h.ping_1, "requests");
            runs_table(&mut o, &h.ping, "requests");
            runs_table(&mut o, &h.read_1, "reads");
            runs_table(&mut o, &h.create_1, "creates");
            for m in [h.noop_1, h.noop, h.game] {
                runs_table(&mut o, &m, "executions");
            }
        }
        Part::Restarts => {
            restarts(&mut t, a.restarts.max(1), false, &sessions[0], quiet).await?;
            restarts(&mut t, a.restarts.max(1), true, &sessions[0], quiet).await?;
        }
        Part::Inproc => {
            let data_dir = t.owned.as_ref().map(|s| s.data_dir()).context("no server")?;
            t.stop()?;
            let ip = in_process(a, data_dir).await?;
            for m in [
                &ip.runner_noop,
                &ip.service_noop_1,
                &ip.service_noop,
                &ip.service_game,
                &ip.service_native,
                &ip.runner_game,
                &ip.runner_native,
            ] {
                runs_table(&mut o, m, "executions");
            }
        }
    }
    print!("{o}");
    Ok(())
}

struct Rendered<'a> {
    a: &'a FunctionsArgs,
    date: String,
    commit: String,
    dirty: bool,
    elapsed: Duration,
    load_before: String,
    load_after: String,
    /// Median in-process compile time of noop and processGameResult, ms.
    compile: Vec<f64>,
    deployed: Vec<http::Deployed>,
    http: OverHttp,
    warm: Vec<Restart>,
    cold: Vec<Restart>,
    ip: InProcResults,
    data_bytes: u64,
}

fn med(v: impl Iterator<Item = f64>) -> f64 {
    median(&v.collect::<Vec<_>>())
}

fn render(r: &Rendered<'_>) -> String {
    let (a, c, ip) = (r.a, &r.a.common, &r.ip);
    let mut o = String::new();
    let _ = writeln!(o, "## Function runtime benchmark\n");
    let _ = writeln!(
        o,
        "Command: `bench/run.sh functions` (builds `-p arcade -p arcade-bench` in release and the guest functions, \
         then runs `target/release/arcade-bench functions`). Run on {}, commit `{}`{}, total time {:.0} s.\n",
        r.date,
        r.commit,
        if r.dirty { " (with uncommitted changes)" } else { "" },
        r.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        o,
        "Server: `arcade serve --durability {}` with its default function limits ({} executions at once, fuel \
         counted, 64 MiB memory and 15 s timeout per execution). HTTP load: closed-loop clients over keep-alive \
         HTTP/1.1 from one current-thread tokio runtime on the same 2 cores; only completed executions count (every \
         answer is checked) and anything else aborts the run. In-process: this process opens the data directory the \
         server used (after stopping it) with the same store, writer, `Functions` service and engine configuration, \
         on a multi-thread tokio runtime with one worker per core, as the server. Each measurement: {:.0} s \
         warm-up, then {} × {:.0} s; medians below.\n",
        a.durability, ip.concurrency, c.warmup, c.repeat, c.seconds
    );
    let _ = writeln!(o, "Machine:\n\n```\n{}\n```\n", report::machine());
    let _ = writeln!(o, "Load: before `{}`; after `{}`.\n", r.load_before, r.load_after);

    let sizes: Vec<String> =
        r.deployed.iter().map(|d| format!("`{}.wasm` {} bytes", d.function, num(d.wasm_bytes as f64))).collect();
    let _ = writeln!(
        o,
        "Components (built by `scripts/build-functions.sh`, release, `opt-level = \"s\"`, LTO): {}.\n",
        sizes.join(", ")
    );

    let _ = writeln!(o, "### Summary (medians)\n");
    let _ = writeln!(o, "| measurement | median | target | verdict | native baseline (same run) |");
    let _ = writeln!(o, "|---|---:|---|---|---|");
    let rn = &ip.runner_noop;
    let _ = writeln!(
        o,
        "| no-op execution, in-process, instantiate + call (runner layer: fresh store, WASI context, limits, \
         instance from the `InstancePre`, call; 1 thread), p50 / p99 µs | {} / {} | p50 ≤ 50 µs | {} | – |",
        us(rn.p50_ms()),
        us(rn.p99_ms()),
        verdict(rn.p50_ms() * 1000.0 <= 50.0)
    );
    let _ = writeln!(o, "| same, runs/s on 1 thread | {} | – | – | – |", num(rn.rate()));
    let sn = &ip.service_noop;
    let _ = writeln!(
        o,
        "| no-op executions/s, in-process service (`Functions::execute`: recorded, with events, {}), {} concurrent | {} | ≥ 10,000 | {} | – |",
        a.durability,
        c.clients,
        num(sn.rate()),
        verdict(sn.rate() >= 10_000.0)
    );
    let hn = &r.http.noop;
    let _ = writeln!(
        o,
        "| no-op executions/s over HTTP (sync), {} clients | {} | ≥ 10,000 | {} | – |",
        c.clients,
        num(hn.rate()),
        verdict(hn.rate() >= 10_000.0)
    );
    let _ = writeln!(
        o,
        "| ceiling, same server and run: `GET /v1/ping` (the HTTP stack alone: no store, no auth), {} clients, requests/s | {} | – | – | – |",
        c.clients,
        num(r.http.ping.rate())
    );
    let h1 = &r.http.noop_1;
    let _ = writeln!(
        o,
        "| no-op execution over HTTP (sync), 1 client, p50 / p99 µs | {} / {} | p50 ≤ 500 µs | {} | – |",
        us(h1.p50_ms()),
        us(h1.p99_ms()),
        verdict(h1.p50_ms() * 1000.0 <= 500.0)
    );
    let (c1, g1) = (&r.http.create_1, &r.http.read_1);
    let _ = writeln!(
        o,
        "| floor, same server and run, 1 client: row create (one {} write, like an execution's record), p50 / p99 µs | {} / {} | – | – | – |",
        a.durability,
        us(c1.p50_ms()),
        us(c1.p99_ms())
    );
    let _ = writeln!(
        o,
        "| floor, same server and run, 1 client: `GET /v1/functions/noop` with the key (no write), p50 / p99 µs | {} / {} | – | – | – |",
        us(g1.p50_ms()),
        us(g1.p99_ms())
    );
    let p1 = &r.http.ping_1;
    let _ = writeln!(
        o,
        "| ceiling, same server and run, 1 client: `GET /v1/ping`, p50 / p99 µs | {} / {} | – | – | – |",
        us(p1.p50_ms()),
        us(p1.p99_ms())
    );
    let s1 = &ip.service_noop_1;
    let _ = writeln!(
        o,
        "| same in-process through the service (no HTTP), 1 client, p50 / p99 µs | {} / {} | – | – | – |",
        us(s1.p50_ms()),
        us(s1.p99_ms())
    );
    let hg = &r.http.game;
    let _ = writeln!(
        o,
        "| `processGameResult` executions/s over HTTP (sync, players with sessions), {} clients | {} | ≥ 3,000 | {} | – |",
        c.clients,
        num(hg.rate()),
        verdict(hg.rate() >= 3_000.0)
    );
    let (sg, sv) = (&ip.service_game, &ip.service_native);
    let _ = writeln!(
        o,
        "| `processGameResult` executions/s, in-process service, {} concurrent (one player each) | {} | ≥ 3,000 | {} | {}/s; wasm/native = {} |",
        c.clients,
        num(sg.rate()),
        verdict(sg.rate() >= 3_000.0),
        num(sv.rate()),
        ratio(sg.rate(), sv.rate())
    );
    let (rg, rv) = (&ip.runner_game, &ip.runner_native);
    let _ = writeln!(
        o,
        "| `processGameResult` run alone (runner layer, staged writes, no commit), 1 thread: runs/s (p50 µs) | {} ({}) | – | – | {}/s ({} µs); wasm/native = {} |",
        num(rg.rate()),
        us(rg.p50_ms()),
        num(rv.rate()),
        us(rv.p50_ms()),
        ratio(rg.rate(), rv.rate())
    );
    let wn = med(r.warm.iter().map(|x| msf(x.noop)));
    let wg = med(r.warm.iter().map(|x| msf(x.game)));
    let _ = writeln!(
        o,
        "| first execution after a restart, compiled component cached on disk: ready → answer, ms (noop; then the first `processGameResult`), median of {} | {:.1} ({:.1}) | ≤ 50 ms | {} | – |",
        r.warm.len(),
        wn,
        wg,
        verdict(wn <= 50.0 && wg <= 50.0)
    );
    let _ = writeln!(
        o,
        "| same with `compiled/` removed before the restart (compiled on first use), ms | {:.1} ({:.1}) | reported | – | – |",
        med(r.cold.iter().map(|x| msf(x.noop))),
        med(r.cold.iter().map(|x| msf(x.game)))
    );
    let deploy_ms: Vec<String> = r
        .deployed
        .iter()
        .map(|d| format!("{} {} ms", d.function, d.compile_ms.map(|m| format!("{m:.1}")).unwrap_or_else(|| "?".into())))
        .collect();
    let _ = writeln!(
        o,
        "| cold compile time: at deployment (server's `buildLogs`: compile + write the cache) | {} | reported | – | – |",
        deploy_ms.join("; ")
    );
    let _ = writeln!(
        o,
        "| cold compile time: `Component::new` in-process, median of 3 (noop; processGameResult), ms | {:.1}; {:.1} | reported | – | – |",
        r.compile.first().copied().unwrap_or(0.0),
        r.compile.get(1).copied().unwrap_or(0.0)
    );
    let _ = writeln!(
        o,
        "| loading the compiled component from the cache in-process (noop; processGameResult), ms | {:.2}; {:.2} | – | – | – |",
        ip.load_ms.0, ip.load_ms.1
    );
    let _ = writeln!(
        o,
        "| server start on that data directory (spawn → `arcade listening`), ms | {:.0} | – | – | – |\n",
        med(r.warm.iter().map(|x| msf(x.start)))
    );

    let _ = writeln!(o, "### Every run\n");
    let _ = writeln!(
        o,
        "In-process rows: *server CPU* is n/a and *bench CPU* is this whole process (runtime, writer and load).\n"
    );
    for (m, unit) in [
        (&ip.runner_noop, "runs"),
        (&r.http.ping_1, "requests"),
        (&r.http.ping, "requests"),
        (&r.http.read_1, "reads"),
        (&r.http.create_1, "creates"),
        (&r.http.noop_1, "executions"),
        (&ip.service_noop_1, "executions"),
        (&r.http.noop, "executions"),
        (&ip.service_noop, "executions"),
        (&r.http.game, "executions"),
        (&ip.service_game, "executions"),
        (&ip.service_native, "executions"),
        (&ip.runner_game, "runs"),
        (&ip.runner_native, "runs"),
    ] {
        runs_table(&mut o, m, unit);
    }

    let _ = writeln!(o, "**Restarts** (ms; the server had {} MiB of data)\n", r.data_bytes >> 20);
    let _ = writeln!(
        o,
        "| restart | compiled cache | stop (SIGTERM → exit) | spawn → ready | ready → first noop answer | → first processGameResult answer |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|");
    for (label, list) in [("on disk", &r.warm), ("removed", &r.cold)] {
        for (i, x) in list.iter().enumerate() {
            let _ = writeln!(
                o,
                "| {} | {label} | {:.0} | {:.0} | {:.1} | {:.1} |",
                i + 1,
                msf(x.stop),
                msf(x.start),
                msf(x.noop),
                msf(x.game)
            );
        }
    }
    let _ = writeln!(o);
    let _ =
        writeln!(o, "Native reruns (a row the native game read changed before its commit): {}.\n", ip.native_reruns);
    let not_quiet = procstat::NOT_QUIET.load(Ordering::Relaxed);
    let _ = writeln!(
        o,
        "Each repetition (and each restart) waited (up to {:.0} s) for other processes to be quiet (< {QUIET_PCT:.0}% of a core); \
         {}. A repetition during which others used more than {DISTURBED_PCT:.0}% of a core was redone (at most \
         {MAX_REDONE} times per measurement) and is listed as `x…`, not counted.\n",
        c.quiet_wait,
        if not_quiet == 0 {
            "every one found it quiet".to_owned()
        } else {
            format!("{not_quiet} started without it going quiet")
        }
    );
    o
}
