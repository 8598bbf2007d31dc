//! A small blocking client of a running server's API, for the CLI commands
//! (`deploy`, `exec`, `logs`, `keys`). Errors carry the server's Appwrite
//! error message and a hint of what to do.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach {url}: {detail} (is `arcade serve` running there? set --url or ARCADE_URL)")]
    Unreachable { url: String, detail: String },
    #[error("{method} {path}: {status} {kind}: {message}{hint}")]
    Refused { method: String, path: String, status: u16, kind: String, message: String, hint: &'static str },
}

/// Where the server is and how to authenticate.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub project: String,
    pub key: String,
}

pub struct Api {
    agent: ureq::Agent,
    target: Target,
}

impl Api {
    pub fn new(target: Target) -> Api {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Api { agent, target }
    }

    pub fn project(&self) -> &str {
        &self.target.project
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.target.url.trim_end_matches('/'))
    }

    fn finish(
        &self,
        method: &str,
        path: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, ApiError> {
        let mut resp =
            resp.map_err(|e| ApiError::Unreachable { url: self.target.url.clone(), detail: e.to_string() })?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let hint = match status {
            401 => " (check the API key: --key or ARCADE_API_KEY; the master key is in <data>/api-key)",
            404 if field("type").starts_with("project") => " (check --project)",
            _ => "",
        };
        Err(ApiError::Refused {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            kind: field("type"),
            message: field("message"),
            hint,
        })
    }

    fn with_auth<B>(&self, r: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        r.header("X-Appwrite-Project", &self.target.project).header("X-Appwrite-Key", &self.target.key)
    }

    pub fn get(&self, path: &str) -> Result<Value, ApiError> {
        let r = self.with_auth(self.agent.get(self.url(path)));
        self.finish("GET", path, r.call())
    }

    pub fn send(&self, method: &str, path: &str, body: &Value) -> Result<Value, ApiError> {
        let url = self.url(path);
        let r = match method {
            "POST" => self.agent.post(url),
            "PUT" => self.agent.put(url),
            "PATCH" => self.agent.patch(url),
            _ => self.agent.delete(url).force_send_body(),
        };
        let r = self.with_auth(r).header("Content-Type", "application/json");
        self.finish(method, path, r.send(body.to_string()))
    }

    /// POST a multipart form: text fields and one file.
    pub fn post_file(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<Value, ApiError> {
        let boundary = format!("arcade{}", hex::encode(rand::random::<[u8; 12]>()));
        let mut body = Vec::with_capacity(bytes.len() + 512);
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/wasm\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = self
            .with_auth(self.agent.post(self.url(path)))
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"));
        self.finish("POST", path, r.send(&body[..]))
    }
}
