//! The write transaction: the only way to change what the store holds.
//!
//! A [`WriteTx`] gathers the writes of a whole batch of operations (group
//! commit) and hands them to the store, which logs them as one write-ahead
//! record and then applies them (see `wal`): all of them, or none. Each
//! operation runs inside [`WriteTx::op`], which gives it a savepoint: its
//! writes collect in an overlay that later reads see, and only if the
//! operation succeeds do they join the batch. A failed operation leaves no
//! trace, not even a used sequence number. Reads go to the op's overlay, then
//! the batch's, then the store, which nothing else writes meanwhile (only the
//! writer thread opens a `WriteTx`).
//!
//! Rows, catalog entries and accounts can only be written through methods that
//! also take the event describing the change, and an operation that changed
//! data without emitting an event is refused at its end. So "no change without
//! its event" is a property of this API; "no event without its change" holds
//! because both land in the same atomic record.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::{IVec, Tree};

use super::codec;
use super::error::StoreError;
use super::keys::{self, TreeId};
use super::wal::Entry;
use crate::model::catalog::{Database, IndexType, Table};
use crate::model::event::{Event, EventDraft};
use crate::model::exception::{ErrorType, Exception};
use crate::model::row::{self, Row};
use crate::model::time::Millis;

/// Trees whose changes must be explained by an event.
const DATA_TREES: [TreeId; 6] =
    [TreeId::Catalog, TreeId::Rows, TreeId::RowIds, TreeId::Index, TreeId::Auth, TreeId::Functions];

pub struct WriteTx<'a> {
    tree: &'a Tree,
    gate: &'a RwLock<()>,
    /// Writes of the running operation, per logical tree.
    overlay: [HashMap<Vec<u8>, Option<IVec>>; 9],
    /// Writes of the operations of this batch that succeeded, per logical tree.
    batch: [HashMap<Vec<u8>, Option<IVec>>; 9],
    op_events: Vec<Event>,
    events: Vec<Event>,
    next_seq: u64,
    now: Millis,
    /// Chain depth given to the events emitted now (see `Event::depth`).
    depth: u32,
    fatal: Option<StoreError>,
}

impl<'a> WriteTx<'a> {
    pub(super) fn new(tree: &'a Tree, gate: &'a RwLock<()>, next_seq: u64, now: Millis) -> Self {
        Self {
            tree,
            gate,
            overlay: Default::default(),
            batch: Default::default(),
            op_events: Vec::new(),
            events: Vec::new(),
            next_seq,
            now,
            depth: 0,
            fatal: None,
        }
    }

    /// Run one operation with a savepoint: its writes and events stay only if it returns Ok.
    pub fn op<T>(&mut self, f: impl FnOnce(&mut WriteTx<'a>) -> Result<T, Exception>) -> Result<T, Exception> {
        debug_assert!(self.overlay.iter().all(HashMap::is_empty) && self.op_events.is_empty());
        if self.fatal.is_some() {
            return Err(Exception::internal("write transaction already failed"));
        }
        let start_seq = self.next_seq;
        let out = f(self);
        let out = out.and_then(|v| self.commit_op().map(|()| v).map_err(Exception::from));
        if out.is_err() {
            self.overlay.iter_mut().for_each(HashMap::clear);
            self.op_events.clear();
            self.next_seq = start_seq;
        }
        out
    }

    fn commit_op(&mut self) -> Result<(), StoreError> {
        if self.op_events.is_empty()
            && let Some(tree) = DATA_TREES.iter().find(|t| !self.overlay[**t as usize].is_empty())
        {
            return Err(StoreError::WriteWithoutEvent(keys::TREE_NAMES[*tree as usize]));
        }
        for (tree, writes) in self.overlay.iter_mut().enumerate() {
            self.batch[tree].extend(writes.drain());
        }
        self.events.append(&mut self.op_events);
        Ok(())
    }

    /// The writes to apply (physical keys), the events they commit and the next free sequence number.
    pub(super) fn finish(mut self) -> Result<(Vec<Entry>, Vec<Event>, u64), StoreError> {
        if let Some(e) = self.fatal {
            return Err(e);
        }
        // The newest event is the highest sequence number: retention always
        // keeps it, so nothing else needs writing to remember it.
        let mut batch = Vec::with_capacity(self.batch.iter().map(HashMap::len).sum::<usize>() + 1);
        for (id, writes) in self.batch.iter_mut().enumerate() {
            for (key, value) in writes.drain() {
                batch.push((super::space::physical(TreeId::ALL[id], &key), value));
            }
        }
        Ok((batch, self.events, self.next_seq))
    }

    /// The time every write of this batch is stamped with.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// The sequence number the next emitted event will get (a row's `$sequence`
    /// is that of the event that creates it).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Run `f` with every event it emits marked as `depth` deep in a chain of
    /// event-triggered executions.
    pub fn at_depth<T>(&mut self, depth: u32, f: impl FnOnce(&mut Self) -> T) -> T {
        let outer = std::mem::replace(&mut self.depth, depth);
        let out = f(self);
        self.depth = outer;
        out
    }

    /// Append an event to the log; returns its sequence number.
    pub fn emit(&mut self, draft: EventDraft) -> Result<u64, Exception> {
        let seq = self.next_seq;
        let event = draft.into_event(seq, self.now, self.depth);
        let bytes = serde_json::to_vec(&event).map_err(Exception::internal)?;
        self.put(TreeId::Events, keys::event(seq).to_vec(), bytes);
        self.op_events.push(event);
        self.next_seq += 1;
        Ok(seq)
    }

    // ---- raw access, private to the store ----

    fn get(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<IVec>, Exception> {
        if let Some(v) = self.overlay[tree as usize].get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.batch[tree as usize].get(key) {
            return Ok(v.clone());
        }
        match super::space::Space::new(self.tree, self.gate, tree).get(key) {
            Ok(v) => Ok(v),
            Err(e) => {
                let e = StoreError::from(e);
                let ex = Exception::internal(&e);
                self.fatal = Some(e);
                Err(ex)
            }
        }
    }

    fn put(&mut self, tree: TreeId, key: Vec<u8>, value: Vec<u8>) {
        self.overlay[tree as usize].insert(key, Some(IVec::from(value)));
    }

    fn remove(&mut self, tree: TreeId, key: Vec<u8>) {
        self.overlay[tree as usize].insert(key, None);
    }

    fn get_json<T: DeserializeOwned>(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<T>, Exception> {
        match self.get(tree, key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Exception::internal(format!("corrupt {} record: {e}", keys::TREE_NAMES[tree as usize]))),
        }
    }

    fn put_json<T: Serialize>(&mut self, tree: TreeId, key: Vec<u8>, value: &T) -> Result<(), Exception> {
        let bytes = serde_json::to_vec(value).map_err(Exception::internal)?;
        self.put(tree, key, bytes);
        Ok(())
    }

    fn next_counter(&mut self, key: &[u8]) -> Result<u32, Exception> {
        let current = self.get(TreeId::Meta, key)?.and_then(|v| keys::u32_of(&v)).unwrap_or(1);
        self.put(TreeId::Meta, key.to_vec(), (current + 1).to_be_bytes().to_vec());
        Ok(current)
    }

    // ---- catalog ----

    pub fn database(&mut self, id: &str) -> Result<Option<Database>, Exception> {
        self.get_json(TreeId::Catalog, &keys::database(id))
    }

    pub fn put_database(&mut self, db: &Database, event: EventDraft) -> Result<(), Exception> {
        self.put_json(TreeId::Catalog, keys::database(&db.id), db)?;
        self.emit(event).map(drop)
    }

    /// Remove a database record; its tables must be dropped by the caller in the same op.
    pub fn delete_database(&mut self, db: &Database, event: EventDraft) -> Result<(), Exception> {
        self.remove(TreeId::Catalog, keys::database(&db.id));
        self.emit(event).map(drop)
    }

    pub fn table(&mut self, db: &str, id: &str) -> Result<Option<Table>, Exception> {
        self.get_json(TreeId::Catalog, &keys::table(db, id))
    }

    pub fn put_table(&mut self, table: &Table, event: EventDraft) -> Result<(), Exception> {
        self.put_json(TreeId::Catalog, keys::table(&table.db, &table.id), table)?;
        self.emit(event).map(drop)
    }

    /// Drop a table. Its rows and index entries become unreachable at once
    /// (their internal id is never reused) and are purged in the background.
    pub fn delete_table(&mut self, table: &Table, event: EventDraft) -> Result<(), Exception> {
        self.remove(TreeId::Catalog, keys::table(&table.db, &table.id));
        let mut k = keys::meta::DROPPED_TID.to_vec();
        k.extend_from_slice(&table.tid.to_be_bytes());
        self.put(TreeId::Meta, k, Vec::new());
        for index in &table.indexes {
            self.mark_index_dropped(index.iid);
        }
        self.emit(event).map(drop)
    }

    /// Clear the dropped mark of a freshly built index as it is attached.
    pub fn unmark_index_dropped(&mut self, iid: u32) {
        let mut k = keys::meta::DROPPED_IID.to_vec();
        k.extend_from_slice(&iid.to_be_bytes());
        self.remove(TreeId::Meta, k);
    }

    /// Record that an index's entries are to be purged (after dropping it from its table).
    pub fn mark_index_dropped(&mut self, iid: u32) {
        let mut k = keys::meta::DROPPED_IID.to_vec();
        k.extend_from_slice(&iid.to_be_bytes());
        self.put(TreeId::Meta, k, Vec::new());
    }

    /// A fresh internal table id.
    pub fn alloc_tid(&mut self) -> Result<u32, Exception> {
        self.next_counter(keys::meta::NEXT_TID)
    }

    /// A fresh internal index id (for indexes on tables that have no rows yet).
    pub fn alloc_iid(&mut self) -> Result<u32, Exception> {
        self.next_counter(keys::meta::NEXT_IID)
    }

    // ---- rows ----

    pub fn row(&mut self, table: &Table, id: &str) -> Result<Option<Row>, Exception> {
        let Some(seq) = self.get(TreeId::RowIds, &keys::row_id(table.tid, id))? else {
            return Ok(None);
        };
        let seq = keys::u64_of(&seq).ok_or_else(|| Exception::internal("corrupt row id entry"))?;
        match self.get(TreeId::Rows, &keys::row(table.tid, seq))? {
            None => Err(Exception::internal(format!("row id {id} points at missing row {seq}"))),
            Some(bytes) => Row::decode(seq, &bytes).map(Some).map_err(Exception::internal),
        }
    }

    /// Insert a new row. Its `seq` and `version` must be [`next_seq`](Self::next_seq),
    /// the sequence number `event` is about to get.
    pub fn insert_row(&mut self, table: &Table, row: &Row, event: EventDraft) -> Result<(), Exception> {
        if row.seq != self.next_seq || row.version != self.next_seq {
            return Err(Exception::internal("insert_row: row seq must be the create event's seq"));
        }
        if self.get(TreeId::RowIds, &keys::row_id(table.tid, &row.id))?.is_some() {
            return Err(Exception::with_id(ErrorType::RowAlreadyExists, &row.id));
        }
        let bytes = row.encode();
        row::check_size(&bytes)?;
        self.update_indexes(table, None, Some(row))?;
        self.put(TreeId::Rows, keys::row(table.tid, row.seq).to_vec(), bytes);
        self.put(TreeId::RowIds, keys::row_id(table.tid, &row.id), row.seq.to_be_bytes().to_vec());
        self.emit(event).map(drop)
    }

    /// Replace a row's content (same id and seq). `new.version` must be
    /// [`next_seq`](Self::next_seq).
    pub fn replace_row(&mut self, table: &Table, old: &Row, new: &Row, event: EventDraft) -> Result<(), Exception> {
        if new.seq != old.seq || new.id != old.id || new.version != self.next_seq {
            return Err(Exception::internal("replace_row: id/seq changed or version is not the event's seq"));
        }
        let bytes = new.encode();
        row::check_size(&bytes)?;
        self.update_indexes(table, Some(old), Some(new))?;
        self.put(TreeId::Rows, keys::row(table.tid, new.seq).to_vec(), bytes);
        self.emit(event).map(drop)
    }

    pub fn delete_row(&mut self, table: &Table, old: &Row, event: EventDraft) -> Result<(), Exception> {
        self.update_indexes(table, Some(old), None)?;
        self.remove(TreeId::Rows, keys::row(table.tid, old.seq).to_vec());
        self.remove(TreeId::RowIds, keys::row_id(table.tid, &old.id));
        self.emit(event).map(drop)
    }

    fn update_indexes(&mut self, table: &Table, old: Option<&Row>, new: Option<&Row>) -> Result<(), Exception> {
        for index in &table.indexes {
            let old_key = old.map(|r| index_key(table, index, r));
            let new_key = new.map(|r| index_key(table, index, r));
            if old_key == new_key {
                continue;
            }
            if let Some((k, _)) = old_key {
                self.remove(TreeId::Index, k);
            }
            if let (Some((k, unique)), Some(row)) = (new_key, new) {
                if unique && self.get(TreeId::Index, &k)?.is_some() {
                    return Err(Exception::new(ErrorType::RowUniqueConstraintViolation));
                }
                self.put(TreeId::Index, k, row.seq.to_be_bytes().to_vec());
            }
        }
        Ok(())
    }

    // ---- accounts ----

    pub fn auth<T: DeserializeOwned>(&mut self, key: &[u8]) -> Result<Option<T>, Exception> {
        self.get_json(TreeId::Auth, key)
    }

    pub fn auth_exists(&mut self, key: &[u8]) -> Result<bool, Exception> {
        Ok(self.get(TreeId::Auth, key)?.is_some())
    }

    /// Write an account record. The operation must also emit the event that
    /// explains it, or it is refused when it ends.
    pub fn put_auth<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> Result<(), Exception> {
        self.put_json(TreeId::Auth, key, value)
    }

    /// Write an account index entry (no value).
    pub fn put_auth_marker(&mut self, key: Vec<u8>) {
        self.put(TreeId::Auth, key, Vec::new());
    }

    pub fn remove_auth(&mut self, key: Vec<u8>) {
        self.remove(TreeId::Auth, key);
    }

    // ---- functions, deployments, executions ----

    pub fn record<T: DeserializeOwned>(&mut self, key: &[u8]) -> Result<Option<T>, Exception> {
        self.get_json(TreeId::Functions, key)
    }

    /// Write a function-tree record. The operation must also emit the event
    /// that explains it, or it is refused when it ends.
    pub fn put_record<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> Result<(), Exception> {
        self.put_json(TreeId::Functions, key, value)
    }

    pub fn put_record_marker(&mut self, key: Vec<u8>) {
        self.put(TreeId::Functions, key, Vec::new());
    }

    pub fn remove_record(&mut self, key: Vec<u8>) {
        self.remove(TreeId::Functions, key);
    }

    // ---- staged transactions and keys: bookkeeping, not data, so no events ----

    pub fn txn<T: DeserializeOwned>(&mut self, id: &str) -> Result<Option<T>, Exception> {
        self.get_json(TreeId::Txns, id.as_bytes())
    }

    pub fn put_txn<T: Serialize>(&mut self, id: &str, value: &T) -> Result<(), Exception> {
        self.put_json(TreeId::Txns, id.as_bytes().to_vec(), value)
    }

    pub fn remove_txn(&mut self, id: &str) {
        self.remove(TreeId::Txns, id.as_bytes().to_vec());
    }

    pub fn meta(&mut self, key: &[u8]) -> Result<Option<IVec>, Exception> {
        self.get(TreeId::Meta, key)
    }

    pub fn put_meta(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.put(TreeId::Meta, key, value);
    }

    pub fn remove_meta(&mut self, key: Vec<u8>) {
        self.remove(TreeId::Meta, key);
    }
}

/// The index key of a row: `<iid><encoded values>`, plus `<seq>` unless the
/// index is unique and every value is non-null (nulls never collide, as in SQL).
/// Returns the key and whether it must be unique.
pub fn index_key(table: &Table, index: &crate::model::catalog::Index, row: &Row) -> (Vec<u8>, bool) {
    let mut k = Vec::with_capacity(32);
    k.extend_from_slice(&index.iid.to_be_bytes());
    let mut has_null = false;
    for col in &index.columns {
        let value = row.attribute(table, col);
        has_null |= value.is_null();
        let ty = table.attribute_type(col).map(|(t, _)| t).unwrap_or(crate::model::column::ColumnType::String);
        codec::encode(&value, ty, &mut k);
    }
    let unique = index.ty == IndexType::Unique && !has_null;
    if !unique {
        k.extend_from_slice(&row.seq.to_be_bytes());
    }
    (k, unique)
}
