//! Rows (documents): create, read, list, update, upsert, delete,
//! increment/decrement, and the bulk forms.
//!
//! A `transactionId` on any write stages it in that Appwrite transaction
//! instead (see `transactions`); reads with one see the staged writes.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Number, Value};

use super::error::{ApiResult, InFlavor};
use super::extract::{Body, Caller, ParamExt, Params};
use super::transactions::{self, Staging};
use super::{Api, AppState, json_bytes, no_content};
use crate::auth::Identity;
use crate::db::ops::{self, bulk, rows as row_ops};
use crate::db::read::{self, Access};
use crate::model::catalog::{Flavor, Table};
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::model::permission::Action;
use crate::model::query::{self, ListQuery, Query};
use crate::model::row::Row;

type RowPath = Path<(String, String, String)>;

/// One row as the API shows it.
pub fn row_body(row: &Row, table: &Table, flavor: Flavor, select: Option<&[String]>) -> Vec<u8> {
    serde_json::to_vec(&row.model(table, flavor, select)).unwrap_or_default()
}

/// `{"total": n, "<rows>": [...]}`.
pub fn list_body(
    total: u64,
    key: &str,
    rows: &[Row],
    table: &Table,
    flavor: Flavor,
    select: Option<&[String]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + rows.len() * 256);
    out.extend_from_slice(format!("{{\"total\":{total},\"{key}\":[").as_bytes());
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, &r.model(table, flavor, select));
    }
    out.extend_from_slice(b"]}");
    out
}

fn data_of(body: &Map<String, Value>) -> ApiResult<Map<String, Value>> {
    match body.get("data") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        // Appwrite also accepts data as a JSON string.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Exception::invalid_param("data", "Value must be a valid JSON object").into()),
        },
        Some(_) => Err(Exception::invalid_param("data", "Value must be a valid JSON object").into()),
    }
}

fn rows_param(body: &Map<String, Value>, name: &str) -> ApiResult<Option<Vec<Map<String, Value>>>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Object(m) => Ok(m.clone()),
                _ => Err(Exception::invalid_param(name, "Value must be an array of objects").into()),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(Exception::invalid_param(name, "Value must be an array of objects").into()),
    }
}

fn body_queries(body: &Map<String, Value>) -> ApiResult<Vec<String>> {
    Ok(body.opt_strings("queries")?.unwrap_or_default())
}

/// Which rows of `table` the caller may list, or 401 if none.
pub fn list_access<'a>(table: &Table, who: &'a Identity) -> Result<Access<'a>, Exception> {
    if ops::table_allows(table, Action::Read, who) {
        Ok(Access::All)
    } else if table.row_security {
        Ok(Access::Rows(who.roles()))
    } else {
        Err(Exception::new(ErrorType::UserUnauthorized))
    }
}

fn table_for(s: &AppState, who: &Identity, db: &str, table: &str) -> Result<Arc<Table>, Exception> {
    let catalog = s.db.catalog();
    ops::find_table(&catalog, who, db, table).map(|(_, t)| t.clone())
}

pub async fn create(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.write").in_flavor(f)?;
    let n = api.names();
    if let Some(rows) = rows_param(&body, n.rows)? {
        if body.get("data").is_some_and(|d| !d.is_null()) {
            return Err(Exception::msg(
                ErrorType::GeneralBadRequest,
                format!("You can only send one of the following parameters: data, {}", n.rows),
            )
            .into());
        }
        if let Some(txn) = body.opt_str("transactionId")? {
            return transactions::stage(&s, &caller.who, txn, Staging::BulkCreate { db, table, rows }, f).await;
        }
        let who = caller.who;
        let (rows, t) =
            s.db.write(move |tx, cat| bulk::create_rows(tx, cat, &who, &db, &table, &rows)).await.in_flavor(f)?;
        return Ok(json_bytes(StatusCode::CREATED, list_body(rows.len() as u64, n.rows, &rows, &t, f, None)));
    }
    let requested = body
        .opt_str(n.row_id)?
        .ok_or_else(|| {
            Exception::msg(
                ErrorType::RowMissingData,
                if f == Flavor::Tables {
                    "Row ID is required when creating a single row."
                } else {
                    "Document ID is required when creating a single document."
                },
            )
        })
        .in_flavor(f)?;
    let row_id = id::resolve(n.row_id, requested)?;
    let data = data_of(&body)?;
    let permissions = body.opt_strings("permissions")?;
    if let Some(txn) = body.opt_str("transactionId")? {
        return transactions::stage(&s, &caller.who, txn, Staging::Create { db, table, row_id, data, permissions }, f)
            .await;
    }
    let who = caller.who;
    let (row, t) =
        s.db.write(move |tx, cat| {
            row_ops::create(
                tx,
                cat,
                &who,
                &db,
                &table,
                row_ops::NewRow { id: &row_id, data: &data, permissions: permissions.as_deref() },
            )
        })
        .await
        .in_flavor(f)?;
    Ok(json_bytes(StatusCode::CREATED, row_body(&row, &t, f, None)))
}

pub async fn list(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.read").in_flavor(f)?;
    let t = table_for(&s, &caller.who, &db, &table).in_flavor(f)?;
    let q = query::list_query(&params.queries, t.as_ref())?;
    let count = params.flag("total")?.unwrap_or(true);
    let txn = params.get("transactionId").map(str::to_owned);
    let key = api.names().rows;
    let store = s.db.store_arc();
    let who = caller.who;
    let body = tokio::task::spawn_blocking(move || -> ApiResult<Vec<u8>> {
        let access = list_access(&t, &who).in_flavor(f)?;
        let page = match txn {
            Some(txn) => transactions::list_with(&store, &who, &txn, &t, &q, access, count).in_flavor(f)?,
            None => read::list(&store, &t, &q, access, count).in_flavor(f)?.0,
        };
        Ok(list_body(page.total, key, &page.rows, &t, f, q.select.as_deref()))
    })
    .await
    .map_err(Exception::internal)??;
    Ok(json_bytes(StatusCode::OK, body))
}

pub async fn get(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, row_id)): RowPath,
    params: Params,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.read").in_flavor(f)?;
    let t = table_for(&s, &caller.who, &db, &table).in_flavor(f)?;
    let mut select: Option<Vec<String>> = None;
    for raw in &params.queries {
        match query::parse(raw)? {
            Query::Select(attrs) => select.get_or_insert_with(Vec::new).extend(attrs),
            _ => {
                return Err(Exception::msg(
                    ErrorType::GeneralQueryInvalid,
                    "Invalid query: Only select queries are allowed when getting one row",
                )
                .into());
            }
        }
    }
    let not_found = || Exception::with_id(ErrorType::RowNotFound, &row_id);
    let row = match params.get("transactionId") {
        Some(txn) => transactions::row_with(s.db.store(), &caller.who, txn, &t, &row_id).in_flavor(f)?,
        None => s.db.store().row(t.tid, &row_id)?,
    };
    let row = row.ok_or_else(not_found).in_flavor(f)?;
    if !ops::row_allows(&t, &row, Action::Read, &caller.who) {
        return Err(not_found()).in_flavor(f);
    }
    Ok(json_bytes(StatusCode::OK, row_body(&row, &t, f, select.as_deref())))
}

pub async fn update(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, row_id)): RowPath,
    Body(body): Body,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.write").in_flavor(f)?;
    let data = data_of(&body)?;
    let permissions = body.opt_strings("permissions")?;
    if data.is_empty() && permissions.is_none() {
        return Err(Exception::new(ErrorType::RowMissingPayload)).in_flavor(f);
    }
    if let Some(txn) = body.opt_str("transactionId")? {
        return transactions::stage(&s, &caller.who, txn, Staging::Update { db, table, row_id, data, permissions }, f)
            .await;
    }
    let who = caller.who;
    let (row, t) =
        s.db.write(move |tx, cat| {
            row_ops::update(
                tx,
                cat,
                &who,
                &db,
                &table,
                &row_id,
                row_ops::Patch { data: &data, permissions: permissions.as_deref() },
            )
        })
        .await
        .in_flavor(f)?;
    Ok(json_bytes(StatusCode::OK, row_body(&row, &t, f, None)))
}

pub async fn upsert(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, row_id)): RowPath,
    Body(body): Body,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.write").in_flavor(f)?;
    id::check_path_id(api.names().row_id, &row_id)?;
    let data = data_of(&body)?;
    let permissions = body.opt_strings("permissions")?;
    if let Some(txn) = body.opt_str("transactionId")? {
        return transactions::stage(&s, &caller.who, txn, Staging::Upsert { db, table, row_id, data, permissions }, f)
            .await;
    }
    let who = caller.who;
    let (row, t) =
        s.db.write(move |tx, cat| {
            row_ops::upsert(
                tx,
                cat,
                &who,
                &db,
                &table,
                &row_id,
                row_ops::Patch { data: &data, permissions: permissions.as_deref() },
            )
        })
        .await
        .in_flavor(f)?;
    Ok(json_bytes(StatusCode::OK, row_body(&row, &t, f, None)))
}

pub async fn delete(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, row_id)): RowPath,
    Body(body): Body,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.write").in_flavor(f)?;
    if let Some(txn) = body.opt_str("transactionId")? {
        return transactions::stage(&s, &caller.who, txn, Staging::Delete { db, table, row_id }, f).await;
    }
    let who = caller.who;
    s.db.write(move |tx, cat| row_ops::delete(tx, cat, &who, &db, &table, &row_id)).await.in_flavor(f)?;
    Ok(no_content())
}

fn number_param(body: &Map<String, Value>, name: &str) -> ApiResult<Option<Number>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.clone())),
        Some(Value::String(s)) => s
            .parse::<i64>()
            .map(Number::from)
            .or_else(|_| s.parse::<f64>().ok().and_then(Number::from_f64).ok_or(()))
            .map(Some)
            .map_err(|_| Exception::invalid_param(name, "Value must be a valid number").into()),
        Some(_) => Err(Exception::invalid_param(name, "Value must be a valid number").into()),
    }
}

async fn step(
    s: AppState,
    api: Api,
    caller: Caller,
    path: (String, String, String, String),
    body: Map<String, Value>,
    decrement: bool,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.write").in_flavor(f)?;
    let (db, table, row_id, column) = path;
    let by = number_param(&body, "value")?.unwrap_or_else(|| Number::from(1));
    let limit = number_param(&body, if decrement { "min" } else { "max" })?;
    if let Some(txn) = body.opt_str("transactionId")? {
        return transactions::stage(
            &s,
            &caller.who,
            txn,
            Staging::Step { db, table, row_id, column, by, limit, decrement },
            f,
        )
        .await;
    }
    let who = caller.who;
    let (row, t) =
        s.db.write(move |tx, cat| {
            row_ops::increment(
                tx,
                cat,
                &who,
                &db,
                &table,
                &row_id,
                row_ops::Step { column: &column, by: &by, limit: limit.as_ref(), decrement },
            )
        })
        .await
        .in_flavor(f)?;
    Ok(json_bytes(StatusCode::OK, row_body(&row, &t, f, None)))
}

pub async fn increment(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path(path): Path<(String, String, String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    step(s, api, caller, path, body, false).await
}

pub async fn decrement(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path(path): Path<(String, String, String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    step(s, api, caller, path, body, true).await
}

/// Parse the queries of a bulk update/delete: Appwrite affects every match
/// unless a `limit` query is given.
fn bulk_query(t: &Table, queries: &[String]) -> ApiResult<ListQuery> {
    let mut q = query::list_query(queries, t)?;
    let explicit_limit = queries.iter().any(|raw| matches!(query::parse(raw), Ok(Query::Limit(_))));
    if !explicit_limit {
        q.limit = bulk::MAX_QUERY_ROWS + 1;
    }
    Ok(q)
}

pub async fn update_bulk(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.write").in_flavor(f)?;
    bulk::require_key(&caller.who)?;
    let t = table_for(&s, &caller.who, &db, &table).in_flavor(f)?;
    let data = data_of(&body)?;
    let permissions = body.opt_strings("permissions")?;
    let queries = body_queries(&body)?;
    let q = bulk_query(&t, &queries)?;
    if let Some(txn) = body.opt_str("transactionId")? {
        return transactions::stage(&s, &caller.who, txn, Staging::BulkUpdate { db, table, queries, data }, f).await;
    }
    let who = caller.who;
    let who2 = who.clone();
    let (d2, t2) = (db.clone(), table.clone());
    let (rows, t) =
        s.db.write_exclusive(
            move |store, cat| bulk::select_ids(store, cat, &who2, &d2, &t2, &q),
            move |tx, cat, ids| {
                bulk::update_rows(
                    tx,
                    cat,
                    &who,
                    &db,
                    &table,
                    ids,
                    row_ops::Patch { data: &data, permissions: permissions.as_deref() },
                )
            },
        )
        .await
        .in_flavor(f)?;
    Ok(json_bytes(StatusCode::OK, list_body(rows.len() as u64, api.names().rows, &rows, &t, f, None)))
}

pub async fn upsert_bulk(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.write").in_flavor(f)?;
    let n = api.names();
    let rows = rows_param(&body, n.rows)?.ok_or_else(|| super::extract::missing(n.rows))?;
    if let Some(txn) = body.opt_str("transactionId")? {
        return transactions::stage(&s, &caller.who, txn, Staging::BulkUpsert { db, table, rows }, f).await;
    }
    let who = caller.who;
    let (rows, t) =
        s.db.write(move |tx, cat| bulk::upsert_rows(tx, cat, &who, &db, &table, &rows)).await.in_flavor(f)?;
    Ok(json_bytes(StatusCode::OK, list_body(rows.len() as u64, n.rows, &rows, &t, f, None)))
}

pub async fn delete_bulk(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    let f = api.flavor;
    caller.who.require_scope("rows.write").in_flavor(f)?;
    bulk::require_key(&caller.who)?;
    let t = table_for(&s, &caller.who, &db, &table).in_flavor(f)?;
    let queries = body_queries(&body)?;
    let q = bulk_query(&t, &queries)?;
    if let Some(txn) = body.opt_str("transactionId")? {
        return transactions::stage(&s, &caller.who, txn, Staging::BulkDelete { db, table, queries }, f).await;
    }
    let who = caller.who;
    let who2 = who.clone();
    let (d2, t2) = (db.clone(), table.clone());
    let (rows, t) =
        s.db.write_exclusive(
            move |store, cat| bulk::select_ids(store, cat, &who2, &d2, &t2, &q),
            move |tx, cat, ids| bulk::delete_rows(tx, cat, &who, &db, &table, ids),
        )
        .await
        .in_flavor(f)?;
    Ok(json_bytes(StatusCode::OK, list_body(rows.len() as u64, api.names().rows, &rows, &t, f, None)))
}
