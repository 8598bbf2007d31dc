//! Reading and trimming the event log.
//!
//! The log is the event files (`evlog`), by sequence number. Sequence
//! numbers are handed out by the single writer without gaps, and an event is
//! in the log exactly when the change it describes is in sled, so a reader
//! that walks it in order from any point sees every change once. Readers
//! must not read past the writer's published watermark
//! (`crate::events::bus`), which in durable mode only covers events already
//! flushed to disk.
//!
//! Retention drops the oldest events, by count and by age: it moves the
//! log's floor (the first sequence number still held), so a reader asking
//! for older ones gets a clear answer instead of a silent gap, and then
//! removes the files that hold only events below it.

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
        self.events.read(after + 1, upto, limit, |_, bytes| {
            let ev: Event = serde_json::from_slice(bytes)
                .map_err(|e| StoreError::Corrupt { tree: "events", detail: e.to_string() })?;
            out.push(ev);
            Ok(true)
        })?;
        // Sequence numbers have no gaps, so anything but `after + 1` first
        // means retention removed events between our check and the read.
        if out.first().map(|e| e.seq) != Some(after + 1) {
            return Ok(Err(Trimmed { first_available: self.first_seq() }));
        }
        Ok(Ok(out))
    }

    /// Number of events the log holds (sequence numbers have no gaps).
    pub fn event_count(&self) -> usize {
        match (self.first_seq(), self.events.last()) {
            (first, Some(last)) if last >= first => (last - first + 1) as usize,
            _ => 0,
        }
    }

    /// Apply retention: keep at most `max_events` events and none older than
    /// `max_age_ms` (the newest event is always kept). Drops at most `budget`
    /// events per call so the writer is never stalled; returns how many it dropped.
    pub fn trim_log(
        &self,
        max_events: u64,
        max_age_ms: Millis,
        now: Millis,
        budget: usize,
    ) -> Result<usize, StoreError> {
        let Some(last) = self.events.last() else {
            return Ok(0);
        };
        let first = self.first_seq();
        // The floor moves at most `budget` and never past the newest event.
        let cap = first.saturating_add(budget as u64).min(last);
        let count_floor = last.saturating_sub(max_events.saturating_sub(1));
        let mut floor = count_floor.clamp(first, cap.max(first));
        if floor < cap {
            #[derive(serde::Deserialize)]
            struct Stamp {
                time: Millis,
            }
            self.events.read(floor, cap - 1, (cap - floor) as usize, |seq, bytes| {
                let stamp: Stamp = serde_json::from_slice(bytes)
                    .map_err(|e| StoreError::Corrupt { tree: "events", detail: e.to_string() })?;
                let too_old = now - stamp.time > max_age_ms;
                if too_old {
                    floor = seq + 1;
                }
                Ok(too_old)
            })?;
        }
        if floor <= first {
            return Ok(0);
        }
        // Readers check the copy in memory; it moves before anything goes,
        // so no reader finds events gone while the floor still promises
        // them (a resume then hears "too old" instead). Should the write
        // below fail, readers are told "too old" for events that are still
        // there, never the reverse; a restart takes the floor from the files
        // if they start later.
        self.first_seq.fetch_max(floor, Ordering::AcqRel);
        let value = sled::IVec::from(&floor.to_be_bytes()[..]);
        self.upkeep(vec![(TreeId::Meta, keys::meta::FIRST_SEQ.to_vec(), Some(value))])?;
        self.events.remove_before(floor)?;
        Ok((floor - first) as usize)
    }
}
