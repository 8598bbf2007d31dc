//! Moves execution records from the layout before 2026-12-04 to the one
//! keyed by function, once, at open.
//!
//! Before, an execution was two entries: its record under `e\0<execution>`
//! and an empty index entry under `fe\0<function>\0<execution>` (plus
//! `pe\0<execution>` while it ran). Every execution paid for both inserts,
//! and listing a function's executions read the index, then each record.
//! Now the record itself lives under the function's key
//! (`keys::functions::execution`), which is one insert per execution and a
//! range read per list. Getting an execution by id alone is never needed:
//! Appwrite's API always names the function too.
//!
//! The move is upkeep: records of the write-ahead log like any other write,
//! not synced. For each execution the new entries come before the removal
//! of the old one, so a crash anywhere keeps either the old record or the
//! new one (or both, which the next open finishes moving); with nothing
//! left under `e\0`, an open costs one lookup.

use serde::Deserialize;
use sled::IVec;

use super::error::StoreError;
use super::keys::TreeId;
use super::keys::functions::{self as k, legacy};
use super::{Store, corrupt};

/// Executions moved per group of upkeep records: bounds the memory a move
/// holds at once (a record may carry up to a few MB of logs).
const CHUNK: usize = 1_000;

/// The one field the move needs from a record.
#[derive(Deserialize)]
struct Owner {
    function: String,
}

type Write = (TreeId, Vec<u8>, Option<IVec>);

/// Move every execution still in the old layout; returns how many moved.
pub(super) fn executions_by_function(store: &Store) -> Result<usize, StoreError> {
    let records = store.tree(TreeId::Functions);
    if records.scan_prefix(legacy::EXECUTION_PREFIX).next().is_none() {
        return Ok(0);
    }
    // Old index entries whose record is gone would read as broken records
    // once records share their keys; there should be none, but drop any
    // first (while the old records still tell them apart).
    let mut orphans: Vec<Write> = Vec::new();
    for item in records.scan_prefix(k::FUNCTION_EXECUTION_PREFIX) {
        let (key, value) = item?;
        if !value.is_empty() {
            continue;
        }
        let id = key.rsplit(|&b| b == 0).next().unwrap_or_default();
        let id = String::from_utf8_lossy(id);
        if records.get(legacy::execution(&id))?.is_none() {
            orphans.push((TreeId::Functions, key.to_vec(), None));
        }
    }
    store.upkeep(orphans)?;
    let mut moved = 0;
    loop {
        let mut writes: Vec<Write> = Vec::new();
        let mut n = 0;
        for item in records.scan_prefix(legacy::EXECUTION_PREFIX).take(CHUNK) {
            let (key, value) = item?;
            let id = String::from_utf8_lossy(&key[legacy::EXECUTION_PREFIX.len()..]).into_owned();
            let owner: Owner = serde_json::from_slice(&value).map_err(|e| corrupt("functions", e))?;
            writes.push((TreeId::Functions, k::execution(&owner.function, &id), Some(value)));
            let old_pending = legacy::pending_execution(&id);
            if records.get(&old_pending)?.is_some() {
                writes.push((TreeId::Functions, k::pending_execution(&owner.function, &id), Some(IVec::default())));
                writes.push((TreeId::Functions, old_pending, None));
            }
            writes.push((TreeId::Functions, key.to_vec(), None));
            n += 1;
        }
        if n == 0 {
            break;
        }
        store.upkeep(writes)?;
        moved += n;
    }
    tracing::info!(moved, "moved execution records under their functions' keys");
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    fn record(function: &str, id: &str) -> IVec {
        IVec::from(format!(r#"{{"id":"{id}","function":"{function}","status":"completed"}}"#).as_bytes())
    }

    fn open(dir: &std::path::Path) -> Result<Store, StoreError> {
        crate::store::open_again(dir, &StoreOptions::default())
    }

    fn put(key: Vec<u8>, value: IVec) -> Write {
        (TreeId::Functions, key, Some(value))
    }

    fn get(store: &Store, key: &[u8]) -> Option<IVec> {
        store.tree(TreeId::Functions).get(key).unwrap()
    }

    fn keys(store: &Store) -> Vec<Vec<u8>> {
        store.tree(TreeId::Functions).iter().keys().map(|k| k.unwrap().to_vec()).collect()
    }

    /// A data directory in the old layout opens in the new one: every
    /// record under its function's key with its bytes unchanged, pending
    /// entries with it, nothing left of the old keys, and a second open
    /// has nothing to do.
    #[test]
    fn the_old_layout_moves_under_the_functions_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        let mut old = Vec::new();
        // More than one chunk, over two functions.
        for i in 0..(CHUNK + 5) {
            let (f, id) = (if i % 2 == 0 { "f1" } else { "f2" }, format!("e{i:05}"));
            old.push(put(legacy::execution(&id), record(f, &id)));
            old.push(put(k::execution(f, &id), IVec::default()));
        }
        old.push(put(legacy::pending_execution("e00003"), IVec::default()));
        // An index entry without its record, and a move a crash cut short:
        // the new record is there, the old one too.
        old.push(put(k::execution("f1", "gone"), IVec::default()));
        old.push(put(legacy::execution("half"), record("f2", "half")));
        old.push(put(k::execution("f2", "half"), record("f2", "half")));
        store.upkeep(old).unwrap();
        drop(store);

        let store = open(dir.path()).unwrap();
        assert_eq!(get(&store, &k::execution("f1", "e00000")), Some(record("f1", "e00000")));
        assert_eq!(get(&store, &k::execution("f2", "e00003")), Some(record("f2", "e00003")));
        assert_eq!(get(&store, &k::execution("f2", "half")), Some(record("f2", "half")));
        assert!(get(&store, &k::pending_execution("f2", "e00003")).is_some(), "the pending entry moved");
        assert_eq!(get(&store, &k::execution("f1", "gone")), None, "the orphan index entry is gone");
        let all = keys(&store);
        assert_eq!(all.len(), CHUNK + 5 + 1 + 1, "one key per execution, plus the pending one: {}", all.len());
        assert!(all.iter().all(|key| key.starts_with(b"fe\0") || key.starts_with(b"pe\0")), "no old key left");
        let f1 = store.records::<serde_json::Value>(&k::function_executions("f1")).unwrap();
        assert_eq!(f1.len(), CHUNK / 2 + 3, "a function's executions read as records");
        drop(store);

        let store = open(dir.path()).unwrap();
        assert_eq!(executions_by_function(&store).unwrap(), 0);
        assert_eq!(keys(&store), all);
    }

    /// A record that does not say whose it is stops the open with a clear
    /// error instead of being dropped.
    #[test]
    fn an_unreadable_old_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        store.upkeep(vec![put(legacy::execution("e1"), IVec::from(&b"{}"[..]))]).unwrap();
        drop(store);
        let err = open(dir.path()).err().expect("refused");
        assert!(err.to_string().contains("functions"), "{err}");
    }
}
