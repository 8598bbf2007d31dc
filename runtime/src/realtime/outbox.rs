//! A connection's outgoing queue: bounded, drained all at once.
//!
//! The dispatcher pushes serialized text frames (shared, already-validated
//! UTF-8 bytes, never copied or re-checked per recipient); the connection task takes everything queued and writes it in
//! one go, so frames that pile up while a socket is busy leave in a single
//! write. Overflow rule: a connection that falls [`MAX_FRAMES`] frames or
//! [`MAX_BYTES`] bytes behind is cut off (closed with 1013, "try again later"),
//! never waited for: a slow reader must not hold back anyone else, and the
//! server's memory stays bounded. The client can reconnect and resume from the
//! last `seq` it saw.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Notify;

pub const MAX_FRAMES: usize = 4096;
pub const MAX_BYTES: usize = 8 << 20;

#[derive(Default)]
struct Inner {
    frames: VecDeque<Utf8Bytes>,
    bytes: usize,
    overflowed: bool,
}

#[derive(Default)]
pub struct Outbox {
    inner: Mutex<Inner>,
    notify: Notify,
}

impl Outbox {
    /// Queue a frame. Returns false if the connection is (now) over its limit.
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        let Ok(mut inner) = self.inner.lock() else { return false };
        if inner.overflowed {
            return false;
        }
        if inner.frames.len() >= MAX_FRAMES || inner.bytes + frame.as_str().len() > MAX_BYTES {
            inner.overflowed = true;
            inner.frames.clear();
            inner.bytes = 0;
            drop(inner);
            self.notify.notify_one();
            return false;
        }
        inner.bytes += frame.as_str().len();
        let was_empty = inner.frames.is_empty();
        inner.frames.push_back(frame);
        drop(inner);
        if was_empty {
            self.notify.notify_one();
        }
        true
    }

    /// Take everything queued, and whether the connection overflowed.
    pub fn drain(&self) -> (VecDeque<Utf8Bytes>, bool) {
        match self.inner.lock() {
            Ok(mut inner) => {
                inner.bytes = 0;
                (std::mem::take(&mut inner.frames), inner.overflowed)
            }
            Err(_) => (VecDeque::new(), true),
        }
    }

    /// Wait until something was queued (or the queue overflowed).
    pub async fn ready(&self) {
        self.notify.notified().await;
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.frames.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_cuts_off() {
        let o = Outbox::default();
        for _ in 0..MAX_FRAMES {
            assert!(o.push(Utf8Bytes::from_static("x")));
        }
        assert!(!o.push(Utf8Bytes::from_static("x")));
        let (frames, overflowed) = o.drain();
        assert!(frames.is_empty() && overflowed);
        assert!(!o.push(Utf8Bytes::from_static("x")), "stays cut off");
    }

    #[tokio::test]
    async fn wakes_once_for_a_burst() {
        let o = Outbox::default();
        o.push(Utf8Bytes::from_static("a"));
        o.push(Utf8Bytes::from_static("b"));
        o.ready().await;
        let (frames, overflowed) = o.drain();
        assert_eq!(frames.len(), 2);
        assert!(!overflowed);
    }
}
