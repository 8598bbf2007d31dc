//! `/v1/account`: sign-up, sessions (email/password and anonymous), JWTs,
//! and the signed-in user's own account.
//!
//! Session creation answers like Appwrite: cookies `a_session_<project>` (and
//! `_legacy`), plus the `X-Fallback-Cookies` header that the web SDK keeps in
//! `localStorage` when it cannot rely on cookies (another origin, or Node).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::{Body, Caller, ParamExt};
use super::{AppState, json, no_content};
use crate::auth::Identity;
use crate::auth::jwt;
use crate::auth::secrets::{self, MAX_PASSWORD, MIN_PASSWORD};
use crate::db::ops::accounts::{self as ops, AccountChange, NewSession, NewUser};
use crate::model::account::{Session, User};
use crate::model::column::is_email;
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::model::time;
use crate::store::keys;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", post(create).get(get_account))
        .route("/sessions/email", post(email_session))
        .route("/sessions/anonymous", post(anonymous_session))
        .route("/sessions", get(list_sessions).delete(delete_sessions))
        .route("/sessions/{id}", get(get_session).delete(delete_session))
        .route("/jwts", post(create_jwt))
        .route("/name", patch(update_name))
        .route("/password", patch(update_password))
        .route("/email", patch(update_email))
        .route("/prefs", get(get_prefs).patch(update_prefs))
        .route("/status", patch(block))
        .route("/logs", get(empty_logs))
        .route("/identities", get(empty_identities))
        .route("/targets/{id}", delete(not_supported))
}

fn user_of(who: &Identity) -> Result<&User, Exception> {
    who.user().map(|u| u.as_ref()).ok_or_else(|| {
        Identity::Guest.require_scope("account").err().unwrap_or_else(|| Exception::new(ErrorType::UserUnauthorized))
    })
}

pub(crate) fn check_password(password: &str) -> Result<(), Exception> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(Exception::invalid_param(
            "password",
            format!("Password must be between {MIN_PASSWORD} and {MAX_PASSWORD} characters long."),
        ));
    }
    Ok(())
}

pub(crate) async fn hash(password: String) -> Result<String, Exception> {
    tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(Exception::internal)?
        .map_err(Exception::from)
}

async fn create(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("sessions.write")?;
    let user_id = id::resolve("userId", body.req_str("userId")?)?;
    let email = body.req_str("email")?.trim().to_lowercase();
    if !is_email(&email) {
        return Err(Exception::invalid_param("email", "Value must be a valid email address").into());
    }
    let password = body.req_str("password")?.to_owned();
    check_password(&password)?;
    let name = body.opt_str("name")?.unwrap_or("").to_owned();
    if name.chars().count() > 128 {
        return Err(
            Exception::invalid_param("name", "Value must be a valid string and no longer than 128 chars").into()
        );
    }
    let password_hash = hash(password).await?;
    let new = NewUser { id: user_id, email, password_hash, name };
    let user = s.db.write(move |tx, _| ops::create_user(tx, &new)).await?;
    Ok(json(StatusCode::CREATED, &user.to_model()))
}

async fn get_account(caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    Ok(json(StatusCode::OK, &user_of(&caller.who)?.to_model()))
}

/// The response to a new session: the model, cookies and `X-Fallback-Cookies`.
pub(crate) fn session_response(s: &AppState, session: &Session, secret: &str, for_key: bool) -> Response {
    let token = secrets::encode_session(&session.user_id, secret);
    let model = session.to_model(true, if for_key { &token } else { "" });
    let mut resp = json(StatusCode::CREATED, &model);
    let project = &s.config.project;
    let expires = chrono::DateTime::from_timestamp_millis(session.expire)
        .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default();
    for name in [format!("a_session_{project}_legacy"), format!("a_session_{project}")] {
        let cookie = format!("{name}={token}; expires={expires}; path=/; httponly; samesite=lax");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    let fallback = json!({ format!("a_session_{project}"): token }).to_string();
    if let Ok(v) = HeaderValue::from_str(&fallback) {
        resp.headers_mut().insert("x-fallback-cookies", v);
    }
    resp
}

fn refuse_if_signed_in(caller: &Caller) -> Result<(), Exception> {
    if matches!(caller.who, Identity::User { via_jwt: false, .. }) {
        return Err(Exception::new(ErrorType::UserSessionAlreadyExists));
    }
    Ok(())
}

pub(crate) fn new_session(s: &AppState, caller: &Caller, user_id: &str, provider: &str) -> (NewSession, String) {
    let secret = secrets::new_secret();
    let new = NewSession {
        user_id: user_id.to_owned(),
        provider: provider.to_owned(),
        secret_hash: secrets::sha256_hex(&secret),
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        expire: time::now_ms() + s.config.limits.session_seconds * 1000,
    };
    (new, secret)
}

async fn email_session(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("sessions.write")?;
    refuse_if_signed_in(&caller)?;
    let email = body.req_str("email")?.trim().to_lowercase();
    let password = body.req_str("password")?.to_owned();
    let invalid = || Exception::new(ErrorType::UserInvalidCredentials);
    let user_id: Option<String> = s.db.store().auth(&keys::auth::email(&email))?;
    let user: Option<User> = match &user_id {
        Some(uid) => s.db.store().auth(&keys::auth::user(uid))?,
        None => None,
    };
    let user = user.ok_or_else(invalid)?;
    let phc = user.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || secrets::verify_password(&password, &phc))
        .await
        .map_err(Exception::internal)?;
    if !ok {
        return Err(invalid().into());
    }
    if !user.status {
        return Err(Exception::new(ErrorType::UserBlocked).into());
    }
    let (new, secret) = new_session(&s, &caller, &user.id, "email");
    let session = s.db.write(move |tx, _| ops::create_session(tx, &new)).await?;
    Ok(session_response(&s, &session, &secret, caller.who.is_key()))
}

async fn anonymous_session(State(s): State<AppState>, caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("sessions.write")?;
    refuse_if_signed_in(&caller)?;
    let user_id = id::unique();
    let (new, secret) = new_session(&s, &caller, &user_id, "anonymous");
    let (_, session) = s.db.write(move |tx, _| ops::create_anonymous(tx, &user_id, &new)).await?;
    Ok(session_response(&s, &session, &secret, caller.who.is_key()))
}

fn current_session_id(who: &Identity) -> Option<&str> {
    match who {
        Identity::User { session_id, .. } => Some(session_id),
        _ => None,
    }
}

pub(crate) fn sessions_of(s: &AppState, user_id: &str) -> Result<Vec<Session>, Exception> {
    let mut out = Vec::new();
    for key in s.db.store().auth_keys(&keys::auth::user_sessions(user_id))? {
        let sid = key.rsplit(|b| *b == 0).next().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        if let Some(session) = s.db.store().auth::<Session>(&keys::auth::session(&sid))? {
            out.push(session);
        }
    }
    out.sort_by_key(|s| s.created);
    Ok(out)
}

async fn list_sessions(State(s): State<AppState>, caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    let user = user_of(&caller.who)?;
    let current = current_session_id(&caller.who);
    let list: Vec<Value> =
        sessions_of(&s, &user.id)?.iter().map(|x| x.to_model(Some(x.id.as_str()) == current, "")).collect();
    Ok(json(StatusCode::OK, &json!({ "total": list.len(), "sessions": list })))
}

fn resolve_session_id<'a>(who: &'a Identity, id: &'a str) -> &'a str {
    if id == "current" { current_session_id(who).unwrap_or(id) } else { id }
}

async fn get_session(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    let user = user_of(&caller.who)?;
    let sid = resolve_session_id(&caller.who, &id);
    let session: Session =
        s.db.store()
            .auth(&keys::auth::session(sid))?
            .filter(|x: &Session| x.user_id == user.id)
            .ok_or_else(|| Exception::new(ErrorType::UserSessionNotFound))?;
    let current = current_session_id(&caller.who) == Some(session.id.as_str());
    Ok(json(StatusCode::OK, &session.to_model(current, "")))
}

fn clear_cookies(s: &AppState, mut resp: Response) -> Response {
    let project = &s.config.project;
    for name in [format!("a_session_{project}_legacy"), format!("a_session_{project}")] {
        let cookie = format!("{name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/; httponly; samesite=lax");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

async fn delete_session(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    let user_id = user_of(&caller.who)?.id.clone();
    let sid = resolve_session_id(&caller.who, &id).to_owned();
    let current = current_session_id(&caller.who) == Some(sid.as_str());
    s.db.write(move |tx, _| ops::delete_session(tx, &user_id, &sid)).await?;
    let resp = no_content();
    Ok(if current { clear_cookies(&s, resp) } else { resp })
}

async fn delete_sessions(State(s): State<AppState>, caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    let user_id = user_of(&caller.who)?.id.clone();
    let ids: Vec<String> = sessions_of(&s, &user_id)?.into_iter().map(|x| x.id).collect();
    s.db.write(move |tx, _| {
        for sid in &ids {
            ops::delete_session(tx, &user_id, sid)?;
        }
        Ok(())
    })
    .await?;
    Ok(clear_cookies(&s, no_content()))
}

async fn create_jwt(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    let (user, session_id) = match &caller.who {
        Identity::User { via_jwt: true, .. } => {
            return Err(Exception::new(ErrorType::UserJwtCreationDenied).into());
        }
        Identity::User { user, session_id, .. } => (user.clone(), session_id.clone()),
        _ => {
            return Err(user_of(&caller.who)
                .err()
                .unwrap_or_else(|| Exception::new(ErrorType::UserUnauthorized))
                .into());
        }
    };
    let duration = match body.get("duration") {
        None | Some(Value::Null) => jwt::DEFAULT_DURATION,
        Some(v) => v.as_u64().filter(|d| *d <= jwt::MAX_DURATION).ok_or_else(|| {
            Exception::invalid_param(
                "duration",
                format!("Value must be a valid range between 0 and {}", jwt::MAX_DURATION),
            )
        })?,
    };
    let token = s.auth.jwt_keys().issue(&user.id, &session_id, duration).map_err(Exception::from)?;
    Ok(json(StatusCode::CREATED, &json!({ "jwt": token })))
}

async fn change(s: &AppState, caller: &Caller, change: AccountChange) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    let user_id = user_of(&caller.who)?.id.clone();
    let user = s.db.write(move |tx, _| ops::update_user(tx, &user_id, &change)).await?;
    Ok(json(StatusCode::OK, &user.to_model()))
}

async fn update_name(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    let name = body.req_str("name")?.to_owned();
    change(&s, &caller, AccountChange::Name(name)).await
}

async fn verify_current_password(user: &User, given: Option<&str>) -> Result<(), Exception> {
    if user.password_hash.is_empty() {
        return Ok(());
    }
    let given = given.unwrap_or("").to_owned();
    let phc = user.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || secrets::verify_password(&given, &phc))
        .await
        .map_err(Exception::internal)?;
    if ok { Ok(()) } else { Err(Exception::new(ErrorType::UserInvalidCredentials)) }
}

async fn update_password(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    let user = user_of(&caller.who)?.clone();
    let password = body.req_str("password")?.to_owned();
    check_password(&password)?;
    verify_current_password(&user, body.opt_str("oldPassword")?).await?;
    let h = hash(password).await?;
    change(&s, &caller, AccountChange::PasswordHash(h)).await
}

async fn update_email(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    let user = user_of(&caller.who)?.clone();
    let email = body.req_str("email")?.trim().to_lowercase();
    if !is_email(&email) {
        return Err(Exception::invalid_param("email", "Value must be a valid email address").into());
    }
    verify_current_password(&user, body.opt_str("password")?).await?;
    change(&s, &caller, AccountChange::Email(email)).await
}

async fn get_prefs(caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    Ok(json(StatusCode::OK, &user_of(&caller.who)?.prefs))
}

async fn update_prefs(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    let prefs = body.opt_object("prefs")?.cloned().ok_or_else(|| super::extract::missing("prefs"))?;
    if serde_json::to_vec(&prefs).map(|v| v.len()).unwrap_or(0) > 65_536 {
        return Err(Exception::invalid_param("prefs", "Preferences must be at most 65536 bytes").into());
    }
    change(&s, &caller, AccountChange::Prefs(prefs)).await
}

async fn block(State(s): State<AppState>, caller: Caller) -> ApiResult<Response> {
    change(&s, &caller, AccountChange::Status(false)).await
}

async fn empty_logs(caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    Ok(json(StatusCode::OK, &json!({ "total": 0, "logs": [] })))
}

async fn empty_identities(caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("account")?;
    Ok(json(StatusCode::OK, &json!({ "total": 0, "identities": [] })))
}

async fn not_supported() -> Response {
    super::error::ApiError::from(Exception::msg(ErrorType::GeneralNotImplemented, "Not supported by Arcade."))
        .into_response()
}
