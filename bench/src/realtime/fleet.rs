//! The WebSocket side of the load generator: thousands of clients, one tokio
//! task each, that open `/v1/realtime` with channels in the URL (Appwrite's
//! protocol A, as the SDK's `client.subscribe` did up to v22), optionally add
//! subscriptions with a `subscribe` message (protocol C), and then only read.
//!
//! Per received `event` frame a client does the least it can: it finds the
//! `sent_us` stamp the publisher put in the row, records now − stamp in the
//! shared histogram and counts the delivery (per client and in total). The
//! first event of every client is parsed in full and checked (right row,
//! right channel, a subscription named); a client that holds no read
//! permission fails the run on any event. Any `error` frame, close or
//! transport error outside [`Fleet::close`] fails the run too.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::backend::Template;
use super::hist::Hist;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Client read buffer: large enough that a backlog arrives in few reads, small
/// enough that 10,000 of them stay modest (tungstenite allocates it eagerly).
const READ_BUFFER: usize = 16 * 1024;

/// Microseconds since the epoch (clients and publisher share this process's clock).
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// One client to open.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// Full `ws://…/v1/realtime?…` URL.
    pub url: String,
    /// Session secret, sent as the `a_session_<project>` cookie like a browser would.
    pub session: Option<String>,
    /// The row this client may read and watches (`None`: holds no read permission, must get nothing).
    pub row: Option<String>,
}

#[derive(Default)]
struct Shared {
    delivered: AtomicU64,
    bytes: AtomicU64,
    responses: AtomicU64,
    hist: Hist,
    per_client: Vec<AtomicU64>,
    closing: AtomicBool,
    failure: Mutex<Option<String>>,
    failed: AtomicBool,
    /// One full event frame, as received (Arcade's, to build the baseline's frames from).
    sample: Mutex<Option<String>>,
}

impl Shared {
    fn fail(&self, msg: String) {
        if self.closing.load(Ordering::Relaxed) {
            return;
        }
        self.failed.store(true, Ordering::SeqCst);
        if let Ok(mut f) = self.failure.lock()
            && f.is_none()
        {
            *f = Some(msg);
        }
    }
}

pub struct Fleet {
    shared: Arc<Shared>,
    sinks: Vec<SplitSink<Ws, Message>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub specs: Vec<ClientSpec>,
}

const EVENT: &[u8] = br#"{"type":"event""#;
const RESPONSE: &[u8] = br#"{"type":"response""#;
const PONG: &[u8] = br#"{"type":"pong""#;
const STAMP: &str = r#""sent_us":"#;

/// The publisher's stamp in an event frame, searched from the end (the payload comes last).
fn stamp(text: &str) -> Option<u64> {
    let at = text.rfind(STAMP)? + STAMP.len();
    let digits = text.get(at..)?;
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits.get(..end)?.parse().ok()
}

/// Full check of a client's first event frame.
fn check_first(text: &str, spec: &ClientSpec) -> Result<(), String> {
    let Some(row) = &spec.row else {
        return Err(format!("a client without read permission received an event: {}", snippet(text)));
    };
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("event frame is not JSON ({e}): {}", snippet(text)))?;
    let data = &v["data"];
    let channel = format!("tablesdb.rt.tables.lobby.rows.{row}");
    let ok = data["payload"]["$id"].as_str() == Some(row.as_str())
        && data["channels"].as_array().is_some_and(|c| c.iter().any(|x| x.as_str() == Some(channel.as_str())))
        && data["subscriptions"].as_array().is_some_and(|s| !s.is_empty())
        && data["events"].as_array().is_some_and(|e| !e.is_empty());
    if ok { Ok(()) } else { Err(format!("unexpected first event for a watcher of {row}: {}", snippet(text))) }
}

fn snippet(text: &str) -> String {
    if text.len() > 400 { format!("{}…", text.chars().take(400).collect::<String>()) } else { text.to_owned() }
}

async fn read_loop(shared: Arc<Shared>, idx: usize, spec: ClientSpec, mut stream: SplitStream<Ws>) {
    let mut first = true;
    while let Some(msg) = stream.next().await {
        let text: Utf8Bytes = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Binary(b)) => match Utf8Bytes::try_from(b) {
                Ok(t) => t,
                Err(_) => return shared.fail("a binary frame that is not UTF-8".into()),
            },
            Ok(Message::Close(f)) => {
                return shared.fail(format!(
                    "client {idx}: the server closed the connection: {}",
                    f.map(|f| format!("{} {}", u16::from(f.code), f.reason)).unwrap_or_default()
                ));
            }
            Ok(_) => continue,
            Err(e) => return shared.fail(format!("client {idx}: {e}")),
        };
        let b = text.as_bytes();
        if b.starts_with(EVENT) {
            let now = now_us();
            match stamp(&text) {
                Some(t) => shared.hist.record(now.saturating_sub(t)),
                None => return shared.fail(format!("event without a sent_us stamp: {}", snippet(&text))),
            }
            shared.per_client[idx].fetch_add(1, Ordering::Relaxed);
            shared.delivered.fetch_add(1, Ordering::Relaxed);
            shared.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
            if first {
                first = false;
                if let Err(e) = check_first(&text, &spec) {
                    return shared.fail(e);
                }
                if let Ok(mut s) = shared.sample.lock()
                    && s.is_none()
                {
                    *s = Some(text.as_str().to_owned());
                }
            }
        } else if b.starts_with(RESPONSE) {
            shared.responses.fetch_add(1, Ordering::Relaxed);
        } else if !b.starts_with(PONG) {
            return shared.fail(format!("client {idx}: unexpected frame: {}", snippet(&text)));
        }
    }
    shared.fail(format!("client {idx}: the connection ended"));
}

/// Open one client and wait for its `connected` frame.
async fn open(spec: &ClientSpec, project: &str) -> Result<Ws> {
    let mut req = spec.url.as_str().into_client_request().context("building the request")?;
    if let Some(s) = &spec.session {
        req.headers_mut().insert("cookie", HeaderValue::from_str(&format!("a_session_{project}={s}"))?);
    }
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"connected""#) => Ok(ws),
        Some(Ok(m)) => bail!("expected a connected frame, got {m:?}"),
        Some(Err(e)) => Err(e.into()),
        None => bail!("closed before the connected frame"),
    }
}

impl Fleet {
    /// Open every client, `concurrency` handshakes at a time; fails if any cannot connect.
    pub async fn connect(specs: Vec<ClientSpec>, project: &str, concurrency: usize) -> Result<Fleet> {
        let shared =
            Arc::new(Shared { per_client: (0..specs.len()).map(|_| AtomicU64::new(0)).collect(), ..Shared::default() });
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut pending = Vec::with_capacity(specs.len());
        let mut tasks = Vec::with_capacity(specs.len());
        for (idx, spec) in specs.iter().enumerate() {
            let (tx, rx) = tokio::sync::oneshot::channel::<Result<SplitSink<Ws, Message>>>();
            let (shared, sem, spec, project) = (shared.clone(), sem.clone(), spec.clone(), project.to_owned());
            tasks.push(tokio::spawn(async move {
                let opened = {
                    let Ok(_permit) = sem.acquire().await else { return };
                    tokio::time::timeout(CONNECT_TIMEOUT, open(&spec, &project)).await
                };
                let ws = match opened {
                    Ok(Ok(ws)) => ws,
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(e.context(format!("client {idx}: connecting to {}", spec.url))));
                        return;
                    }
                    Err(_) => {
                        let _ = tx.send(Err(anyhow!("client {idx}: no connected frame within {CONNECT_TIMEOUT:?}")));
                        return;
                    }
                };
                let (sink, stream) = ws.split();
                if tx.send(Ok(sink)).is_err() {
                    return;
                }
                read_loop(shared, idx, spec, stream).await;
            }));
            pending.push(rx);
        }
        let mut sinks = Vec::with_capacity(specs.len());
        let mut first_err: Option<anyhow::Error> = None;
        for rx in pending {
            match rx.await {
                Ok(Ok(s)) => sinks.push(s),
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(anyhow!("a client task ended before connecting"));
                }
            }
        }
        let fleet = Fleet { shared, sinks, tasks, specs };
        if let Some(e) = first_err {
            fleet.close().await;
            return Err(e);
        }
        Ok(fleet)
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// Event frames received so far, by all clients.
    pub fn delivered(&self) -> u64 {
        self.shared.delivered.load(Ordering::Relaxed)
    }

    /// Bytes of event frames received so far.
    pub fn bytes(&self) -> u64 {
        self.shared.bytes.load(Ordering::Relaxed)
    }

    pub fn per_client(&self, idx: usize) -> u64 {
        self.shared.per_client[idx].load(Ordering::Relaxed)
    }

    /// Start a new latency window (discard what was recorded).
    pub fn reset_latency(&self) {
        self.shared.hist.reset();
    }

    /// Latencies recorded since the last reset, sorted, in µs.
    pub fn take_latency(&self) -> Vec<u32> {
        self.shared.hist.take()
    }

    /// The first failure any client saw, as an error.
    pub fn check(&self) -> Result<()> {
        if self.shared.failed.load(Ordering::SeqCst) {
            let msg = self.shared.failure.lock().ok().and_then(|f| f.clone()).unwrap_or_default();
            bail!("realtime client failed: {msg}");
        }
        Ok(())
    }

    /// Wait until `delivered() >= expected`, failing on a client error or after `timeout`.
    pub async fn wait_delivered(&self, expected: u64, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check()?;
            let got = self.delivered();
            if got >= expected {
                if got > expected {
                    bail!("clients received {got} events, more than the {expected} expected");
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("only {got} of {expected} expected deliveries arrived within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Send every client a `subscribe` message with `extra` subscriptions to
    /// rows nobody writes (`…rows.w<client>x<j>`), and wait for all answers.
    pub async fn subscribe_extra(&mut self, extra: usize, concurrency: usize) -> Result<()> {
        if extra == 0 {
            return Ok(());
        }
        let before = self.shared.responses.load(Ordering::Relaxed);
        let n = self.sinks.len();
        let msgs: Vec<String> = (0..n)
            .map(|i| {
                let items: Vec<Value> = (0..extra)
                    .map(|j| {
                        serde_json::json!({
                            "subscriptionId": format!("x{j}"),
                            "channels": [format!("tablesdb.rt.tables.lobby.rows.w{i}x{j}")],
                        })
                    })
                    .collect();
                serde_json::json!({"type": "subscribe", "data": items}).to_string()
            })
            .collect();
        let sinks = std::mem::take(&mut self.sinks);
        let results: Vec<(SplitSink<Ws, Message>, Result<()>)> =
            futures_util::stream::iter(sinks.into_iter().zip(msgs))
                .map(|(mut sink, msg)| async move {
                    let r = sink.send(Message::text(msg)).await.map_err(anyhow::Error::from);
                    (sink, r)
                })
                .buffered(concurrency.max(1))
                .collect()
                .await;
        let mut err = None;
        for (sink, r) in results {
            self.sinks.push(sink);
            if let Err(e) = r {
                err.get_or_insert(e);
            }
        }
        if let Some(e) = err {
            return Err(e.context("sending a subscribe message"));
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.shared.responses.load(Ordering::Relaxed) < before + n as u64 {
            self.check()?;
            if Instant::now() >= deadline {
                bail!(
                    "only {} of {n} subscribe messages were answered within 60 s",
                    self.shared.responses.load(Ordering::Relaxed) - before
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// Close every client (a close frame each, then the tasks end).
    pub async fn close(mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        let sinks = std::mem::take(&mut self.sinks);
        futures_util::stream::iter(sinks)
            .for_each_concurrent(256, |mut s| async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), s.close()).await;
            })
            .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        for t in &self.tasks {
            while !t.is_finished() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        for t in &self.tasks {
            t.abort();
        }
    }

    /// A full event frame one of the clients received.
    pub fn sample_frame(&self) -> Option<Template> {
        let text = self.shared.sample.lock().ok()?.clone()?;
        Template::from_frame(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_stamp() {
        let f = r#"{"type":"event","data":{"payload":{"$id":"room1","n":3,"sent_us":1764100000123456},"subscriptions":["a"]}}"#;
        assert_eq!(stamp(f), Some(1_764_100_000_123_456));
        assert_eq!(stamp(r#"{"type":"event"}"#), None);
    }

    #[test]
    fn first_event_check() {
        let spec = ClientSpec { url: String::new(), session: None, row: Some("room1".into()) };
        let good = r#"{"type":"event","data":{"events":["x"],"channels":["tablesdb.rt.tables.lobby.rows.room1"],"payload":{"$id":"room1"},"subscriptions":["s"]}}"#;
        assert!(check_first(good, &spec).is_ok());
        assert!(check_first(&good.replace("room1", "room2"), &spec).is_err());
        let intruder = ClientSpec { row: None, ..spec };
        assert!(check_first(good, &intruder).is_err());
    }
}
