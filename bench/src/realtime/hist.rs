//! A lock-free latency histogram shared by all WebSocket clients: 10 µs
//! buckets up to 100 ms, 1 ms buckets up to 60 s. Recording is one relaxed
//! atomic add, so 10,000 client tasks can record every delivery without a
//! per-client buffer; a run's percentiles come from [`Hist::take`].

use std::sync::atomic::{AtomicU64, Ordering};

const FINE_US: u64 = 10;
const FINE_LIMIT_US: u64 = 100_000;
const COARSE_US: u64 = 1_000;
const COARSE_LIMIT_US: u64 = 60_000_000;
const FINE: usize = (FINE_LIMIT_US / FINE_US) as usize;
const BUCKETS: usize = FINE + ((COARSE_LIMIT_US - FINE_LIMIT_US) / COARSE_US) as usize + 1;

pub struct Hist {
    buckets: Box<[AtomicU64]>,
}

impl Default for Hist {
    fn default() -> Self {
        Hist { buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect() }
    }
}

fn bucket(us: u64) -> usize {
    if us < FINE_LIMIT_US {
        (us / FINE_US) as usize
    } else if us < COARSE_LIMIT_US {
        FINE + ((us - FINE_LIMIT_US) / COARSE_US) as usize
    } else {
        BUCKETS - 1
    }
}

/// The middle of a bucket, in µs (the last bucket: its lower bound).
fn value(b: usize) -> u64 {
    if b < FINE {
        b as u64 * FINE_US + FINE_US / 2
    } else if b < BUCKETS - 1 {
        FINE_LIMIT_US + (b - FINE) as u64 * COARSE_US + COARSE_US / 2
    } else {
        COARSE_LIMIT_US
    }
}

impl Hist {
    pub fn record(&self, us: u64) {
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
    }

    /// Empty the histogram.
    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, Ordering::Relaxed);
        }
    }

    /// Everything recorded since the last reset, as sorted samples in µs
    /// (each at its bucket's middle), and empty the histogram.
    pub fn take(&self) -> Vec<u32> {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.swap(0, Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for (b, n) in counts.into_iter().enumerate() {
            let v = u32::try_from(value(b)).unwrap_or(u32::MAX);
            out.extend(std::iter::repeat_n(v, usize::try_from(n).unwrap_or(0)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::percentile;

    #[test]
    fn buckets_round_trip() {
        let h = Hist::default();
        for us in [0, 9, 10, 1_234, 99_999, 100_000, 150_500, 59_999_999, 100_000_000] {
            h.record(us);
        }
        let v = h.take();
        assert_eq!(v.len(), 9);
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(v[0], 5);
        assert_eq!(v[3], 1_235);
        assert_eq!(v[6], 150_500);
        assert_eq!(*v.last().unwrap_or(&0), 60_000_000);
        assert!(h.take().is_empty(), "take empties");
    }

    #[test]
    fn percentiles_are_close() {
        let h = Hist::default();
        for us in 1..=10_000u64 {
            h.record(us);
        }
        let v = h.take();
        assert!((percentile(&v, 0.5) as i64 - 5_000).abs() <= 10);
        assert!((percentile(&v, 0.99) as i64 - 9_900).abs() <= 10);
    }
}
