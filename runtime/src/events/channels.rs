//! Realtime channels: where a client must have subscribed to receive an event.
//!
//! A realtime client subscribes to channel strings (`rows`,
//! `tablesdb.main.tables.games.rows.g1`, `account`, `executions.update`, ...)
//! and receives every event published on one of them. The SDK helpers build
//! these strings, so the set an event is published on must be Appwrite's:
//! this module ports `Realtime::fromPayload` and `getDatabaseChannels`
//! (appwrite/appwrite, `src/Appwrite/Messaging/Adapter/Realtime.php`, 1.9.5+),
//! including the action-suffixed copies that make `Channel...update()` work.
//!
//! Callers may rely on:
//! - the order being Appwrite's: the plain channels, then their
//!   `.ACTION` copies in the same order, with no duplicates;
//! - only client-visible channels: `console` and `projects.<id>` (console
//!   subscribers) are never produced, so schema, function and deployment
//!   events get no channels at all;
//! - nothing about who may receive the event: roles and, for executions,
//!   Appwrite's rule that an execution without read permissions is not
//!   published at all, are the caller's concern.

use crate::model::resource::{Action, Resource};

/// Channel segments that get an action-suffixed copy when they are the last
/// or second-to-last segment (`RESOURCE_LEAF_NAMES`).
const RESOURCE_LEAF_NAMES: &[&str] =
    &["documents", "rows", "files", "executions", "functions", "account", "teams", "memberships", "presences"];

/// The realtime channels an event is published on, Appwrite 1.9.5+ (`Realtime::fromPayload`
/// plus the action-suffixed copies). Row in db D table T row R: `documents`,
/// `databases.D.collections.T.documents`, `databases.D.collections.T.documents.R`, `rows`,
/// `databases.D.tables.T.rows`, `databases.D.tables.T.rows.R`, `tablesdb.D.tables.T.rows`,
/// `tablesdb.D.tables.T.rows.R`, then the same 8 with `.ACTION` appended (16 total; always all
/// families, whatever the db kind). User events: `account`, `account.U` and, for top-level user
/// events only (not sessions), `account.ACTION`, `account.U.ACTION` (for an attribute event
/// like update.prefs the action suffix is just `.update`). Team: `teams`, `teams.T` + suffixed
/// copies; Membership: `memberships`, `memberships.M` + suffixed. Execution:
/// `executions`, `executions.E`, `functions.F` + suffixed copies (`executions.update`,
/// `executions.E.update`, `functions.F.update`); do NOT emit `console` or `projects.*`.
/// Function/Deployment/Database/Table/Column/Index: no client channels (empty Vec).
pub fn channels(resource: &Resource, action: Action) -> Vec<String> {
    let base = base_channels(resource);
    if suffixes_action(resource) { with_action_copies(base, action) } else { base }
}

/// The channels `fromPayload` lists before the action suffixes are added.
fn base_channels(resource: &Resource) -> Vec<String> {
    match resource {
        Resource::Row { db, table, row } => row_channels(db, table, row),
        Resource::User { user } | Resource::Session { user, .. } => {
            vec!["account".to_owned(), format!("account.{user}")]
        }
        Resource::Team { team } => vec!["teams".to_owned(), format!("teams.{team}")],
        Resource::Membership { membership, .. } => {
            vec!["memberships".to_owned(), format!("memberships.{membership}")]
        }
        Resource::Execution { function, execution } => {
            vec!["executions".to_owned(), format!("executions.{execution}"), format!("functions.{function}")]
        }
        Resource::Database { .. }
        | Resource::Table { .. }
        | Resource::Column { .. }
        | Resource::Index { .. }
        | Resource::Function { .. }
        | Resource::Deployment { .. } => Vec::new(),
    }
}

/// Row channels: the legacy family, the `databases.…tables…rows` family and the
/// `tablesdb.…` family, merged without repeats. Appwrite publishes nothing when
/// an ID is empty.
fn row_channels(db: &str, table: &str, row: &str) -> Vec<String> {
    if db.is_empty() || table.is_empty() || row.is_empty() {
        return Vec::new();
    }
    let families =
        [("documents", "databases", "collections"), ("rows", "databases", "tables"), ("rows", "tablesdb", "tables")];
    let mut channels = Vec::with_capacity(9);
    for (leaf, prefix, container) in families {
        let collection = concat(&[prefix, ".", db, ".", container, ".", table, ".", leaf]);
        let single = concat(&[&collection, ".", row]);
        channels.extend([leaf.to_owned(), collection, single]);
    }
    dedup(channels)
}

/// Whether the event's action is appended to its channels. Appwrite skips
/// nested user events (sessions, recovery, ...), whose action is not the third
/// segment, so that `account.create` means "an account was created".
fn suffixes_action(resource: &Resource) -> bool {
    !matches!(resource, Resource::Session { .. })
}

/// Adds `channel.ACTION` for every channel whose last or second-to-last segment
/// is a resource leaf, after all the plain channels.
fn with_action_copies(channels: Vec<String>, action: Action) -> Vec<String> {
    let copies: Vec<String> = channels
        .iter()
        .filter(|channel| ends_in_resource(channel))
        .map(|channel| concat(&[channel, ".", action.as_str()]))
        .collect();
    let mut all = channels;
    all.extend(copies);
    dedup(all)
}

fn ends_in_resource(channel: &str) -> bool {
    let mut segments = channel.rsplit('.');
    let is_leaf = |segment: Option<&str>| segment.is_some_and(|s| RESOURCE_LEAF_NAMES.contains(&s));
    is_leaf(segments.next()) || is_leaf(segments.next())
}

/// The parts joined, in one allocation of the exact size (`format!` costs
/// several times as much, and this runs for every event the dispatcher sees).
fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// Removes repeats, keeping each string's first position (`array_unique`).
/// A quadratic scan: lists here have at most 16 entries, and it neither
/// hashes nor clones (this runs for every event the realtime dispatcher sees).
fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn row() -> Resource {
        Resource::Row { db: "main".into(), table: "games".into(), row: "g1".into() }
    }

    #[test]
    fn row_update_has_sixteen_channels_in_appwrite_order() {
        assert_eq!(
            channels(&row(), Action::Update),
            strings(&[
                "documents",
                "databases.main.collections.games.documents",
                "databases.main.collections.games.documents.g1",
                "rows",
                "databases.main.tables.games.rows",
                "databases.main.tables.games.rows.g1",
                "tablesdb.main.tables.games.rows",
                "tablesdb.main.tables.games.rows.g1",
                "documents.update",
                "databases.main.collections.games.documents.update",
                "databases.main.collections.games.documents.g1.update",
                "rows.update",
                "databases.main.tables.games.rows.update",
                "databases.main.tables.games.rows.g1.update",
                "tablesdb.main.tables.games.rows.update",
                "tablesdb.main.tables.games.rows.g1.update",
            ])
        );
    }

    #[test]
    fn row_upsert_and_delete_use_their_own_suffix() {
        let upsert = channels(&row(), Action::Upsert);
        assert_eq!(upsert.len(), 16);
        assert_eq!(upsert[8], "documents.upsert");
        let delete = channels(&row(), Action::Delete);
        assert_eq!(delete[15], "tablesdb.main.tables.games.rows.g1.delete");
    }

    #[test]
    fn row_id_equal_to_the_action_is_not_repeated() {
        let odd = Resource::Row { db: "main".into(), table: "games".into(), row: "update".into() };
        let list = channels(&odd, Action::Update);
        let mut sorted = list.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), list.len());
        assert_eq!(list.len(), 13);
    }

    #[test]
    fn user_prefs_update_is_suffixed_with_the_action_only() {
        let user = Resource::User { user: "u1".into() };
        assert_eq!(
            channels(&user, Action::Update),
            strings(&["account", "account.u1", "account.update", "account.u1.update"])
        );
    }

    #[test]
    fn session_create_is_not_suffixed() {
        let session = Resource::Session { user: "u1".into(), session: "s1".into() };
        assert_eq!(channels(&session, Action::Create), strings(&["account", "account.u1"]));
    }

    #[test]
    fn execution_update_channels() {
        let execution = Resource::Execution { function: "f1".into(), execution: "e1".into() };
        assert_eq!(
            channels(&execution, Action::Update),
            strings(&[
                "executions",
                "executions.e1",
                "functions.f1",
                "executions.update",
                "executions.e1.update",
                "functions.f1.update",
            ])
        );
    }

    #[test]
    fn team_and_membership_channels() {
        let team = Resource::Team { team: "t1".into() };
        assert_eq!(channels(&team, Action::Create), strings(&["teams", "teams.t1", "teams.create", "teams.t1.create"]));
        let membership = Resource::Membership { team: "t1".into(), membership: "m1".into() };
        assert_eq!(
            channels(&membership, Action::Delete),
            strings(&["memberships", "memberships.m1", "memberships.delete", "memberships.m1.delete",])
        );
    }

    #[test]
    fn console_only_resources_have_no_client_channels() {
        let resources = [
            Resource::Database { db: "d".into() },
            Resource::Table { db: "d".into(), table: "t".into() },
            Resource::Column { db: "d".into(), table: "t".into(), column: "c".into() },
            Resource::Index { db: "d".into(), table: "t".into(), index: "i".into() },
            Resource::Function { function: "f".into() },
            Resource::Deployment { function: "f".into(), deployment: "d".into() },
        ];
        for resource in &resources {
            assert!(channels(resource, Action::Create).is_empty(), "{resource:?}");
        }
    }
}
