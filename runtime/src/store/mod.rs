//! The store: every byte Arcade keeps on disk, in sled.
//!
//! This is the only module that touches sled. It owns the tree layout
//! (`keys`), the order-preserving index encoding (`codec`), the write
//! transaction that commits data and events together (`tx`), the event
//! log's own files (`evlog`) and reads of them (`log`), shared decoded
//! copies of hot records (`decoded`), and the move of execution records
//! from an older layout at open (`rekey`). Everything above it sees typed
//! records.
//!
//! Writes go through [`Store::transact`], called by the single writer
//! (`crate::db::writer`) once per group of operations, and through a few
//! upkeep methods (purges, retention, index builds). Each is one record of
//! the write-ahead log (`wal`), applied to sled only after it is in the log,
//! so after a crash it is all there or none of it. Reads may run on any
//! thread at any time; they see whole records, never half of one (the gate,
//! see `space`).
//!
//! Durability: a durable write is `fdatasync`ed in the log before it is
//! applied. sled keeps recent writes in memory and writes them out every
//! 500 ms; once the log passes [`CHECKPOINT_BYTES`], sled is flushed and the
//! log starts over. [`Store::flush`] does that at once (at shutdown).
//!
//! Events are entries of the write-ahead log's records like any other
//! write, but they are applied to the event log's own files (`evlog`), not
//! to sled. A checkpoint syncs those files first and records their last
//! event (`keys::meta::LAST_SEQ`) with the flush; at open the files are cut
//! back to that event and the later ones appended again from the
//! write-ahead log. Data directories from before 2026-12-04 kept events in
//! sled; the first open moves them into the files.

pub mod codec;
pub mod decoded;
pub mod error;
pub mod evlog;
pub mod keys;
pub mod log;
mod rekey;
pub mod space;
pub mod tx;
pub mod wal;

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, RwLock};

use sled::{IVec, Tree};

pub use space::Space;

pub use error::StoreError;
use keys::TreeId;
pub use tx::WriteTx;

use crate::model::account::ApiKey;
use crate::model::catalog::{Database, Table};
use crate::model::event::Event;
use crate::model::row::Row;
use crate::model::time::Millis;

/// Log size past which a write triggers a checkpoint (sled flushed, log emptied).
pub const CHECKPOINT_BYTES: u64 = 32 << 20;
/// Most entries in one upkeep record (index builds, purges).
const UPKEEP_CHUNK: usize = 10_000;
/// Every this many write-ahead log records, one also sets the "applied
/// through" marker (`keys::meta::WAL_APPLIED`). Setting it with every record
/// cost a sled insert per commit (of the three to five a small write makes)
/// for the sole benefit of replaying fewer records after a crash; now a
/// crash replays at most this many more, each again (records are absolute,
/// so applying one twice, in order, changes nothing).
pub const MARKER_EVERY: u64 = 64;

/// An open data directory.
pub struct Store {
    db: sled::Db,
    /// Every logical tree lives in this one sled tree (see `space`).
    tree: Tree,
    /// Readers hold it shared for each read, a write exclusively while its
    /// inserts go into sled: nobody reads half of a record.
    gate: RwLock<()>,
    /// Serializes writes, so log order is apply order.
    writes: Mutex<Writes>,
    /// The event log's files (events are not in sled).
    events: evlog::EventLog,
    /// The event log's floor (`keys::meta::FIRST_SEQ`), kept in memory:
    /// every reader of the log checks it on every read, and only retention
    /// moves it (see `log`).
    first_seq: AtomicU64,
    /// Moves after every write to a function-tree key that is not an
    /// execution's (`keys::functions::is_execution_key`): functions and
    /// deployments. A decoded copy made while it read `v` is current while
    /// it still reads `v` (`decoded`), without reading sled again.
    records_version: AtomicU64,
}

struct Writes {
    wal: wal::Wal,
    next_lsn: u64,
    /// A record is in the log but sled refused part of it: the data in
    /// memory is not what the log says, so no more writes until a restart
    /// (which applies the log again).
    broken: bool,
}

/// Options for [`Store::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
    /// Size past which the event log starts a new file (`evlog`).
    pub event_segment_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { cache_bytes: 256 << 20, event_segment_bytes: evlog::SEGMENT_BYTES }
    }
}

impl Store {
    /// Open (or create) the store in `dir`. Fails if another process has it open.
    pub fn open(dir: &Path, opts: &StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.display().to_string(), source })?;
        let db = sled::Config::new()
            .path(dir.join("sled"))
            .cache_capacity(opts.cache_bytes)
            .flush_every_ms(Some(500))
            .open()?;
        let tree = db.open_tree("arcade")?;
        let (mut wal, records) = wal::Wal::open(dir)?;
        let events = evlog::EventLog::open(&dir.join("events"), opts.event_segment_bytes)?;
        let in_files = tree.get(space::physical(TreeId::Meta, keys::meta::EVENTS_IN_FILES))?.is_some();
        if in_files {
            // Everything through the last checkpoint's event is in the
            // files, synced; anything after it comes again from the
            // write-ahead log below.
            let cut = meta_u64(&tree, keys::meta::LAST_SEQ)?.unwrap_or(0);
            if events.last().unwrap_or(0) < cut {
                return Err(corrupt(
                    "events",
                    format!(
                        "the event log ends at {:?}, before event {cut}, which it held at the last checkpoint",
                        events.last()
                    ),
                ));
            }
            events.truncate_after(cut)?;
        } else {
            move_events_out_of_sled(&tree, &events)?;
        }
        let applied = meta_u64(&tree, keys::meta::WAL_APPLIED)?.unwrap_or(0);
        let mut last = applied;
        let mut replayed = 0usize;
        for record in records {
            let (entries, logged) = split_events(record.entries);
            // sled holds every record up to `applied` whole (it keeps a
            // prefix of its inserts, and a marker is its record's last
            // insert); later ones it may hold in part, or whole.
            if record.lsn > applied {
                insert_all(&tree, entries)?;
                replayed += 1;
            }
            // The files hold a prefix of the logged events: append the rest
            // (the log refuses them if they do not follow its last one).
            let next = events.last().map(|l| l + 1);
            let missing = logged.iter().filter(|(seq, _)| next.is_none_or(|n| *seq >= n));
            events.append(missing.map(|(seq, bytes)| (*seq, &bytes[..])))?;
            last = last.max(record.lsn);
        }
        if replayed > 0 {
            tracing::info!(replayed, "applied writes from the write-ahead log again (sled may have lacked them)");
        }
        if !wal.is_empty() {
            checkpoint(&db, &tree, &events, &mut wal, last)?;
        } else if !in_files {
            record_events_synced(&tree, &events)?;
            db.flush()?;
        }
        purge_events_from_sled(&db, &tree)?;
        let writes = Writes { wal, next_lsn: last + 1, broken: false };
        // Retention removes segments after it moves the floor, and the floor
        // reaches sled later: the files may already start after it.
        let first_seq = meta_u64(&tree, keys::meta::FIRST_SEQ)?.unwrap_or(1).max(events.first().unwrap_or(1));
        let store = Store {
            db,
            tree,
            gate: RwLock::new(()),
            writes: Mutex::new(writes),
            events,
            first_seq: AtomicU64::new(first_seq),
            records_version: AtomicU64::new(0),
        };
        rekey::executions_by_function(&store)?;
        Ok(store)
    }

    /// See `records_version`: read it before reading the records it covers.
    pub(crate) fn records_version(&self) -> u64 {
        self.records_version.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn tree(&self, id: TreeId) -> Space<'_> {
        Space::new(&self.tree, &self.gate, id)
    }

    fn writes(&self) -> MutexGuard<'_, Writes> {
        self.writes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Log `entries` (physical keys) as one record, then apply them. With
    /// `sync` the record is on disk before anything is applied.
    fn apply(&self, mut entries: Vec<wal::Entry>, sync: bool) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut w = self.writes();
        if w.broken {
            return Err(StoreError::Broken);
        }
        let lsn = w.next_lsn;
        if lsn.is_multiple_of(MARKER_EVERY) {
            let (key, value) = marker(lsn);
            entries.push((key, Some(value)));
        }
        w.wal.append(lsn, &entries, sync)?;
        w.next_lsn += 1;
        let (entries, events) = split_events(entries);
        if let Err(e) = self.events.append(events.iter().map(|(seq, bytes)| (*seq, &bytes[..]))) {
            w.broken = true;
            tracing::error!(error = %e, "the event log refused part of a logged write; refusing writes until a restart");
            return Err(e);
        }
        let records = entries.iter().any(|(k, _)| {
            k.split_first().is_some_and(|(&tree, rest)| {
                tree == TreeId::Functions as u8 && !keys::functions::is_execution_key(rest)
            })
        });
        let applied = {
            let _write = self.gate.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            let applied = insert_all(&self.tree, entries);
            // After the inserts (even failed ones): a reader that sees the
            // new version also sees what was written.
            if records {
                self.records_version.fetch_add(1, std::sync::atomic::Ordering::Release);
            }
            applied
        };
        if let Err(e) = applied {
            w.broken = true;
            tracing::error!(error = %e, "sled refused part of a logged write; refusing writes until a restart");
            return Err(e);
        }
        if w.wal.len() > CHECKPOINT_BYTES
            && let Err(e) = self.checkpoint(&mut w)
        {
            // The log keeps every record; the next write tries again.
            tracing::warn!(error = %e, "checkpoint failed");
        }
        Ok(())
    }

    fn checkpoint(&self, w: &mut Writes) -> Result<(), StoreError> {
        checkpoint(&self.db, &self.tree, &self.events, &mut w.wal, w.next_lsn - 1)
    }

    /// Log and apply upkeep writes (logical keys), in records of at most
    /// [`UPKEEP_CHUNK`] entries. Not synced: losing them to a power cut
    /// loses only upkeep that runs again.
    fn upkeep(&self, writes: Vec<(TreeId, Vec<u8>, Option<IVec>)>) -> Result<(), StoreError> {
        let mut entries: Vec<wal::Entry> = writes.into_iter().map(|(t, k, v)| (space::physical(t, &k), v)).collect();
        while !entries.is_empty() {
            let rest = entries.split_off(entries.len().min(UPKEEP_CHUNK));
            self.apply(entries, false)?;
            entries = rest;
        }
        Ok(())
    }

    /// Run `f` as one atomic write, giving events sequence numbers from
    /// `next_seq`. Returns what `f` returned, the events it committed (in
    /// order) and the next free sequence number. Everything `f` wrote is
    /// logged as one record: after a crash it is all there or none of it.
    /// With `durable`, a batch that commits events is on disk when this
    /// returns. Only the writer calls this, so nothing else changes the data
    /// while `f` reads.
    pub fn transact<R>(
        &self,
        next_seq: u64,
        now: Millis,
        durable: bool,
        f: impl FnOnce(&mut WriteTx<'_>) -> R,
    ) -> Result<(R, Vec<Event>, u64), StoreError> {
        let mut tx = WriteTx::new(&self.tree, &self.gate, next_seq, now);
        let r = f(&mut tx);
        let (batch, events, next) = tx.finish()?;
        self.apply(batch, durable && !events.is_empty())?;
        Ok((r, events, next))
    }

    /// Force every write so far into sled's files and empty the log.
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut w = self.writes();
        self.checkpoint(&mut w)
    }

    /// Highest committed event sequence number (0 for a new store).
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let from_meta = self.tree(TreeId::Meta).get(keys::meta::LAST_SEQ)?.and_then(|v| keys::u64_of(&v));
        Ok(from_meta.unwrap_or(0).max(self.events.last().unwrap_or(0)))
    }

    /// Every database and table, for building the in-memory catalog at start.
    pub fn load_catalog(&self) -> Result<(Vec<Database>, Vec<Table>), StoreError> {
        let tree = self.tree(TreeId::Catalog);
        let mut dbs = Vec::new();
        for item in tree.scan_prefix(keys::DATABASE_PREFIX) {
            let (_, v) = item?;
            dbs.push(decode("catalog", &v)?);
        }
        let mut tables = Vec::new();
        for item in tree.scan_prefix(keys::TABLE_PREFIX) {
            let (_, v) = item?;
            tables.push(decode("catalog", &v)?);
        }
        Ok((dbs, tables))
    }

    /// A row by id.
    pub fn row(&self, tid: u32, id: &str) -> Result<Option<Row>, StoreError> {
        let Some(seq) = self.tree(TreeId::RowIds).get(keys::row_id(tid, id))? else {
            return Ok(None);
        };
        let seq = keys::u64_of(&seq).ok_or_else(|| corrupt("row_ids", "short value"))?;
        self.row_at(tid, seq)
    }

    /// A row by sequence number.
    pub fn row_at(&self, tid: u32, seq: u64) -> Result<Option<Row>, StoreError> {
        match self.tree(TreeId::Rows).get(keys::row(tid, seq))? {
            None => Ok(None),
            Some(v) => Row::decode(seq, &v).map(Some).map_err(|e| corrupt("rows", e)),
        }
    }

    /// A table's rows in `$sequence` order (or reverse), starting after/before `from`.
    pub fn scan_rows(
        &self,
        tid: u32,
        after: Option<u64>,
        reverse: bool,
    ) -> impl Iterator<Item = Result<Row, StoreError>> + '_ {
        let lo = match (after, reverse) {
            (Some(s), false) => Bound::Excluded(keys::row(tid, s).to_vec()),
            _ => Bound::Included(keys::row(tid, 0).to_vec()),
        };
        let hi = match (after, reverse) {
            (Some(s), true) => Bound::Excluded(keys::row(tid, s).to_vec()),
            _ => Bound::Included(keys::row(tid, u64::MAX).to_vec()),
        };
        let iter = self.tree(TreeId::Rows).range((lo, hi));
        let iter: Box<dyn Iterator<Item = sled::Result<(IVec, IVec)>>> =
            if reverse { Box::new(iter.rev()) } else { Box::new(iter) };
        iter.map(|item| {
            let (k, v) = item?;
            let seq = keys::seq_of_row_key(&k).ok_or_else(|| corrupt("rows", "short key"))?;
            Row::decode(seq, &v).map_err(|e| corrupt("rows", e))
        })
    }

    /// Sequence numbers of rows whose index key lies in the given bounds, in
    /// key order (or reverse). Bounds are full index keys (they start with the iid).
    pub fn scan_index(
        &self,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
        reverse: bool,
    ) -> impl Iterator<Item = Result<u64, StoreError>> + '_ {
        let iter = self.tree(TreeId::Index).range((lo, hi));
        let iter: Box<dyn Iterator<Item = sled::Result<(IVec, IVec)>>> =
            if reverse { Box::new(iter.rev()) } else { Box::new(iter) };
        iter.map(|item| {
            let (_, v) = item?;
            keys::u64_of(&v).ok_or_else(|| corrupt("index", "short value"))
        })
    }

    /// An account record.
    pub fn auth<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.tree(TreeId::Auth).get(key)? {
            None => Ok(None),
            Some(v) => decode("auth", &v).map(Some),
        }
    }

    /// The keys under an account prefix (index entries like `us\0<user>\0`).
    pub fn auth_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.tree(TreeId::Auth).scan_prefix(prefix).keys().map(|k| Ok(k?.to_vec())).collect()
    }

    /// Records under an account prefix (e.g. every user).
    pub fn auth_values<T: serde::de::DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>, StoreError> {
        self.tree(TreeId::Auth).scan_prefix(prefix).values().map(|v| decode("auth", &v?)).collect()
    }

    /// A function-tree record (function, deployment, execution).
    pub fn record<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.tree(TreeId::Functions).get(key)? {
            None => Ok(None),
            Some(v) => decode("functions", &v).map(Some),
        }
    }

    /// Records under a prefix, in key order.
    pub fn records<T: serde::de::DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>, StoreError> {
        self.tree(TreeId::Functions).scan_prefix(prefix).values().map(|v| decode("functions", &v?)).collect()
    }

    /// The last components of keys under a prefix (ids listed by an index entry), in key order.
    pub fn record_ids(&self, prefix: &[u8], reverse: bool) -> Result<Vec<String>, StoreError> {
        let iter = self.tree(TreeId::Functions).scan_prefix(prefix).keys();
        let mut ids: Vec<String> = iter
            .map(|k| k.map(|k| String::from_utf8_lossy(&k[prefix.len()..]).into_owned()))
            .collect::<Result<_, _>>()?;
        if reverse {
            ids.reverse();
        }
        Ok(ids)
    }

    /// A staged transaction.
    pub fn txn<T: serde::de::DeserializeOwned>(&self, id: &str) -> Result<Option<T>, StoreError> {
        match self.tree(TreeId::Txns).get(id.as_bytes())? {
            None => Ok(None),
            Some(v) => decode("txns", &v).map(Some),
        }
    }

    pub fn txns<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, StoreError> {
        self.tree(TreeId::Txns).iter().values().map(|v| decode("txns", &v?)).collect()
    }

    /// The server secret that signs JWTs, created on first use.
    pub fn secret(&self) -> Result<Vec<u8>, StoreError> {
        let meta = self.tree(TreeId::Meta);
        if let Some(v) = meta.get(keys::meta::SECRET)? {
            return Ok(v.to_vec());
        }
        let secret: [u8; 32] = rand::random();
        let entry = (space::physical(TreeId::Meta, keys::meta::SECRET), Some(IVec::from(&secret[..])));
        self.apply(vec![entry], true)?;
        Ok(secret.to_vec())
    }

    /// Stored API keys (not the master key, which is configuration).
    pub fn api_key(&self, secret_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        match self.tree(TreeId::Meta).get(keys::auth::api_key(secret_hash))? {
            None => Ok(None),
            Some(v) => decode("meta", &v).map(Some),
        }
    }

    pub fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.tree(TreeId::Meta).scan_prefix(keys::auth::API_KEY_PREFIX).values().map(|v| decode("meta", &v?)).collect()
    }

    /// A bookkeeping value (`keys::meta`).
    pub fn meta(&self, key: &[u8]) -> Result<Option<IVec>, StoreError> {
        Ok(self.tree(TreeId::Meta).get(key)?)
    }

    /// Keys of bookkeeping values under `prefix`, in order, at most `limit` (prefix stripped).
    pub fn meta_keys(&self, prefix: &[u8], limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.tree(TreeId::Meta)
            .scan_prefix(prefix)
            .keys()
            .take(limit)
            .map(|k| Ok(k?[prefix.len()..].to_vec()))
            .collect()
    }

    /// Internal ids of dropped tables whose rows still need purging.
    pub fn dropped_tables(&self) -> Result<Vec<u32>, StoreError> {
        self.dropped(keys::meta::DROPPED_TID)
    }

    /// Internal ids of dropped indexes whose entries still need purging.
    pub fn dropped_indexes(&self) -> Result<Vec<u32>, StoreError> {
        self.dropped(keys::meta::DROPPED_IID)
    }

    fn dropped(&self, prefix: &[u8]) -> Result<Vec<u32>, StoreError> {
        self.tree(TreeId::Meta)
            .scan_prefix(prefix)
            .keys()
            .map(|k| {
                let k = k?;
                keys::u32_of(&k[prefix.len()..]).ok_or_else(|| corrupt("meta", "short dropped id"))
            })
            .collect()
    }

    /// Remove up to `limit` leftover rows and id entries of a dropped table.
    /// Returns how many keys it removed; 0 means the table is fully purged and
    /// its marker gone. Index entries of the dropped table's indexes are
    /// purged by [`purge_index`](Self::purge_index).
    pub fn purge_table(&self, tid: u32, limit: usize) -> Result<usize, StoreError> {
        let prefix = tid.to_be_bytes();
        let mut doomed = Vec::new();
        for tree in [TreeId::Rows, TreeId::RowIds] {
            for k in self.tree(tree).scan_prefix(prefix).keys().take(limit - doomed.len()) {
                doomed.push((tree, k?.to_vec(), None));
            }
        }
        let removed = doomed.len();
        if removed < limit {
            let mut marker = keys::meta::DROPPED_TID.to_vec();
            marker.extend_from_slice(&prefix);
            doomed.push((TreeId::Meta, marker, None));
        }
        self.upkeep(doomed)?;
        Ok(removed)
    }

    /// Remove up to `limit` entries of a dropped index. Returns how many; 0
    /// means it is fully purged and its marker gone.
    pub fn purge_index(&self, iid: u32, limit: usize) -> Result<usize, StoreError> {
        let mut doomed = Vec::new();
        for k in self.tree(TreeId::Index).scan_prefix(iid.to_be_bytes()).keys().take(limit) {
            doomed.push((TreeId::Index, k?.to_vec(), None));
        }
        let n = doomed.len();
        if n == 0 {
            let mut marker = keys::meta::DROPPED_IID.to_vec();
            marker.extend_from_slice(&iid.to_be_bytes());
            doomed.push((TreeId::Meta, marker, None));
        }
        self.upkeep(doomed)?;
        Ok(n)
    }

    /// Allocate an index id outside a transaction (writer thread only, before
    /// an index is built). It starts out marked dropped, so a crash before the
    /// index is attached leaves only entries the purge removes.
    pub fn allocate_index_id(&self) -> Result<u32, StoreError> {
        let current = self.tree(TreeId::Meta).get(keys::meta::NEXT_IID)?.and_then(|v| keys::u32_of(&v)).unwrap_or(1);
        let mut marker = keys::meta::DROPPED_IID.to_vec();
        marker.extend_from_slice(&current.to_be_bytes());
        self.upkeep(vec![
            (TreeId::Meta, keys::meta::NEXT_IID.to_vec(), Some(IVec::from(&(current + 1).to_be_bytes()[..]))),
            (TreeId::Meta, marker, Some(IVec::default())),
        ])?;
        Ok(current)
    }

    /// Write the entries of a not-yet-attached index for `rows` (writer thread
    /// only). Fails on duplicate values in a unique index.
    pub fn backfill_index(
        &self,
        table: &Table,
        index: &crate::model::catalog::Index,
        rows: impl Iterator<Item = Result<Row, crate::model::exception::Exception>>,
    ) -> Result<(), crate::model::exception::Exception> {
        use crate::model::exception::{ErrorType, Exception};
        let tree = self.tree(TreeId::Index);
        let mut pending: std::collections::HashMap<Vec<u8>, IVec> = std::collections::HashMap::new();
        for row in rows {
            let row = row?;
            let (key, unique) = tx::index_key(table, index, &row);
            if unique && (pending.contains_key(&key) || tree.get(&key).map_err(StoreError::from)?.is_some()) {
                return Err(Exception::msg(
                    ErrorType::ColumnIndexInvalid,
                    format!("Index invalid: existing rows hold duplicate values for unique index \"{}\"", index.key),
                ));
            }
            pending.insert(key, IVec::from(&row.seq.to_be_bytes()[..]));
            if pending.len() >= UPKEEP_CHUNK {
                self.upkeep(pending.drain().map(|(k, v)| (TreeId::Index, k, Some(v))).collect())?;
            }
        }
        self.upkeep(pending.into_iter().map(|(k, v)| (TreeId::Index, k, Some(v))).collect())?;
        Ok(())
    }

    /// Size of the data directory's sled files, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

/// The insert that says sled holds every record through `lsn`.
fn marker(lsn: u64) -> (Vec<u8>, IVec) {
    (space::physical(TreeId::Meta, keys::meta::WAL_APPLIED), IVec::from(&lsn.to_be_bytes()[..]))
}

/// A meta value read straight from sled at open (before the store exists), as a number.
fn meta_u64(tree: &Tree, key: &[u8]) -> Result<Option<u64>, StoreError> {
    Ok(tree.get(space::physical(TreeId::Meta, key))?.and_then(|v| keys::u64_of(&v)))
}

/// Make sled and the event log hold every record through `last` on disk,
/// then empty the log. The events are synced first, and their last one is
/// recorded with sled's flush: at open, the event files are cut back to it
/// and the rest comes from the log. The marker goes in too: once the log is
/// empty it is what keeps LSNs rising across a restart (the log's chain of
/// records relies on that; see `wal`).
fn checkpoint(
    db: &sled::Db,
    tree: &Tree,
    events: &evlog::EventLog,
    wal: &mut wal::Wal,
    last: u64,
) -> Result<(), StoreError> {
    record_events_synced(tree, events)?;
    let (key, value) = marker(last);
    tree.insert(key, value)?;
    db.flush()?;
    wal.reset()
}

/// Sync the event files and record (in sled, for its next flush) the last
/// event they hold, and that events live in files.
fn record_events_synced(tree: &Tree, events: &evlog::EventLog) -> Result<(), StoreError> {
    events.sync()?;
    let meta = |key: &[u8], value: &[u8]| tree.insert(space::physical(TreeId::Meta, key), value);
    if let Some(seq) = events.last() {
        meta(keys::meta::LAST_SEQ, &seq.to_be_bytes())?;
    }
    meta(keys::meta::EVENTS_IN_FILES, b"1")?;
    Ok(())
}

/// Split a record's entries into those for sled and its events (put
/// entries of the events tree), the events in sequence order. Removals of
/// events (retention in data directories from before the event files) are
/// dropped: retention now moves the log's floor and removes whole files.
fn split_events(entries: Vec<wal::Entry>) -> (Vec<wal::Entry>, Vec<(u64, IVec)>) {
    let mut events = Vec::new();
    let rest = entries
        .into_iter()
        .filter_map(|(key, value)| match key.split_first() {
            Some((&tree, rest)) if tree == TreeId::Events as u8 => {
                if let (Some(seq), Some(value)) = (keys::u64_of(rest), value) {
                    events.push((seq, value));
                }
                None
            }
            _ => Some((key, value)),
        })
        .collect();
    events.sort_unstable_by_key(|(seq, _)| *seq);
    (rest, events)
}

/// Copy the events a data directory from before the event files kept in
/// sled into empty files, oldest first, as far as they run without a gap
/// (sled may hold some of a record's inserts and not others; those records
/// are still in the write-ahead log, which `open` applies next).
fn move_events_out_of_sled(tree: &Tree, events: &evlog::EventLog) -> Result<(), StoreError> {
    events.clear()?;
    let mut batch: Vec<(u64, IVec)> = Vec::new();
    let mut last: Option<u64> = None;
    let mut moved = 0usize;
    for item in tree.scan_prefix([TreeId::Events as u8]) {
        let (key, value) = item?;
        let seq = keys::u64_of(&key[1..]).ok_or_else(|| corrupt("events", "short key"))?;
        if last.is_some_and(|l| seq != l + 1) {
            break;
        }
        last = Some(seq);
        batch.push((seq, value));
        if batch.len() >= UPKEEP_CHUNK {
            events.append(batch.iter().map(|(s, v)| (*s, &v[..])))?;
            moved += batch.len();
            batch.clear();
        }
    }
    moved += batch.len();
    events.append(batch.iter().map(|(s, v)| (*s, &v[..])))?;
    if moved > 0 {
        tracing::info!(moved, "moved the event log out of sled into its own files");
    }
    Ok(())
}

/// Remove events left in sled once the files hold them (called after the
/// checkpoint that recorded that). A crash part way leaves some, which the
/// next open removes; with none left this is one lookup.
fn purge_events_from_sled(db: &sled::Db, tree: &Tree) -> Result<(), StoreError> {
    let mut removed = 0usize;
    for key in tree.scan_prefix([TreeId::Events as u8]).keys() {
        tree.remove(key?)?;
        removed += 1;
    }
    if removed > 0 {
        db.flush()?;
    }
    Ok(())
}

/// Put each entry into sled (the record's own order; a marker last).
fn insert_all(tree: &Tree, entries: Vec<wal::Entry>) -> Result<(), StoreError> {
    for (key, value) in entries {
        match value {
            Some(v) => tree.insert(key, v)?,
            None => tree.remove(key)?,
        };
    }
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(tree, e))
}

fn corrupt(tree: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { tree, detail: detail.to_string() }
}

/// Open `dir` in a test that opens it again after dropping a store: sled's
/// I/O threads can hold the dropped store's file lock for a moment, so
/// this waits that out (up to 10 s). Any other error returns at once.
#[cfg(test)]
pub(crate) fn open_again(dir: &Path, opts: &StoreOptions) -> Result<Store, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(dir, opts) {
            Err(e) if format!("{e:?}").contains("could not acquire lock") && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(store: &Store, key: &[u8]) -> Option<Vec<u8>> {
        store.tree(TreeId::Meta).get(key).unwrap().map(|v| v.to_vec())
    }

    /// A record in the log that sled never got (the process died between
    /// the two) is applied at the next open; one sled already holds is not
    /// applied again, so it cannot undo a later write.
    #[test]
    fn open_applies_only_the_records_sled_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        let put = |k: &[u8], v: &[u8]| (TreeId::Meta, k.to_vec(), Some(IVec::from(v)));
        store.upkeep(vec![put(b"a", b"1")]).unwrap();
        store.upkeep(vec![put(b"a", b"2"), put(b"b", b"1")]).unwrap();
        let applied = store.writes().next_lsn - 1;
        store.flush().unwrap();
        drop(store);

        let (mut wal, found) = wal::Wal::open(dir.path()).unwrap();
        assert!(found.is_empty(), "a checkpoint empties the log");
        let phys = |k: &[u8]| space::physical(TreeId::Meta, k);
        // Already in sled (an LSN it holds): must not turn `a` back to 1.
        wal.append(applied, &[(phys(b"a"), Some(IVec::from(&b"1"[..])))], true).unwrap();
        // Not in sled yet: must be applied, whole.
        let (marker_key, marker_value) = marker(applied + 1);
        let entries = [(phys(b"c"), Some(IVec::from(&b"3"[..]))), (phys(b"b"), None), (marker_key, Some(marker_value))];
        wal.append(applied + 1, &entries, true).unwrap();
        drop(wal);

        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(value(&store, b"a").as_deref(), Some(&b"2"[..]));
        assert_eq!(value(&store, b"b"), None);
        assert_eq!(value(&store, b"c").as_deref(), Some(&b"3"[..]));
        assert_eq!(store.writes().next_lsn, applied + 2, "LSNs keep rising across the restart");
        assert!(store.writes().wal.is_empty(), "the recovered log was checkpointed");
        drop(store);
        assert!(wal::Wal::open(dir.path()).unwrap().1.is_empty(), "and stays empty");
    }

    /// Records after the last marker are applied again at open, in order,
    /// whatever part of them sled already held; a marker goes in with every
    /// `MARKER_EVERY`-th record and with each checkpoint, so LSNs keep rising
    /// across restarts.
    #[test]
    fn open_applies_again_every_record_after_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        let put = |k: &[u8], v: &[u8]| (TreeId::Meta, k.to_vec(), Some(IVec::from(v)));
        let applied = |store: &Store| value(store, keys::meta::WAL_APPLIED).and_then(|v| keys::u64_of(&v));
        for i in 1..MARKER_EVERY {
            store.upkeep(vec![put(b"n", &i.to_be_bytes())]).unwrap();
        }
        assert_eq!(store.writes().next_lsn, MARKER_EVERY);
        assert_eq!(applied(&store), None, "no record so far set the marker");
        store.upkeep(vec![put(b"n", b"last")]).unwrap();
        assert_eq!(applied(&store), Some(MARKER_EVERY));
        store.upkeep(vec![put(b"n", b"after")]).unwrap();
        store.flush().unwrap();
        assert_eq!(applied(&store), Some(MARKER_EVERY + 1), "a checkpoint sets it exactly");
        drop(store);

        // Two records the log holds and sled got only the second of (as if
        // sled wrote out its inserts out of the log's order): both apply again.
        let (mut wal, _) = wal::Wal::open(dir.path()).unwrap();
        let phys = |k: &[u8]| space::physical(TreeId::Meta, k);
        let first = MARKER_EVERY + 2;
        wal.append(first, &[(phys(b"k"), Some(IVec::from(&b"1"[..]))), (phys(b"gone"), None)], true).unwrap();
        wal.append(first + 1, &[(phys(b"k"), Some(IVec::from(&b"2"[..])))], true).unwrap();
        drop(wal);
        {
            let db = sled::Config::new().path(dir.path().join("sled")).open().unwrap();
            let tree = db.open_tree("arcade").unwrap();
            tree.insert(phys(b"k"), &b"2"[..]).unwrap();
            tree.insert(phys(b"gone"), &b"x"[..]).unwrap();
            db.flush().unwrap();
        }
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(value(&store, b"k").as_deref(), Some(&b"2"[..]), "the later record wins, as it did");
        assert_eq!(value(&store, b"gone"), None);
        assert_eq!(value(&store, b"n").as_deref(), Some(&b"after"[..]));
        assert_eq!(store.writes().next_lsn, first + 2, "LSNs keep rising");
        assert_eq!(applied(&store), Some(first + 1), "the recovery's checkpoint set the marker");
        drop(store);

        // A restart without a checkpoint (the store dropped, not flushed)
        // after a record that set no marker: it is applied again, no LSN reused.
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        store.upkeep(vec![put(b"k", b"3")]).unwrap();
        let next = store.writes().next_lsn;
        drop(store);
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        assert!(store.writes().next_lsn >= next, "{} < {next}", store.writes().next_lsn);
        assert_eq!(value(&store, b"k").as_deref(), Some(&b"3"[..]));
    }

    /// Readers check the log's floor in memory; retention moves it, and a
    /// restart reads it back from the store.
    #[test]
    fn the_logs_floor_moves_with_retention_and_survives_a_restart() {
        use crate::model::event::{Action, EventDraft, Resource, raw};
        let dir = tempfile::tempdir().unwrap();
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(store.first_seq(), 1, "a new log starts at 1");
        let ((), events, next) = store
            .transact(1, 0, true, |tx| {
                let emitted = tx.op(|tx| {
                    for i in 0..20 {
                        tx.emit(EventDraft::new(Resource::User { user: "u".into() }, Action::Update, raw(&i)))?;
                    }
                    Ok(())
                });
                assert!(emitted.is_ok());
            })
            .unwrap();
        assert_eq!((events.len(), next), (20, 21));
        assert_eq!(store.trim_log(5, i64::MAX, 0, 1000).unwrap(), 15);
        assert_eq!(store.first_seq(), 16);
        assert!(matches!(store.events_after(3, 20, 10).unwrap(), Err(log::Trimmed { first_available: 16 })));
        assert_eq!(store.events_after(15, 20, 10).unwrap().map(|e| e.len()), Ok(5));
        drop(store);
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(store.first_seq(), 16);
        assert_eq!(store.event_count(), 5);
    }

    fn emit_users(store: &Store, next: u64, n: u64) -> u64 {
        use crate::model::event::{Action, EventDraft, Resource, raw};
        let ((), events, next) = store
            .transact(next, 0, true, |tx| {
                let emitted = tx.op(|tx| {
                    for i in 0..n {
                        tx.emit(EventDraft::new(Resource::User { user: format!("u{i}") }, Action::Update, raw(&i)))?;
                    }
                    Ok(())
                });
                assert!(emitted.is_ok());
            })
            .unwrap();
        assert_eq!(events.len() as u64, n);
        next
    }

    fn seqs(store: &Store, after: u64) -> Vec<u64> {
        store.events_after(after, u64::MAX, 10_000).unwrap().unwrap().iter().map(|e| e.seq).collect()
    }

    fn event_files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("events"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        files.sort();
        files
    }

    /// Events the files lost after the last checkpoint (a power cut before
    /// the page cache reached the disk) come back from the write-ahead log,
    /// whole and in order; sled holds none of them.
    #[test]
    fn events_after_the_checkpoint_come_back_from_the_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions { event_segment_bytes: 2048, ..StoreOptions::default() };
        let store = open_again(dir.path(), &opts).unwrap();
        let mut next = emit_users(&store, 1, 10);
        store.flush().unwrap();
        for _ in 0..5 {
            next = emit_users(&store, next, 7);
        }
        assert_eq!(seqs(&store, 0), (1..next).collect::<Vec<_>>());
        assert!(store.tree(TreeId::Events).iter().next().is_none(), "no event is in sled");
        drop(store);
        // Lose everything after the checkpoint's event 10 from the files,
        // and tear the newest file's tail.
        let files = event_files(dir.path());
        assert!(files.len() > 1, "{files:?}");
        for f in &files[1..] {
            std::fs::remove_file(f).unwrap();
            std::fs::remove_file(f.with_extension("idx")).unwrap();
        }
        let first = std::fs::OpenOptions::new().write(true).open(&files[0]).unwrap();
        let len = first.metadata().unwrap().len();
        first.set_len(len - 5).unwrap();

        let store = open_again(dir.path(), &opts).unwrap();
        assert_eq!(store.last_seq().unwrap(), next - 1);
        assert_eq!(seqs(&store, 0), (1..next).collect::<Vec<_>>());
        assert_eq!(store.event_count() as u64, next - 1);
        let after = emit_users(&store, next, 2);
        assert_eq!(seqs(&store, next - 2), (next - 1..after).collect::<Vec<_>>());
    }

    /// Events the files held at a checkpoint are gone: the store refuses to
    /// open rather than serve a log with a hole.
    #[test]
    fn losing_checkpointed_events_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        emit_users(&store, 1, 5);
        store.flush().unwrap();
        drop(store);
        for f in event_files(dir.path()) {
            std::fs::OpenOptions::new().write(true).open(&f).unwrap().set_len(0).unwrap();
        }
        let err = open_again(dir.path(), &StoreOptions::default()).err().expect("refused");
        assert!(matches!(err, StoreError::Corrupt { tree: "events", .. }), "{err}");
    }

    /// A data directory from before the event files kept its events in
    /// sled (and its write-ahead log may hold later ones): the first open
    /// moves them into the files and out of sled, floor included.
    #[test]
    fn events_kept_in_sled_move_into_the_files() {
        use crate::model::event::{Action, EventDraft, Resource, raw};
        let dir = tempfile::tempdir().unwrap();
        let event = |seq: u64| {
            let draft = EventDraft::new(Resource::User { user: "u".into() }, Action::Update, raw(&seq));
            IVec::from(serde_json::to_vec(&draft.into_event(seq, 0, 0)).unwrap())
        };
        {
            let db = sled::Config::new().path(dir.path().join("sled")).open().unwrap();
            let tree = db.open_tree("arcade").unwrap();
            // Retention had removed 1..=4; sled got 5..=20 and, of the last
            // record, 22 but not 21.
            for seq in (5..=20).chain([22]) {
                tree.insert(space::physical(TreeId::Events, &keys::event(seq)), event(seq)).unwrap();
            }
            tree.insert(space::physical(TreeId::Meta, keys::meta::FIRST_SEQ), &5u64.to_be_bytes()[..]).unwrap();
            db.flush().unwrap();
        }
        let (mut wal, _) = wal::Wal::open(dir.path()).unwrap();
        let put = |seq: u64| (space::physical(TreeId::Events, &keys::event(seq)), Some(event(seq)));
        wal.append(1, &[put(22), put(21)], true).unwrap();
        wal.append(2, &[put(23)], true).unwrap();
        drop(wal);

        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(store.first_seq(), 5);
        assert_eq!(seqs(&store, 4), (5..=23).collect::<Vec<_>>());
        assert!(matches!(store.events_after(2, 23, 10).unwrap(), Err(log::Trimmed { first_available: 5 })));
        assert!(store.tree(TreeId::Events).iter().next().is_none(), "sled holds no event any more");
        let next = emit_users(&store, 24, 1);
        drop(store);
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(seqs(&store, 4), (5..next).collect::<Vec<_>>());
    }

    /// Retention removes the files below the floor, and the floor holds
    /// across a restart even if sled had not written it yet.
    #[test]
    fn retention_removes_old_event_files() {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions { event_segment_bytes: 1024, ..StoreOptions::default() };
        let store = open_again(dir.path(), &opts).unwrap();
        let mut next = 1;
        for _ in 0..20 {
            next = emit_users(&store, next, 3);
        }
        let before = event_files(dir.path()).len();
        assert!(before > 3, "{before}");
        assert_eq!(store.trim_log(10, i64::MAX, 0, 1000).unwrap(), 50);
        assert!(event_files(dir.path()).len() < before);
        assert_eq!(store.first_seq(), 51);
        assert_eq!(seqs(&store, 50), (51..=60).collect::<Vec<_>>());
        assert_eq!(store.trim_log(10, i64::MAX, 0, 1000).unwrap(), 0);
        // By age: everything but the newest is older than 5 ms at time 10
        // (these events are stamped 0), at most 3 per call.
        assert_eq!(store.trim_log(100, 5, 10, 3).unwrap(), 3);
        assert_eq!(store.trim_log(100, 5, 10, 1000).unwrap(), 6);
        assert_eq!(store.first_seq(), 60, "the newest event stays");
        drop(store);
        let store = open_again(dir.path(), &opts).unwrap();
        assert_eq!(store.first_seq(), 60);
        assert_eq!(store.event_count(), 1);
    }

    #[test]
    fn transact_logs_and_applies_one_record_per_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        let before = store.writes().next_lsn;
        let ((), events, next) = store.transact(1, 0, true, |_tx| {}).unwrap();
        assert!(events.is_empty() && next == 1);
        assert_eq!(store.writes().next_lsn, before, "an empty batch writes nothing");
        store.upkeep(vec![(TreeId::Meta, b"k".to_vec(), Some(IVec::from(&b"v"[..])))]).unwrap();
        assert_eq!(store.writes().next_lsn, before + 1);
        let logged = store.writes().wal.len();
        assert!(logged > 0, "the record is in the log until a checkpoint");
        drop(store);
        // Reopening finds the record already applied (sled flushed at drop or not):
        let store = open_again(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(value(&store, b"k").as_deref(), Some(&b"v"[..]));
    }
}
