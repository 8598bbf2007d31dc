//! Request extractors: who is calling (`Caller`), the JSON body (`Body`) and
//! the query string (`Params`), each failing with Appwrite's errors.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::auth::{Credentials, Identity};
use crate::model::exception::{ErrorType, Exception};
use crate::model::time;

/// The caller of a request, after the project check and authentication.
pub struct Caller {
    pub who: Identity,
    pub ip: String,
    pub user_agent: String,
    /// Whether the request carried a session cookie or session header.
    pub has_session: bool,
}

/// Read the session token a request carries, from (in Appwrite's order) the
/// cookie, `X-Appwrite-Session`, or `X-Fallback-Cookies`.
pub fn session_token(headers: &HeaderMap, project: &str) -> Option<String> {
    let cookie_name = format!("a_session_{project}");
    let legacy_name = format!("a_session_{project}_legacy");
    for value in headers.get_all(axum::http::header::COOKIE) {
        let Ok(s) = value.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && (k == cookie_name || k == legacy_name)
                && !v.is_empty()
            {
                return Some(v.to_owned());
            }
        }
    }
    if let Some(v) = header(headers, "x-appwrite-session") {
        return Some(v);
    }
    let fallback = header(headers, "x-fallback-cookies")?;
    let map: Map<String, Value> = serde_json::from_str(&fallback).ok()?;
    map.get(&cookie_name).or_else(|| map.get(&legacy_name)).and_then(Value::as_str).map(str::to_owned)
}

pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).filter(|s| !s.is_empty())
}

/// Check the project a request names (header or `?project=`).
pub fn check_project(parts: &Parts, project: &str) -> Result<(), Exception> {
    let from_query = parts
        .uri
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "project").map(|(_, v)| v.into_owned()));
    match header(&parts.headers, "x-appwrite-project").or(from_query) {
        Some(p) if p != project => Err(Exception::new(ErrorType::ProjectNotFound)),
        _ => Ok(()),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        check_project(parts, &state.config.project)?;
        let session = session_token(&parts.headers, &state.config.project);
        let creds = Credentials {
            key: header(&parts.headers, "x-appwrite-key"),
            session: session.clone(),
            jwt: header(&parts.headers, "x-appwrite-jwt"),
        };
        let who = state.auth.identify(state.db.store(), &creds, time::now_ms())?;
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default();
        let user_agent = header(&parts.headers, "user-agent").unwrap_or_default();
        Ok(Caller { who, ip, user_agent, has_session: session.is_some() })
    }
}

/// A JSON object body (an empty body is an empty object).
pub struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let too_big = e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE;
            Exception::msg(
                ErrorType::GeneralArgumentInvalid,
                if too_big {
                    format!("Request body is too large: {e}")
                } else {
                    format!("Could not read request body: {e}")
                },
            )
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(Body(m)),
            Ok(_) => {
                Err(Exception::msg(ErrorType::GeneralArgumentInvalid, "Request body must be a JSON object").into())
            }
            Err(e) => {
                Err(Exception::msg(ErrorType::GeneralArgumentInvalid, format!("Request body is not valid JSON: {e}"))
                    .into())
            }
        }
    }
}

/// Typed access to body parameters with Appwrite's messages.
pub trait ParamExt {
    fn opt_str(&self, name: &str) -> ApiResult<Option<&str>>;
    fn req_str(&self, name: &str) -> ApiResult<&str>;
    fn opt_bool(&self, name: &str) -> ApiResult<Option<bool>>;
    fn opt_strings(&self, name: &str) -> ApiResult<Option<Vec<String>>>;
    fn opt_object(&self, name: &str) -> ApiResult<Option<&Map<String, Value>>>;
}

pub fn missing(name: &str) -> ApiError {
    Exception::msg(ErrorType::GeneralArgumentInvalid, format!("Param \"{name}\" is not optional.")).into()
}

impl ParamExt for Map<String, Value> {
    fn opt_str(&self, name: &str) -> ApiResult<Option<&str>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Exception::invalid_param(name, "Value must be a valid string").into()),
        }
    }
    fn req_str(&self, name: &str) -> ApiResult<&str> {
        self.opt_str(name)?.ok_or_else(|| missing(name))
    }
    fn opt_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(Exception::invalid_param(name, "Value must be a valid boolean").into()),
        }
    }
    fn opt_strings(&self, name: &str) -> ApiResult<Option<Vec<String>>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Exception::invalid_param(name, "Value must be an array of strings").into())
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(Exception::invalid_param(name, "Value must be a valid array").into()),
        }
    }
    fn opt_object(&self, name: &str) -> ApiResult<Option<&Map<String, Value>>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(Exception::invalid_param(name, "Value must be a valid object").into()),
        }
    }
}

/// The query string: `queries[]` (in order, any of `queries[N]`, `queries[]`,
/// `queries`) and the other parameters by name.
#[derive(Debug, Default)]
pub struct Params {
    pub queries: Vec<String>,
    pub other: Vec<(String, String)>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.other.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn flag(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(Exception::invalid_param(name, "Value must be a valid boolean").into()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut p = Params::default();
        let mut indexed: Vec<(usize, String)> = Vec::new();
        if let Some(q) = parts.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                if k == "queries" || k == "queries[]" {
                    indexed.push((usize::MAX - 1, v.into_owned()));
                } else if let Some(n) = k.strip_prefix("queries[").and_then(|r| r.strip_suffix(']')) {
                    let n = n
                        .parse::<usize>()
                        .map_err(|_| Exception::invalid_param("queries", "Value must be a valid array"))?;
                    indexed.push((n, v.into_owned()));
                } else {
                    p.other.push((k.into_owned(), v.into_owned()));
                }
            }
        }
        // Numbered entries in their order, un-numbered ones after, as sent.
        indexed.sort_by_key(|(n, _)| *n);
        p.queries = indexed.into_iter().map(|(_, v)| v).collect();
        Ok(p)
    }
}
