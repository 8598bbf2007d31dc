//! The shared harness of the end-to-end tests: start the real `arcade`
//! binary on port 0 with a temporary data directory, and talk HTTP to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

pub const KEY: &str = "e2e-master-key";

pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    command: String,
    args: Vec<String>,
}

impl Server {
    /// A fresh server in a new temporary directory.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Server {
        Self::run("serve", args)
    }

    /// Run `arcade <command> --data <tmp> --listen 127.0.0.1:0 <args>`.
    pub fn run(command: &str, args: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server {
            child: None,
            url: String::new(),
            dir,
            _tmp: Some(tmp),
            command: command.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_arcade"))
            .arg(&self.command)
            .arg("--data")
            .arg(&self.dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(&self.args)
            .env("ARCADE_API_KEY", KEY)
            .env("ARCADE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start arcade");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("arcade listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        self.url = rx.recv_timeout(Duration::from_secs(120)).expect("arcade did not report its address");
        self.child = Some(child);
    }

    /// Stop with SIGKILL (no chance to flush), as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop with SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let status = c.wait().expect("wait");
            assert!(status.success(), "arcade exited with {status}");
        }
    }

    /// Start again on the same data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn restart_after_kill(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// A client authenticated with the master key.
    pub fn admin(&self) -> Client {
        Client::new(&self.url).header("X-Appwrite-Key", KEY)
    }

    /// An unauthenticated client (a guest).
    pub fn guest(&self) -> Client {
        Client::new(&self.url)
    }

    /// Sign up a user with email/password and return a client carrying its session.
    pub fn user(&self, id: &str) -> Client {
        let guest = self.guest();
        let email = format!("{id}@example.com");
        let r = guest.post("/v1/account", json!({"userId": id, "email": email, "password": "password123", "name": id}));
        assert_eq!(r.status, 201, "sign up: {}", r.body);
        let r = guest.post("/v1/account/sessions/email", json!({"email": email, "password": "password123"}));
        assert_eq!(r.status, 201, "sign in: {}", r.body);
        let fallback = r.header("x-fallback-cookies").expect("x-fallback-cookies header");
        let token = serde_json::from_str::<Value>(&fallback).expect("fallback json")["a_session_local"]
            .as_str()
            .expect("session token")
            .to_owned();
        guest.header("X-Appwrite-Session", &token)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    headers: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    headers: Vec<(String, String)>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }
    pub fn headers_named(&self, name: &str) -> Vec<String> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).collect()
    }
    /// Assert an Appwrite error body with this status and type.
    #[track_caller]
    pub fn assert_error(&self, status: u16, kind: &str) {
        assert_eq!(self.status, status, "status of {}", self.body);
        assert_eq!(self.body["type"], kind, "type of {}", self.body);
        assert_eq!(self.body["code"], status, "code of {}", self.body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()), "message of {}", self.body);
        assert!(self.body["version"].is_string(), "version of {}", self.body);
    }
}

impl Client {
    pub fn new(base: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Client { agent, base: base.to_owned(), headers: vec![("X-Appwrite-Project".into(), "local".into())] }
    }

    pub fn header(&self, name: &str, value: &str) -> Client {
        let mut c = self.clone();
        c.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        c.headers.push((name.to_owned(), value.to_owned()));
        c
    }

    fn finish(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
        Self::try_finish(resp).expect("request failed")
    }

    fn try_finish(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Resp, ureq::Error> {
        let mut resp = resp?;
        let status = resp.status().as_u16();
        let headers =
            resp.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok(Resp { status, body, headers })
    }

    pub fn get(&self, path: &str) -> Resp {
        let mut r = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        Self::finish(r.call())
    }

    /// GET with `queries[]` (each a JSON query) and extra params.
    pub fn list(&self, path: &str, queries: &[Value], extra: &[(&str, &str)]) -> Resp {
        let mut r = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        for (i, q) in queries.iter().enumerate() {
            r = r.query(format!("queries[{i}]"), q.to_string());
        }
        for (k, v) in extra {
            r = r.query(*k, *v);
        }
        Self::finish(r.call())
    }

    fn with_body(&self, method: &str, path: &str, body: Value) -> Resp {
        self.try_with_body(method, path, body).expect("request failed")
    }

    /// Like `post`/`patch`/..., but a transport failure (server gone) is an `Err`.
    pub fn try_with_body(&self, method: &str, path: &str, body: Value) -> Result<Resp, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let mut r = match method {
            "POST" => self.agent.post(url),
            "PATCH" => self.agent.patch(url),
            "PUT" => self.agent.put(url),
            _ => self.agent.delete(url).force_send_body(),
        };
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        Self::try_finish(r.send_json(body))
    }

    pub fn post(&self, path: &str, body: Value) -> Resp {
        self.with_body("POST", path, body)
    }
    pub fn patch(&self, path: &str, body: Value) -> Resp {
        self.with_body("PATCH", path, body)
    }
    pub fn put(&self, path: &str, body: Value) -> Resp {
        self.with_body("PUT", path, body)
    }
    pub fn delete(&self, path: &str) -> Resp {
        self.with_body("DELETE", path, json!({}))
    }
    pub fn delete_with(&self, path: &str, body: Value) -> Resp {
        self.with_body("DELETE", path, body)
    }

    /// Send raw bytes (for malformed-input tests).
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Resp {
        let mut r = self.agent.post(format!("{}{path}", self.base));
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        r = r.header("Content-Type", content_type);
        Self::finish(r.send(body))
    }
}

/// Create database `main` and a table with the given columns (via the master key).
pub fn setup_table(admin: &Client, table: &str, permissions: &[&str], row_security: bool, columns: &[(&str, Value)]) {
    let r = admin.post("/v1/tablesdb", json!({"databaseId": "main", "name": "Main"}));
    assert!(r.status == 201 || r.body["type"] == "database_already_exists", "{}", r.body);
    let r = admin.post(
        "/v1/tablesdb/main/tables",
        json!({"tableId": table, "name": table, "permissions": permissions, "rowSecurity": row_security}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    for (kind, body) in columns {
        let r = admin.post(&format!("/v1/tablesdb/main/tables/{table}/columns/{kind}"), body.clone());
        assert_eq!(r.status, 202, "{}", r.body);
    }
}

/// Every event in the log after `after`.
pub fn events(admin: &Client, after: u64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = after;
    loop {
        let r = admin.get(&format!("/v1/arcade/events?after={after}&limit=1000"));
        assert_eq!(r.status, 200, "{}", r.body);
        let page = r.body["events"].as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return out;
        }
        after = r.body["next"].as_u64().expect("next");
        out.extend(page);
    }
}

/// A built function component (`scripts/build-functions.sh` puts them in functions/dist/).
pub fn component(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/dist").join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-functions.sh first", path.display()))
}

impl Client {
    /// POST raw bytes with a content type and extra query string.
    pub fn post_bytes(&self, path: &str, content_type: &str, body: &[u8]) -> Resp {
        self.post_raw(path, content_type, body)
    }
}

/// Create function `id` (execute roles given) and deploy `component` as its active deployment.
pub fn deploy(admin: &Client, id: &str, component_name: &str, execute: &[&str], extra: Value) -> Value {
    let mut body = json!({"functionId": id, "name": id, "runtime": "wasi-0.2", "execute": execute});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = admin.post("/v1/functions", body);
    assert_eq!(r.status, 201, "{}", r.body);
    let r = admin.post_bytes(
        &format!("/v1/functions/{id}/deployments?activate=true"),
        "application/wasm",
        &component(component_name),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "ready", "{}", r.body);
    r.body
}

/// Poll `f` until it returns `Some`, or panic with `what` after `secs` seconds.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
