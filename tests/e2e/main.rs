//! End-to-end tests: the real `arcade` binary on port 0, a temporary data
//! directory, plain HTTP. All tests build into this one binary and share
//! `util`.

mod cli;
mod durability;
mod events;
mod functions;
mod fuzz;
mod permissions;
mod queries;
mod realtime;
mod rest;
mod transactions;
mod triggers;
mod util;
