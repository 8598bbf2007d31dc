//! `processGameResult`: one round of a casino game for the signed-in player.
//!
//! Contract (frontends and tests rely on it):
//! - called by a signed-in user with `{"game_type": "coinflip" | "roulette" |
//!   "slots", "bet_amount": <positive integer>, "choice": <optional>}`;
//! - the player's profile is the `user_profiles` row whose `$id` is the user's
//!   id, created on first play with a balance of 1000;
//! - answers 200 `{"outcome": "win" | "lose", "win_amount", "balance", "game_id"}`;
//! - an invalid bet, or one above the balance, gets a 4xx JSON error and
//!   writes nothing (everything is checked before the first write).
//!
//! The outcome comes from the host's randomness (WASI random). All writes
//! (profile, balance, history row, games played) commit together, or not at all.

mod game;

use arcade_sdk::{Error, ID, Permission, Request, Response, Role, Table, log};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const DB: &str = "tarkov_casino";
const STARTING_BALANCE: i64 = 1000;
/// Largest single bet.
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

fn bad(status: u16, msg: impl Into<String>) -> Error {
    Error::http(status, msg)
}

fn process(req: Request) -> Result<Response, Error> {
    let user = req.user_id().ok_or_else(|| bad(401, "sign in to play"))?.to_owned();
    let bet: Bet = req.json().map_err(|e| bad(400, format!("invalid body: {e}")))?;
    let amount = bet
        .bet_amount
        .as_i64()
        .filter(|a| *a > 0 && *a <= MAX_BET)
        .ok_or_else(|| bad(400, format!("bet_amount must be a positive integer up to {MAX_BET}")))?;

    let profiles = Table::new(DB, "user_profiles");
    let existing = profiles.get::<Profile>(&user)?;
    let balance = existing.as_ref().map_or(STARTING_BALANCE, |p| p.data.balance);
    if amount > balance {
        return Err(bad(400, format!("bet of {amount} is above the balance of {balance}")));
    }
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let result = game::play(bet.game_type, amount, bet.choice.as_ref(), random).map_err(|e| bad(400, e.0))?;

    // Checks are done: from here on, every write commits together.
    if existing.is_none() {
        let username = format!("player-{}", &user[..user.len().min(6)]);
        profiles.create_with_permissions(
            &user,
            &Profile { username, balance: STARTING_BALANCE, total_games_played: 0 },
            &[Permission::read(Role::users()), Permission::update(Role::user(&user))],
        )?;
    }
    profiles.decrement::<Value>(&user, "balance", amount as f64, Some(0.0))?;
    if result.win_amount > 0 {
        profiles.increment::<Value>(&user, "balance", result.win_amount as f64, None)?;
    }
    let profile = profiles.increment::<Profile>(&user, "total_games_played", 1.0, None)?;
    let outcome = if result.won { "win" } else { "lose" };
    let game = Table::new(DB, "game_history").create_with_permissions(
        ID::unique(),
        &History {
            user_id: user.clone(),
            game_type: bet.game_type.as_str().to_owned(),
            bet_amount: amount,
            win_amount: result.win_amount,
            outcome: outcome.to_owned(),
        },
        &[Permission::read(Role::user(&user))],
    )?;
    log::info(format!(
        "{user} bet {amount} on {} ({}): {outcome} {}",
        bet.game_type.as_str(),
        result.draw,
        result.win_amount
    ));
    Ok(Response::json(
        200,
        &json!({
            "outcome": outcome,
            "win_amount": result.win_amount,
            "balance": profile.data.balance,
            "game_id": game.id,
            "draw": result.draw,
        }),
    ))
}

arcade_sdk::export!(process);
