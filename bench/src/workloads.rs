//! The Arcade side of the benchmark: the schema every scenario uses, and the
//! request mixes (create one row, bulk fill, point read, indexed `equal`
//! query) expressed as [`Workload`]s for the load generator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::client::{Conn, Endpoint, Req, urlencode};
use crate::load::Workload;
use crate::stats::Rng;

pub const DB: &str = "bench";
pub const TABLE: &str = "scores";
pub const ROWS_PATH: &str = "/v1/tablesdb/bench/tables/scores/rows";
/// Most rows the bulk create endpoint takes in one request.
pub const BULK_ROWS: u64 = 100;

/// Player names cycle over this many values, so in a filled table of n rows
/// each player matches about n / PLAYERS rows (5 for a million).
pub const PLAYERS: u64 = 200_000;

/// Create the database, the table, its two columns and the `key` index on
/// `player`, then wait until the index is available. `reuse` accepts 409
/// (already there), for a server that is already running.
pub async fn setup(endpoint: &Endpoint, reuse: bool) -> Result<()> {
    let mut c = endpoint.connect().await?;
    let ok: &[u16] = if reuse { &[200, 201, 202, 409] } else { &[201, 202] };
    let t = format!("/v1/tablesdb/{DB}/tables/{TABLE}");
    let steps: [(String, Value); 5] = [
        ("/v1/tablesdb".into(), json!({"databaseId": DB, "name": "Bench"})),
        (
            format!("/v1/tablesdb/{DB}/tables"),
            json!({"tableId": TABLE, "name": "Scores",
                   "permissions": ["read(\"any\")", "create(\"any\")"], "rowSecurity": false}),
        ),
        (format!("{t}/columns/string"), json!({"key": "player", "size": 32, "required": true})),
        (format!("{t}/columns/integer"), json!({"key": "score", "required": true})),
        (format!("{t}/indexes"), json!({"key": "by_player", "type": "key", "columns": ["player"]})),
    ];
    for (path, body) in steps {
        c.expect(Req::post(path, body.to_string()), ok).await?;
    }
    wait_available(&mut c, &format!("{t}/indexes/by_player")).await?;
    wait_available(&mut c, &format!("{t}/columns/player")).await?;
    wait_available(&mut c, &format!("{t}/columns/score")).await
}

/// Times a GET of a just-created index or column answered 404 (see [`wait_available`]).
pub static STALE_READS: AtomicU64 = AtomicU64::new(0);

/// Poll until `path` reports `available`. A 404 right after the creation was
/// acknowledged is a server bug (the writer answers before it reloads the
/// catalog); it is retried for at most a second, counted and reported, not hidden.
pub async fn wait_available(c: &mut Conn, path: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let stale_deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let (status, body) = c.send(&Req::get(path)).await?;
        if status.as_u16() == 404 && tokio::time::Instant::now() < stale_deadline {
            STALE_READS.fetch_add(1, Ordering::Relaxed);
            eprintln!("warning: GET {path} answered 404 after its creation was acknowledged (stale catalog); retrying");
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        if status.as_u16() != 200 {
            bail!("GET {path}: expected 200, got {status}: {}", crate::client::snippet(&body));
        }
        let v: Value = serde_json::from_slice(&body).with_context(|| format!("GET {path}: answer is not JSON"))?;
        match v.get("status").and_then(Value::as_str) {
            Some("available") => return Ok(()),
            Some("processing") | Some("creating") if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => bail!("{path} is not available: status {other:?}"),
        }
    }
}

fn has_id(body: &Bytes) -> Result<()> {
    let v: Value = serde_json::from_slice(body).context("answer is not JSON")?;
    match v.get("$id").and_then(Value::as_str) {
        Some(_) => Ok(()),
        None => bail!("answer has no $id: {v}"),
    }
}

/// `POST …/rows` with one row and a server-chosen id.
pub struct CreateOne;

impl Workload for CreateOne {
    fn next(&self, rng: &mut Rng) -> Option<Req> {
        let body = format!(
            r#"{{"rowId":"unique()","data":{{"player":"p{}","score":{}}}}}"#,
            rng.below(PLAYERS),
            rng.below(1_000_000)
        );
        Some(Req::post(ROWS_PATH, body))
    }
    fn check(&self, body: &Bytes) -> Result<()> {
        has_id(body)
    }
}

/// Bulk create of rows `r0..r{rows-1}`, 100 per request, each batch taken once.
pub struct Fill {
    next_batch: AtomicU64,
    rows: u64,
}

impl Fill {
    pub fn new(rows: u64) -> Fill {
        Fill { next_batch: AtomicU64::new(0), rows }
    }

    pub fn requests(&self) -> u64 {
        self.rows.div_ceil(BULK_ROWS)
    }
}

/// The id and data of filled row `i`.
pub fn filled_row(i: u64) -> String {
    format!(r#"{{"$id":"r{i}","player":"p{}","score":{}}}"#, i % PLAYERS, i % 1000)
}

impl Workload for Fill {
    fn next(&self, _rng: &mut Rng) -> Option<Req> {
        let b = self.next_batch.fetch_add(1, Ordering::Relaxed);
        let first = b * BULK_ROWS;
        if first >= self.rows {
            return None;
        }
        let last = (first + BULK_ROWS).min(self.rows);
        let mut body = String::with_capacity(64 * BULK_ROWS as usize);
        body.push_str(r#"{"rows":["#);
        for i in first..last {
            if i > first {
                body.push(',');
            }
            body.push_str(&filled_row(i));
        }
        body.push_str("]}");
        Some(Req::post(ROWS_PATH, body))
    }
    fn check(&self, body: &Bytes) -> Result<()> {
        let v: Value = serde_json::from_slice(body).context("answer is not JSON")?;
        match v.get("rows").and_then(Value::as_array) {
            Some(rows) if !rows.is_empty() => Ok(()),
            _ => bail!("bulk create answered without rows"),
        }
    }
}

/// `GET …/rows/r{i}` for a random filled row.
pub struct ReadOne {
    pub rows: u64,
}

impl Workload for ReadOne {
    fn next(&self, rng: &mut Rng) -> Option<Req> {
        Some(Req::get(format!("{ROWS_PATH}/r{}", rng.below(self.rows))))
    }
    fn check(&self, body: &Bytes) -> Result<()> {
        has_id(body)
    }
}

/// `GET /v1/ping`: no store, no auth work, the same HTTP stack and middleware
/// as every other request. Its rate is the most any endpoint can reach here
/// (the floor under the others: HTTP, loopback TCP and this load generator).
pub struct Ping;

impl Workload for Ping {
    fn next(&self, _rng: &mut Rng) -> Option<Req> {
        Some(Req::get("/v1/ping"))
    }
    fn check(&self, body: &Bytes) -> Result<()> {
        if &body[..] != b"Pong!" {
            bail!("ping answered {:?}", String::from_utf8_lossy(body));
        }
        Ok(())
    }
}

/// `GET …/rows?queries[0]={"method":"equal","attribute":"player","values":["p…"]}`.
pub struct EqualQuery {
    /// Pick players among the first `players` names (all of them match rows).
    pub players: u64,
    /// Whether to send `total=false`.
    pub no_total: bool,
}

/// The list URL for one player.
pub fn equal_query_path(player: &str, no_total: bool) -> String {
    let q = json!({"method": "equal", "attribute": "player", "values": [player]}).to_string();
    let mut path = format!("{ROWS_PATH}?queries%5B0%5D={}", urlencode(&q));
    if no_total {
        path.push_str("&total=false");
    }
    path
}

impl Workload for EqualQuery {
    fn next(&self, rng: &mut Rng) -> Option<Req> {
        Some(Req::get(equal_query_path(&format!("p{}", rng.below(self.players)), self.no_total)))
    }
    fn check(&self, body: &Bytes) -> Result<()> {
        let v: Value = serde_json::from_slice(body).context("answer is not JSON")?;
        let rows = v.get("rows").and_then(Value::as_array).map(Vec::len).unwrap_or(0);
        if rows == 0 {
            bail!("the query matched no rows: {v}");
        }
        Ok(())
    }
}

/// One query checked in full: every returned row has the player, and (with
/// total) `total` equals the number of rows (the handful is below the page size).
pub async fn verify_query(endpoint: &Endpoint, player: &str, expected: u64) -> Result<()> {
    let mut c = endpoint.connect().await?;
    let v = c.expect(Req::get(equal_query_path(player, false)), &[200]).await?;
    let rows = v.get("rows").and_then(Value::as_array).context("no rows in the list answer")?;
    let total = v.get("total").and_then(Value::as_u64).context("no total in the list answer")?;
    if rows.len() as u64 != expected || total != expected {
        bail!("query for {player}: expected {expected} rows, got {} rows and total {total}", rows.len());
    }
    if let Some(bad) = rows.iter().find(|r| r.get("player").and_then(Value::as_str) != Some(player)) {
        bail!("query for {player} returned a row of another player: {bad}");
    }
    Ok(())
}

/// How many filled rows have player `p{k}` (k < PLAYERS) in a table of `rows` rows.
pub fn matches_of(k: u64, rows: u64) -> u64 {
    rows / PLAYERS + u64::from(k < rows % PLAYERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_covers_every_row_once() {
        let f = Fill::new(250);
        let mut rng = Rng::new(1);
        let mut n = 0;
        while let Some(req) = f.next(&mut rng) {
            let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            n += v["rows"].as_array().map(Vec::len).unwrap_or(0);
        }
        assert_eq!(n, 250);
        assert_eq!(f.requests(), 3);
    }

    #[test]
    fn match_counts() {
        assert_eq!(matches_of(123, 1_000_000), 5);
        assert_eq!(matches_of(5, 10), 1);
        assert_eq!(matches_of(50, 10), 0);
    }
}
