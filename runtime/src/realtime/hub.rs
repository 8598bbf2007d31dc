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
}

#[derive(Default)]
pub struct Hub {
    pub conns: HashMap<ConnId, Conn>,
    index: HashMap<String, HashMap<ConnId, u32>>,
    pub processed: u64,
    next_id: ConnId,
}

impl Hub {
    pub fn new(processed: u64) -> Hub {
        Hub { processed, ..Hub::default() }
    }

    pub fn register(&mut self, conn: Conn) -> ConnId {
        self.next_id += 1;
        let id = self.next_id;
        let channels: Vec<String> = conn.subs.iter().flat_map(|s| s.channels.clone()).collect();
        self.conns.insert(id, conn);
        for c in channels {
            self.link(id, &c);
        }
        id
    }

    pub fn remove(&mut self, id: ConnId) -> Option<Conn> {
        let conn = self.conns.remove(&id)?;
        for s in &conn.subs {
            for c in &s.channels {
                self.unlink(id, c);
            }
        }
        Some(conn)
    }

    fn link(&mut self, id: ConnId, channel: &str) {
        *self.index.entry(channel.to_owned()).or_default().entry(id).or_insert(0) += 1;
    }

    fn unlink(&mut self, id: ConnId, channel: &str) {
        if let Some(conns) = self.index.get_mut(channel) {
            if let Some(n) = conns.get_mut(&id) {
                *n -= 1;
                if *n == 0 {
                    conns.remove(&id);
                }
            }
            if conns.is_empty() {
                self.index.remove(channel);
            }
        }
    }

    /// Add or replace a subscription (same id = replace, as the SDK's `update()` intends).
    pub fn upsert(&mut self, id: ConnId, sub: Subscription, requested: Vec<String>) {
        self.unsubscribe(id, &sub.id);
        let channels = sub.channels.clone();
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.requested.insert(sub.id.clone(), requested);
            conn.subs.push(sub);
        } else {
            return;
        }
        for c in channels {
            self.link(id, &c);
        }
    }

    pub fn unsubscribe(&mut self, id: ConnId, sub_id: &str) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else { return false };
        let Some(pos) = conn.subs.iter().position(|s| s.id == sub_id) else { return false };
        let sub = conn.subs.remove(pos);
        conn.requested.remove(sub_id);
        for c in &sub.channels {
            self.unlink(id, c);
        }
        true
    }

    /// Re-convert every subscription's channels after the connection's user changed.
    pub fn rebind(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get(&id) else { return };
        let user = conn.user_id.clone();
        let subs: Vec<(Subscription, Vec<String>)> = conn
            .subs
            .iter()
            .map(|s| (s.clone(), conn.requested.get(&s.id).cloned().unwrap_or_else(|| s.channels.clone())))
            .collect();
        for (mut sub, requested) in subs {
            sub.channels = super::protocol::convert_channels(&requested, user.as_deref());
            self.upsert(id, sub, requested);
        }
    }

    /// Connections with a subscription on any of the event's channels.
    pub fn candidates(&self, ev: &Prepared) -> Vec<ConnId> {
        let mut out: Vec<ConnId> = Vec::new();
        for c in &ev.channels {
            if let Some(conns) = self.index.get(c.as_str()) {
                out.extend(conns.keys().copied());
            }
        }
        if ev.channels.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
        out
    }

    pub fn subscription_count(&self) -> usize {
        self.conns.values().map(|c| c.subs.len()).sum()
    }
}

/// The IDs of `conn`'s subscriptions that `ev` matches (empty: not for it).
pub fn matching<'c>(conn: &'c Conn, ev: &Prepared) -> Vec<&'c str> {
    if !conn.admin && !ev.readable_by(&conn.roles) {
        return Vec::new();
    }
    conn.subs
        .iter()
        .filter(|s| s.channels.iter().any(|c| ev.has_channel(c)))
        .filter(|s| s.filters.is_empty() || ev.payload().is_some_and(|p| s.filters.iter().all(|f| f.matches(p))))
        .map(|s| s.id.as_str())
        .collect()
}
