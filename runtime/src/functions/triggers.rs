//! Event-triggered functions: every committed event is matched against the
//! `events` patterns of every function, and each match runs that function
//! with the event's payload as its body.
//!
//! The dispatcher reads the event log with a [`Tail`](crate::db::log::Tail)
//! from a cursor kept in the store, so a restart resumes where it stopped and
//! skips nothing. An execution that commits also writes a marker for its
//! (event, function) pair in the same atomic write, and the dispatcher skips
//! pairs that have one: after a crash, only runs that had not committed run
//! again (at-least-once delivery; functions have no side effects outside the
//! store, so what they did is either committed with the marker or not at all).
//! The cursor advances past an event once all its executions have finished,
//! and markers behind the cursor are removed with it.
//!
//! Loops: a function cannot subscribe to `functions.*` (checked when it is
//! saved), and every event carries its depth in a chain of triggered
//! executions (`Event::depth`); a trigger that would go deeper than
//! [`TriggerConfig::max_depth`] records a failed execution saying so instead
//! of running.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::runner::Call;
use super::{ExecRequest, Functions};
use crate::db::log::TailError;
use crate::events::bus::FirstChange;
use crate::events::names;
use crate::model::event::{Event, Resource};
use crate::model::function::{Function, Header};
use crate::store::keys::{self, functions as k};

/// Limits of event triggers (`arcade serve --help`).
#[derive(Debug, Clone)]
pub struct TriggerConfig {
    /// Longest chain of event-triggered executions; the next one is refused.
    pub max_depth: u32,
    /// Event-triggered executions running at once (0: the runtime's concurrency).
    pub concurrency: usize,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        TriggerConfig { max_depth: 8, concurrency: 0 }
    }
}

/// How often the cursor is saved while events flow.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// How long a stop waits for running triggered executions.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Markers removed per cursor save.
const MARKERS_PER_SAVE: usize = 4096;

/// Functions that subscribe to events (enabled, with an active deployment).
struct Subscribers(Vec<(String, Vec<String>)>);

impl Subscribers {
    fn load(f: &Functions) -> Subscribers {
        let all = match f.db.store().records::<Function>(k::FUNCTION_PREFIX) {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(error = %e, "triggers: cannot read functions");
                Vec::new()
            }
        };
        Subscribers(
            all.into_iter()
                .filter(|f| f.enabled && f.deployment.is_some() && !f.events.is_empty())
                .map(|f| (f.id, f.events))
                .collect(),
        )
    }

    /// The functions `event` triggers, and the event name they are told.
    fn matching(&self, event: &Event) -> (Vec<String>, String) {
        if self.0.is_empty() || matches!(event.resource, Resource::Execution { .. }) {
            return (Vec::new(), String::new());
        }
        let all = names::trigger_names(&event.resource, event.action, event.attribute.as_deref());
        let hits = self
            .0
            .iter()
            .filter(|(_, patterns)| patterns.iter().any(|p| names::pattern_matches(p, &all)))
            .map(|(id, _)| id.clone())
            .collect();
        (hits, all.into_iter().next().unwrap_or_default())
    }
}

impl Functions {
    /// Start the trigger dispatcher; it runs until `stop` turns true.
    pub fn spawn_triggers(
        self: &Arc<Self>,
        config: TriggerConfig,
        stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.dispatch(config, stop).await })
    }

    async fn dispatch(self: Arc<Self>, config: TriggerConfig, mut stop: watch::Receiver<bool>) {
        let store = self.db.store();
        let start = match store.meta(keys::meta::TRIGGER_CURSOR) {
            Ok(v) => v.and_then(|v| keys::u64_of(&v)).unwrap_or(0),
            Err(e) => {
                tracing::error!(error = %e, "triggers: cannot read the cursor; event triggers are off");
                return;
            }
        };
        let concurrency = if config.concurrency == 0 { self.config.concurrency.max(1) } else { config.concurrency };
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut tail = self.db.tail(start);
        let mut subscribers = Subscribers::load(&self);
        let mut running: JoinSet<u64> = JoinSet::new();
        // Executions still running, per event.
        let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
        let mut scanned = start;
        let mut saved = start;
        let mut save_tick = tokio::time::interval(SAVE_EVERY);
        save_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if subscribers.0.is_empty() && running.is_empty() {
                match self.idle(scanned, &mut saved, &mut stop).await {
                    Idle::Follow => {}
                    Idle::From(seq) => {
                        if seq > scanned {
                            scanned = seq;
                            tail = self.db.tail(scanned);
                        }
                    }
                    Idle::Stopped(seq) => {
                        scanned = scanned.max(seq);
                        break;
                    }
                }
            }
            tokio::select! {
                _ = stop.changed() => break,
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Ok(seq) = done
                        && let Some(n) = pending.get_mut(&seq)
                    {
                        *n -= 1;
                        if *n == 0 {
                            pending.remove(&seq);
                        }
                    }
                }
                _ = save_tick.tick() => {
                    saved = self.save_cursor(safe(&pending, scanned), saved).await;
                }
                batch = tail.next() => match batch {
                    Ok(events) => {
                        for event in events {
                            if event.changes_functions() {
                                subscribers = Subscribers::load(&self);
                            }
                            let (hits, name) = subscribers.matching(&event);
                            for function in hits {
                                if self.already_ran(event.seq, &function) {
                                    continue;
                                }
                                let Ok(permit) = permits.clone().acquire_owned().await else { break };
                                *pending.entry(event.seq).or_default() += 1;
                                let this = self.clone();
                                let (event, name, max_depth) = (event.clone(), name.clone(), config.max_depth);
                                running.spawn(async move {
                                    let seq = event.seq;
                                    this.trigger(&event, function, name, max_depth).await;
                                    drop(permit);
                                    seq
                                });
                            }
                            scanned = event.seq;
                        }
                    }
                    Err(TailError::Trimmed(t)) => {
                        tracing::error!(
                            from = tail.position() + 1,
                            to = t.first_available - 1,
                            "triggers: events were removed by log retention before their triggers ran; they are skipped \
                             (raise --retention-events / --retention-seconds)"
                        );
                        scanned = t.first_available - 1;
                        tail = self.db.tail(scanned);
                    }
                    Err(TailError::Closed) => break,
                    Err(TailError::Store(e)) => {
                        tracing::error!(error = %e, "triggers: reading the log failed; retrying in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
            }
        }
        // Let running executions finish (briefly), then save how far we got.
        let _ = tokio::time::timeout(STOP_GRACE, async {
            while let Some(done) = running.join_next().await {
                if let Ok(seq) = done
                    && let Some(n) = pending.get_mut(&seq)
                {
                    *n -= 1;
                    if *n == 0 {
                        pending.remove(&seq);
                    }
                }
            }
        })
        .await;
        self.save_cursor(safe(&pending, scanned), saved).await;
    }

    /// With no function subscribed to events and none running, no event
    /// can trigger anything until a function changes, so the dispatcher
    /// stops reading the log (being woken by every commit cost ~40 µs of
    /// each 1-client execution) and waits for the bus's function-change
    /// signal, then goes on from just before that change. Events it skips
    /// this way are handled: the cursor is saved past them.
    async fn idle(&self, scanned: u64, saved: &mut u64, stop: &mut watch::Receiver<bool>) -> Idle {
        let bus = self.db.bus();
        let mut changes = bus.subscribe_changes();
        // The watermark first: a change committed after reading it is
        // newer than it, so "no change after `scanned`" covers all up to it.
        let upto = bus.watermark().max(scanned);
        match bus.first_change_after(scanned) {
            FirstChange::Unknown => return Idle::Follow,
            FirstChange::At(seq) => return Idle::From(seq - 1),
            FirstChange::None => {}
        }
        *saved = self.save_cursor(upto, *saved).await;
        tokio::select! {
            _ = stop.changed() => Idle::Stopped(upto),
            changed = changes.changed() => match (changed, bus.first_change_after(upto)) {
                (Err(_), _) => Idle::Stopped(upto),
                (Ok(()), FirstChange::At(seq)) => Idle::From(seq - 1),
                (Ok(()), FirstChange::None | FirstChange::Unknown) => Idle::From(upto),
            },
        }
    }

    fn already_ran(&self, seq: u64, function: &str) -> bool {
        matches!(self.db.store().meta(&keys::meta::trigger_done(seq, function)), Ok(Some(_)))
    }

    /// Run (or refuse, when the chain is too deep) one triggered execution.
    async fn trigger(self: &Arc<Self>, event: &Event, function: String, name: String, max_depth: u32) {
        let depth = event.depth + 1;
        let user = event.actor.clone();
        let headers = vec![
            Header { name: "content-type".into(), value: "application/json".into() },
            Header { name: "user-agent".into(), value: format!("Arcade/{}", env!("CARGO_PKG_VERSION")) },
            Header { name: "x-appwrite-trigger".into(), value: "event".into() },
            Header { name: "x-appwrite-event".into(), value: name.clone() },
            Header { name: "x-appwrite-user-id".into(), value: user.clone().unwrap_or_default() },
        ];
        let call = Call {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers,
            body: event.payload.get().as_bytes().to_vec(),
            trigger: "event".into(),
            event: Some(name.clone()),
            user,
            execution_id: String::new(),
        };
        let req =
            ExecRequest { function: function.clone().into(), call, asynchronous: false, cause: Some(event.seq), depth };
        let result = if depth > max_depth {
            let why = format!(
                "Event chain cut: this execution would be {depth} triggers deep (event {name}, log sequence {}), \
                 beyond the limit of {max_depth} (--trigger-max-depth). A function's writes probably trigger \
                 itself, directly or through others.",
                event.seq
            );
            tracing::warn!(function = %function, seq = event.seq, depth, "event chain cut");
            self.refuse(req, why).await
        } else {
            self.execute_to_end(req).await
        };
        if let Err(e) = result {
            tracing::warn!(function = %function, seq = event.seq, error = %e, "an event-triggered execution failed to run");
        }
    }

    /// Save the cursor (if it moved) and drop the markers behind it. Returns what is saved.
    async fn save_cursor(&self, cursor: u64, saved: u64) -> u64 {
        if cursor <= saved {
            return saved;
        }
        let doomed: Vec<Vec<u8>> = match self.db.store().meta_keys(keys::meta::TRIGGER_DONE, MARKERS_PER_SAVE) {
            Ok(keys) => keys
                .into_iter()
                .take_while(|rest| keys::u64_of(rest).is_some_and(|seq| seq <= cursor))
                .map(|rest| [keys::meta::TRIGGER_DONE, &rest].concat())
                .collect(),
            Err(_) => Vec::new(),
        };
        let result = self
            .db
            .write(move |tx, _| {
                tx.put_meta(keys::meta::TRIGGER_CURSOR.to_vec(), cursor.to_be_bytes().to_vec());
                for k in &doomed {
                    tx.remove_meta(k.clone());
                }
                Ok(())
            })
            .await;
        match result {
            Ok(()) => cursor,
            Err(e) => {
                tracing::warn!(error = %e, "triggers: saving the cursor failed");
                saved
            }
        }
    }
}

/// What the dispatcher does after [`Functions::idle`].
enum Idle {
    /// Read the log as usual (the bus cannot tell what changed).
    Follow,
    /// Every event up to this one triggers nothing: go on after it.
    From(u64),
    /// Stop; every event up to this one is handled.
    Stopped(u64),
}

/// Every event up to the returned sequence number has been fully handled.
fn safe(pending: &BTreeMap<u64, usize>, scanned: u64) -> u64 {
    match pending.keys().next() {
        Some(first) => first - 1,
        None => scanned,
    }
}
