//! The event record: what the log keeps for every committed change.
//!
//! An event names its resource and action; the long lists of Appwrite event
//! names and realtime channels are derived from those on demand
//! (`crate::events`), so the log stays compact. `roles` are the read roles
//! that decide who may see the event, computed when it was written, from the
//! data as written. `payload` is the REST model of the resource (for a delete,
//! the deleted resource), kept as raw JSON so it can be forwarded without
//! being parsed again.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::catalog::DbKind;
use super::time::Millis;

pub use super::resource::{Action, Resource};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub time: Millis,
    pub resource: Resource,
    pub action: Action,
    /// The changed attribute of `users.*.update.<attribute>`-style events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// For database resources: the kind of the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_kind: Option<DbKind>,
    /// Roles that may read this event (`any` for everyone). Empty: no client sees it.
    pub roles: Vec<String>,
    /// The user whose request caused the change, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// How many event-triggered executions led to this change: 0 for a change
    /// a client or a schedule made, n + 1 for one made by an execution that an
    /// event of depth n triggered. Triggers cut chains at a set depth.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u32,
    pub payload: Box<RawValue>,
}

impl Event {
    /// Whether this event can change which functions events trigger: a
    /// function's settings or a deployment changed. Readers that only care
    /// about those (the trigger dispatcher, while nothing is subscribed) are
    /// woken by the bus for these alone.
    pub fn changes_functions(&self) -> bool {
        matches!(self.resource, Resource::Function { .. } | Resource::Deployment { .. })
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An event before the log has given it a sequence number and a time.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub resource: Resource,
    pub action: Action,
    pub attribute: Option<String>,
    pub db_kind: Option<DbKind>,
    pub roles: Vec<String>,
    pub actor: Option<String>,
    pub payload: Box<RawValue>,
}

impl EventDraft {
    pub fn new(resource: Resource, action: Action, payload: Box<RawValue>) -> Self {
        Self { resource, action, attribute: None, db_kind: None, roles: Vec::new(), actor: None, payload }
    }
    pub fn roles(mut self, roles: Vec<String>) -> Self {
        self.roles = roles;
        self
    }
    pub fn actor(mut self, actor: Option<String>) -> Self {
        self.actor = actor;
        self
    }
    pub fn attribute(mut self, attribute: &str) -> Self {
        self.attribute = Some(attribute.to_owned());
        self
    }
    pub fn db_kind(mut self, kind: DbKind) -> Self {
        self.db_kind = Some(kind);
        self
    }

    pub fn into_event(self, seq: u64, time: Millis, depth: u32) -> Event {
        Event {
            seq,
            time,
            resource: self.resource,
            action: self.action,
            attribute: self.attribute,
            db_kind: self.db_kind,
            roles: self.roles,
            actor: self.actor,
            depth,
            payload: self.payload,
        }
    }
}

/// Serialize a model into the raw JSON an event carries.
pub fn raw<T: Serialize + ?Sized>(model: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(model).unwrap_or_default()
}
