//! The commit watermark, and the most recent events kept in memory: how
//! readers of the event log learn that new events are there, and read them
//! without going back to disk.
//!
//! The writer publishes each committed batch: in durable mode only once it is
//! flushed, so no one ever acts on an event that a crash could still take
//! back. The batch's events go into a bounded ring first, then the watermark
//! moves. Readers keep a watermark receiver, wait for it to move, and take
//! events from the ring; whatever the ring no longer holds they read from the
//! store. A `tokio::sync::watch` never queues, so a slow reader costs nothing:
//! it just sees a later watermark and reads more at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::model::event::Event;

/// Events kept in memory for readers that follow closely.
pub const RING_CAPACITY: usize = 65_536;

pub struct Bus {
    tx: watch::Sender<u64>,
    ring: Mutex<VecDeque<Arc<Event>>>,
}

impl Bus {
    pub fn new(start: u64) -> Self {
        Self { tx: watch::Sender::new(start), ring: Mutex::new(VecDeque::new()) }
    }

    /// Make a committed batch visible: its events (in order), then the watermark.
    pub fn publish_events(&self, events: Vec<Event>) {
        let Some(last) = events.last().map(|e| e.seq) else { return };
        if let Ok(mut ring) = self.ring.lock() {
            for e in events {
                if ring.len() == RING_CAPACITY {
                    ring.pop_front();
                }
                ring.push_back(Arc::new(e));
            }
        }
        self.publish(last);
    }

    /// Raise the watermark to `seq` (never lowers it).
    pub fn publish(&self, seq: u64) {
        self.tx.send_if_modified(|current| {
            if seq > *current {
                *current = seq;
                true
            } else {
                false
            }
        });
    }

    /// The highest sequence number readers may see now.
    pub fn watermark(&self) -> u64 {
        *self.tx.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }

    /// Up to `limit` events with `after < seq <= upto` from memory, or None
    /// if the ring no longer starts early enough (read the store instead).
    pub fn recent(&self, after: u64, upto: u64, limit: usize) -> Option<Vec<Arc<Event>>> {
        let ring = self.ring.lock().ok()?;
        let first = ring.front()?.seq;
        if after + 1 < first {
            return None;
        }
        let start = (after + 1 - first) as usize;
        Some(ring.iter().skip(start).take_while(|e| e.seq <= upto).take(limit).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Action, EventDraft, Resource, raw};

    fn ev(seq: u64) -> Event {
        EventDraft::new(Resource::User { user: "u".into() }, Action::Update, raw(&seq)).into_event(seq, 0, 0)
    }

    #[test]
    fn ring_serves_recent_events_in_order() {
        let bus = Bus::new(0);
        bus.publish_events((1..=5).map(ev).collect());
        assert_eq!(bus.watermark(), 5);
        let got: Vec<u64> = bus.recent(2, 5, 10).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(got, [3, 4, 5]);
        assert_eq!(bus.recent(0, 3, 10).unwrap().len(), 3);
        assert!(bus.recent(5, 5, 10).unwrap().is_empty());
    }

    #[test]
    fn ring_forgets_old_events() {
        let bus = Bus::new(0);
        bus.publish_events((1..=(RING_CAPACITY as u64 + 10)).map(ev).collect());
        assert!(bus.recent(0, 20, 10).is_none(), "evicted: read the store");
        assert_eq!(bus.recent(10, 20, 10).unwrap()[0].seq, 11);
    }
}
