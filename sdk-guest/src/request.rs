//! What a function is asked to handle: the HTTP request, or the request
//! Arcade makes for a schedule or an event, with the execution's context.

use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// What started the execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// A call to `POST /v1/functions/{id}/executions` (or the function's route).
    Http,
    /// The function's CRON schedule, or an execution scheduled for later.
    Schedule,
    /// An event the function subscribed to; see [`Request::event`]. The body is
    /// the JSON of the resource the event is about (e.g. the row).
    Event,
}

impl Trigger {
    /// `"http"`, `"schedule"` or `"event"`, as in Appwrite's execution JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Http => "http",
            Trigger::Schedule => "schedule",
            Trigger::Event => "event",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request a function handles.
///
/// Functions receive it from Arcade; [`Request::new`] and the `with_*`
/// methods build one for unit tests of a handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) trigger: Trigger,
    pub(crate) event: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) execution_id: String,
}

impl Request {
    /// A request with this method and path (which may carry `?query`), no
    /// headers, an empty body, trigger [`Trigger::Http`], no user and an
    /// empty execution ID. For tests.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        let path = path.into();
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (path, String::new()),
        };
        Request {
            method: method.into(),
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
            trigger: Trigger::Http,
            event: None,
            user_id: None,
            execution_id: String::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the trigger and, for [`Trigger::Event`], the event name.
    pub fn with_trigger(mut self, trigger: Trigger, event: Option<&str>) -> Self {
        self.trigger = trigger;
        self.event = event.map(str::to_owned);
        self
    }

    /// Sets the user who caused the execution.
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the execution ID.
    pub fn with_execution_id(mut self, id: impl Into<String>) -> Self {
        self.execution_id = id.into();
        self
    }

    /// The HTTP method, e.g. `"POST"` (always `POST` for event triggers).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path after the function, e.g. `"/"` or `"/games/g1"`, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string without `?`, e.g. `"page=2&sort=score"`; may be empty.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// The first query parameter called `name`, percent-decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find_map(|(k, v)| if decode_component(k) == name { Some(decode_component(v)) } else { None })
    }

    /// The first header called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// All headers in the order received (names as sent; Arcade lower-cases them).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Takes the body without copying it.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as UTF-8 text, or [`Error::BadRequest`].
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|e| Error::BadRequest(format!("the request body is not UTF-8: {e}")))
    }

    /// The body parsed as JSON into `T`, or [`Error::BadRequest`] saying why not.
    ///
    /// An empty body is an error too; use `Option<T>` or check
    /// [`Request::body`] first if the body is optional.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::BadRequest(format!("the request body is not the expected JSON: {e}")))
    }

    /// What started the execution.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// The event name for [`Trigger::Event`], e.g.
    /// `"databases.main.tables.games.rows.g1.create"`.
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The user who caused the execution (the caller, or the user whose write
    /// raised the event), if any.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// This execution's ID.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }
}

/// Decodes one `application/x-www-form-urlencoded` component; invalid
/// escapes are kept as they are, invalid UTF-8 becomes U+FFFD.
fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive() {
        let r = Request::new("POST", "/").with_header("content-type", "application/json").with_header("X-A", "1");
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.header("x-a"), Some("1"));
        assert_eq!(r.header("missing"), None);
    }

    #[test]
    fn path_and_query() {
        let r = Request::new("GET", "/games/g1?name=J%C3%BCrgen+K&flag&x=%zz");
        assert_eq!(r.path(), "/games/g1");
        assert_eq!(r.query(), "name=J%C3%BCrgen+K&flag&x=%zz");
        assert_eq!(r.query_param("name").as_deref(), Some("Jürgen K"));
        assert_eq!(r.query_param("flag").as_deref(), Some(""));
        assert_eq!(r.query_param("x").as_deref(), Some("%zz"));
        assert_eq!(r.query_param("nope"), None);
        assert_eq!(Request::new("GET", "/").query(), "");
    }

    #[test]
    fn body_as_text_and_json() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct In {
            game: String,
        }
        let r = Request::new("POST", "/").with_body(r#"{"game":"g1"}"#);
        assert_eq!(r.text().unwrap(), r#"{"game":"g1"}"#);
        assert_eq!(r.json::<In>().unwrap(), In { game: "g1".into() });

        let bad = Request::new("POST", "/").with_body("{");
        let e = bad.json::<In>().unwrap_err();
        assert!(matches!(e, Error::BadRequest(_)), "{e:?}");
        assert_eq!(e.status(), 400);
        assert!(Request::new("POST", "/").with_body(vec![0xff]).text().is_err());
    }
}
