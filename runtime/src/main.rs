//! The `arcade` command line: a thin shell over the library.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use arcade::cli::api::{Api, Target};
use arcade::config::{Config, Limits, Retention};
use arcade::db::writer::Durability;
use arcade::functions::FunctionsConfig;
use arcade::functions::triggers::TriggerConfig;
use arcade::manifest::Manifest;
use arcade::realtime::limits::RealtimeLimits;
use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: the writer and the HTTP workers
/// allocate and free many short-lived buffers (sled copies tree nodes on
/// write), where glibc's allocator spent a fifth of the CPU time. Its 2.x
/// line (the crate's `v2` feature), not 3.x: with 3.x the allocator's fast
/// path alone was ~10% of the server's samples at 64 clients, and 2.x used
/// less CPU per no-op execution in five of six alternating runs
/// (BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keep transparent huge pages off this process's memory. mimalloc asks for
/// them on its segments, so memory it takes (back) from the kernel faults in
/// 2 MiB at a time, every page of it zeroed. sled allocates a fresh 512 KiB
/// buffer for each stretch of its log, and zeroing huge pages for those was
/// 7% of the server's CPU at 64 clients, on the writer thread; without huge
/// pages only the pages written are zeroed, 4 KiB at a time (BENCHMARKS.md,
/// 2026-12-04 third session). The flag is the process's, checked at each
/// fault, so setting it after the allocator started still applies.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "transparent huge pages stay allowed");
    }
}

/// The manifest looked for when none is named.
const DEFAULT_MANIFEST: &str = "arcade.toml";

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
    /// Serve the Appwrite-compatible API (applying ./arcade.toml, if there is one).
    Serve(ServeArgs),
    /// Build the manifest's functions, serve, and rebuild + reload functions when their sources change.
    Dev(ServeArgs),
    /// Upload function components to a running server and make them active.
    Deploy(DeployCli),
    /// Execute a function on a running server; prints its answer and logs.
    Exec(ExecCli),
    /// Show recent executions with their logs (`--follow` to keep tailing).
    Logs(LogsCli),
    /// Print live events from a running server (realtime), coloured.
    Watch(WatchCli),
    /// Manage the project's API keys on a running server.
    Keys(KeysCli),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Project manifest to apply at start (default: ./arcade.toml when it exists).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Ignore ./arcade.toml.
    #[arg(long, conflicts_with = "manifest")]
    no_manifest: bool,
    /// Data directory (created if missing).
    #[arg(long, default_value = "./arcade-data")]
    data: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7700")]
    listen: SocketAddr,
    /// The project id clients must name (default: the manifest's, else `local`).
    #[arg(long)]
    project: Option<String>,
    /// `durable` (default): a 2xx means on disk. `relaxed`: for benchmarks; a power cut can lose acknowledged writes.
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
    /// Longest chain of event-triggered executions (a function whose writes trigger functions, ...).
    #[arg(long, default_value_t = TriggerConfig::default().max_depth)]
    trigger_max_depth: u32,
    /// Event-triggered executions running at once (0: as many as the function runtime runs).
    #[arg(long, default_value_t = TriggerConfig::default().concurrency)]
    trigger_concurrency: usize,
}

/// Where a running server is.
#[derive(clap::Args)]
struct Remote {
    /// Server address.
    #[arg(long, global = true, default_value = "http://127.0.0.1:7700", env = "ARCADE_URL")]
    url: String,
    /// Project id (default: the manifest's, else `local`).
    #[arg(long, global = true)]
    project: Option<String>,
    /// API key (default: the master key in <data>/api-key).
    #[arg(long, global = true, env = "ARCADE_API_KEY", hide_env_values = true)]
    key: Option<String>,
    /// The server's data directory, to find its master key.
    #[arg(long, global = true, default_value = "./arcade-data")]
    data: PathBuf,
    /// Project manifest (default: ./arcade.toml when it exists).
    #[arg(long, global = true)]
    manifest: Option<PathBuf>,
}

#[derive(clap::Args)]
struct DeployCli {
    /// Functions to deploy (default: all functions of the manifest).
    functions: Vec<String>,
    /// Deploy this component (with exactly one function).
    #[arg(long)]
    wasm: Option<PathBuf>,
    /// Run the manifest's build commands first.
    #[arg(long)]
    build: bool,
    #[command(flatten)]
    remote: Remote,
}

#[derive(clap::Args)]
struct ExecCli {
    function: String,
    /// Request body.
    #[arg(long, default_value = "")]
    body: String,
    #[arg(long, default_value = "POST")]
    method: String,
    #[arg(long, default_value = "/")]
    path: String,
    /// A request header, `name: value` (repeatable).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Queue it and return at once.
    #[arg(long = "async")]
    asynchronous: bool,
    #[command(flatten)]
    remote: Remote,
}

#[derive(clap::Args)]
struct LogsCli {
    /// Only this function's executions.
    function: Option<String>,
    /// Keep printing new executions.
    #[arg(long, short)]
    follow: bool,
    /// How many recent executions to show first (per function).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[command(flatten)]
    remote: Remote,
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
struct KeysCli {
    #[command(subcommand)]
    action: KeysAction,
    #[command(flatten)]
    remote: Remote,
}

#[derive(Subcommand)]
enum KeysAction {
    /// List the project's API keys.
    List,
    /// Create a key; prints its secret once.
    Create {
        name: String,
        /// A scope, e.g. `rows.read` (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The key's id (default: generated).
        #[arg(long)]
        id: Option<String>,
    },
    /// Delete a key.
    Delete { id: String },
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
    let result = match cli.command {
        Command::Serve(args) => block_on(serve(args, false)),
        Command::Dev(args) => block_on(serve(args, true)),
        Command::Watch(args) => block_on(watch(args)),
        Command::Deploy(args) => deploy(args).map(|()| true),
        Command::Exec(args) => exec(args),
        Command::Logs(args) => logs(args).map(|()| true),
        Command::Keys(args) => keys(args).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn block_on(f: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<bool> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(f).map(|()| true)
}

/// The manifest named, or ./arcade.toml when it exists.
fn find_manifest(named: Option<&Path>, skip: bool) -> anyhow::Result<Option<Manifest>> {
    if skip {
        return Ok(None);
    }
    match named {
        Some(p) => Ok(Some(Manifest::load(p)?)),
        None if Path::new(DEFAULT_MANIFEST).is_file() => Ok(Some(Manifest::load(Path::new(DEFAULT_MANIFEST))?)),
        None => Ok(None),
    }
}

async fn serve(args: ServeArgs, dev: bool) -> anyhow::Result<()> {
    no_huge_pages();
    let manifest = find_manifest(args.manifest.as_deref(), args.no_manifest)?;
    if dev && manifest.is_none() {
        bail!(
            "`arcade dev` needs a manifest: write ./arcade.toml or pass --manifest <file> (see examples/casino/arcade.toml)"
        );
    }
    let project = match (&args.project, &manifest) {
        (Some(p), Some(m)) if *p != m.project.id => {
            bail!("--project {p} differs from project.id \"{}\" in {}", m.project.id, m.path.display())
        }
        (Some(p), _) => p.clone(),
        (None, Some(m)) => m.project.id.clone(),
        (None, None) => "local".to_owned(),
    };
    if dev && let Some(m) = &manifest {
        let m = m.clone();
        tokio::task::spawn_blocking(move || arcade::cli::dev::build_all(&m)).await??;
    }
    let mut allowed_origins = args.allowed_origins;
    if let Some(m) = &manifest {
        allowed_origins.extend(m.project.origins.iter().cloned());
    }
    let functions = FunctionsConfig {
        triggers: TriggerConfig { max_depth: args.trigger_max_depth, concurrency: args.trigger_concurrency },
        ..FunctionsConfig::default()
    };
    let config = Config {
        data_dir: args.data,
        listen: args.listen,
        project,
        durability: args.durability,
        api_key: args.api_key,
        allowed_origins,
        limits: Limits { max_body_bytes: args.max_body_bytes, ..Limits::default() },
        retention: Retention { max_events: args.retention_events, max_age_seconds: args.retention_seconds },
        realtime: RealtimeLimits {
            connects_per_minute: args.realtime_connects_per_minute,
            messages_per_minute: args.realtime_messages_per_minute,
        },
        functions,
        site: manifest.as_ref().and_then(Manifest::site),
        manifest: manifest.map(Arc::new),
        dev_reload: dev,
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {}: {e} (is another server using it? try --listen 127.0.0.1:0)",
            config.listen
        )
    })?;
    arcade::app::run(config, listener, arcade::shutdown::signal()).await
}

/// The API client for a remote command, and the manifest if there is one.
fn remote(r: &Remote) -> anyhow::Result<(Api, Option<Manifest>)> {
    let manifest = find_manifest(r.manifest.as_deref(), false)?;
    let key = match &r.key {
        Some(k) => k.clone(),
        None => {
            let file = r.data.join(arcade::app::KEY_FILE);
            std::fs::read_to_string(&file).map(|k| k.trim().to_owned()).with_context(|| {
                format!("no API key: pass --key, set ARCADE_API_KEY, or run where {} exists", file.display())
            })?
        }
    };
    let project = r
        .project
        .clone()
        .or_else(|| manifest.as_ref().map(|m| m.project.id.clone()))
        .unwrap_or_else(|| "local".to_owned());
    Ok((Api::new(Target { url: r.url.clone(), project, key }), manifest))
}

fn deploy(args: DeployCli) -> anyhow::Result<()> {
    let (api, manifest) = remote(&args.remote)?;
    let job = arcade::cli::functions::DeployArgs { functions: args.functions, wasm: args.wasm, build: args.build };
    arcade::cli::functions::deploy(&api, manifest.as_ref(), job)
}

fn exec(args: ExecCli) -> anyhow::Result<bool> {
    let (api, _) = remote(&args.remote)?;
    let mut headers = Vec::new();
    for h in &args.headers {
        let Some((k, v)) = h.split_once(':') else { bail!("header \"{h}\" must look like `name: value`") };
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let job = arcade::cli::functions::ExecArgs {
        function: args.function,
        body: args.body,
        method: args.method,
        path: args.path,
        headers,
        asynchronous: args.asynchronous,
    };
    arcade::cli::functions::exec(&api, job)
}

fn logs(args: LogsCli) -> anyhow::Result<()> {
    let (api, _) = remote(&args.remote)?;
    arcade::cli::functions::logs(&api, args.function.as_deref(), args.limit, args.follow)
}

fn keys(args: KeysCli) -> anyhow::Result<()> {
    use arcade::cli::keys::KeysCommand;
    let (api, _) = remote(&args.remote)?;
    let cmd = match args.action {
        KeysAction::List => KeysCommand::List,
        KeysAction::Create { name, scopes, id } => KeysCommand::Create { name, scopes, id },
        KeysAction::Delete { id } => KeysCommand::Delete { id },
    };
    arcade::cli::keys::run(&api, cmd)
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
