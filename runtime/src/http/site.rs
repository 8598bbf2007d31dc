//! The project's static site (`project.site` in `arcade.toml`), served at `/`
//! so a game's web frontend and its backend share one origin.
//!
//! API paths (`/v1/...`) never fall through to the site: an unknown API path
//! answers Appwrite's JSON 404. Everything else is looked up in the site
//! directory (`/` is `index.html`); a miss is a plain 404.

use std::path::PathBuf;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Serve `req` from `dir`, or answer the API's 404 for API paths.
pub async fn serve(dir: PathBuf, req: Request) -> Response {
    if req.uri().path().starts_with("/v1/") || req.uri().path() == "/v1" {
        return super::error::not_found().await.into_response();
    }
    match ServeDir::new(dir).append_index_html_on_directories(true).oneshot(req).await {
        Ok(resp) => resp.into_response(),
        Err(never) => match never {},
    }
}
