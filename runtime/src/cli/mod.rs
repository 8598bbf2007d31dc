//! Command-line tools beyond `serve`: `dev` (build, serve, reload), and the
//! clients of a running server (`watch`, `deploy`, `exec`, `logs`, `keys`).

pub mod api;
pub mod dev;
pub mod functions;
pub mod keys;
pub mod watch;

use std::io::IsTerminal;

/// ANSI colours, only on a terminal and unless `NO_COLOR` is set.
pub struct Style {
    on: bool,
}

impl Style {
    pub fn stdout() -> Style {
        Style { on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() }
    }

    pub fn paint(&self, code: &str, s: &str) -> String {
        if self.on { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() }
    }
}
