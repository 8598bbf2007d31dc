//! The function runtime in this process, on the data directory the HTTP
//! server left behind (same store, same deployments, same compiled cache):
//!
//! - the runner layer (`functions::runner::run`): one execution's fresh
//!   store, WASI context, limits, instantiation from the deployment's
//!   `InstancePre`, the call and its outcome, without recording anything;
//! - the service (`Functions::execute`): what the HTTP handler calls, so
//!   queueing, the run (a future on the calling task) and the atomic commit of the
//!   execution record, its events and its writes through the writer;
//! - the native baseline (`super::native`) at both levels.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::sync::Semaphore;

use arcade::db::Db;
use arcade::db::ops::functions::{Writes, finish_execution};
use arcade::db::writer::Durability;
use arcade::functions::cache::Cache;
use arcade::functions::engine::{self, EpochTicker};
use arcade::functions::host::{self, FunctionPre, HostState};
use arcade::functions::runner::{self, Call, Limits};
use arcade::functions::staging::Staging;
use arcade::functions::{ExecRequest, Functions, FunctionsConfig, OPTIMISTIC_RUNS, function_identity};
use arcade::model::exception::ErrorType;
use arcade::model::function::{Deployment, Execution, Function, Header};
use arcade::model::{id, time};
use arcade::store::keys::functions as k;
use arcade::store::{Store, StoreOptions};

use super::http::{GAME, GAME_BODIES, NOOP};
use super::native;
use crate::procstat::Snapshot;
use crate::stats::Run;

/// A deployment prepared for the runner layer, as the service prepares it.
pub struct Prepared {
    pub function: Function,
    pub deployment: Deployment,
    pub pre: FunctionPre<HostState>,
    /// Loading the compiled component from the disk cache, ms.
    pub load_ms: f64,
}

pub struct InProc {
    /// The server's shape: a multi-thread tokio runtime with one worker per core.
    rt: tokio::runtime::Runtime,
    pub db: Db,
    pub functions: Arc<Functions>,
    config: FunctionsConfig,
    engine: wasmtime::Engine,
    _ticker: EpochTicker,
    pub noop: Prepared,
    pub game: Prepared,
    /// A finished processGameResult execution, the shape of the native baseline's records.
    template: Execution,
    /// The native baseline's stand-in for the service's execution slots.
    native_permits: Arc<Semaphore>,
    /// Native executions that had to run again because a row they read changed.
    pub native_reruns: AtomicU64,
}

/// The call the HTTP handler makes for a client's synchronous execution.
pub fn http_call(user: Option<&str>, body: &str) -> Call {
    Call {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![
            Header { name: "x-appwrite-trigger".into(), value: "http".into() },
            Header { name: "x-appwrite-user-id".into(), value: user.unwrap_or_default().to_owned() },
            Header { name: "x-appwrite-client-ip".into(), value: "127.0.0.1".into() },
        ],
        body: body.as_bytes().to_vec(),
        trigger: "http".into(),
        event: None,
        user: user.map(str::to_owned),
        execution_id: id::unique(),
    }
}

/// The in-process player of client `i`: one each, so in-process games never conflict.
pub fn inproc_player(i: usize) -> String {
    format!("inproc{i}")
}

impl InProc {
    /// Open `data_dir` (the server must be stopped) and start the runtime on it.
    pub fn open(data_dir: &Path, durability: &str) -> Result<Arc<InProc>> {
        let durability = match durability {
            "durable" => Durability::Durable,
            "relaxed" => Durability::Relaxed,
            other => bail!("unknown durability {other:?}"),
        };
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let store = Arc::new(Store::open(data_dir, &StoreOptions::default())?);
        let db = Db::start(store, durability)?;
        let config = FunctionsConfig::default();
        // The service belongs to `rt` (it keeps a handle to the runtime it starts in).
        let functions = {
            let _in_rt = rt.enter();
            Functions::start(db.clone(), data_dir, "local", config.clone())?
        };
        let engine = engine::build(&config.engine).map_err(|e| anyhow!("{e:#}"))?;
        let ticker = EpochTicker::start(engine.clone())?;
        let linker = host::linker(&engine).map_err(|e| anyhow!("{e:#}"))?;
        let cache = Cache::new(data_dir, &engine)?;
        let prepare = |name: &str| -> Result<Prepared> {
            let store = db.store();
            let function: Function =
                store.record(&k::function(name))?.with_context(|| format!("no function {name}"))?;
            let did = function.deployment.clone().with_context(|| format!("{name} has no active deployment"))?;
            let deployment: Deployment =
                store.record(&k::deployment(&did))?.with_context(|| format!("no deployment {did}"))?;
            let wasm = std::fs::read(data_dir.join("deployments").join(format!("{did}.wasm")))?;
            let (component, loaded) = cache.load(&engine, &deployment.hash, &wasm)?;
            let pre = FunctionPre::new(linker.instantiate_pre(&component).map_err(|e| anyhow!("{e:#}"))?)
                .map_err(|e| anyhow!("{e:#}"))?;
            Ok(Prepared { function, deployment, pre, load_ms: loaded.millis })
        };
        let (noop, game) = (prepare(NOOP)?, prepare(GAME)?);
        // One real game through the service gives the record shape (and checks that it plays).
        let f2 = functions.clone();
        let template = rt.block_on(async move {
            f2.execute(ExecRequest::http(GAME, http_call(Some(&inproc_player(0)), GAME_BODIES[0]), false)).await
        })?;
        if template.status != "completed" || template.response_status != 200 {
            bail!("processGameResult did not complete in-process: {template:?}");
        }
        let native_permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Ok(Arc::new(InProc {
            rt,
            db,
            functions,
            config,
            engine,
            _ticker: ticker,
            noop,
            game,
            template,
            native_permits,
            native_reruns: AtomicU64::new(0),
        }))
    }

    /// Executions allowed to run at once (the service's default: 2 per core).
    pub fn concurrency(&self) -> usize {
        self.config.concurrency
    }

    /// Stop the writer (after what is queued) and flush.
    pub fn close(self: &Arc<Self>) {
        let db = self.db.clone();
        self.rt.block_on(async move { db.close().await });
    }

    fn limits<'a>(&'a self, p: &'a Prepared) -> Limits<'a> {
        Limits {
            deadline: Duration::from_secs(u64::from(p.function.timeout)),
            function: &p.function,
            deployment: &p.deployment.id,
            project: "local",
            fuel: self.config.engine.fuel,
        }
    }

    /// One run of `p` on a fresh instance, as the service runs it (nothing is committed).
    pub fn run_wasm(&self, p: &Prepared, call: &Call) -> Result<u16> {
        let staging = Staging::new(self.db.store_arc(), self.db.catalog(), function_identity(call.user.as_deref()));
        let out = self.rt.block_on(runner::run(&self.engine, &p.pre, call, staging, self.limits(p)));
        if !out.returned {
            bail!("the run failed: {}", out.errors);
        }
        Ok(out.status)
    }

    /// One native game for `user` on a fresh staging (nothing is committed).
    pub fn run_native(&self, user: &str, body: &str) -> u16 {
        let mut staging = Staging::new(self.db.store_arc(), self.db.catalog(), function_identity(Some(user)));
        native::play(&mut staging, Some(user), body.as_bytes()).status
    }

    /// A synchronous execution through the service, checked.
    pub async fn execute(&self, function: &str, call: Call, status: u16) -> Result<()> {
        let e = self.functions.execute(ExecRequest::http(function, call, false)).await?;
        if e.status != "completed" || e.response_status != status {
            bail!("{function}: expected a completed execution with status {status}, got {} {}", e.status, e.errors);
        }
        Ok(())
    }

    /// A native game the way the service runs a wasm one: look the function
    /// and its deployment up, take an execution slot for the run (on the
    /// calling task, as the service polls a run), commit the execution record,
    /// its events and the staged writes in one transaction through the writer
    /// (re-running on conflict).
    pub async fn execute_native(self: &Arc<Self>, user: String, body: &'static str) -> Result<()> {
        let store = self.db.store();
        let f: Function = store.record(&k::function(GAME))?.context("no function")?;
        let did = f.deployment.clone().context("no active deployment")?;
        let d: Deployment = store.record(&k::deployment(&did))?.context("no deployment")?;
        let mut exec = self.template.clone();
        exec.id = id::unique();
        exec.deployment = d.id.clone();
        exec.status = "processing".into();
        exec.permissions = vec![format!("read(\"user:{user}\")")];
        exec.user = Some(user.clone());
        exec.created = time::now_ms();
        exec.updated = exec.created;
        for _ in 0..=OPTIMISTIC_RUNS {
            // As the service: a slot for the run, given back before the commit.
            let slot = self.native_permits.acquire().await?;
            let started = Instant::now();
            let mut staging = Staging::new(self.db.store_arc(), self.db.catalog(), function_identity(Some(&user)));
            let played = native::play(&mut staging, Some(&user), body.as_bytes());
            let took = started.elapsed();
            drop(slot);
            if played.status != 200 {
                bail!("native game answered {}: {}", played.status, String::from_utf8_lossy(&played.body));
            }
            let mut e = exec.clone();
            e.status = "completed".into();
            e.response_status = played.status;
            e.response_body = String::from_utf8_lossy(&played.body).into_owned();
            e.duration = took.as_secs_f64();
            if f.logging {
                e.logs = played.logs;
            }
            let done = self
                .db
                .write(move |tx, catalog| {
                    let writes = Writes { ops: &staging.ops, marks: &staging.marks, who: &staging.who };
                    finish_execution(tx, catalog, &e, Some(writes), false)
                })
                .await;
            match done {
                Ok(_) => return Ok(()),
                Err(e) if e.kind == ErrorType::TransactionConflict => {
                    self.native_reruns.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(e.into()),
            }
        }
        bail!("a native game conflicted {} times in a row", OPTIMISTIC_RUNS + 1)
    }

    /// `clients` concurrent loops of `op(client, i)` on the runtime for `duration`; a closed loop like the HTTP
    /// generator's, timed per operation, failing on the first error.
    pub async fn load<F, Fut>(self: &Arc<Self>, clients: usize, duration: Duration, op: F) -> Result<Run>
    where
        F: Fn(Arc<InProc>, usize, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let op = Arc::new(op);
        let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
        let mut tasks = Vec::with_capacity(clients);
        for c in 0..clients {
            let (this, op, barrier) = (self.clone(), op.clone(), barrier.clone());
            tasks.push(self.rt.spawn(async move {
                barrier.wait().await;
                let deadline = Instant::now() + duration;
                let mut lat: Vec<u32> = Vec::with_capacity(1 << 14);
                let mut i = 0;
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    op(this.clone(), c, i).await?;
                    lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                    i += 1;
                }
                anyhow::Ok(lat)
            }));
        }
        let b = barrier.clone();
        self.rt.spawn(async move { b.wait().await }).await?;
        let before = Snapshot::take(None);
        let start = Instant::now();
        let mut latencies = Vec::new();
        let mut failure = None;
        for t in tasks {
            match t.await {
                Ok(Ok(l)) => latencies.extend(l),
                Ok(Err(e)) => failure = failure.or(Some(e)),
                Err(e) => failure = failure.or(Some(anyhow!("a client task panicked: {e}"))),
            }
        }
        let elapsed = start.elapsed();
        let after = Snapshot::take(None);
        if let Some(e) = failure {
            return Err(e.context("in-process load failed"));
        }
        latencies.sort_unstable();
        Ok(Run { ops: latencies.len() as u64, elapsed, latencies_us: latencies, cpu: Some(before.until(&after)) })
    }
}

/// `op()` in a loop on one thread for `duration`, timed per call.
pub fn single_thread(duration: Duration, mut op: impl FnMut() -> Result<()>) -> Result<Run> {
    let before = Snapshot::take(None);
    let start = Instant::now();
    let mut lat: Vec<u32> = Vec::with_capacity(1 << 18);
    while start.elapsed() < duration {
        let t0 = Instant::now();
        op()?;
        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    let elapsed = start.elapsed();
    let after = Snapshot::take(None);
    lat.sort_unstable();
    Ok(Run { ops: lat.len() as u64, elapsed, latencies_us: lat, cpu: Some(before.until(&after)) })
}

/// Compile `wasm` with the server's engine configuration (no cache), `times` times; milliseconds each.
pub fn compile_times(wasm: &[u8], times: usize) -> Result<Vec<f64>> {
    let engine = engine::build(&FunctionsConfig::default().engine).map_err(|e| anyhow!("{e:#}"))?;
    (0..times)
        .map(|_| {
            let t0 = Instant::now();
            wasmtime::component::Component::new(&engine, wasm).map_err(|e| anyhow!("{e:#}"))?;
            Ok(t0.elapsed().as_secs_f64() * 1000.0)
        })
        .collect()
}
