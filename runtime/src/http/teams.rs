//! `/v1/teams`: teams and memberships.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::{Body, Caller, ParamExt};
use super::{AppState, json, no_content};
use crate::auth::Identity;
use crate::db::ops::teams as ops;
use crate::model::account::{Membership, Team, User};
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::store::{Store, keys};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", post(create).get(list))
        .route("/{team}", get(get_team).put(update).delete(delete))
        .route("/{team}/memberships", post(create_membership).get(list_memberships))
        .route(
            "/{team}/memberships/{membership}",
            get(get_membership).patch(update_membership).delete(delete_membership),
        )
}

fn members(store: &Store, team: &str) -> Result<Vec<Membership>, Exception> {
    let mut out = Vec::new();
    for key in store.auth_keys(&keys::auth::team_memberships(team))? {
        let mid = key.rsplit(|b| *b == 0).next().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        if let Some(m) = store.auth::<Membership>(&keys::auth::membership(&mid))? {
            out.push(m);
        }
    }
    out.sort_by_key(|m| m.created);
    Ok(out)
}

fn visible(who: &Identity, team: &str) -> bool {
    who.is_key() || who.has_role(&format!("team:{team}"))
}

fn load_team(store: &Store, who: &Identity, id: &str) -> Result<Team, Exception> {
    store
        .auth::<Team>(&keys::auth::team(id))?
        .filter(|_| visible(who, id))
        .ok_or_else(|| Exception::new(ErrorType::TeamNotFound))
}

fn membership_model(store: &Store, m: &Membership, team: &Team) -> Result<Value, Exception> {
    let user: Option<User> = store.auth(&keys::auth::user(&m.user_id))?;
    Ok(m.to_model(user.as_ref(), Some(team)))
}

fn roles_param(body: &serde_json::Map<String, Value>) -> ApiResult<Vec<String>> {
    let roles = body.opt_strings("roles")?.unwrap_or_default();
    if roles.len() > 100
        || roles.iter().any(|r| {
            r.is_empty() || r.len() > 81 || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
    {
        return Err(Exception::invalid_param(
            "roles",
            "Value must be an array of at most 100 role names of letters, digits, _ and -",
        )
        .into());
    }
    Ok(roles)
}

async fn create(State(s): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult<Response> {
    caller.who.require_scope("teams.write")?;
    let id = id::resolve("teamId", body.req_str("teamId")?)?;
    let name = body.req_str("name")?.to_owned();
    let roles = roles_param(&body)?;
    let who = caller.who;
    let team = s.db.write(move |tx, _| ops::create_team(tx, &who, &id, &name, &roles)).await?;
    let total = members(s.db.store(), &team.id)?.len() as u64;
    Ok(json(StatusCode::CREATED, &team.to_model(total)))
}

async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Response> {
    caller.who.require_scope("teams.read")?;
    let store = s.db.store();
    let mut list = Vec::new();
    for team in store.auth_values::<Team>(keys::auth::TEAM_PREFIX)? {
        if visible(&caller.who, &team.id) {
            let total = members(store, &team.id)?.len() as u64;
            list.push(team.to_model(total));
        }
    }
    Ok(json(StatusCode::OK, &json!({ "total": list.len(), "teams": list })))
}

async fn get_team(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("teams.read")?;
    let team = load_team(s.db.store(), &caller.who, &id)?;
    let total = members(s.db.store(), &id)?.len() as u64;
    Ok(json(StatusCode::OK, &team.to_model(total)))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("teams.write")?;
    load_team(s.db.store(), &caller.who, &id)?;
    let name = body.req_str("name")?.to_owned();
    let total = members(s.db.store(), &id)?.len() as u64;
    let who = caller.who;
    let team = s.db.write(move |tx, _| ops::update_team(tx, &who, &id, &name, total)).await?;
    Ok(json(StatusCode::OK, &team.to_model(total)))
}

async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.who.require_scope("teams.write")?;
    load_team(s.db.store(), &caller.who, &id)?;
    let list = members(s.db.store(), &id)?;
    let who = caller.who;
    s.db.write(move |tx, _| ops::delete_team(tx, &who, &id, &list)).await?;
    Ok(no_content())
}

async fn create_membership(
    State(s): State<AppState>,
    caller: Caller,
    Path(team_id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("teams.write")?;
    let team = load_team(s.db.store(), &caller.who, &team_id)?;
    let roles = roles_param(&body)?;
    let user_id = match (body.opt_str("userId")?, body.opt_str("email")?) {
        (Some(uid), _) => uid.to_owned(),
        (None, Some(email)) => {
            s.db.store().auth::<String>(&keys::auth::email(&email.trim().to_lowercase()))?.ok_or_else(|| {
                Exception::msg(
                    ErrorType::UserNotFound,
                    "No user with this email; Arcade adds existing users only (there are no email invitations).",
                )
            })?
        }
        (None, None) => return Err(super::extract::missing("userId")),
    };
    let who = caller.who;
    let m = s.db.write(move |tx, _| ops::create_membership(tx, &who, &team_id, &user_id, roles.clone())).await?;
    Ok(json(StatusCode::CREATED, &membership_model(s.db.store(), &m, &team)?))
}

async fn list_memberships(
    State(s): State<AppState>,
    caller: Caller,
    Path(team_id): Path<String>,
) -> ApiResult<Response> {
    caller.who.require_scope("teams.read")?;
    let team = load_team(s.db.store(), &caller.who, &team_id)?;
    let list = members(s.db.store(), &team_id)?
        .iter()
        .map(|m| membership_model(s.db.store(), m, &team))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(StatusCode::OK, &json!({ "total": list.len(), "memberships": list })))
}

async fn get_membership(
    State(s): State<AppState>,
    caller: Caller,
    Path((team_id, mid)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("teams.read")?;
    let team = load_team(s.db.store(), &caller.who, &team_id)?;
    let m =
        s.db.store()
            .auth::<Membership>(&keys::auth::membership(&mid))?
            .filter(|m| m.team_id == team_id)
            .ok_or_else(|| Exception::new(ErrorType::MembershipNotFound))?;
    Ok(json(StatusCode::OK, &membership_model(s.db.store(), &m, &team)?))
}

async fn update_membership(
    State(s): State<AppState>,
    caller: Caller,
    Path((team_id, mid)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    caller.who.require_scope("teams.write")?;
    let team = load_team(s.db.store(), &caller.who, &team_id)?;
    let roles = roles_param(&body)?;
    let who = caller.who;
    let m = s.db.write(move |tx, _| ops::update_membership(tx, &who, &team_id, &mid, roles.clone())).await?;
    Ok(json(StatusCode::OK, &membership_model(s.db.store(), &m, &team)?))
}

async fn delete_membership(
    State(s): State<AppState>,
    caller: Caller,
    Path((team_id, mid)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.who.require_scope("teams.write")?;
    load_team(s.db.store(), &caller.who, &team_id)?;
    let who = caller.who;
    s.db.write(move |tx, _| ops::delete_membership(tx, &who, &team_id, &mid)).await?;
    Ok(no_content())
}
