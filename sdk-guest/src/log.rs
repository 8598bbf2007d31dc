//! Lines for the execution's `logs` (debug, info) and `errors` (warn, error).
//!
//! Prefer these over `println!`/`eprintln!`: they carry a level and do not
//! depend on how the host captures stdout and stderr (it does capture them
//! too). Outside Arcade (native unit tests) the lines go to stderr.
//!
//! ```no_run
//! use arcade_sdk::log;
//! log::info("game finished");
//! log::warn(format!("player {} has no wallet", "u1"));
//! ```

/// How important a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Details for debugging; goes to `logs`.
    Debug,
    /// Normal progress; goes to `logs`.
    Info,
    /// Something odd that the function handled; goes to `errors`.
    Warn,
    /// A failure; goes to `errors`.
    Error,
}

/// Writes one line at `level`.
pub fn log(level: Level, message: impl AsRef<str>) {
    crate::host::log(level, message.as_ref());
}

/// Writes a debug line (to `logs`).
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message);
}

/// Writes an info line (to `logs`).
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message);
}

/// Writes a warning (to `errors`).
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message);
}

/// Writes an error line (to `errors`).
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message);
}
