//! Write Arcade functions in Rust.
//!
//! An Arcade function is a WebAssembly component (`wasm32-wasip2`) that
//! exports one handler: it gets a [`Request`] (an HTTP call, a schedule or an
//! event) and returns a [`Response`]. While it runs it can read and write the
//! project's tables with [`Table`] and write log lines with [`log`]. The
//! contract with the host is the WIT package `arcade:function@0.1.0` in the
//! repository's `wit/` folder; this crate hides its generated bindings behind
//! the types below.
//!
//! # Example
//!
//! ```no_run
//! use arcade_sdk::{log, Error, Permission, Query, Request, Response, Role, Table, ID};
//! use serde::{Deserialize, Serialize};
//! use serde_json::json;
//!
//! /// The request body.
//! #[derive(Deserialize)]
//! struct Finish {
//!     game_id: String,
//!     winner: String,
//! }
//!
//! /// A row of the `games` table.
//! #[derive(Serialize, Deserialize)]
//! struct Game {
//!     status: String,
//!     winner: Option<String>,
//! }
//!
//! /// A row of the `results` table.
//! #[derive(Serialize, Deserialize)]
//! struct GameResult {
//!     game_id: String,
//!     player: String,
//! }
//!
//! fn finish_game(req: Request) -> Result<Response, Error> {
//!     let input: Finish = req.json()?; // a bad body answers 400
//!     let games = Table::new("main", "games");
//!     let Some(game) = games.get::<Game>(&input.game_id)? else {
//!         return Err(Error::http(404, format!("no game {}", input.game_id)));
//!     };
//!     if game.data.status != "playing" {
//!         return Err(Error::http(409, "the game is already over"));
//!     }
//!
//!     // All writes of one execution commit together, when the answer is below 500.
//!     let game = games.update::<Game>(&input.game_id, &json!({ "status": "won", "winner": input.winner }))?;
//!     Table::new("main", "players").increment::<serde_json::Value>(&input.winner, "wins", 1.0, None)?;
//!     Table::new("main", "results").create_with_permissions(
//!         ID::unique(),
//!         &GameResult { game_id: input.game_id.clone(), player: input.winner.clone() },
//!         &[Permission::read(Role::user(&input.winner))],
//!     )?;
//!     let wins = Table::new("main", "results")
//!         .list::<GameResult>(&[Query::equal("player", input.winner.as_str()), Query::limit(1)])?
//!         .total;
//!
//!     log::info(format!("game {} won by {} ({wins} wins)", input.game_id, input.winner));
//!     Ok(Response::json(200, &game))
//! }
//!
//! arcade_sdk::export!(finish_game);
//! # fn main() {}
//! ```
//!
//! Build it as a `cdylib` for `wasm32-wasip2` (in this repository:
//! `scripts/build-functions.sh`); the `.wasm` is already a component.
//!
//! # What the host does with a function
//!
//! - **Commit rule.** Table writes are staged and commit atomically when the
//!   answer's status is below 500. A 5xx answer (e.g. from
//!   [`Error::Internal`] or [`Error::Json`]), a panic or a timeout discards
//!   them. A 4xx answer *does* commit the writes made before it, so check
//!   before you write, or answer 5xx to roll back.
//! - **Output.** [`log`] lines go to the execution's `logs` (debug, info) and
//!   `errors` (warn, error). stdout and stderr are captured too; a panic's
//!   message goes to `errors` and the execution fails (500).
//! - **Errors.** A handler may return [`Response`] or
//!   `Result<Response, Error>`; an [`Error`] answers with
//!   [`Error::status`] and `{"error": "<message>"}`.
//!
//! # Outside Arcade
//!
//! The crate also builds for the host's own target, so the pure parts of a
//! function (parsing, rules, [`Query`] strings, handlers that do not touch
//! tables) can be unit-tested with `cargo test`. There, [`Table`] calls
//! return [`Error::Internal`]`("not running inside Arcade")` and [`log`]
//! writes to stderr.

#![deny(missing_docs)]

extern crate self as arcade_sdk;

mod error;
mod host;
pub mod log;
mod permission;
mod query;
mod request;
mod response;
pub mod tables;

pub use error::{Error, Result};
pub use permission::{Permission, Role};
pub use query::{IntoQueryValues, Query, QueryValue};
pub use request::{Request, Trigger};
pub use response::{IntoResponse, Response};
pub use tables::{ID, Row, RowList, Table};

/// Exports a handler as the function's `handle`.
///
/// The handler is a `fn(Request) -> R` where `R` is [`Response`] or
/// `Result<Response, E>` with `E: Into<Error>` (any [`IntoResponse`]). Use it
/// once per crate (a component has one `handle`), at the top level:
///
/// ```no_run
/// use arcade_sdk::{Request, Response};
///
/// fn hello(_req: Request) -> Response {
///     Response::text(200, "hello")
/// }
///
/// arcade_sdk::export!(hello);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export {
    ($handler:path) => {
        const _: () = {
            struct ArcadeFunction;

            impl $crate::__private::bindings::Guest for ArcadeFunction {
                fn handle(request: $crate::__private::bindings::Request) -> $crate::__private::bindings::Response {
                    $crate::__private::handle(request, $handler)
                }
            }

    $crate::__private::bindings::__export_function!(ArcadeFunction with_types_in $crate::__private::bindings);
        };
    };
}

/// Used by [`export!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    /// Generated from `wit/` (world `function`).
    #[allow(missing_docs, clippy::all)]
    pub mod bindings {
        wit_bindgen::generate!({
            world: "function",
            path: "../wit",
            pub_export_macro: true,
            export_macro_name: "__export_function",
            default_bindings_module: "::arcade_sdk::__private::bindings",
            runtime_path: "::arcade_sdk::__private::wit_bindgen::rt",
        });
    }

    /// The body of the exported `handle`.
    pub fn handle<R: crate::IntoResponse>(
        request: bindings::Request,
        handler: fn(crate::Request) -> R,
    ) -> bindings::Response {
        crate::host::handle(request, handler)
    }
}
