//! The only module that touches the generated bindings: calls into the host's
//! imports and the conversions at the `handle` export.
//!
//! Outside wasm32 (native unit tests) there is no host: table calls return
//! [`Error::Internal`]`("not running inside Arcade")` and log lines go to
//! stderr, so pure logic can be tested with `cargo test`.

use crate::__private::bindings::arcade::function::{log as wit_log, tables as wit, types as wit_types};
use crate::log::Level;
use crate::request::{Request, Trigger};
use crate::response::{IntoResponse, Response};
use crate::{Error, Result};

const IN_ARCADE: bool = cfg!(target_arch = "wasm32");

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Self {
        match e {
            wit::Error::NotFound(m) => Error::NotFound(m),
            wit::Error::AlreadyExists(m) => Error::AlreadyExists(m),
            wit::Error::Invalid(m) => Error::Invalid(m),
            wit::Error::LimitExceeded(m) => Error::LimitExceeded(m),
            wit::Error::Conflict(m) => Error::Conflict(m),
            wit::Error::Internal(m) => Error::Internal(m),
        }
    }
}

/// Runs `call` against the host, or fails when there is none.
fn call<T>(call: impl FnOnce() -> std::result::Result<T, wit::Error>) -> Result<T> {
    if IN_ARCADE { call().map_err(Error::from) } else { Err(Error::not_in_arcade()) }
}

pub(crate) fn get_row(db: &str, table: &str, id: &str) -> Result<Option<String>> {
    call(|| wit::get_row(db, table, id))
}

pub(crate) fn list_rows(db: &str, table: &str, queries: &[String]) -> Result<String> {
    call(|| wit::list_rows(db, table, queries))
}

/// The three writes that take data and optional permissions.
#[derive(Clone, Copy)]
pub(crate) enum Write {
    Create,
    Update,
    Upsert,
}

pub(crate) fn write_row(
    op: Write,
    db: &str,
    table: &str,
    id: &str,
    data: &str,
    permissions: Option<&[String]>,
) -> Result<String> {
    call(|| match op {
        Write::Create => wit::create_row(db, table, id, data, permissions),
        Write::Update => wit::update_row(db, table, id, data, permissions),
        Write::Upsert => wit::upsert_row(db, table, id, data, permissions),
    })
}

pub(crate) fn delete_row(db: &str, table: &str, id: &str) -> Result<()> {
    call(|| wit::delete_row(db, table, id))
}

pub(crate) fn increment(db: &str, table: &str, id: &str, column: &str, by: f64, max: Option<f64>) -> Result<String> {
    call(|| wit::increment_row_column(db, table, id, column, by, max))
}

pub(crate) fn decrement(db: &str, table: &str, id: &str, column: &str, by: f64, min: Option<f64>) -> Result<String> {
    call(|| wit::decrement_row_column(db, table, id, column, by, min))
}

pub(crate) fn log(level: Level, message: &str) {
    if IN_ARCADE {
        let level = match level {
            Level::Debug => wit_log::Level::Debug,
            Level::Info => wit_log::Level::Info,
            Level::Warn => wit_log::Level::Warn,
            Level::Error => wit_log::Level::Error,
        };
        wit_log::log(level, message);
    } else {
        eprintln!("[{}] {message}", format!("{level:?}").to_lowercase());
    }
}

impl From<wit_types::Request> for Request {
    fn from(r: wit_types::Request) -> Self {
        Request {
            method: r.method,
            path: r.path,
            query: r.query,
            headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            body: r.body,
            trigger: match r.trigger {
                wit_types::Trigger::Http => Trigger::Http,
                wit_types::Trigger::Schedule => Trigger::Schedule,
                wit_types::Trigger::Event => Trigger::Event,
            },
            event: r.event,
            user_id: r.user_id,
            execution_id: r.execution_id,
        }
    }
}

impl From<Response> for wit_types::Response {
    fn from(r: Response) -> Self {
        let (status, headers, body) = r.into_parts();
        wit_types::Response {
            status,
            headers: headers.into_iter().map(|(name, value)| wit_types::Header { name, value }).collect(),
            body,
        }
    }
}

/// The body of the `handle` export that [`export!`](crate::export) generates.
pub(crate) fn handle<R: IntoResponse>(request: wit_types::Request, handler: fn(Request) -> R) -> wit_types::Response {
    install_panic_hook();
    let response = handler(request.into()).into_response();
    // std's stdout is line-buffered and a component never exits, so push out
    // a last `print!` without a newline before the host reads the output.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    response.into()
}

/// Sends panic messages to the execution's `errors` through the log import,
/// whatever the host does with stderr. The panic still traps (panic=abort),
/// which the host reports as a failed execution (500, writes discarded).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if IN_ARCADE {
        ONCE.call_once(|| std::panic::set_hook(Box::new(|info| log(Level::Error, &format!("panic: {info}")))));
    }
}
