//! Plain types with no I/O: what Arcade stores and sends, and the rules
//! values must satisfy. Every other module builds on these.

pub mod account;
pub mod catalog;
pub mod column;
pub mod event;
pub mod exception;
pub mod function;
pub mod id;
pub mod permission;
pub mod query;
pub mod resource;
pub mod row;
pub mod time;
