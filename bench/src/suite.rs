//! `arcade-bench all`: every measurement in a fixed order on fresh servers
//! (durable creates, the sled baselines right after on the same disk,
//! relaxed creates and the HTTP ceiling (`GET /v1/ping`), then a million
//! rows for queries and point reads), and the markdown section of
//! BENCHMARKS.md built from them.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::load::Workload;
use crate::measure::{
    DISTURBED_PCT, MAX_REDONE, QUIET_PCT, Target, layout_words, measure, prepare_filled, sled_baseline,
    sled_writer_like,
};
use crate::report::{self, Measurement, ms, num, runs_table};
use crate::{AllArgs, SledArgs, baseline, players_in, procstat, server, workloads};

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}×", a / b) } else { "n/a".into() }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**NOT met**" }
}

pub async fn all(a: AllArgs, gen_threads: usize) -> Result<()> {
    let c = &a.common;
    if c.server.is_some() {
        bail!("`all` starts its own servers (durable and relaxed); use the single subcommands with --server");
    }
    let started = Instant::now();
    let load_before = report::sh("uptime", &[]);
    let date = report::sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = report::sh("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !report::sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();

    // 1. Durable creates, then the shape of what the server wrote.
    let mut t = Target::new(c, "durable")?;
    workloads::setup(&t.endpoint, false).await?;
    let durable = measure(&t, c, c.clients, "creates, durable", Arc::new(workloads::CreateOne)).await?;
    let durable_stop = t.stop()?;
    let (layout, shape) = match &t.owned {
        Some(s) => baseline::inspect(&s.data_dir())?,
        None => bail!("`all` needs a server it started"),
    };
    drop(t);
    let avg_value = |tree: &str| shape.iter().find(|s| s.name == tree).map(|s| s.avg_value.round() as usize);
    let row_bytes = avg_value("rows").context("no row records in the durable server's store")?;
    let event_bytes = avg_value("events").context("no event records in the durable server's store")?;

    // 2. The sled baseline with the same value size, right after, on the same disk.
    let sled_args = SledArgs {
        value_bytes: row_bytes,
        key_bytes: 12,
        seconds: c.seconds,
        repeat: c.repeat,
        max_writes: 20_000_000,
        event_bytes,
        batch: c.clients,
        quiet_wait: c.quiet_wait,
        single_tree: layout == baseline::Layout::SingleTree,
    };
    let sled_flush = sled_baseline(&sled_args, true).await?;
    let sled_noflush = sled_baseline(&sled_args, false).await?;
    // Context: sled used the way the writer uses it, at the largest batch the clients can make.
    let tx_flush = sled_writer_like(&sled_args, layout, true).await?;
    let tx_noflush = sled_writer_like(&sled_args, layout, false).await?;

    // 3. Relaxed creates.
    let mut t = Target::new(c, "relaxed")?;
    workloads::setup(&t.endpoint, false).await?;
    let relaxed = measure(&t, c, c.clients, "creates, relaxed", Arc::new(workloads::CreateOne)).await?;
    // The ceiling for any endpoint: the HTTP stack alone, same server.
    let ping = measure(&t, c, c.clients, "GET /v1/ping", Arc::new(workloads::Ping)).await?;
    t.stop()?;
    drop(t);

    // 4. A million rows (relaxed, index first), then queries and point reads.
    let mut t = Target::new(c, "relaxed")?;
    let filled = prepare_filled(&t, &a.fill, c.quiet_wait).await?;
    let players = players_in(a.fill.rows);
    let q = |no_total| -> Arc<dyn Workload> { Arc::new(workloads::EqualQuery { players, no_total }) };
    let q1 = measure(&t, c, a.latency_clients, "equal query (total counted)", q(false)).await?;
    let q1n = measure(&t, c, a.latency_clients, "equal query, total=false", q(true)).await?;
    let qn = measure(&t, c, c.clients, "equal query (total counted)", q(false)).await?;
    let qnn = measure(&t, c, c.clients, "equal query, total=false", q(true)).await?;
    let reads = measure(&t, c, c.clients, "point reads", Arc::new(workloads::ReadOne { rows: a.fill.rows })).await?;
    let data_bytes = t.owned.as_ref().map(|s| server::dir_bytes(&s.data_dir())).unwrap_or(0);
    let big_stop = t.stop()?;
    drop(t);
    let load_after = report::sh("uptime", &[]);

    // The report.
    let mut o = String::new();
    let gen_desc = if gen_threads == 0 {
        "one current-thread tokio runtime".to_owned()
    } else {
        format!("a multi-thread tokio runtime with {gen_threads} workers")
    };
    let _ = writeln!(o, "## TablesDB HTTP benchmark\n");
    let _ = writeln!(
        o,
        "Command: `bench/run.sh tablesdb` (builds `-p arcade -p arcade-bench` in release, then runs \
         `target/release/arcade-bench{} all`). Run on {date}, commit `{commit}`{}, total time {:.0} s.\n",
        if gen_threads == 0 { String::new() } else { format!(" --gen-threads {gen_threads}") },
        if dirty { " (with uncommitted changes)" } else { "" },
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        o,
        "Load generator: {} closed-loop clients over keep-alive HTTP/1.1 (hyper), {gen_desc}, in the same \
         2-core machine as the server; only 2xx answers count and any other answer aborts the run. Each HTTP \
         measurement: {:.0} s warm-up, then {} × {:.0} s; medians below.\n",
        c.clients, c.warmup, c.repeat, c.seconds
    );
    let _ = writeln!(o, "Machine:\n\n```\n{}\n```\n", report::machine());
    let _ = writeln!(o, "Load: before `{load_before}`; after `{load_after}`.\n");

    let _ = writeln!(o, "### Summary (medians)\n");
    let _ = writeln!(o, "| measurement | median | target | verdict | vs sled baseline |");
    let _ = writeln!(o, "|---|---:|---|---|---|");
    let (df, nf) = (sled_flush.rate(), sled_noflush.rate());
    let _ = writeln!(
        o,
        "| row creates/s, durable, {} clients | {} | ≥ 10,000 | {} | {} of insert+flush ({}/s) |",
        c.clients,
        num(durable.rate()),
        verdict(durable.rate() >= 10_000.0),
        ratio(durable.rate(), df),
        num(df)
    );
    let _ = writeln!(
        o,
        "| row creates/s, relaxed, {} clients | {} | ≥ 40,000 | {} | {} of insert without flush ({}/s) |",
        c.clients,
        num(relaxed.rate()),
        verdict(relaxed.rate() >= 40_000.0),
        ratio(relaxed.rate(), nf),
        num(nf)
    );
    let _ = writeln!(
        o,
        "| `GET /v1/ping`/s, {} clients, relaxed server (the HTTP stack alone: no store, no auth; the ceiling for any endpoint here) | {} | – | – | context |",
        c.clients,
        num(ping.rate())
    );
    let _ = writeln!(o, "| point reads/s, {} clients | {} | – | – | – |", c.clients, num(reads.rate()));
    let _ = writeln!(
        o,
        "| `equal` query on {} rows, {} client{}, p50 / p99 ms | {} / {} | p50 ≤ 1 ms | {} | – |",
        num(a.fill.rows as f64),
        a.latency_clients,
        if a.latency_clients == 1 { "" } else { "s" },
        ms(q1.p50_ms()),
        ms(q1.p99_ms()),
        verdict(q1.p50_ms() <= 1.0)
    );
    let _ = writeln!(
        o,
        "| same with `total=false`, p50 / p99 ms | {} / {} | – | – | – |",
        ms(q1n.p50_ms()),
        ms(q1n.p99_ms())
    );
    let _ = writeln!(
        o,
        "| `equal` queries/s, {} clients (p50 / p99 ms) | {} ({} / {}) | – | – | – |",
        c.clients,
        num(qn.rate()),
        ms(qn.p50_ms()),
        ms(qn.p99_ms())
    );
    let _ = writeln!(
        o,
        "| same with `total=false` | {} ({} / {}) | – | – | – |",
        num(qnn.rate()),
        ms(qnn.p50_ms()),
        ms(qnn.p99_ms())
    );
    if let Some(f) = &filled {
        let _ = writeln!(
            o,
            "| bulk load, rows/s ({} rows, 100 per request, {} concurrent requests, relaxed) | {} ({:.1} s) | – | – | – |",
            num(f.rows as f64),
            a.fill.fill_clients,
            num(f.rows as f64 / f.run.elapsed.as_secs_f64()),
            f.run.elapsed.as_secs_f64()
        );
    }
    let _ = writeln!(
        o,
        "| sled insert + flush() per write, 1 thread | {}/s (p50 {} ms) | – | – | baseline |",
        num(df),
        ms(sled_flush.p50_ms())
    );
    let _ = writeln!(o, "| sled insert, no flush, 1 thread | {}/s | – | – | context |", num(nf));
    let _ = writeln!(
        o,
        "| sled written like the writer does ({} rows per group, {}), synced per group, 1 thread | {} rows/s | – | – | \
         context: storage ceiling for durable |",
        c.clients,
        layout_words(layout),
        num(tx_flush.rate())
    );
    let _ = writeln!(
        o,
        "| same, no sync | {} rows/s | – | – | context: storage ceiling for relaxed |",
        num(tx_noflush.rate())
    );
    let _ = writeln!(o);

    let _ = writeln!(o, "### Every run\n");
    runs_table(&mut o, &durable, "creates");
    runs_table(&mut o, &relaxed, "creates");
    runs_table(&mut o, &ping, "requests");
    runs_table(&mut o, &reads, "reads");
    runs_table(&mut o, &q1, "queries");
    runs_table(&mut o, &q1n, "queries");
    runs_table(&mut o, &qn, "queries");
    runs_table(&mut o, &qnn, "queries");
    runs_table(&mut o, &sled_flush, "writes");
    runs_table(&mut o, &sled_noflush, "writes");
    runs_table(&mut o, &tx_flush, "rows");
    runs_table(&mut o, &tx_noflush, "rows");
    if let Some(f) = &filled {
        let fm = Measurement {
            discarded: Vec::new(),
            name: "bulk load (requests of 100 rows)".into(),
            clients: a.fill.fill_clients,
            runs: vec![f.run.clone()],
        };
        runs_table(&mut o, &fm, "requests");
    }

    let _ = writeln!(o, "### What the durable server wrote\n");
    let _ = writeln!(
        o,
        "Logical trees in the store after the durable create runs ({} rows created; layout: {}):\n",
        num(shape.iter().find(|s| s.name == "rows").map(|s| s.entries as f64).unwrap_or(0.0)),
        match layout {
            baseline::Layout::SingleTree => "one sled tree, a one-byte prefix per logical tree (sizes without it)",
            baseline::Layout::TreePerLogical => "one sled tree per logical tree",
        }
    );
    let _ = writeln!(o, "| tree | entries | avg key B | avg value B |");
    let _ = writeln!(o, "|---|---:|---:|---:|");
    for s in &shape {
        let _ = writeln!(o, "| {} | {} | {:.1} | {:.1} |", s.name, num(s.entries as f64), s.avg_key, s.avg_value);
    }
    let _ = writeln!(
        o,
        "\nThe sled baseline writes {} B values under 12 B keys (the average row record above), one insert per write.\n",
        row_bytes
    );
    let stop_s = |d: Option<Duration>| d.map(|d| format!("{:.1} s", d.as_secs_f64())).unwrap_or_else(|| "n/a".into());
    let _ = writeln!(
        o,
        "Shutdown (SIGTERM → exit 0): durable server {}, million-row server {} (data dir {:.0} MiB).\n",
        stop_s(durable_stop),
        stop_s(big_stop),
        data_bytes as f64 / (1u64 << 20) as f64
    );

    let not_quiet = procstat::NOT_QUIET.load(std::sync::atomic::Ordering::Relaxed);
    let _ = writeln!(
        o,
        "Each repetition waited (up to {:.0} s) for other processes to be quiet (< {QUIET_PCT:.0}% of a core); \
         {}. The *other CPU* column is what processes other than the server and the generator used during the \
         run. A repetition during which they used more than {DISTURBED_PCT:.0}% of a core was redone (at most \
         {MAX_REDONE} times per measurement) and is listed as `x…` in the tables, not counted.\n",
        c.quiet_wait,
        if not_quiet == 0 {
            "every one found it quiet".to_owned()
        } else {
            format!("{not_quiet} started without it going quiet")
        }
    );
    let stale = workloads::STALE_READS.load(std::sync::atomic::Ordering::Relaxed);
    if stale > 0 {
        let _ = writeln!(
            o,
            "Setup saw {stale} stale read(s): a GET of an index or column answered 404 right after its creation \
             was acknowledged (retried; see the notes).\n"
        );
    }
    print!("{o}");
    if let Some(path) = &a.out {
        std::fs::write(path, &o).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
