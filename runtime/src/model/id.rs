//! Resource IDs, with Appwrite's rules.
//!
//! Clients either send a custom ID or the literal `unique()` (what the SDKs'
//! `ID.unique()` sends), which we replace by 20 lowercase hex characters: 13
//! for the time, as PHP's `uniqid()`, then 7 random ones, so IDs sort roughly
//! by creation time just as Appwrite's do.

use rand::Rng;

use super::exception::{ErrorType, Exception};

/// Longest custom ID Appwrite accepts.
pub const MAX_ID_LENGTH: usize = 36;

/// A fresh `unique()` ID: 8 hex digits of Unix seconds, 5 of microseconds, 7 random.
pub fn unique() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut rng = rand::rng();
    format!("{:08x}{:05x}{:07x}", now.as_secs() & 0xffff_ffff, now.subsec_micros(), rng.random_range(0..0x1000_0000u32))
}

/// Whether `id` is a valid custom ID: 1–36 of `[A-Za-z0-9._-]`, not starting with `.`, `_` or `-`.
pub fn is_valid(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_ID_LENGTH
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The message Appwrite's `CustomId` validator gives.
pub const INVALID_ID_MESSAGE: &str = "Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char";

/// Resolve a client-sent ID for parameter `param`: `unique()` becomes a fresh ID,
/// anything else must be a valid custom ID.
pub fn resolve(param: &str, requested: &str) -> Result<String, Exception> {
    if requested == "unique()" {
        Ok(unique())
    } else if is_valid(requested) {
        Ok(requested.to_owned())
    } else {
        Err(Exception::invalid_param(param, INVALID_ID_MESSAGE))
    }
}

/// Check an ID that names an existing resource (path parameters): a bad one
/// can never exist, so callers answer with their usual not-found error.
pub fn check_path_id(param: &str, id: &str) -> Result<(), Exception> {
    if is_valid(id) {
        Ok(())
    } else {
        Err(Exception::msg(ErrorType::GeneralArgumentInvalid, format!("Invalid `{param}` param: {INVALID_ID_MESSAGE}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_have_appwrite_shape() {
        let id = unique();
        assert_eq!(id.len(), 20);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(is_valid(&id));
        assert_ne!(unique(), unique());
    }

    #[test]
    fn custom_id_rules() {
        assert!(is_valid("player_1.main-x"));
        assert!(is_valid(&"a".repeat(36)));
        assert!(!is_valid(&"a".repeat(37)));
        assert!(!is_valid(""));
        assert!(!is_valid("_x"));
        assert!(!is_valid("-x"));
        assert!(!is_valid(".x"));
        assert!(!is_valid("a b"));
        assert!(!is_valid("ä"));
        assert!(resolve("rowId", "unique()").is_ok());
        assert_eq!(resolve("rowId", "bad id").unwrap_err().kind, ErrorType::GeneralArgumentInvalid);
    }
}
