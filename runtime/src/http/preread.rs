//! Small request bodies are read whole before the handler runs.
//!
//! A handler that answers without reading the body (an endpoint that takes
//! none, like `POST /v1/account/sessions/anonymous`, or an early refusal)
//! leaves it unread whenever it arrived after the headers, in a TCP segment
//! of its own, as many clients send it. hyper then closes the keep-alive
//! connection after the answer, since it cannot tell where the next request
//! would start; a client that reuses the pooled connection meanwhile (ureq,
//! Node's fetch) gets "peer disconnected" on a POST it will not retry.
//! Reading the body first keeps every connection reusable. Larger bodies
//! (deployment uploads) pass through untouched, and their handlers read
//! them as a stream; bodies of unknown length too.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::model::exception::{ErrorType, Exception};

/// Bodies up to this size (by their `Content-Length`) are read before the handler runs.
pub const PREREAD_BYTES: u64 = 64 * 1024;

pub async fn preread(req: Request, next: Next) -> Response {
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let Some(len) = declared.filter(|n| (1..=PREREAD_BYTES).contains(n)) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, len as usize).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(e) => ApiError::from(Exception::msg(
            ErrorType::GeneralArgumentInvalid,
            format!("Could not read request body: {e}"),
        ))
        .into_response(),
    }
}
