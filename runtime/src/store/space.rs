//! Logical trees inside the one sled tree.
//!
//! Everything lives in a single sled tree, so that one write-ahead log
//! record (`wal`) covers a whole batch of writes across them (rows, index
//! entries, events, counters). Each logical tree ([`TreeId`]) is a one-byte
//! key prefix; [`Space`] adds and strips it, so the rest of the store reads
//! as if the trees were separate.
//!
//! A [`Space`] only reads. Each read holds the store's gate shared; a write
//! holds it exclusively while its inserts go into sled, so no read sees half
//! of a batch. Writes go through `Store::apply`.

use std::ops::{Bound, RangeBounds};
use std::sync::{RwLock, RwLockReadGuard};

use sled::{IVec, Tree};

use super::keys::TreeId;

/// One logical tree.
#[derive(Clone, Copy)]
pub struct Space<'a> {
    tree: &'a Tree,
    gate: &'a RwLock<()>,
    id: TreeId,
}

/// Hold the gate shared (a poisoned gate guards nothing: `()`).
pub(super) fn shared(gate: &RwLock<()>) -> RwLockReadGuard<'_, ()> {
    gate.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The physical key of `key` in logical tree `id`.
pub fn physical(id: TreeId, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(id as u8);
    k.extend_from_slice(key);
    k
}

fn strip(k: IVec) -> IVec {
    if k.is_empty() { k } else { k.subslice(1, k.len() - 1) }
}

fn bound(id: TreeId, b: Bound<&Vec<u8>>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(physical(id, k)),
        Bound::Excluded(k) => Bound::Excluded(physical(id, k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl<'a> Space<'a> {
    pub fn new(tree: &'a Tree, gate: &'a RwLock<()>, id: TreeId) -> Self {
        Self { tree, gate, id }
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> sled::Result<Option<IVec>> {
        let _read = shared(self.gate);
        self.tree.get(physical(self.id, key.as_ref()))
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> SpaceIter<'a> {
        let _read = shared(self.gate);
        SpaceIter { iter: self.tree.scan_prefix(physical(self.id, prefix.as_ref())), gate: self.gate }
    }

    /// Every entry of this logical tree.
    pub fn iter(&self) -> SpaceIter<'a> {
        self.scan_prefix([])
    }

    /// Entries in a key range (keys without the prefix).
    pub fn range<R: RangeBounds<Vec<u8>>>(&self, range: R) -> SpaceIter<'a> {
        let lo = bound(self.id, range.start_bound());
        let hi = match range.end_bound() {
            Bound::Unbounded => match super::keys::prefix_end(&[self.id as u8]) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
            b => bound(self.id, b),
        };
        let _read = shared(self.gate);
        SpaceIter { iter: self.tree.range::<Vec<u8>, _>((lo, hi)), gate: self.gate }
    }

    /// The entry with the greatest key.
    pub fn last(&self) -> sled::Result<Option<(IVec, IVec)>> {
        self.iter().next_back().transpose()
    }
}

/// An iterator over one logical tree; keys come without the prefix. Each
/// step holds the gate shared, so it never lands inside a batch.
pub struct SpaceIter<'a> {
    iter: sled::Iter,
    gate: &'a RwLock<()>,
}

impl Iterator for SpaceIter<'_> {
    type Item = sled::Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        let _read = shared(self.gate);
        self.iter.next().map(|r| r.map(|(k, v)| (strip(k), v)))
    }
}

impl DoubleEndedIterator for SpaceIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let _read = shared(self.gate);
        self.iter.next_back().map(|r| r.map(|(k, v)| (strip(k), v)))
    }
}

impl<'a> SpaceIter<'a> {
    pub fn keys(self) -> impl DoubleEndedIterator<Item = sled::Result<IVec>> + 'a {
        self.map(|r| r.map(|(k, _)| k))
    }

    pub fn values(self) -> impl DoubleEndedIterator<Item = sled::Result<IVec>> + 'a {
        self.map(|r| r.map(|(_, v)| v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_do_not_see_each_other() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let t = db.open_tree("t").unwrap();
        let gate = RwLock::new(());
        let rows = Space::new(&t, &gate, TreeId::Rows);
        let ids = Space::new(&t, &gate, TreeId::RowIds);
        t.insert(physical(TreeId::Rows, b"a"), b"1".to_vec()).unwrap();
        t.insert(physical(TreeId::Rows, b"b"), b"2".to_vec()).unwrap();
        t.insert(physical(TreeId::RowIds, b"a"), b"x".to_vec()).unwrap();
        assert_eq!(rows.iter().count(), 2);
        assert_eq!(ids.iter().count(), 1);
        assert_eq!(rows.last().unwrap().unwrap().0.as_ref(), b"b");
        assert_eq!(ids.last().unwrap().unwrap().0.as_ref(), b"a");
        let got: Vec<_> = rows.range(b"b".to_vec()..).keys().map(|k| k.unwrap().to_vec()).collect();
        assert_eq!(got, vec![b"b".to_vec()]);
        assert_eq!(rows.scan_prefix(b"a").count(), 1);
        assert!(ids.get(b"b").unwrap().is_none());
    }
}
