//! Test fixture for triggers, driven by the function variable `MODE`:
//!
//! - `copy`: the body is a row (an event payload); upsert a row with the same
//!   `$id` into table `OUT` of the row's database, recording the row's id and
//!   the `x-appwrite-event` header, so a test can see every event arrive.
//! - `bounce`: the body is a row; increment its `hops` column, which updates
//!   the row again, which triggers this function again: an endless chain that
//!   the server must cut.
//! - `tick`: (for schedules) create a row in table `OUT` of database `DB` with
//!   the schedule slot and missed count from the request headers.

use arcade_sdk::{Error, ID, Request, Response, Table, log};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$databaseId")]
    database: String,
    #[serde(rename = "$tableId")]
    table: String,
}

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| Error::http(500, format!("the variable {name} is not set")))
}

fn relay(req: Request) -> Result<Response, Error> {
    let mode = var("MODE")?;
    let event = req.header("x-appwrite-event").unwrap_or_default().to_owned();
    log::info(format!("{mode}: trigger {} event {event}", req.trigger().as_str()));
    match mode.as_str() {
        "copy" => {
            let row: Payload = req.json()?;
            let out = Table::new(&row.database, var("OUT")?);
            out.upsert::<Value>(&row.id, &json!({"source": row.id, "event": event}))?;
            Ok(Response::json(200, &json!({"copied": row.id})))
        }
        "bounce" => {
            let row: Payload = req.json()?;
            let t = Table::new(&row.database, &row.table);
            let r = t.increment::<Value>(&row.id, "hops", 1.0, None)?;
            Ok(Response::json(200, &json!({"hops": r.data["hops"]})))
        }
        "tick" => {
            let slot = req.header("x-arcade-schedule-slot").unwrap_or_default().to_owned();
            let missed: i64 = req.header("x-arcade-schedule-missed").and_then(|m| m.parse().ok()).unwrap_or(0);
            Table::new(var("DB")?, var("OUT")?)
                .create::<Value>(ID::unique(), &json!({"slot": slot, "missed": missed}))?;
            Ok(Response::json(200, &json!({"slot": slot})))
        }
        other => Err(Error::http(400, format!("unknown MODE {other}"))),
    }
}

arcade_sdk::export!(relay);
