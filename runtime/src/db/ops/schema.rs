//! Schema changes: databases, tables, columns and indexes.
//!
//! All of them are exclusive writer operations (see `db::writer`), so a
//! batch of row writes always sees one consistent schema, and the catalog is
//! reloaded right after. Each bumps the table's `version`. Their events carry
//! no read roles: as in Appwrite, schema events reach triggers, not clients.

use serde_json::{Map, Value};

use crate::auth::Identity;
use crate::db::catalog::Catalog;
use crate::model::catalog::{Database, DbKind, Index, IndexStatus, IndexType, MAX_INDEXES, Table};
use crate::model::column::{Column, ColumnType, MAX_COLUMNS};
use crate::model::event::{self, Action, EventDraft, Resource};
use crate::model::exception::{ErrorType, Exception};
use crate::model::permission::{self, Action as Perm};
use crate::model::row::Row;
use crate::store::{Store, WriteTx};

fn actor(who: &Identity) -> Option<String> {
    who.user_id().map(str::to_owned)
}

fn db_event(db: &Database, action: Action, who: &Identity) -> EventDraft {
    EventDraft::new(Resource::Database { db: db.id.clone() }, action, event::raw(&db.to_model()))
        .db_kind(db.kind)
        .actor(actor(who))
}

fn table_event(kind: DbKind, t: &Table, action: Action, who: &Identity) -> EventDraft {
    let model = t.to_model(crate::model::catalog::Flavor::Tables);
    EventDraft::new(Resource::Table { db: t.db.clone(), table: t.id.clone() }, action, event::raw(&model))
        .db_kind(kind)
        .actor(actor(who))
}

fn database_of(tx: &mut WriteTx<'_>, id: &str) -> Result<Database, Exception> {
    tx.database(id)?.ok_or_else(|| Exception::with_id(ErrorType::DatabaseNotFound, id))
}

fn table_of(tx: &mut WriteTx<'_>, db: &str, id: &str) -> Result<(Database, Table), Exception> {
    let d = database_of(tx, db)?;
    let t = tx.table(db, id)?.ok_or_else(|| Exception::with_id(ErrorType::TableNotFound, id))?;
    Ok((d, t))
}

// ---- databases ----

pub fn create_database(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    id: &str,
    name: &str,
    enabled: bool,
    kind: DbKind,
) -> Result<Database, Exception> {
    if tx.database(id)?.is_some() {
        return Err(Exception::with_id(ErrorType::DatabaseAlreadyExists, id));
    }
    let now = tx.now();
    let db = Database { id: id.to_owned(), name: name.to_owned(), enabled, kind, created: now, updated: now };
    tx.put_database(&db, db_event(&db, Action::Create, who))?;
    Ok(db)
}

pub fn update_database(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    id: &str,
    name: Option<&str>,
    enabled: Option<bool>,
) -> Result<Database, Exception> {
    let mut db = database_of(tx, id)?;
    if let Some(n) = name {
        db.name = n.to_owned();
    }
    if let Some(e) = enabled {
        db.enabled = e;
    }
    db.updated = tx.now();
    tx.put_database(&db, db_event(&db, Action::Update, who))?;
    Ok(db)
}

/// Drop a database and every table in it (their rows are purged in the background).
pub fn delete_database(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    id: &str,
) -> Result<Database, Exception> {
    let db = database_of(tx, id)?;
    for t in catalog.tables(id) {
        tx.delete_table(t, table_event(db.kind, t, Action::Delete, who))?;
    }
    tx.delete_database(&db, db_event(&db, Action::Delete, who))?;
    Ok(db)
}

// ---- tables ----

pub struct TableSpec<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub permissions: &'a [String],
    pub row_security: bool,
    pub enabled: bool,
    /// Columns created with the table (Appwrite 1.9's inline `columns`).
    pub columns: &'a [(ColumnType, Map<String, Value>)],
    /// Indexes created with the table (inline `indexes`).
    pub indexes: &'a [IndexSpec],
}

const TABLE_PERMS: [Perm; 4] = [Perm::Create, Perm::Read, Perm::Update, Perm::Delete];

pub fn create_table(tx: &mut WriteTx<'_>, who: &Identity, db: &str, spec: TableSpec<'_>) -> Result<Table, Exception> {
    let d = database_of(tx, db)?;
    if tx.table(db, spec.id)?.is_some() {
        return Err(Exception::with_id(ErrorType::TableAlreadyExists, spec.id));
    }
    let permissions = permission::normalize(spec.permissions, &TABLE_PERMS)?;
    let now = tx.now();
    let mut t = Table {
        id: spec.id.to_owned(),
        db: db.to_owned(),
        name: spec.name.to_owned(),
        permissions,
        row_security: spec.row_security,
        enabled: spec.enabled,
        columns: Vec::new(),
        indexes: Vec::new(),
        tid: tx.alloc_tid()?,
        version: 1,
        created: now,
        updated: now,
    };
    for (ty, body) in spec.columns {
        let col = Column::from_request(*ty, body, now)?;
        if t.column(&col.key).is_some() {
            return Err(Exception::with_id(ErrorType::ColumnAlreadyExists, &col.key));
        }
        if t.columns.len() >= MAX_COLUMNS {
            return Err(Exception::with_id(ErrorType::ColumnLimitExceeded, &t.id));
        }
        t.columns.push(col);
    }
    for ix in spec.indexes {
        if t.index(&ix.key).is_some() {
            return Err(Exception::with_id(ErrorType::IndexAlreadyExists, &ix.key));
        }
        if t.indexes.len() >= MAX_INDEXES {
            return Err(Exception::with_id(ErrorType::ColumnIndexInvalid, &ix.key));
        }
        let index = Index {
            key: ix.key.clone(),
            ty: ix.ty,
            columns: ix.columns.clone(),
            orders: ix.orders.clone(),
            iid: tx.alloc_iid()?,
            status: IndexStatus::Available,
            created: now,
            updated: now,
        };
        t.check_index(&index)?;
        t.indexes.push(index);
    }
    tx.put_table(&t, table_event(d.kind, &t, Action::Create, who))?;
    Ok(t)
}

pub struct TableChange<'a> {
    pub name: Option<&'a str>,
    pub permissions: Option<&'a [String]>,
    pub row_security: Option<bool>,
    pub enabled: Option<bool>,
}

pub fn update_table(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    db: &str,
    id: &str,
    change: TableChange<'_>,
) -> Result<Table, Exception> {
    let (d, mut t) = table_of(tx, db, id)?;
    if let Some(n) = change.name {
        t.name = n.to_owned();
    }
    if let Some(p) = change.permissions {
        t.permissions = permission::normalize(p, &TABLE_PERMS)?;
    }
    if let Some(r) = change.row_security {
        t.row_security = r;
    }
    if let Some(e) = change.enabled {
        t.enabled = e;
    }
    t.version += 1;
    t.updated = tx.now();
    tx.put_table(&t, table_event(d.kind, &t, Action::Update, who))?;
    Ok(t)
}

pub fn delete_table(tx: &mut WriteTx<'_>, who: &Identity, db: &str, id: &str) -> Result<Table, Exception> {
    let (d, t) = table_of(tx, db, id)?;
    tx.delete_table(&t, table_event(d.kind, &t, Action::Delete, who))?;
    Ok(t)
}

// ---- columns ----

fn column_event(kind: DbKind, t: &Table, col: &Column, action: Action, who: &Identity) -> EventDraft {
    EventDraft::new(
        Resource::Column { db: t.db.clone(), table: t.id.clone(), column: col.key.clone() },
        action,
        event::raw(&col.to_model()),
    )
    .db_kind(kind)
    .actor(actor(who))
}

pub fn create_column(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    db: &str,
    table: &str,
    ty: ColumnType,
    body: &Map<String, Value>,
) -> Result<Column, Exception> {
    let (d, mut t) = table_of(tx, db, table)?;
    let col = Column::from_request(ty, body, tx.now())?;
    if t.column(&col.key).is_some() {
        return Err(Exception::with_id(ErrorType::ColumnAlreadyExists, &col.key));
    }
    if t.columns.len() >= MAX_COLUMNS {
        return Err(Exception::with_id(ErrorType::ColumnLimitExceeded, &t.id));
    }
    t.columns.push(col.clone());
    t.version += 1;
    t.updated = tx.now();
    tx.put_table(&t, column_event(d.kind, &t, &col, Action::Create, who))?;
    Ok(col)
}

pub fn update_column(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    db: &str,
    table: &str,
    key: &str,
    ty: ColumnType,
    body: &Map<String, Value>,
) -> Result<Column, Exception> {
    let (d, mut t) = table_of(tx, db, table)?;
    let pos = t
        .columns
        .iter()
        .position(|c| c.key == key)
        .ok_or_else(|| Exception::with_id(ErrorType::ColumnNotFound, key))?;
    if t.columns[pos].ty != ty {
        return Err(Exception::with_id(ErrorType::ColumnTypeInvalid, key));
    }
    let col = t.columns[pos].update_from_request(body, tx.now())?;
    t.columns[pos] = col.clone();
    t.version += 1;
    t.updated = tx.now();
    tx.put_table(&t, column_event(d.kind, &t, &col, Action::Update, who))?;
    Ok(col)
}

pub fn delete_column(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    db: &str,
    table: &str,
    key: &str,
) -> Result<Column, Exception> {
    let (d, mut t) = table_of(tx, db, table)?;
    let pos = t
        .columns
        .iter()
        .position(|c| c.key == key)
        .ok_or_else(|| Exception::with_id(ErrorType::ColumnNotFound, key))?;
    if t.indexes.iter().any(|i| i.columns.iter().any(|c| c == key)) {
        return Err(Exception::with_id(ErrorType::ColumnIndexDependency, key));
    }
    let col = t.columns.remove(pos);
    t.version += 1;
    t.updated = tx.now();
    tx.put_table(&t, column_event(d.kind, &t, &col, Action::Delete, who))?;
    Ok(col)
}

// ---- indexes ----

fn index_event(kind: DbKind, t: &Table, index: &Index, action: Action, who: &Identity) -> EventDraft {
    EventDraft::new(
        Resource::Index { db: t.db.clone(), table: t.id.clone(), index: index.key.clone() },
        action,
        event::raw(&index.to_model(crate::model::catalog::Flavor::Tables)),
    )
    .db_kind(kind)
    .actor(actor(who))
}

pub struct IndexSpec {
    pub key: String,
    pub ty: IndexType,
    pub columns: Vec<String>,
    pub orders: Vec<String>,
}

/// First phase of index creation, on the writer thread outside any
/// transaction: allocate the index id (marked dropped, so a crash before the
/// second phase leaves only purgeable garbage) and write an entry for every
/// existing row, checking uniqueness.
pub fn prepare_index(
    store: &Store,
    catalog: &Catalog,
    db: &str,
    table: &str,
    spec: &IndexSpec,
) -> Result<Index, Exception> {
    let t = catalog.table(db, table).ok_or_else(|| Exception::with_id(ErrorType::TableNotFound, table))?;
    if t.index(&spec.key).is_some() {
        return Err(Exception::with_id(ErrorType::IndexAlreadyExists, &spec.key));
    }
    if t.indexes.len() >= MAX_INDEXES {
        return Err(Exception::with_id(ErrorType::ColumnIndexInvalid, &spec.key));
    }
    let iid = store.allocate_index_id()?;
    let now = crate::model::time::now_ms();
    let index = Index {
        key: spec.key.clone(),
        ty: spec.ty,
        columns: spec.columns.clone(),
        orders: spec.orders.clone(),
        iid,
        status: IndexStatus::Available,
        created: now,
        updated: now,
    };
    t.check_index(&index)?;
    let rows = store.scan_rows(t.tid, None, false).map(|r| r.map_err(Exception::from));
    store.backfill_index(t, &index, rows)?;
    Ok(index)
}

/// Second phase: attach the built index to the table.
pub fn attach_index(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    db: &str,
    table: &str,
    index: &Index,
) -> Result<Index, Exception> {
    let (d, mut t) = table_of(tx, db, table)?;
    if t.index(&index.key).is_some() {
        return Err(Exception::with_id(ErrorType::IndexAlreadyExists, &index.key));
    }
    let mut index = index.clone();
    index.created = tx.now();
    index.updated = tx.now();
    t.indexes.push(index.clone());
    t.version += 1;
    t.updated = tx.now();
    tx.unmark_index_dropped(index.iid);
    tx.put_table(&t, index_event(d.kind, &t, &index, Action::Create, who))?;
    Ok(index)
}

pub fn delete_index(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    db: &str,
    table: &str,
    key: &str,
) -> Result<Index, Exception> {
    let (d, mut t) = table_of(tx, db, table)?;
    let pos =
        t.indexes.iter().position(|i| i.key == key).ok_or_else(|| Exception::with_id(ErrorType::IndexNotFound, key))?;
    let index = t.indexes.remove(pos);
    t.version += 1;
    t.updated = tx.now();
    tx.mark_index_dropped(index.iid);
    tx.put_table(&t, index_event(d.kind, &t, &index, Action::Delete, who))?;
    Ok(index)
}

/// Rows of a table are never read here; keep the type in scope for docs.
#[allow(dead_code)]
type _RowDoc = Row;
