//! Passwords, session tokens and key secrets: how each is made and checked.
//!
//! Passwords are hashed with argon2id (the `argon2` crate's defaults, which
//! follow OWASP's minimum). Session tokens have Appwrite's shape, base64 of
//! `{"id":"<userId>","secret":"<secret>"}`, so SDKs that store and resend them
//! verbatim work; the server keeps only the SHA-256 of the secret.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuthError;

/// Shortest and longest password Appwrite accepts.
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 256;

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// A fresh random secret: 64 bytes as 128 hex characters.
pub fn new_secret() -> String {
    let bytes: [u8; 64] = rand::random();
    hex::encode(bytes)
}

/// Hex SHA-256, how secrets are stored and looked up.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[derive(Serialize, Deserialize)]
struct TokenParts {
    id: String,
    secret: String,
}

/// The session token a client holds: base64 of `{"id","secret"}`.
pub fn encode_session(user_id: &str, secret: &str) -> String {
    let json =
        serde_json::to_vec(&TokenParts { id: user_id.to_owned(), secret: secret.to_owned() }).unwrap_or_default();
    STANDARD.encode(json)
}

/// The user id and secret inside a session token, if it has that shape.
pub fn decode_session(token: &str) -> Option<(String, String)> {
    let bytes = STANDARD.decode(token.trim()).ok()?;
    let parts: TokenParts = serde_json::from_slice(&bytes).ok()?;
    (!parts.id.is_empty() && !parts.secret.is_empty()).then_some((parts.id, parts.secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_roundtrip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn session_token_roundtrip() {
        let t = encode_session("u1", "s3cr3t");
        assert_eq!(decode_session(&t), Some(("u1".into(), "s3cr3t".into())));
        assert_eq!(decode_session("garbage!"), None);
    }
}
