//! `arcade dev`: serve a manifest, build its functions first, and rebuild
//! and redeploy a function when its sources change.
//!
//! A reload is a new deployment made active inside the running server: the
//! process, its listeners and every realtime connection stay up, and the next
//! execution runs the new component. Watching is by polling modification
//! times (twice a second), which works the same on every filesystem and needs
//! no platform watcher. A failed build keeps the running deployment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::http::AppState;
use crate::manifest::apply::deploy_if_changed;
use crate::manifest::{BuildSpec, Manifest};

/// How often sources are checked.
const POLL: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("`{command}` (in {dir}) could not start: {error}")]
    Spawn { command: String, dir: String, error: std::io::Error },
    #[error("`{command}` (in {dir}) failed with {status}; fix the errors above and save again")]
    Failed { command: String, dir: String, status: std::process::ExitStatus },
}

/// One build command and the functions it produces.
struct Build {
    spec: BuildSpec,
    dir: PathBuf,
    functions: Vec<String>,
}

/// Distinct build commands of a manifest (functions sharing one build once).
fn builds(m: &Manifest) -> Vec<Build> {
    let mut out: Vec<Build> = Vec::new();
    for f in &m.functions {
        let Some(spec) = &f.build else { continue };
        let dir = m.build_dir(spec);
        match out.iter_mut().find(|b| b.spec.command == spec.command && b.dir == dir) {
            Some(b) => {
                b.functions.push(f.id.clone());
                b.spec.watch.extend(spec.watch.iter().cloned());
            }
            None => out.push(Build { spec: spec.clone(), dir, functions: vec![f.id.clone()] }),
        }
    }
    out
}

fn run(command: &str, dir: &Path) -> Result<Duration, BuildError> {
    let started = Instant::now();
    let shown = dir.display().to_string();
    let status = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .status()
        .map_err(|error| BuildError::Spawn { command: command.to_owned(), dir: shown.clone(), error })?;
    if !status.success() {
        return Err(BuildError::Failed { command: command.to_owned(), dir: shown, status });
    }
    Ok(started.elapsed())
}

/// Run every build command of the manifest once, in order, showing progress.
pub fn build_all(m: &Manifest) -> Result<(), BuildError> {
    for b in builds(m) {
        eprintln!(
            "\x1b[1mbuilding\x1b[0m {} \x1b[2m(`{}` in {})\x1b[0m",
            b.functions.join(", "),
            b.spec.command,
            b.dir.display()
        );
        let took = run(&b.spec.command, &b.dir)?;
        eprintln!("\x1b[32mbuilt\x1b[0m {} in {:.1}s", b.functions.join(", "), took.as_secs_f64());
    }
    Ok(())
}

/// A cheap summary of a set of files: changes when any file is added,
/// removed or modified.
fn fingerprint(paths: &[PathBuf]) -> (usize, u64, SystemTime) {
    fn walk(p: &Path, acc: &mut (usize, u64, SystemTime)) {
        let Ok(meta) = std::fs::metadata(p) else { return };
        if meta.is_dir() {
            if p.file_name().is_some_and(|n| n == "target" || n == "node_modules" || n == ".git") {
                return;
            }
            if let Ok(entries) = std::fs::read_dir(p) {
                for e in entries.flatten() {
                    walk(&e.path(), acc);
                }
            }
        } else {
            acc.0 += 1;
            acc.1 = acc.1.wrapping_add(meta.len());
            if let Ok(t) = meta.modified() {
                acc.2 = acc.2.max(t);
            }
        }
    }
    let mut acc = (0, 0, SystemTime::UNIX_EPOCH);
    for p in paths {
        walk(p, &mut acc);
    }
    acc
}

/// Watch the manifest's function sources and components until `stop`.
pub fn spawn_reloader(
    m: Arc<Manifest>,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let builds = builds(&m);
        let watched: Vec<Vec<PathBuf>> =
            builds.iter().map(|b| b.spec.watch.iter().map(|w| b.dir.join(w)).collect()).collect();
        let mut seen: Vec<_> = watched.iter().map(|w| fingerprint(w)).collect();
        let components: BTreeMap<String, PathBuf> =
            m.functions.iter().map(|f| (f.id.clone(), m.resolve(&f.wasm))).collect();
        let mut seen_wasm: BTreeMap<String, _> =
            components.iter().map(|(id, p)| (id.clone(), fingerprint(std::slice::from_ref(p)))).collect();
        eprintln!("\x1b[2mwatching function sources for changes (Ctrl-C stops)\x1b[0m");
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(POLL) => {}
            }
            for (i, b) in builds.iter().enumerate() {
                let now = fingerprint(&watched[i]);
                if now == seen[i] {
                    continue;
                }
                seen[i] = now;
                eprintln!("\x1b[1mchanged\x1b[0m sources of {}: rebuilding", b.functions.join(", "));
                let (command, dir) = (b.spec.command.clone(), b.dir.clone());
                match tokio::task::spawn_blocking(move || run(&command, &dir)).await {
                    Ok(Ok(took)) => eprintln!("\x1b[32mbuilt\x1b[0m in {:.1}s", took.as_secs_f64()),
                    Ok(Err(e)) => {
                        eprintln!("\x1b[31mbuild failed\x1b[0m: {e}; the running version stays");
                        continue;
                    }
                    Err(e) => {
                        eprintln!("\x1b[31mbuild failed\x1b[0m: {e}");
                        continue;
                    }
                }
                // Sources may have changed again during the build; the next poll sees it.
                seen[i] = fingerprint(&watched[i]);
            }
            for (id, path) in &components {
                let now = fingerprint(std::slice::from_ref(path));
                if seen_wasm.get(id) == Some(&now) {
                    continue;
                }
                seen_wasm.insert(id.clone(), now);
                reload(&state, id, path).await;
            }
        }
    })
}

async fn reload(state: &AppState, function: &str, path: &Path) {
    let Some(runtime) = state.functions.as_ref() else { return };
    let wasm = match tokio::fs::read(path).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("\x1b[31mreload of {function} failed\x1b[0m: reading {}: {e}", path.display());
            return;
        }
    };
    let started = Instant::now();
    match deploy_if_changed(runtime, state, function, wasm, path).await {
        Ok(Some(what)) => {
            eprintln!("\x1b[32mreloaded\x1b[0m {what} in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0)
        }
        Ok(None) => {}
        Err(e) => eprintln!("\x1b[31mreload of {function} failed\x1b[0m: {e}; the running version stays"),
    }
}
