//! The TablesDB REST surface: shapes, status codes and Appwrite's errors.

use serde_json::json;

use crate::util::{Server, setup_table};

fn games(s: &Server) {
    setup_table(
        &s.admin(),
        "games",
        &["read(\"any\")", "create(\"any\")", "update(\"any\")", "delete(\"any\")"],
        false,
        &[
            ("string", json!({"key": "winner", "size": 16, "required": true})),
            ("integer", json!({"key": "score", "required": false, "min": 0, "max": 1000, "default": 0})),
            ("enum", json!({"key": "mode", "required": false, "elements": ["solo", "duo"]})),
            ("datetime", json!({"key": "at", "required": false})),
        ],
    );
}

#[test]
fn row_lifecycle_has_appwrite_shapes() {
    let s = Server::start();
    games(&s);
    let c = s.guest();
    let r = c.post(
        "/v1/tablesdb/main/tables/games/rows",
        json!({"rowId": "g1", "data": {"winner": "ann", "at": "2026-01-02T03:04:05Z"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let row = &r.body;
    assert_eq!(row["$id"], "g1");
    assert!(row["$sequence"].is_string(), "$sequence is a string in 1.9: {row}");
    assert_eq!(row["$tableId"], "games");
    assert_eq!(row["$databaseId"], "main");
    assert_eq!(row["score"], 0, "default applied");
    assert_eq!(row["mode"], serde_json::Value::Null);
    assert_eq!(row["at"], "2026-01-02T03:04:05.000+00:00", "datetimes normalised");
    assert_eq!(row["$permissions"], json!([]), "guests get no default permissions");
    let created = row["$createdAt"].as_str().unwrap();
    assert!(created.ends_with("+00:00") && created.len() == 29, "{created}");

    let r = c.get("/v1/tablesdb/main/tables/games/rows/g1");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, *row);

    let r = c.patch("/v1/tablesdb/main/tables/games/rows/g1", json!({"data": {"score": 10}}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["score"], 10);
    assert_eq!(r.body["winner"], "ann", "update is partial");
    assert_eq!(r.body["$sequence"], row["$sequence"]);

    let r = c.put("/v1/tablesdb/main/tables/games/rows/g2", json!({"data": {"winner": "bob"}}));
    assert_eq!(r.status, 200, "upsert creates: {}", r.body);
    let r = c.put("/v1/tablesdb/main/tables/games/rows/g2", json!({"data": {"score": 3}}));
    assert_eq!((r.status, r.body["winner"].clone(), r.body["score"].clone()), (200, json!("bob"), json!(3)));

    let r = c.delete("/v1/tablesdb/main/tables/games/rows/g1");
    assert_eq!(r.status, 204);
    c.get("/v1/tablesdb/main/tables/games/rows/g1").assert_error(404, "row_not_found");
    c.delete("/v1/tablesdb/main/tables/games/rows/g1").assert_error(404, "row_not_found");

    let r = c.list("/v1/tablesdb/main/tables/games/rows", &[], &[]);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["rows"][0]["$id"], "g2");
}

#[test]
fn bad_input_gets_appwrite_errors() {
    let s = Server::start();
    games(&s);
    let c = s.guest();
    let rows = "/v1/tablesdb/main/tables/games/rows";
    c.post(rows, json!({"rowId": "x", "data": {"winner": "a", "nope": 1}})).assert_error(400, "row_invalid_structure");
    c.post(rows, json!({"rowId": "x", "data": {"score": 1}})).assert_error(400, "row_invalid_structure");
    c.post(rows, json!({"rowId": "x", "data": {"winner": "a", "score": "high"}}))
        .assert_error(400, "row_invalid_structure");
    c.post(rows, json!({"rowId": "x", "data": {"winner": "a", "score": 5000}}))
        .assert_error(400, "row_invalid_structure");
    c.post(rows, json!({"rowId": "x", "data": {"winner": "a", "mode": "trio"}}))
        .assert_error(400, "row_invalid_structure");
    c.post(rows, json!({"rowId": "x", "data": {"winner": "a-name-way-too-long"}}))
        .assert_error(400, "row_invalid_structure");
    c.post(rows, json!({"rowId": "_bad", "data": {"winner": "a"}})).assert_error(400, "general_argument_invalid");
    c.post(rows, json!({"rowId": "x".repeat(37), "data": {"winner": "a"}}))
        .assert_error(400, "general_argument_invalid");
    c.post(rows, json!({"data": {"winner": "a"}})).assert_error(400, "row_missing_data");
    assert_eq!(c.post(rows, json!({"rowId": "dup", "data": {"winner": "a"}})).status, 201);
    c.post(rows, json!({"rowId": "dup", "data": {"winner": "b"}})).assert_error(409, "row_already_exists");
    c.post_raw(rows, "application/json", b"{not json").assert_error(400, "general_argument_invalid");
    c.post_raw(rows, "application/json", b"[1,2]").assert_error(400, "general_argument_invalid");
    c.patch("/v1/tablesdb/main/tables/games/rows/dup", json!({})).assert_error(400, "row_missing_payload");
    c.get("/v1/tablesdb/main/tables/nope/rows").assert_error(404, "table_not_found");
    c.get("/v1/tablesdb/nodb/tables/games/rows").assert_error(404, "database_not_found");
    c.get("/v1/nothing/here").assert_error(404, "general_route_not_found");
    c.header("X-Appwrite-Project", "other")
        .get("/v1/tablesdb/main/tables/games/rows")
        .assert_error(404, "project_not_found");
    c.header("X-Appwrite-Key", "wrong")
        .get("/v1/tablesdb/main/tables/games/rows")
        .assert_error(401, "user_unauthorized");
    // Guests cannot change the schema.
    c.post("/v1/tablesdb", json!({"databaseId": "x", "name": "x"})).assert_error(401, "general_unauthorized_scope");
    // Bulk writes are for API keys.
    c.post(rows, json!({"rows": [{"winner": "a"}]})).assert_error(401, "general_unauthorized_scope");
    // Query errors.
    c.list(rows, &[json!({"method": "equal", "attribute": "ghost", "values": [1]})], &[])
        .assert_error(400, "general_query_invalid");
    c.list(rows, &[json!({"method": "search", "attribute": "winner", "values": ["x"]})], &[])
        .assert_error(400, "general_query_invalid");
    let too_many: Vec<_> = (0..101).map(|_| json!({"method": "limit", "values": [1]})).collect();
    c.list(rows, &too_many, &[]).assert_error(400, "general_argument_invalid");
    c.list(rows, &[json!({"method": "cursorAfter", "values": ["missing"]})], &[])
        .assert_error(400, "general_cursor_not_found");
    // Nothing above changed any data.
    let r = s.admin().list(rows, &[], &[]);
    assert_eq!(r.body["total"], 1, "{}", r.body);
}

#[test]
fn oversized_bodies_are_refused() {
    let s = Server::start_with(&["--max-body-bytes", "4096"]);
    games(&s);
    let big = "x".repeat(10_000);
    let r = s.guest().post("/v1/tablesdb/main/tables/games/rows", json!({"rowId": "big", "data": {"winner": big}}));
    r.assert_error(400, "general_argument_invalid");
    assert_eq!(s.guest().get("/v1/tablesdb/main/tables/games/rows/big").status, 404);
}

#[test]
fn increment_and_decrement_respect_limits() {
    let s = Server::start();
    games(&s);
    let c = s.guest();
    assert_eq!(
        c.post("/v1/tablesdb/main/tables/games/rows", json!({"rowId": "g", "data": {"winner": "a", "score": 5}}))
            .status,
        201
    );
    let inc = "/v1/tablesdb/main/tables/games/rows/g/score/increment";
    let r = c.patch(inc, json!({"value": 3, "max": 10}));
    assert_eq!((r.status, r.body["score"].clone()), (200, json!(8)), "{}", r.body);
    let r = c.patch(inc, json!({"value": 3, "max": 10}));
    r.assert_error(400, "column_limit_exceeded");
    assert_eq!(r.body["message"], "tablesDB \"score\" has reached the maximum value of 10");
    // The column's own max (1000) holds too.
    c.patch(inc, json!({"value": 5000})).assert_error(400, "column_limit_exceeded");
    let r = c.patch("/v1/tablesdb/main/tables/games/rows/g/score/decrement", json!({"value": 8, "min": 0}));
    assert_eq!(r.body["score"], 0, "{}", r.body);
    c.patch("/v1/tablesdb/main/tables/games/rows/g/score/decrement", json!({"value": 1, "min": 0}))
        .assert_error(400, "column_limit_exceeded");
    c.patch("/v1/tablesdb/main/tables/games/rows/g/winner/increment", json!({"value": 1}))
        .assert_error(400, "column_type_invalid");
    c.patch(inc, json!({"value": -1})).assert_error(400, "general_argument_invalid");
    assert_eq!(c.get("/v1/tablesdb/main/tables/games/rows/g").body["score"], 0);
}

#[test]
fn legacy_databases_api_reaches_the_same_data() {
    let s = Server::start();
    let a = s.admin();
    let r = a.post("/v1/databases", json!({"databaseId": "old", "name": "Old"}));
    assert_eq!((r.status, r.body["type"].clone()), (201, json!("legacy")), "{}", r.body);
    let r = a.post("/v1/databases/old/collections", json!({"collectionId": "c", "name": "C", "permissions": ["read(\"any\")", "create(\"any\")"], "documentSecurity": false}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("documentSecurity").is_some() && r.body.get("attributes").is_some(), "{}", r.body);
    let r = a.post(
        "/v1/databases/old/collections/c/attributes/string",
        json!({"key": "name", "size": 10, "required": true}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let r =
        s.guest().post("/v1/databases/old/collections/c/documents", json!({"documentId": "d1", "data": {"name": "n"}}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["$collectionId"], "c");
    // Same row through TablesDB.
    let r = s.guest().get("/v1/tablesdb/old/tables/c/rows/d1");
    assert_eq!((r.status, r.body["$tableId"].clone()), (200, json!("c")));
    s.guest().get("/v1/databases/old/collections/c/documents/nope").assert_error(404, "document_not_found");
    s.guest().get("/v1/databases/old/collections/zzz/documents").assert_error(404, "collection_not_found");
    let r = s.guest().list("/v1/databases/old/collections/c/documents", &[], &[]);
    assert_eq!(r.body["documents"][0]["$id"], "d1", "{}", r.body);
}

#[test]
fn schema_management() {
    let s = Server::start();
    games(&s);
    let a = s.admin();
    let r = a.get("/v1/tablesdb/main/tables/games");
    assert_eq!(r.body["columns"].as_array().map(Vec::len), Some(4));
    a.post("/v1/tablesdb/main/tables/games/columns/string", json!({"key": "winner", "size": 3, "required": false}))
        .assert_error(409, "column_already_exists");
    a.post(
        "/v1/tablesdb/main/tables/games/columns/string",
        json!({"key": "x", "size": 3, "required": true, "default": "a"}),
    )
    .assert_error(400, "column_default_unsupported");
    let r = a.post(
        "/v1/tablesdb/main/tables/games/indexes",
        json!({"key": "by_winner", "type": "unique", "columns": ["winner"]}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    a.delete("/v1/tablesdb/main/tables/games/columns/winner").assert_error(409, "column_index_dependency");
    assert_eq!(
        s.guest().post("/v1/tablesdb/main/tables/games/rows", json!({"rowId": "a", "data": {"winner": "same"}})).status,
        201
    );
    s.guest()
        .post("/v1/tablesdb/main/tables/games/rows", json!({"rowId": "b", "data": {"winner": "same"}}))
        .assert_error(409, "row_unique_constraint_violation");
    assert_eq!(a.delete("/v1/tablesdb/main/tables/games/indexes/by_winner").status, 204);
    assert_eq!(
        s.guest().post("/v1/tablesdb/main/tables/games/rows", json!({"rowId": "b", "data": {"winner": "same"}})).status,
        201
    );
    // A unique index over duplicates is refused and leaves no index behind.
    a.post("/v1/tablesdb/main/tables/games/indexes", json!({"key": "u", "type": "unique", "columns": ["winner"]}))
        .assert_error(400, "column_index_invalid");
    assert_eq!(a.get("/v1/tablesdb/main/tables/games/indexes").body["total"], 0);
    let r = a.patch(
        "/v1/tablesdb/main/tables/games/columns/integer/score",
        json!({"required": false, "default": 7, "min": 0, "max": 10}),
    );
    assert_eq!((r.status, r.body["default"].clone()), (200, json!(7)), "{}", r.body);
    assert_eq!(a.delete("/v1/tablesdb/main/tables/games").status, 204);
    s.guest().get("/v1/tablesdb/main/tables/games/rows/a").assert_error(404, "table_not_found");
    // A table created again under the same id starts empty.
    setup_table(&a, "games", &["read(\"any\")"], false, &[]);
    assert_eq!(a.list("/v1/tablesdb/main/tables/games/rows", &[], &[]).body["total"], 0);
}

#[test]
fn bulk_operations_are_atomic() {
    let s = Server::start();
    games(&s);
    let a = s.admin();
    let rows = "/v1/tablesdb/main/tables/games/rows";
    let r = a.post(rows, json!({"rows": [{"$id": "b1", "winner": "x"}, {"$id": "b2", "winner": "y", "score": 2}]}));
    assert_eq!((r.status, r.body["total"].clone()), (201, json!(2)), "{}", r.body);
    // One bad row: nothing is written.
    a.post(rows, json!({"rows": [{"$id": "b3", "winner": "z"}, {"$id": "b4", "winner": 7}]}))
        .assert_error(400, "row_invalid_structure");
    assert_eq!(a.get(&format!("{rows}/b3")).status, 404);
    let r = a.patch(rows, json!({"data": {"score": 9}, "queries": [json!({"method": "equal", "attribute": "winner", "values": ["x"]}).to_string()]}));
    assert_eq!((r.status, r.body["total"].clone()), (200, json!(1)), "{}", r.body);
    assert_eq!(a.get(&format!("{rows}/b1")).body["score"], 9);
    let r = a.put(rows, json!({"rows": [{"$id": "b1", "winner": "x2"}, {"$id": "b5", "winner": "new"}]}));
    assert_eq!((r.status, r.body["total"].clone()), (200, json!(2)), "{}", r.body);
    let r = a.delete_with(
        rows,
        json!({"queries": [json!({"method": "greaterThan", "attribute": "score", "values": [1]}).to_string()]}),
    );
    assert_eq!((r.status, r.body["total"].clone()), (200, json!(2)), "{}", r.body);
    let left = a.list(rows, &[], &[]);
    assert_eq!(left.body["total"], 1, "{}", left.body);
    assert_eq!(left.body["rows"][0]["$id"], "b5");
}

#[test]
fn create_table_with_inline_columns_and_indexes() {
    let s = Server::start();
    let a = s.admin();
    assert_eq!(a.post("/v1/tablesdb", json!({"databaseId": "main", "name": "Main"})).status, 201);
    let r = a.post(
        "/v1/tablesdb/main/tables",
        json!({
            "tableId": "players", "name": "Players", "permissions": ["read(\"any\")", "create(\"any\")"],
            "columns": [
                {"key": "name", "type": "varchar", "size": 20, "required": true},
                {"key": "bio", "type": "text"},
                {"key": "level", "type": "integer", "required": false, "min": 1, "default": 1},
                {"key": "ratio", "type": "double", "required": false}
            ],
            "indexes": [{"key": "by_level", "type": "key", "columns": ["level"]}]
        }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["columns"].as_array().map(Vec::len), Some(4));
    assert_eq!(r.body["indexes"][0]["key"], "by_level");
    let r = s
        .guest()
        .post("/v1/tablesdb/main/tables/players/rows", json!({"rowId": "p", "data": {"name": "zed", "ratio": 0.5}}));
    assert_eq!((r.status, r.body["level"].clone()), (201, json!(1)), "{}", r.body);
    let r = s.guest().list(
        "/v1/tablesdb/main/tables/players/rows",
        &[json!({"method": "equal", "attribute": "level", "values": [1]})],
        &[],
    );
    assert_eq!(r.body["total"], 1);
    a.post(
        "/v1/tablesdb/main/tables",
        json!({"tableId": "bad", "name": "Bad", "columns": [{"key": "x", "type": "point"}]}),
    )
    .assert_error(400, "column_type_invalid");
    assert_eq!(a.get("/v1/tablesdb/main/tables/bad").status, 404, "a refused table is not half-created");
}

/// A POST whose body arrives after its headers, to an endpoint that reads no
/// body (as `createAnonymousSession` sends it), must leave the keep-alive
/// connection usable: pooled clients send their next request on it.
#[test]
fn a_body_the_handler_ignores_does_not_close_the_connection() {
    use std::io::{Read, Write};
    let s = Server::start();
    let addr = s.url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let read_response = |tcp: &mut std::net::TcpStream| -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Enough for the status line and headers of either answer.
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).unwrap();
            assert!(n > 0, "the server closed the connection: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    };
    tcp.write_all(
        b"POST /v1/account/sessions/anonymous HTTP/1.1\r\nHost: arcade\r\nContent-Type: application/json\r\n\
          X-Appwrite-Project: local\r\nContent-Length: 2\r\n\r\n",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    tcp.write_all(b"{}").unwrap();
    let first = read_response(&mut tcp);
    assert!(first.starts_with("HTTP/1.1 201"), "{first}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    // The same connection still answers.
    tcp.write_all(b"GET /v1/ping HTTP/1.1\r\nHost: arcade\r\nX-Appwrite-Project: local\r\n\r\n").unwrap();
    let second = read_response(&mut tcp);
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
}
