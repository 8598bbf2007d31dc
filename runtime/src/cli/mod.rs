//! Command-line tools that talk to a running server (beyond `serve`).

pub mod watch;
