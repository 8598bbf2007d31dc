//! Appwrite transactions: staged writes, read-through, atomic commit with
//! events only at commit, conflicts, rollback.

use serde_json::json;

use crate::util::{Server, events, setup_table};

const ROWS: &str = "/v1/tablesdb/main/tables/wallets/rows";

fn wallets(s: &Server) {
    setup_table(
        &s.admin(),
        "wallets",
        &["read(\"any\")", "create(\"any\")", "update(\"any\")", "delete(\"any\")"],
        false,
        &[("integer", json!({"key": "coins", "required": true, "min": 0}))],
    );
    let a = s.admin();
    assert_eq!(a.post(ROWS, json!({"rowId": "alice", "data": {"coins": 100}})).status, 201);
    assert_eq!(a.post(ROWS, json!({"rowId": "bob", "data": {"coins": 5}})).status, 201);
}

#[test]
fn commit_applies_everything_with_events_at_commit() {
    let s = Server::start();
    wallets(&s);
    let c = s.user("trader");
    let r = c.post("/v1/tablesdb/transactions", json!({"ttl": 120}));
    assert_eq!(
        (r.status, r.body["status"].clone(), r.body["operations"].clone()),
        (201, json!("pending"), json!(0)),
        "{}",
        r.body
    );
    let txn = r.body["$id"].as_str().unwrap().to_owned();
    let before = s.admin().get("/v1/health").body["seq"].as_u64().unwrap();

    let r = c.patch(&format!("{ROWS}/alice/coins/decrement"), json!({"value": 30, "min": 0, "transactionId": txn}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.patch(&format!("{ROWS}/bob/coins/increment"), json!({"value": 30, "transactionId": txn}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.post(ROWS, json!({"rowId": "carol", "data": {"coins": 1}, "transactionId": txn}));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c.post(
        &format!("/v1/tablesdb/transactions/{txn}/operations"),
        json!({"operations": [{"action": "update", "databaseId": "main", "tableId": "wallets", "rowId": "carol", "data": {"coins": 2}}]}),
    );
    assert_eq!((r.status, r.body["operations"].clone()), (201, json!(4)), "{}", r.body);

    // Nothing is visible outside the transaction, and nothing was logged.
    assert_eq!(c.get(&format!("{ROWS}/alice")).body["coins"], 100);
    assert_eq!(c.get(&format!("{ROWS}/carol")).status, 404);
    assert!(events(&s.admin(), before).is_empty());
    // Inside it, the staged writes are seen.
    assert_eq!(c.get(&format!("{ROWS}/alice?transactionId={txn}")).body["coins"], 70);
    assert_eq!(c.get(&format!("{ROWS}/carol?transactionId={txn}")).body["coins"], 2);
    let r = c.list(
        ROWS,
        &[json!({"method": "greaterThan", "attribute": "coins", "values": [10]})],
        &[("transactionId", &txn)],
    );
    let ids: Vec<_> = r.body["rows"].as_array().unwrap().iter().map(|x| x["$id"].clone()).collect();
    assert_eq!(ids, [json!("alice"), json!("bob")], "{}", r.body);

    let r = c.patch(&format!("/v1/tablesdb/transactions/{txn}"), json!({"commit": true}));
    assert_eq!((r.status, r.body["status"].clone()), (200, json!("committed")), "{}", r.body);
    assert_eq!(c.get(&format!("{ROWS}/alice")).body["coins"], 70);
    assert_eq!(c.get(&format!("{ROWS}/bob")).body["coins"], 35);
    assert_eq!(c.get(&format!("{ROWS}/carol")).body["coins"], 2);
    let log = events(&s.admin(), before);
    assert_eq!(log.len(), 4, "one event per staged write, all at commit");
    assert!(log.iter().all(|e| e["actor"] == "trader"));
    // A committed transaction cannot be used again.
    c.patch(&format!("/v1/tablesdb/transactions/{txn}"), json!({"commit": true}))
        .assert_error(400, "transaction_invalid");
}

#[test]
fn conflicting_commit_writes_nothing() {
    let s = Server::start();
    wallets(&s);
    let c = s.admin();
    let txn = c.post("/v1/tablesdb/transactions", json!({})).body["$id"].as_str().unwrap().to_owned();
    assert_eq!(c.patch(&format!("{ROWS}/bob/coins/increment"), json!({"value": 1, "transactionId": txn})).status, 200);
    assert_eq!(c.patch(&format!("{ROWS}/alice"), json!({"data": {"coins": 1}, "transactionId": txn})).status, 200);
    // Someone else changes alice meanwhile.
    assert_eq!(c.patch(&format!("{ROWS}/alice"), json!({"data": {"coins": 99}})).status, 200);
    let before = c.get("/v1/health").body["seq"].as_u64().unwrap();
    c.patch(&format!("/v1/tablesdb/transactions/{txn}"), json!({"commit": true}))
        .assert_error(409, "transaction_conflict");
    assert_eq!(c.get(&format!("{ROWS}/bob")).body["coins"], 5, "bob's increment was not applied either");
    assert_eq!(c.get(&format!("{ROWS}/alice")).body["coins"], 99);
    assert!(events(&c, before).is_empty());
    assert_eq!(c.get(&format!("/v1/tablesdb/transactions/{txn}")).body["status"], "failed");
}

#[test]
fn invalid_staging_and_rollback() {
    let s = Server::start();
    wallets(&s);
    let u = s.user("u");
    let txn = u.post("/v1/tablesdb/transactions", json!({})).body["$id"].as_str().unwrap().to_owned();
    // Bad data is refused when staged.
    u.patch(&format!("{ROWS}/alice"), json!({"data": {"coins": -5}, "transactionId": txn}))
        .assert_error(400, "row_invalid_structure");
    u.patch(&format!("{ROWS}/ghost"), json!({"data": {"coins": 1}, "transactionId": txn}))
        .assert_error(404, "row_not_found");
    // Another user cannot see or use it.
    let other = s.user("other");
    other.get(&format!("/v1/tablesdb/transactions/{txn}")).assert_error(404, "transaction_not_found");
    other
        .patch(&format!("{ROWS}/alice"), json!({"data": {"coins": 1}, "transactionId": txn}))
        .assert_error(404, "transaction_not_found");
    assert_eq!(u.delete_with(&format!("{ROWS}/alice"), json!({"transactionId": txn})).status, 204);
    let r = u.patch(&format!("/v1/tablesdb/transactions/{txn}"), json!({"rollback": true}));
    assert_eq!(r.body["status"], "rolled_back", "{}", r.body);
    assert_eq!(u.get(&format!("{ROWS}/alice")).status, 200);
    s.guest().post("/v1/tablesdb/transactions", json!({"ttl": 5})).assert_error(400, "general_argument_invalid");
}
