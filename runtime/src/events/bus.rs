//! The commit watermark: how readers of the event log learn that new events
//! are there.
//!
//! The writer publishes the highest sequence number that readers may see
//! after each batch: in durable mode only once the batch is flushed, so no
//! one ever acts on an event that a crash could still take back. Readers keep
//! a receiver and wait for it to move, then read the log up to it. A
//! `tokio::sync::watch` never queues, so a slow reader costs nothing: it just
//! sees a later watermark and reads more at once.

use tokio::sync::watch;

pub struct Bus {
    tx: watch::Sender<u64>,
}

impl Bus {
    pub fn new(start: u64) -> Self {
        Self { tx: watch::Sender::new(start) }
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
}
