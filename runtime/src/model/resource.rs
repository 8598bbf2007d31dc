//! What an event is about, and the route pattern Appwrite names it with.
//!
//! Appwrite names every write after the route that made it: a bracketed
//! pattern such as `databases.[databaseId].tables.[tableId].rows.[rowId].update`
//! plus the values of its placeholders. Event names (`names`) and realtime
//! channels (`channels`) are both derived from that pair, so this module is the
//! one place that knows, for each kind of resource, which pattern and which
//! placeholders Appwrite uses.
//!
//! Callers may rely on:
//! - `Resource::pattern` returning Appwrite's TablesDB-era pattern (tables,
//!   rows, columns; never collections/documents/attributes), with the action
//!   and, when given, the attribute (`update.prefs`) as the last segments;
//! - `Resource::params` naming exactly the placeholders of that pattern, in the
//!   order they appear in it, each paired with the resource's public ID.

use serde::{Deserialize, Serialize};

/// What an event is about. IDs are the resource's public IDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Resource {
    Database { db: String },
    Table { db: String, table: String },
    Column { db: String, table: String, column: String },
    Index { db: String, table: String, index: String },
    Row { db: String, table: String, row: String },
    User { user: String },
    Session { user: String, session: String },
    Team { team: String },
    Membership { team: String, membership: String },
    Function { function: String },
    Deployment { function: String, deployment: String },
    Execution { function: String, execution: String },
}

/// What happened to the resource; the last segment of an event name (before
/// an optional attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Upsert,
    Delete,
}

impl Action {
    /// The action as it appears in event names and channels.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Upsert => "upsert",
            Action::Delete => "delete",
        }
    }
}

pub use super::catalog::DbKind;

impl Resource {
    /// Appwrite's route pattern for this resource and action, e.g.
    /// `databases.[databaseId].tables.[tableId].rows.[rowId].update`,
    /// `users.[userId].update.prefs` (attribute appended when Some),
    /// `users.[userId].sessions.[sessionId].create`, `teams.[teamId].memberships.[membershipId].update.status`,
    /// `functions.[functionId].executions.[executionId].create`,
    /// `functions.[functionId].deployments.[deploymentId].create`.
    ///
    /// The attribute is appended for every kind of resource; Appwrite only
    /// uses it for users, teams and memberships.
    pub fn pattern(&self, action: Action, attribute: Option<&str>) -> String {
        let mut pattern = format!("{}.{}", self.path(), action.as_str());
        if let Some(attribute) = attribute {
            pattern.push('.');
            pattern.push_str(attribute);
        }
        pattern
    }

    /// The placeholder values for `pattern`, e.g. [("databaseId","main"),("tableId","games"),("rowId","g1")].
    pub fn params(&self) -> Vec<(&'static str, &str)> {
        match self {
            Resource::Database { db } => vec![("databaseId", db)],
            Resource::Table { db, table } => vec![("databaseId", db), ("tableId", table)],
            Resource::Column { db, table, column } => {
                vec![("databaseId", db), ("tableId", table), ("columnId", column)]
            }
            Resource::Index { db, table, index } => {
                vec![("databaseId", db), ("tableId", table), ("indexId", index)]
            }
            Resource::Row { db, table, row } => {
                vec![("databaseId", db), ("tableId", table), ("rowId", row)]
            }
            Resource::User { user } => vec![("userId", user)],
            Resource::Session { user, session } => vec![("userId", user), ("sessionId", session)],
            Resource::Team { team } => vec![("teamId", team)],
            Resource::Membership { team, membership } => {
                vec![("teamId", team), ("membershipId", membership)]
            }
            Resource::Function { function } => vec![("functionId", function)],
            Resource::Deployment { function, deployment } => {
                vec![("functionId", function), ("deploymentId", deployment)]
            }
            Resource::Execution { function, execution } => vec![("functionId", function), ("executionId", execution)],
        }
    }

    /// The pattern without its action: the resource path with placeholders.
    fn path(&self) -> &'static str {
        match self {
            Resource::Database { .. } => "databases.[databaseId]",
            Resource::Table { .. } => "databases.[databaseId].tables.[tableId]",
            Resource::Column { .. } => "databases.[databaseId].tables.[tableId].columns.[columnId]",
            Resource::Index { .. } => "databases.[databaseId].tables.[tableId].indexes.[indexId]",
            Resource::Row { .. } => "databases.[databaseId].tables.[tableId].rows.[rowId]",
            Resource::User { .. } => "users.[userId]",
            Resource::Session { .. } => "users.[userId].sessions.[sessionId]",
            Resource::Team { .. } => "teams.[teamId]",
            Resource::Membership { .. } => "teams.[teamId].memberships.[membershipId]",
            Resource::Function { .. } => "functions.[functionId]",
            Resource::Deployment { .. } => "functions.[functionId].deployments.[deploymentId]",
            Resource::Execution { .. } => "functions.[functionId].executions.[executionId]",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Resource {
        Resource::Row { db: "main".into(), table: "games".into(), row: "g1".into() }
    }

    #[test]
    fn row_pattern_and_params() {
        assert_eq!(row().pattern(Action::Update, None), "databases.[databaseId].tables.[tableId].rows.[rowId].update");
        assert_eq!(row().params(), vec![("databaseId", "main"), ("tableId", "games"), ("rowId", "g1")]);
    }

    #[test]
    fn attribute_is_appended_after_the_action() {
        let user = Resource::User { user: "u1".into() };
        assert_eq!(user.pattern(Action::Update, Some("prefs")), "users.[userId].update.prefs");
        let membership = Resource::Membership { team: "t1".into(), membership: "m1".into() };
        assert_eq!(
            membership.pattern(Action::Update, Some("status")),
            "teams.[teamId].memberships.[membershipId].update.status"
        );
    }

    #[test]
    fn nested_patterns() {
        let cases = [
            (
                Resource::Session { user: "u".into(), session: "s".into() },
                Action::Create,
                "users.[userId].sessions.[sessionId].create",
            ),
            (
                Resource::Execution { function: "f".into(), execution: "e".into() },
                Action::Create,
                "functions.[functionId].executions.[executionId].create",
            ),
            (
                Resource::Deployment { function: "f".into(), deployment: "d".into() },
                Action::Create,
                "functions.[functionId].deployments.[deploymentId].create",
            ),
            (
                Resource::Column { db: "d".into(), table: "t".into(), column: "c".into() },
                Action::Delete,
                "databases.[databaseId].tables.[tableId].columns.[columnId].delete",
            ),
            (
                Resource::Index { db: "d".into(), table: "t".into(), index: "i".into() },
                Action::Create,
                "databases.[databaseId].tables.[tableId].indexes.[indexId].create",
            ),
        ];
        for (resource, action, expected) in cases {
            assert_eq!(resource.pattern(action, None), expected);
        }
    }

    #[test]
    fn every_placeholder_has_a_param() {
        let resources = [
            Resource::Database { db: "d".into() },
            Resource::Table { db: "d".into(), table: "t".into() },
            row(),
            Resource::Team { team: "t".into() },
            Resource::Function { function: "f".into() },
        ];
        for resource in resources {
            let pattern = resource.pattern(Action::Create, None);
            let placeholders = pattern.matches('[').count();
            assert_eq!(placeholders, resource.params().len(), "{pattern}");
            for (key, _) in resource.params() {
                assert!(pattern.contains(&format!("[{key}]")), "{pattern} {key}");
            }
        }
    }

    #[test]
    fn serde_shapes() -> Result<(), serde_json::Error> {
        let json = serde_json::to_string(&row())?;
        assert_eq!(json, r#"{"kind":"row","db":"main","table":"games","row":"g1"}"#);
        assert_eq!(serde_json::from_str::<Resource>(&json)?, row());
        assert_eq!(serde_json::to_string(&Action::Upsert)?, r#""upsert""#);
        assert_eq!(serde_json::to_string(&DbKind::TablesDb)?, r#""tablesdb""#);
        Ok(())
    }
}
