//! A connection's outgoing queue: bounded, drained all at once.
//!
//! The dispatcher pushes frames ready for the wire (`wire::Wire`: shared
//! bytes, never copied per recipient); the connection task takes everything
//! queued and writes it in one go, so frames that pile up while a socket is
//! busy leave in a single write. The control frames tungstenite answers by
//! itself while reading (pong, the close reply) queue here too, ahead of
//! the rest, so they reach the socket from the same writer. Overflow rule: a
//! connection that falls [`MAX_FRAMES`] frames or [`MAX_BYTES`] bytes behind
//! is cut off (closed with 1013, "try again later"),
//! never waited for: a slow reader must not hold back anyone else, and the
//! server's memory stays bounded. The client can reconnect and resume from the
//! last `seq` it saw.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::wire::Wire;

pub const MAX_FRAMES: usize = 4096;
pub const MAX_BYTES: usize = 8 << 20;
/// Control frames (pongs, a close reply) not yet written: a client that
/// pings faster than its pongs drain is cut off like a slow reader.
pub const MAX_CONTROL_BYTES: usize = 64 << 10;

#[derive(Default)]
struct Inner {
    frames: VecDeque<Wire>,
    bytes: usize,
    control: Vec<u8>,
    overflowed: bool,
}

/// What a connection has to write: control bytes first, then frames.
pub struct Drained {
    pub control: Vec<u8>,
    pub frames: VecDeque<Wire>,
    pub overflowed: bool,
}

#[derive(Default)]
pub struct Outbox {
    inner: Mutex<Inner>,
    notify: Notify,
}

impl Outbox {
    /// Queue a frame. Returns false if the connection is (now) over its limit.
    pub fn push(&self, frame: Wire) -> bool {
        let Ok(mut inner) = self.inner.lock() else { return false };
        if inner.overflowed {
            return false;
        }
        if inner.frames.len() >= MAX_FRAMES || inner.bytes + frame.len() > MAX_BYTES {
            return self.overflow(inner);
        }
        inner.bytes += frame.len();
        let was_empty = inner.frames.is_empty() && inner.control.is_empty();
        inner.frames.push_back(frame);
        drop(inner);
        if was_empty {
            self.notify.notify_one();
        }
        true
    }

    /// Queue bytes of control frames, written ahead of the queued frames.
    pub fn push_control(&self, bytes: &[u8]) -> bool {
        let Ok(mut inner) = self.inner.lock() else { return false };
        if inner.overflowed {
            return false;
        }
        if inner.control.len() + bytes.len() > MAX_CONTROL_BYTES {
            return self.overflow(inner);
        }
        inner.control.extend_from_slice(bytes);
        drop(inner);
        self.notify.notify_one();
        true
    }

    fn overflow(&self, mut inner: std::sync::MutexGuard<'_, Inner>) -> bool {
        inner.overflowed = true;
        inner.frames.clear();
        inner.control.clear();
        inner.bytes = 0;
        drop(inner);
        self.notify.notify_one();
        false
    }

    /// Take everything queued, and whether the connection overflowed.
    pub fn drain(&self) -> Drained {
        match self.inner.lock() {
            Ok(mut inner) => {
                inner.bytes = 0;
                Drained {
                    control: std::mem::take(&mut inner.control),
                    frames: std::mem::take(&mut inner.frames),
                    overflowed: inner.overflowed,
                }
            }
            Err(_) => Drained { control: Vec::new(), frames: VecDeque::new(), overflowed: true },
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
        let x = Wire::text("x");
        for _ in 0..MAX_FRAMES {
            assert!(o.push(x.clone()));
        }
        assert!(!o.push(x.clone()));
        let d = o.drain();
        assert!(d.frames.is_empty() && d.overflowed);
        assert!(!o.push(x), "stays cut off");
    }

    #[test]
    fn control_bytes_come_first_and_are_bounded() {
        let o = Outbox::default();
        assert!(o.push(Wire::text("event")));
        assert!(o.push_control(&[0x8a, 0x00]));
        let d = o.drain();
        assert_eq!(d.control, vec![0x8a, 0x00]);
        assert_eq!(d.frames.len(), 1);
        let pong = [0u8; 127];
        while o.push_control(&pong) {}
        let d = o.drain();
        assert!(d.overflowed && d.control.is_empty(), "a ping flood is cut off");
    }

    #[tokio::test]
    async fn wakes_once_for_a_burst() {
        let o = Outbox::default();
        o.push(Wire::text("a"));
        o.push(Wire::text("b"));
        o.ready().await;
        let d = o.drain();
        assert_eq!(d.frames.len(), 2);
        assert!(!d.overflowed);
    }
}
