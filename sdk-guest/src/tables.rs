//! Rows of Arcade's table store, typed with serde.
//!
//! A [`Table`] names a table; its methods call the host's `tables` interface
//! and (de)serialize rows as JSON. What callers can rely on:
//!
//! - **Authority.** Calls act for the function, like an API key: row
//!   permissions do not apply (the table must exist, the data must fit its
//!   columns).
//! - **Atomicity.** Writes are staged and commit together when the function
//!   answers with a status below 500; a 5xx answer, a panic or a timeout
//!   discards all of them. Reads see the execution's own staged writes.
//! - **Row shape.** A row is Appwrite's JSON row: the `$` system fields
//!   ([`Row`]) beside the columns, which deserialize into your type `T`.
//!
//! ```no_run
//! use arcade_sdk::{Query, Table, ID};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Score {
//!     player: String,
//!     points: i64,
//! }
//!
//! # fn main() -> arcade_sdk::Result<()> {
//! let scores = Table::new("main", "scores");
//! let created = scores.create(ID::unique(), &Score { player: "u1".into(), points: 10 })?;
//! scores.increment::<Score>(&created.id, "points", 5.0, None)?;
//! let top = scores.list::<Score>(&[Query::order_desc("points"), Query::limit(10)])?;
//! for row in &top.rows {
//!     println!("{} {}", row.data.player, row.data.points);
//! }
//! # Ok(())
//! # }
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::Result;
use crate::host::{self, Write};
pub use crate::{Permission, Query, Role};

/// Row IDs.
#[allow(clippy::upper_case_acronyms)] // named as in Appwrite's SDKs
pub struct ID;

impl ID {
    /// `"unique()"`: the host picks a new unique ID (20 hex characters,
    /// roughly time-ordered) when the row is created.
    pub fn unique() -> &'static str {
        "unique()"
    }

    /// Your own ID (1–36 characters of `a-z A-Z 0-9 . - _`, not starting with
    /// a special character), returned as is.
    pub fn custom(id: impl Into<String>) -> String {
        id.into()
    }
}

/// A row: Appwrite's system fields plus your columns in `data`.
///
/// `T` receives every field that is not a `$` system field, so it should not
/// use `#[serde(deny_unknown_fields)]`; use `serde_json::Value` to take the
/// row as it comes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row<T> {
    /// `$id`.
    #[serde(rename = "$id")]
    pub id: String,
    /// `$sequence`: the store's insertion counter for the table (Appwrite 1.9
    /// sends it as a string; a number is accepted too).
    #[serde(rename = "$sequence", default, deserialize_with = "sequence", serialize_with = "sequence_string")]
    pub sequence: u64,
    /// `$createdAt`, e.g. `2026-07-22T10:15:00.123+00:00`.
    #[serde(rename = "$createdAt", default)]
    pub created_at: String,
    /// `$updatedAt`.
    #[serde(rename = "$updatedAt", default)]
    pub updated_at: String,
    /// `$permissions`, e.g. `read("user:u1")`.
    #[serde(rename = "$permissions", default)]
    pub permissions: Vec<String>,
    /// `$tableId`.
    #[serde(rename = "$tableId", default)]
    pub table_id: String,
    /// `$databaseId`.
    #[serde(rename = "$databaseId", default)]
    pub database_id: String,
    /// The columns.
    #[serde(flatten)]
    pub data: T,
}

/// A page of rows, with the number of rows that match the filters (counted up
/// to 5,000, as Appwrite does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowList<T> {
    /// How many rows match the filters, ignoring `limit` and `offset`.
    pub total: u64,
    /// The rows of this page.
    pub rows: Vec<Row<T>>,
}

fn sequence<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seq {
        Number(u64),
        Text(String),
    }
    match Seq::deserialize(d)? {
        Seq::Number(n) => Ok(n),
        Seq::Text(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

fn sequence_string<S: serde::Serializer>(n: &u64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(n)
}

/// A table of a database: `Table::new("main", "games")`.
///
/// Cheap to create; it only holds the two IDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Table {
    database: String,
    table: String,
}

impl Table {
    /// The table `table` of database `database`.
    pub fn new(database: impl Into<String>, table: impl Into<String>) -> Self {
        Table { database: database.into(), table: table.into() }
    }

    /// The database ID.
    pub fn database_id(&self) -> &str {
        &self.database
    }

    /// The table ID.
    pub fn table_id(&self) -> &str {
        &self.table
    }

    /// The row with this ID, or `None`.
    pub fn get<T: DeserializeOwned>(&self, row_id: impl AsRef<str>) -> Result<Option<Row<T>>> {
        match host::get_row(&self.database, &self.table, row_id.as_ref())? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// The rows that match `queries` (filters, order, `limit` (default 25),
    /// `offset`, cursors), with the total count.
    pub fn list<T: DeserializeOwned>(&self, queries: &[Query]) -> Result<RowList<T>> {
        let queries: Vec<String> = queries.iter().map(Query::to_string).collect();
        Ok(serde_json::from_str(&host::list_rows(&self.database, &self.table, &queries)?)?)
    }

    /// Creates a row (`row_id` may be [`ID::unique()`]) and returns it.
    /// Fails with [`Error::AlreadyExists`](crate::Error::AlreadyExists) if the ID is taken.
    pub fn create<T: Serialize + DeserializeOwned>(&self, row_id: impl AsRef<str>, data: &T) -> Result<Row<T>> {
        self.write(Write::Create, row_id, data, None)
    }

    /// [`Table::create`] with these permissions on the row.
    pub fn create_with_permissions<T: Serialize + DeserializeOwned>(
        &self,
        row_id: impl AsRef<str>,
        data: &T,
        permissions: &[Permission],
    ) -> Result<Row<T>> {
        self.write(Write::Create, row_id, data, Some(permissions))
    }

    /// Changes the columns present in `data` (a struct with some of the
    /// columns, or `serde_json::json!({...})`) and returns the whole row as
    /// `T`: `table.update::<Game>("g1", &json!({"status": "won"}))`.
    pub fn update<T: DeserializeOwned>(&self, row_id: impl AsRef<str>, data: &impl Serialize) -> Result<Row<T>> {
        self.write(Write::Update, row_id, data, None)
    }

    /// [`Table::update`] that also replaces the row's permissions.
    pub fn update_with_permissions<T: DeserializeOwned>(
        &self,
        row_id: impl AsRef<str>,
        data: &impl Serialize,
        permissions: &[Permission],
    ) -> Result<Row<T>> {
        self.write(Write::Update, row_id, data, Some(permissions))
    }

    /// Creates the row, or updates it if it exists, and returns it.
    pub fn upsert<T: Serialize + DeserializeOwned>(&self, row_id: impl AsRef<str>, data: &T) -> Result<Row<T>> {
        self.write(Write::Upsert, row_id, data, None)
    }

    /// [`Table::upsert`] with these permissions on the row.
    pub fn upsert_with_permissions<T: Serialize + DeserializeOwned>(
        &self,
        row_id: impl AsRef<str>,
        data: &T,
        permissions: &[Permission],
    ) -> Result<Row<T>> {
        self.write(Write::Upsert, row_id, data, Some(permissions))
    }

    /// Deletes the row; [`Error::NotFound`](crate::Error::NotFound) if there is none.
    pub fn delete(&self, row_id: impl AsRef<str>) -> Result<()> {
        host::delete_row(&self.database, &self.table, row_id.as_ref())
    }

    /// Adds `value` (> 0) to the numeric `column` and returns the row. With
    /// `max`, fails with [`Error::LimitExceeded`](crate::Error::LimitExceeded)
    /// instead of going past it. Atomic: no lost updates between executions.
    pub fn increment<T: DeserializeOwned>(
        &self,
        row_id: impl AsRef<str>,
        column: &str,
        value: f64,
        max: Option<f64>,
    ) -> Result<Row<T>> {
        let json = host::increment(&self.database, &self.table, row_id.as_ref(), column, value, max)?;
        Ok(serde_json::from_str(&json)?)
    }

    /// Subtracts `value` (> 0) from the numeric `column` and returns the row.
    /// With `min`, fails with [`Error::LimitExceeded`](crate::Error::LimitExceeded)
    /// instead of going below it (e.g. `Some(0.0)` for a balance).
    pub fn decrement<T: DeserializeOwned>(
        &self,
        row_id: impl AsRef<str>,
        column: &str,
        value: f64,
        min: Option<f64>,
    ) -> Result<Row<T>> {
        let json = host::decrement(&self.database, &self.table, row_id.as_ref(), column, value, min)?;
        Ok(serde_json::from_str(&json)?)
    }

    fn write<T: DeserializeOwned>(
        &self,
        op: Write,
        row_id: impl AsRef<str>,
        data: &(impl Serialize + ?Sized),
        permissions: Option<&[Permission]>,
    ) -> Result<Row<T>> {
        let data = serde_json::to_string(data)?;
        let permissions: Option<Vec<String>> = permissions.map(|p| p.iter().map(|p| p.as_str().to_owned()).collect());
        let json = host::write_row(op, &self.database, &self.table, row_id.as_ref(), &data, permissions.as_deref())?;
        Ok(serde_json::from_str(&json)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Game {
        winner: String,
        score: i64,
    }

    const ROW: &str = r#"{"$id":"g1","$sequence":"17","$tableId":"games","$databaseId":"main","$createdAt":"1970-01-01T00:00:00.000+00:00","$updatedAt":"1970-01-01T00:00:00.000+00:00","$permissions":["read(\"any\")"],"winner":"u1","score":0}"#;

    #[test]
    fn rows_deserialize_with_system_fields() {
        let row: Row<Game> = serde_json::from_str(ROW).unwrap();
        assert_eq!(row.id, "g1");
        assert_eq!(row.sequence, 17);
        assert_eq!(row.table_id, "games");
        assert_eq!(row.database_id, "main");
        assert_eq!(row.permissions, [r#"read("any")"#]);
        assert_eq!(row.data, Game { winner: "u1".into(), score: 0 });

        let back = serde_json::to_value(&row).unwrap();
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(ROW).unwrap());

        let untyped: Row<serde_json::Value> = serde_json::from_str(ROW).unwrap();
        assert_eq!(untyped.data, serde_json::json!({"winner": "u1", "score": 0}));

        let numeric: Row<serde_json::Value> = serde_json::from_str(r#"{"$id":"x","$sequence":3}"#).unwrap();
        assert_eq!(numeric.sequence, 3);
    }

    #[test]
    fn row_lists_deserialize() {
        let list: RowList<Game> = serde_json::from_str(&format!(r#"{{"total":1,"rows":[{ROW}]}}"#)).unwrap();
        assert_eq!((list.total, list.rows.len(), list.rows[0].data.score), (1, 1, 0));
    }

    #[test]
    fn a_row_that_does_not_fit_is_a_json_error() {
        let e: Error = serde_json::from_str::<Row<Game>>(r#"{"$id":"g1","winner":"u1"}"#).unwrap_err().into();
        assert_eq!(e.status(), 500);
    }

    #[test]
    fn outside_arcade_calls_fail_cleanly() {
        let t = Table::new("main", "games");
        let e = t.get::<Game>("g1").unwrap_err();
        assert!(matches!(&e, Error::Internal(m) if m == "not running inside Arcade"), "{e:?}");
        assert!(t.delete("g1").is_err());
        assert!(t.create(ID::unique(), &Game { winner: "u1".into(), score: 1 }).is_err());
    }
}
