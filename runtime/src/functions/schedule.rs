//! Cron schedules: a function with a `schedule` runs at every slot of it, in
//! UTC, with trigger `schedule`.
//!
//! Syntax: Appwrite's five fields (`minute hour day-of-month month
//! day-of-week`, day-of-week 0–7 with 0 and 7 both Sunday, names allowed),
//! or, as an Arcade extension, six fields with seconds first. Parsing is the
//! `cron` crate's, after translating the day-of-week field to its numbering
//! (1–7 from Sunday). When both day fields are restricted, a slot must match
//! both (the `cron` crate's rule; classic cron takes either).
//!
//! No drift: slots come from the expression, never from when the last run
//! happened to start. No double runs: the last slot fired is stored with the
//! execution's start record in one atomic write, so a restart never fires a
//! slot again. Missed slots (the server was down, or busy past a slot) are
//! coalesced: once the server notices, the function runs once for all of
//! them, told how many it missed in the `x-arcade-schedule-missed` header, and
//! the schedule carries on from the present. Slots before the function's last
//! change (a new schedule, a new deployment) never count as missed.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::runner::Call;
use super::{ExecRequest, Functions};
use crate::model::function::{Function, Header};
use crate::model::time::{self, Millis};
use crate::store::keys::{self, functions as k};

/// How often the scheduler looks for changed schedules while idle.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// Most missed slots counted (the count saturates there).
const MAX_MISSED_COUNT: u64 = 100_000;

/// A schedule, parsed.
#[derive(Debug)]
pub struct Cron(cron::Schedule);

impl Cron {
    /// Parse a five-field (Appwrite) or six-field (with seconds) expression.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(format!(
                    "a schedule has 5 fields (minute hour day month weekday), or 6 with seconds first; this one has {n}"
                ));
            }
        };
        let dow = day_of_week(rest[4])?;
        let line = format!("{seconds} {} {} {} {} {dow}", rest[0], rest[1], rest[2], rest[3]);
        cron::Schedule::from_str(&line).map(Cron).map_err(|e| format!("invalid schedule \"{expr}\": {e}"))
    }

    /// The first slot strictly after `t` (milliseconds), if any.
    pub fn next_after(&self, t: Millis) -> Option<Millis> {
        let at = utc(t)?;
        self.0.after(&at).next().map(|d| d.timestamp_millis())
    }

    /// The last slot at or before `now` after `since`, and how many slots
    /// there were in `(since, now]` (counting stops at a large number).
    pub fn due(&self, since: Millis, now: Millis) -> Option<(Millis, u64)> {
        let mut last = None;
        let mut count = 0;
        for slot in self.0.after(&utc(since)?) {
            let ms = slot.timestamp_millis();
            if ms > now {
                return last.map(|l| (l, count));
            }
            last = Some(ms);
            count += 1;
            if count >= MAX_MISSED_COUNT {
                break;
            }
        }
        // A long outage: find the latest slot by walking back from now.
        let latest = self.0.after(&utc(now + 1)?).next_back().map(|d| d.timestamp_millis()).filter(|t| *t <= now);
        latest.or(last).map(|l| (l, count))
    }
}

fn utc(ms: Millis) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// Translate a classic day-of-week field (0–7, Sunday = 0 or 7) into the
/// `cron` crate's numbering (1–7, Sunday = 1) by expanding it to a list.
fn day_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".into());
    }
    let num = |s: &str| -> Result<u32, String> {
        let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        if let Some(i) = names.iter().position(|n| s.eq_ignore_ascii_case(n)) {
            return Ok(i as u32);
        }
        match s.parse::<u32>() {
            Ok(n) if n <= 7 => Ok(n),
            _ => Err(format!("day of week \"{s}\" must be 0-7 (0 and 7 are Sunday) or sun..sat")),
        }
    };
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0).ok_or(format!("invalid step in \"{part}\""))?),
            None => (part, 1),
        };
        let (lo, hi) = match range {
            "*" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => (num(a)?, num(b)?),
                None if step > 1 => (num(r)?, 6),
                None => (num(r)?, num(r)?),
            },
        };
        if lo > hi {
            return Err(format!("day-of-week range \"{range}\" goes backwards"));
        }
        let mut d = lo;
        while d <= hi {
            days[(d % 7) as usize] = true;
            d += step;
        }
    }
    let list: Vec<String> = (0..7).filter(|d| days[*d]).map(|d| (d + 1).to_string()).collect();
    Ok(list.join(","))
}

/// What is stored per function: the last slot fired, of which expression.
#[derive(Debug, Serialize, Deserialize)]
struct Mark {
    expr: String,
    slot: Millis,
}

impl Functions {
    /// Start the scheduler; it runs until `stop` turns true.
    pub fn spawn_scheduler(self: &Arc<Self>, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.schedule_loop(stop).await })
    }

    async fn schedule_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let wait = self.fire_due().await;
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Fire every function whose slot has come; return how long to sleep.
    async fn fire_due(self: &Arc<Self>) -> Duration {
        let functions = match self.db.store().records::<Function>(k::FUNCTION_PREFIX) {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(error = %e, "scheduler: cannot read functions");
                return IDLE_CHECK;
            }
        };
        let mut wait = IDLE_CHECK;
        for f in functions.into_iter().filter(|f| f.enabled && !f.schedule.is_empty() && f.deployment.is_some()) {
            let cron = match Cron::parse(&f.schedule) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(function = %f.id, error = %e, "scheduler: skipping a function");
                    continue;
                }
            };
            let mark: Option<Mark> = self
                .db
                .store()
                .meta(&keys::meta::schedule(&f.id))
                .ok()
                .flatten()
                .and_then(|v| serde_json::from_slice(&v).ok());
            let since = match mark {
                Some(m) if m.expr == f.schedule => m.slot.max(f.updated),
                _ => f.updated,
            };
            let now = time::now_ms();
            if let Some((slot, count)) = cron.due(since, now) {
                self.fire(&f, slot, count - 1).await;
            }
            if let Some(next) = cron.next_after(now.max(since)) {
                let ms = (next - time::now_ms()).max(0) as u64;
                wait = wait.min(Duration::from_millis(ms));
            }
        }
        wait
    }

    async fn fire(self: &Arc<Self>, f: &Function, slot: Millis, missed: u64) {
        if missed > 0 {
            tracing::warn!(function = %f.id, missed, "scheduler: slots were missed; running once for them");
        }
        let headers = vec![
            Header { name: "user-agent".into(), value: format!("Arcade/{}", env!("CARGO_PKG_VERSION")) },
            Header { name: "x-appwrite-trigger".into(), value: "schedule".into() },
            Header { name: "x-appwrite-event".into(), value: String::new() },
            Header { name: "x-appwrite-user-id".into(), value: String::new() },
            Header { name: "x-arcade-schedule-slot".into(), value: time::format(slot) },
            Header { name: "x-arcade-schedule-missed".into(), value: missed.to_string() },
        ];
        let call = Call {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers,
            body: Vec::new(),
            trigger: "schedule".into(),
            event: None,
            user: None,
            execution_id: String::new(),
        };
        let mark = Mark { expr: f.schedule.clone(), slot };
        let value = serde_json::to_vec(&mark).unwrap_or_default();
        let req = ExecRequest { function: f.id.clone().into(), call, asynchronous: true, cause: None, depth: 0 };
        if let Err(e) = self.start_scheduled(req, (keys::meta::schedule(&f.id), value)).await {
            tracing::warn!(function = %f.id, error = %e, "scheduler: could not start a scheduled execution");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Millis {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn five_fields_run_on_the_minute_in_utc() {
        let c = Cron::parse("*/15 * * * *").unwrap();
        assert_eq!(c.next_after(ms("2026-01-01T10:07:30Z")), Some(ms("2026-01-01T10:15:00Z")));
        let c = Cron::parse("5 4 * * *").unwrap();
        assert_eq!(c.next_after(ms("2026-01-01T10:00:00Z")), Some(ms("2026-01-02T04:05:00Z")));
    }

    #[test]
    fn six_fields_have_seconds() {
        let c = Cron::parse("*/2 * * * * *").unwrap();
        assert_eq!(c.next_after(ms("2026-01-01T10:00:01Z")), Some(ms("2026-01-01T10:00:02Z")));
    }

    #[test]
    fn sunday_is_zero_and_seven() {
        // 2026-01-04 is a Sunday.
        for expr in ["0 12 * * 0", "0 12 * * 7", "0 12 * * sun"] {
            let c = Cron::parse(expr).unwrap();
            assert_eq!(c.next_after(ms("2026-01-01T00:00:00Z")), Some(ms("2026-01-04T12:00:00Z")), "{expr}");
        }
        // Monday to Friday.
        let c = Cron::parse("0 9 * * 1-5").unwrap();
        assert_eq!(c.next_after(ms("2026-01-03T00:00:00Z")), Some(ms("2026-01-05T09:00:00Z")));
        // Friday to Sunday, through 7.
        let c = Cron::parse("0 9 * * 5-7").unwrap();
        assert_eq!(c.next_after(ms("2026-01-03T10:00:00Z")), Some(ms("2026-01-04T09:00:00Z")));
    }

    #[test]
    fn bad_expressions_say_why() {
        assert!(Cron::parse("* * * *").unwrap_err().contains("5 fields"));
        assert!(Cron::parse("* * * * 8").unwrap_err().contains("0-7"));
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("* * * * 5-2").is_err());
    }

    #[test]
    fn missed_slots_are_counted_and_the_last_one_is_due() {
        let c = Cron::parse("0 * * * *").unwrap();
        let (slot, count) = c.due(ms("2026-01-01T10:00:00Z"), ms("2026-01-01T13:30:00Z")).unwrap();
        assert_eq!(slot, ms("2026-01-01T13:00:00Z"));
        assert_eq!(count, 3);
        assert!(c.due(ms("2026-01-01T13:00:00Z"), ms("2026-01-01T13:59:59Z")).is_none());
        // An outage longer than the counting limit still finds the latest slot.
        let c = Cron::parse("* * * * * *").unwrap();
        let (slot, count) = c.due(ms("2026-01-01T00:00:00Z"), ms("2026-01-03T00:00:00.500Z")).unwrap();
        assert_eq!(slot, ms("2026-01-03T00:00:00Z"));
        assert_eq!(count, MAX_MISSED_COUNT);
    }

    #[test]
    fn slots_do_not_drift() {
        let c = Cron::parse("*/10 * * * *").unwrap();
        // However late a run starts, the next slot is on the grid.
        let late = ms("2026-01-01T10:00:07Z") + 2_345;
        assert_eq!(c.next_after(late), Some(ms("2026-01-01T10:10:00Z")));
    }
}
