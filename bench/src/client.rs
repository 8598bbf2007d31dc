//! A lean HTTP/1.1 client: one keep-alive connection per simulated client,
//! driven directly by hyper's connection API (no pool, no extra tasks beyond
//! the connection driver), with the Appwrite headers every request needs.
//! Only loopback servers are accepted.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

/// Longest any single request may take before the run fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the server is and how to authenticate.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub key: String,
    pub project: String,
}

impl Endpoint {
    /// Parse `http://127.0.0.1:PORT` (a trailing path is ignored); loopback only.
    pub fn parse(url: &str, key: &str) -> Result<Endpoint> {
        let rest = url.strip_prefix("http://").with_context(|| format!("server URL must start with http://: {url}"))?;
        let hostport = rest.split('/').next().unwrap_or(rest);
        let hostport = if hostport.starts_with("localhost:") {
            hostport.replacen("localhost", "127.0.0.1", 1)
        } else {
            hostport.to_owned()
        };
        let addr: SocketAddr = hostport.parse().with_context(|| format!("cannot read host:port in {url}"))?;
        if !addr.ip().is_loopback() {
            bail!("refusing to load a non-loopback address ({addr}); the benchmark only targets a local server");
        }
        Ok(Endpoint { addr, key: key.to_owned(), project: "local".to_owned() })
    }

    pub async fn connect(&self) -> Result<Conn> {
        let stream =
            tokio::net::TcpStream::connect(self.addr).await.with_context(|| format!("connecting to {}", self.addr))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.context("HTTP/1.1 handshake")?;
        // The driver ends when the connection closes; errors surface on the next send.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            host: HeaderValue::from_str(&self.addr.to_string())?,
            project: HeaderValue::from_str(&self.project)?,
            key: HeaderValue::from_str(&self.key)?,
        })
    }
}

/// One keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    project: HeaderValue,
    key: HeaderValue,
}

/// A request to send: method, path with query, body (empty for GET).
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub body: Bytes,
    /// Send as this user (`X-Appwrite-Session`) instead of with the API key.
    pub session: Option<HeaderValue>,
    /// Content type (default `application/json`).
    pub content_type: Option<&'static str>,
}

impl Req {
    pub fn get(path: impl Into<String>) -> Req {
        Req { method: Method::GET, path: path.into(), body: Bytes::new(), session: None, content_type: None }
    }
    pub fn post(path: impl Into<String>, body: impl Into<Bytes>) -> Req {
        Req { method: Method::POST, path: path.into(), body: body.into(), session: None, content_type: None }
    }
    /// The same request as the user of `session` (a session secret), without the API key.
    pub fn with_session(mut self, session: HeaderValue) -> Req {
        self.session = Some(session);
        self
    }
    pub fn with_content_type(mut self, content_type: &'static str) -> Req {
        self.content_type = Some(content_type);
        self
    }
    /// `METHOD path`, for error messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

impl Conn {
    /// Send one request and read the whole answer (so the connection can be reused).
    pub async fn send(&mut self, req: &Req) -> Result<(StatusCode, Bytes)> {
        let fut = async {
            self.sender.ready().await.context("connection closed by the server")?;
            let mut r = Request::builder()
                .method(req.method.clone())
                .uri(req.path.as_str())
                .body(Full::new(req.body.clone()))?;
            let h = r.headers_mut();
            h.insert(HOST, self.host.clone());
            h.insert("x-appwrite-project", self.project.clone());
            match &req.session {
                Some(session) => h.insert("x-appwrite-session", session.clone()),
                None => h.insert("x-appwrite-key", self.key.clone()),
            };
            h.insert(CONTENT_TYPE, HeaderValue::from_static(req.content_type.unwrap_or("application/json")));
            let resp = self.sender.send_request(r).await.context("sending the request")?;
            let status = resp.status();
            let body = resp.into_body().collect().await.context("reading the response body")?.to_bytes();
            anyhow::Ok((status, body))
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
            Ok(r) => r.with_context(|| req.describe()),
            Err(_) => bail!("{}: no answer within {REQUEST_TIMEOUT:?}", req.describe()),
        }
    }

    /// Send and insist on one of `ok` statuses; returns the body as JSON.
    pub async fn expect(&mut self, req: Req, ok: &[u16]) -> Result<serde_json::Value> {
        let what = req.describe();
        let (status, body) = self.send(&req).await?;
        if !ok.contains(&status.as_u16()) {
            bail!("{what}: expected {ok:?}, got {status}: {}", snippet(&body));
        }
        if body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&body).with_context(|| format!("{what}: answer is not JSON: {}", snippet(&body)))
    }
}

/// The start of a body, for error messages.
pub fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    if s.len() > 300 { format!("{}…", s.chars().take(300).collect::<String>()) } else { s.into_owned() }
}

/// Percent-encode a query-string value (everything but unreserved characters).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback() {
        assert!(Endpoint::parse("http://127.0.0.1:7700", "k").is_ok());
        assert!(Endpoint::parse("http://localhost:7700/v1", "k").is_ok());
        assert!(Endpoint::parse("http://10.0.0.1:7700", "k").is_err());
        assert!(Endpoint::parse("https://127.0.0.1:7700", "k").is_err());
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(urlencode(r#"{"a":["p1"]}"#), "%7B%22a%22%3A%5B%22p1%22%5D%7D");
    }
}
