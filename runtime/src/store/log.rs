//! Reading and trimming the event log.
//!
//! The log is the `events` tree, keyed by sequence number. Sequence numbers
//! are handed out by the single writer without gaps, and an event is in the
//! tree exactly when the change it describes is, so a reader that walks the
//! keys in order from any point sees every change once. Readers must not read
//! past the writer's published watermark (`crate::events::bus`), which in
//! durable mode only covers events already flushed to disk.
//!
//! Retention removes the oldest events, by count and by age, and records the
//! first sequence number still held so a reader asking for older ones gets a
//! clear answer instead of a silent gap.

use std::sync::atomic::Ordering;

use super::Store;
use super::error::StoreError;
use super::keys::{self, TreeId};
use crate::model::event::Event;
use crate::model::time::Millis;

/// Why events before a sequence number can no longer be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    /// The lowest sequence number still in the log.
    pub first_available: u64,
}

impl Store {
    /// The lowest sequence number the log still holds events from (1 if never trimmed).
    pub fn first_seq(&self) -> u64 {
        self.first_seq.load(Ordering::Acquire)
    }

    /// Up to `limit` events with `after < seq <= upto`, in order. Errors with
    /// [`Trimmed`] if events after `after` were already removed by retention.
    pub fn events_after(&self, after: u64, upto: u64, limit: usize) -> Result<Result<Vec<Event>, Trimmed>, StoreError> {
        let first = self.first_seq();
        if after + 1 < first {
            return Ok(Err(Trimmed { first_available: first }));
        }
        let mut out = Vec::new();
        if after >= upto {
            return Ok(Ok(out));
        }
        let range = keys::event(after + 1).to_vec()..=keys::event(upto).to_vec();
        for item in self.tree(TreeId::Events).range(range).take(limit) {
            let (_, v) = item?;
            let ev: Event = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt { tree: "events", detail: e.to_string() })?;
            out.push(ev);
        }
        // Sequence numbers have no gaps, so anything but `after + 1` first
        // means retention removed events between our check and the scan.
        if out.first().map(|e| e.seq) != Some(after + 1) {
            return Ok(Err(Trimmed { first_available: self.first_seq() }));
        }
        Ok(Ok(out))
    }

    /// One event by sequence number.
    pub fn event(&self, seq: u64) -> Result<Option<Event>, StoreError> {
        match self.tree(TreeId::Events).get(keys::event(seq))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt { tree: "events", detail: e.to_string() }),
        }
    }

    /// Number of events the log holds (sequence numbers have no gaps).
    pub fn event_count(&self) -> usize {
        match (self.first_seq(), self.last_seq()) {
            (first, Ok(last)) if last >= first => (last - first + 1) as usize,
            _ => 0,
        }
    }

    /// Apply retention: keep at most `max_events` events and none older than
    /// `max_age_ms` (the newest event is always kept). Removes at most `budget`
    /// events per call so the writer is never stalled; returns how many it removed.
    pub fn trim_log(
        &self,
        max_events: u64,
        max_age_ms: Millis,
        now: Millis,
        budget: usize,
    ) -> Result<usize, StoreError> {
        let tree = self.tree(TreeId::Events);
        let Some((last_key, _)) = tree.last()? else {
            return Ok(0);
        };
        let last = keys::u64_of(&last_key).unwrap_or(0);
        let count_floor = last.saturating_sub(max_events.saturating_sub(1)).max(1);
        let mut doomed = Vec::new();
        let mut new_first = None;
        for item in tree.iter() {
            if doomed.len() >= budget {
                break;
            }
            let (k, v) = item?;
            let seq = keys::u64_of(&k).unwrap_or(0);
            if seq >= last {
                break;
            }
            let too_many = seq < count_floor;
            let too_old = !too_many && {
                let ev: Event = serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt { tree: "events", detail: e.to_string() })?;
                now - ev.time > max_age_ms
            };
            if !(too_many || too_old) {
                break;
            }
            doomed.push((TreeId::Events, k.to_vec(), None));
            new_first = Some(seq + 1);
        }
        let removed = doomed.len();
        if let Some(first) = new_first {
            // First, so that no reader finds events gone while the floor
            // still promises them (a resume then hears "too old" instead).
            let floor =
                (TreeId::Meta, keys::meta::FIRST_SEQ.to_vec(), Some(sled::IVec::from(&first.to_be_bytes()[..])));
            doomed.insert(0, floor);
            // Readers check the copy in memory; it moves before any event
            // goes. Should the write below fail, readers are told "too old"
            // for events that are still there, never the reverse.
            self.first_seq.fetch_max(first, Ordering::AcqRel);
        }
        self.upkeep(doomed)?;
        Ok(removed)
    }
}
