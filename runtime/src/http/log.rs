//! `GET /v1/arcade/events`: the event log over HTTP, an Arcade extension for
//! tools, tests and debugging (API keys with the `log.read` scope).
//!
//! Each event is shown as realtime would send it (`events`, `channels`,
//! `timestamp`, `payload`) plus its log fields (`seq`, `roles`, `actor`).
//! Page with `?after=<seq>&limit=<n>`; `next` is the `after` of the next page.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::{Caller, Params};
use super::{AppState, json};
use crate::events::{channels, names};
use crate::model::catalog::DbKind;
use crate::model::event::Event;
use crate::model::exception::{ErrorType, Exception};
use crate::model::time;

/// Most events one page returns.
pub const MAX_PAGE: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/arcade/events", get(list)).route("/v1/arcade/metrics", get(metrics))
}

/// `GET /v1/arcade/metrics` (API keys): counters of the realtime service and the log.
async fn metrics(State(s): State<AppState>, caller: Caller) -> ApiResult<Response> {
    if !caller.who.is_key() {
        return Err(
            Exception::msg(ErrorType::GeneralUnauthorizedScope, "Metrics are readable with an API key only.").into()
        );
    }
    let body = json!({
        "realtime": s.realtime.metrics(),
        "log": { "watermark": s.db.bus().watermark(), "events": s.db.store().event_count() },
    });
    Ok(json(StatusCode::OK, &body))
}

/// An event as a client sees it, plus its log fields.
pub fn event_json(e: &Event) -> Value {
    let payload: Value = serde_json::from_str(e.payload.get()).unwrap_or(Value::Null);
    json!({
        "seq": e.seq,
        "timestamp": time::format(e.time),
        "events": names::realtime_names(&e.resource, e.action, e.attribute.as_deref(), e.db_kind.unwrap_or(DbKind::Legacy)),
        "channels": channels::channels(&e.resource, e.action),
        "roles": e.roles,
        "actor": e.actor,
        "payload": payload,
    })
}

async fn list(State(s): State<AppState>, caller: Caller, params: Params) -> ApiResult<Response> {
    if !caller.who.is_key() {
        return Err(Exception::msg(
            ErrorType::GeneralUnauthorizedScope,
            "The event log is readable with an API key only.",
        )
        .into());
    }
    caller.who.require_scope("log.read")?;
    let num = |name: &str, default: u64| -> Result<u64, Exception> {
        params.get(name).map_or(Ok(default), |v| {
            v.parse().map_err(|_| Exception::invalid_param(name, "Value must be a valid integer"))
        })
    };
    let after = num("after", 0)?;
    let limit = (num("limit", 100)? as usize).clamp(1, MAX_PAGE);
    let upto = s.db.bus().watermark();
    let events = match s.db.store().events_after(after, upto, limit)? {
        Ok(events) => events,
        Err(trimmed) => {
            return Err(Exception::msg(
                ErrorType::GeneralArgumentInvalid,
                format!(
                    "Events after {after} are no longer in the log (retention); the oldest kept is {}. Refetch current state instead.",
                    trimmed.first_available
                ),
            )
            .into());
        }
    };
    let next = events.last().map_or(after, |e| e.seq);
    let list: Vec<Value> = events.iter().map(event_json).collect();
    Ok(json(StatusCode::OK, &json!({ "events": list, "next": next, "watermark": upto })))
}
