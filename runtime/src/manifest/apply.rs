//! Applying a manifest to a running server.
//!
//! The applier is a client of the server's own API, called in-process with
//! the master key: every change goes through the same routes, checks, events
//! and error messages as a change made with an Appwrite SDK, so the manifest
//! cannot create anything the API would refuse. It reads current state from
//! the catalog and the store, and calls the API only where the store differs
//! from the file, so applying the same file twice changes nothing the second
//! time (no writes, no events).

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::{FunctionSpec, KeySpec, Manifest, TableSpec};
use crate::auth::Identity;
use crate::functions::Functions;
use crate::http::AppState;
use crate::model::column::{Column, ColumnType};
use crate::model::function::{Deployment, Function, Variable};
use crate::store::keys::functions as k;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The API refused a change: what was attempted, and the API's answer.
    #[error("{what}: {message} ({status})")]
    Refused { what: String, status: u16, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
    #[error("the function runtime is not running, so functions cannot be deployed")]
    NoRuntime,
}

/// What applying changed.
#[derive(Debug, Default)]
pub struct Report {
    pub changes: Vec<String>,
    /// Secrets of keys generated now: (key id, file it was written to).
    pub new_key_files: Vec<(String, std::path::PathBuf)>,
}

struct Client {
    router: Router,
    key: String,
    project: String,
}

impl Client {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<(StatusCode, Value), ApplyError> {
        let req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("x-appwrite-project", &self.project)
            .header("x-appwrite-key", &self.key)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .map_err(|e| ApplyError::Conflict(format!("building {method} {path}: {e}")))?;
        let resp = match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .map_err(|e| ApplyError::Conflict(format!("reading the answer to {method} {path}: {e}")))?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// Call, and turn anything but 2xx into an error naming `what`.
    async fn must(&self, what: &str, method: Method, path: &str, body: Value) -> Result<Value, ApplyError> {
        let (status, value) = self.call(method, path, Some(body)).await?;
        if status.is_success() {
            return Ok(value);
        }
        Err(ApplyError::Refused {
            what: what.to_owned(),
            status: status.as_u16(),
            message: value.get("message").and_then(Value::as_str).unwrap_or("no message").to_owned(),
        })
    }
}

/// Apply `m` to the server whose state is `state`, acting with `master_key`.
pub async fn apply(m: &Manifest, state: &AppState, master_key: &str) -> Result<Report, ApplyError> {
    let client = Client {
        router: crate::http::router(state.clone()),
        key: master_key.to_owned(),
        project: state.config.project.clone(),
    };
    let mut report = Report::default();
    for d in &m.databases {
        database(&client, state, d, &mut report).await?;
    }
    for k in &m.keys {
        key(&client, state, k, &mut report).await?;
    }
    for f in &m.functions {
        function(&client, state, m, f, &mut report).await?;
    }
    Ok(report)
}

async fn database(
    c: &Client,
    state: &AppState,
    d: &super::DatabaseSpec,
    report: &mut Report,
) -> Result<(), ApplyError> {
    let name = d.name.clone().unwrap_or_else(|| d.id.clone());
    match state.db.catalog().database(&d.id) {
        None => {
            c.must(
                &format!("creating database {}", d.id),
                Method::POST,
                "/v1/tablesdb",
                json!({"databaseId": d.id, "name": name}),
            )
            .await?;
            report.changes.push(format!("created database {}", d.id));
        }
        Some(existing) if existing.name != name => {
            c.must(
                &format!("renaming database {}", d.id),
                Method::PUT,
                &format!("/v1/tablesdb/{}", d.id),
                json!({"name": name}),
            )
            .await?;
            report.changes.push(format!("renamed database {}", d.id));
        }
        Some(_) => {}
    }
    for t in &d.tables {
        table(c, state, &d.id, t, report).await?;
    }
    Ok(())
}

fn column_type(spec: &Map<String, Value>) -> Result<ColumnType, ApplyError> {
    let ty = spec.get("type").and_then(Value::as_str).unwrap_or_default();
    ColumnType::from_path(ty)
        .ok_or_else(|| ApplyError::Conflict(format!("column type \"{ty}\" is not one Arcade knows")))
}

async fn table(c: &Client, state: &AppState, db: &str, t: &TableSpec, report: &mut Report) -> Result<(), ApplyError> {
    let name = t.name.clone().unwrap_or_else(|| t.id.clone());
    let base = format!("/v1/tablesdb/{db}/tables");
    let Some(existing) = state.db.catalog().table(db, &t.id).cloned() else {
        let columns: Vec<Value> = t.columns.iter().map(|c| Value::Object(c.clone())).collect();
        let indexes: Vec<Value> = t
            .indexes
            .iter()
            .map(|i| json!({"key": i.key, "type": i.ty, "columns": i.columns, "orders": i.orders}))
            .collect();
        c.must(
            &format!("creating table {db}.{}", t.id),
            Method::POST,
            &base,
            json!({
                "tableId": t.id, "name": name, "permissions": t.permissions, "rowSecurity": t.row_security,
                "enabled": t.enabled, "columns": columns, "indexes": indexes,
            }),
        )
        .await?;
        report.changes.push(format!(
            "created table {db}.{} ({} columns, {} indexes)",
            t.id,
            t.columns.len(),
            t.indexes.len()
        ));
        return Ok(());
    };
    let path = format!("{base}/{}", t.id);
    let same_perms = {
        let mut a = existing.permissions.clone();
        let mut b: Vec<String> = t.permissions.iter().map(|p| p.replace('\'', "\"")).collect();
        a.sort();
        b.sort();
        a == b
    };
    if existing.name != name || !same_perms || existing.row_security != t.row_security || existing.enabled != t.enabled
    {
        c.must(
            &format!("updating table {db}.{}", t.id),
            Method::PUT,
            &path,
            json!({"name": name, "permissions": t.permissions, "rowSecurity": t.row_security, "enabled": t.enabled}),
        )
        .await?;
        report.changes.push(format!("updated table {db}.{}", t.id));
    }
    for spec in &t.columns {
        let ty = column_type(spec)?;
        let key = spec.get("key").and_then(Value::as_str).unwrap_or_default();
        let mut body = spec.clone();
        body.remove("type");
        let Some(have) = existing.column(key) else {
            c.must(
                &format!("adding column {key} to {db}.{}", t.id),
                Method::POST,
                &format!("{path}/columns/{}", ty.path()),
                Value::Object(body),
            )
            .await?;
            report.changes.push(format!("added column {db}.{}.{key}", t.id));
            continue;
        };
        body.entry("required").or_insert(Value::Bool(false));
        let want = Column::from_request(ty, &body, 0).map_err(|e| ApplyError::Refused {
            what: format!("column {key} of {db}.{}", t.id),
            status: e.kind.code(),
            message: e.message.clone(),
        })?;
        if have.ty != want.ty || have.array != want.array {
            return Err(ApplyError::Conflict(format!(
                "column {key} of {db}.{} holds {}{} in the store but {}{} in the manifest; Arcade does not convert data. \
                 Give the new column another key, or delete the old one first (DELETE {path}/columns/{key}).",
                t.id,
                if have.array { "an array of " } else { "" },
                have.ty.path(),
                if want.array { "an array of " } else { "" },
                want.ty.path(),
            )));
        }
        let differs = have.required != want.required
            || have.default != want.default
            || have.min != want.min
            || have.max != want.max
            || (want.size.is_some() && have.size != want.size)
            || have.elements != want.elements;
        if differs {
            body.remove("key");
            body.remove("array");
            body.entry("default").or_insert(Value::Null);
            c.must(
                &format!("updating column {key} of {db}.{}", t.id),
                Method::PATCH,
                &format!("{path}/columns/{}/{key}", ty.path()),
                Value::Object(body),
            )
            .await?;
            report.changes.push(format!("updated column {db}.{}.{key}", t.id));
        }
    }
    for i in &t.indexes {
        let orders: Vec<String> = i.orders.iter().map(|o| o.to_ascii_uppercase()).collect();
        match existing.index(&i.key) {
            None => {
                c.must(
                    &format!("adding index {} to {db}.{}", i.key, t.id),
                    Method::POST,
                    &format!("{path}/indexes"),
                    json!({"key": i.key, "type": i.ty, "columns": i.columns, "orders": i.orders}),
                )
                .await?;
                report.changes.push(format!("added index {db}.{}.{}", t.id, i.key));
            }
            Some(have) => {
                let have_ty = serde_json::to_value(have.ty).ok().and_then(|v| v.as_str().map(str::to_owned));
                let have_orders: Vec<String> = have.orders.iter().map(|o| o.to_ascii_uppercase()).collect();
                if have_ty.as_deref() != Some(i.ty.as_str())
                    || have.columns != i.columns
                    || (!orders.is_empty() && have_orders != orders)
                {
                    return Err(ApplyError::Conflict(format!(
                        "index {} of {db}.{} differs from the manifest (type or columns); indexes are not rebuilt in \
                         place. Give it another key, or delete it first (DELETE {path}/indexes/{}).",
                        i.key, t.id, i.key
                    )));
                }
            }
        }
    }
    Ok(())
}

async fn key(c: &Client, state: &AppState, k: &KeySpec, report: &mut Report) -> Result<(), ApplyError> {
    let path = format!("/v1/projects/{}/keys", state.config.project);
    let existing = state.db.store().api_keys().ok().unwrap_or_default().into_iter().find(|x| x.id == k.id);
    let secret = match &k.secret_env {
        Some(var) => Some(std::env::var(var).map_err(|_| {
            ApplyError::Conflict(format!("key {}: the environment variable {var} (its secret_env) is not set", k.id))
        })?),
        None => None,
    };
    if let Some(have) = existing {
        let stale_secret = secret.as_ref().is_some_and(|s| crate::auth::secrets::sha256_hex(s) != have.secret_hash);
        if !stale_secret {
            if have.name != k.name || have.scopes != k.scopes {
                c.must(
                    &format!("updating key {}", k.id),
                    Method::PUT,
                    &format!("{path}/{}", k.id),
                    json!({"name": k.name, "scopes": k.scopes}),
                )
                .await?;
                report.changes.push(format!("updated key {}", k.id));
            }
            return Ok(());
        }
        // The environment holds a new secret: replace the key.
        c.call(Method::DELETE, &format!("{path}/{}", k.id), None).await?;
    }
    let mut body = json!({"keyId": k.id, "name": k.name, "scopes": k.scopes});
    if let Some(s) = &secret {
        body["secret"] = json!(s);
    }
    let created = c.must(&format!("creating key {}", k.id), Method::POST, &path, body).await?;
    if secret.is_none() {
        let dir = state.config.data_dir.join("keys");
        let file = dir.join(&k.id);
        let value = created.get("secret").and_then(Value::as_str).unwrap_or_default();
        std::fs::create_dir_all(&dir)
            .and_then(|()| crate::app::write_private(&file, value))
            .map_err(|error| ApplyError::Io { what: format!("writing {}", file.display()), error })?;
        report.new_key_files.push((k.id.clone(), file));
    }
    report.changes.push(format!("created key {}", k.id));
    Ok(())
}

async fn function(
    c: &Client,
    state: &AppState,
    m: &Manifest,
    f: &FunctionSpec,
    report: &mut Report,
) -> Result<(), ApplyError> {
    let runtime = state.functions.as_ref().ok_or(ApplyError::NoRuntime)?;
    let wasm_path = m.resolve(&f.wasm);
    let wasm = std::fs::read(&wasm_path).map_err(|error| ApplyError::Io {
        what: format!(
            "function {}: reading {} (build it first: `arcade dev` builds functions, or run their build command)",
            f.id,
            wasm_path.display()
        ),
        error,
    })?;
    let mut settings = json!({
        "name": f.name.clone().unwrap_or_else(|| f.id.clone()),
        "execute": f.execute,
        "events": f.events,
        "schedule": f.schedule,
    });
    if let Some(t) = f.timeout {
        settings["timeout"] = json!(t);
    }
    if let Some(mb) = f.memory {
        settings["memory"] = json!(mb);
    }
    if let Some(l) = f.logging {
        settings["logging"] = json!(l);
    }
    if let Some(e) = f.enabled {
        settings["enabled"] = json!(e);
    }
    let store = state.db.store();
    let existing: Option<Function> = store.record(&k::function(&f.id)).ok().flatten();
    match &existing {
        None => {
            let mut body = settings.clone();
            body["functionId"] = json!(f.id);
            c.must(&format!("creating function {}", f.id), Method::POST, "/v1/functions", body).await?;
            report.changes.push(format!("created function {}", f.id));
        }
        Some(have) => {
            let want = settings.as_object().cloned().unwrap_or_default();
            let differs = want.iter().any(|(k, v)| {
                let current = match k.as_str() {
                    "name" => json!(have.name),
                    "execute" => json!(have.execute),
                    "events" => json!(have.events),
                    "schedule" => json!(have.schedule),
                    "timeout" => json!(have.timeout),
                    "memory" => json!(have.memory),
                    "logging" => json!(have.logging),
                    "enabled" => json!(have.enabled),
                    _ => Value::Null,
                };
                &current != v
            });
            if differs {
                c.must(
                    &format!("updating function {}", f.id),
                    Method::PUT,
                    &format!("/v1/functions/{}", f.id),
                    settings,
                )
                .await?;
                report.changes.push(format!("updated function {}", f.id));
            }
        }
    }
    let vars: Vec<Variable> = existing.as_ref().map(|f| f.vars.clone()).unwrap_or_default();
    for (name, value) in &f.variables {
        match vars.iter().find(|v| &v.key == name) {
            None => {
                c.must(
                    &format!("setting variable {name} of {}", f.id),
                    Method::POST,
                    &format!("/v1/functions/{}/variables", f.id),
                    json!({"key": name, "value": value}),
                )
                .await?;
                report.changes.push(format!("set variable {name} of function {}", f.id));
            }
            Some(v) if &v.value != value => {
                c.must(
                    &format!("updating variable {name} of {}", f.id),
                    Method::PUT,
                    &format!("/v1/functions/{}/variables/{}", f.id, v.id),
                    json!({"key": name, "value": value}),
                )
                .await?;
                report.changes.push(format!("updated variable {name} of function {}", f.id));
            }
            Some(_) => {}
        }
    }
    if let Some(line) = deploy_if_changed(runtime, state, &f.id, wasm, &wasm_path).await? {
        report.changes.push(line);
    }
    Ok(())
}

/// Deploy `wasm` as the active deployment of `function`, unless the active
/// deployment already is exactly this component. Returns what it did.
pub async fn deploy_if_changed(
    runtime: &std::sync::Arc<Functions>,
    state: &AppState,
    function: &str,
    wasm: Vec<u8>,
    from: &Path,
) -> Result<Option<String>, ApplyError> {
    let hash = hex::encode(Sha256::digest(&wasm));
    let store = state.db.store();
    let active = store
        .record::<Function>(&k::function(function))
        .ok()
        .flatten()
        .and_then(|f| f.deployment)
        .and_then(|d| store.record::<Deployment>(&k::deployment(&d)).ok().flatten());
    if active.is_some_and(|d| d.hash == hash) {
        return Ok(None);
    }
    let who = Identity::Key { id: "manifest".into(), scopes: crate::auth::KeyScopes::All, actor: None };
    let d = runtime.deploy(&who, function, wasm, true, String::new()).await.map_err(|e| ApplyError::Refused {
        what: format!("deploying {} to {function}", from.display()),
        status: e.kind.code(),
        message: e.message.clone(),
    })?;
    if d.status != "ready" {
        return Err(ApplyError::Refused {
            what: format!("deploying {} to {function}", from.display()),
            status: 400,
            message: d.build_logs,
        });
    }
    Ok(Some(format!("deployed {function} ({}, {} KiB, sha256 {})", d.id, d.size / 1024, &hash[..12])))
}
