//! The realtime wire protocol: what clients send, what the server answers.
//!
//! Appwrite has three generations of it (see the reference notes): channels
//! in the URL (A), per-subscription query slots in the URL (B), and
//! `subscribe`/`unsubscribe` messages with client-made IDs (C). This module
//! parses all three into one shape and builds every server frame. Pure: no
//! sockets, no state.
//!
//! Arcade's extensions, ignored by the official SDKs: every `event` frame
//! carries `seq` (its position in the event log), `connected` carries the
//! current position, and a client may ask to replay what it missed, with
//! `?since=SEQ` in the URL or a `{"type":"resume","data":{"since":SEQ}}`
//! message.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::model::exception::{ErrorType, Exception};
use crate::model::query::{self, Filter};

/// Largest message a client may send (Appwrite's Swoole limit).
pub const MAX_INBOUND_BYTES: usize = 64_000;

/// One subscription: channels (after conversion) and compiled filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub channels: Vec<String>,
    /// The query strings as sent (echoed in `response` frames).
    pub queries: Vec<String>,
    pub filters: Vec<Filter>,
    /// Log position the subscription starts after: it is live for events
    /// with a greater `seq` (those committed after it was made). A replay
    /// (`resume`, `?since=`) covers what lies before.
    pub from: u64,
}

/// What the connection URL asks for.
#[derive(Debug, Default, Clone)]
pub struct Open {
    pub project: Option<String>,
    /// Gen A/B subscriptions by slot (Gen A: one subscription, slot 0).
    pub slots: BTreeMap<u32, (Vec<String>, Vec<String>)>,
    pub jwt: Option<String>,
    pub since: Option<u64>,
}

/// Parse the query string of `/v1/realtime`.
pub fn parse_open(query: Option<&str>) -> Result<Open, Exception> {
    let mut open = Open::default();
    let mut channels: Vec<String> = Vec::new();
    let mut slot_queries: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "project" => open.project = Some(v.into_owned()),
            "jwt" => open.jwt = Some(v.into_owned()).filter(|s| !s.is_empty()),
            "since" => {
                open.since = Some(v.parse().map_err(|_| policy("Invalid `since`: expected a sequence number"))?);
            }
            "channels[]" | "channels" => {
                if !v.is_empty() && !channels.contains(&v.to_string()) {
                    channels.push(v.into_owned());
                }
            }
            key => {
                // `<channel>[<slot>][]=<query json>` (Gen B).
                if let Some((channel, slot)) = key.strip_suffix("][]").and_then(|k| k.rsplit_once('['))
                    && let Ok(slot) = slot.parse::<u32>()
                {
                    slot_queries.entry(slot).or_default().push((channel.to_owned(), v.into_owned()));
                }
            }
        }
    }
    if slot_queries.is_empty() {
        if !channels.is_empty() {
            open.slots.insert(0, (channels, Vec::new()));
        }
    } else {
        for (slot, entries) in slot_queries {
            let mut chans: Vec<String> = Vec::new();
            let mut queries: Vec<String> = Vec::new();
            for (channel, q) in entries {
                if !chans.contains(&channel) {
                    chans.push(channel);
                }
                if !queries.contains(&q) {
                    queries.push(q);
                }
            }
            open.slots.insert(slot, (chans, queries));
        }
    }
    Ok(open)
}

/// A message from the client.
#[derive(Debug)]
pub enum ClientMessage {
    Ping,
    Authentication { session: String },
    Subscribe(Vec<SubscribeItem>),
    Unsubscribe(Vec<String>),
    Resume { since: u64 },
    Presence,
}

#[derive(Debug)]
pub struct SubscribeItem {
    pub id: Option<String>,
    pub channels: Vec<String>,
    pub queries: Vec<String>,
}

fn format_error(msg: &str) -> Exception {
    Exception::msg(ErrorType::RealtimeMessageFormatInvalid, msg)
}

fn policy(msg: &str) -> Exception {
    Exception::msg(ErrorType::RealtimePolicyViolation, msg)
}

/// Parse one text frame. Errors are `1003` (the socket stays open).
pub fn parse_message(text: &str) -> Result<ClientMessage, Exception> {
    let v: Value = serde_json::from_str(text).map_err(|_| format_error("Message format is not valid."))?;
    let obj = v.as_object().ok_or_else(|| format_error("Message format is not valid."))?;
    let Some(kind) = obj.get("type").and_then(Value::as_str) else {
        return Err(format_error("Message format is not valid."));
    };
    let data = obj.get("data");
    match kind {
        "ping" => Ok(ClientMessage::Ping),
        "authentication" => {
            let session = data
                .and_then(|d| d.get("session"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format_error("Payload is not valid. Session is required"))?;
            Ok(ClientMessage::Authentication { session: session.to_owned() })
        }
        "subscribe" => {
            let items = data
                .and_then(Value::as_array)
                .ok_or_else(|| format_error("Payload is not valid. Expected a list of subscriptions."))?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let o = item.as_object().ok_or_else(|| format_error("items: each subscription must be an object."))?;
                let id = match o.get("subscriptionId") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) if crate::model::id::is_valid(s) => Some(s.clone()),
                    Some(_) => return Err(format_error("items: subscriptionId is not valid.")),
                };
                let channels = o
                    .get("channels")
                    .and_then(Value::as_array)
                    .ok_or_else(|| format_error("items: channels is not present in payload."))?
                    .iter()
                    .map(|c| {
                        c.as_str().map(str::to_owned).ok_or_else(|| format_error("items: channels must be strings."))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let queries = match o.get("queries") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(q)) => q
                        .iter()
                        .map(|x| match x {
                            Value::String(s) => Ok(s.clone()),
                            Value::Object(_) => Ok(x.to_string()),
                            _ => Err(format_error("items: queries must be query strings.")),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    Some(_) => return Err(format_error("items: queries must be a list.")),
                };
                out.push(SubscribeItem { id, channels, queries });
            }
            Ok(ClientMessage::Subscribe(out))
        }
        "unsubscribe" => {
            let items = data
                .and_then(Value::as_array)
                .ok_or_else(|| format_error("Payload is not valid. Expected a list of subscriptions."))?;
            let ids = items
                .iter()
                .map(|i| {
                    i.get("subscriptionId")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| format_error("items: subscriptionId is not present in payload."))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ClientMessage::Unsubscribe(ids))
        }
        "resume" => {
            let since = data
                .and_then(|d| d.get("since"))
                .and_then(|s| s.as_u64().or_else(|| s.as_str().and_then(|x| x.parse().ok())))
                .ok_or_else(|| format_error("Payload is not valid. `since` (a sequence number) is required"))?;
            Ok(ClientMessage::Resume { since })
        }
        "presence" => Ok(ClientMessage::Presence),
        _ => Err(format_error("Message type is not valid.")),
    }
}

/// Compile a subscription's query strings (realtime subset).
pub fn compile_queries(queries: &[String]) -> Result<Vec<Filter>, Exception> {
    let values = queries
        .iter()
        .map(|q| serde_json::from_str::<Value>(q).map_err(|_| format_error(&format!("Invalid query: {q}"))))
        .collect::<Result<Vec<_>, _>>()?;
    query::realtime_filters(&values)
}

/// Appwrite's channel conversion: `account` gains `account.<user>`,
/// `account.<action>` becomes `account.<user>.<action>`, and a subscription to
/// another user's account channel is dropped. Guests keep `account.<action>`
/// literally (it never matches) until they authenticate.
pub fn convert_channels(channels: &[String], user: Option<&str>) -> Vec<String> {
    const ACTIONS: [&str; 4] = ["create", "update", "upsert", "delete"];
    let mut out: Vec<String> = Vec::with_capacity(channels.len() + 1);
    let mut push = |c: String| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    for c in channels {
        if c == "account" {
            push(c.clone());
            if let Some(u) = user {
                push(format!("account.{u}"));
            }
        } else if let Some(rest) = c.strip_prefix("account.") {
            if ACTIONS.contains(&rest) {
                match user {
                    Some(u) => push(format!("account.{u}.{rest}")),
                    None => push(c.clone()),
                }
            } else if user.is_some_and(|u| rest == u || rest.starts_with(&format!("{u}."))) {
                push(c.clone());
            }
        } else {
            push(c.clone());
        }
    }
    out
}

/// A stable subscription ID for URL (Gen A/B) subscriptions: the same
/// channels and queries get the same ID on every connection, so identical
/// subscribers can share one serialized frame.
pub fn minted_id(channels: &[String], queries: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for c in channels {
        h.update(c.as_bytes());
        h.update([0]);
    }
    h.update([1]);
    for q in queries {
        h.update(q.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..10])
}

pub fn connected(channels: &[String], slots: &BTreeMap<u32, String>, user: Option<Value>, seq: u64) -> String {
    // A 0-based contiguous map is a JSON array in Appwrite (PHP); others are objects.
    let contiguous = slots.keys().enumerate().all(|(i, k)| *k as usize == i);
    let subscriptions = if contiguous {
        Value::Array(slots.values().map(|v| Value::String(v.clone())).collect())
    } else {
        Value::Object(slots.iter().map(|(k, v)| (k.to_string(), Value::String(v.clone()))).collect::<Map<_, _>>())
    };
    json!({"type": "connected", "data": {"channels": channels, "subscriptions": subscriptions, "user": user.unwrap_or(Value::Null), "seq": seq}}).to_string()
}

pub fn error(code: u16, message: &str) -> String {
    json!({"type": "error", "data": {"code": code, "message": message}}).to_string()
}

pub fn pong() -> String {
    r#"{"type":"pong"}"#.to_owned()
}

pub fn response_subscribe(subs: &[&Subscription]) -> String {
    let list: Vec<Value> =
        subs.iter().map(|s| json!({"subscriptionId": s.id, "channels": s.channels, "queries": s.queries})).collect();
    json!({"type": "response", "data": {"to": "subscribe", "success": true, "subscriptions": list}}).to_string()
}

pub fn response_unsubscribe(results: &[(String, bool)]) -> String {
    let list: Vec<Value> =
        results.iter().map(|(id, removed)| json!({"subscriptionId": id, "removed": removed})).collect();
    json!({"type": "response", "data": {"to": "unsubscribe", "success": true, "subscriptions": list}}).to_string()
}

pub fn response_authentication(user: Value) -> String {
    json!({"type": "response", "data": {"to": "authentication", "success": true, "user": user}}).to_string()
}

pub fn response_resume(since: u64, upto: u64) -> String {
    json!({"type": "response", "data": {"to": "resume", "success": true, "since": since, "until": upto}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_a_url() {
        let o = parse_open(Some("project=local&channels%5B%5D=rows&channels%5B%5D=files")).unwrap();
        assert_eq!(o.project.as_deref(), Some("local"));
        assert_eq!(o.slots.len(), 1);
        assert_eq!(o.slots[&0].0, vec!["rows", "files"]);
    }

    #[test]
    fn gen_b_url_slots() {
        let q = "project=p&channels[]=rows&channels[]=files&rows[0][]=%7B%22method%22%3A%22select%22%2C%22values%22%3A%5B%22*%22%5D%7D&files[0][]=%7B%22method%22%3A%22select%22%2C%22values%22%3A%5B%22*%22%5D%7D&tablesdb.db1.tables.t1.rows.create[1][]=%7B%22method%22%3A%22equal%22%7D";
        let o = parse_open(Some(q)).unwrap();
        assert_eq!(o.slots.len(), 2);
        assert_eq!(o.slots[&0].0, vec!["rows", "files"]);
        assert_eq!(o.slots[&0].1.len(), 1, "same select(*) under both channels counts once");
        assert_eq!(o.slots[&1].0, vec!["tablesdb.db1.tables.t1.rows.create"]);
    }

    #[test]
    fn messages() {
        assert!(matches!(parse_message(r#"{"type":"ping"}"#).unwrap(), ClientMessage::Ping));
        let m = parse_message(r#"{"type":"subscribe","data":[{"subscriptionId":"s1","channels":["rows"],"queries":["{\"method\":\"equal\",\"attribute\":\"a\",\"values\":[1]}"]}]}"#).unwrap();
        let ClientMessage::Subscribe(items) = m else { panic!() };
        assert_eq!(items[0].id.as_deref(), Some("s1"));
        assert_eq!(items[0].queries.len(), 1);
        for bad in [
            "nope",
            "{}",
            r#"{"type":"dance"}"#,
            r#"{"type":"subscribe","data":{}}"#,
            r#"{"type":"authentication","data":{}}"#,
        ] {
            let e = parse_message(bad).unwrap_err();
            assert_eq!(e.code(), 1003, "{bad}");
        }
    }

    #[test]
    fn account_channels_convert() {
        let c = convert_channels(
            &["account".into(), "account.update".into(), "account.other".into(), "rows".into()],
            Some("u1"),
        );
        assert_eq!(c, ["account", "account.u1", "account.u1.update", "rows"]);
        let g = convert_channels(&["account".into(), "account.update".into()], None);
        assert_eq!(g, ["account", "account.update"]);
    }

    #[test]
    fn connected_subscriptions_shape() {
        let mut slots = BTreeMap::new();
        slots.insert(0, "a".to_owned());
        assert!(connected(&[], &slots, None, 3).contains(r#""subscriptions":["a"]"#));
        let mut slots = BTreeMap::new();
        slots.insert(1, "b".to_owned());
        assert!(connected(&[], &slots, None, 3).contains(r#""subscriptions":{"1":"b"}"#));
    }
}
