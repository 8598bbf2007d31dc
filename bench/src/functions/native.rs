//! The native baseline: `processGameResult` compiled for the host instead of
//! wasm, doing the same work against the same host side.
//!
//! The game rules are the guest's own source (`functions/processGameResult/
//! src/game.rs`, included by path in `super::game`). [`play`] is
//! `functions/processGameResult/src/lib.rs` line by line, with each SDK call
//! replaced by what that call costs on both sides of the wasm boundary, minus
//! the boundary itself: the guest SDK's serde (rows to and from JSON text),
//! the host import's work (`functions::host`: parse the data object, then the
//! execution's [`Staging`]), and `log` lines into the same buffer. What is
//! left out is exactly what wasm adds: the store, WASI context, instance,
//! the copying of arguments in and out of linear memory, and the guest's
//! slower code.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use arcade::functions::staging::Staging;
use arcade::model::exception::Exception;

use super::game;

const DB: &str = "tarkov_casino";
const STARTING_BALANCE: i64 = 1000;
const MAX_BET: i64 = 1_000_000;

#[derive(Deserialize)]
struct Bet {
    game_type: game::Game,
    bet_amount: Value,
    #[serde(default)]
    choice: Option<Value>,
}

#[derive(Serialize, Deserialize)]
struct Profile {
    username: String,
    balance: i64,
    total_games_played: i64,
}

#[derive(Serialize, Deserialize)]
struct History {
    user_id: String,
    game_type: String,
    bet_amount: i64,
    win_amount: i64,
    outcome: String,
}

/// The guest SDK's `Row<T>` (sdk-guest/src/tables.rs), deserialized the same way.
#[derive(Deserialize)]
#[allow(dead_code)] // the fields are read by serde, as in the guest
struct Row<T> {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$sequence", default, deserialize_with = "sequence")]
    sequence: u64,
    #[serde(rename = "$createdAt", default)]
    created_at: String,
    #[serde(rename = "$updatedAt", default)]
    updated_at: String,
    #[serde(rename = "$permissions", default)]
    permissions: Vec<String>,
    #[serde(rename = "$tableId", default)]
    table_id: String,
    #[serde(rename = "$databaseId", default)]
    database_id: String,
    #[serde(flatten)]
    data: T,
}

fn sequence<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seq {
        Number(u64),
        Text(String),
    }
    match Seq::deserialize(d)? {
        Seq::Number(n) => Ok(n),
        Seq::Text(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

/// What a run answered.
pub struct Played {
    pub status: u16,
    pub body: Vec<u8>,
    pub logs: String,
}

/// An error as the guest turns it into a response.
struct Fail(u16, String);

impl From<Exception> for Fail {
    fn from(e: Exception) -> Fail {
        Fail(500, e.message)
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Fail {
        Fail(500, format!("JSON error: {e}"))
    }
}

fn parse<T: DeserializeOwned>(json: &str) -> Result<T, Fail> {
    Ok(serde_json::from_str(json)?)
}

/// What the host import does with a row's data before staging it.
fn object(data: &str) -> Result<Map<String, Value>, Fail> {
    match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Fail(500, "data must be a JSON object".into())),
    }
}

/// One game for `user` with the request `body`, as the wasm guest plays it.
pub fn play(staging: &mut Staging, user: Option<&str>, body: &[u8]) -> Played {
    let mut logs = String::new();
    match process(staging, user, body, &mut logs) {
        Ok((status, body)) => Played { status, body, logs },
        Err(Fail(status, message)) => {
            Played { status, body: json!({ "error": message }).to_string().into_bytes(), logs }
        }
    }
}

fn process(staging: &mut Staging, user: Option<&str>, body: &[u8], logs: &mut String) -> Result<(u16, Vec<u8>), Fail> {
    let user = user.filter(|u| !u.is_empty()).ok_or_else(|| Fail(401, "sign in to play".into()))?.to_owned();
    let bet: Bet = serde_json::from_slice(body).map_err(|e| Fail(400, format!("invalid body: {e}")))?;
    let amount = bet
        .bet_amount
        .as_i64()
        .filter(|a| *a > 0 && *a <= MAX_BET)
        .ok_or_else(|| Fail(400, format!("bet_amount must be a positive integer up to {MAX_BET}")))?;

    let existing: Option<Row<Profile>> = match staging.get_row(DB, "user_profiles", &user)? {
        Some(json) => Some(parse(&json)?),
        None => None,
    };
    let balance = existing.as_ref().map_or(STARTING_BALANCE, |p| p.data.balance);
    if amount > balance {
        return Err(Fail(400, format!("bet of {amount} is above the balance of {balance}")));
    }
    let random: [u8; 8] = rand::random();
    let result = game::play(bet.game_type, amount, bet.choice.as_ref(), random).map_err(|e| Fail(400, e.0))?;

    if existing.is_none() {
        let username = format!("player-{}", &user[..user.len().min(6)]);
        let data = serde_json::to_string(&Profile { username, balance: STARTING_BALANCE, total_games_played: 0 })?;
        let perms = vec!["read(\"users\")".to_owned(), format!("update(\"user:{user}\")")];
        let row = staging.create_row(DB, "user_profiles", &user, object(&data)?, Some(perms))?;
        let _: Row<Profile> = parse(&row)?;
    }
    let row = staging.step((DB, "user_profiles", &user), "balance", amount as f64, Some(0.0), true)?;
    let _: Row<Value> = parse(&row)?;
    if result.win_amount > 0 {
        let row = staging.step((DB, "user_profiles", &user), "balance", result.win_amount as f64, None, false)?;
        let _: Row<Value> = parse(&row)?;
    }
    let row = staging.step((DB, "user_profiles", &user), "total_games_played", 1.0, None, false)?;
    let profile: Row<Profile> = parse(&row)?;
    let outcome = if result.won { "win" } else { "lose" };
    let data = serde_json::to_string(&History {
        user_id: user.clone(),
        game_type: bet.game_type.as_str().to_owned(),
        bet_amount: amount,
        win_amount: result.win_amount,
        outcome: outcome.to_owned(),
    })?;
    let row = staging.create_row(
        DB,
        "game_history",
        "unique()",
        object(&data)?,
        Some(vec![format!("read(\"user:{user}\")")]),
    )?;
    let game: Row<History> = parse(&row)?;
    logs.push_str(&format!(
        "{user} bet {amount} on {} ({}): {outcome} {}",
        bet.game_type.as_str(),
        result.draw,
        result.win_amount
    ));
    logs.push('\n');
    let body = serde_json::to_vec(&json!({
        "outcome": outcome,
        "win_amount": result.win_amount,
        "balance": profile.data.balance,
        "game_id": game.id,
        "draw": result.draw,
    }))?;
    Ok((200, body))
}
