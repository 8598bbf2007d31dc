//! The function runtime: WASI components, compiled once, run sandboxed, with
//! atomic writes.
//!
//! - `engine`: the one place that configures wasmtime (pooling allocator,
//!   epoch interruption, fuel) and the epoch ticker.
//! - `cache`: compiled components on disk by content hash.
//! - `host`: the `tables` and `log` imports a guest can call.
//! - `staging`: an execution's own view of the tables; its writes wait there.
//! - `runner`: one run: a fresh store, limits, the call, the outcome.
//!
//! This module ties them together: deployments (validate, compile, record),
//! and executions (queue, run, commit), including the re-execution policy on
//! conflict: an execution whose reads changed before it could commit runs
//! again, up to [`OPTIMISTIC_RUNS`] times; then once more on the writer
//! thread itself, where nothing else writes, so it cannot conflict (with a
//! deadline of at most [`SERIAL_DEADLINE`], since writes wait meanwhile).

pub mod cache;
pub mod engine;
pub mod host;
pub mod runner;
pub mod schedule;
pub mod staging;
pub mod triggers;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::auth::{Identity, KeyScopes};
use crate::db::Db;
use crate::db::ops::functions as ops;
use crate::model::exception::{ErrorType, Exception};
use crate::model::function::{Deployment, Execution, Function, Header};
use crate::model::id;
use crate::model::time;
use crate::store::decoded::Decoded;
use crate::store::keys::functions as k;
use host::{FunctionPre, HostState};
use runner::{Call, Limits, Outcome};
use staging::Staging;

/// Runs before falling back to a serial run on the writer thread.
pub const OPTIMISTIC_RUNS: usize = 3;
/// Longest a serial (last-resort) run may take.
pub const SERIAL_DEADLINE: Duration = Duration::from_secs(2);
/// Longest a synchronous execution may take over HTTP (Appwrite: 30 s).
pub const SYNC_LIMIT: Duration = Duration::from_secs(30);
/// Largest component a deployment may upload.
pub const MAX_COMPONENT_BYTES: usize = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("compiling the component failed: {0}")]
    Compile(String),
    #[error("the wasm engine could not start: {0}")]
    Engine(String),
}

/// Runtime limits, fixed at start (`arcade serve --help`).
#[derive(Debug, Clone)]
pub struct FunctionsConfig {
    pub engine: engine::EngineLimits,
    /// Executions running at once; more wait in line.
    pub concurrency: usize,
    /// Executions that may wait; beyond that, new ones are refused (503).
    pub queue: usize,
    pub triggers: triggers::TriggerConfig,
}

impl Default for FunctionsConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self {
            engine: engine::EngineLimits::default(),
            concurrency: cores * 2,
            queue: 4096,
            triggers: triggers::TriggerConfig::default(),
        }
    }
}

pub struct Functions {
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::Cache,
    pres: Mutex<HashMap<String, FunctionPre<HostState>>>,
    /// Functions and deployments as last decoded (each execution reads both).
    functions: Decoded<Function>,
    deployments: Decoded<Deployment>,
    db: Db,
    dir: PathBuf,
    project: String,
    config: FunctionsConfig,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// For the one run that happens off the runtime: the serial re-run on the writer thread.
    runtime: tokio::runtime::Handle,
    _ticker: engine::EpochTicker,
}

/// The identity a function's writes run with: like an API key, attributed to the user who caused it.
pub fn function_identity(user: Option<&str>) -> Identity {
    Identity::Key { id: "function".into(), scopes: KeyScopes::All, actor: user.map(str::to_owned) }
}

/// Request headers kept on the execution record (Appwrite's allow-list).
const KEPT_REQUEST_HEADERS: [&str; 5] = ["content-type", "agent", "content-length", "host", "x-appwrite-client-ip"];
const KEPT_RESPONSE_HEADERS: [&str; 2] = ["content-type", "content-length"];

/// Which function a request runs.
pub enum Target {
    /// Read it from the store.
    Id(String),
    /// As the caller just read it (the HTTP handler does, to check `execute`
    /// and `enabled`): read once, not twice.
    Loaded(Arc<Function>),
}

impl From<String> for Target {
    fn from(id: String) -> Self {
        Target::Id(id)
    }
}

impl From<&str> for Target {
    fn from(id: &str) -> Self {
        Target::Id(id.to_owned())
    }
}

impl From<Arc<Function>> for Target {
    fn from(f: Arc<Function>) -> Self {
        Target::Loaded(f)
    }
}

/// A request to run a function.
pub struct ExecRequest {
    pub function: Target,
    pub call: Call,
    pub asynchronous: bool,
    /// For event triggers: the sequence number of the event.
    pub cause: Option<u64>,
    /// Place in a chain of event-triggered executions (see `Execution::depth`).
    pub depth: u32,
}

impl ExecRequest {
    /// A request from a client (HTTP): not part of any event chain.
    pub fn http(function: impl Into<Target>, call: Call, asynchronous: bool) -> Self {
        ExecRequest { function: function.into(), call, asynchronous, cause: None, depth: 0 }
    }
}

impl Functions {
    pub fn start(
        db: Db,
        data_dir: &std::path::Path,
        project: &str,
        config: FunctionsConfig,
    ) -> Result<Arc<Functions>, FunctionsError> {
        let engine = engine::build(&config.engine).map_err(|e| FunctionsError::Engine(format!("{e:#}")))?;
        let linker = host::linker(&engine).map_err(|e| FunctionsError::Engine(format!("{e:#}")))?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| FunctionsError::Engine("the function runtime must start inside a tokio runtime".into()))?;
        let cache = cache::Cache::new(data_dir, &engine)?;
        let dir = data_dir.join("deployments");
        std::fs::create_dir_all(&dir).map_err(|e| FunctionsError::Io(dir.display().to_string(), e))?;
        let ticker =
            engine::EpochTicker::start(engine.clone()).map_err(|e| FunctionsError::Io("epoch thread".into(), e))?;
        Ok(Arc::new(Functions {
            engine,
            linker,
            cache,
            pres: Mutex::new(HashMap::new()),
            functions: Decoded::default(),
            deployments: Decoded::default(),
            db,
            dir,
            project: project.to_owned(),
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            waiting: AtomicUsize::new(0),
            runtime,
            _ticker: ticker,
        }))
    }

    fn component_path(&self, deployment: &str) -> PathBuf {
        self.dir.join(format!("{deployment}.wasm"))
    }

    /// Compile and check a component against Arcade's world.
    fn prepare(&self, hash: &str, wasm: &[u8]) -> Result<(FunctionPre<HostState>, cache::Loaded), String> {
        let (component, loaded) = self.cache.load(&self.engine, hash, wasm).map_err(|e| e.to_string())?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| format!("the component does not fit arcade:function@0.1.0 (its imports): {e:#}"))?;
        let pre = FunctionPre::new(pre).map_err(|e| {
            format!("the component does not export `handle` as arcade:function@0.1.0 defines it: {e:#}")
        })?;
        Ok((pre, loaded))
    }

    /// Store, compile and record a deployment (status `ready`, or `failed` with the reason in `buildLogs`).
    pub async fn deploy(
        self: &Arc<Self>,
        who: &Identity,
        function: &str,
        wasm: Vec<u8>,
        activate: bool,
        entrypoint: String,
    ) -> Result<Deployment, Exception> {
        self.db
            .store()
            .record::<Function>(&k::function(function))?
            .ok_or_else(|| Exception::new(ErrorType::FunctionNotFound))?;
        if wasm.len() > MAX_COMPONENT_BYTES {
            return Err(Exception::msg(
                ErrorType::GeneralArgumentInvalid,
                format!("The component is larger than {MAX_COMPONENT_BYTES} bytes."),
            ));
        }
        let deployment_id = id::unique();
        let hash = hex::encode(Sha256::digest(&wasm));
        let path = self.component_path(&deployment_id);
        let this = self.clone();
        let (hash2, size) = (hash.clone(), wasm.len() as u64);
        let (prepared, build_ms) = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            std::fs::write(&path, &wasm)
                .map_err(|e| Exception::internal(format!("writing {}: {e}", path.display())))?;
            let prepared = this.prepare(&hash2, &wasm);
            Ok::<_, Exception>((prepared, started.elapsed().as_millis() as u64))
        })
        .await
        .map_err(Exception::internal)??;
        let (status, logs) = match &prepared {
            Ok((_, loaded)) => (
                "ready",
                format!("Compiled in {:.1} ms{}.", loaded.millis, if loaded.cached { " (from cache)" } else { "" }),
            ),
            Err(why) => ("failed", why.clone()),
        };
        let d = Deployment {
            id: deployment_id.clone(),
            function: function.to_owned(),
            size,
            hash,
            status: status.to_owned(),
            build_logs: logs,
            build_millis: build_ms,
            entrypoint,
            created: 0,
            updated: 0,
        };
        let who2 = who.clone();
        let d2 = d.clone();
        let d = self.db.write(move |tx, _| ops::add_deployment(tx, &who2, &d2, activate)).await?;
        if let Ok((pre, _)) = prepared
            && let Ok(mut pres) = self.pres.lock()
        {
            pres.insert(d.id.clone(), pre);
        }
        Ok(d)
    }

    /// The prepared instance of a deployment (compiled artifacts come from the disk cache).
    fn pre(&self, d: &Deployment) -> Result<FunctionPre<HostState>, Exception> {
        if let Some(p) = self.pres.lock().ok().and_then(|p| p.get(&d.id).cloned()) {
            return Ok(p);
        }
        let wasm = std::fs::read(self.component_path(&d.id))
            .map_err(|e| Exception::internal(format!("reading deployment {}: {e}", d.id)))?;
        let (pre, _) = self.prepare(&d.hash, &wasm).map_err(Exception::internal)?;
        if let Ok(mut pres) = self.pres.lock() {
            pres.insert(d.id.clone(), pre.clone());
        }
        Ok(pre)
    }

    /// Forget what was prepared for a deployment (after it is deleted).
    pub fn forget(&self, deployment: &str) {
        if let Ok(mut pres) = self.pres.lock() {
            pres.remove(deployment);
        }
        let _ = std::fs::remove_file(self.component_path(deployment));
    }

    /// A function as stored now (decoded once per version of its record).
    pub fn function(&self, id: &str) -> Result<Option<Arc<Function>>, Exception> {
        Ok(self.functions.get(self.db.store(), &k::function(id))?)
    }

    /// The function, its active deployment, the execution record to start
    /// and the call to make, for a request.
    fn begin(&self, req: ExecRequest) -> Result<(Arc<Function>, Arc<Deployment>, Execution, Call), Exception> {
        let store = self.db.store();
        let f = match req.function {
            Target::Loaded(f) => f,
            Target::Id(id) => self.function(&id)?.ok_or_else(|| Exception::new(ErrorType::FunctionNotFound))?,
        };
        let deployment_id = f.deployment.clone().ok_or_else(|| {
            Exception::msg(
                ErrorType::DeploymentNotFound,
                "Deployment not found. Create a deployment before trying to execute a function",
            )
        })?;
        let d = self
            .deployments
            .get(store, &k::deployment(&deployment_id))?
            .ok_or_else(|| Exception::new(ErrorType::DeploymentNotFound))?;
        let mut call = req.call;
        call.execution_id = id::unique();
        let exec = Execution {
            id: call.execution_id.clone(),
            function: f.id.clone(),
            deployment: d.id.clone(),
            trigger: call.trigger.clone(),
            status: if req.asynchronous { "waiting".into() } else { "processing".into() },
            permissions: call.user.iter().map(|u| format!("read(\"user:{u}\")")).collect(),
            request_method: call.method.clone(),
            request_path: if call.query.is_empty() {
                call.path.clone()
            } else {
                format!("{}?{}", call.path, call.query)
            },
            request_headers: call
                .headers
                .iter()
                .filter(|h| KEPT_REQUEST_HEADERS.contains(&h.name.as_str()))
                .cloned()
                .collect(),
            response_status: 0,
            response_body: String::new(),
            response_headers: Vec::new(),
            logs: String::new(),
            errors: String::new(),
            duration: 0.0,
            scheduled_at: None,
            user: call.user.clone(),
            event: call.event.clone(),
            cause: req.cause,
            depth: req.depth,
            created: time::now_ms(),
            updated: time::now_ms(),
        };
        Ok((f, d, exec, call))
    }

    /// Execute a function for a client. Synchronous requests resolve with the
    /// finished execution; asynchronous ones with the `waiting` record, and
    /// run in the background.
    pub async fn execute(self: &Arc<Self>, req: ExecRequest) -> Result<Execution, Exception> {
        if self.waiting.load(Ordering::Relaxed) >= self.config.queue {
            return Err(Exception::msg(
                ErrorType::GeneralRateLimitExceeded,
                "Too many executions are waiting; try again shortly.",
            ));
        }
        let asynchronous = req.asynchronous;
        let (f, d, exec, call) = self.begin(req)?;
        if asynchronous {
            let e = exec.clone();
            let started = self.db.write(move |tx, _| ops::start_execution(tx, &e)).await?;
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.run_and_finish(f, d, started, call, true).await {
                    tracing::warn!(error = %e, "an asynchronous execution could not be recorded");
                }
            });
            return Ok(exec);
        }
        match tokio::time::timeout(SYNC_LIMIT, self.clone().run_and_finish(f, d, exec, call, false)).await {
            Ok(r) => r,
            Err(_) => Err(Exception::new(ErrorType::FunctionSynchronousTimeout)),
        }
    }

    /// Run an execution the server itself started (an event trigger) to its
    /// end, however long its timeout allows, and record it.
    pub async fn execute_to_end(self: &Arc<Self>, req: ExecRequest) -> Result<Execution, Exception> {
        let (f, d, exec, call) = self.begin(req)?;
        self.clone().run_and_finish(f, d, exec, call, false).await
    }

    /// Record an execution that was refused before it ran (a cut event
    /// chain): `failed`, with the reason in `errors`.
    pub async fn refuse(self: &Arc<Self>, req: ExecRequest, why: String) -> Result<Execution, Exception> {
        let (_, _, mut exec, _) = self.begin(req)?;
        exec.status = "failed".into();
        exec.response_status = 500;
        exec.errors = why;
        self.db.write(move |tx, catalog| ops::finish_execution(tx, catalog, &exec, None, false)).await
    }

    /// Start a scheduled execution: its `processing` record commits together
    /// with `mark` (the schedule slot it fires, see `schedule`), so a slot
    /// fires once, restarts included. It then runs in the background.
    pub async fn start_scheduled(
        self: &Arc<Self>,
        req: ExecRequest,
        mark: (Vec<u8>, Vec<u8>),
    ) -> Result<Execution, Exception> {
        let (f, d, exec, call) = self.begin(req)?;
        let e = exec.clone();
        let started = self
            .db
            .write(move |tx, _| {
                let started = ops::start_execution(tx, &e)?;
                tx.put_meta(mark.0.clone(), mark.1.clone());
                Ok(started)
            })
            .await?;
        let this = self.clone();
        let record = started.clone();
        tokio::spawn(async move {
            if let Err(e) = this.run_and_finish(f, d, record, call, true).await {
                tracing::warn!(error = %e, "a scheduled execution could not be recorded");
            }
        });
        Ok(started)
    }

    /// Mark executions that a stop interrupted (still `waiting` or
    /// `processing` at start) as failed, so none stays pending forever. Reads
    /// only the pending index (one full scan, once, for a data directory from
    /// before it), so a start does not slow down as executions accumulate.
    pub async fn fail_interrupted(self: &Arc<Self>) -> Result<usize, Exception> {
        let store = self.db.store();
        let indexed = store.meta(crate::store::keys::meta::PENDING_INDEXED)?.is_some();
        let pending: Vec<Execution> = if indexed {
            let mut found = Vec::new();
            for key in store.record_ids(k::PENDING_EXECUTION_PREFIX, false)? {
                if let Some((function, id)) = key.split_once('\0')
                    && let Some(e) = store.record::<Execution>(&k::execution(function, id))?
                {
                    found.push(e);
                }
            }
            found
        } else {
            store.records::<Execution>(k::FUNCTION_EXECUTION_PREFIX)?
        };
        let pending: Vec<Execution> =
            pending.into_iter().filter(|e| e.status == "waiting" || e.status == "processing").collect();
        let n = pending.len();
        for mut e in pending {
            e.status = "failed".into();
            e.response_status = 500;
            e.errors = "The server stopped before this execution finished; it did not run to the end and none of \
                        its writes were kept."
                .into();
            self.db.write(move |tx, catalog| ops::finish_execution(tx, catalog, &e, None, true)).await?;
        }
        if !indexed {
            self.db
                .write(|tx, _| {
                    tx.put_meta(crate::store::keys::meta::PENDING_INDEXED.to_vec(), b"1".to_vec());
                    Ok(())
                })
                .await?;
        }
        Ok(n)
    }

    /// Run (re-running on conflict) and record the end of an execution.
    async fn run_and_finish(
        self: Arc<Self>,
        f: Arc<Function>,
        d: Arc<Deployment>,
        exec: Execution,
        call: Call,
        started: bool,
    ) -> Result<Execution, Exception> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let shutting_down = || Exception::internal("the function runtime is shutting down");
        // A slot bounds the runs, not the commits: it is given back while the
        // execution commits (waiting for the writer and the disk; holding it
        // then capped executions/s at slots / commit latency) and taken again
        // for a re-run.
        let mut slot = Some(permit.map_err(|_| shutting_down())?);
        let pre = self.pre(&d)?;
        let deadline = Duration::from_secs(f.timeout as u64);
        for _ in 0..OPTIMISTIC_RUNS {
            let permit = match slot.take() {
                Some(p) => p,
                None => self.permits.clone().acquire_owned().await.map_err(|_| shutting_down())?,
            };
            let staging = Staging::new(self.db.store_arc(), self.db.catalog(), function_identity(call.user.as_deref()));
            let mut outcome = runner::run(&self.engine, &pre, &call, staging, self.limits(&f, &d.id, deadline)).await;
            // The instance is torn down by a task of its own, which runs on
            // this worker once this one waits (on the writer) or is done (the
            // answer written): not in the caller's way. The slot goes with
            // it, so no more instances are alive than runs are allowed.
            let spent = outcome.spent.take();
            tokio::spawn(async move {
                drop(spent);
                drop(permit);
            });
            match self.commit(&f, &exec, outcome, started).await {
                Err(e) if e.kind == ErrorType::TransactionConflict => continue,
                other => return other,
            }
        }
        // Last resort: run where nothing else writes, so the run cannot conflict.
        let this = self.clone();
        let (pre2, call2, f2, d2) = (pre.clone(), call.clone(), f.clone(), d.id.clone());
        let serial_deadline = deadline.min(SERIAL_DEADLINE);
        let exec2 = exec.clone();
        self.db
            .write_exclusive(
                move |_store, _catalog| {
                    // The writer prepares with the current catalog, which
                    // is the shared one: nothing else changes it meanwhile.
                    let staging =
                        Staging::new(this.db.store_arc(), this.db.catalog(), function_identity(call2.user.as_deref()));
                    let limits = this.limits(&f2, &d2, serial_deadline);
                    // The writer thread is no runtime thread: drive the run here.
                    let outcome = this.runtime.block_on(runner::run(&this.engine, &pre2, &call2, staging, limits));
                    Ok(Prepared::from(&f2, &exec2, outcome))
                },
                move |tx, catalog, p: &Prepared| finish(tx, catalog, p, started),
            )
            .await
    }

    /// The limits a run of `f`'s `deployment` gets, with this deadline.
    fn limits<'a>(&'a self, f: &'a Function, deployment: &'a str, deadline: Duration) -> Limits<'a> {
        Limits { deadline, function: f, deployment, project: &self.project, fuel: self.config.engine.fuel }
    }

    async fn commit(
        &self,
        f: &Function,
        exec: &Execution,
        outcome: Outcome,
        started: bool,
    ) -> Result<Execution, Exception> {
        let needs_lists = outcome.commits() && !outcome.staging.lists.is_empty();
        let p = Prepared::from(f, exec, outcome);
        if needs_lists {
            self.db
                .write_exclusive(
                    move |_, _| {
                        if p.staging.lists_unchanged()? {
                            Ok(p)
                        } else {
                            Err(Exception::msg(ErrorType::TransactionConflict, "a list the execution read changed"))
                        }
                    },
                    move |tx, catalog, p: &Prepared| finish(tx, catalog, p, started),
                )
                .await
        } else {
            self.db.write(move |tx, catalog| finish(tx, catalog, &p, started)).await
        }
    }
}

/// An execution's final record and the writes to commit with it.
pub struct Prepared {
    exec: Execution,
    commit_writes: bool,
    staging: Staging,
}

impl Prepared {
    fn from(f: &Function, exec: &Execution, o: Outcome) -> Prepared {
        let mut e = exec.clone();
        let commit_writes = o.commits();
        e.status = if commit_writes { "completed".into() } else { "failed".into() };
        e.response_status = o.status;
        e.response_body = String::from_utf8_lossy(&o.body).into_owned();
        e.response_headers =
            o.headers.iter().filter(|h| KEPT_RESPONSE_HEADERS.contains(&h.name.as_str())).cloned().collect();
        e.duration = o.duration.as_secs_f64();
        if f.logging {
            e.logs = truncate_logs(o.logs);
            e.errors = truncate_logs(o.errors);
        }
        // All response headers go back to a synchronous caller.
        e.response_headers.extend(
            o.headers
                .into_iter()
                .filter(|h| !KEPT_RESPONSE_HEADERS.contains(&h.name.as_str()))
                .map(|h| Header { name: h.name, value: h.value }),
        );
        Prepared { exec: e, commit_writes, staging: o.staging }
    }
}

fn finish(
    tx: &mut crate::store::WriteTx<'_>,
    catalog: &crate::db::Catalog,
    p: &Prepared,
    started: bool,
) -> Result<Execution, Exception> {
    let writes =
        p.commit_writes.then(|| ops::Writes { ops: &p.staging.ops, marks: &p.staging.marks, who: &p.staging.who });
    ops::finish_execution(tx, catalog, &p.exec, writes, started)
}

/// Keep the end of long output, as Appwrite does.
fn truncate_logs(mut s: String) -> String {
    const LIMIT: usize = host::OUTPUT_LIMIT;
    if s.len() <= LIMIT {
        return s;
    }
    let mut cut = s.len() - LIMIT;
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    let tail = s.split_off(cut);
    format!("[WARNING] Logs truncated. The output exceeds {LIMIT} characters.\n{tail}")
}
