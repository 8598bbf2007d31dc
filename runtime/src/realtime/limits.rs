//! Rate limits: new connections per minute per IP, messages per minute per
//! connection. Fixed one-minute windows; 0 disables a limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// Realtime limits, all configurable (`arcade serve --help`).
#[derive(Debug, Clone)]
pub struct RealtimeLimits {
    /// New connections per minute from one IP (Appwrite: 128).
    pub connects_per_minute: u32,
    /// Messages per minute from one connection (Appwrite: 32; the SDK pings every 20 s).
    pub messages_per_minute: u32,
}

impl Default for RealtimeLimits {
    fn default() -> Self {
        Self { connects_per_minute: 600, messages_per_minute: 120 }
    }
}

/// A fixed-window counter.
#[derive(Debug)]
pub struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    pub fn new() -> Self {
        Self { start: Instant::now(), count: 0 }
    }

    /// Count one more; false if that exceeds `limit` in the current minute.
    pub fn allow(&mut self, limit: u32) -> bool {
        if limit == 0 {
            return true;
        }
        let now = Instant::now();
        if now.duration_since(self.start) >= WINDOW {
            self.start = now;
            self.count = 0;
        }
        self.count += 1;
        self.count <= limit
    }
}

impl Default for Window {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-IP connection windows.
#[derive(Default)]
pub struct ConnectLimiter {
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl ConnectLimiter {
    pub fn allow(&self, ip: IpAddr, limit: u32) -> bool {
        if limit == 0 {
            return true;
        }
        let Ok(mut w) = self.windows.lock() else { return true };
        if w.len() > 100_000 {
            let now = Instant::now();
            w.retain(|_, win| now.duration_since(win.start) < WINDOW);
        }
        w.entry(ip).or_default().allow(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count() {
        let mut w = Window::new();
        assert!(w.allow(2) && w.allow(2));
        assert!(!w.allow(2));
        assert!(Window::new().allow(0));
        let l = ConnectLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(l.allow(ip, 1));
        assert!(!l.allow(ip, 1));
    }
}
