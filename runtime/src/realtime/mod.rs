//! Realtime: `/v1/realtime`, Appwrite's WebSocket protocol over the event log.
//!
//! - `protocol`: parsing client messages and URLs (all three Appwrite
//!   generations), building frames. Pure.
//! - `hub`: connections and their subscriptions, indexed by channel.
//! - `frame`: an event prepared once for all its recipients.
//! - `outbox`: each connection's bounded queue and its overflow rule.
//! - `wire`: server frames built once as wire bytes; vectored writes.
//! - `socket`: the upgrade handshake; tungstenite reads, `wire` writes.
//! - `dispatch`: the task that follows the log and delivers; replays.
//! - `conn`: one task per connection (upgrade, auth, messages, writes).
//! - `limits`: connect and message rate limits.
//! - `cpu`: the thread CPU clock behind the dispatcher's cost metric.
//!
//! Every event a client receives was committed to the log first, and every
//! one carries its log position `seq`, so a client that reconnects can ask for
//! exactly what it missed (Arcade's extension; see README).

pub mod conn;
pub mod cpu;
pub mod dispatch;
pub mod frame;
pub mod hub;
pub mod limits;
pub mod outbox;
pub mod protocol;
pub mod socket;
pub mod wire;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::Db;
use hub::Hub;
use limits::ConnectLimiter;

/// Counters for `/v1/arcade/metrics` and the benchmarks.
#[derive(Default)]
pub struct Metrics {
    pub connections: AtomicU64,
    pub events: AtomicU64,
    pub deliveries: AtomicU64,
    pub frames: AtomicU64,
    /// Socket writes that carried event frames (deliveries ÷ writes: frames per write).
    pub writes: AtomicU64,
    /// Wall-clock time the dispatcher spent delivering (includes preemption).
    pub dispatch_nanos: AtomicU64,
    /// CPU time the dispatcher's thread spent delivering.
    pub dispatch_cpu_nanos: AtomicU64,
    pub replayed: AtomicU64,
    pub slow_closed: AtomicU64,
}

pub struct Shared {
    pub db: Db,
    pub auth: Arc<Authenticator>,
    pub config: Arc<Config>,
    pub hub: Mutex<Hub>,
    /// Wakes the dispatcher when a connection arrives while it is parked.
    pub wake: Notify,
    pub metrics: Metrics,
    pub connects: ConnectLimiter,
    pub stop: watch::Receiver<bool>,
}

/// The realtime service: a cheap-clone handle.
#[derive(Clone)]
pub struct Realtime {
    pub shared: Arc<Shared>,
    stop: Arc<watch::Sender<bool>>,
}

impl Realtime {
    /// Start the dispatcher at the current end of the log.
    pub fn start(db: Db, auth: Arc<Authenticator>, config: Arc<Config>) -> Realtime {
        let (stop_tx, stop_rx) = watch::channel(false);
        let processed = db.bus().watermark();
        let shared = Arc::new(Shared {
            db,
            auth,
            config,
            hub: Mutex::new(Hub::new(processed)),
            wake: Notify::new(),
            metrics: Metrics::default(),
            connects: ConnectLimiter::default(),
            stop: stop_rx.clone(),
        });
        tokio::spawn(dispatch::run(shared.clone(), stop_rx));
        Realtime { shared, stop: Arc::new(stop_tx) }
    }

    /// Close every connection (1001, going away) and stop the dispatcher.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    pub fn metrics(&self) -> Value {
        let m = &self.shared.metrics;
        let (subscriptions, processed) = match self.shared.hub.lock() {
            // Parked, the dispatcher has nobody to deliver to: everything
            // committed counts as processed.
            Ok(h) if h.parked => (h.subscription_count(), h.processed.max(self.shared.db.bus().watermark())),
            Ok(h) => (h.subscription_count(), h.processed),
            Err(_) => (0, 0),
        };
        json!({
            "connections": m.connections.load(Ordering::Relaxed),
            "subscriptions": subscriptions,
            "processed": processed,
            "events": m.events.load(Ordering::Relaxed),
            "deliveries": m.deliveries.load(Ordering::Relaxed),
            "frames": m.frames.load(Ordering::Relaxed),
            "writes": m.writes.load(Ordering::Relaxed),
            "dispatchNanos": m.dispatch_nanos.load(Ordering::Relaxed),
            "dispatchCpuNanos": m.dispatch_cpu_nanos.load(Ordering::Relaxed),
            "replayed": m.replayed.load(Ordering::Relaxed),
            "slowClosed": m.slow_closed.load(Ordering::Relaxed),
        })
    }
}
