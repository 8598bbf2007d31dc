//! Reading rows: point lookups and list queries, with the query planner.
//!
//! A list request is answered from one *source* of candidate rows, then
//! every filter is checked on each candidate (so an index only narrows the
//! search, it never decides a match on its own), then the page is cut:
//!
//! * `$id` equality: direct lookups;
//! * an available index whose leading columns are fixed by `equal` filters,
//!   optionally followed by a range (`lessThan`…, `between`, `startsWith`) on
//!   the next column, or an `equal` with several values on the first: a scan
//!   of just those index ranges (so a query on an indexed column never scans
//!   the table);
//! * an index on the single sort column: a scan in index order;
//! * otherwise the table in `$sequence` order.
//!
//! When the source already yields the requested order, rows stream and the
//! scan stops as soon as the page is full and `total` is counted (up to
//! [`MAX_COUNT`], Appwrite's cap). Otherwise the matches are ranked with a
//! bounded heap of `offset + limit` rows, so memory stays bounded whatever the
//! table size.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Bound;

use serde_json::Value;

use crate::model::catalog::{IndexStatus, Table};
use crate::model::column::ColumnType;
use crate::model::exception::{ErrorType, Exception};
use crate::model::permission::{self, Action};
use crate::model::query::{Cursor, Direction, Filter, ListQuery};
use crate::model::row::Row;
use crate::store::{Store, codec};

/// `total` counts at most this many rows (Appwrite's `APP_LIMIT_COUNT`).
pub const MAX_COUNT: u64 = 5000;

/// Which rows of a table a caller may read.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// Every row (API keys, or table-level read permission).
    All,
    /// Only rows whose own `read` permissions name one of these roles.
    Rows(&'a [String]),
}

impl Access<'_> {
    pub fn admits(&self, row: &Row) -> bool {
        match self {
            Access::All => true,
            Access::Rows(roles) => permission::allows(&row.permissions, Action::Read, roles),
        }
    }
}

/// One page of a list request.
#[derive(Debug, Default)]
pub struct Page {
    pub total: u64,
    pub rows: Vec<Row>,
    /// Candidate rows read from the store to answer (for tests and tuning).
    pub examined: u64,
}

/// How the planner decided to find candidates (exposed for tests and `EXPLAIN`-style checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Ids(usize),
    IndexRanges { index: String, ranges: usize },
    IndexOrder { index: String },
    TableScan,
}

struct Source {
    plan: Plan,
    /// Whether the candidates come in the requested order.
    ordered: bool,
}

/// List rows of `table` matching `q`, as `access` allows. `count_total`
/// false skips counting (Appwrite's `total=false`).
pub fn list(
    store: &Store,
    table: &Table,
    q: &ListQuery,
    access: Access<'_>,
    count_total: bool,
) -> Result<(Page, Plan), Exception> {
    let order = effective_order(q);
    let source = plan(table, q, &order);
    let needs_system = q.filters.iter().any(|f| f.attributes().iter().any(|a| a.starts_with('$')));
    let matches = |row: &Row| -> bool {
        if !access.admits(row) {
            return false;
        }
        let map = row.eval_map(table, needs_system);
        q.filters.iter().all(|f| f.matches(&map))
    };
    let cursor_key = match &q.cursor {
        None => None,
        Some(Cursor::After(id) | Cursor::Before(id)) => {
            let row = store.row(table.tid, id)?.ok_or_else(|| {
                Exception::msg(ErrorType::GeneralCursorNotFound, format!("Cursor not found: row '{id}' does not exist"))
            })?;
            Some(sort_key(table, &row, &order))
        }
    };
    let before = matches!(q.cursor, Some(Cursor::Before(_)));
    let want = q.offset.saturating_add(q.limit);
    let mut total = 0u64;
    let mut page: Vec<Row> = Vec::new();

    // Rank by the requested order with a bounded heap unless the source is already ordered.
    let streaming = source.ordered && !before;
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::new();
    let mut seen_after_cursor = 0u64;

    let mut examined = 0u64;
    let mut visit = |row: Row| -> bool {
        examined += 1;
        if !matches(&row) {
            return true;
        }
        total += 1;
        let key = sort_key(table, &row, &order);
        let past_cursor = match (&cursor_key, before) {
            (None, _) => true,
            (Some(c), false) => compare_keys(&key, c, &order) == Ordering::Greater,
            (Some(c), true) => compare_keys(&key, c, &order) == Ordering::Less,
        };
        if past_cursor {
            if streaming {
                seen_after_cursor += 1;
                if seen_after_cursor > q.offset && (page.len() as u64) < q.limit {
                    page.push(row);
                }
            } else {
                // For cursorBefore keep the `want` rows closest to the cursor: rank reversed.
                heap.push(Ranked { key, row, order: order.clone(), reverse: before });
                if heap.len() as u64 > want {
                    heap.pop();
                }
            }
        }
        let page_full = streaming && page.len() as u64 >= q.limit;
        let counted = !count_total || total >= MAX_COUNT;
        !(page_full && counted)
    };
    scan(store, table, q, &order, &source.plan, &mut visit)?;

    if !streaming {
        let mut ranked: Vec<Ranked> = heap.into_vec();
        ranked.sort();
        // Sorted closest to the cursor first (for cursorBefore the ranking is
        // reversed); cut the page there, then restore the requested order.
        page = ranked.into_iter().map(|r| r.row).skip(q.offset as usize).take(q.limit as usize).collect();
        if before {
            page.reverse();
        }
    }
    let total = if count_total { total.min(MAX_COUNT) } else { 0 };
    Ok((Page { total, rows: page, examined }, source.plan))
}

/// List rows already in memory (a transaction's view): filter, order, page.
pub fn list_in_memory(
    table: &Table,
    rows: Vec<Row>,
    q: &ListQuery,
    access: Access<'_>,
    count_total: bool,
) -> Result<Page, Exception> {
    let examined = rows.len() as u64;
    let order = effective_order(q);
    let needs_system = q.filters.iter().any(|f| f.attributes().iter().any(|a| a.starts_with('$')));
    let cursor_key = match &q.cursor {
        None => None,
        Some(Cursor::After(id) | Cursor::Before(id)) => {
            let row = rows.iter().find(|r| &r.id == id).ok_or_else(|| {
                Exception::msg(ErrorType::GeneralCursorNotFound, format!("Cursor not found: row '{id}' does not exist"))
            })?;
            Some(sort_key(table, row, &order))
        }
    };
    let mut matched: Vec<(Vec<Value>, Row)> = rows
        .into_iter()
        .filter(|row| {
            access.admits(row) && {
                let map = row.eval_map(table, needs_system);
                q.filters.iter().all(|f| f.matches(&map))
            }
        })
        .map(|row| (sort_key(table, &row, &order), row))
        .collect();
    matched.sort_by(|a, b| compare_keys(&a.0, &b.0, &order));
    let total = if count_total { (matched.len() as u64).min(MAX_COUNT) } else { 0 };
    let (offset, limit) = (q.offset as usize, q.limit as usize);
    let rows: Vec<Row> = match (&cursor_key, &q.cursor) {
        (Some(c), Some(Cursor::Before(_))) => {
            let before: Vec<Row> = matched
                .into_iter()
                .filter(|(k, _)| compare_keys(k, c, &order) == Ordering::Less)
                .map(|(_, r)| r)
                .collect();
            let end = before.len().saturating_sub(offset);
            let start = end.saturating_sub(limit);
            before[start..end].to_vec()
        }
        (Some(c), _) => matched
            .into_iter()
            .filter(|(k, _)| compare_keys(k, c, &order) == Ordering::Greater)
            .map(|(_, r)| r)
            .skip(offset)
            .take(limit)
            .collect(),
        (None, _) => matched.into_iter().map(|(_, r)| r).skip(offset).take(limit).collect(),
    };
    Ok(Page { total, rows, examined })
}

/// The order actually applied: the requested one, then `$sequence` as tie-break.
fn effective_order(q: &ListQuery) -> Vec<(String, Direction)> {
    let mut order = q.order.clone();
    if !order.iter().any(|(a, _)| a == "$sequence") {
        // Ties are broken by insertion order, whatever the direction.
        order.push(("$sequence".to_owned(), Direction::Asc));
    }
    order
}

fn plan(table: &Table, q: &ListQuery, order: &[(String, Direction)]) -> Source {
    let seq_order = order.len() == 1 && order[0].0 == "$sequence";
    if let Some(ids) = q.filters.iter().find_map(|f| match f {
        Filter::Equal(a, vals) if a == "$id" => Some(vals.len()),
        _ => None,
    }) {
        return Source { plan: Plan::Ids(ids), ordered: false };
    }
    let mut best: Option<(usize, Plan)> = None;
    for index in table.indexes.iter().filter(|i| i.status == IndexStatus::Available) {
        let mut score = 0;
        let mut ranges = 1;
        for (pos, col) in index.columns.iter().enumerate() {
            match equal_values(&q.filters, col) {
                Some(1) => score += 2,
                Some(n) if pos == 0 => {
                    score += 2;
                    ranges = n;
                    break;
                }
                _ => {
                    if range_filter(&q.filters, col).is_some() {
                        score += 1;
                    }
                    break;
                }
            }
        }
        if score > 0 && best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, Plan::IndexRanges { index: index.key.clone(), ranges }));
        }
    }
    if let Some((_, plan)) = best {
        return Source { plan, ordered: false };
    }
    if order.len() == 2
        && let Some(index) =
            table.indexes.iter().find(|i| i.status == IndexStatus::Available && i.columns.first() == Some(&order[0].0))
    {
        // Entries of a one-column index are ordered by value, then by seq:
        // exactly the effective order when ascending.
        let ordered = index.columns.len() == 1 && order[0].1 == Direction::Asc;
        return Source { plan: Plan::IndexOrder { index: index.key.clone() }, ordered };
    }
    Source { plan: Plan::TableScan, ordered: seq_order }
}

fn equal_values(filters: &[Filter], col: &str) -> Option<usize> {
    filters.iter().find_map(|f| match f {
        Filter::Equal(a, vals) if a == col && !vals.is_empty() => Some(vals.len()),
        _ => None,
    })
}

fn range_filter<'a>(filters: &'a [Filter], col: &str) -> Option<&'a Filter> {
    filters.iter().find(|f| match f {
        Filter::LessThan(a, _)
        | Filter::LessThanEqual(a, _)
        | Filter::GreaterThan(a, _)
        | Filter::GreaterThanEqual(a, _)
        | Filter::Between(a, _, _) => a == col,
        Filter::StartsWith(a, _) => a == col,
        _ => false,
    })
}

/// Feed candidates to `visit` until it returns false.
fn scan(
    store: &Store,
    table: &Table,
    q: &ListQuery,
    order: &[(String, Direction)],
    plan: &Plan,
    visit: &mut dyn FnMut(Row) -> bool,
) -> Result<(), Exception> {
    match plan {
        Plan::Ids(_) => {
            let ids: Vec<&Value> = q
                .filters
                .iter()
                .find_map(|f| match f {
                    Filter::Equal(a, vals) if a == "$id" => Some(vals.iter().collect()),
                    _ => None,
                })
                .unwrap_or_default();
            let mut rows = Vec::new();
            for id in ids.iter().filter_map(|v| v.as_str()) {
                if let Some(row) = store.row(table.tid, id)?
                    && !rows.iter().any(|r: &Row| r.seq == row.seq)
                {
                    rows.push(row);
                }
            }
            rows.sort_by_key(|r| r.seq);
            for row in rows {
                if !visit(row) {
                    break;
                }
            }
        }
        Plan::IndexRanges { index, .. } => {
            let index = table.index(index).ok_or_else(|| Exception::internal("planned index vanished"))?;
            for (lo, hi) in index_ranges(table, index, &q.filters) {
                for seq in store.scan_index(lo, hi, false) {
                    if let Some(row) = store.row_at(table.tid, seq?)?
                        && !visit(row)
                    {
                        return Ok(());
                    }
                }
            }
        }
        Plan::IndexOrder { index } => {
            let index = table.index(index).ok_or_else(|| Exception::internal("planned index vanished"))?;
            let prefix = index.iid.to_be_bytes().to_vec();
            let hi = crate::store::keys::prefix_end(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
            let reverse = order[0].1 == Direction::Desc;
            for seq in store.scan_index(Bound::Included(prefix), hi, reverse) {
                if let Some(row) = store.row_at(table.tid, seq?)?
                    && !visit(row)
                {
                    return Ok(());
                }
            }
        }
        Plan::TableScan => {
            let reverse = order.first().is_some_and(|(a, d)| a == "$sequence" && *d == Direction::Desc);
            for row in store.scan_rows(table.tid, None, reverse) {
                if !visit(row?) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// A range of index keys.
type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Key ranges of `index` that hold every row the filters can match.
fn index_ranges(table: &Table, index: &crate::model::catalog::Index, filters: &[Filter]) -> Vec<KeyRange> {
    let ty = |col: &str| table.attribute_type(col).map(|(t, _)| t).unwrap_or(ColumnType::String);
    let mut prefixes: Vec<Vec<u8>> = vec![index.iid.to_be_bytes().to_vec()];
    let mut range: Option<&Filter> = None;
    for (pos, col) in index.columns.iter().enumerate() {
        let eq = filters.iter().find_map(|f| match f {
            Filter::Equal(a, vals) if a == col && !vals.is_empty() => Some(vals),
            _ => None,
        });
        match eq {
            Some(vals) if vals.len() == 1 || pos == 0 => {
                let mut next = Vec::with_capacity(prefixes.len() * vals.len());
                for p in &prefixes {
                    for v in vals {
                        let mut k = p.clone();
                        codec::encode(v, ty(col), &mut k);
                        next.push(k);
                    }
                }
                prefixes = next;
                if vals.len() > 1 {
                    break;
                }
            }
            _ => {
                range = range_filter(filters, col);
                if let Some(f) = range {
                    return prefixes.iter().map(|p| range_bounds(p, f, ty(col))).collect();
                }
                break;
            }
        }
    }
    let _ = range;
    prefixes
        .into_iter()
        .map(|p| {
            let hi = crate::store::keys::prefix_end(&p).map_or(Bound::Unbounded, Bound::Excluded);
            (Bound::Included(p), hi)
        })
        .collect()
}

/// Bounds for a range filter on the column after `prefix`.
fn range_bounds(prefix: &[u8], f: &Filter, ty: ColumnType) -> KeyRange {
    let enc = |v: &Value| {
        let mut k = prefix.to_vec();
        codec::encode(v, ty, &mut k);
        k
    };
    let end_of = |k: Vec<u8>| crate::store::keys::prefix_end(&k).map_or(Bound::Unbounded, Bound::Excluded);
    // Non-null values only: nulls encode first and never satisfy a comparison.
    let above_nulls = {
        let mut k = prefix.to_vec();
        codec::encode(&Value::Null, ty, &mut k);
        end_of(k)
    };
    let whole_end = end_of(prefix.to_vec());
    let lower_incl = |v: &Value| Bound::Included(enc(v));
    match f {
        Filter::GreaterThan(_, v) => (end_of(enc(v)), whole_end),
        Filter::GreaterThanEqual(_, v) => (lower_incl(v), whole_end),
        Filter::LessThan(_, v) => (above_nulls, Bound::Excluded(enc(v))),
        Filter::LessThanEqual(_, v) => (above_nulls, end_of(enc(v))),
        Filter::Between(_, a, b) => (lower_incl(a), end_of(enc(b))),
        Filter::StartsWith(_, s) => {
            let mut k = prefix.to_vec();
            codec::encode_prefix(s, &mut k);
            (Bound::Included(k.clone()), end_of(k))
        }
        _ => (Bound::Included(prefix.to_vec()), whole_end),
    }
}

fn sort_key(table: &Table, row: &Row, order: &[(String, Direction)]) -> Vec<Value> {
    order.iter().map(|(a, _)| row.attribute(table, a).into_owned()).collect()
}

fn compare_keys(a: &[Value], b: &[Value], order: &[(String, Direction)]) -> Ordering {
    for ((x, y), (_, dir)) in a.iter().zip(b).zip(order) {
        let o = compare_values(x, y);
        let o = if *dir == Direction::Desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// A total order on JSON values: null < booleans < numbers < strings < others.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0)),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A row in the ranking heap: the heap keeps the *worst* on top so it can be
/// popped when the heap grows past the page.
struct Ranked {
    key: Vec<Value>,
    row: Row,
    order: Vec<(String, Direction)>,
    reverse: bool,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        let o = compare_keys(&self.key, &other.key, &self.order);
        if self.reverse { o.reverse() } else { o }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_order_is_total() {
        let mut v = vec![json!("b"), json!(2), Value::Null, json!(true), json!(1.5), json!("a")];
        v.sort_by(compare_values);
        assert_eq!(v, vec![Value::Null, json!(true), json!(1.5), json!(2), json!("a"), json!("b")]);
    }
}
