//! The HTTP API: Appwrite's REST paths and shapes over the database layer.
//!
//! Routes are grouped by area, one file each. TablesDB routes
//! (`/v1/tablesdb/...`: tables, rows, columns) and the legacy Databases routes
//! (`/v1/databases/...`: collections, documents, attributes) are the same
//! handlers mounted twice; an [`Api`] extension tells them which names to use
//! in bodies, models and errors. Errors become Appwrite's JSON in `error`.

pub mod account;
pub mod cors;
pub mod databases;
pub mod error;
pub mod extract;
pub mod functions;
pub mod health;
pub mod keys;
pub mod log;
pub mod preread;
pub mod rows;
pub mod schema;
pub mod site;
pub mod teams;
pub mod transactions;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::Db;
use crate::model::catalog::{DbKind, Flavor};

/// Shared state of every handler: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub auth: Arc<Authenticator>,
    pub config: Arc<Config>,
    pub realtime: crate::realtime::Realtime,
    /// The function runtime (None if the engine could not start).
    pub functions: Option<Arc<crate::functions::Functions>>,
}

/// Which of the two database APIs a route belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    pub flavor: Flavor,
    /// The kind of databases created through this API.
    pub kind: DbKind,
}

/// Field and path names that differ between the two APIs.
pub struct Names {
    pub tables: &'static str,
    pub rows: &'static str,
    pub columns: &'static str,
    pub table_id: &'static str,
    pub row_id: &'static str,
    pub security: &'static str,
}

impl Api {
    pub const TABLES: Api = Api { flavor: Flavor::Tables, kind: DbKind::TablesDb };
    pub const LEGACY: Api = Api { flavor: Flavor::Collections, kind: DbKind::Legacy };

    pub fn names(&self) -> Names {
        match self.flavor {
            Flavor::Tables => Names {
                tables: "tables",
                rows: "rows",
                columns: "columns",
                table_id: "tableId",
                row_id: "rowId",
                security: "rowSecurity",
            },
            Flavor::Collections => Names {
                tables: "collections",
                rows: "documents",
                columns: "attributes",
                table_id: "collectionId",
                row_id: "documentId",
                security: "documentSecurity",
            },
        }
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    let cors = cors::layer(&state.config);
    Router::new()
        .nest("/v1/tablesdb", databases::routes(Api::TABLES))
        .nest("/v1/databases", databases::routes(Api::LEGACY))
        .nest("/v1/account", account::routes())
        .nest("/v1/teams", teams::routes())
        .nest("/v1/users", users::routes())
        .nest("/v1/functions", functions::routes())
        .merge(health::routes())
        .merge(log::routes())
        .merge(keys::routes())
        .route("/v1/realtime", axum::routing::get(crate::realtime::conn::handler))
        .route("/v1/realtime/realtime", axum::routing::get(crate::realtime::conn::handler))
        .fallback(site_or_not_found(state.config.site.clone()))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(preread::preread))
        .layer(cors)
        .with_state(state)
}

/// The fallback: the static site when there is one, else the API's 404.
fn site_or_not_found(site: Option<std::path::PathBuf>) -> axum::routing::MethodRouter<AppState> {
    match site {
        Some(dir) => axum::routing::get(move |req: axum::extract::Request| site::serve(dir.clone(), req))
            .fallback(error::not_found),
        None => axum::routing::any(error::not_found),
    }
}

/// A JSON response from bytes already serialized.
pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A JSON response.
pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    json_bytes(status, serde_json::to_vec(body).unwrap_or_default())
}

/// 204 No Content.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
