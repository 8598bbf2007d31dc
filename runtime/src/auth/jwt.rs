//! JWTs for `/v1/account/jwts` and `X-Appwrite-JWT`: HS256 over
//! `{userId, sessionId, exp}` with the server secret, as Appwrite issues them.
//! A JWT is only as good as its session: verification also checks that the
//! session still exists.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::AuthError;

/// Default and longest JWT lifetime, in seconds.
pub const DEFAULT_DURATION: u64 = 900;
pub const MAX_DURATION: u64 = 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub user_id: String,
    pub session_id: String,
    pub exp: u64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }

    pub fn issue(&self, user_id: &str, session_id: &str, duration_s: u64) -> Result<String, AuthError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let claims = Claims { user_id: user_id.to_owned(), session_id: session_id.to_owned(), exp: now + duration_s };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Hash(e.to_string()))
    }

    /// The claims of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).ok().map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_verify() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let t = keys.issue("u1", "s1", 60).unwrap();
        let c = keys.verify(&t).unwrap();
        assert_eq!((c.user_id.as_str(), c.session_id.as_str()), ("u1", "s1"));
        let other = JwtKeys::new(b"another secret another secret!!!");
        assert!(other.verify(&t).is_none());
        assert!(keys.verify("a.b.c").is_none());
    }
}
