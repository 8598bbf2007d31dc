//! One run of a function: a fresh store with its limits, the call, and what
//! came of it.
//!
//! Each run gets its own `Store` (so nothing leaks between executions), a
//! memory limit, a timeout, fuel if the function sets it, captured stdio, and
//! the function's variables as environment. Whatever goes wrong inside the
//! guest (a trap, the timeout, memory or output limits) becomes a 500 with a
//! clear message in `errors`; it never reaches the host.
//!
//! A run is a future polled on the server's own tokio workers: at every epoch
//! tick (10 ms) the guest yields to the scheduler, and once its time is up it
//! is interrupted. Handing each run to a thread of its own instead cost two
//! thread wake-ups per execution, more than a short function takes to run.

use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimitsBuilder, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::host::{FunctionPre, HostState, OUTPUT_LIMIT, WitHeader, WitRequest, WitTrigger};
use super::staging::Staging;
use crate::model::function::{Function, Header};

/// What the function is asked.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// `http`, `schedule` or `event`.
    pub trigger: String,
    pub event: Option<String>,
    pub user: Option<String>,
    pub execution_id: String,
}

/// What came of a run.
pub struct Outcome {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    pub logs: String,
    pub errors: String,
    /// False after a trap, a timeout or a limit: nothing may be committed.
    pub returned: bool,
    pub staging: Staging,
    pub duration: Duration,
    /// The instance the run used, until it is dropped (see [`Spent`]).
    pub spent: Option<Spent>,
}

/// A finished run's store and instance, still holding its slot of the
/// instance pool. Dropping it tears the instance down and resets the slot
/// (~12 µs of a no-op execution, mostly the kernel's page scan), so the
/// caller may do that after the execution is answered rather than before.
pub struct Spent {
    _store: Store<HostState>,
}

impl Outcome {
    /// Whether the run's writes commit: it returned, with a status below 500.
    pub fn commits(&self) -> bool {
        self.returned && self.status < 500
    }
}

/// Environment every function sees (Appwrite's names), then its variables.
fn environment(f: &Function, deployment: &str, project: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("APPWRITE_FUNCTION_ID".to_owned(), f.id.clone()),
        ("APPWRITE_FUNCTION_NAME".to_owned(), f.name.clone()),
        ("APPWRITE_FUNCTION_DEPLOYMENT".to_owned(), deployment.to_owned()),
        ("APPWRITE_FUNCTION_PROJECT_ID".to_owned(), project.to_owned()),
        ("APPWRITE_FUNCTION_RUNTIME_NAME".to_owned(), "WASI".to_owned()),
        ("APPWRITE_FUNCTION_RUNTIME_VERSION".to_owned(), "0.2".to_owned()),
        ("APPWRITE_FUNCTION_MEMORY".to_owned(), f.memory.to_string()),
        ("APPWRITE_VERSION".to_owned(), crate::model::exception::API_VERSION.to_owned()),
    ];
    for v in &f.vars {
        env.retain(|(k, _)| k != &v.key);
        env.push((v.key.clone(), v.value.clone()));
    }
    env
}

pub struct Limits<'a> {
    pub deadline: Duration,
    pub function: &'a Function,
    pub deployment: &'a str,
    pub project: &'a str,
    /// Whether the engine counts fuel (then every store must be given some).
    pub fuel: bool,
}

/// Run `call` on a fresh instance.
pub async fn run(
    engine: &Engine,
    pre: &FunctionPre<HostState>,
    call: &Call,
    staging: Staging,
    limits: Limits<'_>,
) -> Outcome {
    let started = Instant::now();
    let f = limits.function;
    let stdout = MemoryOutputPipe::new(OUTPUT_LIMIT);
    let stderr = MemoryOutputPipe::new(OUTPUT_LIMIT);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(stdout.clone()).stderr(stderr.clone()).args(&[f.id.as_str()]);
    for (k, v) in environment(f, limits.deployment, limits.project) {
        wasi.env(k, v);
    }
    let memory_bytes = f.memory as usize * 1024 * 1024;
    let state = HostState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limits: StoreLimitsBuilder::new().memory_size(memory_bytes).trap_on_grow_failure(true).build(),
        stdout,
        stderr,
        logs: String::new(),
        errors: String::new(),
        output_exceeded: false,
        staging,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limits);
    // At each tick: past the deadline, stop (a `Trap::Interrupt`); else let
    // other tasks run, then go on.
    let deadline = limits.deadline;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if started.elapsed() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
        }
    });
    if limits.fuel {
        let _ = store.set_fuel(f.fuel.unwrap_or(u64::MAX));
    }
    let request = WitRequest {
        method: call.method.clone(),
        path: call.path.clone(),
        query: call.query.clone(),
        headers: call.headers.iter().map(|h| WitHeader { name: h.name.clone(), value: h.value.clone() }).collect(),
        body: call.body.clone(),
        trigger: match call.trigger.as_str() {
            "schedule" => WitTrigger::Schedule,
            "event" => WitTrigger::Event,
            _ => WitTrigger::Http,
        },
        event: call.event.clone(),
        user_id: call.user.clone(),
        execution_id: call.execution_id.clone(),
    };
    let result = match pre.instantiate_async(&mut store).await {
        Ok(instance) => instance.call_handle(&mut store, &request).await,
        Err(e) => Err(e),
    };
    let failure = match &result {
        Ok(_) => None,
        Err(e) => Some(describe(e, &store, f, limits.deadline)),
    };
    let duration = started.elapsed();
    let state = store.data_mut();
    let mut logs = std::mem::take(&mut state.logs);
    logs.push_str(&String::from_utf8_lossy(&state.stdout.contents()));
    let mut errors = std::mem::take(&mut state.errors);
    errors.push_str(&String::from_utf8_lossy(&state.stderr.contents()));
    let staging = state.staging.take();
    let spent = Some(Spent { _store: store });
    match result {
        Ok(resp) => Outcome {
            status: resp.status,
            headers: resp
                .headers
                .into_iter()
                .map(|h| Header { name: h.name.to_ascii_lowercase(), value: h.value })
                .collect(),
            body: resp.body,
            logs,
            errors,
            returned: true,
            staging,
            duration,
            spent,
        },
        Err(_) => {
            let why = failure.unwrap_or_default();
            if !errors.is_empty() && !errors.ends_with('\n') {
                errors.push('\n');
            }
            errors.push_str(&why);
            Outcome {
                status: 500,
                headers: Vec::new(),
                body: Vec::new(),
                logs,
                errors,
                returned: false,
                staging,
                duration,
                spent,
            }
        }
    }
}

/// A clear account of why a guest stopped.
fn describe(e: &wasmtime::Error, store: &Store<HostState>, f: &Function, deadline: Duration) -> String {
    if store.data().output_exceeded
        || store.data().stdout.contents().len() >= OUTPUT_LIMIT
        || store.data().stderr.contents().len() >= OUTPUT_LIMIT
    {
        return format!(
            "Execution stopped: the function wrote more than {OUTPUT_LIMIT} bytes of output (stdout, stderr and logs together)."
        );
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return format!("Execution failed: the function exited (code {}) instead of returning a response.", exit.0);
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => return format!("Execution timed out after {} ms.", deadline.as_millis()),
        Some(Trap::OutOfFuel) => return format!("Execution ran out of fuel ({} units).", f.fuel.unwrap_or(0)),
        _ => {}
    }
    let text = format!("{e:#}");
    if text.contains("forcing trap when growing memory") {
        return format!("Execution stopped: the function exceeded its memory limit of {} MiB.", f.memory);
    }
    format!("Execution failed: {text}")
}
