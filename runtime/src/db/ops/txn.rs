//! Appwrite transactions (`/v1/tablesdb/transactions`): row operations staged
//! one by one, then committed together, atomically, with their events, or not
//! at all.
//!
//! Staging records each operation and the version of every row it touches
//! (a *mark*). Commit replays the operations in order inside one writer
//! operation, after checking that no marked row changed since it was staged;
//! if one did, the commit fails with `transaction_conflict` and nothing is
//! written. Events are emitted only at commit, one per changed row (also for
//! bulk operations, unlike Appwrite: every change in Arcade has its event).
//!
//! Reads with a `transactionId` see the staged writes: [`overlay`] replays the
//! staged operations on the stored rows without writing anything. The same
//! replay validates new operations when they are staged, so a bad operation is
//! rejected at once instead of failing the commit.
//!
//! Limitation: bulk update/delete by query match the rows as committed when
//! the transaction commits (not rows created earlier in the same transaction),
//! and their rows are not marked.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value, json};

use super::bulk;
use super::rows::{self, NewRow, Patch, Step};
use crate::auth::Identity;
use crate::db::catalog::Catalog;
use crate::db::read::{self, Access};
use crate::model::catalog::Table;
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::model::query::{self, Query};
use crate::model::row::{self as row_model, Row};
use crate::model::time::{self, Millis};
use crate::store::{Store, WriteTx};

/// Most operations one transaction may hold (Appwrite's self-hosted default).
pub const MAX_OPERATIONS: usize = 100;
/// Lifetime of a transaction, in seconds.
pub const DEFAULT_TTL: i64 = 300;
pub const MIN_TTL: i64 = 60;
pub const MAX_TTL: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Committed,
    RolledBack,
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Committed => "committed",
            Status::RolledBack => "rolled_back",
            Status::Failed => "failed",
        }
    }
}

/// One staged operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum StagedOp {
    Create {
        db: String,
        table: String,
        row_id: String,
        data: Map<String, Value>,
        permissions: Option<Vec<String>>,
    },
    Update {
        db: String,
        table: String,
        row_id: String,
        data: Map<String, Value>,
        permissions: Option<Vec<String>>,
    },
    Upsert {
        db: String,
        table: String,
        row_id: String,
        data: Map<String, Value>,
        permissions: Option<Vec<String>>,
    },
    Delete {
        db: String,
        table: String,
        row_id: String,
    },
    Step {
        db: String,
        table: String,
        row_id: String,
        column: String,
        by: Number,
        limit: Option<Number>,
        decrement: bool,
    },
    BulkCreate {
        db: String,
        table: String,
        rows: Vec<Map<String, Value>>,
    },
    BulkUpsert {
        db: String,
        table: String,
        rows: Vec<Map<String, Value>>,
    },
    BulkUpdate {
        db: String,
        table: String,
        queries: Vec<String>,
        data: Map<String, Value>,
    },
    BulkDelete {
        db: String,
        table: String,
        queries: Vec<String>,
    },
}

impl StagedOp {
    pub fn target(&self) -> (&str, &str) {
        match self {
            StagedOp::Create { db, table, .. }
            | StagedOp::Update { db, table, .. }
            | StagedOp::Upsert { db, table, .. }
            | StagedOp::Delete { db, table, .. }
            | StagedOp::Step { db, table, .. }
            | StagedOp::BulkCreate { db, table, .. }
            | StagedOp::BulkUpsert { db, table, .. }
            | StagedOp::BulkUpdate { db, table, .. }
            | StagedOp::BulkDelete { db, table, .. } => (db, table),
        }
    }

    /// The rows this operation names by id.
    fn row_ids(&self) -> Vec<String> {
        match self {
            StagedOp::Create { row_id, .. }
            | StagedOp::Update { row_id, .. }
            | StagedOp::Upsert { row_id, .. }
            | StagedOp::Delete { row_id, .. }
            | StagedOp::Step { row_id, .. } => vec![row_id.clone()],
            StagedOp::BulkCreate { rows, .. } | StagedOp::BulkUpsert { rows, .. } => {
                rows.iter().filter_map(|r| r.get("$id").and_then(Value::as_str).map(str::to_owned)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The response Appwrite gives when an operation is staged: the row as
    /// it will be (or, for a delete, nothing).
    pub fn staged_model(&self, table_key: &str) -> Value {
        match self {
            StagedOp::Create { db, table, row_id, data, permissions }
            | StagedOp::Update { db, table, row_id, data, permissions }
            | StagedOp::Upsert { db, table, row_id, data, permissions } => {
                let mut m = Map::new();
                m.insert("$id".into(), json!(row_id));
                m.insert(table_key.into(), json!(table));
                m.insert("$databaseId".into(), json!(db));
                if let Some(p) = permissions {
                    m.insert("$permissions".into(), json!(p));
                }
                m.extend(data.clone());
                Value::Object(m)
            }
            StagedOp::Step { db, table, row_id, column, by, .. } => {
                json!({ "$id": row_id, (table_key): table, "$databaseId": db, (column.as_str()): by })
            }
            _ => json!({}),
        }
    }
}

/// The version a row had when an operation of the transaction first named it (None: absent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mark {
    pub db: String,
    pub table: String,
    pub row_id: String,
    pub version: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    pub id: String,
    pub status: Status,
    /// The user who created it (None: an API key); only they may use it.
    pub owner: Option<String>,
    pub operations: Vec<StagedOp>,
    pub marks: Vec<Mark>,
    pub created: Millis,
    pub updated: Millis,
    pub expires: Millis,
}

impl Transaction {
    pub fn to_model(&self) -> Value {
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "status": self.status.as_str(),
            "operations": self.operations.len(),
            "expiresAt": time::format(self.expires),
        })
    }

    /// Whether `who` may see and use this transaction.
    pub fn usable_by(&self, who: &Identity) -> bool {
        who.is_key() || (self.owner.is_some() && self.owner.as_deref() == who.user_id())
    }

    fn check_open(&self, now: Millis) -> Result<(), Exception> {
        if self.status != Status::Pending {
            return Err(Exception::new(ErrorType::TransactionInvalid));
        }
        if now > self.expires {
            return Err(Exception::new(ErrorType::TransactionExpired));
        }
        Ok(())
    }
}

pub fn load(store: &Store, who: &Identity, id: &str) -> Result<Transaction, Exception> {
    store
        .txn::<Transaction>(id)?
        .filter(|t| t.usable_by(who))
        .ok_or_else(|| Exception::with_id(ErrorType::TransactionNotFound, id))
}

fn load_tx(tx: &mut WriteTx<'_>, who: &Identity, id: &str) -> Result<Transaction, Exception> {
    tx.txn::<Transaction>(id)?
        .filter(|t| t.usable_by(who))
        .ok_or_else(|| Exception::with_id(ErrorType::TransactionNotFound, id))
}

pub fn create(tx: &mut WriteTx<'_>, who: &Identity, ttl: i64) -> Result<Transaction, Exception> {
    if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
        return Err(Exception::invalid_param(
            "ttl",
            format!("Value must be a valid range between {MIN_TTL} and {MAX_TTL}"),
        ));
    }
    let now = tx.now();
    let t = Transaction {
        id: id::unique(),
        status: Status::Pending,
        owner: if who.is_key() { None } else { who.user_id().map(str::to_owned) },
        operations: Vec::new(),
        marks: Vec::new(),
        created: now,
        updated: now,
        expires: now + ttl * 1000,
    };
    tx.put_txn(&t.id, &t)?;
    Ok(t)
}

/// Append operations (already validated with [`overlay`]) and their marks.
pub fn stage(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    id: &str,
    ops: &[StagedOp],
    marks: &[Mark],
) -> Result<Transaction, Exception> {
    let mut t = load_tx(tx, who, id)?;
    t.check_open(tx.now())?;
    if t.operations.len() + ops.len() > MAX_OPERATIONS {
        return Err(Exception::msg(
            ErrorType::TransactionLimitExceeded,
            format!(
                "Transaction already has {} operations, adding {} would exceed the maximum of {MAX_OPERATIONS}",
                t.operations.len(),
                ops.len()
            ),
        ));
    }
    for m in marks {
        if !t.marks.iter().any(|x| x.db == m.db && x.table == m.table && x.row_id == m.row_id) {
            t.marks.push(m.clone());
        }
    }
    t.operations.extend_from_slice(ops);
    t.updated = tx.now();
    tx.put_txn(&t.id, &t)?;
    Ok(t)
}

/// What commit needs prepared outside the transaction: the row ids each bulk
/// update/delete matches.
pub fn prepare_commit(
    store: &Store,
    catalog: &Catalog,
    who: &Identity,
    id: &str,
) -> Result<Vec<Option<Vec<String>>>, Exception> {
    let t = load(store, who, id)?;
    t.operations
        .iter()
        .map(|op| match op {
            StagedOp::BulkUpdate { db, table, queries, .. } | StagedOp::BulkDelete { db, table, queries } => {
                let (_, tbl) = super::find_table(catalog, who, db, table)?;
                let mut q = query::list_query(queries, tbl.as_ref())?;
                if !queries.iter().any(|raw| matches!(query::parse(raw), Ok(Query::Limit(_)))) {
                    q.limit = bulk::MAX_QUERY_ROWS + 1;
                }
                bulk::select_ids(
                    store,
                    catalog,
                    &Identity::Key { id: "transaction".into(), scopes: crate::auth::KeyScopes::All, actor: None },
                    db,
                    table,
                    &q,
                )
                .map(Some)
            }
            _ => Ok(None),
        })
        .collect()
}

/// Apply every staged operation, or fail with nothing written.
pub fn commit(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    id: &str,
    selected: &[Option<Vec<String>>],
) -> Result<Transaction, Exception> {
    let mut t = load_tx(tx, who, id)?;
    t.check_open(tx.now())?;
    for m in &t.marks {
        let (_, table) = super::find_table(catalog, who, &m.db, &m.table)?;
        let now = tx.row(table, &m.row_id)?.map(|r| r.version);
        if now != m.version {
            return Err(Exception::msg(
                ErrorType::TransactionConflict,
                format!("The transaction has a conflict: row '{}' changed after it was staged.", m.row_id),
            ));
        }
    }
    for (op, ids) in t.operations.iter().zip(selected.iter().chain(std::iter::repeat(&None))) {
        apply(tx, catalog, who, op, ids.as_deref())?;
    }
    t.status = Status::Committed;
    t.updated = tx.now();
    tx.put_txn(&t.id, &t)?;
    Ok(t)
}

/// Apply one single-row staged operation (bulk operations need `apply` with their selected ids).
pub fn apply_op(tx: &mut WriteTx<'_>, catalog: &Catalog, who: &Identity, op: &StagedOp) -> Result<(), Exception> {
    apply(tx, catalog, who, op, None)
}

fn apply(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    op: &StagedOp,
    ids: Option<&[String]>,
) -> Result<(), Exception> {
    match op {
        StagedOp::Create { db, table, row_id, data, permissions } => {
            rows::create(
                tx,
                catalog,
                who,
                db,
                table,
                NewRow { id: row_id, data, permissions: permissions.as_deref() },
            )?;
        }
        StagedOp::Update { db, table, row_id, data, permissions } => {
            rows::update(tx, catalog, who, db, table, row_id, Patch { data, permissions: permissions.as_deref() })?;
        }
        StagedOp::Upsert { db, table, row_id, data, permissions } => {
            rows::upsert(tx, catalog, who, db, table, row_id, Patch { data, permissions: permissions.as_deref() })?;
        }
        StagedOp::Delete { db, table, row_id } => {
            rows::delete(tx, catalog, who, db, table, row_id)?;
        }
        StagedOp::Step { db, table, row_id, column, by, limit, decrement } => {
            rows::increment(
                tx,
                catalog,
                who,
                db,
                table,
                row_id,
                Step { column, by, limit: limit.as_ref(), decrement: *decrement },
            )?;
        }
        StagedOp::BulkCreate { db, table, rows } => {
            bulk::create_rows(tx, catalog, who, db, table, rows)?;
        }
        StagedOp::BulkUpsert { db, table, rows } => {
            bulk::upsert_rows(tx, catalog, who, db, table, rows)?;
        }
        StagedOp::BulkUpdate { db, table, data, .. } => {
            bulk::update_rows(tx, catalog, who, db, table, ids.unwrap_or_default(), Patch { data, permissions: None })?;
        }
        StagedOp::BulkDelete { db, table, .. } => {
            bulk::delete_rows(tx, catalog, who, db, table, ids.unwrap_or_default())?;
        }
    }
    Ok(())
}

/// End a transaction without committing: `Failed` after a failed commit,
/// `RolledBack` on request.
pub fn finish(tx: &mut WriteTx<'_>, who: &Identity, id: &str, status: Status) -> Result<Transaction, Exception> {
    let mut t = load_tx(tx, who, id)?;
    if t.status != Status::Pending {
        return Err(Exception::new(ErrorType::TransactionInvalid));
    }
    t.status = status;
    t.updated = tx.now();
    tx.put_txn(&t.id, &t)?;
    Ok(t)
}

pub fn delete(tx: &mut WriteTx<'_>, who: &Identity, id: &str) -> Result<(), Exception> {
    load_tx(tx, who, id)?;
    tx.remove_txn(id);
    Ok(())
}

/// Marks for new operations: the current version of every row they name.
pub fn marks_for(store: &Store, catalog: &Catalog, who: &Identity, ops: &[StagedOp]) -> Result<Vec<Mark>, Exception> {
    let mut marks = Vec::new();
    for op in ops {
        let (db, table) = op.target();
        let (_, t) = super::find_table(catalog, who, db, table)?;
        for row_id in op.row_ids() {
            let version = store.row(t.tid, &row_id)?.map(|r| r.version);
            marks.push(Mark { db: db.to_owned(), table: table.to_owned(), row_id, version });
        }
    }
    Ok(marks)
}

/// The rows of `table` as the transaction would leave them: id → row (None: deleted).
/// Only rows the staged operations touch appear. Fails like the operations
/// would, so it doubles as validation when staging.
pub fn overlay(
    store: &Store,
    table: &Table,
    who: &Identity,
    ops: &[StagedOp],
) -> Result<HashMap<String, Option<Row>>, Exception> {
    let mut view: HashMap<String, Option<Row>> = HashMap::new();
    let now = time::now_ms();
    let mut fake_seq = u64::MAX - 1_000_000;
    let current = |view: &mut HashMap<String, Option<Row>>, id: &str| -> Result<Option<Row>, Exception> {
        match view.get(id) {
            Some(r) => Ok(r.clone()),
            None => Ok(store.row(table.tid, id)?),
        }
    };
    let mine = |op: &StagedOp| op.target() == (table.db.as_str(), table.id.as_str());
    for op in ops.iter().filter(|o| mine(o)) {
        match op {
            StagedOp::Create { row_id, data, permissions, .. } => {
                if current(&mut view, row_id)?.is_some() {
                    return Err(Exception::with_id(ErrorType::RowAlreadyExists, row_id));
                }
                fake_seq += 1;
                let row = new_virtual(table, who, row_id, data, permissions.as_deref(), fake_seq, now)?;
                view.insert(row_id.clone(), Some(row));
            }
            StagedOp::Update { row_id, data, permissions, .. } => {
                let old =
                    current(&mut view, row_id)?.ok_or_else(|| Exception::with_id(ErrorType::RowNotFound, row_id))?;
                let row = updated_virtual(table, who, &old, data, permissions.as_deref(), now)?;
                view.insert(row_id.clone(), Some(row));
            }
            StagedOp::Upsert { row_id, data, permissions, .. } => {
                let row = match current(&mut view, row_id)? {
                    Some(old) => updated_virtual(table, who, &old, data, permissions.as_deref(), now)?,
                    None => {
                        fake_seq += 1;
                        new_virtual(table, who, row_id, data, permissions.as_deref(), fake_seq, now)?
                    }
                };
                view.insert(row_id.clone(), Some(row));
            }
            StagedOp::Delete { row_id, .. } => {
                current(&mut view, row_id)?.ok_or_else(|| Exception::with_id(ErrorType::RowNotFound, row_id))?;
                view.insert(row_id.clone(), None);
            }
            StagedOp::Step { row_id, column, by, limit, decrement, .. } => {
                let old =
                    current(&mut view, row_id)?.ok_or_else(|| Exception::with_id(ErrorType::RowNotFound, row_id))?;
                let col = table.column(column).ok_or_else(|| Exception::with_id(ErrorType::ColumnNotFound, column))?;
                if !col.is_numeric() {
                    return Err(Exception::msg(
                        ErrorType::ColumnTypeInvalid,
                        format!("tablesDB \"{column}\" is not a number"),
                    ));
                }
                let step = Step { column, by, limit: limit.as_ref(), decrement: *decrement };
                let cur = old.attribute(table, column).into_owned();
                let next = rows::apply_step(&cur, &step, col.ty == crate::model::column::ColumnType::Integer)?;
                let mut row = old.clone();
                row.data.insert(column.clone(), next);
                row.updated = now;
                view.insert(row_id.clone(), Some(row));
            }
            StagedOp::BulkCreate { rows, .. } | StagedOp::BulkUpsert { rows, .. } => {
                bulk::require_key(who)?;
                bulk::check_batch(rows)?;
                let upsert = matches!(op, StagedOp::BulkUpsert { .. });
                for data in rows {
                    let row_id = match data.get("$id").and_then(Value::as_str) {
                        Some(s) => id::resolve("rows", s)?,
                        None => id::unique(),
                    };
                    let existing = current(&mut view, &row_id)?;
                    let row = match (existing, upsert) {
                        (Some(_), false) => {
                            return Err(Exception::with_id(ErrorType::RowAlreadyExists, &row_id));
                        }
                        (Some(old), true) => updated_virtual(table, who, &old, data, None, now)?,
                        (None, _) => {
                            fake_seq += 1;
                            new_virtual(table, who, &row_id, data, None, fake_seq, now)?
                        }
                    };
                    view.insert(row_id, Some(row));
                }
            }
            StagedOp::BulkUpdate { queries, data, .. } => {
                bulk::require_key(who)?;
                query::list_query(queries, table)?;
                row_model::check_update(table, &Map::new(), data)?;
            }
            StagedOp::BulkDelete { queries, .. } => {
                bulk::require_key(who)?;
                query::list_query(queries, table)?;
            }
        }
    }
    Ok(view)
}

fn new_virtual(
    table: &Table,
    who: &Identity,
    id: &str,
    data: &Map<String, Value>,
    permissions: Option<&[String]>,
    seq: u64,
    now: Millis,
) -> Result<Row, Exception> {
    Ok(Row {
        id: id.to_owned(),
        seq,
        version: 0,
        created: now,
        updated: now,
        permissions: super::new_row_permissions(permissions, who)?,
        data: row_model::check_create(table, data)?,
    })
}

fn updated_virtual(
    table: &Table,
    who: &Identity,
    old: &Row,
    data: &Map<String, Value>,
    permissions: Option<&[String]>,
    now: Millis,
) -> Result<Row, Exception> {
    let permissions = match permissions {
        Some(p) => {
            let p = crate::model::permission::normalize(
                p,
                &[
                    crate::model::permission::Action::Read,
                    crate::model::permission::Action::Update,
                    crate::model::permission::Action::Delete,
                ],
            )?;
            super::check_grantable(&p, who)?;
            p
        }
        None => old.permissions.clone(),
    };
    Ok(Row { updated: now, permissions, data: row_model::check_update(table, &old.data, data)?, ..old.clone() })
}

/// A list request inside a transaction: the stored rows with the staged
/// changes applied, then filtered, ordered and paged like any list.
pub fn list_with(
    store: &Store,
    table: &Table,
    who: &Identity,
    ops: &[StagedOp],
    q: &query::ListQuery,
    access: Access<'_>,
    count: bool,
) -> Result<read::Page, Exception> {
    let view = overlay(store, table, who, ops)?;
    let mut rows: Vec<Row> = Vec::new();
    for row in store.scan_rows(table.tid, None, false) {
        let row = row?;
        match view.get(&row.id) {
            Some(Some(changed)) => rows.push(changed.clone()),
            Some(None) => {}
            None => rows.push(row),
        }
    }
    for changed in view.values().flatten() {
        if !rows.iter().any(|r| r.id == changed.id) {
            rows.push(changed.clone());
        }
    }
    read::list_in_memory(table, rows, q, access, count)
}
