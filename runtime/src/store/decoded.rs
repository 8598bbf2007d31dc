//! Decoded function-tree records (functions, deployments), shared between
//! the executions that read them.
//!
//! Every execution reads its function (twice: the HTTP handler checks who may
//! run it, then the runtime starts it) and its active deployment. Decoding
//! their JSON cost more than the sled reads (~7% of the server's CPU at
//! 64 clients of no-op executions, by `perf`), and the sled read itself
//! ~13 µs of a 1-client execution (cold caches after each wait for the
//! disk). A decoded copy is handed out only while it is known current: the
//! store's `records_version` has not moved since the copy was checked
//! (every write to a function-tree key other than an execution's moves it,
//! after its inserts), or else the stored bytes are still exactly the ones
//! it was decoded from. So it can never be stale and no write path has to
//! invalidate it. Not for execution keys: their writes do not move the
//! version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;

use sled::IVec;

use super::{Store, StoreError, TreeId, decode, keys};

/// Entries kept before the map starts over (a bound on its memory, far above
/// the functions and deployments a project has).
const MAX_ENTRIES: usize = 1024;

/// A decoded value, the stored bytes it came from, and a records version
/// read before those bytes were (last) read.
struct Entry<T> {
    bytes: IVec,
    version: u64,
    value: Arc<T>,
}

pub struct Decoded<T> {
    map: Mutex<HashMap<Vec<u8>, Entry<T>>>,
}

impl<T> Default for Decoded<T> {
    fn default() -> Self {
        Self { map: Mutex::new(HashMap::new()) }
    }
}

impl<T: DeserializeOwned> Decoded<T> {
    /// The record under `key` of the function tree, decoded (once per version).
    pub fn get(&self, store: &Store, key: &[u8]) -> Result<Option<Arc<T>>, StoreError> {
        debug_assert!(!keys::functions::is_execution_key(key), "execution keys do not move the records version");
        // Read the version first: bytes read after it are at least that new.
        let version = store.records_version();
        if let Ok(map) = self.map.lock()
            && let Some(entry) = map.get(key)
            && entry.version == version
        {
            return Ok(Some(entry.value.clone()));
        }
        let Some(raw) = store.tree(TreeId::Functions).get(key)? else {
            return Ok(None);
        };
        if let Ok(mut map) = self.map.lock()
            && let Some(entry) = map.get_mut(key)
            && entry.bytes == raw
        {
            entry.version = version;
            return Ok(Some(entry.value.clone()));
        }
        let value: Arc<T> = Arc::new(decode("functions", &raw)?);
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES && !map.contains_key(key) {
                map.clear();
            }
            map.insert(key.to_vec(), Entry { bytes: raw, version, value: value.clone() });
        }
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Rec {
        n: u32,
    }

    fn put(store: &Store, key: &[u8], json: &str) {
        store.upkeep(vec![(TreeId::Functions, key.to_vec(), Some(IVec::from(json.as_bytes())))]).unwrap();
    }

    /// A rewritten record is decoded again (never the old copy); an
    /// unchanged one is the same shared value; a removed one is gone.
    #[test]
    fn follows_the_stored_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let cache: Decoded<Rec> = Decoded::default();
        assert!(cache.get(&store, b"f1").unwrap().is_none());
        put(&store, b"f1", r#"{"n":1}"#);
        let a = cache.get(&store, b"f1").unwrap().unwrap();
        let b = cache.get(&store, b"f1").unwrap().unwrap();
        assert_eq!(*a, Rec { n: 1 });
        assert!(Arc::ptr_eq(&a, &b));
        put(&store, b"f1", r#"{"n":2}"#);
        assert_eq!(*cache.get(&store, b"f1").unwrap().unwrap(), Rec { n: 2 });
        store.upkeep(vec![(TreeId::Functions, b"f1".to_vec(), None)]).unwrap();
        assert!(cache.get(&store, b"f1").unwrap().is_none());
    }

    /// An execution's writes leave the version (and so the shared copy)
    /// alone; any other function-tree write moves it, and the next read
    /// sees the new bytes.
    #[test]
    fn only_non_execution_writes_move_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let cache: Decoded<Rec> = Decoded::default();
        let f = keys::functions::function("f1");
        put(&store, &f, r#"{"n":1}"#);
        let a = cache.get(&store, &f).unwrap().unwrap();
        let v = store.records_version();
        put(&store, &keys::functions::execution("f1", "e1"), r#"{"n":9}"#);
        put(&store, &keys::functions::pending_execution("f1", "e1"), "");
        assert_eq!(store.records_version(), v, "execution writes");
        assert!(Arc::ptr_eq(&a, &cache.get(&store, &f).unwrap().unwrap()));
        put(&store, &keys::functions::deployment("d1"), r#"{"n":3}"#);
        assert!(store.records_version() > v, "a deployment write");
        put(&store, &f, r#"{"n":2}"#);
        assert_eq!(*cache.get(&store, &f).unwrap().unwrap(), Rec { n: 2 });
    }

    #[test]
    fn stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let cache: Decoded<Rec> = Decoded::default();
        for i in 0..(MAX_ENTRIES + 10) {
            let key = format!("k{i}");
            put(&store, key.as_bytes(), r#"{"n":7}"#);
            assert_eq!(cache.get(&store, key.as_bytes()).unwrap().unwrap().n, 7);
        }
        assert!(cache.map.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
