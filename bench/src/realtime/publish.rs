//! The publishing side of the load generator: a few keep-alive HTTP
//! connections that make events (row updates on Arcade, POSTs to the
//! baseline), each stamped with the time it was sent (`sent_us`), round robin
//! over the rooms. Three ways to drive them:
//!
//! - [`Publisher::closed_loop`]: as fast as the clients take it, with at most
//!   `window` deliveries outstanding (published but not yet received), so the
//!   server's queues never overflow: this finds the sustained deliveries/s.
//! - [`Publisher::fixed_rate`]: events on a fixed schedule (open loop), for
//!   latency at a controlled delivery rate.
//! - [`Publisher::quiet`]: events on a row nobody watches.
//!
//! Every event's expected deliveries (its room's watchers) are counted before
//! it is sent, so a run can wait until every one of them has arrived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::backend::Backend;
use super::fleet::{Fleet, now_us};
use super::setup::QUIET_ROW;
use crate::client::{Conn, snippet};

pub struct Publisher<'a> {
    backend: &'a Backend,
    rows: Vec<String>,
    fanout: Vec<u64>,
    published: Vec<AtomicU64>,
    expected: AtomicU64,
    next: AtomicU64,
    conns: Vec<tokio::sync::Mutex<Conn>>,
}

/// How a fixed-rate run kept its schedule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paced {
    /// Events sent more than 2 ms after their scheduled time (the publisher fell behind).
    pub late: u64,
}

impl<'a> Publisher<'a> {
    pub async fn new(backend: &'a Backend, rows: Vec<String>, fanout: Vec<u64>, writers: usize) -> Result<Self> {
        let mut conns = Vec::with_capacity(writers);
        for _ in 0..writers.max(1) {
            conns.push(tokio::sync::Mutex::new(backend.endpoint.connect().await?));
        }
        Ok(Publisher {
            backend,
            published: rows.iter().map(|_| AtomicU64::new(0)).collect(),
            rows,
            fanout,
            expected: AtomicU64::new(0),
            next: AtomicU64::new(0),
            conns,
        })
    }

    /// Deliveries expected for everything published so far.
    pub fn expected(&self) -> u64 {
        self.expected.load(Ordering::Relaxed)
    }

    /// Events published so far on room `k`'s row.
    pub fn published(&self, k: usize) -> u64 {
        self.published[k].load(Ordering::Relaxed)
    }

    /// Send one event on room `room` (or the quiet row for `rows.len()`) with writer `w`.
    async fn send(&self, w: usize, room: usize) -> Result<()> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let row = self.rows.get(room).map_or(QUIET_ROW, String::as_str);
        if let (Some(p), Some(f)) = (self.published.get(room), self.fanout.get(room)) {
            p.fetch_add(1, Ordering::Relaxed);
            self.expected.fetch_add(*f, Ordering::Relaxed);
        }
        let mut conn = self.conns[w % self.conns.len()].lock().await;
        let req = self.backend.publish(room, row, n, now_us())?;
        let (status, body) = conn.send(&req).await?;
        if !matches!(status.as_u16(), 200 | 201) {
            bail!("{}: got {status}: {}", req.describe(), snippet(&body));
        }
        Ok(())
    }

    fn next_room(&self) -> usize {
        (self.next.load(Ordering::Relaxed) % self.rows.len().max(1) as u64) as usize
    }

    /// One event on each room, in order (for the checks before measuring).
    pub async fn each_room_once(&self) -> Result<()> {
        for k in 0..self.rows.len() {
            self.send(0, k).await?;
        }
        Ok(())
    }

    /// Publish for `duration`, keeping at most `window` deliveries outstanding.
    pub async fn closed_loop(&self, fleet: &Fleet, window: u64, duration: Duration) -> Result<u64> {
        let deadline = Instant::now() + duration;
        let sent = AtomicU64::new(0);
        let writer = |w: usize| {
            let sent = &sent;
            async move {
                while Instant::now() < deadline {
                    fleet.check()?;
                    let room = self.next_room();
                    let outstanding = self.expected().saturating_sub(fleet.delivered());
                    if outstanding + self.fanout[room] > window.max(self.fanout[room]) {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    }
                    self.send(w, room).await?;
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            }
        };
        futures_util::future::try_join_all((0..self.conns.len()).map(writer)).await?;
        Ok(sent.load(Ordering::Relaxed))
    }

    /// Publish `events_per_second` events for `duration`, each at its scheduled time.
    pub async fn fixed_rate(&self, fleet: &Fleet, events_per_second: f64, duration: Duration) -> Result<Paced> {
        let start = Instant::now() + Duration::from_millis(5);
        let total = (events_per_second * duration.as_secs_f64()).round() as u64;
        let ticket = AtomicU64::new(0);
        let late = AtomicU64::new(0);
        let writer = |w: usize| {
            let (ticket, late) = (&ticket, &late);
            async move {
                loop {
                    let i = ticket.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    fleet.check()?;
                    let at = start + Duration::from_secs_f64(i as f64 / events_per_second);
                    tokio::time::sleep_until(at.into()).await;
                    if Instant::now().duration_since(at) > Duration::from_millis(2) {
                        late.fetch_add(1, Ordering::Relaxed);
                    }
                    self.send(w, (i % self.rows.len().max(1) as u64) as usize).await?;
                }
                anyhow::Ok(())
            }
        };
        futures_util::future::try_join_all((0..self.conns.len()).map(writer)).await?;
        Ok(Paced { late: late.load(Ordering::Relaxed) })
    }

    /// `events` events on the row nobody watches, all writers as fast as they can.
    pub async fn quiet(&self, events: u64) -> Result<()> {
        let ticket = AtomicU64::new(0);
        let writer = |w: usize| {
            let ticket = &ticket;
            async move {
                while ticket.fetch_add(1, Ordering::Relaxed) < events {
                    self.send(w, self.rows.len()).await?;
                }
                anyhow::Ok(())
            }
        };
        futures_util::future::try_join_all((0..self.conns.len()).map(writer)).await?;
        Ok(())
    }
}
