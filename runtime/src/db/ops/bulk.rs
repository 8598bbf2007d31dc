//! Bulk row writes (`createRows`, `upsertRows`, `updateRows`, `deleteRows`):
//! API keys only, as in Appwrite, and all-or-nothing: one failing row fails
//! the whole call and writes nothing. Unlike Appwrite, every row still gets
//! its own event, because every change in Arcade has one.
//!
//! Update and delete by query are exclusive writer operations: the matching
//! rows are found before the transaction with nothing else writing, then
//! changed inside it.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::rows::{self, NewRow, Patch, Written};
use crate::auth::Identity;
use crate::db::catalog::Catalog;
use crate::db::read::{self, Access};
use crate::model::catalog::Table;
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::model::query::ListQuery;
use crate::model::row::Row;
use crate::store::{Store, WriteTx};

/// Most rows one bulk create or upsert may carry (Appwrite's `APP_LIMIT_DATABASE_BATCH`).
pub const MAX_BATCH_ROWS: usize = 100;
/// Most rows one update or delete by query may change.
pub const MAX_QUERY_ROWS: u64 = 10_000;

pub fn require_key(who: &Identity) -> Result<(), Exception> {
    if who.is_key() {
        Ok(())
    } else {
        Err(Exception::msg(ErrorType::GeneralUnauthorizedScope, "Bulk operations are only available to API keys."))
    }
}

fn permissions_of(row: &Map<String, Value>) -> Result<Option<Vec<String>>, Exception> {
    match row.get("$permissions") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Exception::invalid_param("rows", "$permissions must be an array of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(Exception::invalid_param("rows", "$permissions must be an array of strings")),
    }
}

fn id_of(row: &Map<String, Value>) -> Result<String, Exception> {
    match row.get("$id") {
        None | Some(Value::Null) => Ok(id::unique()),
        Some(Value::String(s)) => id::resolve("rows", s),
        Some(_) => Err(Exception::invalid_param("rows", id::INVALID_ID_MESSAGE)),
    }
}

pub fn check_batch(rows: &[Map<String, Value>]) -> Result<(), Exception> {
    if rows.is_empty() || rows.len() > MAX_BATCH_ROWS {
        return Err(Exception::invalid_param("rows", format!("Value must be an array of 1 to {MAX_BATCH_ROWS} rows")));
    }
    Ok(())
}

pub fn create_rows(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    rows: &[Map<String, Value>],
) -> Result<(Vec<Row>, Arc<Table>), Exception> {
    require_key(who)?;
    check_batch(rows)?;
    let mut out = Vec::with_capacity(rows.len());
    let mut t = None;
    for data in rows {
        let id = id_of(data)?;
        let perms = permissions_of(data)?;
        let (row, table) =
            rows::create(tx, catalog, who, db, table, NewRow { id: &id, data, permissions: perms.as_deref() })?;
        out.push(row);
        t = Some(table);
    }
    t.map(|t| (out, t)).ok_or_else(|| Exception::internal("empty batch"))
}

pub fn upsert_rows(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    rows: &[Map<String, Value>],
) -> Result<(Vec<Row>, Arc<Table>), Exception> {
    require_key(who)?;
    check_batch(rows)?;
    let mut out = Vec::with_capacity(rows.len());
    let mut t = None;
    for data in rows {
        let id = id_of(data)?;
        let perms = permissions_of(data)?;
        let (row, table): Written =
            rows::upsert(tx, catalog, who, db, table, &id, Patch { data, permissions: perms.as_deref() })?;
        out.push(row);
        t = Some(table);
    }
    t.map(|t| (out, t)).ok_or_else(|| Exception::internal("empty batch"))
}

/// Find the rows a bulk update/delete targets (writer thread, before the transaction).
pub fn select_ids(
    store: &Store,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    q: &ListQuery,
) -> Result<Vec<String>, Exception> {
    require_key(who)?;
    let (_, t) = super::find_table(catalog, who, db, table)?;
    let mut q = q.clone();
    let explicit = q.limit;
    q.limit = explicit.min(MAX_QUERY_ROWS + 1);
    let (page, _) = read::list(store, t, &q, Access::All, false)?;
    if page.rows.len() as u64 > MAX_QUERY_ROWS {
        return Err(Exception::msg(
            ErrorType::GeneralArgumentInvalid,
            format!("More than {MAX_QUERY_ROWS} rows match; add a limit query or narrow the filters"),
        ));
    }
    Ok(page.rows.into_iter().map(|r| r.id).collect())
}

pub fn update_rows(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    ids: &[String],
    patch: Patch<'_>,
) -> Result<(Vec<Row>, Arc<Table>), Exception> {
    let (_, t) = super::find_table(catalog, who, db, table)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        // A row selected before the transaction cannot vanish: nothing else writes in between.
        let (row, _) =
            rows::update(tx, catalog, who, db, table, id, Patch { data: patch.data, permissions: patch.permissions })?;
        out.push(row);
    }
    Ok((out, t.clone()))
}

pub fn delete_rows(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    ids: &[String],
) -> Result<(Vec<Row>, Arc<Table>), Exception> {
    let (_, t) = super::find_table(catalog, who, db, table)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let (row, _) = rows::delete(tx, catalog, who, db, table, id)?;
        out.push(row);
    }
    Ok((out, t.clone()))
}
