//! Rows: what the store keeps, how a write's data is checked against the
//! table, and the JSON model the API returns.
//!
//! A stored row keeps only what the client wrote: its id, timestamps,
//! permissions and column values. The `$sequence` (the sequence number of the
//! event that created it) lives in the store key. `version` is the sequence
//! number of the last event that changed the row, which is how transactions
//! notice that a row changed under them. The model is built from the table's
//! current columns, so a deleted column disappears and a new one shows its
//! default, as Appwrite's do.

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::catalog::{Flavor, Table};
use super::exception::{ErrorType, Exception};
use super::time::{self, Millis};

/// Largest encoded row.
pub const MAX_ROW_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    #[serde(rename = "i")]
    pub id: String,
    #[serde(skip)]
    pub seq: u64,
    #[serde(rename = "v")]
    pub version: u64,
    #[serde(rename = "c")]
    pub created: Millis,
    #[serde(rename = "u")]
    pub updated: Millis,
    #[serde(rename = "p")]
    pub permissions: Vec<String>,
    #[serde(rename = "d")]
    pub data: Map<String, Value>,
}

impl Row {
    /// The bytes the store keeps (the sequence number is in the key).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(seq: u64, bytes: &[u8]) -> Result<Row, serde_json::Error> {
        let mut row: Row = serde_json::from_slice(bytes)?;
        row.seq = seq;
        Ok(row)
    }

    /// The value of a column or system attribute, as queries see it.
    pub fn attribute<'a>(&'a self, table: &'a Table, key: &str) -> Cow<'a, Value> {
        match key {
            "$id" => Cow::Owned(Value::String(self.id.clone())),
            "$sequence" => Cow::Owned(Value::from(self.seq)),
            "$createdAt" => Cow::Owned(Value::String(time::format(self.created))),
            "$updatedAt" => Cow::Owned(Value::String(time::format(self.updated))),
            _ => match self.data.get(key) {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(table.column(key).and_then(|c| c.default.clone()).unwrap_or(Value::Null)),
            },
        }
    }

    /// The map filters are evaluated against: the column values, plus the
    /// system attributes when a filter names any.
    pub fn eval_map<'a>(&'a self, table: &Table, with_system: bool) -> Cow<'a, Map<String, Value>> {
        let missing_defaults = table.columns.iter().any(|c| c.default.is_some() && !self.data.contains_key(&c.key));
        if !with_system && !missing_defaults {
            return Cow::Borrowed(&self.data);
        }
        let mut m = self.data.clone();
        for c in &table.columns {
            if let (Some(d), false) = (&c.default, m.contains_key(&c.key)) {
                m.insert(c.key.clone(), d.clone());
            }
        }
        if with_system {
            for k in ["$id", "$sequence", "$createdAt", "$updatedAt"] {
                m.insert(k.to_owned(), self.attribute(table, k).into_owned());
            }
        }
        Cow::Owned(m)
    }

    /// The API model of this row, ready to serialize.
    pub fn model<'a>(&'a self, table: &'a Table, flavor: Flavor, select: Option<&'a [String]>) -> RowModel<'a> {
        RowModel { row: self, table, flavor, select }
    }

    pub fn to_value(&self, table: &Table, flavor: Flavor) -> Value {
        serde_json::to_value(self.model(table, flavor, None)).unwrap_or(Value::Null)
    }
}

/// A row as the API shows it: `$id`, `$sequence` (a string, as in 1.9),
/// `$tableId` or `$collectionId`, `$databaseId`, timestamps, `$permissions`,
/// then every column in table order.
pub struct RowModel<'a> {
    row: &'a Row,
    table: &'a Table,
    flavor: Flavor,
    select: Option<&'a [String]>,
}

impl Serialize for RowModel<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let row = self.row;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("$id", &row.id)?;
        m.serialize_entry("$sequence", &row.seq.to_string())?;
        match self.flavor {
            Flavor::Tables => m.serialize_entry("$tableId", &self.table.id)?,
            Flavor::Collections => m.serialize_entry("$collectionId", &self.table.id)?,
        }
        m.serialize_entry("$databaseId", &self.table.db)?;
        m.serialize_entry("$createdAt", &time::format(row.created))?;
        m.serialize_entry("$updatedAt", &time::format(row.updated))?;
        m.serialize_entry("$permissions", &row.permissions)?;
        let all = self.select.is_none_or(|s| s.iter().any(|k| k == "*"));
        for col in &self.table.columns {
            if !all && !self.select.is_some_and(|s| s.contains(&col.key)) {
                continue;
            }
            match row.data.get(&col.key) {
                Some(v) => m.serialize_entry(&col.key, v)?,
                None => m.serialize_entry(&col.key, col.default.as_ref().unwrap_or(&Value::Null))?,
            }
        }
        m.end()
    }
}

/// System fields a client may send inside `data` that are not columns.
fn is_system(key: &str) -> bool {
    key.starts_with('$')
}

/// Check the `data` of a new row: known columns, valid values, defaults and
/// required columns. System fields (`$id`, `$permissions`, ...) are ignored
/// here; callers read the ones they honour before.
pub fn check_create(table: &Table, data: &Map<String, Value>) -> Result<Map<String, Value>, Exception> {
    let mut out = Map::with_capacity(table.columns.len());
    for (key, value) in data {
        if is_system(key) {
            continue;
        }
        let col = table.column(key).ok_or_else(|| unknown(key))?;
        out.insert(key.clone(), col.check(value)?);
    }
    for col in &table.columns {
        if !out.contains_key(&col.key) {
            if col.required {
                return Err(Exception::msg(
                    ErrorType::RowInvalidStructure,
                    format!("Invalid document structure: Missing required attribute \"{}\"", col.key),
                ));
            }
            if let Some(d) = &col.default {
                out.insert(col.key.clone(), d.clone());
            }
        }
    }
    Ok(out)
}

/// Check a partial update and merge it into `current`.
pub fn check_update(
    table: &Table,
    current: &Map<String, Value>,
    data: &Map<String, Value>,
) -> Result<Map<String, Value>, Exception> {
    let mut out = current.clone();
    for (key, value) in data {
        if is_system(key) {
            continue;
        }
        let col = table.column(key).ok_or_else(|| unknown(key))?;
        out.insert(key.clone(), col.check(value)?);
    }
    Ok(out)
}

fn unknown(key: &str) -> Exception {
    Exception::msg(ErrorType::RowInvalidStructure, format!("Invalid document structure: Unknown attribute: \"{key}\""))
}

/// Reject rows over [`MAX_ROW_BYTES`] once encoded.
pub fn check_size(encoded: &[u8]) -> Result<(), Exception> {
    if encoded.len() > MAX_ROW_BYTES {
        return Err(Exception::msg(
            ErrorType::RowInvalidStructure,
            format!(
                "Invalid document structure: the row is {} bytes once stored; the limit is {MAX_ROW_BYTES} bytes",
                encoded.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::column::{Column, ColumnType};
    use serde_json::json;

    fn table() -> Table {
        let col = |key: &str, ty, required, default: Option<Value>| Column {
            key: key.into(),
            ty,
            required,
            array: false,
            size: Some(32),
            min: None,
            max: None,
            elements: vec![],
            default,
            encrypt: false,
            created: 0,
            updated: 0,
        };
        Table {
            id: "games".into(),
            db: "main".into(),
            name: "Games".into(),
            permissions: vec![],
            row_security: true,
            enabled: true,
            columns: vec![
                col("winner", ColumnType::String, true, None),
                col("score", ColumnType::Integer, false, Some(json!(0))),
            ],
            indexes: vec![],
            tid: 1,
            version: 1,
            created: 0,
            updated: 0,
        }
    }

    #[test]
    fn model_has_appwrite_field_order() {
        let t = table();
        let data = check_create(&t, json!({"winner": "u1"}).as_object().unwrap()).unwrap();
        let row = Row { id: "g1".into(), seq: 17, version: 17, created: 0, updated: 0, permissions: vec![], data };
        let s = serde_json::to_string(&row.model(&t, Flavor::Tables, None)).unwrap();
        assert_eq!(
            s,
            r#"{"$id":"g1","$sequence":"17","$tableId":"games","$databaseId":"main","$createdAt":"1970-01-01T00:00:00.000+00:00","$updatedAt":"1970-01-01T00:00:00.000+00:00","$permissions":[],"winner":"u1","score":0}"#
        );
        let back = Row::decode(17, &row.encode()).unwrap();
        assert_eq!(back, row);
    }

    #[test]
    fn unknown_and_missing_columns_rejected() {
        let t = table();
        let e = check_create(&t, json!({"winner": "u", "nope": 1}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.message, "Invalid document structure: Unknown attribute: \"nope\"");
        let e = check_create(&t, json!({"score": 1}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.kind, ErrorType::RowInvalidStructure);
        let merged = check_update(
            &t,
            json!({"winner":"a","score":1}).as_object().unwrap(),
            json!({"score": 5}).as_object().unwrap(),
        )
        .unwrap();
        assert_eq!(merged["score"], json!(5));
    }
}
