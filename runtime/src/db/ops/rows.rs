//! Single-row writes: create, update, upsert, delete, increment/decrement.
//!
//! Permission rules are Appwrite's: creating needs the table's `create`;
//! updating, incrementing and deleting need the table's permission or, with
//! row security, the row's own. Each change emits one row event whose read
//! roles come from the row as written (or as it was, for a delete).

use std::sync::Arc;

use serde_json::{Map, Number, Value};

use super::{check_grantable, find_table, new_row_permissions, row_allows, row_event, table_allows, unauthorized};
use crate::auth::Identity;
use crate::db::catalog::Catalog;
use crate::model::catalog::Table;
use crate::model::event::Action as EventAction;
use crate::model::exception::{ErrorType, Exception};
use crate::model::permission::{self, Action};
use crate::model::row::{self, Row};
use crate::model::time;
use crate::store::WriteTx;

/// What a row write returns: the row as stored and the table it belongs to
/// (for building the response in the caller's flavor).
pub type Written = (Row, Arc<Table>);

/// `$createdAt`/`$updatedAt` given in `data`, honoured for API keys only (as in Appwrite).
fn timestamps(data: &Map<String, Value>, who: &Identity) -> Result<(Option<i64>, Option<i64>), Exception> {
    if !who.is_key() {
        return Ok((None, None));
    }
    let get = |k: &str| -> Result<Option<i64>, Exception> {
        match data.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                time::parse(s).map(Some).ok_or_else(|| Exception::invalid_param(k, "Value must be valid date"))
            }
            Some(_) => Err(Exception::invalid_param(k, "Value must be valid date")),
        }
    };
    Ok((get("$createdAt")?, get("$updatedAt")?))
}

pub struct NewRow<'a> {
    pub id: &'a str,
    pub data: &'a Map<String, Value>,
    pub permissions: Option<&'a [String]>,
}

/// Insert one row. The caller resolved `unique()` already.
pub fn create(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    new: NewRow<'_>,
) -> Result<Written, Exception> {
    let (database, t) = find_table(catalog, who, db, table)?;
    if !table_allows(t, Action::Create, who) {
        return Err(unauthorized());
    }
    let permissions = new_row_permissions(new.permissions, who)?;
    let data = row::check_create(t, new.data)?;
    let (created, updated) = timestamps(new.data, who)?;
    let now = tx.now();
    let seq = tx.next_seq();
    let row = Row {
        id: new.id.to_owned(),
        seq,
        version: seq,
        created: created.unwrap_or(now),
        updated: updated.or(created).unwrap_or(now),
        permissions,
        data,
    };
    let event = row_event(database, t, &row, EventAction::Create, who);
    tx.insert_row(t, &row, event)?;
    Ok((row, t.clone()))
}

/// New column values and/or permissions for one row.
pub struct Patch<'a> {
    pub data: &'a Map<String, Value>,
    pub permissions: Option<&'a [String]>,
}

/// Change some columns and/or the permissions of an existing row.
pub fn update(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    id: &str,
    patch: Patch<'_>,
) -> Result<Written, Exception> {
    let Patch { data, permissions } = patch;
    let (database, t) = find_table(catalog, who, db, table)?;
    let old = tx.row(t, id)?.ok_or_else(|| Exception::with_id(ErrorType::RowNotFound, id))?;
    if !row_allows(t, &old, Action::Update, who) {
        return Err(unauthorized());
    }
    let new = updated_row(tx, t, who, &old, data, permissions)?;
    tx.replace_row(t, &old, &new, row_event(database, t, &new, EventAction::Update, who))?;
    Ok((new, t.clone()))
}

fn updated_row(
    tx: &WriteTx<'_>,
    t: &Table,
    who: &Identity,
    old: &Row,
    data: &Map<String, Value>,
    permissions: Option<&[String]>,
) -> Result<Row, Exception> {
    let permissions = match permissions {
        Some(list) => {
            let p = permission::normalize(list, &[Action::Read, Action::Update, Action::Delete])?;
            check_grantable(&p, who)?;
            p
        }
        None => old.permissions.clone(),
    };
    let (created, updated) = timestamps(data, who)?;
    Ok(Row {
        id: old.id.clone(),
        seq: old.seq,
        version: tx.next_seq(),
        created: created.unwrap_or(old.created),
        updated: updated.unwrap_or(tx.now()),
        permissions,
        data: row::check_update(t, &old.data, data)?,
    })
}

/// Create the row, or update it if it exists (`PUT .../rows/{rowId}`).
pub fn upsert(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    id: &str,
    patch: Patch<'_>,
) -> Result<Written, Exception> {
    let Patch { data, permissions } = patch;
    let (database, t) = find_table(catalog, who, db, table)?;
    match tx.row(t, id)? {
        Some(old) => {
            if !row_allows(t, &old, Action::Update, who) {
                return Err(unauthorized());
            }
            let new = updated_row(tx, t, who, &old, data, permissions)?;
            tx.replace_row(t, &old, &new, row_event(database, t, &new, EventAction::Upsert, who))?;
            Ok((new, t.clone()))
        }
        None => {
            if !table_allows(t, Action::Create, who) {
                return Err(unauthorized());
            }
            let permissions = new_row_permissions(permissions, who)?;
            let (created, updated) = timestamps(data, who)?;
            let seq = tx.next_seq();
            let now = tx.now();
            let row = Row {
                id: id.to_owned(),
                seq,
                version: seq,
                created: created.unwrap_or(now),
                updated: updated.or(created).unwrap_or(now),
                permissions,
                data: row::check_create(t, data)?,
            };
            tx.insert_row(t, &row, row_event(database, t, &row, EventAction::Upsert, who))?;
            Ok((row, t.clone()))
        }
    }
}

pub fn delete(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    id: &str,
) -> Result<Written, Exception> {
    let (database, t) = find_table(catalog, who, db, table)?;
    let old = tx.row(t, id)?.ok_or_else(|| Exception::with_id(ErrorType::RowNotFound, id))?;
    if !row_allows(t, &old, Action::Delete, who) {
        return Err(unauthorized());
    }
    tx.delete_row(t, &old, row_event(database, t, &old, EventAction::Delete, who))?;
    Ok((old, t.clone()))
}

/// Add `by` (> 0) to a numeric column, or subtract it when `decrement`,
/// failing with `column_limit_exceeded` past `limit` (a max, or a min when decrementing).
pub struct Step<'a> {
    pub column: &'a str,
    pub by: &'a Number,
    pub limit: Option<&'a Number>,
    pub decrement: bool,
}

pub fn increment(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    who: &Identity,
    db: &str,
    table: &str,
    id: &str,
    step: Step<'_>,
) -> Result<Written, Exception> {
    let (database, t) = find_table(catalog, who, db, table)?;
    let col = t.column(step.column).ok_or_else(|| Exception::with_id(ErrorType::ColumnNotFound, step.column))?;
    if !col.is_numeric() {
        return Err(Exception::msg(
            ErrorType::ColumnTypeInvalid,
            format!("tablesDB \"{}\" is not a number", step.column),
        ));
    }
    let old = tx.row(t, id)?.ok_or_else(|| Exception::with_id(ErrorType::RowNotFound, id))?;
    if !row_allows(t, &old, Action::Update, who) {
        return Err(unauthorized());
    }
    let current = old.attribute(t, step.column).into_owned();
    let next = apply_step(&current, &step, col.ty == crate::model::column::ColumnType::Integer)?;
    let mut data = old.data.clone();
    data.insert(step.column.to_owned(), next.clone());
    // The column's own bounds still hold.
    let column_bound = if step.decrement { col.min.as_ref() } else { col.max.as_ref() };
    col.check(&next).map_err(|_| limit_error(&step, column_bound))?;
    let new = Row { version: tx.next_seq(), updated: tx.now(), data, ..old.clone() };
    tx.replace_row(t, &old, &new, row_event(database, t, &new, EventAction::Update, who))?;
    Ok((new, t.clone()))
}

fn limit_error(step: &Step<'_>, column_bound: Option<&Number>) -> Exception {
    let word = if step.decrement { "minimum" } else { "maximum" };
    let bound = step.limit.or(column_bound).map(ToString::to_string).unwrap_or_default();
    Exception::msg(
        ErrorType::ColumnLimitExceeded,
        format!("tablesDB \"{}\" has reached the {word} value of {bound}", step.column),
    )
}

pub(crate) fn apply_step(current: &Value, step: &Step<'_>, integer: bool) -> Result<Value, Exception> {
    let positive = step.by.as_f64().is_some_and(|v| v > 0.0 && v.is_finite());
    if !positive {
        return Err(Exception::invalid_param("value", "Value must be numeric and greater than 0"));
    }
    let over = |v: f64| match (step.limit.and_then(Number::as_f64), step.decrement) {
        (Some(max), false) => v > max,
        (Some(min), true) => v < min,
        (None, _) => false,
    };
    if integer {
        let by = step.by.as_i64().ok_or_else(|| Exception::invalid_param("value", "Value must be a valid integer"))?;
        let cur = current.as_i64().unwrap_or(0);
        let next = if step.decrement { cur.checked_sub(by) } else { cur.checked_add(by) };
        let next = next.ok_or_else(|| limit_error(step, None))?;
        if over(next as f64) {
            return Err(limit_error(step, None));
        }
        Ok(Value::from(next))
    } else {
        let by = step.by.as_f64().unwrap_or(0.0);
        let cur = current.as_f64().unwrap_or(0.0);
        let next = if step.decrement { cur - by } else { cur + by };
        if over(next) || !next.is_finite() {
            return Err(limit_error(step, None));
        }
        Ok(Number::from_f64(next).map(Value::Number).unwrap_or(Value::Null))
    }
}
