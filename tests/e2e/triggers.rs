//! Triggers end to end: functions that run on events and on schedules, the
//! loop cut, the trigger cursor across a crash, manifests applied at start,
//! and `arcade dev` reloading a function under an open realtime connection.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::realtime::{next_event, open};
use crate::util::{Client, Server, component, deploy, setup_table, wait_for};

fn set_var(a: &Client, function: &str, key: &str, value: &str) {
    let r = a.post(&format!("/v1/functions/{function}/variables"), json!({"key": key, "value": value}));
    assert_eq!(r.status, 201, "{}", r.body);
}

fn executions(a: &Client, function: &str) -> Vec<Value> {
    let r =
        a.list(&format!("/v1/functions/{function}/executions"), &[json!({"method": "limit", "values": [1000]})], &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["executions"].as_array().cloned().unwrap_or_default()
}

fn rows(a: &Client, table: &str) -> Vec<Value> {
    let r =
        a.list(&format!("/v1/tablesdb/main/tables/{table}/rows"), &[json!({"method": "limit", "values": [1000]})], &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["rows"].as_array().cloned().unwrap_or_default()
}

/// `inbox` rows are copied to `outbox` by `relay` (MODE=copy) on every create.
fn copier(s: &Server) {
    let a = s.admin();
    copier_tables(&a);
    copier_function(&a);
}

fn copier_tables(a: &Client) {
    setup_table(a, "inbox", &["create(\"users\")"], false, &[("integer", json!({"key": "n", "required": false}))]);
    setup_table(
        a,
        "outbox",
        &[],
        false,
        &[
            ("string", json!({"key": "source", "size": 64, "required": true})),
            ("string", json!({"key": "event", "size": 256, "required": false})),
        ],
    );
}

fn copier_function(a: &Client) {
    deploy(a, "relay", "relay", &[], json!({"events": ["databases.main.tables.inbox.rows.*.create"]}));
    set_var(a, "relay", "MODE", "copy");
    set_var(a, "relay", "OUT", "outbox");
}

#[test]
fn an_event_runs_the_function_with_its_payload() {
    let s = Server::start();
    copier(&s);
    let user = s.user("ana");
    let r = user.post("/v1/tablesdb/main/tables/inbox/rows", json!({"rowId": "m1", "data": {"n": 7}}));
    assert_eq!(r.status, 201, "{}", r.body);
    let a = s.admin();
    let copy = wait_for(20, "the copy of m1", || rows(&a, "outbox").into_iter().find(|r| r["$id"] == "m1"));
    assert_eq!(copy["source"], "m1");
    // The function was told which event fired (Appwrite's first name for a row create).
    let event = copy["event"].as_str().unwrap();
    assert!(event.starts_with("databases.main.") && event.contains(".m1.") && event.ends_with(".create"), "{event}");
    let e = wait_for(10, "the execution record", || {
        executions(&a, "relay").into_iter().find(|e| e["status"] == "completed")
    });
    assert_eq!(e["trigger"], "event");
    assert_eq!(e["requestMethod"], "POST");
    assert_eq!(e["requestPath"], "/");
    assert!(e["logs"].as_str().unwrap().contains("trigger event"), "{e}");
    // The user whose write caused the event may read the execution, like in Appwrite.
    assert_eq!(e["$permissions"], json!(["read(\"user:ana\")"]));
    assert_eq!(user.get(&format!("/v1/functions/relay/executions/{}", e["$id"].as_str().unwrap())).status, 200);
    // A row of another table does not trigger it.
    setup_table(&a, "other", &[], false, &[("integer", json!({"key": "n", "required": false}))]);
    assert_eq!(a.post("/v1/tablesdb/main/tables/other/rows", json!({"rowId": "o1", "data": {}})).status, 201);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(executions(&a, "relay").len(), 1);
}

/// While no function listens to events, the trigger dispatcher stops
/// reading the log; deploying one wakes it at that change: writes from
/// before it run nothing, the first write after it runs the function once.
#[test]
fn a_function_deployed_later_runs_for_writes_after_it_only() {
    let s = Server::start();
    let a = s.admin();
    copier_tables(&a);
    for i in 0..30 {
        let r = a.post("/v1/tablesdb/main/tables/inbox/rows", json!({"rowId": format!("early{i}"), "data": {"n": i}}));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    copier_function(&a);
    let r = a.post("/v1/tablesdb/main/tables/inbox/rows", json!({"rowId": "late", "data": {"n": 1}}));
    assert_eq!(r.status, 201, "{}", r.body);
    wait_for(20, "the copy of the late row", || rows(&a, "outbox").into_iter().find(|r| r["$id"] == "late"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let copied: Vec<Value> = rows(&a, "outbox").iter().map(|r| r["$id"].clone()).collect();
    assert_eq!(copied, vec![json!("late")]);
    assert_eq!(executions(&a, "relay").len(), 1);
}

#[test]
fn functions_cannot_subscribe_to_function_events() {
    let s = Server::start();
    let a = s.admin();
    let r = a.post(
        "/v1/functions",
        json!({"functionId": "f", "name": "f", "runtime": "wasi-0.2", "events": ["functions.*.executions.*.create"]}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("function event is not allowed"), "{}", r.body);
}

#[test]
fn a_self_triggering_chain_is_cut_at_the_configured_depth() {
    let s = Server::start_with(&["--trigger-max-depth", "3"]);
    let a = s.admin();
    setup_table(&a, "counters", &[], false, &[("integer", json!({"key": "hops", "required": false, "default": 0}))]);
    deploy(&a, "relay", "relay", &[], json!({"events": ["databases.main.tables.counters.rows.*.update"]}));
    set_var(&a, "relay", "MODE", "bounce");
    assert_eq!(
        a.post("/v1/tablesdb/main/tables/counters/rows", json!({"rowId": "c", "data": {"hops": 0}})).status,
        201
    );
    // One client update starts the chain: each run increments, which is another update.
    assert_eq!(a.patch("/v1/tablesdb/main/tables/counters/rows/c", json!({"data": {"hops": 0}})).status, 200);
    let cut =
        wait_for(30, "the cut execution", || executions(&a, "relay").into_iter().find(|e| e["status"] == "failed"));
    let errors = cut["errors"].as_str().unwrap();
    assert!(
        errors.contains("Event chain cut") && errors.contains("4 triggers deep") && errors.contains("limit of 3"),
        "{errors}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let all = executions(&a, "relay");
    let completed = all.iter().filter(|e| e["status"] == "completed").count();
    assert_eq!((completed, all.len()), (3, 4), "{all:#?}");
    let row = a.get("/v1/tablesdb/main/tables/counters/rows/c").body;
    assert_eq!(row["hops"], 3);
}

#[test]
fn the_trigger_cursor_resumes_after_a_crash_without_loss_or_repeats() {
    let mut s = Server::start();
    copier(&s);
    let a = s.admin();
    let ids: Vec<String> = (0..40).map(|i| format!("r{i}")).collect();
    for id in &ids {
        let r = a.post("/v1/tablesdb/main/tables/inbox/rows", json!({"rowId": id, "data": {"n": 1}}));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // Crash while the triggers are (most likely) still working through them.
    s.restart_after_kill();
    let a = s.admin();
    let want: BTreeSet<String> = ids.iter().cloned().collect();
    wait_for(60, "all 40 copies", || {
        let got: BTreeSet<String> =
            rows(&a, "outbox").iter().filter_map(|r| r["$id"].as_str().map(str::to_owned)).collect();
        (got == want).then_some(())
    });
    // Every event ran the function exactly once: committed runs are never repeated.
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let runs = executions(&a, "relay");
    assert!(runs.iter().all(|e| e["status"] == "completed"), "{runs:#?}");
    assert_eq!(runs.len(), 40);
    // And after a clean restart nothing runs again.
    s.restart();
    let a = s.admin();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(executions(&a, "relay").len(), 40);
}

#[test]
fn a_seconds_schedule_fires_on_its_grid_and_never_twice_across_restarts() {
    let mut s = Server::start();
    let a = s.admin();
    setup_table(
        &a,
        "ticks",
        &[],
        false,
        &[
            ("string", json!({"key": "slot", "size": 64, "required": true})),
            ("integer", json!({"key": "missed", "required": false})),
        ],
    );
    deploy(&a, "relay", "relay", &[], json!({}));
    set_var(&a, "relay", "MODE", "tick");
    set_var(&a, "relay", "DB", "main");
    set_var(&a, "relay", "OUT", "ticks");
    let r = a.put("/v1/functions/relay", json!({"name": "relay", "schedule": "* * * * * *"}));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for(20, "three ticks", || (rows(&a, "ticks").len() >= 3).then_some(()));
    s.restart();
    let a = s.admin();
    wait_for(20, "ticks after the restart", || (rows(&a, "ticks").len() >= 6).then_some(()));
    let r = a.put("/v1/functions/relay", json!({"name": "relay", "schedule": ""}));
    assert_eq!(r.status, 200, "{}", r.body);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let ticks = rows(&a, "ticks");
    let slots: Vec<i64> = ticks
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t["slot"].as_str().unwrap()).unwrap().timestamp_millis())
        .collect();
    // On the grid (whole seconds), and no slot twice.
    assert!(slots.iter().all(|ms| ms % 1000 == 0), "{slots:?}");
    let unique: BTreeSet<i64> = slots.iter().copied().collect();
    assert_eq!(unique.len(), slots.len(), "a slot fired twice: {slots:?}");
    let runs = executions(&a, "relay");
    assert!(runs.iter().all(|e| e["trigger"] == "schedule"), "{runs:#?}");
    // One completed execution per tick (a run cut short by the restart is recorded as failed).
    let completed = runs.iter().filter(|e| e["status"] == "completed").count();
    assert_eq!(completed, ticks.len(), "{runs:#?}");
}

#[test]
fn a_bad_schedule_is_refused_with_the_reason() {
    let s = Server::start();
    let a = s.admin();
    let r =
        a.post("/v1/functions", json!({"functionId": "f", "name": "f", "runtime": "wasi-0.2", "schedule": "* * * *"}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("5 fields"), "{}", r.body);
}

fn write_manifest(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("arcade.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn a_manifest_is_applied_at_start_and_again_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("relay.wasm"), component("relay")).unwrap();
    std::fs::create_dir(tmp.path().join("site")).unwrap();
    std::fs::write(tmp.path().join("site/index.html"), "<h1>the game</h1>").unwrap();
    let manifest = write_manifest(
        tmp.path(),
        r#"
        [project]
        id = "local"
        site = "site"
        [[databases]]
        id = "main"
        [[databases.tables]]
        id = "inbox"
        permissions = ['create("users")']
        columns = [{ key = "n", type = "integer" }]
        [[databases.tables]]
        id = "outbox"
        columns = [{ key = "source", type = "string", size = 64, required = true }, { key = "event", type = "string", size = 256 }]
        indexes = [{ key = "by_source", type = "key", columns = ["source"] }]
        [[functions]]
        id = "relay"
        wasm = "relay.wasm"
        events = ["databases.main.tables.inbox.rows.*.create"]
        [functions.variables]
        MODE = "copy"
        OUT = "outbox"
        "#,
    );
    let m = manifest.to_str().unwrap();
    let mut s = Server::start_with(&["--manifest", m]);
    let a = s.admin();
    // The site is served at /, the API is still the API.
    let page = a.get("/");
    assert_eq!(page.status, 200);
    assert!(format!("{}", page.body).contains("the game"), "{}", page.body);
    assert_eq!(a.get("/v1/nope").body["type"], "general_route_not_found");
    // Tables, index and the triggered function all work.
    assert_eq!(a.get("/v1/tablesdb/main/tables/outbox/indexes/by_source").status, 200);
    assert_eq!(a.post("/v1/tablesdb/main/tables/inbox/rows", json!({"rowId": "x", "data": {"n": 1}})).status, 201);
    wait_for(20, "the copy", || rows(&a, "outbox").into_iter().find(|r| r["$id"] == "x"));
    let before = crate::util::events(&a, 0).len();
    s.restart();
    let a = s.admin();
    // The second start found nothing to change: no writes, so no new events.
    assert_eq!(crate::util::events(&a, 0).len(), before);
    assert_eq!(a.get("/v1/functions/relay/deployments").body["total"], 1);
}

#[test]
fn dev_reloads_a_changed_function_without_dropping_realtime() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("next.wasm"), component("noop")).unwrap();
    std::fs::write(tmp.path().join("f.wasm"), component("echo")).unwrap();
    std::fs::write(tmp.path().join("src.txt"), "v1").unwrap();
    let manifest = write_manifest(
        tmp.path(),
        r#"
        [project]
        id = "local"
        [[databases]]
        id = "main"
        [[databases.tables]]
        id = "feed"
        permissions = ['read("any")']
        columns = [{ key = "n", type = "integer" }]
        [[functions]]
        id = "f"
        wasm = "f.wasm"
        execute = ["any"]
        [functions.build]
        command = "if [ \"$(cat src.txt)\" = v2 ]; then cp next.wasm f.wasm; fi"
        watch = ["src.txt"]
        "#,
    );
    let s = Server::run("dev", &["--manifest", manifest.to_str().unwrap()]);
    let a = s.admin();
    let echo = a.post("/v1/functions/f/executions", json!({"body": "hi"}));
    assert_eq!(echo.status, 201, "{}", echo.body);
    assert!(echo.body["responseBody"].as_str().unwrap().contains("\"body\":\"hi\""), "{}", echo.body);
    let first = a.get("/v1/functions/f").body["deploymentId"].clone();
    let mut ws = open(&s, "&channels[]=databases.main.tables.feed.rows", &[]);
    // Edit the source: dev rebuilds (the command copies the new component) and redeploys.
    std::fs::write(tmp.path().join("src.txt"), "v2").unwrap();
    wait_for(60, "a new active deployment", || {
        let now = a.get("/v1/functions/f").body["deploymentId"].clone();
        (now != first).then_some(())
    });
    let noop = a.post("/v1/functions/f/executions", json!({"body": "hi"}));
    assert_eq!(noop.status, 201, "{}", noop.body);
    assert!(!noop.body["responseBody"].as_str().unwrap().contains("hi"), "still the old code: {}", noop.body);
    // The realtime connection opened before the reload still delivers.
    assert_eq!(a.post("/v1/tablesdb/main/tables/feed/rows", json!({"rowId": "after", "data": {"n": 1}})).status, 201);
    let ev = next_event(&mut ws, 5000).expect("an event on the connection opened before the reload");
    assert_eq!(ev["data"]["payload"]["$id"], "after");
}
