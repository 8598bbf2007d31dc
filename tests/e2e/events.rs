//! Every committed write lands in the event log, in order, named and
//! channelled as Appwrite does, with the read roles of the data as written.

use serde_json::{Value, json};

use crate::util::{Server, events, setup_table};

fn names(e: &Value) -> Vec<String> {
    e["events"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn row_events_carry_names_channels_roles_and_payload() {
    let s = Server::start();
    let a = s.admin();
    setup_table(
        &a,
        "games",
        &["create(\"users\")", "read(\"team:staff\")"],
        true,
        &[("integer", json!({"key": "score", "required": false}))],
    );
    let start = a.get("/v1/health").body["seq"].as_u64().unwrap();
    let u = s.user("ann");
    let after_signup = a.get("/v1/health").body["seq"].as_u64().unwrap();
    let rows = "/v1/tablesdb/main/tables/games/rows";
    assert_eq!(u.post(rows, json!({"rowId": "g1", "data": {"score": 1}})).status, 201);
    assert_eq!(u.patch(&format!("{rows}/g1"), json!({"data": {"score": 2}})).status, 200);
    assert_eq!(u.patch(&format!("{rows}/g1/score/increment"), json!({"value": 5})).status, 200);
    // Make it private: the update's roles must no longer include ann.
    let r = u.patch(&format!("{rows}/g1"), json!({"permissions": ["update(\"user:ann\")", "delete(\"user:ann\")"]}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(u.delete(&format!("{rows}/g1")).status, 204);

    let signup: Vec<Value> =
        events(&a, start).into_iter().filter(|e| e["seq"].as_u64().unwrap() <= after_signup).collect();
    assert!(names(&signup[0]).contains(&"users.ann.create".to_owned()), "{signup:#?}");
    assert!(signup.iter().any(|e| names(e).contains(&"users.*.sessions.*.create".to_owned())), "session event logged");
    assert!(signup.iter().all(|e| e["roles"] == json!(["user:ann"])), "account events are ann's alone: {signup:#?}");
    assert!(signup.iter().all(|e| e["channels"].as_array().unwrap().contains(&json!("account.ann"))));

    let log = events(&a, after_signup);
    assert_eq!(log.len(), 5, "one event per write: {log:#?}");
    let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "no gaps: {seqs:?}");

    let create = &log[0];
    let n = names(create);
    assert_eq!(n.len(), 64, "TablesDB realtime events list");
    assert_eq!(
        &n[..3],
        [
            "tablesdb.main.tables.games.rows.g1.create",
            "databases.main.collections.games.documents.g1.create",
            "databases.main.tables.games.rows.g1.create"
        ]
    );
    assert!(n.contains(&"databases.*.tables.*.rows.*.create".to_owned()));
    assert_eq!(n.last().unwrap(), "databases.*");
    let ch: Vec<&str> = create["channels"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(ch.len(), 16);
    for c in [
        "rows",
        "documents",
        "databases.main.tables.games.rows",
        "databases.main.tables.games.rows.g1",
        "tablesdb.main.tables.games.rows.g1",
        "databases.main.collections.games.documents.g1",
        "rows.create",
        "tablesdb.main.tables.games.rows.g1.create",
    ] {
        assert!(ch.contains(&c), "{c} in {ch:?}");
    }
    assert_eq!(create["payload"]["$id"], "g1");
    assert_eq!(create["payload"]["score"], 1);
    assert_eq!(create["actor"], "ann");
    let ts = create["timestamp"].as_str().unwrap();
    assert!(ts.len() == 29 && ts.ends_with("+00:00"), "{ts}");
    let mut roles: Vec<&str> = create["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    roles.sort();
    assert_eq!(roles, ["team:staff", "user:ann"], "table read ∪ row read");

    assert_eq!(names(&log[1])[0], "tablesdb.main.tables.games.rows.g1.update");
    assert_eq!(log[1]["payload"]["score"], 2);
    assert_eq!(log[2]["payload"]["score"], 7, "increment is an update event with the new value");
    assert_eq!(log[3]["roles"], json!(["team:staff"]), "roles follow the permissions as written");
    assert_eq!(names(&log[4])[0], "tablesdb.main.tables.games.rows.g1.delete");
    assert_eq!(log[4]["payload"]["score"], 7, "a delete carries the deleted row");
    assert_eq!(log[4]["roles"], json!(["team:staff"]));
}

#[test]
fn failed_writes_leave_no_event() {
    let s = Server::start();
    let a = s.admin();
    setup_table(
        &a,
        "t",
        &["create(\"any\")", "read(\"any\")"],
        false,
        &[("integer", json!({"key": "n", "required": true, "max": 3}))],
    );
    let before = a.get("/v1/health").body["seq"].as_u64().unwrap();
    let rows = "/v1/tablesdb/main/tables/t/rows";
    s.guest().post(rows, json!({"rowId": "x", "data": {"n": 9}})).assert_error(400, "row_invalid_structure");
    a.post(rows, json!({"rows": [{"$id": "a", "n": 1}, {"$id": "b", "n": 99}]}))
        .assert_error(400, "row_invalid_structure");
    assert!(events(&a, before).is_empty());
    assert_eq!(s.guest().post(rows, json!({"rowId": "ok", "data": {"n": 1}})).status, 201);
    let log = events(&a, before);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["seq"].as_u64().unwrap(), before + 1, "sequence numbers of failed writes are not used");
}

#[test]
fn legacy_database_events_have_no_tablesdb_prefix() {
    let s = Server::start();
    let a = s.admin();
    assert_eq!(a.post("/v1/databases", json!({"databaseId": "old", "name": "Old"})).status, 201);
    assert_eq!(
        a.post(
            "/v1/databases/old/collections",
            json!({"collectionId": "c", "name": "C", "permissions": ["read(\"any\")", "create(\"any\")"]})
        )
        .status,
        201
    );
    let before = a.get("/v1/health").body["seq"].as_u64().unwrap();
    assert_eq!(
        s.guest().post("/v1/databases/old/collections/c/documents", json!({"documentId": "d", "data": {}})).status,
        201
    );
    let log = events(&a, before);
    let n = names(&log[0]);
    assert_eq!(n.len(), 42);
    assert!(!n.iter().any(|x| x.starts_with("tablesdb.")), "{n:?}");
    assert_eq!(log[0]["roles"], json!(["any"]));
}
