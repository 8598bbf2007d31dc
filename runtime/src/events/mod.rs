//! Events: the names and channels every write is known by, Appwrite-exact.
//!
//! The event record and `Resource` (what an event is about, and the route
//! pattern Appwrite names it with) live in `model`; here, `names` expands that into the event-name
//! lists functions are matched against and realtime frames carry, and
//! `channels` lists the realtime channels the event is published on.

pub mod bus;
pub mod channels;
pub mod names;

pub use crate::model::resource::{Action, DbKind, Resource};
