//! The "Realtime" section of BENCHMARKS.md, from one run's measurements.

use std::fmt::Write as _;

use super::{Outcome, RealtimeArgs};
use crate::measure::{DISTURBED_PCT, MAX_REDONE, QUIET_PCT};
use crate::report::{machine, ms, num, runs_table};

pub struct Context<'a> {
    pub args: &'a RealtimeArgs,
    pub gen_threads: usize,
    pub date: String,
    pub commit: String,
    pub dirty: bool,
    pub load_before: String,
    pub load_after: String,
    pub node_version: String,
    pub total_secs: f64,
    pub arcade: &'a Outcome,
    pub baseline: Option<&'a Outcome>,
    pub wire: Option<&'a Outcome>,
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**NOT met**" }
}

fn kib(bytes: f64) -> String {
    format!("{:.1} KiB", bytes / 1024.0)
}

fn fpw(frames_per_write: f64) -> String {
    if frames_per_write > 0.0 { format!("{frames_per_write:.2}") } else { "–".into() }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / f64::from(1u32 << 20))
}

pub fn section(c: &Context<'_>) -> String {
    let (a, x) = (c.args, c.arcade);
    let b = c.baseline;
    let mut o = String::new();
    let conns = x.clients + x.intruders;
    let fan = x.fanout.iter().copied().max().unwrap_or(0);
    let fan_min = x.fanout.iter().copied().min().unwrap_or(0);
    let fan_text =
        if fan == fan_min { num(fan as f64) } else { format!("{}–{}", num(fan_min as f64), num(fan as f64)) };
    let generator = if c.gen_threads == 0 {
        "one current-thread tokio runtime".to_owned()
    } else {
        format!("a multi-thread tokio runtime with {} workers", c.gen_threads)
    };
    let _ = writeln!(o, "## Realtime benchmark\n");
    let _ = writeln!(
        o,
        "Command: `bench/run.sh realtime` (builds in release, installs the baseline's `ws` from its lock file, then \
         runs `target/release/arcade-bench{} realtime`). \
         Run on {}, commit `{}`{}, total time {:.0} s.\n",
        if c.gen_threads == 0 { String::new() } else { format!(" --gen-threads {}", c.gen_threads) },
        c.date,
        c.commit,
        if c.dirty { " (with uncommitted changes)" } else { "" },
        c.total_secs
    );
    let _ = writeln!(
        o,
        "Scenario, the same for both servers: {} WebSocket clients, each a user made with the Users API \
         (labelled with one of {} rooms, with a session sent as the `a_session_local` cookie), watch their room's \
         row with `channels[]=tablesdb.rt.tables.lobby.rows.room<k>` in the URL; the row is readable only by \
         `label:r<k>`, so each event goes to {} watchers through the permission filter. {} more clients ({} users \
         of no room, {} guests) watch room rows without read permission and must receive nothing. Arcade runs \
         `--durability {}` with `--realtime-connects-per-minute 0 --realtime-messages-per-minute 0`; an event is \
         a `PATCH` of the room's row over the REST API (API key), stamped with its send time. The baseline is \
         `bench/realtime-baseline/server.js` (Node {}, `ws` 8.23.0): one process, for each event it walks all its \
         connections and, for each with a subscription on one of the event's channels, makes one permission \
         check and one `JSON.stringify` of the frame, then sends; its events arrive by `POST /publish` with the \
         same events, channels and payload Arcade sent, so its frames are the same size.\n",
        num(x.clients as f64),
        a.rooms,
        fan_text,
        x.intruders,
        x.intruders / 2,
        x.intruders - x.intruders / 2,
        a.durability,
        c.node_version.trim_start_matches('v'),
    );
    let _ = writeln!(
        o,
        "Load generator ({generator}, on the same 2-core machine): the clients (tokio-tungstenite) and {} publishing \
         HTTP connections. **Deliveries/s** = event frames received by the clients per second, with events \
         published as fast as the clients take them but at most {} deliveries outstanding (so no queue \
         overflows); {:.0} s warm-up, then {} × {:.0} s. **Latency** = from the publisher sending the update \
         (HTTP write, commit and log included) to a client having read the frame, one clock; at a fixed \
         {} deliveries/s, {} × {:.0} s. Every run waits for every expected delivery and checks that each \
         watcher got exactly its room's events and the clients without permission none.\n",
        a.writers,
        num(a.window as f64),
        a.warmup,
        a.repeat,
        a.seconds,
        num(a.rate),
        a.repeat,
        a.seconds
    );
    let _ = writeln!(o, "Machine:\n\n```\n{}\n```\n", machine());
    let _ = writeln!(o, "Load: before `{}`; after `{}`.\n", c.load_before, c.load_after);

    let _ = writeln!(o, "### Summary (medians)\n");
    let _ = writeln!(
        o,
        "| measurement | Arcade | baseline (Node `ws`) | wire ceiling (Rust, no log, no auth) | target | verdict |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---|---|");
    let w = c.wire;
    let other = |y: Option<&Outcome>, f: &dyn Fn(&Outcome) -> String| y.map(f).unwrap_or_else(|| "–".into());
    let row = |o: &mut String, label: String, f: &dyn Fn(&Outcome) -> String, target: &str, verdict: &str| {
        let _ = writeln!(o, "| {label} | **{}** | {} | {} | {target} | {verdict} |", f(x), other(b, f), other(w, f));
    };
    let rate = x.throughput.rate();
    row(
        &mut o,
        format!("deliveries/s ({} clients, {} per event)", num(conns as f64), fan_text),
        &|y| num(y.throughput.rate()),
        "≥ 300,000",
        verdict(rate >= 300_000.0),
    );
    if let Some(y) = b {
        let r = if y.throughput.rate() > 0.0 { rate / y.throughput.rate() } else { 0.0 };
        let _ = writeln!(
            o,
            "| Arcade ÷ baseline, deliveries/s | **{r:.2}×** | 1× | {} | ≥ 5× | {} |",
            w.map(|z| format!("{:.2}×", z.throughput.rate() / y.throughput.rate().max(1.0)))
                .unwrap_or_else(|| "–".into()),
            verdict(r >= 5.0)
        );
    }
    row(&mut o, "event frames per socket write, in those runs".to_owned(), &|y| fpw(y.frames_per_write[0]), "–", "–");
    row(
        &mut o,
        format!("latency at {} deliveries/s, p50 / p99 ms", num(a.rate)),
        &|y| format!("{} / {}", ms(y.paced.p50_ms()), ms(y.paced.p99_ms())),
        "p99 ≤ 20 ms",
        verdict(x.paced.p99_ms() <= 20.0 && !x.paced.runs.is_empty()),
    );
    row(
        &mut o,
        format!("deliveries/s reached in those runs (of {} scheduled); frames per write", num(a.rate)),
        &|y| format!("{}; {}", num(y.paced.rate()), fpw(y.frames_per_write[1])),
        "–",
        "–",
    );
    if a.low_rate > 0.0 {
        row(
            &mut o,
            format!("latency at {} deliveries/s, p50 / p99 ms", num(a.low_rate)),
            &|y| y.paced_low.as_ref().map_or("–".into(), |m| format!("{} / {}", ms(m.p50_ms()), ms(m.p99_ms()))),
            "–",
            "–",
        );
        row(
            &mut o,
            format!("deliveries/s reached in those runs (of {} scheduled); frames per write", num(a.low_rate)),
            &|y| {
                y.paced_low
                    .as_ref()
                    .map_or("–".into(), |m| format!("{}; {}", num(m.rate()), fpw(y.frames_per_write[2])))
            },
            "–",
            "–",
        );
    }
    row(
        &mut o,
        "latency while saturated (deliveries/s row), p50 / p99 ms".to_owned(),
        &|y| format!("{} / {}", ms(y.throughput.p50_ms()), ms(y.throughput.p99_ms())),
        "–",
        "–",
    );
    row(
        &mut o,
        format!(
            "server RSS per idle connection (1 subscription each; Arcade's RSS {} → {} for {} connections)",
            mib(x.rss_before),
            mib(x.rss_idle),
            num(conns as f64)
        ),
        &|y| kib(y.rss_per_idle()),
        "≤ 16 KiB",
        verdict(x.rss_per_idle() <= 16.0 * 1024.0),
    );
    row(
        &mut o,
        format!("same with {} subscriptions each", a.extra_subs + 1),
        &|y| kib(y.rss_per_subscribed()),
        "–",
        "–",
    );
    row(
        &mut o,
        format!(
            "CPU time to dispatch an event no subscription matches, at {} subscriptions (mean of {})",
            num(x.subscriptions as f64),
            num(x.quiet.events as f64)
        ),
        &|y| format!("{:.2} µs", y.cpu_ns_per_quiet_event() / 1000.0),
        "≤ 5 µs",
        verdict(x.cpu_ns_per_quiet_event() <= 5_000.0 && x.subscriptions >= 100_000),
    );
    row(
        &mut o,
        "same, wall-clock time (includes preemption by the server's other threads)".to_owned(),
        &|y| format!("{:.2} µs", y.ns_per_quiet_event() / 1000.0),
        "–",
        "–",
    );
    row(
        &mut o,
        format!("opening {} connections", num(conns as f64)),
        &|y| format!("{:.1} s", y.connect_secs),
        "–",
        "–",
    );
    row(&mut o, "event frame size".to_owned(), &|y| format!("{:.0} B", y.frame_bytes), "–", "–");
    row(&mut o, "server RSS after the runs, clients still connected".to_owned(), &|y| mib(y.rss_after), "–", "–");
    row(
        &mut o,
        "deliveries checked (each watcher exactly its room's events; none without permission)".to_owned(),
        &|y| num(y.checked_deliveries as f64),
        "–",
        "–",
    );
    let _ = writeln!(o);
    let all = [Some(x), b, w];
    let late: u64 = all.iter().flatten().map(|y| y.paced_events.iter().map(|p| p.late).sum::<u64>()).sum();
    if late > 0 {
        let _ = writeln!(
            o,
            "In the fixed-rate runs {late} event(s) left the publisher more than 2 ms after their scheduled time.\n"
        );
    }
    let _ = writeln!(
        o,
        "The dispatch time is the server's own (`dispatchCpuNanos` and `dispatchNanos` ÷ `events` of \
         `/v1/arcade/metrics` over the events nobody watches: Arcade takes its dispatcher thread's CPU clock \
         around each batch; the reference servers time their publish handler the same way, Node with \
         `process.cpuUsage`). Frames per write = deliveries ÷ socket writes as the server counts them (the Node \
         baseline does not count its writes). Setup (schema, {} users with labels and sessions) took {:.1} s on \
         Arcade.\n",
        num((x.clients + x.intruders / 2) as f64),
        x.setup_secs
    );

    let _ = writeln!(o, "### Every run\n");
    for y in [Some(x), b, w].into_iter().flatten() {
        runs_table(&mut o, &y.throughput, "deliveries");
    }
    for y in [Some(x), b, w].into_iter().flatten() {
        runs_table(&mut o, &y.paced, "deliveries");
        if let Some(m) = &y.paced_low {
            runs_table(&mut o, m, "deliveries");
        }
    }
    let not_quiet = crate::procstat::NOT_QUIET.load(std::sync::atomic::Ordering::Relaxed);
    let _ = writeln!(
        o,
        "Each repetition waited (up to {:.0} s) for other processes to be quiet (< {QUIET_PCT:.0}% of a core); \
         {}. A repetition during which they used more than {DISTURBED_PCT:.0}% of a core was redone (at most \
         {MAX_REDONE} times per measurement) and is listed as `x…`, not counted. *bench CPU* is the load \
         generator (clients and publishers); the *server* columns are Arcade's or node's.\n",
        a.quiet_wait,
        if not_quiet == 0 {
            "every one found it quiet".to_owned()
        } else {
            format!("{not_quiet} started without it going quiet")
        }
    );
    o
}
