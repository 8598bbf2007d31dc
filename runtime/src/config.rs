//! Server configuration: everything `arcade serve` can be told, with the
//! defaults and limits written down in one place.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::db::writer::Durability;

#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the store and the generated key.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// The one project id this server answers for (`X-Appwrite-Project`).
    pub project: String,
    pub durability: Durability,
    /// Full-scope API key; generated and stored in the data dir when not given.
    pub api_key: Option<String>,
    /// Origins allowed by CORS and realtime, besides loopback origins.
    pub allowed_origins: Vec<String>,
    pub limits: Limits,
    pub retention: Retention,
    pub realtime: crate::realtime::limits::RealtimeLimits,
    pub functions: crate::functions::FunctionsConfig,
    /// A directory served at `/` (the manifest's `project.site`).
    pub site: Option<PathBuf>,
    /// The project manifest, applied at start.
    pub manifest: Option<std::sync::Arc<crate::manifest::Manifest>>,
    /// `arcade dev`: rebuild and redeploy functions whose sources change.
    pub dev_reload: bool,
}

/// Explicit bounds on what one request may ask for.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a session lasts, in seconds (Appwrite's default: one year).
    pub session_seconds: i64,
    /// Requests handled at once; more wait at the door.
    pub max_concurrent_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_body_bytes: 8 << 20, session_seconds: 365 * 24 * 3600, max_concurrent_requests: 4096 }
    }
}

/// How much of the event log to keep.
#[derive(Debug, Clone)]
pub struct Retention {
    pub max_events: u64,
    pub max_age_seconds: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self { max_events: 1_000_000, max_age_seconds: 7 * 24 * 3600 }
    }
}

impl Config {
    /// A configuration for tests and tools: everything default, data in `dir`.
    pub fn for_dir(dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 7700)),
            project: "local".to_owned(),
            durability: Durability::Durable,
            api_key: None,
            allowed_origins: Vec::new(),
            limits: Limits::default(),
            retention: Retention::default(),
            realtime: Default::default(),
            functions: Default::default(),
            site: None,
            manifest: None,
            dev_reload: false,
        }
    }
}
