//! `/v1/projects/{projectId}/keys`: the project's API keys, in the shape of
//! Appwrite's console API (the `Key` model), for `arcade keys` and manifests.
//!
//! Only the master key may manage keys. A key's secret is shown once, when it
//! is created; the store keeps only its SHA-256, so a lost secret cannot be
//! recovered, only replaced. Arcade extension: `secret` on create sets the
//! secret instead of generating one (a manifest takes it from the
//! environment, so a game server's configuration can be written in advance).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::{Body, Caller, ParamExt};
use super::{AppState, json, no_content};
use crate::auth::{Identity, KeyScopes, secrets};
use crate::model::account::ApiKey;
use crate::model::exception::{ErrorType, Exception};
use crate::model::{id, time};
use crate::store::keys;

/// Most scopes one key may list.
const MAX_SCOPES: usize = 100;
/// Shortest secret accepted from a caller.
const MIN_SECRET_LEN: usize = 32;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/projects/{project}/keys", get(list).post(create))
        .route("/v1/projects/{project}/keys/{key}", get(get_one).put(update).delete(delete))
}

fn model(k: &ApiKey, secret: &str) -> Value {
    json!({
        "$id": k.id,
        "$createdAt": time::format(k.created),
        "$updatedAt": time::format(k.updated.max(k.created)),
        "name": k.name,
        "expire": k.expire.map(time::format),
        "scopes": k.scopes,
        "secret": secret,
        "accessedAt": "",
        "sdks": [],
    })
}

/// Only the master key manages keys, and only of this server's project.
fn admit(s: &AppState, caller: &Caller, project: &str) -> Result<(), Exception> {
    let master = matches!(&caller.who, Identity::Key { id, scopes: KeyScopes::All, .. } if id == "master");
    if !master {
        return Err(Exception::msg(
            ErrorType::GeneralUnauthorizedScope,
            "API keys are managed with the master key only.",
        ));
    }
    if project != s.config.project {
        return Err(Exception::new(ErrorType::ProjectNotFound));
    }
    Ok(())
}

fn find(s: &AppState, id: &str) -> Result<ApiKey, Exception> {
    s.db.store().api_keys()?.into_iter().find(|k| k.id == id).ok_or_else(|| Exception::new(ErrorType::KeyNotFound))
}

fn scopes_of(body: &serde_json::Map<String, Value>) -> Result<Vec<String>, Exception> {
    let scopes = body.opt_strings("scopes").map_err(|e| e.exception)?.unwrap_or_default();
    if scopes.len() > MAX_SCOPES || scopes.iter().any(|s| s.is_empty() || s.len() > 64) {
        return Err(Exception::invalid_param(
            "scopes",
            format!("Value must be an array of at most {MAX_SCOPES} scopes"),
        ));
    }
    Ok(scopes)
}

fn expire_of(body: &serde_json::Map<String, Value>) -> Result<Option<time::Millis>, Exception> {
    match body.opt_str("expire").map_err(|e| e.exception)? {
        None | Some("") => Ok(None),
        Some(t) => {
            time::parse(t).map(Some).ok_or_else(|| Exception::invalid_param("expire", "Value must be a valid date"))
        }
    }
}

/// Store a key record (keys are configuration: no event, like Appwrite's console keys).
async fn save(s: &AppState, k: &ApiKey) -> Result<(), Exception> {
    let record = serde_json::to_vec(k).map_err(Exception::internal)?;
    let hash = k.secret_hash.clone();
    s.db.write(move |tx, _| {
        tx.put_meta(keys::auth::api_key(&hash), record.clone());
        Ok(())
    })
    .await
}

async fn list(State(s): State<AppState>, caller: Caller, Path(project): Path<String>) -> ApiResult<Response> {
    admit(&s, &caller, &project)?;
    let keys: Vec<Value> = s.db.store().api_keys()?.iter().map(|k| model(k, "")).collect();
    Ok(json(StatusCode::OK, &json!({ "total": keys.len(), "keys": keys })))
}

async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path((project, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    admit(&s, &caller, &project)?;
    Ok(json(StatusCode::OK, &model(&find(&s, &key)?, "")))
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    admit(&s, &caller, &project)?;
    let key_id = match body.opt_str("keyId")? {
        Some(k) => id::resolve("keyId", k)?,
        None => id::unique(),
    };
    let name = body.req_str("name")?.to_owned();
    let scopes = scopes_of(&body)?;
    let expire = expire_of(&body)?;
    let secret = match body.opt_str("secret")? {
        Some(secret) if secret.len() >= MIN_SECRET_LEN => secret.to_owned(),
        Some(_) => {
            return Err(
                Exception::invalid_param("secret", format!("Value must be at least {MIN_SECRET_LEN} chars")).into()
            );
        }
        None => format!("standard_{}", hex::encode(rand::random::<[u8; 64]>())),
    };
    if find(&s, &key_id).is_ok() {
        return Err(Exception::msg(
            ErrorType::GeneralArgumentInvalid,
            format!("A key with the ID '{key_id}' already exists."),
        )
        .into());
    }
    let now = time::now_ms();
    let k = ApiKey {
        id: key_id,
        name,
        secret_hash: secrets::sha256_hex(&secret),
        scopes,
        expire,
        created: now,
        updated: now,
    };
    if s.db.store().api_key(&k.secret_hash)?.is_some() {
        return Err(Exception::invalid_param("secret", "Another key already uses this secret").into());
    }
    save(&s, &k).await?;
    Ok(json(StatusCode::CREATED, &model(&k, &secret)))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path((project, key)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    admit(&s, &caller, &project)?;
    let mut k = find(&s, &key)?;
    k.name = body.req_str("name")?.to_owned();
    k.scopes = scopes_of(&body)?;
    k.expire = expire_of(&body)?;
    k.updated = time::now_ms();
    save(&s, &k).await?;
    Ok(json(StatusCode::OK, &model(&k, "")))
}

async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path((project, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    admit(&s, &caller, &project)?;
    let k = find(&s, &key)?;
    s.db.write(move |tx, _| {
        tx.remove_meta(keys::auth::api_key(&k.secret_hash));
        Ok(())
    })
    .await?;
    Ok(no_content())
}
