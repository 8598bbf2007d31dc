//! Who is connected and what they listen to, indexed by channel.
//!
//! The hub maps every channel to the connections with a subscription on it,
//! so delivering an event costs work in proportion to its subscribers, not to
//! the number of connections. It lives behind one mutex: the dispatcher holds
//! it while it delivers a batch of events, connection tasks hold it briefly to
//! change their subscriptions. `processed` is the sequence number of the last
//! event the dispatcher delivered; a connection that joins sees every event
//! after it.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::HashMap as FastMap;

use super::frame::Prepared;
use super::outbox::Outbox;
use super::protocol::Subscription;

pub type ConnId = u64;

/// Most subscriptions one connection may hold, and channels per subscription.
pub const MAX_SUBSCRIPTIONS: usize = 256;
pub const MAX_CHANNELS: usize = 64;

pub struct Conn {
    pub roles: Vec<String>,
    /// Opened with an API key (`arcade watch --key`): sees every event.
    pub admin: bool,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// Subscriptions with channels already converted for the current user.
    pub subs: Vec<Subscription>,
    /// The channels each subscription asked for, before conversion (to rebind `account`).
    pub requested: HashMap<String, Vec<String>>,
    pub outbox: Arc<Outbox>,
    /// False while a replay (resume) is catching this connection up.
    pub live: bool,
    /// A `?since=` replay waiting for the first subscription (message protocol).
    pub pending_since: Option<u64>,
    /// Where the dispatcher was when live delivery last stopped for a
    /// replay: a subscription already had, live, the events it matches
    /// after its `from` up to here, so the replay leaves those out.
    pub paused_at: u64,
}

/// For one channel: each connection with subscriptions on it, and the
/// positions of those subscriptions in the connection's `subs`.
type Subscribers = FastMap<ConnId, Vec<u16>>;

#[derive(Default)]
pub struct Hub {
    pub conns: FastMap<ConnId, Conn>,
    /// Channel → subscribers. A delivery looks up only the event's channels
    /// and goes straight to the matching subscriptions, without scanning a
    /// connection's other subscriptions (rebuilt for a connection whenever
    /// its subscriptions change, which is rare next to deliveries).
    index: FastMap<String, Subscribers>,
    pub processed: u64,
    /// The dispatcher has stopped following the log because nobody is
    /// connected (see `dispatch::run`); `processed` is where it stopped.
    pub parked: bool,
    next_id: ConnId,
}

/// A candidate recipient of an event: the connection and the positions of
/// its subscriptions on one of the event's channels (a connection appears
/// once per channel it matched on; entries of one connection are adjacent).
pub type Candidate<'h> = (ConnId, &'h [u16]);

impl Hub {
    pub fn new(processed: u64) -> Hub {
        Hub { processed, ..Hub::default() }
    }

    pub fn register(&mut self, conn: Conn) -> ConnId {
        self.next_id += 1;
        let id = self.next_id;
        self.conns.insert(id, conn);
        self.link_all(id);
        id
    }

    pub fn remove(&mut self, id: ConnId) -> Option<Conn> {
        self.unlink_all(id);
        self.conns.remove(&id)
    }

    /// Index every subscription of `id` under each of its channels.
    fn link_all(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get(&id) else { return };
        for (pos, sub) in conn.subs.iter().enumerate() {
            let Ok(pos) = u16::try_from(pos) else { break };
            for c in &sub.channels {
                let positions = self.index.entry(c.clone()).or_default().entry(id).or_default();
                if !positions.contains(&pos) {
                    positions.push(pos);
                }
            }
        }
    }

    /// Remove `id` from the index (before its subscriptions change).
    fn unlink_all(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get(&id) else { return };
        for sub in &conn.subs {
            for c in &sub.channels {
                if let Some(subscribers) = self.index.get_mut(c.as_str()) {
                    subscribers.remove(&id);
                    if subscribers.is_empty() {
                        self.index.remove(c.as_str());
                    }
                }
            }
        }
    }

    /// Add or replace a subscription (same id = replace, as the SDK's `update()` intends).
    pub fn upsert(&mut self, id: ConnId, sub: Subscription, requested: Vec<String>) {
        self.unlink_all(id);
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.subs.retain(|s| s.id != sub.id);
            conn.requested.insert(sub.id.clone(), requested);
            conn.subs.push(sub);
        }
        self.link_all(id);
    }

    pub fn unsubscribe(&mut self, id: ConnId, sub_id: &str) -> bool {
        let Some(conn) = self.conns.get(&id) else { return false };
        let Some(pos) = conn.subs.iter().position(|s| s.id == sub_id) else { return false };
        self.unlink_all(id);
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.subs.remove(pos);
            conn.requested.remove(sub_id);
        }
        self.link_all(id);
        true
    }

    /// Re-convert every subscription's channels after the connection's user changed.
    pub fn rebind(&mut self, id: ConnId) {
        self.unlink_all(id);
        if let Some(conn) = self.conns.get_mut(&id) {
            let user = conn.user_id.clone();
            for sub in &mut conn.subs {
                let requested = conn.requested.get(&sub.id).cloned().unwrap_or_else(|| sub.channels.clone());
                sub.channels = super::protocol::convert_channels(&requested, user.as_deref());
            }
        }
        self.link_all(id);
    }

    /// The connections with a subscription on one of the event's channels,
    /// with the positions of those subscriptions; entries of one connection
    /// are adjacent (sorted by connection when several channels matched).
    pub fn candidates(&self, ev: &Prepared) -> Vec<Candidate<'_>> {
        let mut out: Vec<Candidate<'_>> = Vec::new();
        let mut channels_hit = 0;
        for c in &ev.channels {
            if let Some(subscribers) = self.index.get(c.as_str()) {
                out.extend(subscribers.iter().map(|(id, positions)| (*id, positions.as_slice())));
                channels_hit += 1;
            }
        }
        if channels_hit > 1 {
            out.sort_unstable_by_key(|(id, _)| *id);
        }
        out
    }

    pub fn subscription_count(&self) -> usize {
        self.conns.values().map(|c| c.subs.len()).sum()
    }
}

/// The IDs of `conn`'s subscriptions that `ev` matches (empty: not for it),
/// for a replay: whatever their start, except those that already had it
/// live (after their `from`, up to where the replay began).
pub fn matching<'c>(conn: &'c Conn, ev: &Prepared) -> Vec<&'c str> {
    if !conn.admin && !ev.readable_by(&conn.roles) {
        return Vec::new();
    }
    let seq = ev.event.seq;
    conn.subs
        .iter()
        .filter(|s| !(seq > s.from && seq <= conn.paused_at))
        .filter(|s| s.channels.iter().any(|c| ev.has_channel(c)))
        .filter(|s| s.filters.is_empty() || ev.payload().is_some_and(|p| s.filters.iter().all(|f| f.matches(p))))
        .map(|s| s.id.as_str())
        .collect()
}

/// The IDs of `conn`'s subscriptions at `positions` (sorted, unique; from
/// the index: those on one of the event's channels) that `ev` matches, into
/// `out` (cleared first), in subscription order as [`matching`] lists them.
pub fn matching_at<'c>(conn: &'c Conn, ev: &Prepared, positions: &[u16], out: &mut Vec<&'c str>) {
    out.clear();
    if !conn.admin && !ev.readable_by(&conn.roles) {
        return;
    }
    let seq = ev.event.seq;
    for &pos in positions {
        let Some(s) = conn.subs.get(usize::from(pos)) else { continue };
        if seq <= s.from {
            continue;
        }
        if !s.filters.is_empty() && !ev.payload().is_some_and(|p| s.filters.iter().all(|f| f.matches(p))) {
            continue;
        }
        out.push(s.id.as_str());
    }
}
