//! One WebSocket connection: the upgrade, the checks Appwrite makes at open
//! (project, origin, rate, credentials), then a loop that answers the
//! client's messages and writes whatever the dispatcher queued, several
//! frames per socket write.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hyper::upgrade::Upgraded;
use tokio_tungstenite::tungstenite::Message;

use super::Shared;
use super::hub::{Conn, ConnId, MAX_CHANNELS, MAX_SUBSCRIPTIONS};
use super::limits::Window;
use super::outbox::{Drained, Outbox};
use super::protocol::{self, ClientMessage, Subscription};
use super::socket::{self, ReadLimits, Socket};
use crate::auth::{Credentials, Identity};
use crate::http::AppState;
use crate::http::extract::{header, session_token};
use crate::model::exception::Exception;
use crate::model::time;

/// Bytes read from the socket at a time. tungstenite zero-fills its read
/// buffer up to this size before every read attempt, and the connection
/// loop attempts one per wake-up: with 10,000 connections these buffers are
/// cold, and 4 KiB cost ~1.5 µs a delivery. Client messages are small; a
/// larger one just takes several reads.
const READ_BUFFER: usize = 512;

/// Close codes.
const POLICY: u16 = 1008;
const TRY_LATER: u16 = 1013;
const GOING_AWAY: u16 = 1001;

pub async fn handler(State(s): State<AppState>, ConnectInfo(addr): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let (response, on_upgrade) = match socket::accept(&mut parts) {
        Ok(accepted) => accepted,
        Err(refused) => return refused.into_response(),
    };
    let shared = s.realtime.shared.clone();
    let query = parts.uri.query().map(str::to_owned);
    let headers = parts.headers;
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => run(shared, upgraded, headers, query, addr.ip()).await,
            Err(e) => tracing::debug!(error = %e, "a realtime connection closed during its upgrade"),
        }
    });
    response
}

async fn refuse(mut ws: Socket, code: u16, message: &str) {
    let _ = ws.send_text(&protocol::error(code, message)).await;
    let close = if code == TRY_LATER { TRY_LATER } else { POLICY };
    ws.close(close, message).await;
}

/// The identity the open request carries. Browsers cannot send an API key
/// on a WebSocket; tools can (`X-Appwrite-Key`, e.g. `arcade watch --key`),
/// and such a connection sees every event.
fn identify(shared: &Shared, headers: &HeaderMap, jwt: Option<String>) -> Result<Identity, Exception> {
    let creds = Credentials {
        key: header(headers, "x-appwrite-key"),
        session: session_token(headers, &shared.config.project),
        jwt: jwt.or_else(|| header(headers, "x-appwrite-jwt")),
    };
    shared.auth.identify(shared.db.store(), &creds, time::now_ms())
}

fn subscription(
    id: String,
    requested: &[String],
    queries: Vec<String>,
    user: Option<&str>,
) -> Result<Subscription, Exception> {
    if requested.len() > MAX_CHANNELS {
        return Err(Exception::msg(
            crate::model::exception::ErrorType::RealtimeMessageFormatInvalid,
            format!("A subscription may name at most {MAX_CHANNELS} channels."),
        ));
    }
    let filters = protocol::compile_queries(&queries)?;
    Ok(Subscription { id, channels: protocol::convert_channels(requested, user), queries, filters, from: 0 })
}

/// A connection that passed the checks at open and is registered in the hub.
struct Admitted {
    id: ConnId,
    /// The `connected` frame to send first.
    connected: String,
    /// `?since=` with URL subscriptions: replay at once.
    replay_now: Option<u64>,
}

/// Why a connection is refused at open: the error code and message.
type Refusal = (u16, String);

/// The checks Appwrite makes at open (rate, project, origin, credentials),
/// the URL subscriptions, and registration in the hub (`Ok(None)`: the hub is
/// unusable, drop the socket). Synchronous on purpose: the request's headers
/// and everything parsed from them are gone when it returns, so a connection
/// keeps none of it for its lifetime. (hyper's header values share the 8–16
/// KiB buffer the request was read into; holding the `HeaderMap` across the
/// connection's life kept that buffer alive, about half of an idle
/// connection's memory.)
fn admit(
    shared: &Shared,
    outbox: &Arc<Outbox>,
    headers: HeaderMap,
    query: Option<String>,
    ip: IpAddr,
) -> Result<Option<Admitted>, Refusal> {
    let limits = &shared.config.realtime;
    if !shared.connects.allow(ip, limits.connects_per_minute) {
        return Err((TRY_LATER, "Too many requests".to_owned()));
    }
    let open = protocol::parse_open(query.as_deref()).map_err(|e| (POLICY, e.message))?;
    let project = header(&headers, "x-appwrite-project").or(open.project.clone());
    if project.as_deref() != Some(shared.config.project.as_str()) {
        return Err((POLICY, "Missing or unknown project ID".to_owned()));
    }
    if let Some(origin) = header(&headers, "origin")
        && !crate::http::cors::origin_allowed(&shared.config, &origin)
    {
        let host = origin.split("://").nth(1).unwrap_or(&origin).to_owned();
        let msg = format!(
            "Invalid Origin. Register your new client ({host}) as a new Web platform on your project console dashboard"
        );
        return Err((POLICY, msg));
    }
    let who = identify(shared, &headers, open.jwt.clone()).map_err(|e| (e.code(), e.message))?;
    drop(headers);
    let (user_id, session_id) = match &who {
        Identity::User { user, session_id, .. } => (Some(user.id.clone()), Some(session_id.clone())),
        _ => (None, None),
    };
    let roles = match &who {
        Identity::User { roles, .. } => roles.clone(),
        _ => vec!["any".to_owned(), "guests".to_owned()],
    };

    // URL subscriptions (protocols A and B).
    let mut subs = Vec::new();
    let mut requested = HashMap::new();
    let mut slots = BTreeMap::new();
    let mut all_channels: Vec<String> = Vec::new();
    for (slot, (channels, queries)) in &open.slots {
        let id = protocol::minted_id(channels, queries);
        let sub =
            subscription(id.clone(), channels, queries.clone(), user_id.as_deref()).map_err(|e| (POLICY, e.message))?;
        for c in &sub.channels {
            if !all_channels.contains(c) {
                all_channels.push(c.clone());
            }
        }
        slots.insert(*slot, id.clone());
        requested.insert(id, channels.clone());
        subs.push(sub);
    }
    let url_subscribed = !subs.is_empty();
    let replay_now = open.since.filter(|_| url_subscribed);
    let mut conn = Conn {
        roles,
        admin: who.is_key(),
        user_id,
        session_id,
        subs,
        requested,
        outbox: outbox.clone(),
        live: replay_now.is_none(),
        pending_since: open.since.filter(|_| !url_subscribed),
        paused_at: 0,
    };
    let (id, processed) = match shared.hub.lock() {
        Ok(mut hub) => {
            super::dispatch::unpark(shared, &mut hub);
            // URL subscriptions start where `connected` says the stream does.
            let processed = hub.processed;
            for s in &mut conn.subs {
                s.from = processed;
            }
            conn.paused_at = processed;
            (hub.register(conn), processed)
        }
        Err(_) => return Ok(None),
    };
    shared.metrics.connections.fetch_add(1, Ordering::Relaxed);
    let user_model = who.user().map(|u| u.to_model());
    let connected = protocol::connected(&all_channels, &slots, user_model, processed);
    Ok(Some(Admitted { id, connected, replay_now }))
}

async fn run(shared: Arc<Shared>, upgraded: Upgraded, headers: HeaderMap, query: Option<String>, ip: IpAddr) {
    let outbox = Arc::new(Outbox::default());
    let limits = ReadLimits { read_buffer: READ_BUFFER, max_message: protocol::MAX_INBOUND_BYTES };
    let mut ws = Socket::new(upgraded, outbox.clone(), limits).await;
    let Admitted { id, connected, replay_now } = match admit(&shared, &outbox, headers, query, ip) {
        Ok(Some(a)) => a,
        Ok(None) => return,
        Err((code, message)) => return refuse(ws, code, &message).await,
    };
    let limits = shared.config.realtime.clone();
    if ws.send_text(&connected).await {
        if let Some(since) = replay_now {
            tokio::spawn(super::dispatch::replay(shared.clone(), id, since));
        }
        serve(&shared, &mut ws, id, &outbox, &limits).await;
    }
    if let Ok(mut hub) = shared.hub.lock() {
        hub.remove(id);
    }
    shared.metrics.connections.fetch_sub(1, Ordering::Relaxed);
}

/// Why the connection loop ended.
enum End {
    ClientGone,
    SlowConsumer,
    Shutdown,
}

async fn serve(
    shared: &Arc<Shared>,
    ws: &mut Socket,
    id: ConnId,
    outbox: &Outbox,
    limits: &super::limits::RealtimeLimits,
) {
    let mut stop = shared.stop.clone();
    let mut window = Window::new();
    let end = loop {
        tokio::select! {
            msg = ws.recv() => {
                let Some(Ok(msg)) = msg else { break End::ClientGone };
                let text = match msg {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                    Message::Close(_) => {
                        // tungstenite has queued its answer; send it, then go.
                        ws.settle().await;
                        let control = outbox.drain().control;
                        if !control.is_empty() {
                            let _ = ws.send_raw(control).await;
                        }
                        break End::ClientGone;
                    }
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                };
                if !window.allow(limits.messages_per_minute) {
                    if !ws.send_text(&protocol::error(TRY_LATER, "Too many messages.")).await {
                        break End::ClientGone;
                    }
                    continue;
                }
                let reply = handle(shared, id, &text);
                if !ws.send_text(&reply).await {
                    break End::ClientGone;
                }
            }
            _ = outbox.ready() => {
                let Drained { control, mut frames, overflowed } = outbox.drain();
                if overflowed {
                    break End::SlowConsumer;
                }
                if !control.is_empty() && ws.send_raw(control).await.is_err() {
                    break End::ClientGone;
                }
                if !frames.is_empty() {
                    match ws.send(frames.make_contiguous()).await {
                        Ok(writes) => shared.metrics.writes.fetch_add(writes, Ordering::Relaxed),
                        Err(_) => break End::ClientGone,
                    };
                }
            }
            _ = stop.changed() => break End::Shutdown,
        }
    };
    match end {
        End::ClientGone => {}
        End::SlowConsumer => {
            shared.metrics.slow_closed.fetch_add(1, Ordering::Relaxed);
            let last = shared.hub.lock().map(|h| h.processed).unwrap_or(0);
            let reason = "Slow consumer: too far behind. Reconnect with ?since=<last seq> to resume.";
            let _ = ws.send_text(&protocol::error(TRY_LATER, &format!("{reason} (server position {last})"))).await;
            ws.close(TRY_LATER, "slow consumer").await;
        }
        End::Shutdown => ws.close(GOING_AWAY, "server shutting down").await,
    }
}

/// Answer one client message (the reply frame).
pub(super) fn handle(shared: &Arc<Shared>, id: ConnId, text: &str) -> String {
    let msg = match protocol::parse_message(text) {
        Ok(m) => m,
        Err(e) => return protocol::error(e.code(), &e.message),
    };
    match msg {
        ClientMessage::Ping => protocol::pong(),
        ClientMessage::Presence => protocol::error(1003, "Presence is not supported by Arcade."),
        ClientMessage::Authentication { session } => authenticate(shared, id, &session),
        ClientMessage::Subscribe(items) => {
            let Ok(mut hub) = shared.hub.lock() else { return protocol::error(500, "Server Error") };
            let Some(conn) = hub.conns.get(&id) else { return protocol::error(500, "Server Error") };
            let user = conn.user_id.clone();
            let existing = conn.subs.len();
            let new_ids = items
                .iter()
                .filter(|i| i.id.as_ref().is_none_or(|sid| !conn.subs.iter().any(|s| &s.id == sid)))
                .count();
            if existing + new_ids > MAX_SUBSCRIPTIONS {
                return protocol::error(
                    1003,
                    &format!("A connection may hold at most {MAX_SUBSCRIPTIONS} subscriptions."),
                );
            }
            let mut built = Vec::with_capacity(items.len());
            for item in items {
                let sid = item.id.unwrap_or_else(crate::model::id::unique);
                match subscription(sid, &item.channels, item.queries, user.as_deref()) {
                    Ok(sub) => built.push((sub, item.channels)),
                    Err(e) => return protocol::error(e.code(), &e.message),
                }
            }
            let ids: Vec<String> = built.iter().map(|(s, _)| s.id.clone()).collect();
            // A subscription is for what is committed after it: every write
            // acknowledged before the subscribe (the watermark) stays out of
            // its live stream, even if the dispatcher has not delivered it
            // yet. A replay brings those.
            let from = shared.db.bus().watermark();
            for (mut sub, requested) in built {
                sub.from = from;
                hub.upsert(id, sub, requested);
            }
            let processed = hub.processed;
            let Some(conn) = hub.conns.get_mut(&id) else { return protocol::error(500, "Server Error") };
            if let Some(since) = conn.pending_since.take() {
                conn.live = false;
                conn.paused_at = processed;
                tokio::spawn(super::dispatch::replay(shared.clone(), id, since));
            }
            let subs: Vec<&Subscription> = conn.subs.iter().filter(|s| ids.contains(&s.id)).collect();
            protocol::response_subscribe(&subs)
        }
        ClientMessage::Unsubscribe(ids) => {
            let Ok(mut hub) = shared.hub.lock() else { return protocol::error(500, "Server Error") };
            let results: Vec<(String, bool)> = ids
                .into_iter()
                .map(|sid| {
                    let removed = hub.unsubscribe(id, &sid);
                    (sid, removed)
                })
                .collect();
            protocol::response_unsubscribe(&results)
        }
        ClientMessage::Resume { since } => {
            let Ok(mut hub) = shared.hub.lock() else { return protocol::error(500, "Server Error") };
            let processed = hub.processed;
            let Some(conn) = hub.conns.get_mut(&id) else { return protocol::error(500, "Server Error") };
            if !conn.live {
                return protocol::error(1003, "A replay is already running on this connection.");
            }
            conn.live = false;
            conn.paused_at = processed;
            tokio::spawn(super::dispatch::replay(shared.clone(), id, since));
            r#"{"type":"response","data":{"to":"resume","success":true,"started":true}}"#.to_owned()
        }
    }
}

fn authenticate(shared: &Arc<Shared>, id: ConnId, token: &str) -> String {
    let invalid = || protocol::error(1003, "Session is not valid.");
    let now = time::now_ms();
    let session = match shared.auth.session_for_token(shared.db.store(), token, now) {
        Ok(Some(s)) => s,
        _ => return invalid(),
    };
    let creds = Credentials { key: None, session: Some(token.to_owned()), jwt: None };
    let who = match shared.auth.identify(shared.db.store(), &creds, now) {
        Ok(w @ Identity::User { .. }) => w,
        _ => return invalid(),
    };
    let Ok(mut hub) = shared.hub.lock() else { return protocol::error(500, "Server Error") };
    let Some(conn) = hub.conns.get_mut(&id) else { return protocol::error(500, "Server Error") };
    conn.roles = who.roles().to_vec();
    conn.user_id = who.user_id().map(str::to_owned);
    conn.session_id = Some(session.id);
    hub.rebind(id);
    protocol::response_authentication(who.user().map(|u| u.to_model()).unwrap_or_default())
}
