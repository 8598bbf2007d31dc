//! `/v1/users`: the server-side Users API (API keys), so that servers can
//! manage players, and labels (`label:<name>` roles) can be given at all.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, patch, post, put};
use serde_json::{Value, json};

use super::account::{check_password, hash, new_session, session_response, sessions_of};
use super::databases::simple_paging;
use super::error::ApiResult;
use super::extract::{Body, Caller, ParamExt, Params};
use super::{AppState, json, no_content};
use crate::db::ops::accounts::{self as ops, AccountChange, NewUser};
use crate::model::account::{Membership, Team, User};
use crate::model::column::is_email;
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::store::keys;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", post(create).get(list))
        .route("/{user}", get(get_user).delete(delete_user))
        .route("/{user}/labels", put(labels))
        .route("/{user}/status", patch(status))
        .route("/{user}/name", patch(name))
        .route("/{user}/email", patch(email))
        .route("/{user}/password", patch(password))
        .route("/{user}/prefs", get(get_prefs).patch(prefs))
        .route("/{user}/sessions", get(list_sessions).post(create_session).delete(delete_sessions))
        .route("/{user}/sessions/{session}", delete(delete_session))
        .route("/{user}/memberships", get(memberships))
        .route("/{user}/jwts", post(jwt))
}

fn load(s: &AppState, id: &str) -> Result<User, Exception> {
    s.db.store().auth(&keys::auth::user(id))?.ok_or_else(|| Exception::new(ErrorType::UserNotFound))
}

async fn create(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("users.write")?;
    let user_id = id::resolve("userId", body.req_str("userId")?)?;
    let email = body.opt_str("email")?.unwrap_or("").trim().to_lowercase();
    if !email.is_empty() && !is_email(&email) {
        return Err(Exception::invalid_param("email", "Value must be a valid email address").into());
    }
    let password_hash = match body.opt_str("password")? {
        Some(p) => {
            check_password(p)?;
            hash(p.to_owned()).await?
        }
        None => String::new(),
    };
    let name = body.opt_str("name")?.unwrap_or("").to_owned();
    let new = NewUser { id: user_id, email, password_hash, name };
    let user = s.db.write(move |tx, _| ops::create_user(tx, &new)).await?;
    Ok(json(StatusCode::CREATED, &user.to_model()))
}

async fn list(State(s): State<AppState>, caller: Caller, params: Params) -> ApiResult<Response> {
    caller.who.require_scope("users.read")?;
    let mut all: Vec<User> = s.db.store().auth_values(keys::auth::USER_PREFIX)?;
    all.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let (limit, offset) = simple_paging(&params)?;
    let page: Vec<Value> = all.iter().skip(offset).take(limit).map(User::to_model).collect();
    Ok(json(StatusCode::OK, &json!({ "total": all.len(), "users": page })))
}

async fn get_user(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("users.read")?;
    Ok(json(StatusCode::OK, &load(&s, &id)?.to_model()))
}

fn memberships_of(s: &AppState, user_id: &str) -> Result<Vec<Membership>, Exception> {
    let mut out = Vec::new();
    for key in s.db.store().auth_keys(&keys::auth::user_memberships(user_id))? {
        let mid = key.rsplit(|b| *b == 0).next().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        if let Some(m) = s.db.store().auth::<Membership>(&keys::auth::membership(&mid))? {
            out.push(m);
        }
    }
    Ok(out)
}

async fn delete_user(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("users.write")?;
    load(&s, &id)?;
    let sessions: Vec<String> = sessions_of(&s, &id)?.into_iter().map(|x| x.id).collect();
    let members = memberships_of(&s, &id)?;
    s.db.write(move |tx, _| ops::delete_user(tx, &id, &sessions, &members)).await?;
    Ok(no_content())
}

async fn apply(s: &AppState, caller: &Caller, id: String, change: AccountChange) -> ApiResult<Response> {
    caller.who.require_scope("users.write")?;
    let user = s.db.write(move |tx, _| ops::update_user(tx, &id, &change)).await?;
    Ok(json(StatusCode::OK, &user.to_model()))
}

async fn labels(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    let labels = body.opt_strings("labels")?.ok_or_else(|| super::extract::missing("labels"))?;
    if labels.len() > 1000
        || labels.iter().any(|l| l.is_empty() || l.len() > 36 || !l.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(Exception::invalid_param("labels", "Each label must be 1 to 36 alphanumeric characters").into());
    }
    apply(&s, &caller, id, AccountChange::Labels(labels)).await
}

async fn status(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    let on = body.opt_bool("status")?.ok_or_else(|| super::extract::missing("status"))?;
    apply(&s, &caller, id, AccountChange::Status(on)).await
}

async fn name(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    let name = body.req_str("name")?.to_owned();
    apply(&s, &caller, id, AccountChange::Name(name)).await
}

async fn email(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    let email = body.req_str("email")?.trim().to_lowercase();
    if !is_email(&email) {
        return Err(Exception::invalid_param("email", "Value must be a valid email address").into());
    }
    apply(&s, &caller, id, AccountChange::Email(email)).await
}

async fn password(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("users.write")?;
    let p = body.req_str("password")?;
    check_password(p)?;
    let h = hash(p.to_owned()).await?;
    apply(&s, &caller, id, AccountChange::PasswordHash(h)).await
}

async fn get_prefs(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("users.read")?;
    Ok(json(StatusCode::OK, &load(&s, &id)?.prefs))
}

async fn prefs(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    let prefs = body.opt_object("prefs")?.cloned().ok_or_else(|| super::extract::missing("prefs"))?;
    caller.who.require_scope("users.write")?;
    let user = s.db.write(move |tx, _| ops::update_user(tx, &id, &AccountChange::Prefs(prefs.clone()))).await?;
    Ok(json(StatusCode::OK, &user.prefs))
}

async fn list_sessions(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("users.read")?;
    load(&s, &id)?;
    let list: Vec<Value> = sessions_of(&s, &id)?.iter().map(|x| x.to_model(false, "")).collect();
    Ok(json(StatusCode::OK, &json!({ "total": list.len(), "sessions": list })))
}

/// A session for the user, created by the server (its `secret` is returned, as in Appwrite).
async fn create_session(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("users.write")?;
    load(&s, &id)?;
    let (new, secret) = new_session(&s, &caller, &id, "server");
    let session = s.db.write(move |tx, _| ops::create_session(tx, &new)).await?;
    Ok(session_response(&s, &session, &secret, true))
}

async fn delete_sessions(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("users.write")?;
    load(&s, &id)?;
    let ids: Vec<String> = sessions_of(&s, &id)?.into_iter().map(|x| x.id).collect();
    s.db.write(move |tx, _| {
        for sid in &ids {
            ops::delete_session(tx, &id, sid)?;
        }
        Ok(())
    })
    .await?;
    Ok(no_content())
}

async fn delete_session(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, sid)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("users.write")?;
    s.db.write(move |tx, _| ops::delete_session(tx, &id, &sid)).await?;
    Ok(no_content())
}

async fn memberships(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("users.read")?;
    let user = load(&s, &id)?;
    let mut list = Vec::new();
    for m in memberships_of(&s, &id)? {
        let team: Option<Team> = s.db.store().auth(&keys::auth::team(&m.team_id))?;
        list.push(m.to_model(Some(&user), team.as_ref()));
    }
    Ok(json(StatusCode::OK, &json!({ "total": list.len(), "memberships": list })))
}

async fn jwt(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("users.write")?;
    load(&s, &id)?;
    let session_id = match body.opt_str("sessionId")? {
        Some(sid) if sid != "recent" => sid.to_owned(),
        _ => sessions_of(&s, &id)?.last().map(|x| x.id.clone()).ok_or_else(|| {
            Exception::msg(ErrorType::UserSessionNotFound, "The user has no session to issue a JWT for.")
        })?,
    };
    let duration = body.get("duration").and_then(Value::as_u64).unwrap_or(crate::auth::jwt::DEFAULT_DURATION);
    if duration > crate::auth::jwt::MAX_DURATION {
        return Err(Exception::invalid_param("duration", "Value must be a valid range between 0 and 3600").into());
    }
    let token = s.auth.jwt_keys().issue(&id, &session_id, duration).map_err(Exception::from)?;
    Ok(json(StatusCode::CREATED, &json!({ "jwt": token })))
}
