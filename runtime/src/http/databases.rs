//! `/v1/tablesdb` and `/v1/databases`: the route table of both database APIs,
//! and the database-level handlers.

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch, post};
use serde_json::json;

use super::error::{ApiResult, InFlavor};
use super::extract::{Body, Caller, ParamExt, Params};
use super::{Api, AppState, json, no_content, rows, schema, transactions};
use crate::db::ops::schema as ops;
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;

pub fn routes(api: Api) -> Router<AppState> {
    let n = api.names();
    let t = format!("/{{db}}/{}/{{table}}", n.tables);
    let r = format!("{t}/{}", n.rows);
    let c = format!("{t}/{}", n.columns);
    Router::new()
        .route("/", post(create).get(list))
        .route("/transactions", post(transactions::create).get(transactions::list))
        .route("/transactions/{txn}", get(transactions::get).patch(transactions::update).delete(transactions::delete))
        .route("/transactions/{txn}/operations", post(transactions::add_operations))
        .route("/{db}", get(get_one).put(update).delete(delete))
        .route(&format!("/{{db}}/{}", n.tables), post(schema::create_table).get(schema::list_tables))
        .route(&t, get(schema::get_table).put(schema::update_table).delete(schema::delete_table))
        .route(&c, get(schema::list_columns))
        .route(
            &format!("{c}/{{key}}"),
            get(schema::get_column).post(schema::create_column).delete(schema::delete_column),
        )
        .route(&format!("{c}/{{kind}}/{{key}}"), patch(schema::update_column))
        .route(&format!("{t}/indexes"), post(schema::create_index).get(schema::list_indexes))
        .route(&format!("{t}/indexes/{{key}}"), get(schema::get_index).delete(schema::delete_index))
        .route(
            &r,
            post(rows::create)
                .get(rows::list)
                .patch(rows::update_bulk)
                .put(rows::upsert_bulk)
                .delete(rows::delete_bulk),
        )
        .route(&format!("{r}/{{row}}"), get(rows::get).patch(rows::update).put(rows::upsert).delete(rows::delete))
        .route(&format!("{r}/{{row}}/{{column}}/increment"), patch(rows::increment))
        .route(&format!("{r}/{{row}}/{{column}}/decrement"), patch(rows::decrement))
        .layer(Extension(api))
}

async fn create(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("databases.write")?;
    let id = id::resolve("databaseId", body.req_str("databaseId")?)?;
    let name = body.req_str("name")?.to_owned();
    let enabled = body.opt_bool("enabled")?.unwrap_or(true);
    let who = caller.who;
    let db = s
        .db
        .write_exclusive(|_, _| Ok(()), move |tx, _, _| ops::create_database(tx, &who, &id, &name, enabled, api.kind))
        .await
        .in_flavor(api.flavor)?;
    Ok(json(StatusCode::CREATED, &db.to_model()))
}

async fn list(State(s): State<AppState>, caller: Caller, params: Params) -> ApiResult<Response> {
    caller.who.require_scope("databases.read")?;
    let catalog = s.db.catalog();
    let all: Vec<_> = catalog.databases().into_iter().map(|d| d.to_model()).collect();
    let (limit, offset) = simple_paging(&params)?;
    let total = all.len();
    let page: Vec<_> = all.into_iter().skip(offset).take(limit).collect();
    Ok(json(StatusCode::OK, &json!({ "total": total, "databases": page })))
}

/// `limit`/`offset` queries of list routes that only page.
pub fn simple_paging(params: &Params) -> ApiResult<(usize, usize)> {
    let mut limit = 25usize;
    let mut offset = 0usize;
    for q in &params.queries {
        match crate::model::query::parse(q)? {
            crate::model::query::Query::Limit(n) => limit = n as usize,
            crate::model::query::Query::Offset(n) => offset = n as usize,
            _ => {}
        }
    }
    Ok((limit, offset))
}

async fn get_one(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path(db): Path<String>,
) -> ApiResult<Response> {
    caller.who.require_scope("databases.read")?;
    let catalog = s.db.catalog();
    let d = catalog
        .database(&db)
        .ok_or_else(|| Exception::with_id(ErrorType::DatabaseNotFound, &db))
        .in_flavor(api.flavor)?;
    Ok(json(StatusCode::OK, &d.to_model()))
}

async fn update(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path(db): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("databases.write")?;
    let name = body.opt_str("name")?.map(str::to_owned);
    let enabled = body.opt_bool("enabled")?;
    let who = caller.who;
    let d = s
        .db
        .write_exclusive(|_, _| Ok(()), move |tx, _, _| ops::update_database(tx, &who, &db, name.as_deref(), enabled))
        .await
        .in_flavor(api.flavor)?;
    Ok(json(StatusCode::OK, &d.to_model()))
}

async fn delete(
    State(s): State<AppState>,
    Extension(api): Extension<Api>,
    caller: Caller,
    Path(db): Path<String>,
) -> ApiResult<Response> {
    caller.who.require_scope("databases.write")?;
    let who = caller.who;
    s.db.write_exclusive(|_, _| Ok(()), move |tx, cat, _| ops::delete_database(tx, cat, &who, &db))
        .await
        .in_flavor(api.flavor)?;
    Ok(no_content())
}
