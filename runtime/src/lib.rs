//! Arcade: a local-first backend for game logic in one binary.
//!
//! # Layout
//!
//! A layer uses only the layers below it:
//! `model` < `store`, `events` < `auth` < `db` < `functions` < `http`, `realtime` < `app`.
//!
//! - [`model`]: plain types and rules (rows, columns, permissions, queries,
//!   events, Appwrite's error catalogue). No I/O.
//! - [`store`]: the only user of sled. Key layout, index encoding, the write
//!   transaction that commits data together with its events, the event log.
//! - [`events`]: Appwrite's event names and realtime channels (pure), and the
//!   commit watermark readers wait on.
//! - [`auth`]: credentials to identities; roles, scopes, passwords, JWTs.
//! - [`db`]: the single writer (group commit), one module per area of write
//!   operations, the read path with its query planner, log tailing, upkeep.
//! - [`functions`]: the wasm function runtime (the only user of wasmtime):
//!   engine, compiled-component cache, host imports, staged writes, runs.
//! - [`http`]: Appwrite's REST API on axum.
//! - [`realtime`]: Appwrite's `/v1/realtime` WebSocket over the event log,
//!   permission-filtered, with replay from any log position.
//! - [`app`]: wiring and shutdown; [`config`] and [`shutdown`] support it.
//! - [`cli`]: command-line clients of a running server (`arcade watch`).
//!
//! Design decisions worth knowing before changing anything:
//! - Every change goes through `db::Db::write`, to one writer thread, and
//!   through `store::WriteTx`, whose write methods all take the event; an
//!   operation that changes data without an event is refused. Data and events
//!   commit as one record of the store's write-ahead log, applied to sled
//!   after it, so the log and the tables never disagree, even after a crash.
//! - In durable mode a 2xx answer means on disk: the store `fdatasync`s the
//!   record of each batch (group commit) before anyone in it is answered.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod events;
pub mod functions;
pub mod http;
pub mod manifest;
pub mod model;
pub mod realtime;
pub mod shutdown;
pub mod store;
