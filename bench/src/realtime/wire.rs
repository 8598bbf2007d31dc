//! `arcade-bench realtime-wire-server`: the wire ceiling of the realtime
//! benchmark, a second reference server beside the naive Node one.
//!
//! It is the least a WebSocket fan-out server in Rust can do for the same
//! scenario: the same stack as Arcade (tokio, tungstenite, `TCP_NODELAY`), the
//! same protocol surface as `bench/realtime-baseline/server.js` (channels in
//! the URL, the session cookie mapped to roles from a file, `subscribe`
//! messages, events by `POST /publish`, counters on `/v1/arcade/metrics`), a
//! channel index, one role check per recipient and one serialized frame per
//! event and subscription list, shared by all its recipients. It has no log,
//! no durability, no authentication and no query filters. What it reaches on
//! this machine bounds what any server built this way can: the rest is the
//! kernel's TCP and the load generator, which share the same two cores.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

#[derive(Args, Clone, Debug)]
pub struct WireArgs {
    /// JSON object: session secret → roles (the benchmark writes it).
    #[arg(long)]
    pub roles: PathBuf,
    #[arg(long, default_value = "local")]
    pub project: String,
}

struct Sub {
    id: String,
    channels: Vec<String>,
}

struct Client {
    roles: Vec<String>,
    subs: Mutex<Vec<Sub>>,
    queue: Mutex<Vec<Utf8Bytes>>,
    ready: Notify,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    events: AtomicU64,
    deliveries: AtomicU64,
    frames: AtomicU64,
    writes: AtomicU64,
    dispatch_nanos: AtomicU64,
    dispatch_cpu_nanos: AtomicU64,
}

struct State {
    project: String,
    sessions: HashMap<String, Vec<String>>,
    /// Channel → clients with a subscription on it.
    index: Mutex<HashMap<String, Vec<Arc<Client>>>>,
    seq: AtomicU64,
    counters: Counters,
}

pub async fn serve(a: WireArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.roles).with_context(|| format!("reading {}", a.roles.display()))?;
    let map: Map<String, Value> = serde_json::from_str(&text).context("the roles file is not a JSON object")?;
    let sessions = map
        .into_iter()
        .map(|(k, v)| {
            let roles = v.as_array().map(|r| r.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect());
            (k, roles.unwrap_or_default())
        })
        .collect();
    let state = Arc::new(State {
        project: a.project,
        sessions,
        index: Mutex::default(),
        seq: AtomicU64::new(0),
        counters: Counters::default(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("baseline listening on http://{}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(state.clone(), req));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(tcp), svc).with_upgrades().await;
        });
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    r
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    match (req.method().as_str(), path.as_str()) {
        ("POST", "/publish") => {
            let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
                return Ok(reply(StatusCode::BAD_REQUEST, json!({"message": "unreadable body"})));
            };
            match serde_json::from_slice::<Value>(&body) {
                Ok(ev) => Ok(reply(StatusCode::CREATED, json!({"seq": publish(&state, &ev)}))),
                Err(_) => Ok(reply(StatusCode::BAD_REQUEST, json!({"message": "body is not JSON"}))),
            }
        }
        ("GET", "/v1/arcade/metrics") => Ok(reply(StatusCode::OK, metrics(&state))),
        ("GET", "/v1/realtime") => Ok(upgrade(state, req)),
        _ => Ok(reply(StatusCode::NOT_FOUND, json!({"message": "not found"}))),
    }
}

fn metrics(state: &State) -> Value {
    let c = &state.counters;
    let subscriptions: usize = match state.index.lock() {
        Ok(index) => index.values().map(Vec::len).sum(),
        Err(_) => 0,
    };
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    json!({"realtime": {
        "connections": n(&c.connections),
        "subscriptions": subscriptions,
        "events": n(&c.events),
        "deliveries": n(&c.deliveries),
        "frames": n(&c.frames),
        "writes": n(&c.writes),
        "dispatchNanos": n(&c.dispatch_nanos),
        "dispatchCpuNanos": n(&c.dispatch_cpu_nanos),
    }})
}

/// Queue the event for every client that may read it, one frame per distinct subscription list.
fn publish(state: &State, ev: &Value) -> u64 {
    let started = Instant::now();
    let cpu = arcade::realtime::cpu::thread_nanos();
    let seq = state.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let strings = |k: &str| -> Vec<String> {
        ev[k].as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    };
    let (channels, roles) = (strings("channels"), strings("roles"));
    let prefix = format!(
        r#"{{"type":"event","data":{{"seq":{seq},"events":{},"channels":{},"timestamp":"{}","payload":{},"subscriptions":"#,
        ev["events"],
        ev["channels"],
        appwrite_now(),
        ev["payload"]
    );
    let mut frames: HashMap<String, Utf8Bytes> = HashMap::new();
    let mut deliveries = 0;
    if let Ok(index) = state.index.lock() {
        let mut recipients: Vec<&Arc<Client>> = Vec::new();
        let mut hit = 0;
        for c in &channels {
            if let Some(clients) = index.get(c) {
                recipients.extend(clients);
                hit += 1;
            }
        }
        if hit > 1 {
            recipients.sort_unstable_by_key(|c| Arc::as_ptr(c));
            recipients.dedup_by_key(|c| Arc::as_ptr(c));
        }
        for client in recipients {
            if !roles.iter().any(|r| r == "any" || client.roles.contains(r)) {
                continue;
            }
            let ids: Vec<String> = match client.subs.lock() {
                Ok(subs) => subs
                    .iter()
                    .filter(|s| s.channels.iter().any(|x| channels.contains(x)))
                    .map(|s| s.id.clone())
                    .collect(),
                Err(_) => continue,
            };
            let tail = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
            let frame =
                frames.entry(tail).or_insert_with_key(|tail| Utf8Bytes::from(format!("{prefix}{tail}}}}}"))).clone();
            if let Ok(mut q) = client.queue.lock() {
                let was_empty = q.is_empty();
                q.push(frame);
                if was_empty {
                    client.ready.notify_one();
                }
            }
            deliveries += 1;
        }
    }
    let c = &state.counters;
    c.events.fetch_add(1, Ordering::Relaxed);
    c.deliveries.fetch_add(deliveries, Ordering::Relaxed);
    c.frames.fetch_add(frames.len() as u64, Ordering::Relaxed);
    c.dispatch_cpu_nanos.fetch_add(arcade::realtime::cpu::thread_nanos().saturating_sub(cpu), Ordering::Relaxed);
    c.dispatch_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    seq
}

/// The time as Appwrite writes it (`2026-12-01T07:00:00.000+00:00`).
fn appwrite_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

fn upgrade(state: Arc<State>, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let query = req.uri().query().unwrap_or("").to_owned();
    let params: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    if !params.iter().any(|(k, v)| k == "project" && *v == state.project) {
        return reply(StatusCode::NOT_FOUND, json!({"message": "unknown project"}));
    }
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY).map(|k| derive_accept_key(k.as_bytes())) else {
        return reply(StatusCode::BAD_REQUEST, json!({"message": "not a WebSocket upgrade"}));
    };
    let cookie = format!("a_session_{}=", state.project);
    let session = req
        .headers()
        .get("cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').find_map(|p| p.trim().strip_prefix(cookie.as_str()).map(str::to_owned)));
    let roles = session
        .and_then(|s| state.sessions.get(&s).cloned())
        .unwrap_or_else(|| vec!["any".to_owned(), "guests".to_owned()]);
    let channels: Vec<String> = params.into_iter().filter(|(k, _)| k == "channels[]").map(|(_, v)| v).collect();
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(io) = on_upgrade.await else { return };
        let config = WebSocketConfig::default().read_buffer_size(512).write_buffer_size(16 * 1024);
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, Some(config)).await;
        connection(state, ws, roles, channels).await;
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&key) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

fn link(state: &State, client: &Arc<Client>, channels: &[String]) {
    if let Ok(mut index) = state.index.lock() {
        for c in channels {
            let list = index.entry(c.clone()).or_default();
            if !list.iter().any(|x| Arc::ptr_eq(x, client)) {
                list.push(client.clone());
            }
        }
    }
}

fn unlink(state: &State, client: &Arc<Client>) {
    let Ok(subs) = client.subs.lock() else { return };
    if let Ok(mut index) = state.index.lock() {
        for c in subs.iter().flat_map(|s| &s.channels) {
            if let Some(list) = index.get_mut(c) {
                list.retain(|x| !Arc::ptr_eq(x, client));
            }
        }
    }
}

async fn connection(state: Arc<State>, mut ws: Ws, roles: Vec<String>, channels: Vec<String>) {
    let subs = if channels.is_empty() { vec![] } else { vec![Sub { id: "url".into(), channels: channels.clone() }] };
    let client = Arc::new(Client { roles, subs: Mutex::new(subs), queue: Mutex::default(), ready: Notify::new() });
    link(&state, &client, &channels);
    state.counters.connections.fetch_add(1, Ordering::Relaxed);
    let seq = state.seq.load(Ordering::Relaxed);
    let connected = json!({"type": "connected", "data": {"channels": channels, "user": null, "seq": seq}});
    if ws.send(Message::text(connected.to_string())).await.is_ok() {
        serve_client(&state, &client, &mut ws).await;
    }
    unlink(&state, &client);
    state.counters.connections.fetch_sub(1, Ordering::Relaxed);
}

async fn serve_client(state: &State, client: &Arc<Client>, ws: &mut Ws) {
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { return };
                let Message::Text(text) = msg else { continue };
                let reply = message(state, client, text.as_str());
                if ws.send(Message::text(reply)).await.is_err() {
                    return;
                }
            }
            _ = client.ready.notified() => {
                let frames = match client.queue.lock() {
                    Ok(mut q) => std::mem::take(&mut *q),
                    Err(_) => return,
                };
                for f in frames {
                    if ws.feed(Message::Text(f)).await.is_err() {
                        return;
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
                state.counters.writes.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn message(state: &State, client: &Arc<Client>, text: &str) -> String {
    let Ok(msg) = serde_json::from_str::<Value>(text) else {
        return json!({"type": "error", "data": {"code": 1003, "message": "Message format is not valid."}}).to_string();
    };
    match (msg["type"].as_str(), msg["data"].as_array()) {
        (Some("ping"), _) => json!({"type": "pong"}).to_string(),
        (Some("subscribe"), Some(items)) => {
            unlink(state, client);
            let Ok(mut subs) = client.subs.lock() else { return String::new() };
            for item in items {
                let id = item["subscriptionId"].as_str().unwrap_or("s").to_owned();
                let channels: Vec<String> = item["channels"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                subs.retain(|s| s.id != id);
                subs.push(Sub { id, channels });
            }
            let all: Vec<String> = subs.iter().flat_map(|s| s.channels.clone()).collect();
            let listed: Vec<Value> =
                subs.iter().map(|s| json!({"subscriptionId": s.id, "channels": s.channels, "queries": []})).collect();
            drop(subs);
            link(state, client, &all);
            json!({"type": "response", "data": {"to": "subscribe", "success": true, "subscriptions": listed}})
                .to_string()
        }
        _ => json!({"type": "error", "data": {"code": 1003, "message": "Message type is not valid."}}).to_string(),
    }
}
