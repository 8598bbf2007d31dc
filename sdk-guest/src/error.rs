//! The one error type of the SDK, and how it becomes a [`Response`].
//!
//! The first six variants are the host's table errors (the WIT `tables.error`
//! variant) with the host's message. The others are raised inside the guest:
//! a request the function cannot handle ([`Error::BadRequest`]), JSON that
//! does not fit the expected type ([`Error::Json`]), and an answer with a
//! status of the function's choosing ([`Error::Http`]).

use crate::Response;

/// A `Result` whose error is the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in an Arcade function.
///
/// A handler may return `Result<Response, Error>`; an error then answers with
/// [`Error::status`] and the JSON body `{"error": "<message>"}` (see
/// [`Error::into_response`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The row (or table, or database) does not exist. Status 404.
    #[error("{0}")]
    NotFound(String),
    /// A row with this ID already exists. Status 409.
    #[error("{0}")]
    AlreadyExists(String),
    /// The host refused the call: bad ID, data that does not fit the table's
    /// columns, a malformed query. Status 400.
    #[error("{0}")]
    Invalid(String),
    /// An increment or decrement would pass its bound, or a size limit was hit. Status 400.
    #[error("{0}")]
    LimitExceeded(String),
    /// The write conflicts with another one. Status 409.
    #[error("{0}")]
    Conflict(String),
    /// The host failed, or the code is not running inside Arcade. Status 500.
    #[error("{0}")]
    Internal(String),
    /// The request cannot be handled: a body that is not UTF-8 or not the
    /// expected JSON, a missing parameter. Status 400.
    #[error("{0}")]
    BadRequest(String),
    /// JSON from or for the host did not match the Rust type, e.g. a row read
    /// into a struct whose fields the table does not have. Status 500.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// Answer with this status and message, e.g. `Error::http(403, "not your game")`.
    #[error("{message}")]
    Http {
        /// The HTTP status of the answer.
        status: u16,
        /// The message, sent as `{"error": message}`.
        message: String,
    },
}

impl Error {
    /// An error that answers with `status` (any code; 4xx and 5xx are usual).
    pub fn http(status: u16, message: impl Into<String>) -> Self {
        Error::Http { status, message: message.into() }
    }

    /// A 400 [`Error::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::BadRequest(message.into())
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::AlreadyExists(_) | Error::Conflict(_) => 409,
            Error::Invalid(_) | Error::LimitExceeded(_) | Error::BadRequest(_) => 400,
            Error::Internal(_) | Error::Json(_) => 500,
            Error::Http { status, .. } => *status,
        }
    }

    /// The answer for this error: [`Error::status`] with the JSON body
    /// `{"error": "<message>"}`.
    ///
    /// Remember the commit rule: writes made before the error still commit
    /// when the status is below 500.
    pub fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        Response::json(self.status(), &body)
    }

    pub(crate) fn not_in_arcade() -> Self {
        Error::Internal("not running inside Arcade".to_owned())
    }
}

impl From<Error> for Response {
    fn from(e: Error) -> Self {
        e.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_bodies() {
        let cases = [
            (Error::NotFound("Row with the requested ID could not be found.".into()), 404),
            (Error::AlreadyExists("x".into()), 409),
            (Error::Invalid("x".into()), 400),
            (Error::LimitExceeded("x".into()), 400),
            (Error::Conflict("x".into()), 409),
            (Error::Internal("x".into()), 500),
            (Error::bad_request("x"), 400),
            (Error::http(403, "x"), 403),
        ];
        for (e, status) in cases {
            assert_eq!(e.status(), status, "{e:?}");
        }
        let r = Error::NotFound("Row with the requested ID could not be found.".into()).into_response();
        assert_eq!(r.status(), 404);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.body(), br#"{"error":"Row with the requested ID could not be found."}"#);
    }

    #[test]
    fn json_errors_are_500() {
        let e: Error = serde_json::from_str::<u32>("\"x\"").unwrap_err().into();
        assert_eq!(e.status(), 500);
        assert!(e.to_string().starts_with("JSON error: invalid type"), "{e}");
    }
}
