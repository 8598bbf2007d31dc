//! The games themselves: pure rules over a random draw, so they can be
//! tested natively and the payouts checked exactly.

use serde::Deserialize;

/// The games on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Game {
    Coinflip,
    Roulette,
    Slots,
}

impl Game {
    pub fn as_str(self) -> &'static str {
        match self {
            Game::Coinflip => "coinflip",
            Game::Roulette => "roulette",
            Game::Slots => "slots",
        }
    }
}

/// A result: whether the player won and the payout (0 on a loss). The payout
/// includes the stake, so the balance changes by `win_amount - bet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Result {
    pub won: bool,
    pub win_amount: i64,
    /// What was drawn, for the player to see.
    pub draw: String,
}

/// Why a bet cannot be played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidChoice(pub String);

const RED: [u8; 18] = [1, 3, 5, 7, 9, 12, 14, 16, 18, 19, 21, 23, 25, 27, 30, 32, 34, 36];
const SYMBOLS: [&str; 5] = ["cherry", "lemon", "bell", "bar", "seven"];

/// Play `game` with `bet` and the player's `choice`, given random bytes.
pub fn play(
    game: Game,
    bet: i64,
    choice: Option<&serde_json::Value>,
    random: [u8; 8],
) -> std::result::Result<Result, InvalidChoice> {
    let r = u64::from_le_bytes(random);
    match game {
        Game::Coinflip => {
            let pick = match choice.and_then(|c| c.as_str()) {
                None => "heads",
                Some(c @ ("heads" | "tails")) => c,
                Some(other) => {
                    return Err(InvalidChoice(format!(
                        "coinflip choice must be \"heads\" or \"tails\", not {other:?}"
                    )));
                }
            };
            let side = if r.is_multiple_of(2) { "heads" } else { "tails" };
            let won = side == pick;
            Ok(Result { won, win_amount: if won { bet * 2 } else { 0 }, draw: side.to_owned() })
        }
        Game::Roulette => {
            let pocket = (r % 37) as u8;
            let (won, multiplier) = match choice {
                None => (RED.contains(&pocket), 2),
                Some(serde_json::Value::Number(n)) => match n.as_u64() {
                    Some(k) if k <= 36 => (pocket as u64 == k, 36),
                    _ => return Err(InvalidChoice("roulette number must be 0 to 36".into())),
                },
                Some(serde_json::Value::String(s)) => match s.as_str() {
                    "red" => (RED.contains(&pocket), 2),
                    "black" => (pocket != 0 && !RED.contains(&pocket), 2),
                    "odd" => (pocket % 2 == 1, 2),
                    "even" => (pocket != 0 && pocket.is_multiple_of(2), 2),
                    other => {
                        return Err(InvalidChoice(format!(
                            "roulette choice must be a number or red, black, odd, even; not {other:?}"
                        )));
                    }
                },
                Some(_) => return Err(InvalidChoice("roulette choice must be a number or a color".into())),
            };
            Ok(Result { won, win_amount: if won { bet * multiplier } else { 0 }, draw: pocket.to_string() })
        }
        Game::Slots => {
            if choice.is_some_and(|c| !c.is_null()) {
                return Err(InvalidChoice("slots take no choice".into()));
            }
            let reels = [(r % 5) as usize, ((r / 5) % 5) as usize, ((r / 25) % 5) as usize];
            // Three of a kind pays 5x (three sevens 20x); a pair returns the stake.
            let multiplier = if reels[0] == reels[1] && reels[1] == reels[2] {
                if SYMBOLS[reels[0]] == "seven" { 20 } else { 5 }
            } else if reels[0] == reels[1] || reels[1] == reels[2] || reels[0] == reels[2] {
                1
            } else {
                0
            };
            let draw = reels.iter().map(|i| SYMBOLS[*i]).collect::<Vec<_>>().join(" ");
            Ok(Result { won: multiplier > 0, win_amount: bet * multiplier, draw })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(n: u64) -> [u8; 8] {
        n.to_le_bytes()
    }

    #[test]
    fn coinflip_pays_double() {
        assert_eq!(
            play(Game::Coinflip, 10, Some(&json!("heads")), bytes(2)).unwrap(),
            Result { won: true, win_amount: 20, draw: "heads".into() }
        );
        assert_eq!(play(Game::Coinflip, 10, Some(&json!("heads")), bytes(3)).unwrap().win_amount, 0);
        assert!(play(Game::Coinflip, 10, Some(&json!("edge")), bytes(3)).is_err());
    }

    #[test]
    fn roulette_numbers_and_colors() {
        let r = play(Game::Roulette, 5, Some(&json!(17)), bytes(17)).unwrap();
        assert_eq!((r.won, r.win_amount), (true, 180));
        let r = play(Game::Roulette, 5, Some(&json!("red")), bytes(1)).unwrap();
        assert_eq!((r.won, r.win_amount), (true, 10));
        let r = play(Game::Roulette, 5, Some(&json!("black")), bytes(0)).unwrap();
        assert!(!r.won, "zero is neither red nor black");
        assert!(play(Game::Roulette, 5, Some(&json!(37)), bytes(0)).is_err());
    }

    #[test]
    fn slots_payouts() {
        // 4 + 4*5 + 4*25 = three sevens.
        let r = play(Game::Slots, 2, None, bytes(4 + 4 * 5 + 4 * 25)).unwrap();
        assert_eq!((r.win_amount, r.draw.as_str()), (40, "seven seven seven"));
        let r = play(Game::Slots, 2, None, bytes(0)).unwrap();
        assert_eq!(r.win_amount, 10, "three cherries");
        let r = play(Game::Slots, 2, None, bytes(1 + 5)).unwrap();
        assert_eq!((r.won, r.win_amount), (true, 2), "a pair of lemons returns the stake");
        let r = play(Game::Slots, 2, None, bytes(1 + 5 * 2)).unwrap();
        assert_eq!((r.won, r.win_amount), (false, 0), "lemon bell cherry");
    }

    #[test]
    fn house_edge_is_sane() {
        // Over every draw the expected payout stays below the stake for every game.
        for game in [Game::Coinflip, Game::Roulette, Game::Slots] {
            let n = 37 * 125 * 2;
            let total: i64 = (0..n).map(|i| play(game, 1, None, bytes(i)).unwrap().win_amount).sum();
            assert!(total <= n as i64 * 11 / 10, "{game:?} pays {total} over {n}");
        }
    }
}
