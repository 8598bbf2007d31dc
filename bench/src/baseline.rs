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

/// Sizes of the records one row create writes, as measured in an Arcade data directory.
#[derive(Debug, Clone, Copy)]
pub struct RowRecords {
    pub row_value: usize,
    pub event_value: usize,
}

/// Context, not the baseline: what sled itself costs when used the way
/// Arcade's writer uses it. Batches of `batch` rows, each batch one sled
/// transaction over 8 trees, each row: a lookup of its id, then the row, the
/// id entry, one index entry and its event; the batch also stores the last
/// sequence number. `flush` flushes once per batch (group commit). Counts rows.
pub fn sled_tx_batches(
    dir: &Path,
    batch: usize,
    sizes: RowRecords,
    flush: bool,
    duration: Duration,
    max_rows: u64,
) -> Result<Run> {
    use sled::Transactional;
    use sled::transaction::ConflictableTransactionError;

    let db = open(dir)?;
    let names = ["meta", "catalog", "rows", "row_ids", "index", "events", "auth", "txns"];
    let trees = names.iter().map(|n| db.open_tree(n)).collect::<Result<Vec<_>, _>>()?;
    let mut seq: u64 = trees[2].len() as u64 + 1;
    let row = vec![7u8; sizes.row_value];
    let event = vec![9u8; sizes.event_value];
    let mut lat = Vec::new();
    let mut rows = 0u64;
    let before = Snapshot::take(None);
    let start = Instant::now();
    let deadline = start + duration;
    while rows < max_rows && Instant::now() < deadline {
        let first = seq;
        let t0 = Instant::now();
        trees[..]
            .transaction(|v| {
                for s in first..first + batch as u64 {
                    let mut id_key = b"\0\0\0\x01".to_vec();
                    id_key.extend_from_slice(format!("{s:020x}").as_bytes());
                    if v[3].get(&id_key)?.is_some() {
                        return Err(ConflictableTransactionError::Abort(()));
                    }
                    let mut row_key = vec![0, 0, 0, 1];
                    row_key.extend_from_slice(&s.to_be_bytes());
                    v[2].insert(row_key, row.as_slice())?;
                    v[3].insert(id_key, &s.to_be_bytes())?;
                    let mut index_key = vec![0, 0, 0, 1, 3];
                    index_key.extend_from_slice(format!("p{}", s % 200_000).as_bytes());
                    index_key.extend_from_slice(&s.to_be_bytes());
                    v[4].insert(index_key, &s.to_be_bytes())?;
                    v[5].insert(&s.to_be_bytes(), event.as_slice())?;
                }
                v[0].insert(b"last_seq".as_slice(), &(first + batch as u64 - 1).to_be_bytes())?;
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("sled transaction failed: {e:?}"))?;
        if flush {
            db.flush()?;
        }
        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
        seq += batch as u64;
        rows += batch as u64;
    }
    let elapsed = start.elapsed();
    let after = Snapshot::take(None);
    db.flush()?;
    lat.sort_unstable();
    Ok(Run { ops: rows, elapsed, latencies_us: lat, cpu: Some(before.until(&after)) })
}
