//! The HTTP side of the function benchmark: the casino schema, the two
//! functions and their deployments (the raw `.wasm` body, as the e2e tests
//! upload it), players with server-created sessions, and the execution
//! requests as [`Workload`]s for the load generator.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use crate::client::{Endpoint, Req};
use crate::load::Workload;
use crate::stats::Rng;

pub const NOOP: &str = "noop";
pub const GAME: &str = "processGameResult";
pub const NOOP_PATH: &str = "/v1/functions/noop/executions";
pub const GAME_PATH: &str = "/v1/functions/processGameResult/executions";
/// The games played in turn, 1 coin each (bets stay far below the starting balance of 1000).
pub const GAME_BODIES: [&str; 3] = [
    r#"{"game_type":"coinflip","bet_amount":1,"choice":"heads"}"#,
    r#"{"game_type":"roulette","bet_amount":1,"choice":"red"}"#,
    r#"{"game_type":"slots","bet_amount":1}"#,
];

/// A deployment as the server reported it.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub function: String,
    pub wasm_bytes: usize,
    /// The upload request, from send to answer (the server compiles before answering).
    pub request_ms: f64,
    /// What the server reports in `buildLogs` ("Compiled in X ms"): compile + writing the cache.
    pub compile_ms: Option<f64>,
}

/// The component `functions/dist/<name>.wasm`.
pub fn component(dist: &Path, name: &str) -> Result<Vec<u8>> {
    let path = dist.join(format!("{name}.wasm"));
    std::fs::read(&path)
        .with_context(|| format!("reading {} (build the functions first: scripts/build-functions.sh)", path.display()))
}

/// The demo database `tarkov_casino` with the tables processGameResult uses
/// (the same schema as tests/e2e/functions.rs).
pub async fn casino(endpoint: &Endpoint) -> Result<()> {
    let mut c = endpoint.connect().await?;
    let steps = [
        ("/v1/tablesdb", json!({"databaseId": "tarkov_casino", "name": "Casino"})),
        (
            "/v1/tablesdb/tarkov_casino/tables",
            json!({"tableId": "user_profiles", "name": "Profiles", "permissions": ["read(\"users\")"], "rowSecurity": true, "columns": [
                {"key": "username", "type": "string", "size": 32, "required": true},
                {"key": "balance", "type": "integer", "required": false, "min": 0, "default": 1000},
                {"key": "total_games_played", "type": "integer", "required": false, "min": 0, "default": 0},
                {"key": "last_bonus_ms", "type": "integer", "required": false}
            ]}),
        ),
        (
            "/v1/tablesdb/tarkov_casino/tables",
            json!({"tableId": "game_history", "name": "History", "permissions": [], "rowSecurity": true, "columns": [
                {"key": "user_id", "type": "string", "size": 36, "required": true},
                {"key": "game_type", "type": "enum", "elements": ["coinflip", "roulette", "slots"], "required": true},
                {"key": "bet_amount", "type": "integer", "required": true, "min": 1},
                {"key": "win_amount", "type": "integer", "required": true, "min": 0},
                {"key": "outcome", "type": "enum", "elements": ["win", "lose"], "required": true}
            ], "indexes": [{"key": "by_user", "type": "key", "columns": ["user_id"]}]}),
        ),
    ];
    for (path, body) in steps {
        c.expect(Req::post(path, body.to_string()), &[201, 202]).await?;
    }
    Ok(())
}

/// Create function `id` (executable by `execute`) and deploy `functions/dist/<id>.wasm`, activated.
pub async fn deploy(endpoint: &Endpoint, dist: &Path, id: &str, execute: &[&str]) -> Result<Deployed> {
    let wasm = component(dist, id)?;
    let mut c = endpoint.connect().await?;
    let body = json!({"functionId": id, "name": id, "runtime": "wasi-0.2", "execute": execute});
    c.expect(Req::post("/v1/functions", body.to_string()), &[201]).await?;
    let t0 = Instant::now();
    let req = Req::post(format!("/v1/functions/{id}/deployments?activate=true"), wasm.clone())
        .with_content_type("application/wasm");
    let d = c.expect(req, &[202]).await?;
    let request_ms = t0.elapsed().as_secs_f64() * 1000.0;
    if d.get("status").and_then(Value::as_str) != Some("ready") {
        bail!("deployment of {id} is not ready: {d}");
    }
    let logs = d.get("buildLogs").and_then(Value::as_str).unwrap_or_default();
    Ok(Deployed { function: id.to_owned(), wasm_bytes: wasm.len(), request_ms, compile_ms: compile_ms(logs) })
}

/// "Compiled in 123.4 ms." → 123.4.
fn compile_ms(logs: &str) -> Option<f64> {
    logs.strip_prefix("Compiled in ")?.split(' ').next()?.parse().ok()
}

/// `n` players (`player0`…), each with a session created by the server; returns their session secrets.
pub async fn players(endpoint: &Endpoint, n: usize) -> Result<Vec<HeaderValue>> {
    let mut c = endpoint.connect().await?;
    let mut sessions = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("player{i}");
        c.expect(Req::post("/v1/users", json!({"userId": id, "name": id}).to_string()), &[201]).await?;
        let s = c.expect(Req::post(format!("/v1/users/{id}/sessions"), "{}"), &[201]).await?;
        let secret = s.get("secret").and_then(Value::as_str).filter(|s| !s.is_empty());
        let secret = secret.with_context(|| format!("the session of {id} has no secret: {s}"))?;
        sessions.push(HeaderValue::from_str(secret)?);
    }
    Ok(sessions)
}

fn contains(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|w| w == needle)
}

/// Insist on a completed execution that answered `status`.
fn completed(body: &Bytes, status: u16) -> Result<()> {
    let code = format!("\"responseStatusCode\":{status}");
    if contains(body, br#""status":"completed""#) && contains(body, code.as_bytes()) {
        Ok(())
    } else {
        bail!("not a completed execution with status {status}: {}", crate::client::snippet(body))
    }
}

/// `POST /v1/functions/noop/executions` (synchronous) with the API key.
pub struct NoopExec;

impl Workload for NoopExec {
    fn next(&self, _rng: &mut Rng) -> Option<Req> {
        Some(Req::post(NOOP_PATH, "{}"))
    }
    fn check_each(&self, body: &Bytes) -> Result<()> {
        completed(body, 204)
    }
}

/// `GET /v1/functions/noop` with the API key: an authenticated read, no write.
pub struct GetFunction;

impl Workload for GetFunction {
    fn next(&self, _rng: &mut Rng) -> Option<Req> {
        Some(Req::get("/v1/functions/noop"))
    }
    fn check_each(&self, body: &Bytes) -> Result<()> {
        if contains(body, br#""$id":"noop""#) {
            Ok(())
        } else {
            bail!("not the noop function: {}", crate::client::snippet(body))
        }
    }
}

/// The synchronous execution request for one game (`GAME_BODIES[i % 3]`).
pub fn game_request(i: usize, session: &HeaderValue) -> Req {
    let body = json!({ "body": GAME_BODIES[i % GAME_BODIES.len()] }).to_string();
    Req::post(GAME_PATH, body).with_session(session.clone())
}

/// `POST /v1/functions/processGameResult/executions` as a signed-in player;
/// players take turns (round robin), so concurrent games rarely share a player.
pub struct GameExec {
    pub sessions: Vec<HeaderValue>,
    pub next: AtomicUsize,
}

impl Workload for GameExec {
    fn next(&self, _rng: &mut Rng) -> Option<Req> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let session = self.sessions.get(i % self.sessions.len().max(1))?;
        Some(game_request(i / self.sessions.len().max(1), session))
    }
    fn check_each(&self, body: &Bytes) -> Result<()> {
        completed(body, 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_build_logs() {
        assert_eq!(compile_ms("Compiled in 123.4 ms."), Some(123.4));
        assert_eq!(compile_ms("Compiled in 1.0 ms (from cache)."), Some(1.0));
        assert_eq!(compile_ms("failed"), None);
    }

    #[test]
    fn checks_executions() {
        let ok = Bytes::from_static(br#"{"status":"completed","responseStatusCode":204}"#);
        assert!(completed(&ok, 204).is_ok());
        assert!(completed(&ok, 200).is_err());
        let failed = Bytes::from_static(br#"{"status":"failed","responseStatusCode":500}"#);
        assert!(completed(&failed, 500).is_err());
    }
}
