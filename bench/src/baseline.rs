//! The yardstick: the same inserts straight into sled 0.34.7 from this
//! process, single-threaded, with and without a `flush()` after each write.
//! Also reads back the shape of a data directory Arcade wrote (sizes of its
//! row and event records), so the baseline writes values of the same size.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::procstat::Snapshot;
use crate::stats::Run;

/// sled as Arcade's store configures it.
fn open(path: &Path) -> Result<sled::Db> {
    sled::Config::new()
        .path(path)
        .cache_capacity(256 << 20)
        .flush_every_ms(Some(500))
        .open()
        .with_context(|| format!("opening sled at {}", path.display()))
}

/// Insert `key_bytes`/`value_bytes` records one at a time for `duration` (at
/// most `max_writes`), flushing after each if `flush`.
pub fn sled_writes(
    dir: &Path,
    key_bytes: usize,
    value_bytes: usize,
    flush: bool,
    duration: Duration,
    max_writes: u64,
) -> Result<Run> {
    let db = open(dir)?;
    let tree = db.open_tree("rows")?;
    // Keys continue after whatever a previous repetition left, like Arcade's sequence numbers.
    let mut n: u64 = tree.len() as u64;
    let mut value = vec![0u8; value_bytes];
    let mut lat = Vec::with_capacity(1 << 16);
    let before = Snapshot::take(None);
    let start = Instant::now();
    let deadline = start + duration;
    while (lat.len() as u64) < max_writes && Instant::now() < deadline {
        let mut key = vec![0u8; key_bytes.max(8)];
        let kl = key.len();
        key[kl - 8..].copy_from_slice(&n.to_be_bytes());
        // Vary the value a little so it is not one repeated page.
        for (i, b) in value.iter_mut().enumerate().take(16) {
            *b = (n >> (i % 8 * 8)) as u8 ^ i as u8;
        }
        let t0 = Instant::now();
        tree.insert(key, value.as_slice())?;
        if flush {
            db.flush()?;
        }
        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
        n += 1;
    }
    let elapsed = start.elapsed();
    let after = Snapshot::take(None);
    db.flush()?;
    lat.sort_unstable();
    Ok(Run { ops: lat.len() as u64, elapsed, latencies_us: lat, cpu: Some(before.until(&after)) })
}

/// Count and average key/value size of one tree.
#[derive(Debug, Clone, Default)]
pub struct TreeShape {
    pub name: String,
    pub entries: u64,
    pub avg_key: f64,
    pub avg_value: f64,
}

/// Read the trees of an Arcade data directory (the server must be stopped).
pub fn inspect(data_dir: &Path) -> Result<Vec<TreeShape>> {
    let db = open(&data_dir.join("sled"))?;
    let mut out = Vec::new();
    for name in ["rows", "row_ids", "index", "events", "meta"] {
        let tree = db.open_tree(name)?;
        let (mut n, mut k, mut v) = (0u64, 0u64, 0u64);
        for item in tree.iter() {
            let (key, value) = item?;
            n += 1;
            k += key.len() as u64;
            v += value.len() as u64;
        }
        let avg = |x: u64| if n > 0 { x as f64 / n as f64 } else { 0.0 };
        out.push(TreeShape { name: name.to_owned(), entries: n, avg_key: avg(k), avg_value: avg(v) });
    }
    Ok(out)
}
