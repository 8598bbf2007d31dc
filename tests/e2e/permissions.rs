//! Sessions, roles and permissions, as Appwrite enforces them.

use serde_json::json;

use crate::util::{Server, setup_table};

#[test]
fn row_security_separates_users() {
    let s = Server::start();
    setup_table(
        &s.admin(),
        "notes",
        &["create(\"users\")"],
        true,
        &[("string", json!({"key": "text", "size": 100, "required": true}))],
    );
    let alice = s.user("alice");
    let bob = s.user("bob");
    let rows = "/v1/tablesdb/main/tables/notes/rows";
    let r = alice.post(rows, json!({"rowId": "n1", "data": {"text": "secret"}}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["$permissions"],
        json!(["read(\"user:alice\")", "update(\"user:alice\")", "delete(\"user:alice\")"]),
        "session users get default permissions"
    );
    assert_eq!(alice.get(&format!("{rows}/n1")).status, 200);
    bob.get(&format!("{rows}/n1")).assert_error(404, "row_not_found");
    assert_eq!(bob.list(rows, &[], &[]).body["total"], 0);
    assert_eq!(alice.list(rows, &[], &[]).body["total"], 1);
    bob.patch(&format!("{rows}/n1"), json!({"data": {"text": "mine now"}})).assert_error(401, "user_unauthorized");
    bob.delete(&format!("{rows}/n1")).assert_error(401, "user_unauthorized");
    bob.patch(&format!("{rows}/n1/text/increment"), json!({})).assert_error(400, "column_type_invalid");
    // Guests may not create here (table grants create to users only).
    s.guest().post(rows, json!({"rowId": "g", "data": {"text": "x"}})).assert_error(401, "user_unauthorized");
    // A user cannot grant roles it does not hold.
    alice
        .post(rows, json!({"rowId": "n2", "data": {"text": "x"}, "permissions": ["read(\"user:bob\")"]}))
        .assert_error(401, "user_unauthorized");
    // Sharing through row permissions: alice grants read to any.
    let r = alice.patch(&format!("{rows}/n1"), json!({"permissions": ["read(\"any\")", "update(\"user:alice\")"]}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(bob.get(&format!("{rows}/n1")).body["text"], "secret");
    assert_eq!(s.guest().get(&format!("{rows}/n1")).status, 200);
    bob.patch(&format!("{rows}/n1"), json!({"data": {"text": "x"}})).assert_error(401, "user_unauthorized");
    // The key sees and does everything.
    assert_eq!(s.admin().list(rows, &[], &[]).body["total"], 1);
}

#[test]
fn table_permissions_without_row_security() {
    let s = Server::start();
    setup_table(
        &s.admin(),
        "board",
        &["read(\"users\")", "create(\"users\")"],
        false,
        &[("integer", json!({"key": "n", "required": false}))],
    );
    let u = s.user("u1");
    let rows = "/v1/tablesdb/main/tables/board/rows";
    assert_eq!(u.post(rows, json!({"rowId": "r", "data": {"n": 1}})).status, 201);
    // Row permissions are ignored without row security: no update on the table, so no update.
    u.patch(&format!("{rows}/r"), json!({"data": {"n": 2}})).assert_error(401, "user_unauthorized");
    s.guest().list(rows, &[], &[]).assert_error(401, "user_unauthorized");
    assert_eq!(s.user("u2").list(rows, &[], &[]).body["total"], 1);
}

#[test]
fn account_sessions_and_jwt() {
    let s = Server::start();
    let g = s.guest();
    g.get("/v1/account").assert_error(401, "general_unauthorized_scope");
    let r =
        g.post("/v1/account", json!({"userId": "u", "email": "U@Example.com", "password": "password123", "name": "U"}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["email"], "u@example.com");
    assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none(), "no secrets: {}", r.body);
    g.post("/v1/account", json!({"userId": "u2", "email": "u@example.com", "password": "password123"}))
        .assert_error(409, "user_already_exists");
    g.post("/v1/account", json!({"userId": "u3", "email": "x@example.com", "password": "short"}))
        .assert_error(400, "general_argument_invalid");
    g.post("/v1/account/sessions/email", json!({"email": "u@example.com", "password": "wrong-password"}))
        .assert_error(401, "user_invalid_credentials");

    let r = g.post("/v1/account/sessions/email", json!({"email": "u@example.com", "password": "password123"}));
    assert_eq!(r.status, 201);
    let cookies = r.headers_named("set-cookie");
    assert!(cookies.iter().any(|c| c.starts_with("a_session_local=")), "{cookies:?}");
    assert!(cookies.iter().any(|c| c.starts_with("a_session_local_legacy=")), "{cookies:?}");
    let session_id = r.body["$id"].as_str().unwrap().to_owned();
    let cookie =
        cookies.iter().find(|c| c.starts_with("a_session_local=")).unwrap().split(';').next().unwrap().to_owned();
    let by_cookie = g.header("Cookie", &cookie);
    let me = by_cookie.get("/v1/account");
    assert_eq!((me.status, me.body["$id"].clone()), (200, json!("u")));
    let fallback = r.header("x-fallback-cookies").unwrap();
    let by_fallback = g.header("X-Fallback-Cookies", &fallback);
    assert_eq!(by_fallback.get("/v1/account").body["$id"], "u");
    by_fallback.post("/v1/account/sessions/anonymous", json!({})).assert_error(401, "user_session_already_exists");

    let r = by_cookie.post("/v1/account/jwts", json!({}));
    assert_eq!(r.status, 201);
    let jwt = r.body["jwt"].as_str().unwrap().to_owned();
    let by_jwt = s.guest().header("X-Appwrite-JWT", &jwt);
    assert_eq!(by_jwt.get("/v1/account").body["$id"], "u");
    by_jwt.post("/v1/account/jwts", json!({})).assert_error(403, "user_jwt_creation_denied");
    s.guest().header("X-Appwrite-JWT", "nonsense").get("/v1/account").assert_error(401, "user_jwt_invalid");

    let r = by_cookie.patch("/v1/account/prefs", json!({"prefs": {"theme": "dark"}}));
    assert_eq!(r.body["prefs"]["theme"], "dark");
    assert_eq!(by_cookie.get("/v1/account/sessions").body["total"], 1);
    assert_eq!(by_cookie.get("/v1/account/sessions/current").body["$id"], session_id);
    assert_eq!(by_cookie.delete("/v1/account/sessions/current").status, 204);
    // The session is gone: the cookie is a guest now, and the JWT died with it.
    by_cookie.get("/v1/account").assert_error(401, "general_unauthorized_scope");
    by_jwt.get("/v1/account").assert_error(401, "user_jwt_invalid");

    let r = s.guest().post("/v1/account/sessions/anonymous", json!({}));
    assert_eq!((r.status, r.body["provider"].clone()), (201, json!("anonymous")), "{}", r.body);
}

#[test]
fn team_roles_are_real() {
    let s = Server::start();
    setup_table(&s.admin(), "plans", &[], true, &[("string", json!({"key": "p", "size": 10, "required": false}))]);
    let owner = s.user("owner");
    let member = s.user("member");
    let outsider = s.user("outsider");
    let r = owner.post("/v1/teams", json!({"teamId": "red", "name": "Red"}));
    assert_eq!((r.status, r.body["total"].clone()), (201, json!(1)), "{}", r.body);
    let r = owner.post("/v1/teams/red/memberships", json!({"userId": "member", "roles": ["player"]}));
    assert_eq!((r.status, r.body["confirm"].clone()), (201, json!(true)), "{}", r.body);
    outsider
        .post("/v1/teams/red/memberships", json!({"userId": "outsider", "roles": []}))
        .assert_error(404, "team_not_found");
    let rows = "/v1/tablesdb/main/tables/plans/rows";
    let r = s.admin().post(rows, json!({"rowId": "plan", "data": {"p": "x"}, "permissions": ["read(\"team:red\")", "update(\"team:red/owner\")"]}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(member.get(&format!("{rows}/plan")).status, 200);
    assert_eq!(owner.get(&format!("{rows}/plan")).status, 200);
    outsider.get(&format!("{rows}/plan")).assert_error(404, "row_not_found");
    member.patch(&format!("{rows}/plan"), json!({"data": {"p": "y"}})).assert_error(401, "user_unauthorized");
    assert_eq!(owner.patch(&format!("{rows}/plan"), json!({"data": {"p": "y"}})).status, 200);
    // Leaving the team takes the role away at once.
    let ms = owner.get("/v1/teams/red/memberships");
    let mid = ms.body["memberships"].as_array().unwrap().iter().find(|m| m["userId"] == "member").unwrap()["$id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(owner.delete(&format!("/v1/teams/red/memberships/{mid}")).status, 204);
    member.get(&format!("{rows}/plan")).assert_error(404, "row_not_found");
}

#[test]
fn labels_from_the_users_api_grant_roles() {
    let s = Server::start();
    let a = s.admin();
    setup_table(&a, "vault", &[], true, &[("string", json!({"key": "loot", "size": 10, "required": false}))]);
    let r = a.post(
        "/v1/users",
        json!({"userId": "vip1", "email": "vip1@example.com", "password": "password123", "name": "V"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = a.post("/v1/users/vip1/sessions", json!({}));
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["secret"].as_str().unwrap().to_owned();
    assert!(!token.is_empty(), "sessions made with a key return their secret");
    let vip = s.guest().header("X-Appwrite-Session", &token);
    let rows = "/v1/tablesdb/main/tables/vault/rows";
    assert_eq!(
        a.post(rows, json!({"rowId": "gold", "data": {"loot": "gold"}, "permissions": ["read(\"label:vip\")"]})).status,
        201
    );
    vip.get(&format!("{rows}/gold")).assert_error(404, "row_not_found");
    let r = a.put("/v1/users/vip1/labels", json!({"labels": ["vip"]}));
    assert_eq!(r.body["labels"], json!(["vip"]), "{}", r.body);
    assert_eq!(vip.get(&format!("{rows}/gold")).status, 200, "the label's role applies at once");
    // Blocking the user ends its access.
    assert_eq!(a.patch("/v1/users/vip1/status", json!({"status": false})).status, 200);
    vip.get(&format!("{rows}/gold")).assert_error(403, "user_blocked");
    assert_eq!(a.get("/v1/users").body["total"], 1);
    assert_eq!(a.delete("/v1/users/vip1").status, 204);
    a.get("/v1/users/vip1").assert_error(404, "user_not_found");
    s.guest().get("/v1/users").assert_error(401, "general_unauthorized_scope");
}
