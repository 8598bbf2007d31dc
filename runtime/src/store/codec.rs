//! Order-preserving byte encoding of column values, for index keys.
//!
//! sled orders keys by their bytes, so an index whose keys are built here can
//! answer range and prefix queries with a plain range scan: the byte order of
//! two encodings is the sort order of the values they encode. Callers may rely
//! on these properties:
//!
//! * For one column type, `encode(a) < encode(b)` exactly when `a` sorts
//!   before `b`: integers and floats numerically (`-0.0` and `0.0` encode the
//!   same; an integer stored in a float column encodes as that `f64`), booleans
//!   `false < true`, string-like values (including datetimes, which are stored
//!   in their normalised `YYYY-MM-DDTHH:MM:SS.mmm+00:00` form) by their UTF-8
//!   bytes.
//! * `null` encodes as the single byte `0x00` and sorts before every non-null
//!   value; every non-null encoding starts with a tag byte of `0x01` or more.
//! * No encoding is a prefix of a different one, so encodings can be
//!   concatenated into composite keys that order by the first value, then the
//!   second, and so on.
//! * [`encode_prefix`] of a string is a byte prefix of the encoding of exactly
//!   the strings that start with it, which makes `startsWith` a prefix scan.
//!
//! The format is persisted in index keys: changing it needs a reindex.

use crate::model::column::ColumnType;
use serde_json::Value;

/// Tag of `null`; lower than every other tag so nulls sort first.
const TAG_NULL: u8 = 0x00;
/// Tag of a boolean; its payload is one byte, 0 or 1.
const TAG_BOOL: u8 = 0x01;
/// Tag of an integer; its payload is 8 bytes.
const TAG_INT: u8 = 0x02;
/// Tag of a float; its payload is 8 bytes.
const TAG_FLOAT: u8 = 0x03;
/// Tag of a string-like value; its payload is escaped bytes and a terminator.
const TAG_STRING: u8 = 0x04;

/// Flipping the top bit maps two's-complement order onto unsigned order.
const SIGN_BIT: u64 = 1 << 63;

/// Append the order-preserving encoding of `v` (a value already validated for
/// `ty`) to `out`.
///
/// A value that [`encodable`] rejects is written as `null` rather than
/// panicking; callers validate first, so this only guards against bugs.
pub fn encode(v: &Value, ty: ColumnType, out: &mut Vec<u8>) {
    match ty {
        ColumnType::Integer => match v.as_i64() {
            Some(i) => {
                out.push(TAG_INT);
                out.extend_from_slice(&((i as u64) ^ SIGN_BIT).to_be_bytes());
            }
            None => out.push(TAG_NULL),
        },
        ColumnType::Float => match v.as_f64() {
            Some(f) => {
                out.push(TAG_FLOAT);
                out.extend_from_slice(&float_key(f).to_be_bytes());
            }
            None => out.push(TAG_NULL),
        },
        ColumnType::Boolean => match v.as_bool() {
            Some(b) => out.extend_from_slice(&[TAG_BOOL, u8::from(b)]),
            None => out.push(TAG_NULL),
        },
        ColumnType::String
        | ColumnType::Email
        | ColumnType::Enum
        | ColumnType::Url
        | ColumnType::Ip
        | ColumnType::Datetime => match v.as_str() {
            Some(s) => {
                encode_prefix(s, out);
                out.extend_from_slice(&[0x00, 0x01]);
            }
            None => out.push(TAG_NULL),
        },
    }
}

/// Prefix for `startsWith(prefix)` on a string-like column: the tag byte and
/// escaped bytes of `prefix` without the terminator, so every encoded string
/// starting with `prefix` has it as a byte prefix and no other string does.
pub fn encode_prefix(prefix: &str, out: &mut Vec<u8>) {
    out.push(TAG_STRING);
    for &b in prefix.as_bytes() {
        if b == 0x00 {
            out.extend_from_slice(&[0x00, 0xFF]);
        } else {
            out.push(b);
        }
    }
}

/// Whether the value can be encoded for this type: `null`, or a scalar of the
/// column's type (any number for a float column, an `i64` for an integer
/// column). False for arrays, objects and mismatched types.
pub fn encodable(v: &Value, ty: ColumnType) -> bool {
    match v {
        Value::Null => true,
        Value::Array(_) | Value::Object(_) => false,
        _ => match ty {
            ColumnType::Integer => v.as_i64().is_some(),
            ColumnType::Float => v.is_number(),
            ColumnType::Boolean => v.is_boolean(),
            ColumnType::String
            | ColumnType::Email
            | ColumnType::Enum
            | ColumnType::Url
            | ColumnType::Ip
            | ColumnType::Datetime => v.is_string(),
        },
    }
}

/// The IEEE-754 total-order trick: negative floats have all bits inverted (so
/// larger magnitudes sort lower), non-negative ones get the sign bit set (so
/// they sort above every negative). `-0.0` is folded into `0.0` first.
fn float_key(f: f64) -> u64 {
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    if bits & SIGN_BIT != 0 { !bits } else { bits | SIGN_BIT }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn enc(v: &Value, ty: ColumnType) -> Vec<u8> {
        let mut out = Vec::new();
        encode(v, ty, &mut out);
        out
    }

    fn enc_str(s: &str) -> Vec<u8> {
        enc(&json!(s), ColumnType::String)
    }

    fn composite(s: &str, i: i64) -> Vec<u8> {
        let mut out = enc_str(s);
        encode(&json!(i), ColumnType::Integer, &mut out);
        out
    }

    /// Strings drawn from a small alphabet with NUL and high bytes, so that
    /// equal strings, prefixes and NUL-versus-terminator cases come up often.
    fn small_string() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!['\0', '\u{1}', 'a', 'b', '\u{ff}', 'é', '\u{10FFFF}']), 0..6)
            .prop_map(|chars| chars.into_iter().collect())
    }

    fn any_string() -> impl Strategy<Value = String> {
        prop_oneof![small_string(), any::<String>()]
    }

    proptest! {
        #[test]
        fn integers_keep_order(a in any::<i64>(), b in any::<i64>()) {
            let (ea, eb) = (enc(&json!(a), ColumnType::Integer), enc(&json!(b), ColumnType::Integer));
            prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
        }

        #[test]
        fn floats_keep_order(
            a in prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
            b in prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        ) {
            let (ea, eb) = (enc(&json!(a), ColumnType::Float), enc(&json!(b), ColumnType::Float));
            prop_assert_eq!(Some(ea.cmp(&eb)), a.partial_cmp(&b));
        }

        #[test]
        fn integers_in_float_column_order_with_floats(a in any::<i32>(), b in prop::num::f64::NORMAL) {
            let (ea, eb) = (enc(&json!(a), ColumnType::Float), enc(&json!(b), ColumnType::Float));
            prop_assert_eq!(Some(ea.cmp(&eb)), f64::from(a).partial_cmp(&b));
        }

        #[test]
        fn strings_keep_byte_order(a in any_string(), b in any_string()) {
            prop_assert_eq!(enc_str(&a).cmp(&enc_str(&b)), a.as_bytes().cmp(b.as_bytes()));
        }

        #[test]
        fn prefixes_order_first(a in any_string(), tail in any_string()) {
            let longer = format!("{a}{tail}");
            prop_assert_eq!(enc_str(&a).cmp(&enc_str(&longer)), a.len().cmp(&longer.len()));
            let (ea, el) = (enc_str(&a), enc_str(&longer));
            prop_assert!(a == longer || !el.starts_with(&ea), "encoding is a prefix of another");
        }

        #[test]
        fn composite_keys_order_by_first_then_second(
            s1 in small_string(), i1 in -3i64..3, s2 in small_string(), i2 in -3i64..3,
        ) {
            let expected = s1.as_bytes().cmp(s2.as_bytes()).then(i1.cmp(&i2));
            prop_assert_eq!(composite(&s1, i1).cmp(&composite(&s2, i2)), expected);
        }

        #[test]
        fn composite_keys_with_any_values(s1 in any_string(), i1 in any::<i64>(), s2 in any_string(), i2 in any::<i64>()) {
            let expected = s1.as_bytes().cmp(s2.as_bytes()).then(i1.cmp(&i2));
            prop_assert_eq!(composite(&s1, i1).cmp(&composite(&s2, i2)), expected);
        }

        #[test]
        fn prefix_matches_exactly_the_strings_that_start_with_it(p in any_string(), s in any_string()) {
            let mut prefix = Vec::new();
            encode_prefix(&p, &mut prefix);
            prop_assert_eq!(enc_str(&s).starts_with(&prefix), s.starts_with(p.as_str()));
            let extended = format!("{p}{s}");
            prop_assert!(enc_str(&extended).starts_with(&prefix));
        }

        #[test]
        fn null_sorts_first(i in any::<i64>(), f in prop::num::f64::NORMAL, s in any_string(), b in any::<bool>()) {
            let null = enc(&Value::Null, ColumnType::String);
            prop_assert!(null < enc(&json!(i), ColumnType::Integer));
            prop_assert!(null < enc(&json!(f), ColumnType::Float));
            prop_assert!(null < enc_str(&s));
            prop_assert!(null < enc(&json!(b), ColumnType::Boolean));
            prop_assert!(null < enc(&json!(s), ColumnType::Datetime));
            // A null first component sorts before any non-null one, whatever follows.
            let mut null_key = null.clone();
            encode(&json!(i64::MAX), ColumnType::Integer, &mut null_key);
            prop_assert!(null_key < composite(&s, i64::MIN));
        }
    }

    #[test]
    fn zeros_encode_the_same() {
        assert_eq!(enc(&json!(-0.0), ColumnType::Float), enc(&json!(0.0), ColumnType::Float));
        assert_eq!(enc(&json!(0), ColumnType::Float), enc(&json!(0.0), ColumnType::Float));
        assert_eq!(enc(&json!(3), ColumnType::Float), enc(&json!(3.0), ColumnType::Float));
    }

    #[test]
    fn float_extremes_keep_order() {
        let values = [f64::MIN, -1.0, -f64::MIN_POSITIVE, -5e-324, 0.0, 5e-324, 1.0, f64::MAX];
        let encoded: Vec<_> = values.iter().map(|f| enc(&json!(f), ColumnType::Float)).collect();
        assert!(encoded.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn booleans_order_false_first() {
        let f = enc(&json!(false), ColumnType::Boolean);
        let t = enc(&json!(true), ColumnType::Boolean);
        assert!(enc(&Value::Null, ColumnType::Boolean) < f);
        assert!(f < t);
    }

    #[test]
    fn nul_bytes_are_escaped() {
        assert_eq!(enc_str("a\0b"), vec![TAG_STRING, b'a', 0x00, 0xFF, b'b', 0x00, 0x01]);
        assert!(enc_str("a") < enc_str("a\0"));
        assert!(enc_str("a\0") < enc_str("a\u{1}"));
        assert!(enc_str("") < enc_str("\0"));
    }

    #[test]
    fn encodable_checks_shape_and_type() {
        assert!(encodable(&Value::Null, ColumnType::Integer));
        assert!(encodable(&json!(5), ColumnType::Integer));
        assert!(!encodable(&json!(5.5), ColumnType::Integer));
        assert!(!encodable(&json!(u64::MAX), ColumnType::Integer));
        assert!(encodable(&json!(5), ColumnType::Float));
        assert!(encodable(&json!(5.5), ColumnType::Float));
        assert!(!encodable(&json!("5"), ColumnType::Float));
        assert!(encodable(&json!(true), ColumnType::Boolean));
        assert!(!encodable(&json!(1), ColumnType::Boolean));
        assert!(encodable(&json!("x"), ColumnType::Email));
        assert!(encodable(&json!("2024-01-01T00:00:00.000+00:00"), ColumnType::Datetime));
        assert!(!encodable(&json!(["x"]), ColumnType::String));
        assert!(!encodable(&json!({"a": 1}), ColumnType::String));
        assert!(!encodable(&json!(1), ColumnType::String));
    }

    #[test]
    fn unencodable_values_fall_back_to_null() {
        assert_eq!(enc(&json!("x"), ColumnType::Integer), vec![TAG_NULL]);
        assert_eq!(enc(&json!([1]), ColumnType::Float), vec![TAG_NULL]);
    }
}
