//! The write operations, one area per file. Each runs on the writer thread
//! inside [`WriteTx::op`](crate::store::WriteTx::op): it looks up what it
//! needs through the transaction or the writer's catalog snapshot, checks
//! permissions and input, writes, and names the event for every change.
//!
//! Shared here: finding a table for a caller, Appwrite's permission rules for
//! tables and rows, and the event a row change produces.

pub mod accounts;
pub mod bulk;
pub mod functions;
pub mod rows;
pub mod schema;
pub mod teams;
pub mod txn;

use std::sync::Arc;

use crate::auth::Identity;
use crate::db::catalog::Catalog;
use crate::model::catalog::{Database, Table};
use crate::model::event::{self, Action as EventAction, EventDraft, Resource};
use crate::model::exception::{ErrorType, Exception};
use crate::model::permission::{self, Action};
use crate::model::row::Row;

/// The table a caller addresses. Disabled databases and tables are invisible
/// to everyone but API keys, as in Appwrite.
pub fn find_table<'c>(
    catalog: &'c Catalog,
    who: &Identity,
    db: &str,
    table: &str,
) -> Result<(&'c Arc<Database>, &'c Arc<Table>), Exception> {
    let database = catalog
        .database(db)
        .filter(|d| d.enabled || who.is_key())
        .ok_or_else(|| Exception::with_id(ErrorType::DatabaseNotFound, db))?;
    let t = catalog
        .table(db, table)
        .filter(|t| t.enabled || who.is_key())
        .ok_or_else(|| Exception::with_id(ErrorType::TableNotFound, table))?;
    Ok((database, t))
}

/// Whether the table's own permissions grant `action` to the caller (keys always pass).
pub fn table_allows(table: &Table, action: Action, who: &Identity) -> bool {
    who.is_key() || permission::allows(&table.permissions, action, who.roles())
}

/// Appwrite's rule for a row: table permission, or (with row security) the row's own.
pub fn row_allows(table: &Table, row: &Row, action: Action, who: &Identity) -> bool {
    table_allows(table, action, who)
        || (table.row_security && permission::allows(&row.permissions, action, who.roles()))
}

pub fn unauthorized() -> Exception {
    Exception::new(ErrorType::UserUnauthorized)
}

/// The roles that may read an event about `row`: the table's read roles, plus
/// the row's own when the table has row security. Judged on the row as
/// written (or, for a delete, as it was).
pub fn row_read_roles(table: &Table, row: &Row) -> Vec<String> {
    let mut roles: Vec<String> = permission::roles_for(&table.permissions, Action::Read).map(str::to_owned).collect();
    if table.row_security {
        for r in permission::roles_for(&row.permissions, Action::Read) {
            if !roles.iter().any(|x| x == r) {
                roles.push(r.to_owned());
            }
        }
    }
    roles
}

/// The event for a change to `row` (payload: the row model as written, or as deleted).
pub fn row_event(database: &Database, table: &Table, row: &Row, action: EventAction, who: &Identity) -> EventDraft {
    let payload = event::raw(&row.model(table, crate::model::catalog::Flavor::Tables, None));
    EventDraft::new(
        Resource::Row { db: table.db.clone(), table: table.id.clone(), row: row.id.clone() },
        action,
        payload,
    )
    .db_kind(database.kind)
    .roles(row_read_roles(table, row))
    .actor(who.actor().map(str::to_owned))
}

/// The permissions a new row gets: the requested ones (normalised), or for a
/// signed-in user without a request, `read`/`update`/`delete` for that user.
/// Callers other than keys may only grant roles they hold.
pub fn new_row_permissions(requested: Option<&[String]>, who: &Identity) -> Result<Vec<String>, Exception> {
    let perms = match requested {
        Some(list) => permission::normalize(list, &[Action::Read, Action::Update, Action::Delete])?,
        None => match who.user_id() {
            Some(uid) if !who.is_key() => {
                ["read", "update", "delete"].iter().map(|a| format!("{a}(\"user:{uid}\")")).collect()
            }
            _ => Vec::new(),
        },
    };
    check_grantable(&perms, who)?;
    Ok(perms)
}

/// Reject permissions naming roles the caller does not hold (keys may grant anything).
pub fn check_grantable(perms: &[String], who: &Identity) -> Result<(), Exception> {
    if who.is_key() {
        return Ok(());
    }
    for p in perms {
        let role = permission::Permission::parse(p)?.role;
        if !who.has_role(&role) {
            return Err(Exception::msg(
                ErrorType::UserUnauthorized,
                format!("Permissions must be one of: ({})", who.roles().join(", ")),
            ));
        }
    }
    Ok(())
}
