//! Key layout of every sled tree, in one place.
//!
//! Numbers are big-endian so byte order is numeric order: the event log and a
//! table's rows scan in sequence order, index entries in value order. Text
//! parts of keys are separated by a 0 byte, which IDs can never contain.

/// The trees, in the fixed order write transactions open them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum TreeId {
    /// Counters and secrets (`meta` keys below).
    Meta = 0,
    /// `d\0<db>` → Database; `t\0<db>\0<table>` → Table.
    Catalog = 1,
    /// `<tid:4><seq:8>` → Row.
    Rows = 2,
    /// `<tid:4><row id>` → `<seq:8>`.
    RowIds = 3,
    /// `<iid:4><encoded values>[<seq:8>]` → `<seq:8>` (see `tx::index_key`).
    Index = 4,
    /// `<seq:8>` → Event: in the write-ahead log's records only; applied to
    /// the event log's files (`evlog`), not to sled.
    Events = 5,
    /// Users, sessions, teams, memberships, keys (prefixes below).
    Auth = 6,
    /// `<transaction id>` → staged Appwrite transaction.
    Txns = 7,
    /// Functions, deployments, executions (prefixes in `functions` below).
    Functions = 8,
}

impl TreeId {
    /// Every logical tree, indexed by its number.
    pub const ALL: [TreeId; 9] = [
        TreeId::Meta,
        TreeId::Catalog,
        TreeId::Rows,
        TreeId::RowIds,
        TreeId::Index,
        TreeId::Events,
        TreeId::Auth,
        TreeId::Txns,
        TreeId::Functions,
    ];
}

pub const TREE_NAMES: [&str; 9] =
    ["meta", "catalog", "rows", "row_ids", "index", "events", "auth", "txns", "functions"];

/// Function tree keys.
pub mod functions {
    use super::join;

    pub fn function(id: &str) -> Vec<u8> {
        join(&[b"f", id.as_bytes()])
    }
    pub const FUNCTION_PREFIX: &[u8] = b"f\0";
    pub fn deployment(id: &str) -> Vec<u8> {
        join(&[b"d", id.as_bytes()])
    }
    /// Deployments of a function: `fd\0<function>\0<deployment>` → ().
    pub fn function_deployment(function: &str, deployment: &str) -> Vec<u8> {
        join(&[b"fd", function.as_bytes(), deployment.as_bytes()])
    }
    pub fn function_deployments(function: &str) -> Vec<u8> {
        let mut k = join(&[b"fd", function.as_bytes()]);
        k.push(0);
        k
    }
    /// An execution's record, under its function (ids sort by creation
    /// time, so a function's executions list in order with one range read):
    /// `fe\0<function>\0<execution>` → the record.
    pub fn execution(function: &str, execution: &str) -> Vec<u8> {
        join(&[b"fe", function.as_bytes(), execution.as_bytes()])
    }
    pub const FUNCTION_EXECUTION_PREFIX: &[u8] = b"fe\0";
    pub fn function_executions(function: &str) -> Vec<u8> {
        let mut k = join(&[b"fe", function.as_bytes()]);
        k.push(0);
        k
    }
    /// Executions recorded as started and not finished yet:
    /// `pe\0<function>\0<execution>` → (). A start finds the ones a stop
    /// interrupted here, without reading every execution.
    pub fn pending_execution(function: &str, execution: &str) -> Vec<u8> {
        join(&[b"pe", function.as_bytes(), execution.as_bytes()])
    }
    pub const PENDING_EXECUTION_PREFIX: &[u8] = b"pe\0";

    /// The layout before 2026-12-04 (`store::rekey` moves it): the record
    /// under `e\0<execution>`, an empty index entry under the function's
    /// key, and `pe\0<execution>` while pending.
    pub mod legacy {
        use crate::store::keys::join;

        pub fn execution(id: &str) -> Vec<u8> {
            join(&[b"e", id.as_bytes()])
        }
        pub const EXECUTION_PREFIX: &[u8] = b"e\0";
        pub fn pending_execution(id: &str) -> Vec<u8> {
            join(&[b"pe", id.as_bytes()])
        }
    }

    /// Whether a function-tree key belongs to an execution (its record or
    /// an index entry of it): the keys every execution writes. Writes to any
    /// other function-tree key (functions, deployments) move the store's
    /// `records_version`, which shared decoded copies check (`decoded`).
    pub fn is_execution_key(key: &[u8]) -> bool {
        key.starts_with(legacy::EXECUTION_PREFIX)
            || key.starts_with(FUNCTION_EXECUTION_PREFIX)
            || key.starts_with(PENDING_EXECUTION_PREFIX)
    }
}

pub mod meta {
    /// The newest event in the event log's files at the last checkpoint
    /// (u64): at open the files are cut back to it, and later events come
    /// from the write-ahead log (`evlog`). Data directories from before
    /// 2026-12-02 set it with every write.
    pub const LAST_SEQ: &[u8] = b"last_seq";
    /// Set by the first checkpoint after the events moved out of sled into
    /// their own files (`evlog`); a data directory without it still has
    /// them in sled.
    pub const EVENTS_IN_FILES: &[u8] = b"events_in_files";
    /// Next internal table id (u32).
    pub const NEXT_TID: &[u8] = b"next_tid";
    /// Next internal index id (u32).
    pub const NEXT_IID: &[u8] = b"next_iid";
    /// Secret that signs JWTs (32 random bytes).
    pub const SECRET: &[u8] = b"secret";
    /// Lowest event sequence number still in the log after retention (u64).
    pub const FIRST_SEQ: &[u8] = b"first_seq";
    /// Tables whose rows still await purging after a drop: prefix + tid.
    pub const DROPPED_TID: &[u8] = b"dropped_tid\0";
    /// Indexes whose entries still await purging after a drop: prefix + iid.
    pub const DROPPED_IID: &[u8] = b"dropped_iid\0";
    /// Event triggers have handled every event up to this sequence number (u64).
    pub const TRIGGER_CURSOR: &[u8] = b"trigger_cursor";
    /// An event-triggered execution committed: prefix + event seq (u64) + function id.
    pub const TRIGGER_DONE: &[u8] = b"trigger_done\0";
    /// The last schedule slot a function fired: prefix + function id → JSON.
    pub const SCHEDULE: &[u8] = b"schedule\0";
    /// Present once every started, unfinished execution has its
    /// `functions::pending_execution` entry (data directories from before
    /// that index get one full scan of the executions, then this).
    pub const PENDING_INDEXED: &[u8] = b"pending_indexed";
    /// sled holds every write-ahead log record up to and including this one
    /// whole (u64). Written with every [`MARKER_EVERY`](crate::store::MARKER_EVERY)-th
    /// record and at each checkpoint, so it may lag behind what sled holds.
    pub const WAL_APPLIED: &[u8] = b"wal_applied";

    pub fn trigger_done(seq: u64, function: &str) -> Vec<u8> {
        let mut k = TRIGGER_DONE.to_vec();
        k.extend_from_slice(&seq.to_be_bytes());
        k.extend_from_slice(function.as_bytes());
        k
    }

    pub fn schedule(function: &str) -> Vec<u8> {
        let mut k = SCHEDULE.to_vec();
        k.extend_from_slice(function.as_bytes());
        k
    }
}

pub fn database(db: &str) -> Vec<u8> {
    join(&[b"d", db.as_bytes()])
}

pub const DATABASE_PREFIX: &[u8] = b"d\0";
pub const TABLE_PREFIX: &[u8] = b"t\0";

pub fn table(db: &str, table: &str) -> Vec<u8> {
    join(&[b"t", db.as_bytes(), table.as_bytes()])
}

pub fn tables_of(db: &str) -> Vec<u8> {
    let mut k = join(&[b"t", db.as_bytes()]);
    k.push(0);
    k
}

pub fn row(tid: u32, seq: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&tid.to_be_bytes());
    k[4..].copy_from_slice(&seq.to_be_bytes());
    k
}

pub fn row_id(tid: u32, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + id.len());
    k.extend_from_slice(&tid.to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

pub fn seq_of_row_key(key: &[u8]) -> Option<u64> {
    key.get(4..12).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

pub fn event(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub fn u64_of(bytes: &[u8]) -> Option<u64> {
    bytes.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

pub fn u32_of(bytes: &[u8]) -> Option<u32> {
    bytes.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes)
}

/// Auth tree keys.
pub mod auth {
    use super::join;

    pub fn user(id: &str) -> Vec<u8> {
        join(&[b"u", id.as_bytes()])
    }
    pub const USER_PREFIX: &[u8] = b"u\0";
    pub fn email(email: &str) -> Vec<u8> {
        join(&[b"e", email.as_bytes()])
    }
    pub fn session(id: &str) -> Vec<u8> {
        join(&[b"s", id.as_bytes()])
    }
    /// Session id by the hash of its secret.
    pub fn session_secret(hash: &str) -> Vec<u8> {
        join(&[b"sh", hash.as_bytes()])
    }
    /// Sessions of a user: `us\0<user>\0<session>` → ().
    pub fn user_session(user: &str, session: &str) -> Vec<u8> {
        join(&[b"us", user.as_bytes(), session.as_bytes()])
    }
    pub fn user_sessions(user: &str) -> Vec<u8> {
        let mut k = join(&[b"us", user.as_bytes()]);
        k.push(0);
        k
    }
    pub fn team(id: &str) -> Vec<u8> {
        join(&[b"t", id.as_bytes()])
    }
    pub const TEAM_PREFIX: &[u8] = b"t\0";
    pub fn membership(id: &str) -> Vec<u8> {
        join(&[b"m", id.as_bytes()])
    }
    /// Memberships of a team: `tm\0<team>\0<membership>` → ().
    pub fn team_membership(team: &str, membership: &str) -> Vec<u8> {
        join(&[b"tm", team.as_bytes(), membership.as_bytes()])
    }
    pub fn team_memberships(team: &str) -> Vec<u8> {
        let mut k = join(&[b"tm", team.as_bytes()]);
        k.push(0);
        k
    }
    /// Memberships of a user: `um\0<user>\0<membership>` → ().
    pub fn user_membership(user: &str, membership: &str) -> Vec<u8> {
        join(&[b"um", user.as_bytes(), membership.as_bytes()])
    }
    pub fn user_memberships(user: &str) -> Vec<u8> {
        let mut k = join(&[b"um", user.as_bytes()]);
        k.push(0);
        k
    }
    /// The membership of a user in a team: `mp\0<team>\0<user>` → membership id.
    pub fn member_pair(team: &str, user: &str) -> Vec<u8> {
        join(&[b"mp", team.as_bytes(), user.as_bytes()])
    }
    /// API keys by the hash of their secret.
    pub fn api_key(secret_hash: &str) -> Vec<u8> {
        join(&[b"k", secret_hash.as_bytes()])
    }
    pub const API_KEY_PREFIX: &[u8] = b"k\0";
}

pub(crate) fn join(parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len() + 1).sum();
    let mut k = Vec::with_capacity(len);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// The smallest key greater than every key that starts with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_keys_sort_by_table_then_seq() {
        assert!(row(1, 2) < row(1, 10));
        assert!(row(1, u64::MAX) < row(2, 0));
        assert_eq!(seq_of_row_key(&row(7, 42)), Some(42));
    }

    #[test]
    fn prefixes_do_not_bleed() {
        assert!(!table("a", "b").starts_with(&tables_of("ab")));
        assert!(table("a", "b").starts_with(&tables_of("a")));
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
    }
}
