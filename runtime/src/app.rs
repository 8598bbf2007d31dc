//! The one place that wires Arcade together: open the store, load keys and
//! secrets, start the writer and background tasks, serve HTTP until told to
//! stop, then shut down in a fixed order (stop accepting, finish in-flight
//! requests, stop background tasks, commit what is queued, flush).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::Db;
use crate::db::writer::Durability;
use crate::http::{self, AppState};
use crate::realtime::Realtime;
use crate::store::{Store, StoreOptions};

/// The API key file inside the data directory.
pub const KEY_FILE: &str = "api-key";

/// Serve on `listener` until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&data_dir, &StoreOptions::default()))
        .await?
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    let store = Arc::new(store);
    let (api_key, generated) = api_key(&config)?;
    if generated {
        println!("Generated a full-scope API key (stored in {}):", config.data_dir.join(KEY_FILE).display());
        println!("  {api_key}");
    }
    if config.durability == Durability::Relaxed {
        tracing::warn!(
            "durability RELAXED: writes are acknowledged before they reach the disk; a crash or power loss \
             can lose up to about half a second of acknowledged writes. Use only for benchmarks."
        );
    }
    let secret = store.secret()?;
    let db = Db::start(store, config.durability)?;
    let auth = Arc::new(Authenticator::new(api_key.clone(), &secret));
    let config_arc = Arc::new(config.clone());
    let realtime = Realtime::start(db.clone(), auth.clone(), config_arc.clone());
    let functions = match crate::functions::Functions::start(
        db.clone(),
        &config.data_dir,
        &config.project,
        config.functions.clone(),
    ) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::error!(error = %e, "the function runtime could not start; /v1/functions will answer 405");
            None
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut background = Vec::new();
    if let Some(f) = &functions {
        let failed = f.fail_interrupted().await?;
        if failed > 0 {
            tracing::warn!(failed, "executions interrupted by the last stop were marked failed");
        }
        background.push(f.spawn_triggers(config.functions.triggers.clone(), stop_rx.clone()));
        background.push(f.spawn_scheduler(stop_rx.clone()));
    }
    let state = AppState { db: db.clone(), auth, config: config_arc, realtime: realtime.clone(), functions };
    if let Some(m) = &config.manifest {
        let report = crate::manifest::apply::apply(m, &state, &api_key)
            .await
            .with_context(|| format!("applying {}", m.path.display()))?;
        if report.changes.is_empty() {
            println!("{}: up to date", m.path.display());
        } else {
            println!("{}: applied", m.path.display());
            for line in &report.changes {
                println!("  {line}");
            }
        }
        for (id, file) in &report.new_key_files {
            println!("  the secret of the new API key {id} is in {} (shown once; keep it safe)", file.display());
        }
        if config.dev_reload {
            background.push(crate::cli::dev::spawn_reloader(m.clone(), state.clone(), stop_rx.clone()));
        }
    }
    background.push(tokio::spawn(crate::db::maintenance::run(db.clone(), config.retention.clone(), stop_rx)));

    let addr = listener.local_addr()?;
    println!("arcade listening on http://{addr}");
    tracing::info!(%addr, project = %config.project, durability = ?config.durability, "serving");
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let rt = realtime.clone();
    let shutdown = async move {
        shutdown.await;
        // WebSockets are not requests: tell them to close (1001) right away.
        rt.shutdown();
    };
    // No Nagle: a WebSocket frame or a response written while the previous
    // one is unacknowledged would otherwise wait for the peer's delayed ACK
    // (up to 40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    for _ in 0..50 {
        if realtime.shared.metrics.connections.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    tracing::info!("shutting down: requests finished, flushing the store");
    let _ = stop_tx.send(true);
    for task in background {
        let _ = task.await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The master key: `ARCADE_API_KEY` (via config) or the key file, created on first start.
fn api_key(config: &Config) -> anyhow::Result<(String, bool)> {
    if let Some(k) = config.api_key.as_ref().filter(|k| !k.is_empty()) {
        return Ok((k.clone(), false));
    }
    let path = config.data_dir.join(KEY_FILE);
    if let Ok(k) = std::fs::read_to_string(&path) {
        let k = k.trim().to_owned();
        if !k.is_empty() {
            return Ok((k, false));
        }
    }
    let bytes: [u8; 64] = rand::random();
    let key = format!("standard_{}", hex::encode(bytes));
    write_private(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    Ok((key, true))
}

pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}
