//! Appwrite's JSON queries, built the way the official SDKs build them.
//!
//! Each constructor mirrors a method of the `Query` class of Appwrite's
//! JavaScript SDK and serializes to the same string, e.g.
//! `Query::equal("status", ["won"])` is
//! `{"method":"equal","attribute":"status","values":["won"]}`. Like the JS SDK,
//! methods without an attribute (`limit`, `select`, `and`, ...) leave out
//! `attribute`, and methods without values (`isNull`, `orderAsc`, ...) leave out
//! `values`. Whole-number floats are written as integers (`10`, not `10.0`),
//! as JavaScript does. Some numbers that JavaScript prints in another form
//! (whole numbers between 2^53 and 10^21, tiny fractions) come out in
//! serde_json's form: the same number, a different string.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// One query for [`Table::list`](crate::Table::list).
///
/// `to_string()` gives the JSON string Appwrite's REST API takes in `queries[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    method: &'static str,
    attribute: Option<String>,
    values: Option<Values>,
}

#[derive(Debug, Clone, PartialEq)]
enum Values {
    Scalars(Vec<Value>),
    Queries(Vec<Query>),
}

impl Query {
    fn new(method: &'static str, attribute: Option<String>, values: Option<Values>) -> Self {
        Query { method, attribute, values }
    }

    fn attr(method: &'static str, attribute: impl Into<String>, values: Vec<Value>) -> Self {
        Query::new(method, Some(attribute.into()), Some(Values::Scalars(values)))
    }

    /// `attribute` equals one of `values` (one value, or several for IN):
    /// `Query::equal("status", "won")`, `Query::equal("score", [1, 2, 3])`.
    pub fn equal(attribute: impl Into<String>, values: impl IntoQueryValues) -> Self {
        Query::attr("equal", attribute, values.into_query_values())
    }

    /// `attribute` differs from `values`.
    pub fn not_equal(attribute: impl Into<String>, values: impl IntoQueryValues) -> Self {
        Query::attr("notEqual", attribute, values.into_query_values())
    }

    /// `attribute` < `value`.
    pub fn less_than(attribute: impl Into<String>, value: impl IntoQueryValues) -> Self {
        Query::attr("lessThan", attribute, value.into_query_values())
    }

    /// `attribute` <= `value`.
    pub fn less_than_equal(attribute: impl Into<String>, value: impl IntoQueryValues) -> Self {
        Query::attr("lessThanEqual", attribute, value.into_query_values())
    }

    /// `attribute` > `value`.
    pub fn greater_than(attribute: impl Into<String>, value: impl IntoQueryValues) -> Self {
        Query::attr("greaterThan", attribute, value.into_query_values())
    }

    /// `attribute` >= `value`.
    pub fn greater_than_equal(attribute: impl Into<String>, value: impl IntoQueryValues) -> Self {
        Query::attr("greaterThanEqual", attribute, value.into_query_values())
    }

    /// `start` <= `attribute` <= `end`.
    pub fn between<V: QueryValue>(attribute: impl Into<String>, start: V, end: V) -> Self {
        Query::attr("between", attribute, vec![start.into_query_value(), end.into_query_value()])
    }

    /// `attribute` is null.
    pub fn is_null(attribute: impl Into<String>) -> Self {
        Query::new("isNull", Some(attribute.into()), None)
    }

    /// `attribute` is not null.
    pub fn is_not_null(attribute: impl Into<String>) -> Self {
        Query::new("isNotNull", Some(attribute.into()), None)
    }

    /// The string `attribute` starts with `value`.
    pub fn starts_with(attribute: impl Into<String>, value: impl Into<String>) -> Self {
        Query::attr("startsWith", attribute, vec![Value::String(value.into())])
    }

    /// The string `attribute` ends with `value`.
    pub fn ends_with(attribute: impl Into<String>, value: impl Into<String>) -> Self {
        Query::attr("endsWith", attribute, vec![Value::String(value.into())])
    }

    /// `attribute` contains `values` (a substring of a string column, or
    /// elements of an array column).
    pub fn contains(attribute: impl Into<String>, values: impl IntoQueryValues) -> Self {
        Query::attr("contains", attribute, values.into_query_values())
    }

    /// All of `queries` hold.
    pub fn and(queries: impl IntoIterator<Item = Query>) -> Self {
        Query::new("and", None, Some(Values::Queries(queries.into_iter().collect())))
    }

    /// At least one of `queries` holds.
    pub fn or(queries: impl IntoIterator<Item = Query>) -> Self {
        Query::new("or", None, Some(Values::Queries(queries.into_iter().collect())))
    }

    /// Return only these columns (and the `$` system fields).
    pub fn select<S: Into<String>>(attributes: impl IntoIterator<Item = S>) -> Self {
        let values = attributes.into_iter().map(|a| Value::String(a.into())).collect();
        Query::new("select", None, Some(Values::Scalars(values)))
    }

    /// Sort by `attribute`, ascending.
    pub fn order_asc(attribute: impl Into<String>) -> Self {
        Query::new("orderAsc", Some(attribute.into()), None)
    }

    /// Sort by `attribute`, descending.
    pub fn order_desc(attribute: impl Into<String>) -> Self {
        Query::new("orderDesc", Some(attribute.into()), None)
    }

    /// Return at most `limit` rows (Appwrite's default is 25).
    pub fn limit(limit: u64) -> Self {
        Query::new("limit", None, Some(Values::Scalars(vec![Value::from(limit)])))
    }

    /// Skip the first `offset` rows.
    pub fn offset(offset: u64) -> Self {
        Query::new("offset", None, Some(Values::Scalars(vec![Value::from(offset)])))
    }

    /// Return rows after the row with this ID (in the query's order).
    pub fn cursor_after(row_id: impl Into<String>) -> Self {
        Query::new("cursorAfter", None, Some(Values::Scalars(vec![Value::String(row_id.into())])))
    }

    /// Return rows before the row with this ID (in the query's order).
    pub fn cursor_before(row_id: impl Into<String>) -> Self {
        Query::new("cursorBefore", None, Some(Values::Scalars(vec![Value::String(row_id.into())])))
    }
}

impl Serialize for Query {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Field order and omissions as JSON.stringify({method, attribute, values}) in the JS SDK.
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("method", self.method)?;
        if let Some(a) = &self.attribute {
            m.serialize_entry("attribute", a)?;
        }
        match &self.values {
            Some(Values::Scalars(v)) => m.serialize_entry("values", v)?,
            Some(Values::Queries(q)) => m.serialize_entry("values", q)?,
            None => {}
        }
        m.end()
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Serializing strings, numbers and nested queries into a String cannot fail.
        let json = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&json)
    }
}

impl From<Query> for String {
    fn from(q: Query) -> Self {
        q.to_string()
    }
}

/// A single value a query compares with: strings, numbers, booleans.
pub trait QueryValue {
    /// The JSON value, with whole-number floats written as integers.
    fn into_query_value(self) -> Value;
}

/// One value or a list of values for a query: a [`QueryValue`], or a `Vec`,
/// array or slice of them.
pub trait IntoQueryValues {
    /// The JSON values.
    fn into_query_values(self) -> Vec<Value>;
}

fn float(f: f64) -> Value {
    // JavaScript prints 10.0 as 10; serde_json would print 10.0. Match the SDK
    // for whole numbers that JavaScript holds exactly.
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.is_finite() && f.fract() == 0.0 && f.abs() <= EXACT { Value::from(f as i64) } else { Value::from(f) }
}

macro_rules! query_values {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl QueryValue for $t {
            fn into_query_value(self) -> Value {
                let $v = self;
                $e
            }
        }
        impl IntoQueryValues for $t {
            fn into_query_values(self) -> Vec<Value> {
                vec![self.into_query_value()]
            }
        }
    )*};
}

query_values! {
    &str => |v| Value::from(v),
    String => |v| Value::from(v),
    &String => |v| Value::from(v.as_str()),
    bool => |v| Value::from(v),
    i8 => |v| Value::from(v), i16 => |v| Value::from(v), i32 => |v| Value::from(v), i64 => |v| Value::from(v),
    isize => |v| Value::from(v),
    u8 => |v| Value::from(v), u16 => |v| Value::from(v), u32 => |v| Value::from(v), u64 => |v| Value::from(v),
    usize => |v| Value::from(v),
    f32 => |v| float(f64::from(v)),
    f64 => |v| float(v),
}

impl<T: QueryValue> IntoQueryValues for Vec<T> {
    fn into_query_values(self) -> Vec<Value> {
        self.into_iter().map(QueryValue::into_query_value).collect()
    }
}

impl<T: QueryValue, const N: usize> IntoQueryValues for [T; N] {
    fn into_query_values(self) -> Vec<Value> {
        self.into_iter().map(QueryValue::into_query_value).collect()
    }
}

impl<T: QueryValue + Clone> IntoQueryValues for &[T] {
    fn into_query_values(self) -> Vec<Value> {
        self.iter().cloned().map(QueryValue::into_query_value).collect()
    }
}

impl<T: QueryValue + Clone> IntoQueryValues for &Vec<T> {
    fn into_query_values(self) -> Vec<Value> {
        self.as_slice().into_query_values()
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    /// Every expected string is what `Query.*` of the `appwrite` npm package
    /// (28.x, tests/node) returns for the same arguments.
    #[test]
    fn same_strings_as_the_js_sdk() {
        let cases = [
            (Query::equal("status", ["won"]), r#"{"method":"equal","attribute":"status","values":["won"]}"#),
            (Query::equal("status", "won"), r#"{"method":"equal","attribute":"status","values":["won"]}"#),
            (Query::equal("score", vec![1, 2]), r#"{"method":"equal","attribute":"score","values":[1,2]}"#),
            (Query::equal("done", true), r#"{"method":"equal","attribute":"done","values":[true]}"#),
            (Query::not_equal("status", "lost"), r#"{"method":"notEqual","attribute":"status","values":["lost"]}"#),
            (Query::less_than("score", 10), r#"{"method":"lessThan","attribute":"score","values":[10]}"#),
            (Query::less_than_equal("score", 1.5), r#"{"method":"lessThanEqual","attribute":"score","values":[1.5]}"#),
            (Query::greater_than("score", 10.0), r#"{"method":"greaterThan","attribute":"score","values":[10]}"#),
            (
                Query::greater_than_equal("at", "2026-01-01T00:00:00.000+00:00"),
                r#"{"method":"greaterThanEqual","attribute":"at","values":["2026-01-01T00:00:00.000+00:00"]}"#,
            ),
            (Query::between("score", 1, 5), r#"{"method":"between","attribute":"score","values":[1,5]}"#),
            (Query::between("x", 0.5, 2.0), r#"{"method":"between","attribute":"x","values":[0.5,2]}"#),
            (Query::is_null("winner"), r#"{"method":"isNull","attribute":"winner"}"#),
            (Query::is_not_null("winner"), r#"{"method":"isNotNull","attribute":"winner"}"#),
            (Query::starts_with("name", "Ja"), r#"{"method":"startsWith","attribute":"name","values":["Ja"]}"#),
            (Query::ends_with("name", "ck"), r#"{"method":"endsWith","attribute":"name","values":["ck"]}"#),
            (Query::contains("tags", ["a", "b"]), r#"{"method":"contains","attribute":"tags","values":["a","b"]}"#),
            (Query::contains("name", "ac"), r#"{"method":"contains","attribute":"name","values":["ac"]}"#),
            (Query::select(["name", "score"]), r#"{"method":"select","values":["name","score"]}"#),
            (Query::order_asc("score"), r#"{"method":"orderAsc","attribute":"score"}"#),
            (Query::order_desc("$createdAt"), r#"{"method":"orderDesc","attribute":"$createdAt"}"#),
            (Query::limit(10), r#"{"method":"limit","values":[10]}"#),
            (Query::offset(0), r#"{"method":"offset","values":[0]}"#),
            (Query::cursor_after("g1"), r#"{"method":"cursorAfter","values":["g1"]}"#),
            (Query::cursor_before("g1"), r#"{"method":"cursorBefore","values":["g1"]}"#),
            (
                Query::and([Query::equal("a", 1), Query::is_null("b")]),
                r#"{"method":"and","values":[{"method":"equal","attribute":"a","values":[1]},{"method":"isNull","attribute":"b"}]}"#,
            ),
            (
                Query::or([Query::equal("s", "x"), Query::and([Query::less_than("n", 3)])]),
                r#"{"method":"or","values":[{"method":"equal","attribute":"s","values":["x"]},{"method":"and","values":[{"method":"lessThan","attribute":"n","values":[3]}]}]}"#,
            ),
            (Query::equal("q", r#"a"b\"#), r#"{"method":"equal","attribute":"q","values":["a\"b\\"]}"#),
        ];
        for (q, want) in cases {
            assert_eq!(q.to_string(), want);
        }
    }

    #[test]
    fn values_from_slices_and_strings() {
        let ids = vec![String::from("g1"), String::from("g2")];
        assert_eq!(
            Query::equal("$id", &ids).to_string(),
            r#"{"method":"equal","attribute":"$id","values":["g1","g2"]}"#
        );
        assert_eq!(
            Query::equal("$id", &ids[..1]).to_string(),
            r#"{"method":"equal","attribute":"$id","values":["g1"]}"#
        );
        let empty: Vec<&str> = Vec::new();
        assert_eq!(Query::equal("x", empty).to_string(), r#"{"method":"equal","attribute":"x","values":[]}"#);
        assert_eq!(
            Query::greater_than("x", 1e300).to_string(),
            r#"{"method":"greaterThan","attribute":"x","values":[1e+300]}"#
        );
        assert_eq!(Query::less_than("x", 0.25).to_string(), r#"{"method":"lessThan","attribute":"x","values":[0.25]}"#);
        assert_eq!(Query::less_than("x", -3.0).to_string(), r#"{"method":"lessThan","attribute":"x","values":[-3]}"#);
        assert_eq!(String::from(Query::limit(5)), r#"{"method":"limit","values":[5]}"#);
    }
}
