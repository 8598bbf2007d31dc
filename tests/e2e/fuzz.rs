//! Random input never makes the server fail: any JSON in a row write, any
//! query string, gets either success or an Appwrite 4xx error, and only
//! successful writes change data.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::util::{Server, setup_table};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![Just("score"), Just("name"), Just("$id"), Just("tags"), Just("when")]
            .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z$]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn plausible() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::option::of(-8i64..8),
        prop::option::of("[a-z]{0,7}"),
        prop::option::of(prop::collection::vec("[a-z]{1,6}", 0..3)),
    )
        .prop_map(|(score, name, tags)| {
            let mut m = Map::new();
            if let Some(v) = score {
                m.insert("score".into(), v.into());
            }
            if let Some(v) = name {
                m.insert("name".into(), v.into());
            }
            if let Some(v) = tags {
                m.insert("tags".into(), v.into());
            }
            m
        })
}

fn data() -> impl Strategy<Value = Map<String, Value>> {
    prop_oneof![plausible(), arbitrary_data()]
}

fn arbitrary_data() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        prop_oneof![
            Just("score".to_owned()),
            Just("name".to_owned()),
            Just("tags".to_owned()),
            Just("when".to_owned()),
            "[a-z$]{0,6}"
        ],
        json_value(),
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn query() -> impl Strategy<Value = String> {
    let method = prop_oneof![
        Just("equal"),
        Just("notEqual"),
        Just("lessThan"),
        Just("greaterThan"),
        Just("between"),
        Just("isNull"),
        Just("startsWith"),
        Just("contains"),
        Just("and"),
        Just("or"),
        Just("select"),
        Just("orderAsc"),
        Just("limit"),
        Just("offset"),
        Just("cursorAfter"),
        Just("regex"),
        Just("??")
    ];
    prop_oneof![
        (method, prop::option::of(json_value()), json_value()).prop_map(|(m, a, v)| {
            let mut q = json!({"method": m, "values": v});
            if let Some(a) = a {
                q["attribute"] = a;
            }
            q.to_string()
        }),
        "\\PC{0,40}",
    ]
}

#[test]
fn random_input_never_breaks_the_server() {
    let s = Server::start();
    setup_table(
        &s.admin(),
        "fz",
        &["read(\"any\")", "create(\"any\")", "update(\"any\")"],
        false,
        &[
            ("integer", json!({"key": "score", "required": false, "min": -5, "max": 5})),
            ("string", json!({"key": "name", "size": 5, "required": false})),
            ("string", json!({"key": "tags", "size": 5, "required": false, "array": true})),
            ("datetime", json!({"key": "when", "required": false})),
        ],
    );
    let c = s.guest();
    let rows = "/v1/tablesdb/main/tables/fz/rows";
    let created = std::cell::Cell::new(0u64);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 300, ..ProptestConfig::default() });
    runner
        .run(
            &(data(), prop::collection::vec(query(), 0..4), prop_oneof![3 => Just(Value::Null), 1 => json_value()]),
            |(data, queries, perms)| {
                let r = c.post(rows, json!({"rowId": "unique()", "data": data, "permissions": perms}));
                prop_assert!(
                    r.status == 201 || (400..500).contains(&r.status),
                    "create answered {}: {}",
                    r.status,
                    r.body
                );
                if r.status == 201 {
                    created.set(created.get() + 1);
                } else {
                    prop_assert!(
                        r.body["type"].is_string() && r.body["message"].is_string(),
                        "error shape: {}",
                        r.body
                    );
                }
                let qs: Vec<Value> =
                    queries.iter().map(|q| serde_json::from_str(q).unwrap_or(Value::String(q.clone()))).collect();
                let r = c.list(rows, &qs, &[]);
                prop_assert!(
                    r.status == 200 || (400..500).contains(&r.status),
                    "list answered {}: {}",
                    r.status,
                    r.body
                );
                Ok(())
            },
        )
        .unwrap();
    assert!(created.get() > 10 && created.get() < 290, "both accepted and refused writes exercised: {}", created.get());
    let r = s.admin().list(rows, &[], &[]);
    assert_eq!(r.body["total"].as_u64(), Some(created.get().min(5000)), "only accepted writes are stored");
    assert_eq!(s.guest().get("/v1/health").status, 200);
}
