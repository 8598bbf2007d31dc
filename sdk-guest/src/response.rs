//! What a function answers, and the [`IntoResponse`] conversion that lets a
//! handler return a [`Response`] or a `Result<Response, Error>`.

use serde::Serialize;

use crate::Error;

/// The answer of a function: status, headers and body.
///
/// The status also decides the fate of the execution's writes: below 500 they
/// commit, from 500 on they are discarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// An empty answer with this status, e.g. `Response::empty(204)`.
    pub fn empty(status: u16) -> Self {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    /// A `text/plain; charset=utf-8` answer.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response::bytes(status, "text/plain; charset=utf-8", body.into().into_bytes())
    }

    /// An `application/json` answer with `value` serialized as JSON.
    ///
    /// If `value` cannot be serialized (a map with non-string keys, a failing
    /// `Serialize` impl), the answer is instead a 500 whose body says why,
    /// so the execution's writes are discarded.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response::bytes(status, "application/json", body),
            Err(e) => {
                let message = format!("the response could not be serialized as JSON: {e}");
                crate::log::error(&message);
                let body = serde_json::json!({ "error": message }).to_string().into_bytes();
                Response::bytes(500, "application/json", body)
            }
        }
    }

    /// An answer with these bytes and content type.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response::empty(status).with_header("content-type", content_type).with_body(body)
    }

    /// Sets a header, replacing any header of the same name (compared
    /// case-insensitively). Use [`Response::append_header`] for repeated
    /// headers such as `set-cookie`.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Adds a header, keeping any others of the same name.
    pub fn append_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body (headers stay as they are).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Replaces the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first header called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// All headers, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub(crate) fn into_parts(self) -> (u16, Vec<(String, String)>, Vec<u8>) {
        (self.status, self.headers, self.body)
    }
}

/// What a handler may return: [`Response`], or `Result<Response, E>` for any
/// `E` that converts into [`Error`] (errors become [`Error::into_response`]).
pub trait IntoResponse {
    /// Turns `self` into the answer.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl<E: Into<Error>> IntoResponse for Result<Response, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(r) => r,
            Err(e) => {
                let e = e.into();
                if e.status() >= 500 {
                    crate::log::error(format!("the function failed: {e}"));
                }
                e.into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders() {
        let r = Response::json(201, &serde_json::json!({"ok": true}));
        assert_eq!(
            (r.status(), r.header("content-type"), r.body()),
            (201, Some("application/json"), &b"{\"ok\":true}"[..])
        );

        let r = Response::text(200, "hi").with_header("Content-Type", "text/html").append_header("set-cookie", "a=1");
        assert_eq!(r.headers().collect::<Vec<_>>(), [("Content-Type", "text/html"), ("set-cookie", "a=1")]);
        assert_eq!(r.body(), b"hi");

        let r = Response::empty(204);
        assert_eq!((r.status(), r.headers().count(), r.body().len()), (204, 0, 0));
    }

    #[test]
    fn unserializable_json_is_a_500() {
        let mut m = std::collections::HashMap::new();
        m.insert((1, 2), 3);
        let r = Response::json(200, &m);
        assert_eq!(r.status(), 500);
        assert!(String::from_utf8_lossy(r.body()).contains("could not be serialized"));
    }

    #[test]
    fn results_become_responses() {
        let ok: Result<Response, Error> = Ok(Response::empty(204));
        assert_eq!(ok.into_response().status(), 204);
        let err: Result<Response, Error> = Err(Error::http(403, "not your game"));
        let r = err.into_response();
        assert_eq!(r.status(), 403);
        assert_eq!(r.body(), br#"{"error":"not your game"}"#);
    }
}
