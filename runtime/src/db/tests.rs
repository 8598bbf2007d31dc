//! Tests of the database layer on a real store in a temporary directory:
//! the planner reads only what it must, the log tails without gaps or
//! duplicates while writes race, and retention trims with a clear error.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Db;
use super::log::TailError;
use super::ops::{rows, schema};
use super::read::{self, Access, Plan};
use super::writer::Durability;
use crate::auth::{Identity, KeyScopes};
use crate::model::catalog::{DbKind, IndexType};
use crate::model::column::ColumnType;
use crate::model::query;
use crate::store::{Store, StoreOptions};

fn key() -> Identity {
    Identity::Key { id: "test".into(), scopes: KeyScopes::All, actor: None }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

async fn setup(dir: &std::path::Path) -> Db {
    let store = Arc::new(Store::open(dir, &StoreOptions::default()).unwrap());
    let db = Db::start(store, Durability::Relaxed).unwrap();
    let who = key();
    db.write_exclusive(
        |_, _| Ok(()),
        move |tx, _, _| schema::create_database(tx, &who, "d", "D", true, DbKind::TablesDb),
    )
    .await
    .unwrap();
    let who = key();
    db.write_exclusive(
        |_, _| Ok(()),
        move |tx, _, _| {
            schema::create_table(
                tx,
                &who,
                "d",
                schema::TableSpec {
                    id: "t",
                    name: "T",
                    permissions: &[],
                    row_security: false,
                    enabled: true,
                    columns: &[],
                    indexes: &[],
                },
            )
        },
    )
    .await
    .unwrap();
    for (ty, body) in [
        (ColumnType::String, json!({"key": "player", "size": 16, "required": true})),
        (ColumnType::Integer, json!({"key": "score", "required": true})),
    ] {
        let who = key();
        let body = obj(body);
        db.write_exclusive(|_, _| Ok(()), move |tx, _, _| schema::create_column(tx, &who, "d", "t", ty, &body))
            .await
            .unwrap();
    }
    db
}

async fn insert(db: &Db, id: String, player: String, score: i64) {
    let who = key();
    db.write(move |tx, cat| {
        let data = obj(json!({"player": player, "score": score}));
        rows::create(tx, cat, &who, "d", "t", rows::NewRow { id: &id, data: &data, permissions: None })
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_queries_read_only_matching_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path()).await;
    let spec = schema::IndexSpec {
        key: "by_player".into(),
        ty: IndexType::Key,
        columns: vec!["player".into()],
        orders: vec![],
    };
    let who = key();
    db.write_exclusive(
        move |store, cat| schema::prepare_index(store, cat, "d", "t", &spec),
        move |tx, _, index| schema::attach_index(tx, &who, "d", "t", index),
    )
    .await
    .unwrap();
    let mut writes = Vec::new();
    for i in 0..3000 {
        let db = db.clone();
        writes.push(tokio::spawn(async move { insert(&db, format!("r{i}"), format!("p{}", i % 1000), i).await }));
    }
    for w in writes {
        w.await.unwrap();
    }
    let catalog = db.catalog();
    let table = catalog.table("d", "t").unwrap();
    let q = query::list_query(
        &[json!({"method":"equal","attribute":"player","values":["p7"]}).to_string()],
        table.as_ref(),
    )
    .unwrap();
    let (page, plan) = read::list(db.store(), table, &q, Access::All, true).unwrap();
    assert_eq!(plan, Plan::IndexRanges { index: "by_player".into(), ranges: 1 });
    assert_eq!(page.total, 3);
    assert_eq!(page.examined, 3, "only the matching index range is read");
    // Equal keys come in `$sequence` order, which is commit order: the
    // spawned inserts may commit in any order.
    assert!(page.rows.windows(2).all(|w| w[0].seq < w[1].seq), "in $sequence order");
    let mut ids: Vec<_> = page.rows.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["r1007", "r2007", "r7"]);
    // Without an index on the column, the planner scans.
    let q =
        query::list_query(&[json!({"method":"equal","attribute":"score","values":[7]}).to_string()], table.as_ref())
            .unwrap();
    let (page, plan) = read::list(db.store(), table, &q, Access::All, true).unwrap();
    assert_eq!(plan, Plan::TableScan);
    assert_eq!((page.total, page.examined), (1, 3000));
    // A page in index order stops early once it is full (and total is not counted).
    let q = query::list_query(
        &[
            json!({"method":"orderAsc","attribute":"player"}).to_string(),
            json!({"method":"limit","values":[5]}).to_string(),
        ],
        table.as_ref(),
    )
    .unwrap();
    let (page, plan) = read::list(db.store(), table, &q, Access::All, false).unwrap();
    assert_eq!(plan, Plan::IndexOrder { index: "by_player".into() });
    assert_eq!(page.examined, 5);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_sees_every_event_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path()).await;
    let start = db.bus().watermark();
    let mut tail = db.tail(start);
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut handles = Vec::new();
            for i in 0..500 {
                let db = db.clone();
                handles.push(tokio::spawn(async move { insert(&db, format!("r{i}"), "p".into(), i).await }));
            }
            for h in handles {
                h.await.unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 500 {
        let batch =
            tokio::time::timeout(std::time::Duration::from_secs(30), tail.next()).await.expect("tail woke").unwrap();
        assert!(!batch.is_empty());
        seen.extend(batch.into_iter().map(|e| e.seq));
    }
    writer.await.unwrap();
    assert!(tail.try_next().unwrap().is_empty(), "nothing more than the 500 writes");
    let expected: Vec<u64> = (start + 1..=start + 500).collect();
    assert_eq!(seen, expected, "every sequence number once, in order");
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_trims_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path()).await;
    for i in 0..50 {
        insert(&db, format!("r{i}"), "p".into(), i).await;
    }
    let last = db.bus().watermark();
    let removed = db.store().trim_log(10, i64::MAX, crate::model::time::now_ms(), 1000).unwrap();
    assert_eq!(removed as u64, last - 10);
    assert_eq!(db.store().event_count(), 10);
    let mut tail = db.tail(0);
    match tail.try_next() {
        Err(TailError::Trimmed(t)) => assert_eq!(t.first_available, last - 9),
        Err(other) => panic!("expected a trimmed error, got {other:?}"),
        Ok(events) => panic!("expected a trimmed error, got {} events", events.len()),
    }
    let mut tail = db.tail(last - 10);
    assert_eq!(tail.try_next().unwrap().len(), 10);
    db.close().await;
}

/// A schema change is in the catalog by the time its writer answers, so a
/// client that reads right after its 2xx sees it (this once raced).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_changes_are_visible_once_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path()).await;
    for i in 0..50 {
        let who = key();
        let body = obj(json!({"key": format!("c{i}"), "required": false}));
        db.write_exclusive(
            |_, _| Ok(()),
            move |tx, _, _| schema::create_column(tx, &who, "d", "t", ColumnType::Integer, &body),
        )
        .await
        .unwrap();
        let catalog = db.catalog();
        let table = catalog.table("d", "t").unwrap();
        assert!(
            table.columns.iter().any(|c| c.key == format!("c{i}")),
            "column c{i} not in the catalog after its answer"
        );
    }
}

/// Writes that come one at a time commit on the caller's own thread (the
/// writer is idle); a burst of concurrent writes shares the writer thread's
/// batches; exclusive operations always run on the writer thread. Every
/// write reaches the log once and in order either way, and once the writer
/// has stopped neither path takes a write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock, reason = "the test holds the committer to make the writes queue")]
async fn writes_commit_alone_or_in_batches_and_stop_at_close() {
    use std::sync::Mutex;
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path()).await;
    let start = db.bus().watermark();
    let threads = Arc::new(Mutex::new(Vec::<String>::new()));
    let write = |db: Db, i: usize, threads: Arc<Mutex<Vec<String>>>| async move {
        let who = key();
        db.write(move |tx, cat| {
            threads.lock().unwrap().push(std::thread::current().name().unwrap_or("").to_owned());
            let data = obj(json!({"player": "p", "score": i}));
            rows::create(tx, cat, &who, "d", "t", rows::NewRow { id: &format!("r{i}"), data: &data, permissions: None })
        })
        .await
        .unwrap();
    };
    for i in 0..20 {
        write(db.clone(), i, threads.clone()).await;
    }
    let alone = std::mem::take(&mut *threads.lock().unwrap());
    assert!(alone.iter().all(|t| t != "arcade-writer"), "one at a time, no hand-off: {alone:?}");
    // A burst: while the committer is busy (held here), all 200 queue up,
    // and the writer thread commits them together once it is free.
    let held = db.inner.committer.lock().unwrap();
    let burst: Vec<_> = (20..220).map(|i| tokio::spawn(write(db.clone(), i, threads.clone()))).collect();
    let queued = || db.inner.queue.max_capacity() - db.inner.queue.capacity();
    // (The writer thread has taken the first one and waits for the lock.)
    while queued() < 199 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    drop(held);
    for h in burst {
        h.await.unwrap();
    }
    let together = std::mem::take(&mut *threads.lock().unwrap());
    assert_eq!(together.len(), 200);
    assert!(together.iter().all(|t| t == "arcade-writer"), "a burst goes through the writer's batches");
    // After a batch of many, the next write still queues (the load may
    // not be over); the one after a batch of one commits alone again.
    write(db.clone(), 220, threads.clone()).await;
    write(db.clone(), 221, threads.clone()).await;
    let next = std::mem::take(&mut *threads.lock().unwrap());
    assert_eq!(next[0], "arcade-writer");
    assert_ne!(next[1], "arcade-writer");
    let on = db.write_exclusive(|_, _| Ok(()), |_, _, _| Ok(std::thread::current().name().map(str::to_owned))).await;
    assert_eq!(on.unwrap().as_deref(), Some("arcade-writer"));

    let mut tail = db.tail(start);
    let mut seen = Vec::new();
    while seen.len() < 222 {
        let batch = tokio::time::timeout(std::time::Duration::from_secs(30), tail.next()).await.unwrap().unwrap();
        seen.extend(batch.into_iter().map(|e| e.seq));
    }
    assert_eq!(seen, (start + 1..=start + 222).collect::<Vec<_>>(), "every write once, in order");

    db.close().await;
    let after = db.write(|_, _| Ok(())).await;
    assert_eq!(after.err().map(|e| e.code()), Some(500), "no write after close");
}
