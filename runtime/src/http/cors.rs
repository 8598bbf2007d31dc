//! CORS for browser frontends. Loopback origins (any port) and the configured
//! ones may call with credentials; the SDK's headers are allowed and
//! `X-Fallback-Cookies` is exposed, since the web SDK keeps its session in it
//! when cookies cannot be used.

use axum::http::{HeaderName, HeaderValue, Method, request::Parts};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;

/// Whether an `Origin` is a loopback one (`localhost`, `127.x`, `[::1]`).
pub fn is_loopback_origin(origin: &str) -> bool {
    let Some((_, rest)) = origin.split_once("://") else {
        return false;
    };
    let host = if let Some(v6) = rest.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        rest.split([':', '/']).next().unwrap_or("")
    };
    host == "localhost" || host.starts_with("127.") || host == "::1"
}

/// Whether `origin` may talk to this server.
pub fn origin_allowed(config: &Config, origin: &str) -> bool {
    is_loopback_origin(origin) || config.allowed_origins.iter().any(|o| o == "*" || o == origin)
}

pub fn layer(config: &Config) -> CorsLayer {
    let cfg = config.clone();
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, _: &Parts| {
        origin.to_str().is_ok_and(|o| origin_allowed(&cfg, o))
    });
    let headers = [
        "content-type",
        "x-appwrite-project",
        "x-appwrite-key",
        "x-appwrite-jwt",
        "x-appwrite-session",
        "x-appwrite-response-format",
        "x-appwrite-locale",
        "x-appwrite-id",
        "x-fallback-cookies",
        "x-sdk-name",
        "x-sdk-platform",
        "x-sdk-language",
        "x-sdk-version",
        "content-range",
        "range",
        "accept",
        "origin",
        "cache-control",
        "x-requested-with",
    ]
    .map(HeaderName::from_static);
    CorsLayer::new()
        .allow_origin(allow)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers(headers)
        .expose_headers([HeaderName::from_static("x-fallback-cookies"), HeaderName::from_static("x-appwrite-session")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins() {
        assert!(is_loopback_origin("http://localhost:5173"));
        assert!(is_loopback_origin("http://127.0.0.1"));
        assert!(is_loopback_origin("http://[::1]:8080"));
        assert!(!is_loopback_origin("https://evil.example"));
        assert!(!is_loopback_origin("http://localhost.evil.example"));
    }
}
