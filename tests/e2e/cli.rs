//! The command line against a running server: `deploy`, `exec`, `logs` and
//! `keys` print what a developer needs and fail with a message that says
//! what to do.

use std::process::{Command, Output};

use serde_json::json;

use crate::util::{KEY, Server, component, deploy};

fn arcade(s: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arcade"))
        .args(args)
        .args(["--url", &s.url, "--project", "local", "--key", KEY])
        .env("NO_COLOR", "1")
        .output()
        .expect("run arcade")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn exec_prints_the_answer_and_the_logs_and_logs_shows_them_again() {
    let s = Server::start();
    deploy(&s.admin(), "echo", "echo", &["any"], json!({}));
    let o = arcade(&s, &["exec", "echo", "--body", "hello", "--path", "/round", "-H", "x-game: 7"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("completed 200") && out.contains("\"body\":\"hello\"") && out.contains("\"path\":\"/round\""),
        "{out}"
    );
    assert!(out.contains("log echo POST /round (5 bytes)"), "{out}");
    let o = arcade(&s, &["logs", "echo"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("echo") && out.contains("completed 200") && out.contains("log echo POST /round"), "{out}");
}

#[test]
fn a_failing_execution_exits_non_zero() {
    let s = Server::start();
    let a = s.admin();
    assert_eq!(a.post("/v1/tablesdb", json!({"databaseId": "fixtures", "name": "f"})).status, 201);
    deploy(&a, "trap", "trap", &["any"], json!({}));
    let o = arcade(&s, &["exec", "trap"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("failed 500"), "{}", text(&o));
}

#[test]
fn deploy_replaces_the_active_component() {
    let s = Server::start();
    deploy(&s.admin(), "f", "echo", &["any"], json!({}));
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("noop.wasm");
    std::fs::write(&wasm, component("noop")).unwrap();
    let o = arcade(&s, &["deploy", "f", "--wasm", wasm.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("deployed f"), "{}", text(&o));
    let f = s.admin().get("/v1/functions/f").body;
    let d = s.admin().get(&format!("/v1/functions/f/deployments/{}", f["deploymentId"].as_str().unwrap())).body;
    assert_eq!(d["sourceSize"], component("noop").len());
    // A missing function says so.
    let o = arcade(&s, &["deploy", "nope", "--wasm", wasm.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("function_not_found"), "{}", text(&o));
}

#[test]
fn keys_are_created_listed_used_and_deleted() {
    let s = Server::start();
    let o = arcade(&s, &["keys", "create", "Game server", "--scope", "databases.read", "--id", "server"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let secret = out.lines().find(|l| l.starts_with("standard_")).expect("the secret").to_owned();
    // The key works, within its scopes.
    let c = s.guest().header("X-Appwrite-Key", &secret);
    assert_eq!(c.get("/v1/tablesdb").status, 200);
    assert_eq!(c.post("/v1/tablesdb", json!({"databaseId": "x", "name": "x"})).status, 401);
    let o = arcade(&s, &["keys", "list"]);
    assert!(text(&o).contains("server  Game server  databases.read"), "{}", text(&o));
    // Only the master key manages keys.
    let r = c.get("/v1/projects/local/keys");
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["type"], "general_unauthorized_scope");
    let o = arcade(&s, &["keys", "delete", "server"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(c.get("/v1/tablesdb").status, 401);
}

#[test]
fn a_wrong_key_or_address_says_what_to_do() {
    let s = Server::start();
    let o =
        Command::new(env!("CARGO_BIN_EXE_arcade")).args(["logs", "--url", &s.url, "--key", "wrong"]).output().unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("check the API key"), "{}", text(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_arcade"))
        .args(["logs", "--url", "http://127.0.0.1:9", "--key", KEY])
        .output()
        .unwrap();
    assert!(text(&o).contains("is `arcade serve` running there?"), "{}", text(&o));
}
