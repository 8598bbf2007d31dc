//! Randomized check of realtime delivery against an independent model of
//! Appwrite's rules: over random roles, table and row permissions, channels
//! and actions (creates, updates that change permissions, increments,
//! deletes), no connection ever receives an event it may not read, and every
//! event it may read on a channel it subscribed to reaches it exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::hub::{Conn, ConnId, Hub};
use super::outbox::Outbox;
use super::protocol::{self, Subscription};
use super::{Metrics, Shared, dispatch};
use crate::auth::{Authenticator, Identity, KeyScopes};
use crate::config::Config;
use crate::db::Db;
use crate::db::ops::{rows, schema};
use crate::db::writer::Durability;
use crate::model::catalog::DbKind;
use crate::model::column::ColumnType;
use crate::store::{Store, StoreOptions};

const ROLES: [&str; 6] = ["any", "guests", "users", "user:u1", "user:u2", "team:red"];
const CHANNELS: [&str; 9] = [
    "rows",
    "documents",
    "databases.d.tables.t0.rows",
    "databases.d.tables.t1.rows",
    "tablesdb.d.tables.t0.rows.r1",
    "databases.d.collections.t1.documents.r2",
    "rows.delete",
    "databases.d.tables.t0.rows.update",
    "account",
];

#[derive(Debug, Clone)]
enum Op {
    Create { table: usize, row: usize, readers: Vec<usize> },
    SetReaders { table: usize, row: usize, readers: Vec<usize> },
    Bump { table: usize, row: usize },
    Delete { table: usize, row: usize },
}

#[derive(Debug, Clone)]
struct Who {
    /// Indexes into ROLES of the roles this connection holds (besides `any`).
    roles: Vec<usize>,
    /// Subscriptions `s0`, `s1`, …: indexes into CHANNELS each.
    subs: Vec<Vec<usize>>,
    /// Remove the first subscription after registering and add it again (it
    /// moves to the end): exercises the index through subscription changes.
    churn: bool,
}

fn who() -> impl Strategy<Value = Who> {
    let identity = prop_oneof![
        Just(vec![1]),       // guest
        Just(vec![2, 3]),    // user u1
        Just(vec![2, 4]),    // user u2
        Just(vec![2, 3, 5]), // user u1 in team red
    ];
    let subs = prop::collection::vec(prop::collection::vec(0..CHANNELS.len(), 1..4), 1..4);
    (identity, subs, any::<bool>()).prop_map(|(roles, subs, churn)| Who { roles, subs, churn })
}

fn op() -> impl Strategy<Value = Op> {
    let readers = prop::collection::vec(0..ROLES.len(), 0..3);
    prop_oneof![
        (0..2usize, 0..4usize, readers.clone()).prop_map(|(table, row, readers)| Op::Create { table, row, readers }),
        (0..2usize, 0..4usize, readers).prop_map(|(table, row, readers)| Op::SetReaders { table, row, readers }),
        (0..2usize, 0..4usize).prop_map(|(table, row)| Op::Bump { table, row }),
        (0..2usize, 0..4usize).prop_map(|(table, row)| Op::Delete { table, row }),
    ]
}

fn key() -> Identity {
    Identity::Key { id: "t".into(), scopes: KeyScopes::All, actor: None }
}

/// Table t0: row security, table read for team:red. Table t1: no row security, table read for users.
fn table_readers(table: usize) -> (&'static [&'static str], bool) {
    if table == 0 { (&["team:red"], true) } else { (&["users"], false) }
}

async fn setup(dir: &std::path::Path) -> Db {
    let store = Arc::new(Store::open(dir, &StoreOptions::default()).unwrap());
    let db = Db::start(store, Durability::Relaxed).unwrap();
    let w = key();
    db.write_exclusive(
        |_, _| Ok(()),
        move |tx, _, _| schema::create_database(tx, &w, "d", "D", true, DbKind::TablesDb),
    )
    .await
    .unwrap();
    for t in 0..2 {
        let (readers, row_security) = table_readers(t);
        let perms: Vec<String> = readers.iter().map(|r| format!("read(\"{r}\")")).collect();
        let w = key();
        db.write_exclusive(
            |_, _| Ok(()),
            move |tx, _, _| {
                let spec = schema::TableSpec {
                    id: &format!("t{t}"),
                    name: "T",
                    permissions: &perms,
                    row_security,
                    enabled: true,
                    columns: &[],
                    indexes: &[],
                };
                schema::create_table(tx, &w, "d", spec)
            },
        )
        .await
        .unwrap();
        let w = key();
        let body: Map<String, Value> = json!({"key": "n", "required": false}).as_object().cloned().unwrap();
        db.write_exclusive(
            |_, _| Ok(()),
            move |tx, _, _| schema::create_column(tx, &w, "d", &format!("t{t}"), ColumnType::Integer, &body),
        )
        .await
        .unwrap();
    }
    db
}

/// Apply one op; returns the (seq, readable-by-roles) of the event it produced, from our own model.
async fn apply(
    db: &Db,
    op: &Op,
    model: &mut HashMap<(usize, usize), Vec<String>>,
) -> Option<(u64, Vec<String>, Vec<String>)> {
    let before = db.bus().watermark();
    let (table, row) = match op {
        Op::Create { table, row, .. }
        | Op::SetReaders { table, row, .. }
        | Op::Bump { table, row }
        | Op::Delete { table, row } => (*table, *row),
    };
    let t = format!("t{table}");
    let id = format!("r{row}");
    let perms_of =
        |readers: &[usize]| -> Vec<String> { readers.iter().map(|i| format!("read(\"{}\")", ROLES[*i])).collect() };
    let w = key();
    let result = match op {
        Op::Create { readers, .. } => {
            let perms = perms_of(readers);
            let (t2, id2) = (t.clone(), id.clone());
            let p2 = perms.clone();
            let r = db
                .write(move |tx, cat| {
                    let data = Map::new();
                    rows::create(tx, cat, &w, "d", &t2, rows::NewRow { id: &id2, data: &data, permissions: Some(&p2) })
                })
                .await;
            r.ok().map(|_| {
                model.insert((table, row), perms.clone());
                perms
            })
        }
        Op::SetReaders { readers, .. } => {
            let perms = perms_of(readers);
            let (t2, id2, p2) = (t.clone(), id.clone(), perms.clone());
            let r = db
                .write(move |tx, cat| {
                    rows::update(tx, cat, &w, "d", &t2, &id2, rows::Patch { data: &Map::new(), permissions: Some(&p2) })
                })
                .await;
            r.ok().map(|_| {
                model.insert((table, row), perms.clone());
                perms
            })
        }
        Op::Bump { .. } => {
            let (t2, id2) = (t.clone(), id.clone());
            let one = serde_json::Number::from(1);
            let r = db
                .write(move |tx, cat| {
                    rows::increment(
                        tx,
                        cat,
                        &w,
                        "d",
                        &t2,
                        &id2,
                        rows::Step { column: "n", by: &one, limit: None, decrement: false },
                    )
                })
                .await;
            r.ok().and_then(|_| model.get(&(table, row)).cloned())
        }
        Op::Delete { .. } => {
            let (t2, id2) = (t.clone(), id.clone());
            let r = db.write(move |tx, cat| rows::delete(tx, cat, &w, "d", &t2, &id2)).await;
            r.ok().and_then(|_| model.remove(&(table, row)))
        }
    };
    let row_perms = result?;
    let seq = db.bus().watermark();
    assert_eq!(seq, before + 1, "one event per successful write");
    // Independent model of who may read: table readers, plus row readers with row security.
    let (table_read, row_security) = table_readers(table);
    let mut readers: Vec<String> = table_read.iter().map(|s| s.to_string()).collect();
    if row_security {
        readers.extend(
            row_perms
                .iter()
                .filter_map(|p| p.strip_prefix("read(\"").and_then(|r| r.strip_suffix("\")")).map(str::to_owned)),
        );
    }
    let action = match op {
        Op::Create { .. } => "create",
        Op::Delete { .. } => "delete",
        _ => "update",
    };
    let channels = vec![
        "rows".to_owned(),
        "documents".to_owned(),
        format!("databases.d.tables.{t}.rows"),
        format!("databases.d.tables.{t}.rows.{id}"),
        format!("databases.d.collections.{t}.documents"),
        format!("databases.d.collections.{t}.documents.{id}"),
        format!("tablesdb.d.tables.{t}.rows"),
        format!("tablesdb.d.tables.{t}.rows.{id}"),
        format!("rows.{action}"),
        format!("databases.d.tables.{t}.rows.{action}"),
    ];
    Some((seq, readers, channels))
}

/// A registered test connection: id, outbox, roles, and its subscriptions
/// (id and converted channels) in the order the hub holds them.
type TestConn = (ConnId, Arc<Outbox>, Vec<String>, Vec<(String, HashSet<String>)>);

fn may_read(conn_roles: &[String], readers: &[String]) -> bool {
    readers.iter().any(|r| r == "any" || conn_roles.contains(r))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_delivery_without_read_permission(whos in prop::collection::vec(who(), 1..6), ops in prop::collection::vec(op(), 1..24)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let (_dir, db, _, shared) = fixture().await;
            let mut conns: Vec<TestConn> = Vec::new();
            for w in &whos {
                let mut roles: Vec<String> = vec!["any".to_owned()];
                roles.extend(w.roles.iter().map(|i| ROLES[*i].to_owned()));
                let mut subs: Vec<Subscription> = Vec::new();
                let mut requested = HashMap::new();
                for (k, chans) in w.subs.iter().enumerate() {
                    let asked: Vec<String> = chans.iter().map(|i| CHANNELS[*i].to_owned()).collect();
                    let id = format!("s{k}");
                    subs.push(Subscription { id: id.clone(), channels: protocol::convert_channels(&asked, None), queries: vec![], filters: vec![], from: 0 });
                    requested.insert(id, asked);
                }
                let outbox = Arc::new(Outbox::default());
                let conn = Conn { roles: roles.clone(), admin: false, user_id: None, session_id: None, subs: subs.clone(), requested, outbox: outbox.clone(), live: true, pending_since: None, paused_at: 0 };
                let mut hub = shared.hub.lock().unwrap();
                let id = hub.register(conn);
                if w.churn {
                    let first = subs.remove(0);
                    assert!(hub.unsubscribe(id, &first.id));
                    let asked = w.subs[0].iter().map(|i| CHANNELS[*i].to_owned()).collect();
                    hub.upsert(id, first.clone(), asked);
                    subs.push(first);
                }
                let held: Vec<String> = hub.conns[&id].subs.iter().map(|s| s.id.clone()).collect();
                assert_eq!(held, subs.iter().map(|s| s.id.clone()).collect::<Vec<_>>());
                drop(hub);
                let subscribed = subs.into_iter().map(|s| (s.id, s.channels.into_iter().collect())).collect();
                conns.push((id, outbox, roles, subscribed));
            }
            let mut model = HashMap::new();
            let mut expected: Vec<(u64, Vec<String>, Vec<String>)> = Vec::new();
            let mut tail = db.tail(db.bus().watermark());
            for op in &ops {
                if let Some(e) = apply(&db, op, &mut model).await {
                    expected.push(e);
                }
                let events = tail.try_next().unwrap();
                dispatch::deliver(&shared, &events);
            }
            for (_, outbox, roles, subscribed) in &conns {
                let super::outbox::Drained { frames, overflowed, .. } = outbox.drain();
                assert!(!overflowed);
                let got: Vec<(u64, Vec<String>)> = frames
                    .iter()
                    .map(|f| {
                        let v = serde_json::from_str::<Value>(f.as_str()).unwrap();
                        let subs = v["data"]["subscriptions"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
                        (v["data"]["seq"].as_u64().unwrap(), subs)
                    })
                    .collect();
                let want: Vec<(u64, Vec<String>)> = expected
                    .iter()
                    .filter(|(_, readers, _)| may_read(roles, readers))
                    .map(|(seq, _, channels)| {
                        let subs = subscribed.iter().filter(|(_, mine)| channels.iter().any(|c| mine.contains(c))).map(|(id, _)| id.clone()).collect();
                        (*seq, subs)
                    })
                    .filter(|(_, subs): &(u64, Vec<String>)| !subs.is_empty())
                    .collect();
                assert_eq!(got, want, "roles {roles:?}, subscriptions {subscribed:?}");
            }
            db.close().await;
        });
    }
}

/// A subscription made with the message protocol is live only for what is
/// committed after it, even when the dispatcher has not yet delivered the
/// writes acknowledged before it; a `resume` then brings those in order, and
/// leaves out what the subscription already had live: no gap, no duplicate.
#[test]
fn a_subscription_starts_at_the_commit_watermark_and_resume_fills_in() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let (_dir, db, start, shared) = fixture().await;
        let outbox = Arc::new(Outbox::default());
        let conn = guest(&outbox, start);
        let id = shared.hub.lock().unwrap().register(conn);
        let mut model = HashMap::new();
        let mut tail = db.tail(start);
        let create = |row: usize| Op::Create { table: 0, row, readers: vec![0] };
        // Three writes acknowledged, none delivered yet (the dispatcher lags).
        for row in 0..3 {
            apply(&db, &create(row), &mut model).await.unwrap();
        }
        subscribe_to_rows(&shared, id);
        dispatch::deliver(&shared, &tail.try_next().unwrap());
        assert!(outbox.drain().frames.is_empty(), "writes acknowledged before the subscribe are not live for it");
        // One write after the subscribe: live.
        apply(&db, &create(3), &mut model).await.unwrap();
        dispatch::deliver(&shared, &tail.try_next().unwrap());
        assert_eq!(seqs(&outbox.drain().frames), vec![Some(start + 4)]);
        // Resume from the start: the three before the subscription, in
        // order, not the one it had live; then the hand-over; then live.
        let reply = super::conn::handle(&shared, id, &format!(r#"{{"type":"resume","data":{{"since":{start}}}}}"#));
        assert!(reply.contains("\"started\":true"), "{reply}");
        let frames =
            frames_until(&outbox, 200, |frames| frames.iter().any(|f| f.as_str().contains("\"to\":\"resume\""))).await;
        assert_eq!(seqs(&frames), vec![Some(start + 1), Some(start + 2), Some(start + 3), None], "{frames:?}");
        apply(&db, &create(4), &mut model).await.unwrap();
        dispatch::deliver(&shared, &tail.try_next().unwrap());
        assert_eq!(seqs(&outbox.drain().frames), vec![Some(start + 5)], "live again after the hand-over");
        db.close().await;
    });
}

/// With nobody connected, the dispatcher skips the per-event channel work
/// but still moves on: a connection that arrives afterwards starts at what
/// was committed before it and is sent only what follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_connected_the_dispatcher_still_moves_on() {
    let (_dir, db, start, shared) = fixture().await;
    let mut model = HashMap::new();
    let mut tail = db.tail(start);
    let create = |row: usize| Op::Create { table: 0, row, readers: vec![0] };
    for row in 0..2 {
        apply(&db, &create(row), &mut model).await.unwrap();
    }
    dispatch::deliver(&shared, &tail.try_next().unwrap());
    assert_eq!(shared.hub.lock().unwrap().processed, start + 2, "delivered to nobody, but processed");
    let outbox = Arc::new(Outbox::default());
    let conn = guest(&outbox, start + 2);
    let id = shared.hub.lock().unwrap().register(conn);
    subscribe_to_rows(&shared, id);
    apply(&db, &create(2), &mut model).await.unwrap();
    dispatch::deliver(&shared, &tail.try_next().unwrap());
    assert_eq!(seqs(&outbox.drain().frames), vec![Some(start + 3)]);
    db.close().await;
}

/// With nobody connected the running dispatcher parks: commits no longer
/// wake it and it does not follow the log. A connection wakes it; it starts
/// at what was committed before the connection and gets what follows live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_dispatcher_wakes_for_a_connection() {
    let (_dir, db, start, shared) = fixture().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(dispatch::run(shared.clone(), stop_rx));
    let parked = || shared.hub.lock().unwrap().parked;
    let mut waited = 0;
    while !parked() && waited < 500 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    assert!(parked(), "nobody connected: parked");
    let mut model = HashMap::new();
    let create = |row: usize| Op::Create { table: 0, row, readers: vec![0] };
    for row in 0..2 {
        apply(&db, &create(row), &mut model).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(shared.hub.lock().unwrap().processed, start, "parked: not following the log");
    let outbox = Arc::new(Outbox::default());
    let id = {
        let mut hub = shared.hub.lock().unwrap();
        dispatch::unpark(&shared, &mut hub);
        assert!(!hub.parked);
        assert_eq!(hub.processed, start + 2, "starts at what was committed before it");
        let at = hub.processed;
        hub.register(guest(&outbox, at))
    };
    subscribe_to_rows(&shared, id);
    apply(&db, &create(2), &mut model).await.unwrap();
    let frames = frames_until(&outbox, 500, |frames| !frames.is_empty()).await;
    assert_eq!(
        seqs(&frames),
        vec![Some(start + 3)],
        "only the write after the connection, delivered by the woken dispatcher"
    );
    let _ = stop_tx.send(true);
    task.await.unwrap();
    db.close().await;
}

/// Subscribe connection `id` to the `rows` channel as subscription `s`, with the message protocol.
fn subscribe_to_rows(shared: &Arc<Shared>, id: ConnId) {
    let reply =
        super::conn::handle(shared, id, r#"{"type":"subscribe","data":[{"subscriptionId":"s","channels":["rows"]}]}"#);
    assert!(reply.contains("\"s\""), "{reply}");
}

/// Frames queued for `outbox`, collected every 10 ms until `done` says so or `polls` polls have passed.
async fn frames_until(
    outbox: &Outbox,
    polls: usize,
    done: impl Fn(&[super::wire::Wire]) -> bool,
) -> Vec<super::wire::Wire> {
    let mut frames = Vec::new();
    for _ in 0..polls {
        frames.extend(outbox.drain().frames);
        if done(&frames) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    frames
}

/// The log sequence number each frame carries (None for one without, such as a response).
fn seqs<'a>(frames: impl IntoIterator<Item = &'a super::wire::Wire>) -> Vec<Option<u64>> {
    frames
        .into_iter()
        .map(|f| serde_json::from_str::<Value>(f.as_str()).expect("frames are JSON")["data"]["seq"].as_u64())
        .collect()
}

/// A fresh database (in a directory to keep alive), its commit watermark,
/// and a dispatcher state that has seen everything up to it.
async fn fixture() -> (tempfile::TempDir, Db, u64, Arc<Shared>) {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path()).await;
    let start = db.bus().watermark();
    let shared = dispatcher_state(&db, dir.path(), start);
    (dir, db, start, shared)
}

/// What the dispatcher works with, for `db` (whose writes it has seen up to `start`).
fn dispatcher_state(db: &crate::db::Db, dir: &std::path::Path, start: u64) -> Arc<Shared> {
    let (_, stop) = tokio::sync::watch::channel(false);
    Arc::new(Shared {
        db: db.clone(),
        auth: Arc::new(Authenticator::new("k".into(), b"0123456789abcdef0123456789abcdef")),
        config: Arc::new(Config::for_dir(dir)),
        hub: Mutex::new(Hub::new(start)),
        wake: Default::default(),
        metrics: Metrics::default(),
        connects: Default::default(),
        stop,
    })
}

/// A guest connection with no subscriptions yet, writing to `outbox`, live from `paused_at`.
fn guest(outbox: &Arc<Outbox>, paused_at: u64) -> Conn {
    Conn {
        roles: vec!["any".to_owned()],
        admin: false,
        user_id: None,
        session_id: None,
        subs: Vec::new(),
        requested: HashMap::new(),
        outbox: outbox.clone(),
        live: true,
        pending_since: None,
        paused_at,
    }
}
