//! The closed-loop load generator: N clients, each on its own keep-alive
//! connection, send one request, wait for the answer, send the next. It stops
//! by itself at a deadline, after a maximum number of requests, or when the
//! workload runs out of work, and it fails the whole run on the first non-2xx
//! answer or transport error (a benchmark that hides errors measures nothing).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use hyper::body::Bytes;

use crate::client::{Endpoint, Req, snippet};
use crate::procstat::Snapshot;
use crate::stats::{Rng, Run};

/// What the clients send.
pub trait Workload: Send + Sync + 'static {
    /// The next request, or `None` when there is no more work (count-bounded workloads).
    fn next(&self, rng: &mut Rng) -> Option<Req>;
    /// A sanity check of a 2xx answer, run on each client's first answer.
    fn check(&self, _body: &Bytes) -> Result<()> {
        Ok(())
    }
    /// A cheap check of every 2xx answer (keep it cheap: it runs in the generator's loop).
    fn check_each(&self, _body: &Bytes) -> Result<()> {
        Ok(())
    }
}

/// How hard and how long.
#[derive(Debug, Clone)]
pub struct Spec {
    pub clients: usize,
    pub duration: Duration,
    /// Upper bound on requests across all clients.
    pub max_requests: u64,
    /// Seed for the clients' random generators (client i uses seed + i).
    pub seed: u64,
}

struct Shared {
    stop: AtomicBool,
    started: AtomicU64,
    error: Mutex<Option<anyhow::Error>>,
}

impl Shared {
    fn fail(&self, e: anyhow::Error) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut slot) = self.error.lock()
            && slot.is_none()
        {
            *slot = Some(e);
        }
    }
}

/// Run `work` against `endpoint`; `server_pid` (if we started the server) is used for CPU accounting.
pub async fn run(endpoint: &Endpoint, spec: &Spec, work: Arc<dyn Workload>, server_pid: Option<u32>) -> Result<Run> {
    if spec.clients == 0 {
        bail!("need at least one client");
    }
    let shared = Arc::new(Shared { stop: AtomicBool::new(false), started: AtomicU64::new(0), error: Mutex::new(None) });
    // Everyone connects first; the clock starts when all are ready.
    let barrier = Arc::new(tokio::sync::Barrier::new(spec.clients + 1));
    let mut tasks = Vec::with_capacity(spec.clients);
    for i in 0..spec.clients {
        let (endpoint, work, shared, barrier) = (endpoint.clone(), work.clone(), shared.clone(), barrier.clone());
        let (duration, max, seed) = (spec.duration, spec.max_requests, spec.seed.wrapping_add(i as u64));
        tasks.push(tokio::spawn(async move {
            let conn = endpoint.connect().await;
            barrier.wait().await;
            let mut conn = match conn {
                Ok(c) => c,
                Err(e) => {
                    shared.fail(e);
                    return Vec::new();
                }
            };
            let deadline = Instant::now() + duration;
            let mut rng = Rng::new(seed);
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 14);
            let mut checked = false;
            while !shared.stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if shared.started.fetch_add(1, Ordering::Relaxed) >= max {
                    break;
                }
                let Some(req) = work.next(&mut rng) else { break };
                let t0 = Instant::now();
                match conn.send(&req).await {
                    Ok((status, body)) if status.is_success() => {
                        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                        if let Err(e) = work.check_each(&body) {
                            shared.fail(e.context(format!("{}: unexpected answer", req.describe())));
                        }
                        if !checked {
                            checked = true;
                            if let Err(e) = work.check(&body) {
                                shared.fail(e.context(format!("{}: unexpected answer", req.describe())));
                            }
                        }
                    }
                    Ok((status, body)) => {
                        shared.fail(anyhow!("{}: got {status} (only 2xx counts): {}", req.describe(), snippet(&body)));
                    }
                    Err(e) => shared.fail(e),
                }
            }
            lat
        }));
    }
    barrier.wait().await;
    let before = Snapshot::take(server_pid);
    let start = Instant::now();
    let mut latencies: Vec<u32> = Vec::new();
    for t in tasks {
        match t.await {
            Ok(l) => latencies.extend(l),
            Err(e) => shared.fail(anyhow!("a client task panicked: {e}")),
        }
    }
    let elapsed = start.elapsed();
    let after = Snapshot::take(server_pid);
    if let Some(e) = shared.error.lock().ok().and_then(|mut s| s.take()) {
        return Err(e.context("load run failed: a request did not succeed"));
    }
    latencies.sort_unstable();
    Ok(Run { ops: latencies.len() as u64, elapsed, latencies_us: latencies, cpu: Some(before.until(&after)) })
}
