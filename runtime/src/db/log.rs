//! Tailing the event log: every event after a sequence number, in order,
//! with no gap and no duplicate, waiting for new ones as they commit.
//!
//! This is how realtime, triggers and resume read the log. A [`Tail`] reads
//! committed events straight from the store up to the writer's watermark and
//! then waits for the watermark to move.

use std::sync::Arc;

use tokio::sync::watch;

use super::Db;
use crate::model::event::Event;
use crate::model::exception::Exception;
use crate::store::log::Trimmed;

/// Events read per store access.
pub const TAIL_BATCH: usize = 1024;

pub struct Tail {
    db: Db,
    after: u64,
    watermark: watch::Receiver<u64>,
}

/// Why a tail cannot continue.
#[derive(Debug)]
pub enum TailError {
    /// The events right after the cursor were removed by retention.
    Trimmed(Trimmed),
    /// The server is shutting down.
    Closed,
    Store(Exception),
}

impl Db {
    /// Follow the log from just after `after` (0 for the beginning).
    pub fn tail(&self, after: u64) -> Tail {
        Tail { db: self.clone(), after, watermark: self.bus().subscribe() }
    }
}

impl Tail {
    /// The sequence number of the last event returned.
    pub fn position(&self) -> u64 {
        self.after
    }

    /// The next events after the cursor, waiting until there is at least one.
    pub async fn next(&mut self) -> Result<Vec<Arc<Event>>, TailError> {
        loop {
            let events = self.try_next()?;
            if !events.is_empty() {
                return Ok(events);
            }
            if self.watermark.changed().await.is_err() {
                return Err(TailError::Closed);
            }
        }
    }

    /// The events available now, without waiting (possibly none): from the
    /// in-memory ring when it still holds them, else from the store.
    pub fn try_next(&mut self) -> Result<Vec<Arc<Event>>, TailError> {
        let upto = *self.watermark.borrow_and_update();
        if upto <= self.after {
            return Ok(Vec::new());
        }
        // Retention applies to the ring too: a reader behind the log's start must refetch.
        let first = self.db.store().first_seq();
        if self.after + 1 < first {
            return Err(TailError::Trimmed(crate::store::log::Trimmed { first_available: first }));
        }
        let events = match self.db.bus().recent(self.after, upto, TAIL_BATCH) {
            Some(events) if !events.is_empty() => events,
            _ => self
                .db
                .store()
                .events_after(self.after, upto, TAIL_BATCH)
                .map_err(|e| TailError::Store(e.into()))?
                .map_err(TailError::Trimmed)?
                .into_iter()
                .map(Arc::new)
                .collect(),
        };
        if let Some(last) = events.last() {
            self.after = last.seq;
        }
        Ok(events)
    }
}
