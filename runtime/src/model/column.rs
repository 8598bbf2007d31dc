//! Column definitions and the rules a row value must satisfy.
//!
//! A table's columns are its schema: every row write is checked here before
//! it reaches the store, so the store can trust what it holds. The JSON shapes
//! (the REST bodies of `POST .../columns/{type}` and the column models the API
//! returns) are Appwrite's TablesDB ones; validation messages are those of
//! Appwrite's structure validator, which the SDKs surface to developers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value, json};

use super::exception::{ErrorType, Exception};
use super::time::{self, Millis};

/// The column types Arcade supports, named as in the REST paths
/// (`/columns/{type}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Integer,
    Float,
    Boolean,
    Datetime,
    Email,
    Enum,
    Url,
    Ip,
}

impl ColumnType {
    /// The type from a REST path segment (`string`, `integer`, `float`, ...).
    pub fn from_path(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "integer" => Self::Integer,
            "float" => Self::Float,
            "boolean" => Self::Boolean,
            "datetime" => Self::Datetime,
            "email" => Self::Email,
            "enum" => Self::Enum,
            "url" => Self::Url,
            "ip" => Self::Ip,
            _ => return None,
        })
    }

    /// The REST path segment of the type (the inverse of `from_path`).
    pub fn path(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Float => "float",
            Self::Boolean => "boolean",
            Self::Datetime => "datetime",
            Self::Email => "email",
            Self::Enum => "enum",
            Self::Url => "url",
            Self::Ip => "ip",
        }
    }

    /// The `type` and `format` fields of the column model.
    fn model_type(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::String => ("string", None),
            Self::Integer => ("integer", None),
            Self::Float => ("double", None),
            Self::Boolean => ("boolean", None),
            Self::Datetime => ("datetime", Some("datetime")),
            Self::Email => ("string", Some("email")),
            Self::Enum => ("string", Some("enum")),
            Self::Url => ("string", Some("url")),
            Self::Ip => ("string", Some("ip")),
        }
    }

    /// Whether values are JSON strings.
    pub fn is_textual(self) -> bool {
        !matches!(self, Self::Integer | Self::Float | Self::Boolean)
    }
}

/// Longest string column, in characters. Rows are capped by
/// [`MAX_ROW_BYTES`](crate::model::row::MAX_ROW_BYTES) anyway.
pub const MAX_STRING_SIZE: u64 = 1_048_576;
/// Most elements of an enum column, and longest element.
pub const MAX_ENUM_ELEMENTS: usize = 100;
pub const MAX_ENUM_ELEMENT_LENGTH: usize = 255;
/// Most columns one table may have.
pub const MAX_COLUMNS: usize = 500;
/// Longest column key.
pub const MAX_KEY_LENGTH: usize = 36;

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub key: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    pub required: bool,
    pub array: bool,
    /// String columns: most characters per value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Integer and float columns: inclusive bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Number>,
    /// Enum columns: the allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default)]
    pub encrypt: bool,
    pub created: Millis,
    pub updated: Millis,
}

/// Whether `key` is a valid column key (same rules as IDs; `$` keys are system fields).
pub fn is_valid_key(key: &str) -> bool {
    super::id::is_valid(key)
}

fn structure(msg: impl std::fmt::Display) -> Exception {
    Exception::msg(ErrorType::RowInvalidStructure, format!("Invalid document structure: {msg}"))
}

impl Column {
    /// Build a column from the body of `POST .../columns/{type}`.
    pub fn from_request(ty: ColumnType, body: &Map<String, Value>, now: Millis) -> Result<Self, Exception> {
        let key = body
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| Exception::invalid_param("key", "Parameter is required"))?;
        if !is_valid_key(key) {
            return Err(Exception::invalid_param("key", super::id::INVALID_ID_MESSAGE));
        }
        let required = param_bool(body, "required")?
            .ok_or_else(|| Exception::invalid_param("required", "Parameter is required"))?;
        let array = param_bool(body, "array")?.unwrap_or(false);
        let mut col = Column {
            key: key.to_owned(),
            ty,
            required,
            array,
            size: None,
            min: None,
            max: None,
            elements: Vec::new(),
            default: None,
            encrypt: param_bool(body, "encrypt")?.unwrap_or(false),
            created: now,
            updated: now,
        };
        col.apply_type_params(body, true)?;
        col.set_default(body.get("default"))?;
        Ok(col)
    }

    /// Apply the body of `PATCH .../columns/{type}/{key}`: `required`, `default`
    /// and the type's own bounds may change; the key and type may not.
    pub fn update_from_request(&self, body: &Map<String, Value>, now: Millis) -> Result<Self, Exception> {
        if let Some(new_key) = body.get("newKey").and_then(Value::as_str)
            && new_key != self.key
        {
            return Err(Exception::msg(
                ErrorType::GeneralArgumentInvalid,
                "Invalid `newKey` param: renaming columns is not supported by Arcade; create a new column instead",
            ));
        }
        let mut col = self.clone();
        if let Some(required) = param_bool(body, "required")? {
            col.required = required;
        }
        col.apply_type_params(body, false)?;
        col.default = None;
        col.set_default(body.get("default"))?;
        col.updated = now;
        Ok(col)
    }

    fn apply_type_params(&mut self, body: &Map<String, Value>, creating: bool) -> Result<(), Exception> {
        match self.ty {
            ColumnType::String => {
                if let Some(size) = body.get("size").filter(|v| !v.is_null()) {
                    let size = size.as_u64().filter(|s| (1..=MAX_STRING_SIZE).contains(s)).ok_or_else(|| {
                        Exception::invalid_param(
                            "size",
                            format!("Value must be a valid range between 1 and {MAX_STRING_SIZE}"),
                        )
                    })?;
                    self.size = Some(size);
                } else if creating {
                    return Err(Exception::invalid_param("size", "Parameter is required"));
                }
            }
            ColumnType::Integer | ColumnType::Float => {
                let int = self.ty == ColumnType::Integer;
                for (name, slot) in [("min", &mut self.min), ("max", &mut self.max)] {
                    match body.get(name) {
                        None => {}
                        Some(Value::Null) => *slot = None,
                        Some(Value::Number(n)) if !int || n.is_i64() => *slot = Some(n.clone()),
                        Some(_) => {
                            return Err(Exception::invalid_param(
                                name,
                                if int { "Value must be a valid integer" } else { "Value must be a valid float" },
                            ));
                        }
                    }
                }
                if let (Some(lo), Some(hi)) = (&self.min, &self.max)
                    && num(lo) > num(hi)
                {
                    return Err(Exception::msg(
                        ErrorType::ColumnValueInvalid,
                        "Minimum value must be lesser than maximum value",
                    ));
                }
            }
            ColumnType::Enum => match body.get("elements") {
                Some(Value::Array(items)) => {
                    if items.is_empty() || items.len() > MAX_ENUM_ELEMENTS {
                        return Err(Exception::invalid_param(
                            "elements",
                            format!("Value must be an array of 1 to {MAX_ENUM_ELEMENTS} strings"),
                        ));
                    }
                    let mut elements = Vec::with_capacity(items.len());
                    for item in items {
                        match item.as_str() {
                            Some(s) if !s.is_empty() && s.chars().count() <= MAX_ENUM_ELEMENT_LENGTH => {
                                elements.push(s.to_owned())
                            }
                            _ => {
                                return Err(Exception::invalid_param(
                                    "elements",
                                    format!("Each element must be a string of 1 to {MAX_ENUM_ELEMENT_LENGTH} chars"),
                                ));
                            }
                        }
                    }
                    self.elements = elements;
                }
                None if !creating => {}
                _ => {
                    return Err(Exception::invalid_param("elements", "Parameter is required"));
                }
            },
            _ => {}
        }
        Ok(())
    }

    fn set_default(&mut self, default: Option<&Value>) -> Result<(), Exception> {
        let Some(default) = default.filter(|v| !v.is_null()) else {
            return Ok(());
        };
        if self.required || self.array {
            return Err(Exception::msg(
                ErrorType::ColumnDefaultUnsupported,
                if self.required {
                    "Cannot set default value for required column"
                } else {
                    "Cannot set default value for array columns"
                },
            ));
        }
        let value = self.check_scalar(default).map_err(|e| {
            Exception::msg(ErrorType::ColumnValueInvalid, format!("Invalid `default` param: {}", e.message))
        })?;
        self.default = Some(value);
        Ok(())
    }

    /// Validate and normalise one value for this column (`null` allowed unless required).
    pub fn check(&self, v: &Value) -> Result<Value, Exception> {
        if v.is_null() {
            if self.required {
                return Err(structure(format_args!("Missing required attribute \"{}\"", self.key)));
            }
            return Ok(Value::Null);
        }
        if self.array {
            let Value::Array(items) = v else {
                return Err(structure(format_args!("Attribute \"{}\" must be an array", self.key)));
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(self.check_scalar(item)?);
            }
            return Ok(Value::Array(out));
        }
        self.check_scalar(v)
    }

    fn check_scalar(&self, v: &Value) -> Result<Value, Exception> {
        let key = &self.key;
        let invalid_type =
            |what: &str| structure(format_args!("Attribute \"{key}\" has invalid type. Value must be a valid {what}"));
        let invalid_format = |what: String| structure(format_args!("Attribute \"{key}\" has invalid format. {what}"));
        match self.ty {
            ColumnType::String => {
                let s = v.as_str().ok_or_else(|| invalid_type("string"))?;
                let size = self.size.unwrap_or(MAX_STRING_SIZE);
                if s.chars().count() as u64 > size {
                    return Err(invalid_format(format!("Value must be a valid string and at most {size} chars")));
                }
                Ok(v.clone())
            }
            ColumnType::Integer => {
                let n = v.as_i64().ok_or_else(|| invalid_type("integer"))?;
                let lo = self.min.as_ref().and_then(Number::as_i64).unwrap_or(i64::MIN);
                let hi = self.max.as_ref().and_then(Number::as_i64).unwrap_or(i64::MAX);
                if n < lo || n > hi {
                    return Err(invalid_format(format!(
                        "Value must be a valid range between {} and {}",
                        group_thousands(lo),
                        group_thousands(hi)
                    )));
                }
                Ok(v.clone())
            }
            ColumnType::Float => {
                let n = v.as_f64().filter(|f| f.is_finite()).ok_or_else(|| invalid_type("float"))?;
                let lo = self.min.as_ref().map(num).unwrap_or(f64::MIN);
                let hi = self.max.as_ref().map(num).unwrap_or(f64::MAX);
                if n < lo || n > hi {
                    return Err(invalid_format(format!(
                        "Value must be a valid range between {} and {}",
                        fmt_float(lo),
                        fmt_float(hi)
                    )));
                }
                Ok(Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null))
            }
            ColumnType::Boolean => v.as_bool().map(Value::Bool).ok_or_else(|| invalid_type("boolean")),
            ColumnType::Datetime => {
                let s = v.as_str().ok_or_else(|| invalid_type("datetime"))?;
                time::normalize(s).map(Value::String).ok_or_else(|| {
                    invalid_format(
                        "Value must be valid date between 0000-01-01 00:00:00 and 9999-12-31 23:59:59.".into(),
                    )
                })
            }
            ColumnType::Email => {
                let s = v.as_str().ok_or_else(|| invalid_type("string"))?;
                if is_email(s) {
                    Ok(v.clone())
                } else {
                    Err(invalid_format("Value must be a valid email address".into()))
                }
            }
            ColumnType::Enum => {
                let s = v.as_str().ok_or_else(|| invalid_type("string"))?;
                if self.elements.iter().any(|e| e == s) {
                    Ok(v.clone())
                } else {
                    Err(invalid_format(format!("Value must be one of ({})", self.elements.join(", "))))
                }
            }
            ColumnType::Url => {
                let s = v.as_str().ok_or_else(|| invalid_type("string"))?;
                if is_url(s) { Ok(v.clone()) } else { Err(invalid_format("Value must be a valid URL".into())) }
            }
            ColumnType::Ip => {
                let s = v.as_str().ok_or_else(|| invalid_type("string"))?;
                if s.parse::<std::net::IpAddr>().is_ok() {
                    Ok(v.clone())
                } else {
                    Err(invalid_format("Value must be a valid IP address".into()))
                }
            }
        }
    }

    /// The column model the API returns.
    pub fn to_model(&self) -> Value {
        let (ty, format) = self.ty.model_type();
        let mut m = json!({
            "key": self.key,
            "type": ty,
            "status": "available",
            "error": "",
            "required": self.required,
            "array": self.array,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
        });
        let obj = m.as_object_mut();
        if let Some(obj) = obj {
            match self.ty {
                ColumnType::String => {
                    obj.insert("size".into(), json!(self.size.unwrap_or(0)));
                    obj.insert("encrypt".into(), json!(self.encrypt));
                }
                ColumnType::Integer => {
                    obj.insert("min".into(), json!(self.min.as_ref().and_then(Number::as_i64).unwrap_or(i64::MIN)));
                    obj.insert("max".into(), json!(self.max.as_ref().and_then(Number::as_i64).unwrap_or(i64::MAX)));
                }
                ColumnType::Float => {
                    obj.insert("min".into(), json!(self.min.as_ref().map(num).unwrap_or(f64::MIN)));
                    obj.insert("max".into(), json!(self.max.as_ref().map(num).unwrap_or(f64::MAX)));
                }
                ColumnType::Enum => {
                    obj.insert("elements".into(), json!(self.elements));
                }
                _ => {}
            }
            if let Some(format) = format {
                obj.insert("format".into(), json!(format));
            }
            obj.insert("default".into(), self.default.clone().unwrap_or(Value::Null));
        }
        m
    }

    /// Whether a value of this column can be incremented or decremented.
    pub fn is_numeric(&self) -> bool {
        !self.array && matches!(self.ty, ColumnType::Integer | ColumnType::Float)
    }
}

fn num(n: &Number) -> f64 {
    n.as_f64().unwrap_or(0.0)
}

fn fmt_float(f: f64) -> String {
    if f == f64::MIN || f == f64::MAX { format!("{f:e}") } else { f.to_string() }
}

/// 1234567 → "1,234,567", as PHP's number_format in Appwrite's range message.
fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn param_bool(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, Exception> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Exception::invalid_param(name, "Value must be a valid boolean")),
    }
}

/// A pragmatic email check: one `@`, a non-empty local part of printable
/// characters, and a dotted domain of letters, digits and hyphens.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// A URL check in the spirit of PHP's FILTER_VALIDATE_URL: a scheme, `://`,
/// a non-empty host, and no whitespace.
pub fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    scheme_ok && !host.is_empty() && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn string_column_checks_size() {
        let c =
            Column::from_request(ColumnType::String, &body(json!({"key":"name","size":5,"required":true})), 0).unwrap();
        assert_eq!(c.check(&json!("abcde")).unwrap(), json!("abcde"));
        let e = c.check(&json!("abcdef")).unwrap_err();
        assert_eq!(e.kind, ErrorType::RowInvalidStructure);
        assert!(c.check(&Value::Null).unwrap_err().message.contains("Missing required attribute \"name\""));
        assert!(c.check(&json!(3)).unwrap_err().message.contains("invalid type"));
    }

    #[test]
    fn integer_range_message_matches_appwrite() {
        let c =
            Column::from_request(ColumnType::Integer, &body(json!({"key":"lowerBound","required":false,"min":5})), 0)
                .unwrap();
        let e = c.check(&json!(1)).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid document structure: Attribute \"lowerBound\" has invalid format. Value must be a valid range between 5 and 9,223,372,036,854,775,807"
        );
        assert!(c.check(&json!(1.5)).is_err());
        assert_eq!(c.check(&json!(7)).unwrap(), json!(7));
    }

    #[test]
    fn formats() {
        let mk = |ty, extra: Value| {
            let mut b = body(json!({"key":"k","required":false}));
            b.extend(body(extra));
            Column::from_request(ty, &b, 0).unwrap()
        };
        assert!(mk(ColumnType::Email, json!({})).check(&json!("a@b.co")).is_ok());
        assert!(mk(ColumnType::Email, json!({})).check(&json!("nope")).is_err());
        assert!(mk(ColumnType::Url, json!({})).check(&json!("https://x.io/a?b")).is_ok());
        assert!(mk(ColumnType::Url, json!({})).check(&json!("x.io")).is_err());
        assert!(mk(ColumnType::Ip, json!({})).check(&json!("::1")).is_ok());
        assert!(mk(ColumnType::Ip, json!({})).check(&json!("1.2.3")).is_err());
        let e = mk(ColumnType::Enum, json!({"elements":["yes","no","maybe"]}));
        assert_eq!(
            e.check(&json!("x")).unwrap_err().message,
            "Invalid document structure: Attribute \"k\" has invalid format. Value must be one of (yes, no, maybe)"
        );
        let d = mk(ColumnType::Datetime, json!({}));
        assert_eq!(d.check(&json!("2026-01-02T03:04:05Z")).unwrap(), json!("2026-01-02T03:04:05.000+00:00"));
        let f = mk(ColumnType::Float, json!({"min":0,"max":1}));
        assert!(f.check(&json!(0.5)).is_ok());
        assert!(f.check(&json!(2)).is_err());
        let a = mk(ColumnType::Integer, json!({"array":true}));
        assert_eq!(a.check(&json!([1, 2])).unwrap(), json!([1, 2]));
        assert!(a.check(&json!([1, "x"])).is_err());
    }

    #[test]
    fn defaults_follow_appwrite_rules() {
        let e = Column::from_request(
            ColumnType::String,
            &body(json!({"key":"k","size":3,"required":true,"default":"x"})),
            0,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorType::ColumnDefaultUnsupported);
        let e = Column::from_request(
            ColumnType::String,
            &body(json!({"key":"k","size":3,"required":false,"default":"long"})),
            0,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorType::ColumnValueInvalid);
        let c = Column::from_request(ColumnType::Integer, &body(json!({"key":"k","required":false,"default":3})), 0)
            .unwrap();
        assert_eq!(c.to_model()["default"], json!(3));
        assert_eq!(c.to_model()["type"], json!("integer"));
    }
}
