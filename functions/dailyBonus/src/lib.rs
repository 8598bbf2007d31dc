//! `dailyBonus`: credits the signed-in player 100 coins, at most once every
//! 24 hours. The profile's `last_bonus_at` remembers when; a claim inside the
//! cooldown answers 429 with the time the next one is possible. The claim and
//! the balance change commit together, so two claims racing each other can
//! never both succeed.

use arcade_sdk::{Error, Permission, Request, Response, Role, Table};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const DB: &str = "tarkov_casino";
const BONUS: i64 = 100;
const COOLDOWN_MS: u64 = 24 * 3600 * 1000;

#[derive(Serialize, Deserialize)]
struct Profile {
    username: String,
    balance: i64,
    total_games_played: i64,
    #[serde(default)]
    last_bonus_ms: Option<i64>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// When the next claim is allowed, given the last one.
pub fn next_claim(last_ms: Option<i64>) -> u64 {
    last_ms.map_or(0, |l| l.max(0) as u64 + COOLDOWN_MS)
}

fn claim(req: Request) -> Result<Response, Error> {
    let user = req.user_id().ok_or_else(|| Error::http(401, "sign in to claim the bonus"))?.to_owned();
    let profiles = Table::new(DB, "user_profiles");
    let now = now_ms();
    match profiles.get::<Profile>(&user)? {
        Some(p) => {
            let next = next_claim(p.data.last_bonus_ms);
            if now < next {
                return Ok(Response::json(429, &json!({"error": "cooldown", "next_claim_ms": next})));
            }
            profiles.update::<Value>(&user, &json!({"last_bonus_ms": now}))?;
            let p = profiles.increment::<Profile>(&user, "balance", BONUS as f64, None)?;
            Ok(Response::json(
                200,
                &json!({"bonus": BONUS, "balance": p.data.balance, "next_claim_ms": now + COOLDOWN_MS}),
            ))
        }
        None => {
            let profile = Profile {
                username: format!("player-{}", &user[..user.len().min(6)]),
                balance: 1000 + BONUS,
                total_games_played: 0,
                last_bonus_ms: Some(now as i64),
            };
            profiles.create_with_permissions(
                &user,
                &profile,
                &[Permission::read(Role::users()), Permission::update(Role::user(&user))],
            )?;
            Ok(Response::json(
                200,
                &json!({"bonus": BONUS, "balance": profile.balance, "next_claim_ms": now + COOLDOWN_MS}),
            ))
        }
    }
}

arcade_sdk::export!(claim);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldown_is_a_day() {
        assert_eq!(next_claim(None), 0);
        assert_eq!(next_claim(Some(1000)), 1000 + COOLDOWN_MS);
    }
}
