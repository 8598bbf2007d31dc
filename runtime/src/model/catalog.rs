//! Databases, tables and indexes: the schema that rows live in.
//!
//! These are the records the store persists and the writer validates rows
//! against. A table also carries two numbers that never appear on the wire:
//! `tid`, the compact internal id its rows and indexes are keyed by (so a long
//! public id is never repeated in every key, and a dropped table's leftover keys
//! can never be mistaken for a new table's), and `version`, bumped on every
//! schema change so that a row validated against an older schema is re-checked.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::column::{Column, ColumnType};
use super::exception::{ErrorType, Exception};
use super::time::{self, Millis};

/// How a database was created, which decides the event and channel families
/// realtime uses for it (`tablesdb.…` or only `databases.…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    TablesDb,
    Legacy,
}

impl DbKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::TablesDb => "tablesdb",
            DbKind::Legacy => "legacy",
        }
    }
}

/// Which API naming a response uses: TablesDB (tables/rows/columns) or the
/// legacy Databases API (collections/documents/attributes). Both reach the
/// same data; only field names differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    Tables,
    Collections,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub kind: DbKind,
    pub created: Millis,
    pub updated: Millis,
}

impl Database {
    pub fn to_model(&self) -> Value {
        json!({
            "$id": self.id,
            "name": self.name,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "enabled": self.enabled,
            "type": self.kind.as_str(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexType {
    Key,
    Unique,
}

impl IndexType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "key" => Some(Self::Key),
            "unique" => Some(Self::Unique),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Unique => "unique",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexStatus {
    /// Being filled from existing rows; not used for queries yet.
    Processing,
    Available,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub key: String,
    #[serde(rename = "type")]
    pub ty: IndexType,
    pub columns: Vec<String>,
    /// `ASC`/`DESC` per column, as sent (informational: scans go either way).
    pub orders: Vec<String>,
    pub iid: u32,
    pub status: IndexStatus,
    pub created: Millis,
    pub updated: Millis,
}

/// Most indexes per table, and most columns per index.
pub const MAX_INDEXES: usize = 64;
pub const MAX_INDEX_COLUMNS: usize = 8;

impl Index {
    pub fn to_model(&self, flavor: Flavor) -> Value {
        let cols = if flavor == Flavor::Tables { "columns" } else { "attributes" };
        json!({
            "$id": self.key,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "key": self.key,
            "type": self.ty.as_str(),
            "status": match self.status { IndexStatus::Available => "available", IndexStatus::Processing => "processing" },
            "error": "",
            (cols): self.columns,
            "lengths": self.columns.iter().map(|_| Value::Null).collect::<Vec<_>>(),
            "orders": self.orders,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub id: String,
    pub db: String,
    pub name: String,
    pub permissions: Vec<String>,
    pub row_security: bool,
    pub enabled: bool,
    pub columns: Vec<Column>,
    pub indexes: Vec<Index>,
    pub tid: u32,
    pub version: u64,
    pub created: Millis,
    pub updated: Millis,
}

impl Table {
    pub fn column(&self, key: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.key == key)
    }

    pub fn index(&self, key: &str) -> Option<&Index> {
        self.indexes.iter().find(|i| i.key == key)
    }

    pub fn to_model(&self, flavor: Flavor) -> Value {
        let (security, cols) = match flavor {
            Flavor::Tables => ("rowSecurity", "columns"),
            Flavor::Collections => ("documentSecurity", "attributes"),
        };
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "$permissions": self.permissions,
            "databaseId": self.db,
            "name": self.name,
            "enabled": self.enabled,
            (security): self.row_security,
            (cols): self.columns.iter().map(Column::to_model).collect::<Vec<_>>(),
            "indexes": self.indexes.iter().map(|i| i.to_model(flavor)).collect::<Vec<_>>(),
        })
    }

    /// Check a new index against this table: known, indexable columns.
    pub fn check_index(&self, index: &Index) -> Result<(), Exception> {
        if index.columns.is_empty() || index.columns.len() > MAX_INDEX_COLUMNS {
            return Err(Exception::msg(
                ErrorType::IndexInvalid,
                format!("Index invalid: an index needs 1 to {MAX_INDEX_COLUMNS} columns"),
            ));
        }
        for key in &index.columns {
            match key.as_str() {
                "$id" | "$createdAt" | "$updatedAt" => continue,
                _ => {}
            }
            let col = self.column(key).ok_or_else(|| Exception::with_id(ErrorType::ColumnUnknown, key))?;
            if col.array {
                return Err(Exception::msg(
                    ErrorType::IndexInvalid,
                    format!("Index invalid: array column \"{key}\" cannot be indexed by Arcade"),
                ));
            }
        }
        Ok(())
    }

    /// The type of a column or system attribute, for queries and index keys.
    pub fn attribute_type(&self, key: &str) -> Option<(ColumnType, bool)> {
        match key {
            "$id" => Some((ColumnType::String, false)),
            "$sequence" => Some((ColumnType::Integer, false)),
            "$createdAt" | "$updatedAt" => Some((ColumnType::Datetime, false)),
            _ => self.column(key).map(|c| (c.ty, c.array)),
        }
    }
}

impl super::query::Schema for Table {
    fn column(&self, key: &str) -> Option<(ColumnType, bool)> {
        self.attribute_type(key)
    }
}
