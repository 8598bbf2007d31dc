//! The yardstick: the same inserts straight into sled 0.34.7 from this
//! process, single-threaded, with and without a `flush()` after each write.
//! Also reads back the shape of a data directory Arcade wrote (sizes of its
//! row and event records), so the baseline writes values of the same size,
//! and, for context, writes those records the way Arcade's writer does.

use std::io::Write;
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

/// Arcade's logical trees, by the number that prefixes their keys (single-tree
/// layout) or as separate sled trees (older layout). Mirrors `store::keys`.
const LOGICAL_TREES: [&str; 9] = ["meta", "catalog", "rows", "row_ids", "index", "events", "auth", "txns", "functions"];
/// The one sled tree of the single-tree layout.
const SINGLE_TREE: &[u8] = b"arcade";

/// How an Arcade data directory lays its trees out in sled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One sled tree, `arcade`, each logical tree a one-byte key prefix; the
    /// writer appends each group of operations to its write-ahead log (with
    /// `fdatasync` when durable) and then applies it with plain inserts.
    SingleTree,
    /// One sled tree per logical tree; the writer commits each group in one
    /// sled transaction over all of them.
    TreePerLogical,
}

/// Count and average key/value size of one logical tree.
#[derive(Debug, Clone, Default)]
pub struct TreeShape {
    pub name: String,
    pub entries: u64,
    pub avg_key: f64,
    pub avg_value: f64,
}

/// Read an Arcade data directory (the server must be stopped): its layout and
/// the shape of each logical tree. Fails if it holds no rows, so the baseline
/// never silently uses made-up sizes.
pub fn inspect(data_dir: &Path) -> Result<(Layout, Vec<TreeShape>)> {
    let path = data_dir.join("sled");
    if !path.is_dir() {
        anyhow::bail!("no sled store at {} (did the data directory layout change?)", path.display());
    }
    let db = open(&path)?;
    let names = db.tree_names();
    let mut sums = [(0u64, 0u64, 0u64); 9];
    let layout = if names.iter().any(|n| n.as_ref() == SINGLE_TREE) {
        for item in db.open_tree(SINGLE_TREE)?.iter() {
            let (key, value) = item?;
            if let Some(slot) = key.first().and_then(|b| sums.get_mut(usize::from(*b))) {
                *slot = (slot.0 + 1, slot.1 + key.len() as u64 - 1, slot.2 + value.len() as u64);
            }
        }
        Layout::SingleTree
    } else {
        for (i, name) in LOGICAL_TREES.iter().enumerate() {
            if !names.iter().any(|n| n.as_ref() == name.as_bytes()) {
                continue;
            }
            for item in db.open_tree(name)?.iter() {
                let (key, value) = item?;
                sums[i] = (sums[i].0 + 1, sums[i].1 + key.len() as u64, sums[i].2 + value.len() as u64);
            }
        }
        Layout::TreePerLogical
    };
    let shapes: Vec<TreeShape> = LOGICAL_TREES
        .iter()
        .zip(sums)
        .filter(|(_, (n, _, _))| *n > 0)
        .map(|(name, (n, k, v))| TreeShape {
            name: (*name).to_owned(),
            entries: n,
            avg_key: k as f64 / n as f64,
            avg_value: v as f64 / n as f64,
        })
        .collect();
    if !shapes.iter().any(|s| s.name == "rows") {
        anyhow::bail!(
            "found no row records in {} ({layout:?} layout); bench/src/baseline.rs needs updating",
            path.display()
        );
    }
    Ok((layout, shapes))
}

/// Sizes of the records one row create writes, as measured in an Arcade data directory.
#[derive(Debug, Clone, Copy)]
pub struct RowRecords {
    pub row_value: usize,
    pub event_value: usize,
}

/// Context, not the baseline: what sled itself costs when used the way
/// Arcade's writer uses it (`layout`). Groups of `batch` rows; each row: a
/// lookup of its id, then the row, the id entry, one index entry and its
/// event; each group also stores the last sequence number, and is written as
/// one atomic unit (an `apply_batch`, or a transaction over the trees).
/// `flush` flushes once per group (group commit). Counts rows.
pub fn sled_groups(
    dir: &Path,
    layout: Layout,
    batch: usize,
    sizes: RowRecords,
    flush: bool,
    duration: Duration,
    max_rows: u64,
) -> Result<Run> {
    use sled::Transactional;
    use sled::transaction::ConflictableTransactionError;

    let db = open(dir)?;
    let trees = match layout {
        Layout::SingleTree => vec![db.open_tree(SINGLE_TREE)?],
        Layout::TreePerLogical => LOGICAL_TREES.iter().map(|n| db.open_tree(n)).collect::<Result<Vec<_>, _>>()?,
    };
    let key = |tree: usize, k: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(k.len() + 1);
        if layout == Layout::SingleTree {
            out.push(tree as u8);
        }
        out.extend_from_slice(k);
        out
    };
    // The physical tree a logical tree lives in.
    let at = |tree: usize| if layout == Layout::SingleTree { 0 } else { tree };
    let mut seq: u64 = trees[at(2)].len() as u64 + 1;
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(dir.with_extension("wal"))?;
    let mut log_buf = Vec::new();
    let row = vec![7u8; sizes.row_value];
    let event = vec![9u8; sizes.event_value];
    let mut lat = Vec::new();
    let mut rows = 0u64;
    let before = Snapshot::take(None);
    let start = Instant::now();
    let deadline = start + duration;
    while rows < max_rows && Instant::now() < deadline {
        let first = seq;
        let records = |s: u64| {
            let mut id = b"\0\0\0\x01".to_vec();
            id.extend_from_slice(format!("{s:020x}").as_bytes());
            let mut row_key = vec![0, 0, 0, 1];
            row_key.extend_from_slice(&s.to_be_bytes());
            let mut index_key = vec![0, 0, 0, 1, 3];
            index_key.extend_from_slice(format!("p{}", s % 200_000).as_bytes());
            index_key.extend_from_slice(&s.to_be_bytes());
            [
                (2, key(2, &row_key), row.clone()),
                (3, key(3, &id), s.to_be_bytes().to_vec()),
                (4, key(4, &index_key), s.to_be_bytes().to_vec()),
                (5, key(5, &s.to_be_bytes()), event.clone()),
            ]
        };
        let last = (key(0, b"last_seq"), (first + batch as u64 - 1).to_be_bytes().to_vec());
        let t0 = Instant::now();
        match layout {
            Layout::SingleTree => {
                let mut group = Vec::with_capacity(batch * 4 + 1);
                for s in first..first + batch as u64 {
                    let recs = records(s);
                    if trees[0].get(&recs[1].1)?.is_some() {
                        anyhow::bail!("row id {s} already present");
                    }
                    group.extend(recs.into_iter().map(|(_, k, v)| (k, v)));
                }
                group.push(last.clone());
                // The log record: every key and value, one write, synced when durable.
                log_buf.clear();
                for (k, v) in &group {
                    log_buf.extend_from_slice(&(k.len() as u32).to_le_bytes());
                    log_buf.extend_from_slice(k);
                    log_buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    log_buf.extend_from_slice(v);
                }
                log.write_all(&log_buf)?;
                if flush {
                    log.sync_data()?;
                }
                for (k, v) in group {
                    trees[0].insert(k, v)?;
                }
            }
            Layout::TreePerLogical => {
                trees[..]
                    .transaction(|v| {
                        for s in first..first + batch as u64 {
                            let recs = records(s);
                            if v[3].get(&recs[1].1)?.is_some() {
                                return Err(ConflictableTransactionError::Abort(()));
                            }
                            for (t, k, val) in recs {
                                v[t].insert(k, val)?;
                            }
                        }
                        v[0].insert(last.0.clone(), last.1.clone())?;
                        Ok(())
                    })
                    .map_err(|e| anyhow::anyhow!("sled transaction failed: {e:?}"))?;
            }
        }
        if flush && layout == Layout::TreePerLogical {
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
