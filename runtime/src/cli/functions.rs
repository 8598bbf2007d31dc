//! `arcade deploy`, `arcade exec` and `arcade logs`: functions of a running
//! server, from the terminal.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::Style;
use super::api::Api;
use crate::manifest::Manifest;

/// `arcade deploy`: upload components and make them active.
pub struct DeployArgs {
    /// Functions to deploy (default: every function of the manifest).
    pub functions: Vec<String>,
    /// A component to deploy instead of the manifest's (with one function).
    pub wasm: Option<PathBuf>,
    /// Run the manifest's build commands first.
    pub build: bool,
}

pub fn deploy(api: &Api, manifest: Option<&Manifest>, args: DeployArgs) -> anyhow::Result<()> {
    let style = Style::stdout();
    let mut jobs: Vec<(String, PathBuf)> = Vec::new();
    match (&args.wasm, manifest) {
        (Some(wasm), _) => {
            let [function] = &args.functions[..] else {
                bail!(
                    "--wasm deploys one component: name exactly one function (`arcade deploy <function> --wasm <file>`)"
                );
            };
            jobs.push((function.clone(), wasm.clone()));
        }
        (None, Some(m)) => {
            if args.build {
                super::dev::build_all(m)?;
            }
            for f in &m.functions {
                if args.functions.is_empty() || args.functions.contains(&f.id) {
                    jobs.push((f.id.clone(), m.resolve(&f.wasm)));
                }
            }
            for name in &args.functions {
                if !m.functions.iter().any(|f| &f.id == name) {
                    bail!("{} declares no function \"{name}\"", m.path.display());
                }
            }
        }
        (None, None) => bail!("nothing to deploy: give --manifest (or run where arcade.toml is), or --wasm <file>"),
    }
    for (function, path) in jobs {
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading {} (build it first, or pass --build)", path.display()))?;
        let d = api
            .post_file(
                &format!("/v1/functions/{function}/deployments"),
                &[("activate", "true"), ("entrypoint", "")],
                "code",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("function.wasm"),
                &bytes,
            )
            .with_context(|| {
                format!(
                    "deploying {function} (does the function exist? `arcade serve` creates the manifest's functions)"
                )
            })?;
        let status = d["status"].as_str().unwrap_or_default();
        if status != "ready" {
            bail!("{function}: the deployment failed to build: {}", d["buildLogs"].as_str().unwrap_or_default());
        }
        println!(
            "{} {function} {} ({} KiB) {}",
            style.paint("32", "deployed"),
            d["$id"].as_str().unwrap_or_default(),
            d["sourceSize"].as_u64().unwrap_or(0) / 1024,
            style.paint("2", d["buildLogs"].as_str().unwrap_or_default()),
        );
    }
    Ok(())
}

/// `arcade exec`: run a function and print its answer and logs.
pub struct ExecArgs {
    pub function: String,
    pub body: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub asynchronous: bool,
}

pub fn exec(api: &Api, args: ExecArgs) -> anyhow::Result<bool> {
    let style = Style::stdout();
    let headers: serde_json::Map<String, Value> =
        args.headers.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let e = api.send(
        "POST",
        &format!("/v1/functions/{}/executions", args.function),
        &json!({
            "body": args.body, "method": args.method, "path": args.path, "headers": headers, "async": args.asynchronous,
        }),
    )?;
    if args.asynchronous {
        println!(
            "queued execution {} (follow it with `arcade logs {} --follow`)",
            e["$id"].as_str().unwrap_or_default(),
            args.function
        );
        return Ok(true);
    }
    print_execution(&style, &e, true);
    Ok(e["status"] == "completed")
}

fn print_execution(style: &Style, e: &Value, with_body: bool) {
    let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
    let code = e["responseStatusCode"].as_u64().unwrap_or(0);
    let status = s("status");
    let colour = match status.as_str() {
        "completed" => "32",
        "failed" => "31",
        _ => "33",
    };
    println!(
        "{} {} {} {} {} {}",
        style.paint("2", &s("$createdAt")),
        style.paint("1", &s("functionId")),
        style.paint(colour, &format!("{status} {code}")),
        style.paint("36", &s("trigger")),
        style.paint("2", &format!("{:.1} ms", e["duration"].as_f64().unwrap_or(0.0) * 1000.0)),
        style.paint("2", &s("$id")),
    );
    if with_body {
        let body = s("responseBody");
        if !body.is_empty() {
            println!("{body}");
        }
    }
    for line in s("logs").lines() {
        println!("  {} {line}", style.paint("2", "log"));
    }
    for line in s("errors").lines() {
        println!("  {} {line}", style.paint("31", "err"));
    }
}

/// `queries[]=limit(n)` for a list URL.
fn limit_query(n: usize) -> String {
    let q = json!({"method": "limit", "values": [n]}).to_string();
    format!("queries%5B%5D={}", form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>())
}

/// `arcade logs`: recent executions with their logs; `follow` keeps printing new ones.
pub fn logs(api: &Api, function: Option<&str>, limit: usize, follow: bool) -> anyhow::Result<()> {
    let style = Style::stdout();
    let functions: Vec<String> = match function {
        Some(f) => vec![f.to_owned()],
        None => api.get(&format!("/v1/functions?{}", limit_query(100)))?["functions"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["$id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
    };
    if functions.is_empty() {
        println!("no functions yet");
        return Ok(());
    }
    let mut shown: HashSet<String> = HashSet::new();
    let mut first = true;
    loop {
        let mut fresh: Vec<Value> = Vec::new();
        for f in &functions {
            let list = api.get(&format!("/v1/functions/{f}/executions?{}", limit_query(limit)))?;
            for e in list["executions"].as_array().cloned().unwrap_or_default() {
                let id = e["$id"].as_str().unwrap_or_default().to_owned();
                let done = matches!(e["status"].as_str(), Some("completed" | "failed"));
                if done && shown.insert(id) {
                    fresh.push(e);
                }
            }
        }
        fresh.sort_by(|a, b| a["$createdAt"].as_str().cmp(&b["$createdAt"].as_str()));
        if first && fresh.len() > limit {
            fresh.drain(..fresh.len() - limit);
        }
        for e in &fresh {
            print_execution(&style, e, false);
        }
        first = false;
        if !follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
