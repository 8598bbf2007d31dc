//! Arcade's side of the realtime scenario, made through the public API with
//! the API key: a table `rt.lobby` with row security, one row per room that
//! only that room's members may read (`read("label:r<k>")`), one row everyone
//! signed in may read but nobody watches (`quiet`), and users created with
//! the Users API, labelled with their room, each with a session.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::backend::{DB, TABLE};
use crate::client::{Endpoint, Req};
use crate::workloads::wait_available;

/// A row nobody subscribes to: events on it measure the cost of an event without a matching subscriber.
pub const QUIET_ROW: &str = "quiet";

pub fn room_row(k: usize) -> String {
    format!("room{k}")
}

/// The read role of room `k`'s row, and the label its members carry.
pub fn room_label(k: usize) -> String {
    format!("r{k}")
}

/// Label of users that belong to no room (they watch a room's row and must receive nothing).
pub const OUTSIDER: &str = "outsider";

/// One user with a session.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub label: String,
    pub secret: String,
}

impl User {
    /// The roles Arcade derives for this user (`User::base_roles`), for the baseline's roles map.
    pub fn roles(&self) -> Vec<String> {
        let id = &self.id;
        vec![
            "any".into(),
            "users".into(),
            "users/unverified".into(),
            format!("user:{id}"),
            format!("user:{id}/unverified"),
            format!("label:{}", self.label),
        ]
    }
}

/// Session secret → roles, for the baseline.
pub fn roles_map(users: &[User]) -> Map<String, Value> {
    users.iter().map(|u| (u.secret.clone(), json!(u.roles()))).collect()
}

pub async fn schema(endpoint: &Endpoint, rooms: usize) -> Result<()> {
    let mut c = endpoint.connect().await?;
    let t = format!("/v1/tablesdb/{DB}/tables/{TABLE}");
    c.expect(Req::post("/v1/tablesdb", json!({"databaseId": DB, "name": "Realtime"}).to_string()), &[201]).await?;
    c.expect(
        Req::post(
            format!("/v1/tablesdb/{DB}/tables"),
            json!({"tableId": TABLE, "name": "Lobby", "permissions": [], "rowSecurity": true}).to_string(),
        ),
        &[201],
    )
    .await?;
    for col in ["sent_us", "n"] {
        c.expect(Req::post(format!("{t}/columns/integer"), json!({"key": col, "required": false}).to_string()), &[202])
            .await?;
    }
    for col in ["sent_us", "n"] {
        wait_available(&mut c, &format!("{t}/columns/{col}")).await?;
    }
    let rows = (0..rooms)
        .map(|k| (room_row(k), format!("read(\"label:{}\")", room_label(k))))
        .chain(std::iter::once((QUIET_ROW.to_owned(), "read(\"users\")".to_owned())));
    for (row, perm) in rows {
        let body = json!({"rowId": row, "data": {"sent_us": 0, "n": 0}, "permissions": [perm]});
        c.expect(Req::post(format!("{t}/rows"), body.to_string()), &[201]).await?;
    }
    Ok(())
}

/// Create users `u0…` with the given labels and a session each, `concurrency` at a time.
pub async fn users(endpoint: &Endpoint, labels: &[String], concurrency: usize) -> Result<Vec<User>> {
    let next = AtomicUsize::new(0);
    let worker = || async {
        let mut c = endpoint.connect().await?;
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(label) = labels.get(i) else { break };
            let id = format!("u{i}");
            c.expect(Req::post("/v1/users", json!({"userId": id, "name": format!("Player {i}")}).to_string()), &[201])
                .await?;
            let mut put = Req::post(format!("/v1/users/{id}/labels"), json!({"labels": [label]}).to_string());
            put.method = hyper::Method::PUT;
            c.expect(put, &[200]).await?;
            let s = c.expect(Req::post(format!("/v1/users/{id}/sessions"), "{}"), &[201]).await?;
            let secret = s["secret"].as_str().filter(|s| !s.is_empty()).context("session without a secret")?;
            out.push((i, User { id, label: label.clone(), secret: secret.to_owned() }));
        }
        anyhow::Ok(out)
    };
    let parts = futures_util::future::try_join_all((0..concurrency.max(1)).map(|_| worker())).await?;
    let mut all: Vec<(usize, User)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, u)| u).collect())
}
