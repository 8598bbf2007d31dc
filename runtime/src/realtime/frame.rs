//! An event made ready for delivery: its channels, its Appwrite event names,
//! and its serialized frame, built once and shared by every recipient.
//!
//! Frames differ between recipients only in `subscriptions` (which of the
//! recipient's subscriptions matched), so the frame is kept as a prefix built
//! once plus a short tail per distinct subscription list; recipients with the
//! same list share the very same bytes, framed for the wire (`wire`).

use std::sync::{Arc, OnceLock};

use foldhash::HashMap;
use serde_json::{Map, Value};

use super::wire::{TextBuilder, Wire};
use crate::events::{channels, names};
use crate::model::catalog::DbKind;
use crate::model::event::Event;
use crate::model::time;

pub struct Prepared {
    pub event: Arc<Event>,
    pub channels: Vec<String>,
    prefix: OnceLock<String>,
    payload: OnceLock<Option<Map<String, Value>>>,
    frames: HashMap<String, Wire>,
    /// Scratch space for the `subscriptions` tail of the frame being looked up.
    tail: String,
    /// The subscription list of the last frame handed out, and the frame:
    /// consecutive recipients mostly have the same list.
    last: Option<(Vec<String>, Wire)>,

    /// Frames serialized for this event (for metrics).
    pub serialized: u64,
}

impl Prepared {
    pub fn new(event: Arc<Event>) -> Prepared {
        let channels = channels::channels(&event.resource, event.action);
        Prepared {
            event,
            channels,
            prefix: OnceLock::new(),
            payload: OnceLock::new(),
            frames: HashMap::default(),
            tail: String::new(),
            last: None,
            serialized: 0,
        }
    }

    /// Whether the event is published on `c`. A scan, not a set: an event has
    /// at most 16 channels, most differ from `c` in length.
    pub fn has_channel(&self, c: &str) -> bool {
        self.channels.iter().any(|x| x == c)
    }

    /// Whether a connection holding `roles` may see this event.
    pub fn readable_by(&self, roles: &[String]) -> bool {
        self.event.roles.iter().any(|r| r == "any" || roles.iter().any(|h| h == r))
    }

    /// The payload as a JSON object, for query filters (parsed once, on demand).
    pub fn payload(&self) -> Option<&Map<String, Value>> {
        self.payload
            .get_or_init(|| {
                serde_json::from_str::<Value>(self.event.payload.get()).ok().and_then(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
            })
            .as_ref()
    }

    fn prefix(&self) -> &str {
        self.prefix.get_or_init(|| {
            let e = &self.event;
            let names = names::realtime_names(
                &e.resource,
                e.action,
                e.attribute.as_deref(),
                e.db_kind.unwrap_or(DbKind::Legacy),
            );
            let mut s = String::with_capacity(4096 + e.payload.get().len());
            s.push_str(r#"{"type":"event","data":{"seq":"#);
            s.push_str(&e.seq.to_string());
            s.push_str(r#","events":"#);
            s.push_str(&serde_json::to_string(&names).unwrap_or_else(|_| "[]".into()));
            s.push_str(r#","channels":"#);
            s.push_str(&serde_json::to_string(&self.channels).unwrap_or_else(|_| "[]".into()));
            s.push_str(r#","timestamp":""#);
            s.push_str(&time::format(e.time));
            s.push_str(r#"","payload":"#);
            s.push_str(e.payload.get());
            s.push_str(r#","subscriptions":"#);
            s
        })
    }

    /// The frame for a recipient whose matching subscriptions are `subs`.
    /// Recipients with the same list share one frame; looking it up allocates
    /// nothing (the tail is written into a reused buffer).
    pub fn frame(&mut self, subs: &[&str]) -> Wire {
        if let Some((list, frame)) = &self.last
            && list.len() == subs.len()
            && list.iter().zip(subs).all(|(a, b)| a == b)
        {
            return frame.clone();
        }
        let frame = self.lookup(subs);
        self.last = Some((subs.iter().map(|s| (*s).to_owned()).collect(), frame.clone()));
        frame
    }

    fn lookup(&mut self, subs: &[&str]) -> Wire {
        let mut tail = std::mem::take(&mut self.tail);
        tail.clear();
        tail.push('[');
        for (i, s) in subs.iter().enumerate() {
            if i > 0 {
                tail.push(',');
            }
            if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
                tail.push('"');
                tail.push_str(s);
                tail.push('"');
            } else {
                tail.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
            }
        }
        tail.push(']');
        if let Some(b) = self.frames.get(&tail) {
            let b = b.clone();
            self.tail = tail;
            return b;
        }
        let mut s = TextBuilder::with_capacity(self.prefix().len() + tail.len() + 2);
        s.push_str(self.prefix());
        s.push_str(&tail);
        s.push_str("}}");
        let b = s.finish();
        self.serialized += 1;
        self.frames.insert(tail, b.clone());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Action, EventDraft, Resource, raw};
    use serde_json::json;

    #[test]
    fn frame_is_appwrite_shaped_and_shared() {
        let ev = EventDraft::new(
            Resource::Row { db: "d".into(), table: "t".into(), row: "r".into() },
            Action::Create,
            raw(&json!({"$id": "r", "n": 1})),
        )
        .db_kind(DbKind::TablesDb)
        .roles(vec!["any".into()])
        .into_event(7, 0, 0);
        let mut p = Prepared::new(Arc::new(ev));
        let a = p.frame(&["s1"]);
        let b = p.frame(&["s1"]);
        assert_eq!(a.bytes().as_ptr(), b.bytes().as_ptr(), "same subscriptions share one frame");
        let c = p.frame(&["s2", "s3"]);
        assert_eq!(p.serialized, 2);
        let v: Value = serde_json::from_str(c.as_str()).unwrap();
        assert_eq!(v["type"], "event");
        assert_eq!(v["data"]["seq"], 7);
        assert_eq!(v["data"]["subscriptions"], json!(["s2", "s3"]));
        assert_eq!(v["data"]["payload"]["n"], 1);
        assert_eq!(v["data"]["events"][0], "tablesdb.d.tables.t.rows.r.create");
        assert_eq!(v["data"]["channels"].as_array().unwrap().len(), 16);
        assert_eq!(v["data"]["timestamp"], "1970-01-01T00:00:00.000+00:00");
        assert!(p.readable_by(&["guests".into()]));
        let odd = p.frame(&["a\"b"]);
        let v: Value = serde_json::from_str(odd.as_str()).unwrap();
        assert_eq!(v["data"]["subscriptions"], json!(["a\"b"]));
    }
}
