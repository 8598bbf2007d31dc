//! Tables (collections), columns (attributes) and indexes.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::databases::simple_paging;
use super::error::{ApiResult, InFlavor};
use super::extract::{Body, Caller, ParamExt, Params};
use super::{Api, AppState, json, no_content};
use crate::db::ops::schema::{self as ops, IndexSpec, TableChange, TableSpec};
use crate::model::catalog::{IndexType, Table};
use crate::model::column::ColumnType;
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;

fn table_of(s: &AppState, db: &str, table: &str) -> Result<Arc<Table>, Exception> {
    let catalog = s.db.catalog();
    catalog.database(db).ok_or_else(|| Exception::with_id(ErrorType::DatabaseNotFound, db))?;
    catalog.table(db, table).cloned().ok_or_else(|| Exception::with_id(ErrorType::TableNotFound, table))
}

// ---- tables ----

pub async fn create_table(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path(db): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("tables.write").in_flavor(api.flavor)?;
    let n = api.names();
    let id = id::resolve(n.table_id, body.req_str(n.table_id)?).in_flavor(api.flavor)?;
    let name = body.req_str("name")?.to_owned();
    let permissions = body.opt_strings("permissions")?.unwrap_or_default();
    let row_security = body.opt_bool(n.security)?.unwrap_or(false);
    let enabled = body.opt_bool("enabled")?.unwrap_or(true);
    let columns = inline_columns(&body, n.columns)?;
    let indexes = inline_indexes(&body, api)?;
    let who = caller.who;
    let t =
        s.db.write_exclusive(
            |_, _| Ok(()),
            move |tx, _, _| {
                let spec = TableSpec {
                    id: &id,
                    name: &name,
                    permissions: &permissions,
                    row_security,
                    enabled,
                    columns: &columns,
                    indexes: &indexes,
                };
                ops::create_table(tx, &who, &db, spec)
            },
        )
        .await
        .in_flavor(api.flavor)?;
    Ok(json(StatusCode::CREATED, &t.to_model(api.flavor)))
}

/// Appwrite 1.9's inline column definitions of `createTable`: objects with
/// `key`, `type` and the options of that type's create route.
fn inline_columns(body: &Map<String, Value>, name: &str) -> ApiResult<Vec<(ColumnType, Map<String, Value>)>> {
    let Some(list) = body.get(name).filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let items = list.as_array().ok_or_else(|| Exception::invalid_param(name, "Value must be an array of objects"))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let obj =
            item.as_object().ok_or_else(|| Exception::invalid_param(name, "Value must be an array of objects"))?;
        let kind = obj.opt_str("type")?.ok_or_else(|| Exception::invalid_param(name, "each column needs a type"))?;
        let ty = match kind {
            "varchar" | "text" | "mediumtext" | "longtext" => ColumnType::String,
            "double" => ColumnType::Float,
            other => ColumnType::from_path(other).ok_or_else(|| {
                Exception::msg(
                    ErrorType::ColumnTypeInvalid,
                    format!("Column type '{other}' is not supported by Arcade"),
                )
            })?,
        };
        let mut obj = obj.clone();
        if ty == ColumnType::String && !obj.contains_key("size") {
            let size = match kind {
                "text" => 16_383,
                "mediumtext" | "longtext" => crate::model::column::MAX_STRING_SIZE,
                _ => 255,
            };
            obj.insert("size".into(), Value::from(size));
        }
        obj.entry("required").or_insert(Value::Bool(false));
        out.push((ty, obj));
    }
    Ok(out)
}

fn inline_indexes(body: &Map<String, Value>, api: Api) -> ApiResult<Vec<IndexSpec>> {
    let Some(list) = body.get("indexes").filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let items =
        list.as_array().ok_or_else(|| Exception::invalid_param("indexes", "Value must be an array of objects"))?;
    items
        .iter()
        .map(|item| {
            let obj = item
                .as_object()
                .ok_or_else(|| Exception::invalid_param("indexes", "Value must be an array of objects"))?;
            index_spec(obj, api)
        })
        .collect()
}

fn index_spec(body: &Map<String, Value>, api: Api) -> ApiResult<IndexSpec> {
    let key = body.req_str("key")?.to_owned();
    if !id::is_valid(&key) {
        return Err(Exception::invalid_param("key", id::INVALID_ID_MESSAGE).into());
    }
    let ty = body.req_str("type")?;
    let ty = IndexType::parse(ty).ok_or_else(|| {
        Exception::msg(
            ErrorType::GeneralArgumentInvalid,
            format!("Invalid `type` param: Arcade supports index types key and unique, not \"{ty}\""),
        )
    })?;
    let columns = match body.opt_strings(api.names().columns)? {
        Some(c) => c,
        None => body
            .opt_strings("columns")?
            .or(body.opt_strings("attributes")?)
            .ok_or_else(|| super::extract::missing(api.names().columns))?,
    };
    let orders = body.opt_strings("orders")?.unwrap_or_default();
    Ok(IndexSpec { key, ty, columns, orders })
}

pub async fn list_tables(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path(db): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    caller.who.require_scope("tables.read").in_flavor(api.flavor)?;
    let catalog = s.db.catalog();
    catalog.database(&db).ok_or_else(|| Exception::with_id(ErrorType::DatabaseNotFound, &db)).in_flavor(api.flavor)?;
    let (limit, offset) = simple_paging(&params)?;
    let all = catalog.tables(&db);
    let page: Vec<Value> = all.iter().skip(offset).take(limit).map(|t| t.to_model(api.flavor)).collect();
    Ok(json(StatusCode::OK, &json!({ "total": all.len(), (api.names().tables): page })))
}

pub async fn get_table(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("tables.read").in_flavor(api.flavor)?;
    let t = table_of(&s, &db, &table).in_flavor(api.flavor)?;
    Ok(json(StatusCode::OK, &t.to_model(api.flavor)))
}

pub async fn update_table(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("tables.write").in_flavor(api.flavor)?;
    let name = body.opt_str("name")?.map(str::to_owned);
    let permissions = body.opt_strings("permissions")?;
    let row_security = body.opt_bool(api.names().security)?;
    let enabled = body.opt_bool("enabled")?;
    let who = caller.who;
    let t =
        s.db.write_exclusive(
            |_, _| Ok(()),
            move |tx, _, _| {
                ops::update_table(
                    tx,
                    &who,
                    &db,
                    &table,
                    TableChange { name: name.as_deref(), permissions: permissions.as_deref(), row_security, enabled },
                )
            },
        )
        .await
        .in_flavor(api.flavor)?;
    Ok(json(StatusCode::OK, &t.to_model(api.flavor)))
}

pub async fn delete_table(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("tables.write").in_flavor(api.flavor)?;
    let who = caller.who;
    s.db.write_exclusive(|_, _| Ok(()), move |tx, _, _| ops::delete_table(tx, &who, &db, &table))
        .await
        .in_flavor(api.flavor)?;
    Ok(no_content())
}

// ---- columns ----

pub async fn list_columns(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("columns.read").in_flavor(api.flavor)?;
    let t = table_of(&s, &db, &table).in_flavor(api.flavor)?;
    let cols: Vec<Value> = t.columns.iter().map(|c| c.to_model()).collect();
    Ok(json(StatusCode::OK, &json!({ "total": cols.len(), (api.names().columns): cols })))
}

pub async fn get_column(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, key)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("columns.read").in_flavor(api.flavor)?;
    let t = table_of(&s, &db, &table).in_flavor(api.flavor)?;
    let col =
        t.column(&key).ok_or_else(|| Exception::with_id(ErrorType::ColumnNotFound, &key)).in_flavor(api.flavor)?;
    Ok(json(StatusCode::OK, &col.to_model()))
}

fn column_type(kind: &str) -> Result<ColumnType, Exception> {
    ColumnType::from_path(kind).ok_or_else(|| Exception::with_id(ErrorType::GeneralRouteNotFound, kind))
}

pub async fn create_column(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, kind)): Path<(String, String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    let ty = column_type(&kind)?;
    caller.who.require_scope("columns.write").in_flavor(api.flavor)?;
    let who = caller.who;
    let col =
        s.db.write_exclusive(|_, _| Ok(()), move |tx, _, _| ops::create_column(tx, &who, &db, &table, ty, &body))
            .await
            .in_flavor(api.flavor)?;
    Ok(json(StatusCode::ACCEPTED, &col.to_model()))
}

pub async fn update_column(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, kind, key)): Path<(String, String, String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    let ty = column_type(&kind)?;
    caller.who.require_scope("columns.write").in_flavor(api.flavor)?;
    let who = caller.who;
    let col =
        s.db.write_exclusive(|_, _| Ok(()), move |tx, _, _| ops::update_column(tx, &who, &db, &table, &key, ty, &body))
            .await
            .in_flavor(api.flavor)?;
    Ok(json(StatusCode::OK, &col.to_model()))
}

pub async fn delete_column(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, key)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("columns.write").in_flavor(api.flavor)?;
    let who = caller.who;
    s.db.write_exclusive(|_, _| Ok(()), move |tx, _, _| ops::delete_column(tx, &who, &db, &table, &key))
        .await
        .in_flavor(api.flavor)?;
    Ok(no_content())
}

// ---- indexes ----

pub async fn create_index(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("indexes.write").in_flavor(api.flavor)?;
    let spec = index_spec(&body, api)?;
    let who = caller.who;
    let (db2, table2) = (db.clone(), table.clone());
    let index =
        s.db.write_exclusive(
            move |store, catalog| ops::prepare_index(store, catalog, &db2, &table2, &spec),
            move |tx, _, index| ops::attach_index(tx, &who, &db, &table, index),
        )
        .await
        .in_flavor(api.flavor)?;
    Ok(json(StatusCode::ACCEPTED, &index.to_model(api.flavor)))
}

pub async fn list_indexes(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("indexes.read").in_flavor(api.flavor)?;
    let t = table_of(&s, &db, &table).in_flavor(api.flavor)?;
    let list: Vec<Value> = t.indexes.iter().map(|i| i.to_model(api.flavor)).collect();
    Ok(json(StatusCode::OK, &json!({ "total": list.len(), "indexes": list })))
}

pub async fn get_index(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, key)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("indexes.read").in_flavor(api.flavor)?;
    let t = table_of(&s, &db, &table).in_flavor(api.flavor)?;
    let index =
        t.index(&key).ok_or_else(|| Exception::with_id(ErrorType::IndexNotFound, &key)).in_flavor(api.flavor)?;
    Ok(json(StatusCode::OK, &index.to_model(api.flavor)))
}

pub async fn delete_index(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path((db, table, key)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("indexes.write").in_flavor(api.flavor)?;
    let who = caller.who;
    s.db.write_exclusive(|_, _| Ok(()), move |tx, _, _| ops::delete_index(tx, &who, &db, &table, &key))
        .await
        .in_flavor(api.flavor)?;
    Ok(no_content())
}
