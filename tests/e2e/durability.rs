//! Durability: acknowledged writes survive `kill -9`, and the data and the
//! event log never disagree after a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{Server, events, setup_table};

const ROWS: &str = "/v1/tablesdb/main/tables/log/rows";

#[test]
fn kill9_mid_storm_loses_no_acknowledged_write() {
    let mut s = Server::start();
    setup_table(
        &s.admin(),
        "log",
        &["read(\"any\")", "create(\"any\")", "update(\"any\")"],
        false,
        &[
            ("integer", json!({"key": "n", "required": true})),
            ("string", json!({"key": "w", "size": 8, "required": true})),
        ],
    );
    let start_seq = s.admin().get("/v1/health").body["seq"].as_u64().unwrap();
    let acked: Arc<Mutex<BTreeMap<String, i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..16 {
        let (c, acked, stop) = (s.guest(), acked.clone(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let id = format!("w{w}-{i}");
                // Creates, and every third write an update of an acknowledged row.
                let ok = if i % 3 == 2 {
                    let target = format!("w{w}-{}", i - 1);
                    let known = acked.lock().unwrap().contains_key(&target);
                    if !known {
                        i += 1;
                        continue;
                    }
                    let r = c.try_with_body("PATCH", &format!("{ROWS}/{target}"), json!({"data": {"n": i}}));
                    if matches!(&r, Ok(resp) if resp.status == 200) {
                        acked.lock().unwrap().insert(target, i);
                    }
                    r.is_ok()
                } else {
                    let r = c.try_with_body("POST", ROWS, json!({"rowId": id, "data": {"n": i, "w": format!("w{w}")}}));
                    if matches!(&r, Ok(resp) if resp.status == 201) {
                        acked.lock().unwrap().insert(id, i);
                    }
                    r.is_ok()
                };
                if !ok {
                    return; // the server is gone
                }
                i += 1;
            }
        }));
    }
    // Let the storm build up, then pull the plug.
    while acked.lock().unwrap().len() < 300 {
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    s.restart_after_kill();
    let a = s.admin();
    // Every acknowledged write is there, with its acknowledged value or a later one.
    let mut rows = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut qs = vec![json!({"method": "limit", "values": [1000]})];
        if let Some(c) = &cursor {
            qs.push(json!({"method": "cursorAfter", "values": [c]}));
        }
        let r = a.list(ROWS, &qs, &[]);
        let page = r.body["rows"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        for row in &page {
            rows.insert(row["$id"].as_str().unwrap().to_owned(), row["n"].as_i64().unwrap());
        }
        cursor = page.last().map(|r| r["$id"].as_str().unwrap().to_owned());
    }
    for (id, n) in &acked {
        let got = rows.get(id).unwrap_or_else(|| panic!("acknowledged row {id} lost after kill -9"));
        assert!(got >= n, "row {id}: acknowledged n={n}, found {got}");
    }
    // Rows and events match one to one: every row has its create event, every
    // create event its row, and each row's last event holds its current value.
    let log = events(&a, start_seq);
    let mut created = BTreeSet::new();
    let mut last_value = BTreeMap::new();
    let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "the log has no gaps");
    for e in &log {
        let id = e["payload"]["$id"].as_str().unwrap().to_owned();
        let first = e["events"][0].as_str().unwrap();
        if first.ends_with(".create") {
            assert!(created.insert(id.clone()), "two create events for {id}");
        }
        last_value.insert(id, e["payload"]["n"].as_i64().unwrap());
    }
    let row_ids: BTreeSet<String> = rows.keys().cloned().collect();
    assert_eq!(created, row_ids, "create events and rows differ");
    for (id, n) in &rows {
        assert_eq!(last_value.get(id), Some(n), "row {id}'s last event does not hold its value");
    }
    // And the server keeps working on the recovered store.
    assert_eq!(s.guest().post(ROWS, json!({"rowId": "after", "data": {"n": 1, "w": "x"}})).status, 201);
}

#[test]
fn sigterm_finishes_and_flushes() {
    let mut s = Server::start();
    setup_table(
        &s.admin(),
        "log",
        &["read(\"any\")", "create(\"any\")"],
        false,
        &[
            ("integer", json!({"key": "n", "required": true})),
            ("string", json!({"key": "w", "size": 8, "required": true})),
        ],
    );
    for i in 0..50 {
        assert_eq!(s.guest().post(ROWS, json!({"rowId": format!("r{i}"), "data": {"n": i, "w": "x"}})).status, 201);
    }
    s.restart();
    assert_eq!(s.admin().list(ROWS, &[], &[]).body["total"], 50);
    // The generated API key is not printed again and the data dir keeps its key.
    assert!(s.data_dir().join("sled").exists());
}
