//! The dispatcher: one task that follows the event log and delivers every
//! event to the connections that may see it.
//!
//! For each event it first applies what the event means for identities (a
//! deleted session downgrades its connections to guests, a membership or
//! label change re-derives roles), then finds candidates through the channel
//! index, checks read roles and query filters, and queues one shared frame per
//! distinct subscription list. Replays (`resume`) run beside it, per
//! connection, and hand over to it at `processed` so that nothing is missed
//! or delivered twice.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::watch;

use super::Shared;
use super::frame::Prepared;
use super::hub::{ConnId, Hub, matching, matching_at};
use super::protocol;
use crate::auth;
use crate::db::log::TailError;
use crate::model::account::User;
use crate::model::event::{Action, Event, Resource};
use crate::store::keys;

/// Follow the log until `stop` turns true.
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let start = match shared.hub.lock() {
        Ok(h) => h.processed,
        Err(_) => return,
    };
    let mut tail = shared.db.tail(start);
    loop {
        // Nobody connected: stop following the log until somebody connects
        // (`unpark`). Woken by every commit, this task cost a thread wake-up
        // on the path of each write (~40 µs of a 1-client execution here).
        if park_if_idle(&shared) {
            tokio::select! {
                _ = shared.wake.notified() => {}
                _ = stop.changed() => return,
            }
            let Ok(from) = shared.hub.lock().map(|h| h.processed) else { return };
            tail = shared.db.tail(from);
            continue;
        }
        let batch = tokio::select! {
            r = tail.next() => r,
            _ = stop.changed() => return,
        };
        match batch {
            Ok(events) => deliver(&shared, &events),
            Err(TailError::Trimmed(t)) => {
                // Only possible if retention outran the dispatcher itself.
                tracing::error!(first = t.first_available, "realtime fell behind the log's retention; skipping ahead");
                tail = shared.db.tail(t.first_available.saturating_sub(1));
            }
            Err(TailError::Closed) => return,
            Err(TailError::Store(e)) => {
                tracing::error!(error = %e, "realtime could not read the log");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Park the dispatcher if nobody is connected: true if it should wait.
fn park_if_idle(shared: &Shared) -> bool {
    let Ok(mut hub) = shared.hub.lock() else { return false };
    hub.parked = hub.conns.is_empty();
    hub.parked
}

/// A connection is arriving (`hub` is locked for its registration): if the
/// dispatcher is parked, move `processed` to the commit watermark (what was
/// committed before this connection is not live for it, exactly as when the
/// dispatcher is running) and wake the dispatcher, which goes on from there.
pub(crate) fn unpark(shared: &Shared, hub: &mut Hub) {
    if hub.parked {
        hub.parked = false;
        hub.processed = hub.processed.max(shared.db.bus().watermark());
        shared.wake.notify_one();
    }
}

pub(crate) fn deliver(shared: &Shared, events: &[Arc<Event>]) {
    let Ok(mut hub) = shared.hub.lock() else { return };
    let started = Instant::now();
    let cpu_started = super::cpu::thread_nanos();
    let mut deliveries = 0u64;
    let mut frames = 0u64;
    for ev in events {
        // Nobody connected: nothing to deliver and no connection to update.
        // Skipping the channel work here saves it on every commit of a
        // server that no frontend is watching (benchmarks, batch jobs).
        if hub.conns.is_empty() {
            hub.processed = ev.seq;
            continue;
        }
        apply_identity_effects(shared, &mut hub, ev);
        let mut prepared = Prepared::new(ev.clone());
        let mut dead: Vec<ConnId> = Vec::new();
        let candidates = hub.candidates(&prepared);
        let mut positions: Vec<u16> = Vec::new();
        let mut subs: Vec<&str> = Vec::new();
        let mut rest = candidates.as_slice();
        while let Some(&(id, first)) = rest.first() {
            // This connection's entries (one per channel it matched on) are adjacent.
            let n = rest.iter().take_while(|(other, _)| *other == id).count();
            let merged: &[u16] = if n == 1 {
                first
            } else {
                positions.clear();
                for (_, p) in &rest[..n] {
                    positions.extend_from_slice(p);
                }
                positions.sort_unstable();
                positions.dedup();
                &positions
            };
            rest = &rest[n..];
            let Some(conn) = hub.conns.get(&id) else { continue };
            if !conn.live {
                continue;
            }
            matching_at(conn, &prepared, merged, &mut subs);
            if subs.is_empty() {
                continue;
            }
            let frame = prepared.frame(&subs);
            if conn.outbox.push(frame) {
                deliveries += 1;
            } else {
                dead.push(id);
            }
        }
        drop(subs);
        drop(candidates);
        frames += prepared.serialized;
        // Overflowed connections stop receiving at once; their task closes them with 1013.
        for id in dead {
            if let Some(conn) = hub.conns.get_mut(&id) {
                conn.live = false;
            }
        }
        hub.processed = ev.seq;
    }
    let m = &shared.metrics;
    m.events.fetch_add(events.len() as u64, Ordering::Relaxed);
    m.deliveries.fetch_add(deliveries, Ordering::Relaxed);
    m.frames.fetch_add(frames, Ordering::Relaxed);
    m.dispatch_cpu_nanos.fetch_add(super::cpu::thread_nanos().saturating_sub(cpu_started), Ordering::Relaxed);
    m.dispatch_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

/// What an event changes about who is connected: sessions ending, roles changing.
fn apply_identity_effects(shared: &Shared, hub: &mut Hub, ev: &Event) {
    let affected: Vec<ConnId> = match (&ev.resource, ev.action) {
        (Resource::Session { session, .. }, Action::Delete) => {
            let ids: Vec<ConnId> = hub
                .conns
                .iter()
                .filter(|(_, c)| c.session_id.as_deref() == Some(session.as_str()))
                .map(|(id, _)| *id)
                .collect();
            for id in &ids {
                downgrade(hub, *id, "The session ended; this connection continues as a guest.");
            }
            return;
        }
        (Resource::User { user }, _) => user_conns(hub, user),
        (Resource::Membership { .. }, _) => {
            let user = serde_json::from_str::<serde_json::Value>(ev.payload.get())
                .ok()
                .and_then(|p| p.get("userId").and_then(|u| u.as_str()).map(str::to_owned));
            match user {
                Some(u) => user_conns(hub, &u),
                None => return,
            }
        }
        (Resource::Team { team }, Action::Delete) => {
            let role = format!("team:{team}");
            hub.conns.iter().filter(|(_, c)| c.roles.contains(&role)).map(|(id, _)| *id).collect()
        }
        _ => return,
    };
    for id in affected {
        let Some(uid) = hub.conns.get(&id).and_then(|c| c.user_id.clone()) else { continue };
        let user: Option<User> = shared.db.store().auth(&keys::auth::user(&uid)).ok().flatten();
        match user.filter(|u| u.status).map(|u| auth::roles_of(shared.db.store(), &u)) {
            Some(Ok(roles)) => {
                if let Some(conn) = hub.conns.get_mut(&id) {
                    conn.roles = roles;
                }
            }
            _ => downgrade(hub, id, "The user is no longer active; this connection continues as a guest."),
        }
    }
}

fn user_conns(hub: &Hub, user: &str) -> Vec<ConnId> {
    hub.conns.iter().filter(|(_, c)| c.user_id.as_deref() == Some(user)).map(|(id, _)| *id).collect()
}

fn downgrade(hub: &mut Hub, id: ConnId, why: &str) {
    if let Some(conn) = hub.conns.get_mut(&id) {
        conn.roles = vec!["any".to_owned(), "guests".to_owned()];
        conn.user_id = None;
        conn.session_id = None;
        conn.outbox.push(protocol::error(401, why).into());
    }
    hub.rebind(id);
}

/// Replay to one connection the events after `since` it may see, then hand
/// it over to the dispatcher at `processed` (no gap, no duplicate).
pub async fn replay(shared: Arc<Shared>, id: ConnId, since: u64) {
    let mut tail = shared.db.tail(since);
    loop {
        let events = match tail.try_next() {
            Ok(events) => events,
            Err(TailError::Trimmed(t)) => {
                let msg = format!(
                    "Events after {since} are no longer retained (the oldest kept is {}). Refetch the current state; live events continue.",
                    t.first_available
                );
                go_live(&shared, id, Some(protocol::error(410, &msg)));
                return;
            }
            Err(_) => {
                go_live(&shared, id, Some(protocol::error(500, "Replay failed; live events continue.")));
                return;
            }
        };
        match replay_step(&shared, id, since, &events, tail.position()) {
            Step::More => tokio::task::yield_now().await,
            Step::Done => return,
        }
    }
}

enum Step {
    More,
    Done,
}

/// Deliver one batch of a replay under the hub lock; go live once the replay
/// has reached what the dispatcher already delivered.
fn replay_step(shared: &Shared, id: ConnId, since: u64, events: &[Arc<Event>], position: u64) -> Step {
    let Ok(mut hub) = shared.hub.lock() else { return Step::Done };
    let processed = hub.processed;
    let Some(conn) = hub.conns.get(&id) else { return Step::Done };
    let mut replayed = 0u64;
    for ev in events.iter().filter(|e| e.seq <= processed) {
        let mut prepared = Prepared::new(ev.clone());
        let subs = matching(conn, &prepared);
        if !subs.is_empty() {
            if !conn.outbox.push(prepared.frame(&subs)) {
                return Step::Done;
            }
            replayed += 1;
        }
    }
    shared.metrics.replayed.fetch_add(replayed, Ordering::Relaxed);
    let reached = events.last().is_none_or(|e| e.seq >= processed) || position >= processed;
    if !reached {
        return Step::More;
    }
    if let Some(conn) = hub.conns.get_mut(&id) {
        conn.outbox.push(protocol::response_resume(since, processed).into());
        hand_over(conn, processed);
    }
    Step::Done
}

/// The replay reached `processed`: from here on the dispatcher delivers
/// everything after it, to every subscription, including one made during
/// the replay or one whose start was ahead of the dispatcher.
fn hand_over(conn: &mut super::hub::Conn, processed: u64) {
    for s in &mut conn.subs {
        s.from = s.from.min(processed);
    }
    conn.live = true;
}

fn go_live(shared: &Shared, id: ConnId, notice: Option<String>) {
    if let Ok(mut hub) = shared.hub.lock() {
        let processed = hub.processed;
        if let Some(conn) = hub.conns.get_mut(&id) {
            if let Some(n) = notice {
                conn.outbox.push(n.into());
            }
            hand_over(conn, processed);
        }
    }
}
