//! Appwrite queries: parsing, validation against a table's columns, and evaluation.
//!
//! List endpoints take `queries[]`, each a JSON string such as
//! `{"method":"equal","attribute":"status","values":["won"]}` (the SDKs'
//! `Query.toString()`); realtime subscriptions take the same objects. This
//! module turns them into typed [`Query`] values, and is the one place that
//! knows Appwrite's (utopia-php/database 7.2.x, as used by Appwrite 1.9.6) rules
//! and error messages for them, so every endpoint rejects a bad query the way
//! Appwrite does.
//!
//! What callers may rely on:
//!
//! * [`list_query`] returns only queries that passed Appwrite's validators for
//!   the given [`Schema`]: every attribute exists, values have the column's
//!   type, datetimes are normalised to `YYYY-MM-DDTHH:MM:SS.mmm+00:00` (UTC),
//!   `$sequence` values are integers, `limit` is in `1..=MAX_LIMIT`. Filter
//!   values can therefore be compared with stored values directly, or encoded
//!   with the store's index codec.
//! * As in Appwrite, the first `limit`, `offset` and cursor win and later ones
//!   are ignored; every `select` adds to the selection; orders apply in order.
//! * Rejections are [`Exception`]s carrying Appwrite's type and message:
//!   `general_argument_invalid` for the count/length limits of the `queries`
//!   parameter, `general_query_invalid` for everything else, and
//!   `realtime_message_format_invalid` from [`realtime_filters`].
//! * [`Filter::matches`] evaluates a filter on a row's JSON object with the
//!   database's semantics (see its docs); it never panics.
//!
//! Methods Appwrite has but Arcade does not implement (full-text search,
//! spatial and vector queries, `orderRandom`, the `not*` variants, `containsAny`,
//! `containsAll`, `exists`, `notExists`) are rejected with `general_query_invalid`.

use std::cmp::Ordering;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use serde_json::{Map, Value};

use crate::model::column::ColumnType;
use crate::model::exception::{ErrorType, Exception};

/// Queries per request (Appwrite's `APP_LIMIT_ARRAY_PARAMS_SIZE`).
pub const MAX_QUERIES: usize = 100;
/// Characters per query string (Appwrite's `APP_LIMIT_ARRAY_ELEMENT_SIZE`).
pub const MAX_QUERY_LENGTH: usize = 4096;
/// Values per attribute query (Appwrite's `APP_DATABASE_QUERY_MAX_VALUES`, 500 in 1.9.6).
pub const MAX_VALUES: usize = 500;
/// Largest accepted `limit` (Appwrite's `APP_LIMIT_COUNT`).
pub const MAX_LIMIT: u64 = 5000;
/// Page size when a request has no `limit` (Appwrite's `APP_LIMIT_LIST_DEFAULT`).
pub const DEFAULT_LIMIT: u64 = 25;

/// Longest row ID a cursor may name (utopia's `MAX_UID_DEFAULT_LENGTH`).
const MAX_UID_LENGTH: usize = 36;
/// How deeply `and`/`or` may nest; deeper input is rejected rather than recursed into.
const MAX_DEPTH: usize = 32;
/// Largest offset: PHP's `PHP_INT_MAX`, the bound of utopia's offset validator.
const MAX_OFFSET: u64 = i64::MAX as u64;

/// A condition on a row. Values are JSON as the client sent them (after
/// [`list_query`], coerced to the column's type).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The attribute equals one of the values (SQL `IN`).
    Equal(String, Vec<Value>),
    /// The attribute equals none of the values.
    NotEqual(String, Vec<Value>),
    LessThan(String, Value),
    LessThanEqual(String, Value),
    GreaterThan(String, Value),
    GreaterThanEqual(String, Value),
    /// Inclusive at both ends, like SQL `BETWEEN`.
    Between(String, Value, Value),
    IsNull(String),
    IsNotNull(String),
    StartsWith(String, String),
    EndsWith(String, String),
    /// On an array: an element equals one of the values. On a string: one of
    /// the values is a substring.
    Contains(String, Vec<Value>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

/// Sort direction of an `orderAsc`/`orderDesc` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// A pagination cursor: the `$id` of a row in the same table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    After(String),
    Before(String),
}

/// One parsed query (a JSON object like `{"method":"equal","attribute":"status","values":["won"]}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Filter(Filter),
    Select(Vec<String>),
    Order(String, Direction),
    Limit(u64),
    Offset(u64),
    Cursor(Cursor),
}

/// What a column-aware validator needs to know about the table.
pub trait Schema {
    /// The column's type and whether it is an array; None if no such column. System attributes
    /// `$id`, `$sequence`, `$createdAt`, `$updatedAt` must be answered by the implementor too
    /// ($id: String, $sequence: Integer, $createdAt/$updatedAt: Datetime).
    fn column(&self, key: &str) -> Option<(ColumnType, bool)>;
}

/// A validated list request: filters are ANDed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    pub filters: Vec<Filter>,
    /// The selected attributes (may contain `*` and system attributes); None when no `select`.
    pub select: Option<Vec<String>>,
    pub order: Vec<(String, Direction)>,
    /// [`DEFAULT_LIMIT`] when the request has no `limit`.
    pub limit: u64,
    pub offset: u64,
    /// Only the ID's syntax is checked here. Appwrite then looks the row up and,
    /// if it is gone, answers `general_cursor_not_found` with
    /// `Row '<id>' for the 'cursor' value not found.`; that is the caller's job.
    pub cursor: Option<Cursor>,
}

/// Parse one query string: the `queries[]` length limit, JSON syntax, a known
/// method, and the value shapes the method needs. Does not look at columns.
pub fn parse(s: &str) -> Result<Query, Exception> {
    if !length_ok(s) {
        return Err(queries_param_invalid());
    }
    let raw = raw_from_str(s, 0).map_err(query_invalid)?;
    to_query(&raw).map_err(query_invalid)
}

/// Parse an already-decoded query: a JSON object, or a string holding one.
pub fn parse_value(v: &Value) -> Result<Query, Exception> {
    let raw = raw_from_item(v, 0).map_err(query_invalid)?;
    to_query(&raw).map_err(query_invalid)
}

/// Parse and validate the `queries[]` of a list request against the schema, the
/// way Appwrite's list endpoints and utopia's `Documents` validator do, in the
/// same order: parameter limits, then syntax of every query, then the first
/// cursor, then each query's method, attribute and values.
pub fn list_query(queries: &[String], schema: &dyn Schema) -> Result<ListQuery, Exception> {
    if queries.len() > MAX_QUERIES || !queries.iter().all(|q| length_ok(q)) {
        return Err(queries_param_invalid());
    }
    let raws = queries.iter().map(|q| raw_from_str(q, 0)).collect::<Result<Vec<_>, _>>().map_err(query_invalid)?;

    // Appwrite looks the cursor row up before running the validators, so a bad
    // first cursor is reported on its own, without the "Invalid query: " prefix.
    if let Some(cursor) = raws.iter().find(|r| is_cursor(&r.method)) {
        cursor_id(cursor).map_err(query_invalid)?;
    }

    let mut list = ListQuery { limit: DEFAULT_LIMIT, ..ListQuery::default() };
    let (mut limit, mut offset) = (None, None);
    for raw in &raws {
        let checked = validate(raw, schema).map_err(|why| query_invalid(format!("Invalid query: {why}")))?;
        match to_query(&checked).map_err(query_invalid)? {
            Query::Filter(f) => list.filters.push(f),
            Query::Select(attrs) => list.select.get_or_insert_with(Vec::new).extend(attrs),
            Query::Order(attr, dir) => list.order.push((attr, dir)),
            Query::Limit(n) => {
                limit.get_or_insert(n);
            }
            Query::Offset(n) => {
                offset.get_or_insert(n);
            }
            Query::Cursor(c) => {
                list.cursor.get_or_insert(c);
            }
        }
    }
    list.limit = limit.unwrap_or(DEFAULT_LIMIT);
    list.offset = offset.unwrap_or(0);
    Ok(list)
}

/// The methods a realtime subscription may use, in Appwrite's order (`RuntimeQuery::ALLOWED_QUERIES`).
const REALTIME_METHODS: [&str; 11] = [
    "equal",
    "notEqual",
    "lessThan",
    "lessThanEqual",
    "greaterThan",
    "greaterThanEqual",
    "isNull",
    "isNotNull",
    "and",
    "or",
    "select",
];

/// Realtime subscription queries (appwrite-realtime-protocol.md §6): only equal, notEqual,
/// lessThan(Equal), greaterThan(Equal), isNull, isNotNull, and, or, and select(["*"]).
///
/// Each item is a query string (what the SDKs send) or an already-decoded
/// object. Returns the filters a payload must all match. As in Appwrite, a
/// top-level `select(["*"])` means "every event", so it makes the result empty
/// whatever else was given. A comparison with several values matches if any of
/// them does (it becomes an `Or`). Errors are `realtime_message_format_invalid`
/// with Appwrite's messages, e.g. `Invalid query: Query method 'search' is not
/// supported in Realtime queries. Allowed: equal, notEqual, …`.
pub fn realtime_filters(queries: &[Value]) -> Result<Vec<Filter>, Exception> {
    let realtime_invalid =
        |why: String| Exception::msg(ErrorType::RealtimeMessageFormatInvalid, format!("Invalid query: {why}"));
    let raws = queries.iter().map(|q| raw_from_item(q, 0)).collect::<Result<Vec<_>, _>>().map_err(realtime_invalid)?;

    // Appwrite checks with a stack, so the last offending query is the one reported.
    let mut stack: Vec<&Raw> = raws.iter().collect();
    while let Some(raw) = stack.pop() {
        if !REALTIME_METHODS.contains(&raw.method.as_str()) {
            return Err(realtime_invalid(format!(
                "Query method '{}' is not supported in Realtime queries. Allowed: {}",
                raw.method,
                REALTIME_METHODS.join(", ")
            )));
        }
        if raw.method == "select" && !is_select_all(raw) {
            return Err(realtime_invalid(
                "Only select(\"*\") is allowed in Realtime queries. select(\"*\") means \"listen to all events\"."
                    .to_string(),
            ));
        }
        stack.extend(raw.nested.iter());
    }

    if raws.iter().any(is_select_all) {
        return Ok(Vec::new());
    }
    Ok(raws.iter().map(realtime_filter).collect())
}

impl Filter {
    /// Evaluate against a row's JSON object (system fields like `$id` are keys of the same map).
    ///
    /// DB semantics: numbers compare numerically (1 == 1.0), strings by byte order, datetimes as
    /// their normalised strings; a missing or null attribute fails every condition except IsNull;
    /// on an array column, Equal/Contains match if any element matches (NotEqual is their
    /// negation; the ordering conditions and StartsWith/EndsWith never match an array); Contains
    /// on a string is a substring test; NotEqual is true when the value equals none of the values.
    /// A number and a string holding an integer compare as numbers, because Appwrite 1.9 sends
    /// `$sequence` as a string. Values of different types are never equal or ordered.
    pub fn matches(&self, row: &Map<String, Value>) -> bool {
        match self {
            Filter::And(all) => all.iter().all(|f| f.matches(row)),
            Filter::Or(any) => any.iter().any(|f| f.matches(row)),
            Filter::IsNull(a) => row.get(a).is_none_or(Value::is_null),
            leaf => leaf.attribute().and_then(|a| row.get(a)).is_some_and(|v| !v.is_null() && leaf.test(v)),
        }
    }

    /// The attribute a leaf condition reads; None for `And`/`Or`.
    fn attribute(&self) -> Option<&str> {
        match self {
            Filter::And(_) | Filter::Or(_) => None,
            Filter::Equal(a, _)
            | Filter::NotEqual(a, _)
            | Filter::LessThan(a, _)
            | Filter::LessThanEqual(a, _)
            | Filter::GreaterThan(a, _)
            | Filter::GreaterThanEqual(a, _)
            | Filter::Between(a, _, _)
            | Filter::IsNull(a)
            | Filter::IsNotNull(a)
            | Filter::StartsWith(a, _)
            | Filter::EndsWith(a, _)
            | Filter::Contains(a, _) => Some(a),
        }
    }

    /// A leaf condition on a present, non-null value.
    fn test(&self, v: &Value) -> bool {
        let ordered = |x: &Value, want: fn(Ordering) -> bool| scalar_cmp(v, x).is_some_and(want);
        match self {
            Filter::IsNotNull(_) => true,
            Filter::Equal(_, values) => equals_any(v, values),
            Filter::NotEqual(_, values) => !equals_any(v, values),
            Filter::LessThan(_, x) => ordered(x, Ordering::is_lt),
            Filter::LessThanEqual(_, x) => ordered(x, Ordering::is_le),
            Filter::GreaterThan(_, x) => ordered(x, Ordering::is_gt),
            Filter::GreaterThanEqual(_, x) => ordered(x, Ordering::is_ge),
            Filter::Between(_, lo, hi) => ordered(lo, Ordering::is_ge) && ordered(hi, Ordering::is_le),
            Filter::StartsWith(_, p) => v.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Filter::EndsWith(_, p) => v.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            Filter::Contains(_, values) => contains(v, values),
            Filter::IsNull(_) | Filter::And(_) | Filter::Or(_) => false,
        }
    }

    /// Every attribute this filter reads (recursively), each once, in first-use order.
    pub fn attributes(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_attributes(&mut out);
        out
    }

    fn collect_attributes<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Filter::And(fs) | Filter::Or(fs) => fs.iter().for_each(|f| f.collect_attributes(out)),
            leaf => {
                if let Some(a) = leaf.attribute().filter(|a| !out.contains(a)) {
                    out.push(a);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Evaluation helpers

fn equals_any(v: &Value, values: &[Value]) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|item| values.iter().any(|x| same(item, x))),
        _ => values.iter().any(|x| same(v, x)),
    }
}

fn contains(v: &Value, values: &[Value]) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|item| values.iter().any(|x| same(item, x))),
        Value::String(s) => values.iter().any(|x| x.as_str().is_some_and(|x| s.contains(x))),
        _ => false,
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => a == b,
        _ => scalar_cmp(a, b) == Some(Ordering::Equal),
    }
}

/// Order of two scalars of the same kind; None for mixed kinds, nulls and containers.
fn scalar_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::String(y)) => {
            integer_string(y).and_then(|y| number_cmp(x, &serde_json::Number::from(y)))
        }
        (Value::String(x), Value::Number(y)) => {
            integer_string(x).and_then(|x| number_cmp(&serde_json::Number::from(x), y))
        }
        _ => None,
    }
}

/// A string that is exactly a decimal `i64` (`"17"`, `"-3"`), as `$sequence` is sent.
fn integer_string(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn as_integer(n: &serde_json::Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// Numeric order, exact across integers and floats.
fn number_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    match (as_integer(a), as_integer(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => int_float_cmp(x, b.as_f64()?),
        (None, Some(y)) => int_float_cmp(y, a.as_f64()?).map(Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    // |i| < 2^64, so `i as f64` is within one rounding step; when the rounded
    // value ties with `f`, `f` is integral and fits i128, so compare exactly.
    match (i as f64).partial_cmp(&f)? {
        Ordering::Equal => Some(i.cmp(&(f as i128))),
        other => Some(other),
    }
}

// ---------------------------------------------------------------------------
// Parsing: JSON to an untyped query, with utopia's `Query::parseQuery` rules

/// Every method utopia's `Query::isMethod` knows (7.2.x); anything else is
/// "Invalid query method". `regex` is not among them in 7.2.x.
const KNOWN_METHODS: [&str; 48] = [
    "equal",
    "notEqual",
    "lessThan",
    "lessThanEqual",
    "greaterThan",
    "greaterThanEqual",
    "contains",
    "containsAny",
    "notContains",
    "search",
    "notSearch",
    "orderAsc",
    "orderDesc",
    "orderRandom",
    "limit",
    "offset",
    "cursorAfter",
    "cursorBefore",
    "isNull",
    "isNotNull",
    "between",
    "notBetween",
    "startsWith",
    "notStartsWith",
    "endsWith",
    "notEndsWith",
    "crosses",
    "notCrosses",
    "distanceEqual",
    "distanceNotEqual",
    "distanceGreaterThan",
    "distanceLessThan",
    "intersects",
    "notIntersects",
    "overlaps",
    "notOverlaps",
    "touches",
    "notTouches",
    "or",
    "and",
    "containsAll",
    "elemMatch",
    "select",
    "vectorDot",
    "vectorCosine",
    "vectorEuclidean",
    "exists",
    "notExists",
];

/// Known to Appwrite, rejected by Arcade.
const UNSUPPORTED_METHODS: [&str; 27] = [
    "containsAny",
    "containsAll",
    "notContains",
    "search",
    "notSearch",
    "orderRandom",
    "notBetween",
    "notStartsWith",
    "notEndsWith",
    "exists",
    "notExists",
    "crosses",
    "notCrosses",
    "distanceEqual",
    "distanceNotEqual",
    "distanceGreaterThan",
    "distanceLessThan",
    "intersects",
    "notIntersects",
    "overlaps",
    "notOverlaps",
    "touches",
    "notTouches",
    "vectorDot",
    "vectorCosine",
    "vectorEuclidean",
    "elemMatch",
];

/// The methods whose values are queries (utopia's `LOGICAL_TYPES`).
fn is_nested(method: &str) -> bool {
    matches!(method, "and" | "or" | "elemMatch")
}

fn is_cursor(method: &str) -> bool {
    matches!(method, "cursorAfter" | "cursorBefore")
}

/// Filters are everything but selection, ordering and pagination (utopia's `groupByType`).
fn is_filter(method: &str) -> bool {
    !matches!(
        method,
        "select" | "orderAsc" | "orderDesc" | "orderRandom" | "limit" | "offset" | "cursorAfter" | "cursorBefore"
    )
}

/// A query after JSON decoding, before its values are typed.
#[derive(Debug, Clone)]
struct Raw {
    method: String,
    /// `$sequence` for an order query without one, as utopia fills it in.
    attribute: String,
    /// Plain values; empty for the nested methods.
    values: Vec<Value>,
    /// The sub-queries of `and`/`or`/`elemMatch`.
    nested: Vec<Raw>,
}

fn raw_from_str(s: &str, depth: usize) -> Result<Raw, String> {
    let v: Value = serde_json::from_str(s).map_err(|_| "Invalid query: Syntax error".to_string())?;
    match v {
        Value::Object(_) | Value::Array(_) => raw_from_value(&v, depth),
        other => Err(format!("Invalid query. Must be an array, got {}", php_type(&other))),
    }
}

/// A query given as a decoded object, or (as realtime and some clients send
/// nested queries) as a string holding one.
fn raw_from_item(v: &Value, depth: usize) -> Result<Raw, String> {
    match v {
        Value::String(s) => raw_from_str(s, depth),
        Value::Object(_) | Value::Array(_) => raw_from_value(v, depth),
        other => Err(format!("Invalid query. Must be an array, got {}", php_type(other))),
    }
}

fn raw_from_value(v: &Value, depth: usize) -> Result<Raw, String> {
    if depth > MAX_DEPTH {
        return Err("Invalid query: Maximum stack depth exceeded".to_string());
    }
    let empty = Map::new();
    // A JSON array decodes to a PHP list, which has none of the keys.
    let obj = v.as_object().unwrap_or(&empty);
    let field = |key: &str| obj.get(key).filter(|v| !v.is_null());

    let method = match field("method") {
        None => "",
        Some(Value::String(m)) => m.as_str(),
        Some(other) => {
            return Err(format!("Invalid query method. Must be a string, got {}", php_type(other)));
        }
    };
    if !KNOWN_METHODS.contains(&method) {
        return Err(format!("Invalid query method: {method}"));
    }
    let attribute = match field("attribute") {
        None => "",
        Some(Value::String(a)) => a.as_str(),
        Some(other) => {
            return Err(format!("Invalid query attribute. Must be a string, got {}", php_type(other)));
        }
    };
    let values = match field("values") {
        None => Vec::new(),
        Some(Value::Array(vs)) => vs.clone(),
        Some(other) => {
            return Err(format!("Invalid query values. Must be an array, got {}", php_type(other)));
        }
    };
    let attribute =
        if attribute.is_empty() && matches!(method, "orderAsc" | "orderDesc") { "$sequence" } else { attribute };

    let (values, nested) = if is_nested(method) {
        let nested = values.iter().map(|q| raw_from_item(q, depth + 1)).collect::<Result<Vec<_>, _>>()?;
        (Vec::new(), nested)
    } else {
        (values, Vec::new())
    };
    Ok(Raw { method: method.to_string(), attribute: attribute.to_string(), values, nested })
}

/// PHP's `gettype` of a decoded JSON value, as utopia's messages print it.
fn php_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() => "integer",
        Value::Number(_) => "double",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "array",
    }
}

/// PHP's `get_debug_type`, used by the select validator.
fn php_debug_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "array",
    }
}

// ---------------------------------------------------------------------------
// Typing: an untyped query to a `Query`, with the checks that need no schema

/// The method name with its first letter upper-cased, as utopia's messages use it.
fn ucfirst(method: &str) -> String {
    let mut chars = method.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Why a method Appwrite knows is refused (without the `Invalid query: ` prefix).
fn unsupported(method: &str) -> String {
    if method == "elemMatch" {
        // What Appwrite itself says on SQL databases.
        return "elemMatch is not supported by the database".to_string();
    }
    format!("Query method '{method}' is not supported by Arcade")
}

/// Type a parsed query. Messages are complete (`Invalid query: …`).
fn to_query(raw: &Raw) -> Result<Query, String> {
    let attr = raw.attribute.clone();
    let one = || match raw.values.as_slice() {
        [v] => Ok(v.clone()),
        _ => Err(format!("Invalid query: {} queries require exactly one value.", ucfirst(&raw.method))),
    };
    let one_string = || match one()? {
        Value::String(s) => Ok(s),
        _ => Err(format!("Invalid query: Query value is invalid for attribute \"{}\"", raw.attribute)),
    };
    let filter = match raw.method.as_str() {
        "equal" => Filter::Equal(attr, raw.values.clone()),
        "notEqual" => Filter::NotEqual(attr, raw.values.clone()),
        "lessThan" => Filter::LessThan(attr, one()?),
        "lessThanEqual" => Filter::LessThanEqual(attr, one()?),
        "greaterThan" => Filter::GreaterThan(attr, one()?),
        "greaterThanEqual" => Filter::GreaterThanEqual(attr, one()?),
        "between" => match raw.values.as_slice() {
            [lo, hi] => Filter::Between(attr, lo.clone(), hi.clone()),
            _ => {
                return Err("Invalid query: Between queries require exactly two values.".to_string());
            }
        },
        "isNull" => Filter::IsNull(attr),
        "isNotNull" => Filter::IsNotNull(attr),
        "startsWith" => Filter::StartsWith(attr, one_string()?),
        "endsWith" => Filter::EndsWith(attr, one_string()?),
        "contains" => Filter::Contains(attr, raw.values.clone()),
        "and" | "or" => {
            let mut parts = Vec::with_capacity(raw.nested.len());
            for sub in &raw.nested {
                match to_query(sub)? {
                    Query::Filter(f) => parts.push(f),
                    _ => {
                        return Err(format!(
                            "Invalid query: {} queries can only contain filter queries",
                            ucfirst(&raw.method)
                        ));
                    }
                }
            }
            if raw.method == "and" { Filter::And(parts) } else { Filter::Or(parts) }
        }
        "select" => {
            let mut attrs = Vec::with_capacity(raw.values.len());
            for v in &raw.values {
                match v {
                    Value::String(s) => attrs.push(s.clone()),
                    other => {
                        return Err(format!(
                            "Invalid query: Attribute selection must be a string, got {}",
                            php_debug_type(other)
                        ));
                    }
                }
            }
            return Ok(Query::Select(attrs));
        }
        "orderAsc" => return Ok(Query::Order(attr, Direction::Asc)),
        "orderDesc" => return Ok(Query::Order(attr, Direction::Desc)),
        "limit" => {
            return limit(raw).map(Query::Limit).map_err(|why| format!("Invalid query: {why}"));
        }
        "offset" => {
            return offset(raw).map(Query::Offset).map_err(|why| format!("Invalid query: {why}"));
        }
        "cursorAfter" | "cursorBefore" => {
            let id = cursor_id(raw).map_err(|why| format!("Invalid query: {why}"))?;
            let cursor = if raw.method == "cursorAfter" { Cursor::After(id) } else { Cursor::Before(id) };
            return Ok(Query::Cursor(cursor));
        }
        other => return Err(format!("Invalid query: {}", unsupported(other))),
    };
    Ok(Query::Filter(filter))
}

/// What PHP's `is_numeric` and `+ 0` make of a limit or offset value.
enum Numeric {
    Not,
    Float,
    Int(i128),
}

fn php_numeric(v: Option<&Value>) -> Numeric {
    match v {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Numeric::Int(i128::from(i)),
            None => Numeric::Float,
        },
        Some(Value::String(s)) => {
            let t = s.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C'));
            let body = t.strip_prefix(['+', '-']).unwrap_or(t);
            let numeric_chars =
                body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
            if body.is_empty() || !numeric_chars || t.parse::<f64>().is_err() {
                Numeric::Not
            } else if body.bytes().all(|b| b.is_ascii_digit()) {
                t.trim_start_matches('+').parse::<i64>().map_or(Numeric::Float, |i| Numeric::Int(i128::from(i)))
            } else {
                Numeric::Float
            }
        }
        _ => Numeric::Not,
    }
}

/// The value of a `limit` query, with utopia's `Limit` validator messages (bounded by [`MAX_LIMIT`]).
fn limit(raw: &Raw) -> Result<u64, String> {
    let range = || format!("Invalid limit: Value must be a valid range between 1 and {}", thousands(MAX_LIMIT));
    match php_numeric(raw.values.first()) {
        Numeric::Not => Err("Invalid limit: Value must be a valid number".to_string()),
        Numeric::Float => Err(range()),
        Numeric::Int(n) => u64::try_from(n).ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(range),
    }
}

/// The value of an `offset` query, with utopia's `Offset` validator messages
/// (including its "Invalid limit" wording for a non-number).
fn offset(raw: &Raw) -> Result<u64, String> {
    let range = || format!("Invalid offset: Value must be a valid range between 0 and {}", thousands(MAX_OFFSET));
    match php_numeric(raw.values.first()) {
        Numeric::Not => Err("Invalid limit: Value must be a valid number".to_string()),
        Numeric::Float => Err(range()),
        Numeric::Int(n) => u64::try_from(n).ok().filter(|n| *n <= MAX_OFFSET).ok_or_else(range),
    }
}

/// The row ID of a cursor query, checked like utopia's `UID` validator.
fn cursor_id(raw: &Raw) -> Result<String, String> {
    let valid = match raw.values.first() {
        Some(Value::String(id)) => {
            !id.is_empty()
                && !id.starts_with(['_', '.', '-'])
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                && id.len() <= MAX_UID_LENGTH
        }
        _ => false,
    };
    match raw.values.first() {
        Some(Value::String(id)) if valid => Ok(id.clone()),
        _ => Err(format!(
            "Invalid cursor: UID must contain at most {MAX_UID_LENGTH} chars. Valid chars are a-z, A-Z, 0-9, and underscore. Can't start with a leading underscore"
        )),
    }
}

/// `5000` as PHP's `number_format` prints it: `5,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn length_ok(q: &str) -> bool {
    let chars = q.chars().count();
    (1..=MAX_QUERY_LENGTH).contains(&chars)
}

fn queries_param_invalid() -> Exception {
    Exception::invalid_param(
        "queries",
        format!(
            "Value must a valid array no longer than {MAX_QUERIES} items and Value must be a valid string and at least 1 chars and no longer than {MAX_QUERY_LENGTH} chars"
        ),
    )
}

fn query_invalid(message: String) -> Exception {
    Exception::msg(ErrorType::GeneralQueryInvalid, message)
}

// ---------------------------------------------------------------------------
// Validation against the schema (utopia's `Documents` queries validator)

/// System attributes a `select` may name without a column (utopia's `INTERNAL_ATTRIBUTES`).
const INTERNAL_ATTRIBUTES: [&str; 7] =
    ["$id", "$sequence", "$collection", "$tenant", "$createdAt", "$updatedAt", "$permissions"];

/// Validate one query and return it with its values coerced to the column types.
/// The error is the validator's description, without the `Invalid query: ` prefix.
fn validate(raw: &Raw, schema: &dyn Schema) -> Result<Raw, String> {
    // Like utopia, check the sub-queries before the query that holds them.
    let nested = raw.nested.iter().map(|sub| validate(sub, schema)).collect::<Result<Vec<_>, _>>()?;
    let mut out = Raw { nested, ..raw.clone() };

    if UNSUPPORTED_METHODS.contains(&raw.method.as_str()) {
        return Err(unsupported(&raw.method));
    }
    match raw.method.as_str() {
        "select" => validate_select(raw, schema)?,
        "limit" => {
            limit(raw)?;
        }
        "offset" => {
            offset(raw)?;
        }
        "cursorAfter" | "cursorBefore" => {
            cursor_id(raw)?;
        }
        "orderAsc" | "orderDesc" => {
            if schema.column(&raw.attribute).is_none() {
                return Err(format!("Attribute not found in schema: {}", raw.attribute));
            }
        }
        _ => out.values = validate_filter(&out, schema)?,
    }
    Ok(out)
}

fn validate_select(raw: &Raw, schema: &dyn Schema) -> Result<(), String> {
    if raw.values.is_empty() {
        return Err("No attributes selected".to_string());
    }
    let mut names = Vec::with_capacity(raw.values.len());
    for v in &raw.values {
        match v {
            Value::String(s) => names.push(s.as_str()),
            other => {
                return Err(format!("Attribute selection must be a string, got {}", php_debug_type(other)));
            }
        }
    }
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != names.len() {
        return Err("Duplicate attributes selected".to_string());
    }
    for name in names {
        if name != "*" && !INTERNAL_ATTRIBUTES.contains(&name) && schema.column(name).is_none() {
            return Err(format!("Attribute not found in schema: {name}"));
        }
    }
    Ok(())
}

/// utopia's `Filter` validator; returns the coerced values.
fn validate_filter(raw: &Raw, schema: &dyn Schema) -> Result<Vec<Value>, String> {
    let method = raw.method.as_str();
    match method {
        "equal" | "contains" => {
            let empty = match raw.values.first() {
                None => true,
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                Some(_) => false,
            };
            if empty {
                return Err(format!("{} queries require at least one value.", ucfirst(method)));
            }
        }
        "notEqual" | "lessThan" | "lessThanEqual" | "greaterThan" | "greaterThanEqual" | "startsWith" | "endsWith" => {
            if raw.values.len() != 1 {
                return Err(format!("{} queries require exactly one value.", ucfirst(method)));
            }
        }
        "between" => {
            if raw.values.len() != 2 {
                return Err("Between queries require exactly two values.".to_string());
            }
        }
        "isNull" | "isNotNull" => {}
        "and" | "or" => {
            if !raw.nested.iter().all(|sub| is_filter(&sub.method)) {
                return Err(format!("{} queries can only contain filter queries", ucfirst(method)));
            }
            if raw.nested.len() < 2 {
                return Err(format!("{} queries require at least two queries", ucfirst(method)));
            }
            return Ok(Vec::new());
        }
        other => return Err(format!("Invalid query method: {other}")),
    }
    attribute_and_values(raw, schema)
}

fn is_text(ty: ColumnType) -> bool {
    matches!(ty, ColumnType::String | ColumnType::Email | ColumnType::Enum | ColumnType::Url | ColumnType::Ip)
}

fn attribute_and_values(raw: &Raw, schema: &dyn Schema) -> Result<Vec<Value>, String> {
    let (method, attr) = (raw.method.as_str(), raw.attribute.as_str());
    let Some((ty, array)) = schema.column(attr) else {
        return Err(format!("Attribute not found in schema: {attr}"));
    };
    if raw.values.len() > MAX_VALUES {
        return Err(format!("Query on attribute has greater than {MAX_VALUES} values: {attr}"));
    }
    let values = raw
        .values
        .iter()
        .map(|v| coerce(attr, ty, v))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("Query value is invalid for attribute \"{attr}\""))?;

    if !array && method == "contains" && !is_text(ty) {
        return Err(format!(
            "Cannot query contains on attribute \"{attr}\" because it is not an array, string, or object."
        ));
    }
    if array && !matches!(method, "contains" | "isNull" | "isNotNull") {
        return Err(format!("Cannot query {method} on attribute \"{attr}\" because it is an array."));
    }
    // Arcade's own rule: pattern matches need a text column (Appwrite would run
    // `LIKE` on a number or a datetime).
    if matches!(method, "startsWith" | "endsWith") && !is_text(ty) {
        return Err(format!("Cannot query {method} on attribute \"{attr}\" because it is not a string."));
    }
    Ok(values)
}

/// The value as the column stores it, or None if it does not fit the column
/// (utopia's non-loose `Integer`, `FloatValidator`, `Boolean`, `Text` and
/// `Datetime` validators, and `Sequence` for `$sequence`).
fn coerce(attr: &str, ty: ColumnType, v: &Value) -> Option<Value> {
    if attr == "$sequence" {
        let n = match v {
            Value::Number(n) => n.as_i64()?,
            Value::String(s) => integer_string(s.trim())?,
            _ => return None,
        };
        return (n >= 1).then(|| Value::from(n));
    }
    match ty {
        ColumnType::Integer => v.as_i64().map(Value::from),
        ColumnType::Float => v.is_number().then(|| v.clone()),
        ColumnType::Boolean => v.is_boolean().then(|| v.clone()),
        ColumnType::String | ColumnType::Email | ColumnType::Enum | ColumnType::Url | ColumnType::Ip => {
            v.is_string().then(|| v.clone())
        }
        ColumnType::Datetime => v.as_str().and_then(normalize_datetime).map(Value::String),
    }
}

/// Parse an ISO-8601 date or date-time the way Appwrite accepts them
/// (`2026-01-01`, `2026-01-01T10:00`, `2026-01-01 10:00:00.5+02:30`,
/// `…Z`; no zone means UTC) and return it as `YYYY-MM-DDTHH:MM:SS.mmm+00:00`.
/// The result must fall within MariaDB's range, years 1000 to 9999.
pub(crate) fn normalize_datetime(s: &str) -> Option<String> {
    let s = s.trim();
    let date = s.get(..10)?;
    let rest = s.get(10..)?;
    let b = date.as_bytes();
    let digits_ok = b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !digits_ok {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        date.get(..4)?.parse().ok()?,
        date.get(5..7)?.parse().ok()?,
        date.get(8..)?.parse().ok()?,
    )?;

    let (time, offset_secs) = if rest.is_empty() {
        (NaiveTime::MIN, 0)
    } else {
        let rest = rest.strip_prefix(['T', 't', ' '])?;
        let (clock, offset_secs) = split_zone(rest)?;
        (parse_clock(clock)?, offset_secs)
    };
    let utc = NaiveDateTime::new(date, time).checked_sub_signed(TimeDelta::try_seconds(offset_secs)?)?;

    let min = NaiveDate::from_ymd_opt(1000, 1, 1)?.and_hms_opt(0, 0, 0)?;
    let max = NaiveDate::from_ymd_opt(9999, 12, 31)?.and_hms_opt(23, 59, 59)?;
    if utc < min || utc > max {
        return None;
    }
    Some(utc.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string())
}

/// Split `HH:MM…` from a trailing zone (`Z`, `±HH:MM`, `±HHMM`, `±HH`); the
/// offset is in seconds east of UTC.
fn split_zone(s: &str) -> Option<(&str, i64)> {
    if let Some(clock) = s.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = s.rfind(['+', '-']) else {
        return Some((s, 0));
    };
    let (clock, zone) = s.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = zone.get(1..)?;
    let (hh, mm) = match zone.len() {
        2 => (zone, "00"),
        4 => (zone.get(..2)?, zone.get(2..)?),
        5 if zone.as_bytes().get(2) == Some(&b':') => (zone.get(..2)?, zone.get(3..)?),
        _ => return None,
    };
    if !(hh.bytes().chain(mm.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let (hh, mm): (i64, i64) = (hh.parse().ok()?, mm.parse().ok()?);
    if hh > 23 || mm > 59 {
        return None;
    }
    Some((clock, sign * (hh * 3600 + mm * 60)))
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fraction` (fraction truncated to nanoseconds).
fn parse_clock(s: &str) -> Option<NaiveTime> {
    let two = |p: &str| -> Option<u32> {
        (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok()).flatten()
    };
    let mut parts = s.split(':');
    let hour = two(parts.next()?)?;
    let minute = two(parts.next()?)?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let nanos = if sec.contains('.') {
                if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let padded: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
                padded.parse().ok()?
            } else {
                0
            };
            (two(whole)?, nanos)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
}

// ---------------------------------------------------------------------------
// Realtime

fn is_select_all(raw: &Raw) -> bool {
    raw.method == "select" && matches!(raw.values.as_slice(), [Value::String(s)] if s == "*")
}

/// A realtime query (already checked against [`REALTIME_METHODS`]) as a filter,
/// with Appwrite's `RuntimeQuery` meaning: comparisons match if any value does.
fn realtime_filter(raw: &Raw) -> Filter {
    let attr = || raw.attribute.clone();
    let any_of = |leaf: fn(String, Value) -> Filter| match raw.values.as_slice() {
        [v] => leaf(attr(), v.clone()),
        vs => Filter::Or(vs.iter().map(|v| leaf(attr(), v.clone())).collect()),
    };
    match raw.method.as_str() {
        "equal" => Filter::Equal(attr(), raw.values.clone()),
        "notEqual" => Filter::NotEqual(attr(), raw.values.clone()),
        "lessThan" => any_of(Filter::LessThan),
        "lessThanEqual" => any_of(Filter::LessThanEqual),
        "greaterThan" => any_of(Filter::GreaterThan),
        "greaterThanEqual" => any_of(Filter::GreaterThanEqual),
        "isNull" => Filter::IsNull(attr()),
        "isNotNull" => Filter::IsNotNull(attr()),
        "and" => Filter::And(raw.nested.iter().map(realtime_filter).collect()),
        "or" => Filter::Or(raw.nested.iter().map(realtime_filter).collect()),
        // A select inside and/or is a condition on no attribute: Appwrite never matches it.
        _ => Filter::Or(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Games;

    impl Schema for Games {
        fn column(&self, key: &str) -> Option<(ColumnType, bool)> {
            Some(match key {
                "$id" | "status" | "name" => (ColumnType::String, false),
                "$sequence" | "score" => (ColumnType::Integer, false),
                "$createdAt" | "$updatedAt" | "endedAt" => (ColumnType::Datetime, false),
                "ratio" => (ColumnType::Float, false),
                "ranked" => (ColumnType::Boolean, false),
                "email" => (ColumnType::Email, false),
                "tags" => (ColumnType::String, true),
                "levels" => (ColumnType::Integer, true),
                _ => return None,
            })
        }
    }

    fn list(queries: &[Value]) -> Result<ListQuery, Exception> {
        let strings: Vec<String> = queries.iter().map(Value::to_string).collect();
        list_query(&strings, &Games)
    }

    fn list_err(queries: &[Value]) -> (ErrorType, String) {
        match list(queries) {
            Ok(q) => panic!("expected an error, got {q:?}"),
            Err(e) => (e.kind, e.message),
        }
    }

    fn query_err(message: &str) -> (ErrorType, String) {
        (ErrorType::GeneralQueryInvalid, message.to_string())
    }

    fn row(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    // --- parse ---------------------------------------------------------------

    #[test]
    fn parses_sdk_output() {
        let cases = [
            (
                r#"{"method":"equal","attribute":"status","values":["won"]}"#,
                Query::Filter(Filter::Equal("status".into(), vec![json!("won")])),
            ),
            (
                r#"{"method":"greaterThan","attribute":"score","values":[100]}"#,
                Query::Filter(Filter::GreaterThan("score".into(), json!(100))),
            ),
            (r#"{"method":"orderDesc","attribute":"score"}"#, Query::Order("score".into(), Direction::Desc)),
            (r#"{"method":"orderAsc","attribute":""}"#, Query::Order("$sequence".into(), Direction::Asc)),
            (r#"{"method":"orderDesc"}"#, Query::Order("$sequence".into(), Direction::Desc)),
            (r#"{"method":"limit","values":[25]}"#, Query::Limit(25)),
            (r#"{"method":"offset","values":[0]}"#, Query::Offset(0)),
            (r#"{"method":"cursorAfter","values":["g1"]}"#, Query::Cursor(Cursor::After("g1".into()))),
            (r#"{"method":"cursorBefore","values":["g.1-x_"]}"#, Query::Cursor(Cursor::Before("g.1-x_".into()))),
            (r#"{"method":"select","values":["$id","score"]}"#, Query::Select(vec!["$id".into(), "score".into()])),
            (
                r#"{"method":"between","attribute":"score","values":[1,5]}"#,
                Query::Filter(Filter::Between("score".into(), json!(1), json!(5))),
            ),
            (r#"{"method":"isNull","attribute":"name","values":[]}"#, Query::Filter(Filter::IsNull("name".into()))),
            (r#"{"method":"isNotNull","attribute":"name"}"#, Query::Filter(Filter::IsNotNull("name".into()))),
            (
                r#"{"method":"startsWith","attribute":"name","values":["ab"]}"#,
                Query::Filter(Filter::StartsWith("name".into(), "ab".into())),
            ),
            (
                r#"{"method":"endsWith","attribute":"name","values":["yz"]}"#,
                Query::Filter(Filter::EndsWith("name".into(), "yz".into())),
            ),
            (
                r#"{"method":"contains","attribute":"tags","values":["a","b"]}"#,
                Query::Filter(Filter::Contains("tags".into(), vec![json!("a"), json!("b")])),
            ),
            (
                r#"{"method":"notEqual","attribute":"status","values":["lost"]}"#,
                Query::Filter(Filter::NotEqual("status".into(), vec![json!("lost")])),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(parse(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn parses_nested_objects_and_strings() {
        let s = json!({"method": "or", "values": [
            {"method": "equal", "attribute": "status", "values": ["won"]},
            r#"{"method":"and","values":[{"method":"lessThan","attribute":"score","values":[3]},{"method":"isNull","attribute":"name"}]}"#,
        ]})
        .to_string();
        let want = Filter::Or(vec![
            Filter::Equal("status".into(), vec![json!("won")]),
            Filter::And(vec![Filter::LessThan("score".into(), json!(3)), Filter::IsNull("name".into())]),
        ]);
        assert_eq!(parse(&s), Ok(Query::Filter(want.clone())));
        let v: Value = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(parse_value(&v), Ok(Query::Filter(want.clone())));
        assert_eq!(parse_value(&Value::String(s)), Ok(Query::Filter(want)));
    }

    #[test]
    fn parse_errors_use_utopia_messages() {
        let cases = [
            (r#"{"method":"contains","attribute":"title","values":[bad]}"#, "Invalid query: Syntax error"),
            (r#""equal""#, "Invalid query. Must be an array, got string"),
            ("5", "Invalid query. Must be an array, got integer"),
            (r#"{"method":"xyz"}"#, "Invalid query method: xyz"),
            (r#"{"attribute":"a"}"#, "Invalid query method: "),
            ("[]", "Invalid query method: "),
            (r#"{"method":"regex","attribute":"a","values":["x"]}"#, "Invalid query method: regex"),
            (r#"{"method":5}"#, "Invalid query method. Must be a string, got integer"),
            (r#"{"method":"equal","attribute":1.5}"#, "Invalid query attribute. Must be a string, got double"),
            (
                r#"{"method":"equal","attribute":"a","values":"x"}"#,
                "Invalid query values. Must be an array, got string",
            ),
            (r#"{"method":"or","values":[5]}"#, "Invalid query. Must be an array, got integer"),
            (
                r#"{"method":"search","attribute":"a","values":["x"]}"#,
                "Invalid query: Query method 'search' is not supported by Arcade",
            ),
            (r#"{"method":"orderRandom"}"#, "Invalid query: Query method 'orderRandom' is not supported by Arcade"),
            (r#"{"method":"elemMatch","values":[]}"#, "Invalid query: elemMatch is not supported by the database"),
            (
                r#"{"method":"lessThan","attribute":"a","values":[1,2]}"#,
                "Invalid query: LessThan queries require exactly one value.",
            ),
            (
                r#"{"method":"greaterThanEqual","attribute":"a","values":[]}"#,
                "Invalid query: GreaterThanEqual queries require exactly one value.",
            ),
            (
                r#"{"method":"between","attribute":"a","values":[1]}"#,
                "Invalid query: Between queries require exactly two values.",
            ),
            (
                r#"{"method":"startsWith","attribute":"a","values":[1]}"#,
                "Invalid query: Query value is invalid for attribute \"a\"",
            ),
            (
                r#"{"method":"and","values":[{"method":"limit","values":[1]}]}"#,
                "Invalid query: And queries can only contain filter queries",
            ),
            (r#"{"method":"select","values":["a",1]}"#, "Invalid query: Attribute selection must be a string, got int"),
        ];
        for (s, message) in cases {
            assert_eq!(parse(s), Err(Exception::msg(ErrorType::GeneralQueryInvalid, message)), "{s}");
        }
    }

    #[test]
    fn limit_offset_and_cursor_values() {
        let limit = |v: Value| parse(&json!({"method": "limit", "values": [v]}).to_string());
        assert_eq!(limit(json!(1)), Ok(Query::Limit(1)));
        assert_eq!(limit(json!(5000)), Ok(Query::Limit(5000)));
        assert_eq!(limit(json!("25")), Ok(Query::Limit(25)));
        let range = "Invalid query: Invalid limit: Value must be a valid range between 1 and 5,000";
        for bad in [json!(0), json!(5001), json!(-1), json!(2.5), json!(25.0), json!("1e2")] {
            assert_eq!(limit(bad.clone()), Err(Exception::msg(ErrorType::GeneralQueryInvalid, range)), "{bad}");
        }
        let nan = "Invalid query: Invalid limit: Value must be a valid number";
        for bad in [json!("ten"), json!(true), json!(null), json!([1])] {
            assert_eq!(limit(bad.clone()), Err(Exception::msg(ErrorType::GeneralQueryInvalid, nan)), "{bad}");
        }
        assert_eq!(parse(r#"{"method":"limit"}"#).map_err(|e| e.message), Err(nan.to_string()));

        let offset = |v: Value| parse(&json!({"method": "offset", "values": [v]}).to_string());
        assert_eq!(offset(json!(0)), Ok(Query::Offset(0)));
        assert_eq!(offset(json!(100_000)), Ok(Query::Offset(100_000)));
        assert_eq!(
            offset(json!(-1)).map_err(|e| e.message),
            Err("Invalid query: Invalid offset: Value must be a valid range between 0 and 9,223,372,036,854,775,807"
                .to_string())
        );
        assert_eq!(offset(json!("x")).map_err(|e| e.message), Err(nan.to_string()));

        let cursor = |v: Value| parse(&json!({"method": "cursorAfter", "values": [v]}).to_string());
        let bad = "Invalid query: Invalid cursor: UID must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, and underscore. Can't start with a leading underscore";
        for v in [json!(""), json!("_a"), json!("-a"), json!("a b"), json!("$id"), json!("x".repeat(37)), json!(5)] {
            assert_eq!(cursor(v.clone()).map_err(|e| e.message), Err(bad.to_string()), "{v}");
        }
        assert_eq!(cursor(json!("a".repeat(36))), Ok(Query::Cursor(Cursor::After("a".repeat(36)))));
    }

    #[test]
    fn length_limit_is_a_param_error() {
        let long = format!(r#"{{"method":"equal","attribute":"name","values":["{}"]}}"#, "x".repeat(4096));
        let err = parse(&long).err();
        assert_eq!(err.as_ref().map(|e| e.kind), Some(ErrorType::GeneralArgumentInvalid));
        assert_eq!(
            err.map(|e| e.message).as_deref(),
            Some(
                "Invalid `queries` param: Value must a valid array no longer than 100 items and Value must be a valid string and at least 1 chars and no longer than 4096 chars"
            )
        );
        // The limit counts characters, not bytes.
        let pad = "é".repeat(4096 - 60);
        let s = format!(r#"{{"method":"equal","attribute":"name","values":["{pad}"]}}"#);
        assert!(s.chars().count() <= MAX_QUERY_LENGTH && s.len() > MAX_QUERY_LENGTH);
        assert!(parse(&s).is_ok());
        assert_eq!(parse("").map_err(|e| e.kind), Err(ErrorType::GeneralArgumentInvalid));
    }

    // --- list_query ----------------------------------------------------------

    #[test]
    fn list_query_collects_a_request() {
        let q = list(&[
            json!({"method": "equal", "attribute": "status", "values": ["won", "draw"]}),
            json!({"method": "greaterThan", "attribute": "ratio", "values": [1]}),
            json!({"method": "orderDesc", "attribute": "score"}),
            json!({"method": "orderAsc"}),
            json!({"method": "select", "values": ["$id", "score"]}),
            json!({"method": "select", "values": ["*"]}),
            json!({"method": "limit", "values": [10]}),
            json!({"method": "limit", "values": [99]}),
            json!({"method": "offset", "values": [5]}),
            json!({"method": "cursorAfter", "values": ["g1"]}),
            json!({"method": "cursorBefore", "values": ["g2"]}),
        ]);
        let want = ListQuery {
            filters: vec![
                Filter::Equal("status".into(), vec![json!("won"), json!("draw")]),
                Filter::GreaterThan("ratio".into(), json!(1)),
            ],
            select: Some(vec!["$id".into(), "score".into(), "*".into()]),
            order: vec![("score".into(), Direction::Desc), ("$sequence".into(), Direction::Asc)],
            limit: 10,
            offset: 5,
            cursor: Some(Cursor::After("g1".into())),
        };
        assert_eq!(q, Ok(want));
        let empty = list(&[]);
        assert_eq!(empty, Ok(ListQuery { limit: DEFAULT_LIMIT, ..ListQuery::default() }));
    }

    #[test]
    fn list_query_limits() {
        let many: Vec<Value> = (0..101).map(|_| json!({"method": "isNull", "attribute": "name"})).collect();
        assert_eq!(list_err(&many).0, ErrorType::GeneralArgumentInvalid);
        assert!(list(&many[..100]).is_ok());

        let values: Vec<i64> = (0..=500).collect();
        assert_eq!(
            list_err(&[json!({"method": "equal", "attribute": "score", "values": values})]),
            query_err("Invalid query: Query on attribute has greater than 500 values: score")
        );
        assert!(list(&[json!({"method": "equal", "attribute": "score", "values": &values[..500]})]).is_ok());
    }

    #[test]
    fn list_query_checks_attributes() {
        let missing = query_err("Invalid query: Attribute not found in schema: foo");
        assert_eq!(list_err(&[json!({"method": "equal", "attribute": "foo", "values": [1]})]), missing);
        assert_eq!(list_err(&[json!({"method": "orderAsc", "attribute": "foo"})]), missing);
        assert_eq!(list_err(&[json!({"method": "select", "values": ["$id", "foo"]})]), missing);
        assert_eq!(
            list_err(&[json!({"method": "or", "values": [
                {"method": "equal", "attribute": "score", "values": [1]},
                {"method": "isNull", "attribute": "foo"},
            ]})]),
            missing
        );
        assert_eq!(
            list_err(&[json!({"method": "equal", "attribute": "$permissions", "values": ["x"]})]),
            query_err("Invalid query: Attribute not found in schema: $permissions")
        );
        assert!(
            list(&[json!({"method": "select", "values": ["*", "$id", "$sequence", "$createdAt", "$updatedAt", "$permissions"]})])
                .is_ok()
        );
        assert_eq!(
            list_err(&[json!({"method": "select", "values": ["score", "score"]})]),
            query_err("Invalid query: Duplicate attributes selected")
        );
        assert_eq!(
            list_err(&[json!({"method": "select", "values": []})]),
            query_err("Invalid query: No attributes selected")
        );
        assert_eq!(
            list_err(&[json!({"method": "select", "values": [null]})]),
            query_err("Invalid query: Attribute selection must be a string, got null")
        );
    }

    #[test]
    fn list_query_checks_and_coerces_values() {
        let invalid =
            |attr: &str| query_err(&format!("Invalid query: Query value is invalid for attribute \"{attr}\""));
        let eq = |attr: &str, v: Value| json!({"method": "equal", "attribute": attr, "values": [v]});
        for (attr, v) in [
            ("score", json!("5")),
            ("score", json!(5.0)),
            ("score", json!(5.5)),
            ("score", json!(null)),
            ("ratio", json!("1.5")),
            ("ranked", json!(1)),
            ("ranked", json!("true")),
            ("status", json!(5)),
            ("email", json!(true)),
            ("endedAt", json!("16/01/2024 12:00:00AM")),
            ("endedAt", json!("")),
            ("endedAt", json!("0999-12-31")),
            ("$sequence", json!(0)),
            ("$sequence", json!("abc")),
            ("levels", json!("1")),
        ] {
            assert_eq!(list_err(&[eq(attr, v.clone())]), invalid(attr), "{attr} {v}");
        }

        let filters = |q: Value| list(&[q]).map(|l| l.filters);
        assert_eq!(filters(eq("ratio", json!(2))), Ok(vec![Filter::Equal("ratio".into(), vec![json!(2)])]));
        assert_eq!(filters(eq("ranked", json!(false))), Ok(vec![Filter::Equal("ranked".into(), vec![json!(false)])]));
        assert_eq!(filters(eq("$sequence", json!("17"))), Ok(vec![Filter::Equal("$sequence".into(), vec![json!(17)])]));
        assert_eq!(
            filters(json!({"method": "greaterThan", "attribute": "endedAt", "values": ["1960-01-01 10:10:10+02:30"]})),
            Ok(vec![Filter::GreaterThan("endedAt".into(), json!("1960-01-01T07:40:10.000+00:00"))])
        );
        assert_eq!(
            filters(
                json!({"method": "between", "attribute": "$createdAt", "values": ["2026-01-01", "2026-01-02T00:00:00.5Z"]})
            ),
            Ok(vec![Filter::Between(
                "$createdAt".into(),
                json!("2026-01-01T00:00:00.000+00:00"),
                json!("2026-01-02T00:00:00.500+00:00")
            )])
        );
    }

    #[test]
    fn list_query_checks_method_shapes() {
        let cases = [
            (
                json!({"method": "equal", "attribute": "score", "values": []}),
                "Invalid query: Equal queries require at least one value.",
            ),
            (
                json!({"method": "contains", "attribute": "tags", "values": [[]]}),
                "Invalid query: Contains queries require at least one value.",
            ),
            (
                json!({"method": "notEqual", "attribute": "score", "values": [1, 2]}),
                "Invalid query: NotEqual queries require exactly one value.",
            ),
            (
                json!({"method": "contains", "attribute": "score", "values": [1]}),
                "Invalid query: Cannot query contains on attribute \"score\" because it is not an array, string, or object.",
            ),
            (
                json!({"method": "contains", "attribute": "endedAt", "values": ["2026-01-01"]}),
                "Invalid query: Cannot query contains on attribute \"endedAt\" because it is not an array, string, or object.",
            ),
            (
                json!({"method": "equal", "attribute": "tags", "values": ["a"]}),
                "Invalid query: Cannot query equal on attribute \"tags\" because it is an array.",
            ),
            (
                json!({"method": "greaterThan", "attribute": "levels", "values": [1]}),
                "Invalid query: Cannot query greaterThan on attribute \"levels\" because it is an array.",
            ),
            (
                json!({"method": "startsWith", "attribute": "score", "values": ["1"]}),
                "Invalid query: Query value is invalid for attribute \"score\"",
            ),
            (
                json!({"method": "startsWith", "attribute": "score", "values": [1]}),
                "Invalid query: Cannot query startsWith on attribute \"score\" because it is not a string.",
            ),
            (
                json!({"method": "or", "values": [{"method": "equal", "attribute": "score", "values": [1]}]}),
                "Invalid query: Or queries require at least two queries",
            ),
            (
                json!({"method": "and", "values": [
                    {"method": "equal", "attribute": "score", "values": [1]},
                    {"method": "limit", "values": [1]},
                ]}),
                "Invalid query: And queries can only contain filter queries",
            ),
            (
                json!({"method": "and", "values": [
                    {"method": "equal", "attribute": "score", "values": [1]},
                    {"method": "limit", "values": [0]},
                ]}),
                "Invalid query: Invalid limit: Value must be a valid range between 1 and 5,000",
            ),
            (
                json!({"method": "notContains", "attribute": "tags", "values": ["a"]}),
                "Invalid query: Query method 'notContains' is not supported by Arcade",
            ),
            (json!({"method": "xyz"}), "Invalid query method: xyz"),
            (
                json!({"method": "cursorAfter", "values": ["_bad"]}),
                "Invalid cursor: UID must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, and underscore. Can't start with a leading underscore",
            ),
        ];
        for (q, message) in cases {
            assert_eq!(list_err(std::slice::from_ref(&q)), query_err(message), "{q}");
        }
        // A later bad cursor goes through the validators, which prefix the message.
        assert_eq!(
            list_err(&[
                json!({"method": "cursorAfter", "values": ["ok"]}),
                json!({"method": "cursorBefore", "values": ["_bad"]})
            ])
            .1,
            "Invalid query: Invalid cursor: UID must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, and underscore. Can't start with a leading underscore"
        );
        // Syntax errors are found before any validation.
        let unknown_then_broken =
            [json!({"method": "equal", "attribute": "foo", "values": [1]}).to_string(), "{".to_string()];
        assert_eq!(
            list_query(&unknown_then_broken, &Games).map_err(|e| e.message),
            Err("Invalid query: Syntax error".to_string())
        );
        // Queries allowed on arrays and strings.
        assert!(list(&[json!({"method": "contains", "attribute": "tags", "values": ["a"]})]).is_ok());
        assert!(list(&[json!({"method": "contains", "attribute": "name", "values": ["a"]})]).is_ok());
        assert!(list(&[json!({"method": "isNull", "attribute": "tags"})]).is_ok());
        assert!(list(&[json!({"method": "startsWith", "attribute": "email", "values": ["a@"]})]).is_ok());
    }

    // --- matches -------------------------------------------------------------

    #[test]
    fn matches_compares_like_the_database() {
        let r = row(json!({
            "$id": "g1", "$sequence": "17", "score": 10, "ratio": 1.0, "name": "Alice",
            "status": null, "tags": ["a", "b"], "levels": [1, 2], "ranked": true,
        }));
        let yes = |f: Filter| assert!(f.matches(&r), "{f:?}");
        let no = |f: Filter| assert!(!f.matches(&r), "{f:?}");

        yes(Filter::Equal("score".into(), vec![json!(3), json!(10.0)]));
        yes(Filter::Equal("ratio".into(), vec![json!(1)]));
        no(Filter::Equal("score".into(), vec![json!("10.0")]));
        yes(Filter::Equal("$sequence".into(), vec![json!(17)]));
        yes(Filter::GreaterThan("$sequence".into(), json!(9)));
        yes(Filter::NotEqual("score".into(), vec![json!(1), json!(2)]));
        no(Filter::NotEqual("score".into(), vec![json!(10)]));
        yes(Filter::LessThan("score".into(), json!(10.5)));
        no(Filter::LessThan("score".into(), json!(10)));
        yes(Filter::LessThanEqual("score".into(), json!(10)));
        yes(Filter::GreaterThanEqual("score".into(), json!(10)));
        // An integer string compares as a number (for `$sequence`); other strings never do.
        yes(Filter::GreaterThan("score".into(), json!("9")));
        no(Filter::GreaterThan("score".into(), json!("9.5")));
        no(Filter::GreaterThan("score".into(), json!("x")));
        yes(Filter::Between("score".into(), json!(10), json!(10)));
        no(Filter::Between("score".into(), json!(11), json!(20)));
        yes(Filter::GreaterThan("name".into(), json!("A")));
        no(Filter::GreaterThan("name".into(), json!("a")));
        yes(Filter::StartsWith("name".into(), "Al".into()));
        yes(Filter::EndsWith("name".into(), "ice".into()));
        no(Filter::StartsWith("score".into(), "1".into()));
        yes(Filter::Contains("name".into(), vec![json!("zz"), json!("lic")]));
        yes(Filter::Contains("tags".into(), vec![json!("b")]));
        no(Filter::Contains("tags".into(), vec![json!("ab")]));
        yes(Filter::Contains("levels".into(), vec![json!(2.0)]));
        yes(Filter::Equal("tags".into(), vec![json!("a")]));
        no(Filter::NotEqual("tags".into(), vec![json!("a")]));
        no(Filter::GreaterThan("levels".into(), json!(0)));
        yes(Filter::Equal("ranked".into(), vec![json!(true)]));
        no(Filter::Equal("ranked".into(), vec![json!(1)]));

        // Null and missing fail everything but IsNull.
        for attr in ["status", "missing"] {
            yes(Filter::IsNull(attr.into()));
            no(Filter::IsNotNull(attr.into()));
            no(Filter::NotEqual(attr.into(), vec![json!("x")]));
            no(Filter::Equal(attr.into(), vec![Value::Null]));
            no(Filter::LessThan(attr.into(), json!(1)));
        }
        no(Filter::IsNull("score".into()));
        yes(Filter::IsNotNull("score".into()));

        yes(Filter::And(vec![]));
        no(Filter::Or(vec![]));
        yes(Filter::Or(vec![Filter::IsNull("score".into()), Filter::Equal("$id".into(), vec![json!("g1")])]));
        no(Filter::And(vec![Filter::IsNull("status".into()), Filter::Equal("$id".into(), vec![json!("g2")])]));
    }

    #[test]
    fn numbers_compare_exactly() {
        let r = row(json!({"big": 9_007_199_254_740_993_i64, "neg": -1, "huge": u64::MAX}));
        assert!(Filter::GreaterThan("big".into(), json!(9_007_199_254_740_992.0)).matches(&r));
        assert!(!Filter::Equal("big".into(), vec![json!(9_007_199_254_740_992.0)]).matches(&r));
        assert!(Filter::LessThan("neg".into(), json!(u64::MAX)).matches(&r));
        assert!(Filter::GreaterThan("huge".into(), json!(-1)).matches(&r));
        assert!(Filter::GreaterThan("huge".into(), json!(1e10)).matches(&r));
    }

    #[test]
    fn attributes_are_collected_once() {
        let f = Filter::Or(vec![
            Filter::Equal("a".into(), vec![]),
            Filter::And(vec![Filter::IsNull("b".into()), Filter::LessThan("a".into(), json!(1))]),
            Filter::Contains("c".into(), vec![]),
        ]);
        assert_eq!(f.attributes(), vec!["a", "b", "c"]);
    }

    // --- realtime ------------------------------------------------------------

    #[test]
    fn realtime_accepts_its_subset() {
        let queries = [
            json!(r#"{"method":"equal","attribute":"status","values":["active"]}"#),
            json!({"method": "or", "values": [
                {"method": "greaterThan", "attribute": "score", "values": [100, 5]},
                r#"{"method":"isNull","attribute":"score"}"#,
            ]}),
        ];
        let want = vec![
            Filter::Equal("status".into(), vec![json!("active")]),
            Filter::Or(vec![
                Filter::Or(vec![
                    Filter::GreaterThan("score".into(), json!(100)),
                    Filter::GreaterThan("score".into(), json!(5)),
                ]),
                Filter::IsNull("score".into()),
            ]),
        ];
        assert_eq!(realtime_filters(&queries), Ok(want));
        assert_eq!(realtime_filters(&[]), Ok(vec![]));
        // select("*") listens to everything, whatever else is there.
        let all =
            [json!({"method": "equal", "attribute": "a", "values": [1]}), json!({"method": "select", "values": ["*"]})];
        assert_eq!(realtime_filters(&all), Ok(vec![]));
    }

    #[test]
    fn realtime_rejects_other_methods() {
        let err = |q: Value| realtime_filters(&[q]).map_err(|e| (e.kind, e.message));
        let unsupported = |m: &str| {
            Err((
                ErrorType::RealtimeMessageFormatInvalid,
                format!(
                    "Invalid query: Query method '{m}' is not supported in Realtime queries. Allowed: equal, notEqual, lessThan, lessThanEqual, greaterThan, greaterThanEqual, isNull, isNotNull, and, or, select"
                ),
            ))
        };
        assert_eq!(err(json!({"method": "search", "attribute": "a", "values": ["x"]})), unsupported("search"));
        assert_eq!(err(json!({"method": "limit", "values": [1]})), unsupported("limit"));
        assert_eq!(
            err(json!({"method": "and", "values": [{"method": "contains", "attribute": "a", "values": ["x"]}]})),
            unsupported("contains")
        );
        assert_eq!(
            err(json!({"method": "select", "values": ["a"]})),
            Err((
                ErrorType::RealtimeMessageFormatInvalid,
                "Invalid query: Only select(\"*\") is allowed in Realtime queries. select(\"*\") means \"listen to all events\"."
                    .to_string()
            ))
        );
        assert_eq!(
            err(json!("{nope")),
            Err((ErrorType::RealtimeMessageFormatInvalid, "Invalid query: Invalid query: Syntax error".to_string()))
        );
        assert_eq!(
            err(json!({"method": "xyz"})),
            Err((ErrorType::RealtimeMessageFormatInvalid, "Invalid query: Invalid query method: xyz".to_string()))
        );
    }

    #[test]
    fn realtime_nested_select_never_matches() {
        let q = [json!({"method": "or", "values": [
            {"method": "select", "values": ["*"]},
            {"method": "equal", "attribute": "a", "values": [1]},
        ]})];
        let filters = realtime_filters(&q).unwrap_or_default();
        assert_eq!(filters.len(), 1);
        assert!(filters.iter().all(|f| f.matches(&row(json!({"a": 1})))));
        assert!(!filters.iter().all(|f| f.matches(&row(json!({"a": 2})))));
    }

    // --- datetimes -----------------------------------------------------------

    #[test]
    fn datetimes_normalise_to_utc_millis() {
        let cases = [
            ("2026-07-22", Some("2026-07-22T00:00:00.000+00:00")),
            ("2026-07-22T10:15", Some("2026-07-22T10:15:00.000+00:00")),
            ("2026-07-22T10:15:00.123+00:00", Some("2026-07-22T10:15:00.123+00:00")),
            ("2026-07-22T10:15:00.1239Z", Some("2026-07-22T10:15:00.123+00:00")),
            ("2026-07-22 12:15:00+02:00", Some("2026-07-22T10:15:00.000+00:00")),
            ("2026-07-22T01:00:00-0230", Some("2026-07-22T03:30:00.000+00:00")),
            ("2026-07-22T23:00:00-02", Some("2026-07-23T01:00:00.000+00:00")),
            ("2026-07-22t10:15:00z", Some("2026-07-22T10:15:00.000+00:00")),
            ("1000-01-01", Some("1000-01-01T00:00:00.000+00:00")),
            ("9999-12-31T23:59:59", Some("9999-12-31T23:59:59.000+00:00")),
            ("0999-12-31", None),
            ("1000-01-01T00:30:00+01:00", None),
            ("9999-12-31T23:59:59.5", None),
            ("2026-02-30", None),
            ("2026-07-22T25:00", None),
            ("2026-07-22T10", None),
            ("2026-07-22T10:15:00.", None),
            ("2026-07-22T10:15:00+2", None),
            ("2026-7-22", None),
            ("yesterday", None),
            ("", None),
            ("２０２６-07-22", None),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_datetime(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(5000), "5,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
