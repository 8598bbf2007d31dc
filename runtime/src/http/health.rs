//! Liveness: `GET /v1/health` (and Appwrite's `GET /v1/ping`, which the SDKs'
//! `client.ping()` calls).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::{AppState, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/health", get(health)).route("/v1/ping", get(ping))
}

async fn health(State(s): State<AppState>) -> Response {
    json(
        StatusCode::OK,
        &json!({ "name": "arcade", "status": "pass", "ping": 0, "version": env!("CARGO_PKG_VERSION"), "seq": s.db.bus().watermark() }),
    )
}

async fn ping() -> &'static str {
    "Pong!"
}
