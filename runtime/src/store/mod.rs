//! The store: every byte Arcade keeps on disk, in sled.
//!
//! This is the only module that touches sled. It owns the tree layout
//! (`keys`), the order-preserving index encoding (`codec`), the write
//! transaction that commits data and events together (`tx`) and reads of the
//! event log (`log`). Everything above it sees typed records.
//!
//! Writes happen only through [`Store::transact`], called by the single writer
//! (`crate::db::writer`), one atomic sled batch per group of operations. Reads
//! may run on any thread at any time; they see whole batches, never half of
//! one, because sled applies a batch under an exclusive lock.
//!
//! Durability: sled keeps recent writes in memory and writes them out every
//! 500 ms; [`Store::flush`] forces everything written so far to disk (fsync).
//! The writer calls it once per batch in durable mode.

pub mod codec;
pub mod error;
pub mod keys;
pub mod log;
pub mod space;
pub mod tx;

use std::ops::Bound;
use std::path::Path;

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

/// An open data directory.
pub struct Store {
    db: sled::Db,
    /// Every logical tree lives in this one sled tree (see `space`).
    tree: Tree,
}

/// Options for [`Store::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { cache_bytes: 256 << 20 }
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
        Ok(Store { db, tree })
    }

    pub(crate) fn tree(&self, id: TreeId) -> Space<'_> {
        Space::new(&self.tree, id)
    }

    /// Run `f` as one atomic write, giving events sequence numbers from
    /// `next_seq`. Returns what `f` returned, the events it committed (in
    /// order) and the next free sequence number. Everything `f` wrote is
    /// applied as one sled batch: after a crash it is all there or none of it.
    /// Only the writer calls this, so nothing else changes the data while `f` reads.
    pub fn transact<R>(
        &self,
        next_seq: u64,
        now: Millis,
        f: impl FnOnce(&mut WriteTx<'_>) -> R,
    ) -> Result<(R, Vec<Event>, u64), StoreError> {
        let mut tx = WriteTx::new(&self.tree, next_seq, now);
        let r = f(&mut tx);
        let (batch, events, next) = tx.finish()?;
        self.tree.apply_batch(batch)?;
        Ok((r, events, next))
    }

    /// Force every write so far to disk. Returns the bytes written.
    pub fn flush(&self) -> Result<usize, StoreError> {
        Ok(self.db.flush()?)
    }

    /// Highest committed event sequence number (0 for a new store).
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let from_meta = self.tree(TreeId::Meta).get(keys::meta::LAST_SEQ)?.and_then(|v| keys::u64_of(&v));
        let from_log = self.tree(TreeId::Events).last()?.and_then(|(k, _)| keys::u64_of(&k));
        Ok(from_meta.unwrap_or(0).max(from_log.unwrap_or(0)))
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
        meta.compare_and_swap(keys::meta::SECRET, None as Option<&[u8]>, Some(&secret[..]))?.ok();
        Ok(meta.get(keys::meta::SECRET)?.map(|v| v.to_vec()).unwrap_or_else(|| secret.to_vec()))
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
        let mut removed = 0;
        for tree in [TreeId::Rows, TreeId::RowIds] {
            let t = self.tree(tree);
            let doomed: Vec<IVec> = t.scan_prefix(prefix).keys().take(limit - removed).collect::<Result<_, _>>()?;
            for k in doomed {
                t.remove(k)?;
                removed += 1;
            }
            if removed >= limit {
                return Ok(removed);
            }
        }
        let mut marker = keys::meta::DROPPED_TID.to_vec();
        marker.extend_from_slice(&prefix);
        self.tree(TreeId::Meta).remove(marker)?;
        Ok(removed)
    }

    /// Remove up to `limit` entries of a dropped index. Returns how many; 0
    /// means it is fully purged and its marker gone.
    pub fn purge_index(&self, iid: u32, limit: usize) -> Result<usize, StoreError> {
        let t = self.tree(TreeId::Index);
        let doomed: Vec<IVec> = t.scan_prefix(iid.to_be_bytes()).keys().take(limit).collect::<Result<_, _>>()?;
        let n = doomed.len();
        for k in doomed {
            t.remove(k)?;
        }
        if n == 0 {
            let mut marker = keys::meta::DROPPED_IID.to_vec();
            marker.extend_from_slice(&iid.to_be_bytes());
            self.tree(TreeId::Meta).remove(marker)?;
        }
        Ok(n)
    }

    /// Allocate an index id outside a transaction (writer thread only, before
    /// an index is built). It starts out marked dropped, so a crash before the
    /// index is attached leaves only entries the purge removes.
    pub fn allocate_index_id(&self) -> Result<u32, StoreError> {
        let meta = self.tree(TreeId::Meta);
        let current = meta.get(keys::meta::NEXT_IID)?.and_then(|v| keys::u32_of(&v)).unwrap_or(1);
        meta.insert(keys::meta::NEXT_IID, &(current + 1).to_be_bytes())?;
        let mut marker = keys::meta::DROPPED_IID.to_vec();
        marker.extend_from_slice(&current.to_be_bytes());
        meta.insert(marker, &[])?;
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
        for row in rows {
            let row = row?;
            let (key, unique) = tx::index_key(table, index, &row);
            if unique && tree.get(&key).map_err(StoreError::from)?.is_some() {
                return Err(Exception::msg(
                    ErrorType::ColumnIndexInvalid,
                    format!("Index invalid: existing rows hold duplicate values for unique index \"{}\"", index.key),
                ));
            }
            tree.insert(key, &row.seq.to_be_bytes()).map_err(StoreError::from)?;
        }
        Ok(())
    }

    /// Size of the data directory's sled files, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

fn decode<T: serde::de::DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(tree, e))
}

fn corrupt(tree: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { tree, detail: detail.to_string() }
}
