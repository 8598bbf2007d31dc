//! List queries against a model: every supported operator, ordering, paging
//! and cursors, with and without indexes, before and after updates.

use serde_json::{Value, json};

use crate::util::{Client, Server, setup_table};

const ROWS: &str = "/v1/tablesdb/main/tables/scores/rows";

fn ids(r: &crate::util::Resp) -> Vec<String> {
    r.body["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.body))
        .iter()
        .map(|x| x["$id"].as_str().unwrap().to_owned())
        .collect()
}

fn q(method: &str, attr: &str, values: Value) -> Value {
    json!({"method": method, "attribute": attr, "values": values})
}

/// 60 rows: player p{i%7}, score (i*37)%100, tag some/null, names with prefixes.
fn fill(a: &Client) -> Vec<Value> {
    let mut rows = Vec::new();
    for i in 0..60 {
        let mut r = json!({"$id": format!("r{i:02}"), "player": format!("p{}", i % 7), "score": (i * 37) % 100, "name": format!("{}{i}", if i % 3 == 0 { "ace" } else { "bob" })});
        if i % 4 == 0 {
            r["tag"] = json!("vip");
        }
        rows.push(r);
    }
    for chunk in rows.chunks(25) {
        let r = a.post(ROWS, json!({"rows": chunk}));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    rows
}

fn expect(rows: &[Value], pred: impl Fn(&Value) -> bool) -> Vec<String> {
    rows.iter().filter(|r| pred(r)).map(|r| r["$id"].as_str().unwrap().to_owned()).collect()
}

fn check_all(c: &Client, rows: &[Value]) {
    let list = |qs: &[Value]| c.list(ROWS, qs, &[]);
    let lim = json!({"method": "limit", "values": [100]});
    let r = list(&[q("equal", "player", json!(["p3"])), lim.clone()]);
    assert_eq!(ids(&r), expect(rows, |x| x["player"] == "p3"));
    assert_eq!(r.body["total"].as_u64().unwrap() as usize, ids(&r).len());
    let r = list(&[q("equal", "player", json!(["p1", "p2"])), lim.clone()]);
    assert_eq!(ids(&r), expect(rows, |x| x["player"] == "p1" || x["player"] == "p2"));
    let r = list(&[q("notEqual", "player", json!(["p1"])), lim.clone()]);
    assert_eq!(ids(&r), expect(rows, |x| x["player"] != "p1"));
    let sc = |x: &Value| x["score"].as_i64().unwrap();
    assert_eq!(ids(&list(&[q("greaterThan", "score", json!([50])), lim.clone()])), expect(rows, |x| sc(x) > 50));
    assert_eq!(ids(&list(&[q("greaterThanEqual", "score", json!([50])), lim.clone()])), expect(rows, |x| sc(x) >= 50));
    assert_eq!(ids(&list(&[q("lessThan", "score", json!([20])), lim.clone()])), expect(rows, |x| sc(x) < 20));
    assert_eq!(ids(&list(&[q("lessThanEqual", "score", json!([20])), lim.clone()])), expect(rows, |x| sc(x) <= 20));
    assert_eq!(
        ids(&list(&[q("between", "score", json!([10, 30])), lim.clone()])),
        expect(rows, |x| (10..=30).contains(&sc(x)))
    );
    assert_eq!(ids(&list(&[q("isNull", "tag", json!([])), lim.clone()])), expect(rows, |x| x["tag"].is_null()));
    assert_eq!(ids(&list(&[q("isNotNull", "tag", json!([])), lim.clone()])), expect(rows, |x| !x["tag"].is_null()));
    let name = |x: &Value| x["name"].as_str().unwrap().to_owned();
    assert_eq!(
        ids(&list(&[q("startsWith", "name", json!(["ace"])), lim.clone()])),
        expect(rows, |x| name(x).starts_with("ace"))
    );
    assert_eq!(
        ids(&list(&[q("endsWith", "name", json!(["7"])), lim.clone()])),
        expect(rows, |x| name(x).ends_with('7'))
    );
    assert_eq!(
        ids(&list(&[q("contains", "name", json!(["b1"])), lim.clone()])),
        expect(rows, |x| name(x).contains("b1"))
    );
    let or = json!({"method": "or", "values": [q("equal", "player", json!(["p0"])), q("greaterThan", "score", json!([95]))]});
    assert_eq!(ids(&list(&[or, lim.clone()])), expect(rows, |x| x["player"] == "p0" || sc(x) > 95));
    let and =
        json!({"method": "and", "values": [q("equal", "player", json!(["p0"])), q("lessThan", "score", json!([50]))]});
    assert_eq!(ids(&list(&[and, lim.clone()])), expect(rows, |x| x["player"] == "p0" && sc(x) < 50));
    // Ordering (ties broken by $sequence, i.e. insertion order).
    let mut by_score = rows.to_vec();
    by_score.sort_by_key(|x| -sc(x));
    let desc: Vec<String> = by_score.iter().map(|r| r["$id"].as_str().unwrap().to_owned()).collect();
    let r = list(&[json!({"method": "orderDesc", "attribute": "score"}), lim.clone()]);
    assert_eq!(ids(&r), desc);
    // Paging: limit/offset and cursors walk the same order.
    let page1 =
        ids(&list(&[json!({"method": "orderDesc", "attribute": "score"}), json!({"method": "limit", "values": [10]})]));
    assert_eq!(page1, desc[..10]);
    let page2 = ids(&list(&[
        json!({"method": "orderDesc", "attribute": "score"}),
        json!({"method": "limit", "values": [10]}),
        json!({"method": "offset", "values": [10]}),
    ]));
    assert_eq!(page2, desc[10..20]);
    let after = ids(&list(&[
        json!({"method": "orderDesc", "attribute": "score"}),
        json!({"method": "limit", "values": [10]}),
        json!({"method": "cursorAfter", "values": [page1[9].clone()]}),
    ]));
    assert_eq!(after, page2);
    let before = ids(&list(&[
        json!({"method": "orderDesc", "attribute": "score"}),
        json!({"method": "limit", "values": [5]}),
        json!({"method": "cursorBefore", "values": [page2[0].clone()]}),
    ]));
    assert_eq!(before, desc[5..10]);
    let default_after =
        ids(&list(&[json!({"method": "limit", "values": [3]}), json!({"method": "cursorAfter", "values": ["r10"]})]));
    let natural: Vec<String> =
        rows.iter().map(|r| r["$id"].as_str().unwrap().to_owned()).filter(|id| id.as_str() > "r10").take(3).collect();
    assert_eq!(default_after, natural);
    // select keeps system fields and the chosen columns only.
    let r = list(&[json!({"method": "select", "values": ["score"]}), json!({"method": "limit", "values": [1]})]);
    let first = &r.body["rows"][0];
    assert!(first.get("score").is_some() && first.get("player").is_none() && first.get("$id").is_some(), "{first}");
    // Default page size is 25, total counts every match.
    let r = list(&[]);
    assert_eq!((ids(&r).len(), r.body["total"].clone()), (25, json!(rows.len())));
    let r = c.list(ROWS, &[], &[("total", "false")]);
    assert_eq!(r.body["total"], 0);
}

#[test]
fn every_operator_with_and_without_indexes() {
    let s = Server::start();
    let a = s.admin();
    setup_table(
        &a,
        "scores",
        &["read(\"any\")"],
        false,
        &[
            ("string", json!({"key": "player", "size": 8, "required": true})),
            ("integer", json!({"key": "score", "required": true})),
            ("string", json!({"key": "name", "size": 16, "required": true})),
            ("string", json!({"key": "tag", "size": 8, "required": false})),
        ],
    );
    let mut rows = fill(&a);
    check_all(&s.guest(), &rows);
    for (key, cols) in [
        ("by_player", json!(["player"])),
        ("by_score", json!(["score"])),
        ("by_name", json!(["name"])),
        ("by_tag", json!(["tag"])),
        ("player_score", json!(["player", "score"])),
    ] {
        let r = a.post("/v1/tablesdb/main/tables/scores/indexes", json!({"key": key, "type": "key", "columns": cols}));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    check_all(&s.guest(), &rows);
    // Index entries follow updates and deletes.
    for i in (0..60).step_by(5) {
        let id = format!("r{i:02}");
        let r = a.patch(&format!("{ROWS}/{id}"), json!({"data": {"player": "p9", "score": 99 - i, "tag": null}}));
        assert_eq!(r.status, 200, "{}", r.body);
        let row = rows.iter_mut().find(|x| x["$id"] == id.as_str()).unwrap();
        row["player"] = json!("p9");
        row["score"] = json!(99 - i);
        row["tag"] = Value::Null;
    }
    for i in (1..60).step_by(11) {
        let id = format!("r{i:02}");
        assert_eq!(a.delete(&format!("{ROWS}/{id}")).status, 204);
        rows.retain(|x| x["$id"] != id.as_str());
    }
    check_all(&s.guest(), &rows);
    // And survive a restart.
    let mut s = s;
    s.restart();
    check_all(&s.guest(), &rows);
}
