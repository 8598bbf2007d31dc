//! The in-memory catalog: every database and table, for lookups on the hot
//! path without touching the store.
//!
//! It is an immutable snapshot behind an `Arc`. Only the writer builds new
//! ones, from the store, right after committing a schema change; readers
//! clone the current `Arc` and keep a consistent view for their whole request.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::catalog::{Database, Table};
use crate::store::{Store, StoreError};

#[derive(Debug, Default)]
pub struct Catalog {
    databases: HashMap<String, Arc<Database>>,
    tables: HashMap<String, HashMap<String, Arc<Table>>>,
}

impl Catalog {
    pub fn load(store: &Store) -> Result<Catalog, StoreError> {
        let (dbs, tables) = store.load_catalog()?;
        let mut c = Catalog::default();
        for db in dbs {
            c.databases.insert(db.id.clone(), Arc::new(db));
        }
        for t in tables {
            c.tables.entry(t.db.clone()).or_default().insert(t.id.clone(), Arc::new(t));
        }
        Ok(c)
    }

    pub fn database(&self, id: &str) -> Option<&Arc<Database>> {
        self.databases.get(id)
    }

    pub fn table(&self, db: &str, id: &str) -> Option<&Arc<Table>> {
        self.tables.get(db).and_then(|t| t.get(id))
    }

    /// Every database, ordered by creation time then id.
    pub fn databases(&self) -> Vec<&Arc<Database>> {
        let mut v: Vec<_> = self.databases.values().collect();
        v.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        v
    }

    /// Every table of a database, ordered by creation time then id.
    pub fn tables(&self, db: &str) -> Vec<&Arc<Table>> {
        let mut v: Vec<_> = self.tables.get(db).map(|t| t.values().collect()).unwrap_or_default();
        v.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        v
    }
}
