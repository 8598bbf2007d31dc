//! Appwrite transactions over HTTP: create, stage (through the row routes'
//! `transactionId` or `/operations`), commit, roll back, read through.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Number, Value, json};

use super::error::{ApiResult, InFlavor};
use super::extract::{Body, Caller, ParamExt};
use super::{Api, AppState, json, no_content};
use crate::auth::Identity;
use crate::db::ops::{self, txn};
use crate::db::read::{Access, Page};
use crate::model::catalog::{Flavor, Table};
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::model::query::ListQuery;
use crate::model::row::Row;
use crate::store::Store;

pub use txn::StagedOp as Staging;

pub async fn create(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("rows.write")?;
    let ttl = match body.get("ttl") {
        None | Some(Value::Null) => txn::DEFAULT_TTL,
        Some(v) => v.as_i64().ok_or_else(|| Exception::invalid_param("ttl", "Value must be a valid integer"))?,
    };
    let who = caller.who;
    let t = s.db.write(move |tx, _| txn::create(tx, &who, ttl)).await?;
    Ok(json(StatusCode::CREATED, &t.to_model()))
}

pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("rows.read")?;
    let all: Vec<txn::Transaction> = s.db.store().txns()?;
    let mine: Vec<Value> = all.iter().filter(|t| t.usable_by(&caller.who)).map(txn::Transaction::to_model).collect();
    Ok(json(StatusCode::OK, &json!({ "total": mine.len(), "transactions": mine })))
}

pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("rows.read")?;
    let t = txn::load(s.db.store(), &caller.who, &id)?;
    Ok(json(StatusCode::OK, &t.to_model()))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("rows.write")?;
    let commit = body.opt_bool("commit")?.unwrap_or(false);
    let rollback = body.opt_bool("rollback")?.unwrap_or(false);
    let who = caller.who;
    let t = match (commit, rollback) {
        (true, false) => {
            let (who2, id2) = (who.clone(), id.clone());
            let (who3, id3) = (who.clone(), id.clone());
            let result =
                s.db.write_exclusive(
                    move |store, cat| txn::prepare_commit(store, cat, &who2, &id2),
                    move |tx, cat, selected| txn::commit(tx, cat, &who3, &id3, selected),
                )
                .await;
            match result {
                Ok(t) => t,
                Err(e) => {
                    // Nothing was written; record that the transaction is over.
                    let fail = matches!(e.kind, ErrorType::TransactionConflict | ErrorType::GeneralServerError)
                        || e.code() < 500;
                    if fail
                        && !matches!(
                            e.kind,
                            ErrorType::TransactionNotFound
                                | ErrorType::TransactionInvalid
                                | ErrorType::TransactionExpired
                        )
                    {
                        let _ = s.db.write(move |tx, _| txn::finish(tx, &who, &id, txn::Status::Failed)).await;
                    }
                    return Err(e.into());
                }
            }
        }
        (false, true) => s.db.write(move |tx, _| txn::finish(tx, &who, &id, txn::Status::RolledBack)).await?,
        _ => {
            return Err(Exception::msg(
                ErrorType::GeneralArgumentInvalid,
                "Exactly one of `commit` or `rollback` must be true",
            )
            .into());
        }
    };
    Ok(json(StatusCode::OK, &t.to_model()))
}

pub async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("rows.write")?;
    let who = caller.who;
    s.db.write(move |tx, _| txn::delete(tx, &who, &id)).await?;
    Ok(no_content())
}

/// `POST /transactions/{id}/operations`: stage several operations at once.
pub async fn add_operations(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("rows.write")?;
    let list = match body.get("operations") {
        Some(Value::Array(items)) => items.clone(),
        _ => return Err(super::extract::missing("operations")),
    };
    let ops = list.iter().map(|v| parse_operation(v, api)).collect::<ApiResult<Vec<_>>>()?;
    let t = stage_all(&s, &caller.who, &id, ops).await.in_flavor(api.flavor)?;
    Ok(json(StatusCode::CREATED, &t.to_model()))
}

fn parse_operation(v: &Value, api: Api) -> ApiResult<Staging> {
    let bad = |why: &str| -> super::error::ApiError { Exception::invalid_param("operations", why).into() };
    let o = v.as_object().ok_or_else(|| bad("each operation must be an object"))?;
    let n = api.names();
    let action = o.req_str("action")?;
    let db = o.req_str("databaseId")?.to_owned();
    let table = o
        .opt_str(n.table_id)?
        .or(o.opt_str("tableId")?)
        .or(o.opt_str("collectionId")?)
        .ok_or_else(|| bad("tableId is required"))?
        .to_owned();
    let row_id = || -> ApiResult<String> {
        let r = o
            .opt_str(n.row_id)?
            .or(o.opt_str("rowId")?)
            .or(o.opt_str("documentId")?)
            .ok_or_else(|| bad("rowId is required"))?;
        Ok(id::resolve("rowId", r)?)
    };
    let data_obj = || -> ApiResult<Map<String, Value>> { Ok(o.opt_object("data")?.cloned().unwrap_or_default()) };
    let perms = |d: &Map<String, Value>| -> Option<Vec<String>> {
        d.get("$permissions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
    };
    Ok(match action {
        "create" | "update" | "upsert" => {
            let data = data_obj()?;
            let permissions = perms(&data);
            let (db, table, row_id) = (db, table, row_id()?);
            match action {
                "create" => Staging::Create { db, table, row_id, data, permissions },
                "update" => Staging::Update { db, table, row_id, data, permissions },
                _ => Staging::Upsert { db, table, row_id, data, permissions },
            }
        }
        "delete" => Staging::Delete { db, table, row_id: row_id()? },
        "increment" | "decrement" => {
            let data = data_obj()?;
            let decrement = action == "decrement";
            let column = data
                .opt_str("column")?
                .or(data.opt_str("attribute")?)
                .ok_or_else(|| bad("data.column is required"))?
                .to_owned();
            let by = match data.get("value") {
                None | Some(Value::Null) => Number::from(1),
                Some(Value::Number(n)) => n.clone(),
                _ => return Err(bad("data.value must be a number")),
            };
            let limit = data.get(if decrement { "min" } else { "max" }).and_then(|v| v.as_number().cloned());
            Staging::Step { db, table, row_id: row_id()?, column, by, limit, decrement }
        }
        "bulkCreate" | "bulkUpsert" => {
            let rows: Vec<Map<String, Value>> = match o.get("data") {
                Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_object().cloned()).collect(),
                _ => return Err(bad("data must be an array of rows")),
            };
            if action == "bulkCreate" {
                Staging::BulkCreate { db, table, rows }
            } else {
                Staging::BulkUpsert { db, table, rows }
            }
        }
        "bulkUpdate" | "bulkDelete" => {
            let data = data_obj()?;
            let queries = data.opt_strings("queries")?.unwrap_or_default();
            if action == "bulkUpdate" {
                let data = data.opt_object("data")?.cloned().unwrap_or_default();
                Staging::BulkUpdate { db, table, queries, data }
            } else {
                Staging::BulkDelete { db, table, queries }
            }
        }
        other => return Err(bad(&format!("unknown action \"{other}\""))),
    })
}

/// Validate operations against the transaction's view and append them.
async fn stage_all(s: &AppState, who: &Identity, id: &str, ops: Vec<Staging>) -> Result<txn::Transaction, Exception> {
    let store = s.db.store();
    let catalog = s.db.catalog();
    let current = txn::load(store, who, id)?;
    let mut all = current.operations.clone();
    all.extend(ops.iter().cloned());
    let mut checked: Vec<(&str, &str)> = Vec::new();
    for op in &ops {
        let target = op.target();
        if checked.contains(&target) {
            continue;
        }
        checked.push(target);
        let (_, t) = ops::find_table(&catalog, who, target.0, target.1)?;
        txn::overlay(store, t, who, &all)?;
    }
    let marks = txn::marks_for(store, &catalog, who, &ops)?;
    let (who, id) = (who.clone(), id.to_owned());
    s.db.write(move |tx, _| txn::stage(tx, &who, &id, &ops, &marks)).await
}

/// Stage one row operation given through a row route's `transactionId`.
pub async fn stage(s: &AppState, who: &Identity, id: &str, op: Staging, flavor: Flavor) -> ApiResult<Response> {
    let table_key = if flavor == Flavor::Tables { "$tableId" } else { "$collectionId" };
    let (status, model) = match &op {
        Staging::Create { .. } | Staging::BulkCreate { .. } => (StatusCode::CREATED, op.staged_model(table_key)),
        Staging::Delete { .. } => (StatusCode::NO_CONTENT, Value::Null),
        _ => (StatusCode::OK, op.staged_model(table_key)),
    };
    stage_all(s, who, id, vec![op]).await.in_flavor(flavor)?;
    if status == StatusCode::NO_CONTENT {
        return Ok(no_content());
    }
    Ok(json(status, &model))
}

/// A row as the transaction sees it.
pub fn row_with(
    store: &Store,
    who: &Identity,
    id: &str,
    table: &Table,
    row_id: &str,
) -> Result<Option<Row>, Exception> {
    let t = txn::load(store, who, id)?;
    let view = txn::overlay(store, table, who, &t.operations)?;
    match view.get(row_id) {
        Some(r) => Ok(r.clone()),
        None => Ok(store.row(table.tid, row_id)?),
    }
}

/// A list as the transaction sees it.
pub fn list_with(
    store: &Store,
    who: &Identity,
    id: &str,
    table: &Table,
    q: &ListQuery,
    access: Access<'_>,
    count: bool,
) -> Result<Page, Exception> {
    let t = txn::load(store, who, id)?;
    txn::list_with(store, table, who, &t.operations, q, access, count)
}
