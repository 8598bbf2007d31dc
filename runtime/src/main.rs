//! The `arcade` command line: a thin shell over the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use arcade::config::{Config, Limits, Retention};
use arcade::db::writer::Durability;
use arcade::realtime::limits::RealtimeLimits;
use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: the writer and the HTTP workers
/// allocate and free many short-lived buffers (sled copies tree nodes on
/// write), where glibc's allocator spent a fifth of the CPU time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "arcade",
    version,
    about = "Local-first backend for game logic: wasm functions, tables and realtime in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Appwrite-compatible API.
    Serve(ServeArgs),
    /// Print live events from a running server (realtime), coloured.
    Watch(WatchCli),
}

#[derive(clap::Args)]
struct WatchCli {
    /// Channels to follow, e.g. `rows`, `account`, `databases.main.tables.games.rows` (default: rows and executions).
    channels: Vec<String>,
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:7700", env = "ARCADE_URL")]
    url: String,
    #[arg(long, default_value = "local")]
    project: String,
    /// API key: see every event (default: the key in ./arcade-data/api-key, if any).
    #[arg(long, env = "ARCADE_API_KEY", hide_env_values = true)]
    key: Option<String>,
    /// A session token: see what that user may read.
    #[arg(long, conflicts_with = "key")]
    session: Option<String>,
    /// Replay events after this log sequence number first.
    #[arg(long)]
    since: Option<u64>,
    /// Print whole payloads.
    #[arg(long)]
    full: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Data directory (created if missing).
    #[arg(long, default_value = "./arcade-data")]
    data: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7700")]
    listen: SocketAddr,
    /// The project id clients must name.
    #[arg(long, default_value = "local")]
    project: String,
    /// `durable` (default): a 2xx means on disk. `relaxed`: for benchmarks; a crash can lose acknowledged writes.
    #[arg(long, value_enum, default_value = "durable")]
    durability: Durability,
    /// Full-scope API key; otherwise one is generated into the data directory.
    #[arg(long, env = "ARCADE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// A browser origin allowed besides loopback ones (repeatable; `*` allows all).
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// Keep at most this many events in the log.
    #[arg(long, default_value_t = Retention::default().max_events)]
    retention_events: u64,
    /// Keep no event older than this many seconds.
    #[arg(long, default_value_t = Retention::default().max_age_seconds)]
    retention_seconds: i64,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// New realtime connections per minute per IP (0: unlimited).
    #[arg(long, default_value_t = RealtimeLimits::default().connects_per_minute)]
    realtime_connects_per_minute: u32,
    /// Realtime messages per minute per connection (0: unlimited).
    #[arg(long, default_value_t = RealtimeLimits::default().messages_per_minute)]
    realtime_messages_per_minute: u32,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ARCADE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Watch(args) => watch(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        data_dir: args.data,
        listen: args.listen,
        project: args.project,
        durability: args.durability,
        api_key: args.api_key,
        allowed_origins: args.allowed_origins,
        limits: Limits { max_body_bytes: args.max_body_bytes, ..Limits::default() },
        retention: Retention { max_events: args.retention_events, max_age_seconds: args.retention_seconds },
        realtime: RealtimeLimits {
            connects_per_minute: args.realtime_connects_per_minute,
            messages_per_minute: args.realtime_messages_per_minute,
        },
        functions: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {}: {e} (is another server using it? try --listen 127.0.0.1:0)",
            config.listen
        )
    })?;
    arcade::app::run(config, listener, arcade::shutdown::signal()).await
}

async fn watch(args: WatchCli) -> anyhow::Result<()> {
    let key = match (args.key, &args.session) {
        (Some(k), _) => Some(k),
        (None, None) => std::fs::read_to_string("arcade-data/api-key").ok().map(|k| k.trim().to_owned()),
        (None, Some(_)) => None,
    };
    let channels =
        if args.channels.is_empty() { vec!["rows".to_owned(), "executions".to_owned()] } else { args.channels };
    arcade::cli::watch::run(arcade::cli::watch::WatchArgs {
        url: args.url,
        project: args.project,
        channels,
        key,
        session: args.session,
        since: args.since,
        full: args.full,
    })
    .await
}
