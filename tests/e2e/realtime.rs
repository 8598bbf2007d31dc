//! Realtime over a real WebSocket: authentication paths, downgrade on
//! logout, replay and retention, slow consumers, origin and rate limits.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::util::{Client, Server, setup_table};

pub(crate) type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

pub(crate) fn open(s: &Server, query: &str, headers: &[(&str, &str)]) -> Ws {
    let url = format!("{}/v1/realtime?project=local{query}", s.url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        req.headers_mut().insert(name, v.parse().unwrap());
    }
    let (ws, _) = tungstenite::connect(req).expect("connect");
    if let MaybeTlsStream::Plain(t) = ws.get_ref() {
        t.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    }
    ws
}

/// Next text frame within `ms`, or None.
fn next(ws: &mut Ws, ms: u64) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
            Ok(Message::Close(f)) => return Some(json!({"type": "close", "code": f.map(|f| u16::from(f.code))})),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Some(json!({"type": "closed"})),
        }
    }
    None
}

pub(crate) fn next_event(ws: &mut Ws, ms: u64) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < deadline {
        match next(ws, 100) {
            Some(f) if f["type"] == "event" => return Some(f),
            Some(f) if f["type"] == "close" || f["type"] == "closed" => return None,
            _ => {}
        }
    }
    None
}

fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).unwrap();
}

const ROWS: &str = "/v1/tablesdb/main/tables/feed/rows";
const CHANNEL: &str = "databases.main.tables.feed.rows";

fn feed(s: &Server) {
    setup_table(
        &s.admin(),
        "feed",
        &["create(\"users\")", "create(\"any\")"],
        true,
        &[("integer", json!({"key": "n", "required": false}))],
    );
}

fn token_of(c: &Client) -> String {
    c.get("/v1/account/sessions/current").body["$id"].as_str().unwrap().to_owned()
}

#[test]
fn session_headers_jwt_and_logout_downgrade() {
    let s = Server::start();
    feed(&s);
    let u = s.user("ann");
    let token = s
        .guest()
        .post("/v1/account/sessions/email", json!({"email": "ann@example.com", "password": "password123"}))
        .header("x-fallback-cookies")
        .unwrap();
    let token = serde_json::from_str::<Value>(&token).unwrap()["a_session_local"].as_str().unwrap().to_owned();
    let mut ws = open(&s, &format!("&channels[]={CHANNEL}"), &[("x-appwrite-session", &token)]);
    let hello = next(&mut ws, 2000).unwrap();
    assert_eq!(hello["data"]["user"]["$id"], "ann", "{hello}");
    let jwt = u.post("/v1/account/jwts", json!({})).body["jwt"].as_str().unwrap().to_owned();
    let mut by_jwt = open(&s, &format!("&channels[]={CHANNEL}&jwt={jwt}"), &[]);
    assert_eq!(next(&mut by_jwt, 2000).unwrap()["data"]["user"]["$id"], "ann");
    let mut bad_jwt = open(&s, "&channels[]=rows&jwt=nonsense", &[]);
    let err = next(&mut bad_jwt, 2000).unwrap();
    assert_eq!(err["data"]["code"], 401, "{err}");

    let ann = s.guest().header("X-Appwrite-Session", &token);
    assert_eq!(ann.post(ROWS, json!({"rowId": "p1", "data": {"n": 1}})).status, 201);
    assert_eq!(next_event(&mut ws, 3000).unwrap()["data"]["payload"]["$id"], "p1");
    assert_eq!(next_event(&mut by_jwt, 3000).unwrap()["data"]["payload"]["$id"], "p1");
    // Logging out downgrades the connection that used the session.
    let sid = token_of(&ann);
    assert_eq!(ann.delete(&format!("/v1/account/sessions/{sid}")).status, 204);
    let notice = next(&mut ws, 2000).unwrap();
    assert_eq!((notice["type"].clone(), notice["data"]["code"].clone()), (json!("error"), json!(401)), "{notice}");
    assert_eq!(u.post(ROWS, json!({"rowId": "p2", "data": {"n": 2}})).status, 201);
    assert!(next_event(&mut ws, 800).is_none(), "a logged-out connection no longer sees private rows");
    assert_eq!(u.post(ROWS, json!({"rowId": "pub", "data": {"n": 3}, "permissions": ["read(\"any\")"]})).status, 201);
    assert_eq!(next_event(&mut ws, 3000).unwrap()["data"]["payload"]["$id"], "pub", "public rows still arrive");
}

#[test]
fn authentication_message_rebinds_account() {
    let s = Server::start();
    let u = s.user("bob");
    let token = s
        .guest()
        .post("/v1/account/sessions/email", json!({"email": "bob@example.com", "password": "password123"}))
        .header("x-fallback-cookies")
        .unwrap();
    let token = serde_json::from_str::<Value>(&token).unwrap()["a_session_local"].as_str().unwrap().to_owned();
    let mut ws = open(&s, "", &[]);
    assert_eq!(next(&mut ws, 2000).unwrap()["data"]["user"], Value::Null);
    send(
        &mut ws,
        json!({"type": "subscribe", "data": [{"subscriptionId": "acc", "channels": ["account"], "queries": []}]}),
    );
    assert_eq!(next(&mut ws, 2000).unwrap()["data"]["to"], "subscribe");
    send(&mut ws, json!({"type": "authentication", "data": {"session": "bogus"}}));
    assert_eq!(next(&mut ws, 2000).unwrap()["data"]["code"], 1003);
    send(&mut ws, json!({"type": "authentication", "data": {"session": token}}));
    let r = next(&mut ws, 2000).unwrap();
    assert_eq!(
        (r["data"]["to"].clone(), r["data"]["user"]["$id"].clone()),
        (json!("authentication"), json!("bob")),
        "{r}"
    );
    assert_eq!(u.patch("/v1/account/prefs", json!({"prefs": {"skin": "gold"}})).status, 200);
    let ev = next_event(&mut ws, 3000).unwrap();
    assert!(ev["data"]["events"].as_array().unwrap().contains(&json!("users.bob.update.prefs")), "{ev}");
    assert_eq!(ev["data"]["subscriptions"], json!(["acc"]));
    assert!(ev["data"]["channels"].as_array().unwrap().contains(&json!("account.bob")));
}

#[test]
fn url_query_slots_and_unsubscribe() {
    let s = Server::start();
    feed(&s);
    let a = s.admin();
    let q = json!({"method": "greaterThan", "attribute": "n", "values": [10]}).to_string();
    let q = form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>();
    let mut ws = open(&s, &format!("&channels[]=rows&rows[0][]={q}"), &[]);
    let hello = next(&mut ws, 2000).unwrap();
    let sub = hello["data"]["subscriptions"][0].as_str().unwrap().to_owned();
    for (id, n) in [("low", 1), ("high", 50)] {
        assert_eq!(a.post(ROWS, json!({"rowId": id, "data": {"n": n}, "permissions": ["read(\"any\")"]})).status, 201);
    }
    let ev = next_event(&mut ws, 3000).unwrap();
    assert_eq!(ev["data"]["payload"]["$id"], "high");
    assert_eq!(ev["data"]["subscriptions"], json!([sub]));
    send(&mut ws, json!({"type": "unsubscribe", "data": [{"subscriptionId": sub}]}));
    let r = next(&mut ws, 2000).unwrap();
    assert_eq!(r["data"]["subscriptions"][0]["removed"], true, "{r}");
    assert_eq!(
        a.post(ROWS, json!({"rowId": "later", "data": {"n": 99}, "permissions": ["read(\"any\")"]})).status,
        201
    );
    assert!(next_event(&mut ws, 800).is_none());
    let mut bad = open(
        &s,
        &format!(
            "&channels[]=rows&rows[0][]={}",
            form_urlencoded::byte_serialize(b"{\"method\":\"search\"}").collect::<String>()
        ),
        &[],
    );
    assert_eq!(next(&mut bad, 2000).unwrap()["data"]["code"], 1008, "a bad URL query is a policy violation");
}

#[test]
fn resume_message_and_retention() {
    let s = Server::start_with(&["--retention-events", "5"]);
    feed(&s);
    let a = s.admin();
    let mut ws = open(&s, "", &[]);
    let start = next(&mut ws, 2000).unwrap()["data"]["seq"].as_u64().unwrap();
    for i in 0..3 {
        assert_eq!(
            a.post(ROWS, json!({"rowId": format!("m{i}"), "data": {"n": i}, "permissions": ["read(\"any\")"]})).status,
            201
        );
    }
    send(&mut ws, json!({"type": "subscribe", "data": [{"subscriptionId": "s", "channels": ["rows"]}]}));
    next(&mut ws, 2000);
    send(&mut ws, json!({"type": "resume", "data": {"since": start}}));
    let mut ids = Vec::new();
    while let Some(ev) = next_event(&mut ws, 1500) {
        ids.push(ev["data"]["payload"]["$id"].as_str().unwrap().to_owned());
        if ids.len() == 3 {
            break;
        }
    }
    assert_eq!(ids, ["m0", "m1", "m2"], "missed events replayed in order");
    // Push the log past its retention, then ask for something too old.
    for i in 0..12 {
        assert_eq!(a.post(ROWS, json!({"rowId": format!("x{i}"), "data": {"n": i}})).status, 201);
    }
    std::thread::sleep(Duration::from_millis(1500)); // let retention run
    let mut late = open(&s, &format!("&channels[]=rows&since={start}"), &[]);
    let mut saw_410 = false;
    for _ in 0..5 {
        if let Some(f) = next(&mut late, 1000)
            && f["type"] == "error"
            && f["data"]["code"] == 410
        {
            saw_410 = true;
            assert!(f["data"]["message"].as_str().unwrap().contains("Refetch"), "{f}");
            break;
        }
    }
    assert!(saw_410, "a replay from before the retention window says so");
    assert_eq!(a.post(ROWS, json!({"rowId": "live", "data": {"n": 1}, "permissions": ["read(\"any\")"]})).status, 201);
    assert_eq!(next_event(&mut late, 3000).unwrap()["data"]["payload"]["$id"], "live", "live events continue");
}

#[test]
fn origin_and_rate_limits() {
    let s = Server::start_with(&["--realtime-connects-per-minute", "4", "--realtime-messages-per-minute", "3"]);
    let mut evil = open(&s, "&channels[]=rows", &[("origin", "https://evil.example")]);
    let e = next(&mut evil, 2000).unwrap();
    assert_eq!(e["data"]["code"], 1008, "{e}");
    assert!(e["data"]["message"].as_str().unwrap().starts_with("Invalid Origin"));
    assert_eq!(next(&mut evil, 2000).unwrap()["code"], 1008, "closed with 1008");
    let mut local = open(&s, "&channels[]=rows", &[("origin", "http://localhost:5173")]);
    assert_eq!(next(&mut local, 2000).unwrap()["type"], "connected");
    for _ in 0..3 {
        send(&mut local, json!({"type": "ping"}));
        assert_eq!(next(&mut local, 2000).unwrap()["type"], "pong");
    }
    send(&mut local, json!({"type": "ping"}));
    assert_eq!(next(&mut local, 2000).unwrap()["data"]["code"], 1013, "too many messages");
    let mut third = open(&s, "", &[]);
    assert_eq!(next(&mut third, 2000).unwrap()["type"], "connected");
    let mut fourth = open(&s, "", &[]);
    assert_eq!(next(&mut fourth, 2000).unwrap()["type"], "connected");
    let mut fifth = open(&s, "", &[]);
    let e = next(&mut fifth, 2000).unwrap();
    assert_eq!(e["data"]["code"], 1013, "too many connections from one IP: {e}");
}

#[test]
fn slow_consumer_is_cut_off_and_can_resume() {
    let s = Server::start();
    feed(&s);
    let a = s.admin();
    let mut ws = open(&s, "&channels[]=rows", &[("x-appwrite-key", crate::util::KEY)]);
    let start = next(&mut ws, 2000).unwrap()["data"]["seq"].as_u64().unwrap();
    assert_eq!(a.post(ROWS, json!({"rowId": "probe", "data": {"n": 0}})).status, 201);
    assert_eq!(
        next_event(&mut ws, 3000).expect("an admin connection sees key writes")["data"]["payload"]["$id"],
        "probe"
    );
    let start = start + 1;
    // Never read while ~9,000 large events are written: the socket buffers fill, then the outbox.
    for batch in 0..90 {
        let rows: Vec<Value> = (0..100).map(|i| json!({"$id": format!("b{batch}-{i}"), "n": i})).collect();
        assert_eq!(a.post(ROWS, json!({"rows": rows})).status, 201);
    }
    let mut seen = 0u64;
    let mut closed_1013 = false;
    let mut last_seq = start;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match next(&mut ws, 500) {
            Some(f) if f["type"] == "event" => {
                seen += 1;
                last_seq = f["data"]["seq"].as_u64().unwrap();
            }
            Some(f) if f["type"] == "close" => {
                closed_1013 = f["code"] == 1013;
                break;
            }
            Some(f) if f["type"] == "closed" => {
                eprintln!("connection dropped after {seen} events");
                break;
            }
            Some(f) => eprintln!("frame: {f}"),
            None => {
                eprintln!("silence after {seen} events");
                break;
            }
        }
    }
    assert!(closed_1013, "the slow consumer was closed with 1013 after {seen} events");
    assert!(seen < 9000);
    // It resumes from the last event it got and receives exactly the rest.
    let mut again = open(&s, &format!("&channels[]=rows&since={last_seq}"), &[("x-appwrite-key", crate::util::KEY)]);
    let mut rest = 0u64;
    let mut prev = last_seq;
    while let Some(ev) = next_event(&mut again, 2000) {
        let seq = ev["data"]["seq"].as_u64().unwrap();
        assert_eq!(seq, prev + 1, "no gap, no duplicate");
        prev = seq;
        rest += 1;
        if seen + rest == 9000 {
            break;
        }
    }
    assert_eq!(seen + rest, 9000);
}

#[test]
fn the_websocket_itself_pings_closes_and_frames_large_events() {
    let s = Server::start();
    let a = s.admin();

    // A request that is not a WebSocket upgrade gets Appwrite's error shape.
    let plain = s.guest().get("/v1/realtime?project=local&channels[]=rows");
    assert_eq!(plain.status, 400, "{}", plain.body);
    assert_eq!(plain.body["type"], "general_argument_invalid", "{}", plain.body);
    assert!(plain.body["message"].as_str().unwrap().contains("WebSocket"), "{}", plain.body);

    let mut ws = open(&s, "&channels[]=rows", &[("x-appwrite-key", crate::util::KEY)]);
    assert_eq!(next(&mut ws, 2000).unwrap()["type"], "connected");
    // A protocol-level ping is answered with a pong carrying the same bytes.
    ws.send(Message::Ping(b"are you there".to_vec().into())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let pong = loop {
        assert!(Instant::now() < deadline, "no pong");
        match ws.read() {
            Ok(Message::Pong(p)) => break p,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(&pong[..], b"are you there");

    // Event frames arrive whole whatever their length header (16-bit, 64-bit).
    setup_table(
        &a,
        "blobs",
        &["create(\"any\")"],
        false,
        &[("string", json!({"key": "s", "size": 100000, "required": false}))],
    );
    let mut blobs = open(&s, "&channels[]=databases.main.tables.blobs.rows", &[("x-appwrite-key", crate::util::KEY)]);
    assert_eq!(next(&mut blobs, 2000).unwrap()["type"], "connected");
    for text in ["x".to_owned(), "m".repeat(2_000), "b".repeat(70_000)] {
        let r = a.post("/v1/tablesdb/main/tables/blobs/rows", json!({"rowId": "unique()", "data": {"s": text}}));
        assert_eq!(r.status, 201, "{}", r.body);
        let ev = next_event(&mut blobs, 3000).expect("event");
        assert_eq!(ev["data"]["payload"]["s"].as_str().unwrap().len(), text.len());
    }

    // A close from the client is answered with a close, then the socket ends.
    blobs.close(None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        assert!(Instant::now() < deadline, "no close reply");
        match blobs.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("the close handshake did not complete cleanly: {e}"),
        }
    }
}
