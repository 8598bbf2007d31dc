//! Functions end to end: deploy components built from functions/, execute
//! them over the Functions API, and check what a user would see: responses,
//! records, rows, events, and the sandbox holding against bad functions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Client, Server, deploy, events};

fn exec(c: &Client, f: &str, body: Value) -> crate::util::Resp {
    c.post(&format!("/v1/functions/{f}/executions"), body)
}

fn casino(a: &Client) {
    let mk = |path: &str, body: Value| {
        let r = a.post(path, body);
        assert!(r.status == 201 || r.status == 202, "{path}: {}", r.body);
    };
    mk("/v1/tablesdb", json!({"databaseId": "tarkov_casino", "name": "Casino"}));
    mk(
        "/v1/tablesdb/tarkov_casino/tables",
        json!({"tableId": "user_profiles", "name": "Profiles", "permissions": ["read(\"users\")"], "rowSecurity": true, "columns": [
            {"key": "username", "type": "string", "size": 32, "required": true},
            {"key": "balance", "type": "integer", "required": false, "min": 0, "default": 1000},
            {"key": "total_games_played", "type": "integer", "required": false, "min": 0, "default": 0},
            {"key": "last_bonus_ms", "type": "integer", "required": false}
        ]}),
    );
    mk(
        "/v1/tablesdb/tarkov_casino/tables",
        json!({"tableId": "game_history", "name": "History", "permissions": [], "rowSecurity": true, "columns": [
        {"key": "user_id", "type": "string", "size": 36, "required": true},
        {"key": "game_type", "type": "enum", "elements": ["coinflip", "roulette", "slots"], "required": true},
        {"key": "bet_amount", "type": "integer", "required": true, "min": 1},
        {"key": "win_amount", "type": "integer", "required": true, "min": 0},
        {"key": "outcome", "type": "enum", "elements": ["win", "lose"], "required": true}
    ], "indexes": [{"key": "by_user", "type": "key", "columns": ["user_id"]}]}),
    );
}

#[test]
fn echo_round_trip_and_records() {
    let s = Server::start();
    let a = s.admin();
    let d = deploy(&a, "echo", "echo", &["any"], json!({}));
    assert!(d["buildLogs"].as_str().unwrap().contains("Compiled"), "{d}");
    let r = exec(
        &s.guest(),
        "echo",
        json!({"body": "hello", "path": "/games/g1?full=1", "method": "PUT", "headers": {"Content-Type": "text/plain"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let e = &r.body;
    assert_eq!(
        (e["status"].clone(), e["responseStatusCode"].clone(), e["trigger"].clone()),
        (json!("completed"), json!(200), json!("http"))
    );
    let echoed: Value = serde_json::from_str(e["responseBody"].as_str().unwrap()).unwrap();
    assert_eq!(
        echoed,
        json!({"method": "PUT", "path": "/games/g1", "query": "full=1", "trigger": "http", "user": null, "body": "hello"})
    );
    assert_eq!(e["requestPath"], "/games/g1?full=1");
    assert!(e["requestHeaders"].as_array().unwrap().contains(&json!({"name": "content-type", "value": "text/plain"})));
    assert_eq!(e["logs"], "", "logs are for API keys only");
    let id = e["$id"].as_str().unwrap();
    let full = a.get(&format!("/v1/functions/echo/executions/{id}"));
    assert!(full.body["logs"].as_str().unwrap().contains("echo PUT /games/g1"), "{}", full.body);
    assert_eq!(full.body["responseBody"], "", "the body is only returned to the synchronous caller");
    // Reserved headers cannot be sent.
    exec(&s.guest(), "echo", json!({"headers": {"x-appwrite-user-id": "someone"}}))
        .assert_error(400, "general_argument_invalid");
    // Asynchronous: 202 waiting, then completed.
    let r = exec(&a, "echo", json!({"async": true, "body": "later"}));
    assert_eq!((r.status, r.body["status"].clone()), (202, json!("waiting")), "{}", r.body);
    let id = r.body["$id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let g = a.get(&format!("/v1/functions/echo/executions/{id}"));
        if g.body["status"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "async execution never finished: {}", g.body);
        std::thread::sleep(Duration::from_millis(50));
    }
    let list = a.get("/v1/functions/echo/executions");
    assert_eq!(list.body["total"], 2, "{}", list.body);
    // Execution permission: nobody may run a function whose execute roles are empty.
    deploy(&a, "private", "echo", &[], json!({}));
    exec(&s.guest(), "private", json!({})).assert_error(401, "user_unauthorized");
    assert_eq!(exec(&a, "private", json!({})).status, 201, "keys may");
    exec(&s.guest(), "nope", json!({})).assert_error(404, "function_not_found");
    // A component that is not an Arcade function fails its build, clearly.
    assert_eq!(a.post("/v1/functions", json!({"functionId": "junk", "name": "junk", "runtime": "x"})).status, 201);
    let r = a.post_bytes("/v1/functions/junk/deployments", "application/wasm", b"\0asm not really");
    assert_eq!((r.status, r.body["status"].clone()), (202, json!("failed")), "{}", r.body);
    exec(&a, "junk", json!({})).assert_error(404, "deployment_not_found");
}

#[test]
fn process_game_result_plays_and_records() {
    let s = Server::start();
    let a = s.admin();
    casino(&a);
    deploy(&a, "processGameResult", "processGameResult", &["users"], json!({}));
    let u = s.user("gambler");
    let before = a.get("/v1/health").body["seq"].as_u64().unwrap();
    let r = exec(
        &u,
        "processGameResult",
        json!({"body": json!({"game_type": "coinflip", "bet_amount": 100, "choice": "heads"}).to_string()}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "completed", "{}", r.body);
    let out: Value = serde_json::from_str(r.body["responseBody"].as_str().unwrap()).unwrap();
    let won = out["outcome"] == "win";
    assert_eq!(out["win_amount"], if won { 200 } else { 0 });
    assert_eq!(out["balance"], if won { 1100 } else { 900 });
    let profile = u.get("/v1/tablesdb/tarkov_casino/tables/user_profiles/rows/gambler");
    assert_eq!(
        (profile.body["balance"].clone(), profile.body["total_games_played"].clone()),
        (out["balance"].clone(), json!(1))
    );
    let game =
        u.get(&format!("/v1/tablesdb/tarkov_casino/tables/game_history/rows/{}", out["game_id"].as_str().unwrap()));
    assert_eq!(
        (game.status, game.body["bet_amount"].clone(), game.body["user_id"].clone()),
        (200, json!(100), json!("gambler"))
    );
    // The execution and its writes are in the log, the writes inside the execution's commit.
    // A synchronous execution is created finished, as in Appwrite: one `create` event, after its writes.
    let log = events(&a, before);
    let names: Vec<String> = log.iter().map(|e| e["events"][0].as_str().unwrap().to_owned()).collect();
    let executions: Vec<&String> = names.iter().filter(|n| n.starts_with("functions.")).collect();
    assert_eq!(executions.len(), 1, "{names:?}");
    let last = names.last().unwrap();
    assert!(last.starts_with("functions.processGameResult.executions.") && last.ends_with(".create"), "{names:?}");
    assert_eq!(log.last().unwrap()["payload"]["status"], "completed");
    assert_eq!(log.last().unwrap()["payload"]["$id"], r.body["$id"]);
    assert!(names.iter().any(|n| n.starts_with("tablesdb.tarkov_casino.tables.game_history.rows.")), "{names:?}");
    assert!(log.iter().all(|e| e["actor"] == "gambler"), "writes are attributed to the player");
    assert_eq!(log.last().unwrap()["roles"], json!(["user:gambler"]), "the player may see the execution");

    // Invalid bets answer 4xx and write nothing.
    let seq = a.get("/v1/health").body["seq"].as_u64().unwrap();
    for bad in [
        json!({"game_type": "coinflip", "bet_amount": 0}),
        json!({"game_type": "poker", "bet_amount": 5}),
        json!({"game_type": "slots", "bet_amount": 99999}),
        json!({"game_type": "roulette", "bet_amount": 5, "choice": "green"}),
    ] {
        let r = exec(&u, "processGameResult", json!({"body": bad.to_string()}));
        assert_eq!(
            r.body["responseStatusCode"].as_u64().map(|c| (400..500).contains(&c)),
            Some(true),
            "{bad}: {}",
            r.body
        );
        assert!(serde_json::from_str::<Value>(r.body["responseBody"].as_str().unwrap()).unwrap()["error"].is_string());
    }
    let after: Vec<Value> = events(&a, seq);
    assert!(
        after.iter().all(|e| e["events"][0].as_str().unwrap().starts_with("functions.")),
        "only execution records changed: {after:#?}"
    );
    assert_eq!(u.get("/v1/tablesdb/tarkov_casino/tables/user_profiles/rows/gambler").body["total_games_played"], 1);
    // Guests cannot play (execute roles are "users").
    exec(&s.guest(), "processGameResult", json!({})).assert_error(401, "user_unauthorized");
}

#[test]
fn parallel_games_on_one_player_never_lose_coins() {
    let s = Server::start();
    let a = s.admin();
    casino(&a);
    deploy(&a, "processGameResult", "processGameResult", &["users"], json!({}));
    let u = s.user("whale");
    // Create the profile first, so every parallel game starts from the same row.
    let r = exec(&u, "processGameResult", json!({"body": json!({"game_type": "slots", "bet_amount": 1}).to_string()}));
    let first: Value = serde_json::from_str(r.body["responseBody"].as_str().unwrap()).unwrap();
    let start = first["balance"].as_i64().unwrap();
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let u = u.clone();
            std::thread::spawn(move || {
                let game = ["coinflip", "roulette", "slots"][i % 3];
                let r = exec(
                    &u,
                    "processGameResult",
                    json!({"body": json!({"game_type": game, "bet_amount": 10}).to_string()}),
                );
                assert_eq!(r.body["status"], "completed", "{}", r.body);
                let out: Value = serde_json::from_str(r.body["responseBody"].as_str().unwrap()).unwrap();
                (
                    out["win_amount"].as_i64().unwrap(),
                    out["balance"].as_i64().unwrap(),
                    out["game_id"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    let results: Vec<(i64, i64, String)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let net: i64 = results.iter().map(|(w, _, _)| w - 10).sum();
    let profile = u.get("/v1/tablesdb/tarkov_casino/tables/user_profiles/rows/whale").body;
    assert_eq!(profile["balance"].as_i64().unwrap(), start + net, "every bet and win counted exactly once");
    assert_eq!(profile["total_games_played"], 33);
    // Each game's reported balance is a balance the profile really had after some commit.
    let seen: Vec<i64> = events(&a, 0)
        .iter()
        .filter(|e| e["payload"]["$id"] == "whale" && e["payload"]["balance"].is_number())
        .map(|e| e["payload"]["balance"].as_i64().unwrap())
        .collect();
    for (_, b, _) in &results {
        assert!(seen.contains(b), "reported balance {b} was never committed");
    }
    let history = a.list(
        "/v1/tablesdb/tarkov_casino/tables/game_history/rows",
        &[
            json!({"method": "equal", "attribute": "user_id", "values": ["whale"]}),
            json!({"method": "limit", "values": [100]}),
        ],
        &[],
    );
    assert_eq!(history.body["total"], 33);
    let ids: std::collections::BTreeSet<String> = results.iter().map(|(_, _, g)| g.clone()).collect();
    assert_eq!(ids.len(), 32);
}

#[test]
fn bad_functions_fail_cleanly_and_write_nothing() {
    let s = Server::start();
    let a = s.admin();
    assert_eq!(a.post("/v1/tablesdb", json!({"databaseId": "fixtures", "name": "F"})).status, 201);
    assert_eq!(
        a.post(
            "/v1/tablesdb/fixtures/tables",
            json!({"tableId": "marks", "name": "M", "columns": [{"key": "by", "type": "string", "size": 10}]})
        )
        .status,
        201
    );
    deploy(&a, "echo", "echo", &["any"], json!({}));
    let cases: BTreeMap<&str, (&str, Value)> = BTreeMap::from([
        ("trap", ("deliberate trap after a write", json!({}))),
        ("spin", ("timed out", json!({"timeout": 1}))),
        ("hog", ("memory limit of 32 MiB", json!({"memory": 32}))),
        ("chatty", ("more than 1000000 bytes of output", json!({}))),
    ]);
    let mut handles = Vec::new();
    for (name, (_, extra)) in &cases {
        deploy(&a, name, name, &["any"], extra.clone());
        let c = a.clone();
        let name = name.to_string();
        handles.push(std::thread::spawn(move || (name.clone(), exec(&c, &name, json!({})))));
    }
    // The server keeps serving while they misbehave.
    let started = Instant::now();
    let ok = exec(&s.guest(), "echo", json!({"body": "still here"}));
    assert_eq!((ok.status, ok.body["status"].clone()), (201, json!("completed")), "{}", ok.body);
    assert!(started.elapsed() < Duration::from_millis(900), "echo was not held up: {:?}", started.elapsed());
    for h in handles {
        let (name, r) = h.join().unwrap();
        let (expected, _) = cases[name.as_str()];
        assert_eq!(r.status, 201, "{name}: {}", r.body);
        assert_eq!(
            (r.body["status"].clone(), r.body["responseStatusCode"].clone()),
            (json!("failed"), json!(500)),
            "{name}: {}",
            r.body
        );
        let errors = r.body["errors"].as_str().unwrap();
        assert!(errors.contains(expected), "{name}: errors say {errors:?}");
        assert!(errors.len() <= 1_100_000, "{name}: errors are bounded");
        assert!(r.body["logs"].as_str().unwrap().len() <= 1_100_000, "{name}: logs are bounded");
    }
    let marks = a.list("/v1/tablesdb/fixtures/tables/marks/rows", &[], &[]);
    assert_eq!(marks.body["total"], 0, "no partial writes: {}", marks.body);
}

#[test]
fn compiled_components_survive_a_restart() {
    let mut s = Server::start();
    let a = s.admin();
    deploy(&a, "noop", "noop", &["any"], json!({}));
    assert_eq!(exec(&a, "noop", json!({})).body["responseStatusCode"], 204);
    s.restart();
    let started = Instant::now();
    let r = exec(&s.admin(), "noop", json!({}));
    assert_eq!((r.status, r.body["responseStatusCode"].clone()), (201, json!(204)), "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(2), "first execution after restart: {:?}", started.elapsed());
    let cached = std::fs::read_dir(s.data_dir().join("compiled")).unwrap().count();
    assert_eq!(cached, 1, "one compiled artifact, reused");
}

#[test]
fn executions_a_crash_interrupted_are_failed_at_the_next_start() {
    let mut s = Server::start();
    let a = s.admin();
    deploy(&a, "spin", "spin", &["any"], json!({"timeout": 120}));
    deploy(&a, "noop", "noop", &["any"], json!({}));
    // Finished executions are left alone; a spinning one is killed with the server.
    assert_eq!(exec(&a, "noop", json!({})).body["status"], "completed");
    let r = exec(&a, "spin", json!({"async": true}));
    assert_eq!((r.status, r.body["status"].clone()), (202, json!("waiting")), "{}", r.body);
    let id = r.body["$id"].as_str().unwrap().to_owned();
    let path = format!("/v1/functions/spin/executions/{id}");
    // (An asynchronous record stays `waiting` until it is finished.)
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(a.get(&path).body["status"], "waiting");
    s.restart_after_kill();
    let e = s.admin().get(&path);
    assert_eq!(
        (e.body["status"].clone(), e.body["responseStatusCode"].clone()),
        (json!("failed"), json!(500)),
        "{}",
        e.body
    );
    assert!(
        e.body["errors"].as_str().unwrap().contains("The server stopped before this execution finished"),
        "{}",
        e.body
    );
    // Once failed it stays as it is: the next start finds nothing pending.
    s.restart();
    assert_eq!(s.admin().get(&path).body, e.body);
    let done = s.admin().list("/v1/functions/noop/executions", &[], &[]);
    assert_eq!(done.body["executions"][0]["status"], "completed", "{}", done.body);
}

/// The runtime keeps decoded copies of functions and deployments; every
/// change must still apply to the very next execution: who may run it,
/// whether it is enabled, and which deployment answers.
#[test]
fn changes_to_a_function_apply_to_its_next_execution() {
    let s = Server::start();
    let a = s.admin();
    deploy(&a, "live", "echo", &["any"], json!({}));
    let guest = s.guest();
    let r = exec(&guest, "live", json!({"body": "one"}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["responseBody"].as_str().unwrap().contains("\"body\":\"one\""), "{}", r.body);
    let update = |body: Value| {
        let r = a.put("/v1/functions/live", body);
        assert_eq!(r.status, 200, "{}", r.body);
    };
    update(json!({"name": "live", "execute": []}));
    exec(&guest, "live", json!({})).assert_error(401, "user_unauthorized");
    update(json!({"name": "live", "execute": ["any"], "enabled": false}));
    exec(&guest, "live", json!({})).assert_error(404, "function_not_found");
    update(json!({"name": "live", "execute": ["any"], "enabled": true}));
    assert_eq!(exec(&guest, "live", json!({})).status, 201);
    // A new active deployment answers from the next execution on.
    let r = a.post_bytes(
        "/v1/functions/live/deployments?activate=true",
        "application/wasm",
        &crate::util::component("noop"),
    );
    assert_eq!((r.status, r.body["status"].clone()), (202, json!("ready")), "{}", r.body);
    let d = r.body["$id"].clone();
    let r = exec(&guest, "live", json!({"body": "two"}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["deploymentId"], d, "{}", r.body);
    assert!(!r.body["responseBody"].as_str().unwrap().contains("\"body\":\"two\""), "{}", r.body);
}
