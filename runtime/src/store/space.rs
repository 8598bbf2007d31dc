//! Logical trees inside the one sled tree.
//!
//! Everything lives in a single sled tree so that a whole batch of writes
//! (rows, index entries, events, counters) can be applied with one atomic
//! `apply_batch`: sled writes a batch manifest, so after a crash a batch is
//! either wholly there or wholly absent, and readers never see part of one.
//! Each logical tree ([`TreeId`]) is a one-byte key prefix; [`Space`] adds and
//! strips it, so the rest of the store reads as if the trees were separate.

use std::ops::{Bound, RangeBounds};

use sled::{IVec, Tree};

use super::keys::TreeId;

/// One logical tree.
#[derive(Clone, Copy)]
pub struct Space<'a> {
    tree: &'a Tree,
    id: TreeId,
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
    pub fn new(tree: &'a Tree, id: TreeId) -> Self {
        Self { tree, id }
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> sled::Result<Option<IVec>> {
        self.tree.get(physical(self.id, key.as_ref()))
    }

    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<IVec>) -> sled::Result<Option<IVec>> {
        self.tree.insert(physical(self.id, key.as_ref()), value)
    }

    pub fn remove(&self, key: impl AsRef<[u8]>) -> sled::Result<Option<IVec>> {
        self.tree.remove(physical(self.id, key.as_ref()))
    }

    pub fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> sled::Result<Result<(), sled::CompareAndSwapError>> {
        self.tree.compare_and_swap(physical(self.id, key.as_ref()), old, new)
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> SpaceIter {
        SpaceIter(self.tree.scan_prefix(physical(self.id, prefix.as_ref())))
    }

    /// Every entry of this logical tree.
    pub fn iter(&self) -> SpaceIter {
        self.scan_prefix([])
    }

    /// Entries in a key range (keys without the prefix).
    pub fn range<R: RangeBounds<Vec<u8>>>(&self, range: R) -> SpaceIter {
        let lo = bound(self.id, range.start_bound());
        let hi = match range.end_bound() {
            Bound::Unbounded => match super::keys::prefix_end(&[self.id as u8]) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
            b => bound(self.id, b),
        };
        SpaceIter(self.tree.range::<Vec<u8>, _>((lo, hi)))
    }

    /// The entry with the greatest key.
    pub fn last(&self) -> sled::Result<Option<(IVec, IVec)>> {
        self.iter().next_back().transpose()
    }
}

/// An iterator over one logical tree; keys come without the prefix.
pub struct SpaceIter(sled::Iter);

impl Iterator for SpaceIter {
    type Item = sled::Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|r| r.map(|(k, v)| (strip(k), v)))
    }
}

impl DoubleEndedIterator for SpaceIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|r| r.map(|(k, v)| (strip(k), v)))
    }
}

impl SpaceIter {
    pub fn keys(self) -> impl DoubleEndedIterator<Item = sled::Result<IVec>> {
        self.map(|r| r.map(|(k, _)| k))
    }

    pub fn values(self) -> impl DoubleEndedIterator<Item = sled::Result<IVec>> {
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
        let rows = Space::new(&t, TreeId::Rows);
        let ids = Space::new(&t, TreeId::RowIds);
        rows.insert(b"a", b"1".to_vec()).unwrap();
        rows.insert(b"b", b"2".to_vec()).unwrap();
        ids.insert(b"a", b"x".to_vec()).unwrap();
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
