//! `moderateChat`: deletes a new chat message that contains a blocked word or
//! phrase, so the lobby chat moderates itself without a moderator online.
//!
//! Contract (the casino manifest and the demo page rely on it):
//! - triggered by `databases.tarkov_casino.tables.chat_messages.rows.*.create`;
//!   the body is the created row (`$id`, `$databaseId`, `$tableId`, `user_id`,
//!   `username`, `text`, ...). An API-key caller may send the same body by hand;
//! - the blocked list is the function variable `BLOCKED_WORDS`, comma-separated
//!   (`"scam,cheat,free coins"` when unset or empty);
//! - matching ignores case and punctuation and works on whole words: `cheat`
//!   flags "CHEAT!" and "no cheat-codes" but not "cheater"; a phrase such as
//!   `free coins` flags "free   COINS?" but not "coins free";
//! - a flagged row is deleted (the delete event makes it vanish in every open
//!   page through realtime) and the reason is logged; a clean one is logged as
//!   passed. Answers 200 `{"action": "deleted" | "kept" | "gone", "rowId",
//!   "matched"?}` (`gone`: it was already deleted, nothing to do).
//!
//! Events are delivered at least once, so a second run on the same row must be
//! harmless: deleting a row that is already gone is not an error.

use arcade_sdk::{Error, Request, Response, Table, log};
use serde::Deserialize;
use serde_json::json;

/// The list used when `BLOCKED_WORDS` is unset or empty.
pub const DEFAULT_BLOCKED: &str = "scam,cheat,free coins";
const DEFAULT_DB: &str = "tarkov_casino";
const DEFAULT_TABLE: &str = "chat_messages";

/// The part of the row this function reads.
#[derive(Deserialize)]
struct ChatRow {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$databaseId", default)]
    database_id: Option<String>,
    #[serde(rename = "$tableId", default)]
    table_id: Option<String>,
    #[serde(default)]
    username: Option<String>,
    text: String,
}

/// Lower-cased words of `s`: runs of letters and digits, everything else separates.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The blocked entries of a comma-separated list, each as its words; empty
/// entries are dropped, and an empty list falls back to [`DEFAULT_BLOCKED`].
pub fn parse_blocked(list: Option<&str>) -> Vec<Vec<String>> {
    let parse = |l: &str| l.split(',').map(words).filter(|w| !w.is_empty()).collect::<Vec<_>>();
    match list.map(parse) {
        Some(entries) if !entries.is_empty() => entries,
        _ => parse(DEFAULT_BLOCKED),
    }
}

/// The first blocked entry (as written in the list, words joined by one
/// space) that occurs in `text` as a run of whole words, if any.
pub fn flagged(text: &str, blocked: &[Vec<String>]) -> Option<String> {
    let text = words(text);
    blocked.iter().find(|entry| text.windows(entry.len()).any(|w| w == entry.as_slice())).map(|entry| entry.join(" "))
}

fn moderate(req: Request) -> Result<Response, Error> {
    let row: ChatRow = req.json().map_err(|e| Error::bad_request(format!("the body is not a chat row: {e}")))?;
    let list = std::env::var("BLOCKED_WORDS").ok();
    let blocked = parse_blocked(list.as_deref());
    let who = row.username.as_deref().unwrap_or("?");
    let Some(matched) = flagged(&row.text, &blocked) else {
        log::info(format!("message {} from {who} passed", row.id));
        return Ok(Response::json(200, &json!({"action": "kept", "rowId": row.id})));
    };
    let table =
        Table::new(row.database_id.as_deref().unwrap_or(DEFAULT_DB), row.table_id.as_deref().unwrap_or(DEFAULT_TABLE));
    match table.delete(&row.id) {
        Ok(()) => {
            log::info(format!("deleted message {} from {who}: contains the blocked \"{matched}\"", row.id));
            Ok(Response::json(200, &json!({"action": "deleted", "rowId": row.id, "matched": matched})))
        }
        Err(Error::NotFound(_)) => {
            log::info(format!("message {} from {who} (blocked \"{matched}\") was already deleted", row.id));
            Ok(Response::json(200, &json!({"action": "gone", "rowId": row.id, "matched": matched})))
        }
        Err(e) => Err(e),
    }
}

arcade_sdk::export!(moderate);

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<Vec<String>> {
        parse_blocked(None)
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        assert_eq!(defaults().len(), 3);
        assert_eq!(parse_blocked(Some("")), defaults());
        assert_eq!(parse_blocked(Some(" , ,")), defaults());
        assert_eq!(parse_blocked(Some("Spam, , RIGGED game ")), vec![vec!["spam"], vec!["rigged", "game"]]);
    }

    #[test]
    fn whole_words_any_case_any_punctuation() {
        let b = defaults();
        assert_eq!(flagged("this is a SCAM!!", &b).as_deref(), Some("scam"));
        assert_eq!(flagged("no cheat-codes please", &b).as_deref(), Some("cheat"));
        assert_eq!(flagged("Free   COINS? here", &b).as_deref(), Some("free coins"));
        assert_eq!(flagged("free\ncoins", &b).as_deref(), Some("free coins"));
        assert_eq!(flagged("scam", &b).as_deref(), Some("scam"));
    }

    #[test]
    fn clean_messages_pass() {
        let b = defaults();
        assert_eq!(flagged("good luck everyone", &b), None);
        assert_eq!(flagged("the cheater lost", &b), None, "cheater is not cheat");
        assert_eq!(flagged("scampi for dinner", &b), None);
        assert_eq!(flagged("coins free", &b), None, "a phrase keeps its order");
        assert_eq!(flagged("free spins, coins later", &b), None);
        assert_eq!(flagged("", &b), None);
    }

    #[test]
    fn unicode_is_lowercased() {
        let b = parse_blocked(Some("BETRÜGER"));
        assert_eq!(flagged("Du Betrüger!", &b).as_deref(), Some("betrüger"));
    }

    #[test]
    fn a_clean_row_is_kept_without_touching_tables() {
        let body = json!({"$id": "m1", "$databaseId": "db", "$tableId": "t", "user_id": "u", "username": "ann", "text": "hello"});
        let res = moderate(Request::new("POST", "/").with_body(body.to_string())).unwrap();
        assert_eq!(res.status(), 200);
        let answer: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(answer, json!({"action": "kept", "rowId": "m1"}));
    }

    #[test]
    fn a_body_that_is_not_a_row_is_a_400() {
        let err = moderate(Request::new("POST", "/").with_body("{\"text\": 1}")).unwrap_err();
        assert_eq!(err.status(), 400);
    }
}
