//! `/v1/functions`: functions, deployments, variables and executions, in
//! Appwrite's shapes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, patch, post};
use serde_json::{Map, Value, json};

use super::databases::simple_paging;
use super::error::ApiResult;
use super::extract::{Body, Caller, ParamExt, Params};
use super::{AppState, json, no_content};
use crate::auth::Identity;
use crate::db::ops::functions as ops;
use crate::functions::runner::Call;
use crate::functions::{ExecRequest, Functions};
use crate::model::exception::{ErrorType, Exception};
use crate::model::function::{self as model, Deployment, DeploymentInfo, Execution, Function, Header, Variable};
use crate::model::id;
use crate::store::keys::functions as k;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", post(create).get(list))
        .route("/{function}", get(get_one).put(update).delete(delete))
        .route("/{function}/deployment", patch(activate))
        .route("/{function}/deployments", post(deploy).get(list_deployments))
        .route("/{function}/deployments/{deployment}", get(get_deployment).delete(delete_deployment))
        .route("/{function}/variables", post(create_variable).get(list_variables))
        .route("/{function}/variables/{variable}", get(get_variable).put(update_variable).delete(delete_variable))
        .route("/{function}/executions", post(execute).get(list_executions))
        .route("/{function}/executions/{execution}", get(get_execution).delete(delete_execution))
}

fn runtime(s: &AppState) -> Result<&Arc<Functions>, Exception> {
    s.functions.as_ref().ok_or_else(|| {
        Exception::msg(ErrorType::GeneralNotImplemented, "The function runtime is not available on this server.")
    })
}

fn load(s: &AppState, id: &str) -> Result<Function, Exception> {
    s.db.store().record(&k::function(id))?.ok_or_else(|| Exception::new(ErrorType::FunctionNotFound))
}

fn info(s: &AppState, f: &Function) -> DeploymentInfo {
    let get = |id: &Option<String>| {
        id.as_ref().and_then(|d| s.db.store().record::<Deployment>(&k::deployment(d)).ok().flatten())
    };
    let active = get(&f.deployment);
    let latest = get(&f.latest_deployment);
    DeploymentInfo {
        active_created: active.map(|d| d.created),
        latest_created: latest.as_ref().map(|d| d.created),
        latest_status: latest.map(|d| d.status),
    }
}

fn model_of(s: &AppState, f: &Function) -> Value {
    f.to_model(&info(s, f))
}

/// Check and apply the settable fields of a function.
fn apply_settings(f: &mut Function, body: &Map<String, Value>) -> Result<(), Exception> {
    fn strings(body: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, Exception> {
        body.opt_strings(name).map_err(|e| e.exception)
    }
    if let Some(name) = body.opt_str("name").map_err(|e| e.exception)? {
        if name.chars().count() > 128 {
            return Err(Exception::invalid_param("name", "Value must be a valid string and no longer than 128 chars"));
        }
        f.name = name.to_owned();
    }
    if let Some(r) = body.opt_str("runtime").map_err(|e| e.exception)? {
        f.runtime = r.to_owned();
    }
    if let Some(roles) = strings(body, "execute")? {
        for r in &roles {
            crate::model::permission::validate_role(r).map_err(|why| Exception::invalid_param("execute", why))?;
        }
        if roles.len() > 100 {
            return Err(Exception::invalid_param("execute", "Value must be an array of at most 100 roles"));
        }
        f.execute = roles;
    }
    if let Some(events) = strings(body, "events")? {
        for e in &events {
            let n = e.split('.').count();
            if !(2..=7).contains(&n) || e.split('.').any(str::is_empty) {
                return Err(Exception::invalid_param("events", format!("Event \"{e}\" is not valid")));
            }
            if e.starts_with("functions.") {
                return Err(Exception::invalid_param(
                    "events",
                    "Triggering a function on a function event is not allowed.",
                ));
            }
        }
        f.events = events;
    }
    if let Some(schedule) = body.opt_str("schedule").map_err(|e| e.exception)? {
        if !schedule.is_empty() {
            crate::functions::schedule::Cron::parse(schedule).map_err(|why| {
                Exception::invalid_param("schedule", format!("Value must be a valid cron expression: {why}"))
            })?;
        }
        f.schedule = schedule.to_owned();
    }
    if let Some(t) = body.get("timeout").filter(|v| !v.is_null()) {
        f.timeout = t.as_u64().filter(|t| (1..=model::MAX_TIMEOUT as u64).contains(t)).ok_or_else(|| {
            Exception::invalid_param(
                "timeout",
                format!("Value must be a valid range between 1 and {}", model::MAX_TIMEOUT),
            )
        })? as u32;
    }
    if let Some(m) = body.get("memory").filter(|v| !v.is_null()) {
        f.memory = m.as_u64().filter(|m| (1..=model::MAX_MEMORY_MB as u64).contains(m)).ok_or_else(|| {
            Exception::invalid_param(
                "memory",
                format!("Value must be a number of MiB between 1 and {}", model::MAX_MEMORY_MB),
            )
        })? as u32;
    }
    if let Some(v) = body.get("fuel") {
        f.fuel = match v {
            Value::Null => None,
            _ => Some(
                v.as_u64()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Exception::invalid_param("fuel", "Value must be a positive integer"))?,
            ),
        };
    }
    for (name, slot) in [("enabled", &mut f.enabled), ("logging", &mut f.logging)] {
        if let Some(b) = body.opt_bool(name).map_err(|e| e.exception)? {
            *slot = b;
        }
    }
    if let Some(e) = body.opt_str("entrypoint").map_err(|e| e.exception)? {
        f.entrypoint = e.to_owned();
    }
    if let Some(c) = body.opt_str("commands").map_err(|e| e.exception)? {
        f.commands = c.to_owned();
    }
    if let Some(scopes) = strings(body, "scopes")? {
        f.scopes = scopes;
    }
    Ok(())
}

async fn create(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    let id = id::resolve("functionId", body.req_str("functionId")?)?;
    body.req_str("name")?;
    let mut f = Function {
        id,
        name: String::new(),
        runtime: "wasi-0.2".into(),
        execute: Vec::new(),
        events: Vec::new(),
        schedule: String::new(),
        timeout: model::DEFAULT_TIMEOUT,
        enabled: true,
        logging: true,
        entrypoint: String::new(),
        commands: String::new(),
        scopes: Vec::new(),
        memory: model::DEFAULT_MEMORY_MB,
        fuel: None,
        deployment: None,
        latest_deployment: None,
        vars: Vec::new(),
        created: 0,
        updated: 0,
    };
    apply_settings(&mut f, &body)?;
    let who = caller.who;
    let f = s.db.write(move |tx, _| ops::create_function(tx, &who, &f)).await?;
    Ok(json(StatusCode::CREATED, &model_of(&s, &f)))
}

async fn list(State(s): State<AppState>, caller: Caller, params: Params) -> ApiResult<Response> {
    caller.who.require_scope("functions.read")?;
    let all: Vec<Function> = s.db.store().records(k::FUNCTION_PREFIX)?;
    let (limit, offset) = simple_paging(&params)?;
    let page: Vec<Value> = all.iter().skip(offset).take(limit).map(|f| model_of(&s, f)).collect();
    Ok(json(StatusCode::OK, &json!({ "total": all.len(), "functions": page })))
}

async fn get_one(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("functions.read")?;
    let f = load(&s, &id)?;
    Ok(json(StatusCode::OK, &model_of(&s, &f)))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    body.req_str("name")?;
    let who = caller.who;
    let f = s.db.write(move |tx, _| ops::update_function(tx, &who, &id, |f| apply_settings(f, &body))).await?;
    Ok(json(StatusCode::OK, &model_of(&s, &f)))
}

async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    load(&s, &id)?;
    let deployments = s.db.store().record_ids(&k::function_deployments(&id), false)?;
    let executions = s.db.store().record_ids(&k::function_executions(&id), false)?;
    let who = caller.who;
    let d2 = deployments.clone();
    s.db.write(move |tx, _| ops::delete_function(tx, &who, &id, &d2, &executions)).await?;
    if let Ok(rt) = runtime(&s) {
        for d in deployments {
            rt.forget(&d);
        }
    }
    Ok(no_content())
}

async fn activate(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    let did = body.req_str("deploymentId")?.to_owned();
    let d: Deployment =
        s.db.store()
            .record(&k::deployment(&did))?
            .filter(|d: &Deployment| d.function == id)
            .ok_or_else(|| Exception::new(ErrorType::DeploymentNotFound))?;
    if d.status != "ready" {
        return Err(Exception::msg(
            ErrorType::GeneralArgumentInvalid,
            format!("Deployment {did} did not build: {}", d.build_logs),
        )
        .into());
    }
    let who = caller.who;
    let f =
        s.db.write(move |tx, _| {
            ops::update_function(tx, &who, &id, |f| {
                f.deployment = Some(did.clone());
                Ok(())
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &model_of(&s, &f)))
}

/// `POST .../deployments`: the component as multipart (Appwrite's `code`
/// field, with `activate`) or as the raw body (`?activate=true`).
async fn deploy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
    req: Request,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    let rt = runtime(&s)?.clone();
    if req.headers().contains_key("content-range") {
        return Err(Exception::msg(
            ErrorType::GeneralArgumentInvalid,
            "Chunked uploads are not supported: upload components smaller than 5 MB in one request.",
        )
        .into());
    }
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let (mut code, mut activate, mut entrypoint) = (None, params.flag("activate")?.unwrap_or(false), String::new());
    if multipart {
        let mut form =
            Multipart::from_request(req, &s).await.map_err(|e| Exception::invalid_param("code", e.to_string()))?;
        while let Some(field) = form.next_field().await.map_err(|e| Exception::invalid_param("code", e.to_string()))? {
            let name = field.name().unwrap_or_default().to_owned();
            let data = field.bytes().await.map_err(|e| Exception::invalid_param(&name, e.to_string()))?;
            match name.as_str() {
                "code" => code = Some(data.to_vec()),
                "activate" => activate = data.as_ref() == b"true" || data.as_ref() == b"1",
                "entrypoint" => entrypoint = String::from_utf8_lossy(&data).into_owned(),
                _ => {}
            }
        }
    } else {
        let bytes = Bytes::from_request(req, &s).await.map_err(|e| Exception::invalid_param("code", e.to_string()))?;
        code = Some(bytes.to_vec());
    }
    let code = code.filter(|c| !c.is_empty()).ok_or_else(|| super::extract::missing("code"))?;
    let d = rt.deploy(&caller.who, &id, code, activate, entrypoint).await?;
    let active = load(&s, &id)?.deployment.as_deref() == Some(d.id.as_str());
    Ok(json(StatusCode::ACCEPTED, &d.to_model(active)))
}

async fn list_deployments(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("functions.read")?;
    let f = load(&s, &id)?;
    let ids = s.db.store().record_ids(&k::function_deployments(&id), false)?;
    let list: Vec<Value> = ids
        .iter()
        .filter_map(|d| s.db.store().record::<Deployment>(&k::deployment(d)).ok().flatten())
        .map(|d| d.to_model(f.deployment.as_deref() == Some(d.id.as_str())))
        .collect();
    Ok(json(StatusCode::OK, &json!({ "total": list.len(), "deployments": list })))
}

async fn get_deployment(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, did)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.read")?;
    let f = load(&s, &id)?;
    let d: Deployment =
        s.db.store()
            .record(&k::deployment(&did))?
            .filter(|d: &Deployment| d.function == id)
            .ok_or_else(|| Exception::new(ErrorType::DeploymentNotFound))?;
    Ok(json(StatusCode::OK, &d.to_model(f.deployment.as_deref() == Some(did.as_str()))))
}

async fn delete_deployment(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, did)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    let who = caller.who;
    let d2 = did.clone();
    s.db.write(move |tx, _| ops::delete_deployment(tx, &who, &id, &d2)).await?;
    if let Ok(rt) = runtime(&s) {
        rt.forget(&did);
    }
    Ok(no_content())
}

// ---- variables ----

fn variable_params(
    body: &Map<String, Value>,
    existing: Option<&Variable>,
) -> Result<(String, String, bool), Exception> {
    let key = body
        .opt_str("key")
        .map_err(|e| e.exception)?
        .map(str::to_owned)
        .or(existing.map(|v| v.key.clone()))
        .ok_or_else(|| super::extract::missing("key").exception)?;
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Exception::invalid_param("key", "Value must be 1 to 255 letters, digits or underscores"));
    }
    let value = body
        .opt_str("value")
        .map_err(|e| e.exception)?
        .map(str::to_owned)
        .or(existing.map(|v| v.value.clone()))
        .unwrap_or_default();
    if value.len() > 8192 {
        return Err(Exception::invalid_param("value", "Value must be at most 8192 characters"));
    }
    let secret = body.opt_bool("secret").map_err(|e| e.exception)?.or(existing.map(|v| v.secret)).unwrap_or(false);
    Ok((key, value, secret))
}

async fn create_variable(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    let (key, value, secret) = variable_params(&body, None)?;
    let vid = id::unique();
    let who = caller.who;
    let v2 = vid.clone();
    let f =
        s.db.write(move |tx, _| {
            ops::update_function(tx, &who, &id, |f| {
                if f.vars.iter().any(|v| v.key == key) {
                    return Err(Exception::msg(
                        ErrorType::GeneralArgumentInvalid,
                        format!("A variable with the key \"{key}\" already exists."),
                    ));
                }
                let now = crate::model::time::now_ms();
                f.vars.push(Variable {
                    id: v2.clone(),
                    key: key.clone(),
                    value: value.clone(),
                    secret,
                    created: now,
                    updated: now,
                });
                Ok(())
            })
        })
        .await?;
    let v = f.vars.iter().find(|v| v.id == vid).map(|v| v.to_model(&f.id)).unwrap_or_default();
    Ok(json(StatusCode::CREATED, &v))
}

async fn list_variables(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("functions.read")?;
    let f = load(&s, &id)?;
    let list: Vec<Value> = f.vars.iter().map(|v| v.to_model(&f.id)).collect();
    Ok(json(StatusCode::OK, &json!({ "total": list.len(), "variables": list })))
}

async fn get_variable(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, vid)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.read")?;
    let f = load(&s, &id)?;
    let v = f
        .vars
        .iter()
        .find(|v| v.id == vid)
        .ok_or_else(|| Exception::msg(ErrorType::GeneralArgumentInvalid, "Variable not found"))?;
    Ok(json(StatusCode::OK, &v.to_model(&f.id)))
}

async fn update_variable(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, vid)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    let who = caller.who;
    let v2 = vid.clone();
    let f =
        s.db.write(move |tx, _| {
            ops::update_function(tx, &who, &id, |f| {
                let pos = f
                    .vars
                    .iter()
                    .position(|v| v.id == v2)
                    .ok_or_else(|| Exception::msg(ErrorType::GeneralArgumentInvalid, "Variable not found"))?;
                let (key, value, secret) = variable_params(&body, Some(&f.vars[pos]))?;
                let v = &mut f.vars[pos];
                v.key = key;
                v.value = value;
                v.secret = secret;
                v.updated = crate::model::time::now_ms();
                Ok(())
            })
        })
        .await?;
    let v = f.vars.iter().find(|v| v.id == vid).map(|v| v.to_model(&f.id)).unwrap_or_default();
    Ok(json(StatusCode::OK, &v))
}

async fn delete_variable(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, vid)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("functions.write")?;
    let who = caller.who;
    s.db.write(move |tx, _| {
        ops::update_function(tx, &who, &id, |f| {
            let before = f.vars.len();
            f.vars.retain(|v| v.id != vid);
            if f.vars.len() == before {
                return Err(Exception::msg(ErrorType::GeneralArgumentInvalid, "Variable not found"));
            }
            Ok(())
        })
    })
    .await?;
    Ok(no_content())
}

// ---- executions ----

/// Whether the caller may execute `f` (its `execute` roles; keys always may).
fn may_execute(f: &Function, who: &Identity) -> bool {
    who.is_key() || (f.enabled && f.execute.iter().any(|r| r == "any" || who.has_role(r)))
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];

async fn execute(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("executions.write")?;
    let rt = runtime(&s)?.clone();
    let f = rt.function(&id)?.ok_or_else(|| Exception::new(ErrorType::FunctionNotFound))?;
    if !f.enabled && !caller.who.is_key() {
        return Err(Exception::new(ErrorType::FunctionNotFound).into());
    }
    if !may_execute(&f, &caller.who) {
        return Err(Exception::msg(
            ErrorType::UserUnauthorized,
            format!(
                "To execute function using the API, the caller's roles must include one of: {}",
                f.execute.join(", ")
            ),
        )
        .into());
    }
    let asynchronous = body.opt_bool("async")?.unwrap_or(false);
    if body.get("scheduledAt").is_some_and(|v| !v.is_null()) {
        return Err(Exception::msg(
            ErrorType::GeneralNotImplemented,
            "Scheduled one-off executions are not supported yet; use the function's schedule.",
        )
        .into());
    }
    let method = body.opt_str("method")?.unwrap_or("POST").to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(Exception::invalid_param("method", format!("Value must be one of ({})", METHODS.join(", "))).into());
    }
    let target = body.opt_str("path")?.unwrap_or("/").to_owned();
    if target.len() > 2048 || !target.starts_with('/') {
        return Err(
            Exception::invalid_param("path", "Value must be a path starting with / and at most 2048 chars").into()
        );
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target, String::new()),
    };
    let mut headers: Vec<Header> = Vec::new();
    match body.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            if h.len() > 100 {
                return Err(Exception::invalid_param("headers", "At most 100 headers").into());
            }
            let mut size = 0;
            for (k, v) in h {
                let name = k.to_ascii_lowercase();
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return Err(Exception::invalid_param(
                        "headers",
                        format!("Header name \"{k}\" must be alphanumeric with hyphens"),
                    )
                    .into());
                }
                if name.starts_with("x-appwrite-") {
                    return Err(
                        Exception::invalid_param("headers", "Headers starting with x-appwrite- are reserved").into()
                    );
                }
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                size += name.len() + value.len();
                headers.push(Header { name, value });
            }
            if size > 16 * 1024 {
                return Err(Exception::invalid_param("headers", "Headers must total at most 16 KB").into());
            }
        }
        Some(_) => return Err(Exception::invalid_param("headers", "Value must be a valid object").into()),
    }
    let user = caller.who.user_id().map(str::to_owned);
    headers.push(Header { name: "x-appwrite-trigger".into(), value: "http".into() });
    headers.push(Header { name: "x-appwrite-user-id".into(), value: user.clone().unwrap_or_default() });
    headers.push(Header { name: "x-appwrite-client-ip".into(), value: caller.ip.clone() });
    let body_text = body.opt_str("body")?.unwrap_or("").to_owned();
    if body_text.len() > 10 << 20 {
        return Err(Exception::invalid_param("body", "Value must be at most 10 MB").into());
    }
    let call = Call {
        method,
        path,
        query,
        headers,
        body: body_text.into_bytes(),
        trigger: "http".into(),
        event: None,
        user,
        execution_id: String::new(),
    };
    let e = rt.execute(ExecRequest::http(f, call, asynchronous)).await?;
    let status = if asynchronous { StatusCode::ACCEPTED } else { StatusCode::CREATED };
    Ok(json(status, &e.model(caller.who.is_key(), !asynchronous)))
}

fn readable(e: &Execution, who: &Identity) -> bool {
    who.is_key() || e.user.as_deref().is_some_and(|u| who.user_id() == Some(u))
}

async fn list_executions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    caller.who.require_scope("executions.read")?;
    load(&s, &id)?;
    let mut all: Vec<Execution> = s.db.store().records(&k::function_executions(&id))?;
    all.retain(|e| readable(e, &caller.who));
    all.reverse();
    let (limit, offset) = simple_paging(&params)?;
    let page: Vec<Value> =
        all.iter().skip(offset).take(limit).map(|e| e.to_model(caller.who.is_key(), false)).collect();
    Ok(json(StatusCode::OK, &json!({ "total": all.len(), "executions": page })))
}

async fn get_execution(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("executions.read")?;
    let e: Execution =
        s.db.store()
            .record(&k::execution(&id, &eid))?
            .filter(|e: &Execution| readable(e, &caller.who))
            .ok_or_else(|| Exception::new(ErrorType::ExecutionNotFound))?;
    Ok(json(StatusCode::OK, &e.model(caller.who.is_key(), false)))
}

async fn delete_execution(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, eid)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("executions.write")?;
    if !caller.who.is_key() {
        return Err(Exception::new(ErrorType::UserUnauthorized).into());
    }
    s.db.write(move |tx, _| ops::delete_execution(tx, &id, &eid)).await?;
    Ok(no_content())
}
