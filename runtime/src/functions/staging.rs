//! An execution's view of the tables: its own writes, staged, over the store.
//!
//! Nothing a function writes reaches the store while it runs. Each write is
//! checked at once (so the function gets errors where it makes them) and
//! recorded as a staged operation, the same kind an Appwrite transaction
//! stages; reads replay the staged operations over the stored rows, so the
//! function sees its own writes. Every row the function reads or writes is
//! marked with the version it had, and every list it reads is remembered, so
//! the commit can prove nothing it depended on changed meanwhile (optimistic
//! concurrency control; see `db::ops::functions::finish`).

use std::sync::Arc;

use serde_json::{Map, Number, Value};

use crate::auth::Identity;
use crate::db::catalog::Catalog;
use crate::db::ops::{
    self,
    txn::{self, Mark, StagedOp},
};
use crate::db::read::{self, Access, Page};
use crate::model::catalog::{Flavor, Table};
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::model::query;
use crate::model::row::Row;
use crate::store::Store;

/// Most operations one execution may stage.
pub const MAX_OPERATIONS: usize = 1000;

/// A list the function read, to be checked again at commit.
#[derive(Debug, Clone)]
pub struct ListRead {
    pub db: String,
    pub table: String,
    pub queries: Vec<String>,
    /// How many staged operations preceded the read.
    pub ops_before: usize,
    /// What it returned: row ids and versions.
    pub result: Vec<(String, u64)>,
    pub total: u64,
}

pub struct Staging {
    store: Arc<Store>,
    catalog: Arc<crate::db::catalog::Catalog>,
    pub who: Identity,
    pub ops: Vec<StagedOp>,
    pub marks: Vec<Mark>,
    pub lists: Vec<ListRead>,
}

impl Staging {
    pub fn new(store: Arc<Store>, catalog: Arc<Catalog>, who: Identity) -> Staging {
        Staging { store, catalog, who, ops: Vec::new(), marks: Vec::new(), lists: Vec::new() }
    }

    /// Move the staged writes and reads out, leaving an empty staging on the
    /// same store, catalog and identity in their place.
    pub fn take(&mut self) -> Staging {
        let empty = Staging::new(self.store.clone(), self.catalog.clone(), self.who.clone());
        std::mem::replace(self, empty)
    }

    fn table(&self, db: &str, table: &str) -> Result<Arc<Table>, Exception> {
        ops::find_table(&self.catalog, &self.who, db, table).map(|(_, t)| t.clone())
    }

    /// Remember the stored version of a row the first time the execution touches it.
    fn mark(&mut self, db: &str, t: &Table, row_id: &str) -> Result<(), Exception> {
        if self.marks.iter().any(|m| m.db == db && m.table == t.id && m.row_id == row_id) {
            return Ok(());
        }
        let version = self.store.row(t.tid, row_id)?.map(|r| r.version);
        self.marks.push(Mark { db: db.to_owned(), table: t.id.clone(), row_id: row_id.to_owned(), version });
        Ok(())
    }

    fn model(row: &Row, t: &Table) -> String {
        serde_json::to_string(&row.model(t, Flavor::Tables, None)).unwrap_or_default()
    }

    /// The row as this execution sees it.
    pub fn get_row(&mut self, db: &str, table: &str, row_id: &str) -> Result<Option<String>, Exception> {
        let t = self.table(db, table)?;
        self.mark(db, &t, row_id)?;
        let view = txn::overlay(&self.store, &t, &self.who, &self.ops)?;
        let row = match view.get(row_id) {
            Some(r) => r.clone(),
            None => self.store.row(t.tid, row_id)?,
        };
        Ok(row.map(|r| Self::model(&r, &t)))
    }

    /// A list as this execution sees it: `{"total": n, "rows": [...]}`.
    pub fn list_rows(&mut self, db: &str, table: &str, queries: &[String]) -> Result<String, Exception> {
        let t = self.table(db, table)?;
        let q = query::list_query(queries, t.as_ref())?;
        let page = self.list(&t, &q, self.ops.len())?;
        self.lists.push(ListRead {
            db: db.to_owned(),
            table: table.to_owned(),
            queries: queries.to_vec(),
            ops_before: self.ops.len(),
            result: page.rows.iter().map(|r| (r.id.clone(), r.version)).collect(),
            total: page.total,
        });
        let body =
            crate::http::rows::list_body(page.total, "rows", &page.rows, &t, Flavor::Tables, q.select.as_deref());
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    fn list(&self, t: &Table, q: &query::ListQuery, ops_before: usize) -> Result<Page, Exception> {
        let ops = &self.ops[..ops_before];
        if ops.iter().any(|o| o.target() == (t.db.as_str(), t.id.as_str())) {
            txn::list_with(&self.store, t, &self.who, ops, q, Access::All, true)
        } else {
            read::list(&self.store, t, q, Access::All, true).map(|(p, _)| p)
        }
    }

    /// Whether the lists this execution read would still read the same (run
    /// where nothing else writes, just before commit).
    pub fn lists_unchanged(&self) -> Result<bool, Exception> {
        for l in &self.lists {
            let Ok(t) = self.table(&l.db, &l.table) else { return Ok(false) };
            let q = query::list_query(&l.queries, t.as_ref())?;
            let page = self.list(&t, &q, l.ops_before)?;
            let now: Vec<(String, u64)> = page.rows.iter().map(|r| (r.id.clone(), r.version)).collect();
            if now != l.result || page.total != l.total {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Stage a write after checking it against the execution's view; returns the row as written.
    fn stage(&mut self, op: StagedOp) -> Result<Option<String>, Exception> {
        if self.ops.len() >= MAX_OPERATIONS {
            return Err(Exception::msg(
                ErrorType::TransactionLimitExceeded,
                format!("An execution may stage at most {MAX_OPERATIONS} writes."),
            ));
        }
        let (db, table) = op.target();
        let (db, table) = (db.to_owned(), table.to_owned());
        let t = self.table(&db, &table)?;
        let row_id = match &op {
            StagedOp::Create { row_id, .. }
            | StagedOp::Update { row_id, .. }
            | StagedOp::Upsert { row_id, .. }
            | StagedOp::Delete { row_id, .. }
            | StagedOp::Step { row_id, .. } => row_id.clone(),
            _ => return Err(Exception::internal("bulk operations are not staged by functions")),
        };
        self.mark(&db, &t, &row_id)?;
        let mut all = self.ops.clone();
        all.push(op);
        let view = txn::overlay(&self.store, &t, &self.who, &all)?;
        self.ops = all;
        Ok(view.get(&row_id).cloned().flatten().map(|r| Self::model(&r, &t)))
    }

    pub fn create_row(
        &mut self,
        db: &str,
        table: &str,
        row_id: &str,
        data: Map<String, Value>,
        permissions: Option<Vec<String>>,
    ) -> Result<String, Exception> {
        let row_id = id::resolve("rowId", row_id)?;
        let op = StagedOp::Create { db: db.into(), table: table.into(), row_id, data, permissions };
        self.stage(op)?.ok_or_else(|| Exception::internal("staged create has no row"))
    }

    pub fn update_row(
        &mut self,
        db: &str,
        table: &str,
        row_id: &str,
        data: Map<String, Value>,
        permissions: Option<Vec<String>>,
    ) -> Result<String, Exception> {
        let op = StagedOp::Update { db: db.into(), table: table.into(), row_id: row_id.into(), data, permissions };
        self.stage(op)?.ok_or_else(|| Exception::internal("staged update has no row"))
    }

    pub fn upsert_row(
        &mut self,
        db: &str,
        table: &str,
        row_id: &str,
        data: Map<String, Value>,
        permissions: Option<Vec<String>>,
    ) -> Result<String, Exception> {
        let row_id = id::resolve("rowId", row_id)?;
        let op = StagedOp::Upsert { db: db.into(), table: table.into(), row_id, data, permissions };
        self.stage(op)?.ok_or_else(|| Exception::internal("staged upsert has no row"))
    }

    pub fn delete_row(&mut self, db: &str, table: &str, row_id: &str) -> Result<(), Exception> {
        self.stage(StagedOp::Delete { db: db.into(), table: table.into(), row_id: row_id.into() }).map(drop)
    }

    /// Increment (or, with `decrement`, decrement) a numeric column by `by`, bounded by `limit`.
    pub fn step(
        &mut self,
        target: (&str, &str, &str),
        column: &str,
        by: f64,
        limit: Option<f64>,
        decrement: bool,
    ) -> Result<String, Exception> {
        let (db, table, row_id) = target;
        let num = |v: f64| -> Result<Number, Exception> {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(Number::from(v as i64))
            } else {
                Number::from_f64(v).ok_or_else(|| Exception::invalid_param("value", "Value must be a finite number"))
            }
        };
        let op = StagedOp::Step {
            db: db.into(),
            table: table.into(),
            row_id: row_id.into(),
            column: column.into(),
            by: num(by)?,
            limit: limit.map(num).transpose()?,
            decrement,
        };
        self.stage(op)?.ok_or_else(|| Exception::internal("staged increment has no row"))
    }
}
