//! Who is calling, and what they may do.
//!
//! Every request is resolved once into an [`Identity`]: an API key with its
//! scopes, a signed-in user with their roles, or a guest. Appwrite's two
//! gates follow from it: *scopes* decide which routes a caller may use at all
//! (keys carry their own; guests and users get Appwrite's role scopes), and
//! *roles* decide which tables and rows they may touch (API keys skip that
//! check entirely, as in Appwrite). Roles are derived fresh from the user, its
//! labels and its confirmed team memberships on every request, so a change to
//! any of them takes effect at once.

pub mod jwt;
pub mod secrets;

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::model::account::{ApiKey, Membership, Session, User};
use crate::model::exception::{ErrorType, Exception};
use crate::model::time::Millis;
use crate::store::{Store, StoreError, keys};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AuthError> for Exception {
    fn from(e: AuthError) -> Self {
        Exception::internal(e)
    }
}

/// Scopes of guests (Appwrite's `roles.php`).
const GUEST_SCOPES: &[&str] = &[
    "global",
    "public",
    "home",
    "graphql",
    "sessions.write",
    "documents.read",
    "documents.write",
    "rows.read",
    "rows.write",
    "files.read",
    "files.write",
    "locale.read",
    "avatars.read",
    "executions.write",
];

/// Scopes of signed-in users.
const USER_SCOPES: &[&str] = &[
    "global",
    "public",
    "home",
    "graphql",
    "sessions.write",
    "account",
    "teams.read",
    "teams.write",
    "documents.read",
    "documents.write",
    "rows.read",
    "rows.write",
    "files.read",
    "files.write",
    "locale.read",
    "avatars.read",
    "executions.read",
    "executions.write",
    "targets.read",
    "targets.write",
];

/// The scopes an API key may be given.
pub const KEY_SCOPES: &[&str] = &[
    "users.read",
    "users.write",
    "sessions.read",
    "sessions.write",
    "teams.read",
    "teams.write",
    "databases.read",
    "databases.write",
    "tables.read",
    "tables.write",
    "columns.read",
    "columns.write",
    "indexes.read",
    "indexes.write",
    "rows.read",
    "rows.write",
    "collections.read",
    "collections.write",
    "attributes.read",
    "attributes.write",
    "documents.read",
    "documents.write",
    "functions.read",
    "functions.write",
    "executions.read",
    "executions.write",
    "log.read",
    "health.read",
];

/// Legacy scope names that grant the same as the TablesDB ones.
fn scope_aliases(scope: &str) -> &'static [&'static str] {
    match scope {
        "tables.read" => &["collections.read"],
        "tables.write" => &["collections.write"],
        "columns.read" => &["attributes.read"],
        "columns.write" => &["attributes.write"],
        "rows.read" => &["documents.read"],
        "rows.write" => &["documents.write"],
        _ => &[],
    }
}

/// An API key's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScopes {
    /// The master key: every scope.
    All,
    Some(Vec<String>),
}

/// The caller of one request.
#[derive(Debug, Clone)]
pub enum Identity {
    /// An API key, or a function acting with its authority (`actor`: the user
    /// who caused the execution, recorded on the events of its writes).
    Key {
        id: String,
        scopes: KeyScopes,
        actor: Option<String>,
    },
    User {
        user: Arc<User>,
        session_id: String,
        roles: Vec<String>,
        via_jwt: bool,
    },
    Guest,
}

static GUEST_ROLES: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| vec!["any".to_owned(), "guests".to_owned()]);

impl Identity {
    pub fn is_key(&self) -> bool {
        matches!(self, Identity::Key { .. })
    }

    /// The roles permission checks match against (empty for keys, which skip them).
    pub fn roles(&self) -> &[String] {
        match self {
            Identity::Key { .. } => &[],
            Identity::User { roles, .. } => roles,
            Identity::Guest => &GUEST_ROLES,
        }
    }

    pub fn user(&self) -> Option<&Arc<User>> {
        match self {
            Identity::User { user, .. } => Some(user),
            _ => None,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user().map(|u| u.id.as_str())
    }

    /// The user a change is attributed to: the signed-in user, or the user a
    /// function runs for.
    pub fn actor(&self) -> Option<&str> {
        match self {
            Identity::Key { actor, .. } => actor.as_deref(),
            _ => self.user_id(),
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        role == "any" || self.roles().iter().any(|r| r == role)
    }

    /// Whether this caller holds `scope` (or its legacy alias).
    pub fn has_scope(&self, scope: &str) -> bool {
        let matches = |s: &str| s == scope || scope_aliases(scope).contains(&s);
        match self {
            Identity::Key { scopes: KeyScopes::All, .. } => true,
            Identity::Key { scopes: KeyScopes::Some(list), .. } => list.iter().any(|s| matches(s)),
            Identity::User { .. } => USER_SCOPES.iter().any(|s| matches(s)),
            Identity::Guest => GUEST_SCOPES.iter().any(|s| matches(s)),
        }
    }

    /// Fail with Appwrite's `general_unauthorized_scope` unless this caller holds `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), Exception> {
        if self.has_scope(scope) {
            return Ok(());
        }
        let who = match self {
            Identity::Key { .. } => "app (role: applications)".to_owned(),
            Identity::User { user, .. } => {
                let name = if user.email.is_empty() { "User" } else { user.email.as_str() };
                format!("{name} (role: users)")
            }
            Identity::Guest => "User (role: guests)".to_owned(),
        };
        Err(Exception::msg(ErrorType::GeneralUnauthorizedScope, format!("{who} missing scopes ([\"{scope}\"])")))
    }
}

/// Credentials found on a request.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    /// `X-Appwrite-Key`.
    pub key: Option<String>,
    /// A session token from the cookie, `X-Fallback-Cookies` or `X-Appwrite-Session`.
    pub session: Option<String>,
    /// `X-Appwrite-JWT` (or `?jwt=` on realtime).
    pub jwt: Option<String>,
}

/// Turns credentials into identities.
pub struct Authenticator {
    master_key: String,
    jwt: jwt::JwtKeys,
}

impl Authenticator {
    pub fn new(master_key: String, jwt_secret: &[u8]) -> Self {
        Self { master_key, jwt: jwt::JwtKeys::new(jwt_secret) }
    }

    pub fn jwt_keys(&self) -> &jwt::JwtKeys {
        &self.jwt
    }

    /// Resolve the caller. A bad or expired session is a guest (as in
    /// Appwrite); a bad key or JWT is an error.
    pub fn identify(&self, store: &Store, creds: &Credentials, now: Millis) -> Result<Identity, Exception> {
        if let Some(key) = creds.key.as_deref().filter(|k| !k.is_empty()) {
            return self.identify_key(store, key, now);
        }
        if let Some(token) = creds.jwt.as_deref().filter(|t| !t.is_empty()) {
            if creds.session.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(Exception::new(ErrorType::UserJwtAndCookieSet));
            }
            let invalid = || Exception::new(ErrorType::UserJwtInvalid);
            let claims = self.jwt.verify(token).ok_or_else(invalid)?;
            let session: Session = store.auth(&keys::auth::session(&claims.session_id))?.ok_or_else(invalid)?;
            if session.user_id != claims.user_id || session.expire < now {
                return Err(invalid());
            }
            return match self.user_identity(store, &session, true)? {
                Some(identity) => Ok(identity),
                None => Err(invalid()),
            };
        }
        if let Some(token) = creds.session.as_deref()
            && let Some(session) = self.session_for_token(store, token, now)?
            && let Some(identity) = self.user_identity(store, &session, false)?
        {
            return Ok(identity);
        }
        Ok(Identity::Guest)
    }

    /// The live session a token stands for, if any.
    pub fn session_for_token(&self, store: &Store, token: &str, now: Millis) -> Result<Option<Session>, Exception> {
        let Some((user_id, secret)) = secrets::decode_session(token) else {
            return Ok(None);
        };
        let hash = secrets::sha256_hex(&secret);
        let Some(session_id) = store.auth::<String>(&keys::auth::session_secret(&hash))? else {
            return Ok(None);
        };
        let session: Option<Session> = store.auth(&keys::auth::session(&session_id))?;
        Ok(session.filter(|s| s.user_id == user_id && s.secret_hash == hash && s.expire >= now))
    }

    fn user_identity(&self, store: &Store, session: &Session, via_jwt: bool) -> Result<Option<Identity>, Exception> {
        let Some(user) = store.auth::<User>(&keys::auth::user(&session.user_id))? else {
            return Ok(None);
        };
        if !user.status {
            return Err(Exception::new(ErrorType::UserBlocked));
        }
        let roles = roles_of(store, &user)?;
        Ok(Some(Identity::User { user: Arc::new(user), session_id: session.id.clone(), roles, via_jwt }))
    }

    fn identify_key(&self, store: &Store, key: &str, now: Millis) -> Result<Identity, Exception> {
        if key.len() == self.master_key.len() && bool::from(key.as_bytes().ct_eq(self.master_key.as_bytes())) {
            return Ok(Identity::Key { id: "master".to_owned(), scopes: KeyScopes::All, actor: None });
        }
        let stored: Option<ApiKey> = store.api_key(&secrets::sha256_hex(key))?;
        match stored {
            Some(k) if k.expire.is_some_and(|e| e < now) => Err(Exception::new(ErrorType::ProjectKeyExpired)),
            Some(k) => Ok(Identity::Key { id: k.id, scopes: KeyScopes::Some(k.scopes), actor: None }),
            None => Err(Exception::msg(ErrorType::UserUnauthorized, "The API key is not valid.")),
        }
    }
}

/// Every role a user holds: its own roles, labels, and those of its confirmed memberships.
pub fn roles_of(store: &Store, user: &User) -> Result<Vec<String>, Exception> {
    let mut roles = user.base_roles();
    for key in store.auth_keys(&keys::auth::user_memberships(&user.id))? {
        let Some(mid) = key.rsplit(|b| *b == 0).next() else {
            continue;
        };
        let mid = String::from_utf8_lossy(mid);
        if let Some(m) = store.auth::<Membership>(&keys::auth::membership(&mid))?
            && m.confirm
        {
            roles.extend(m.roles_granted());
        }
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_roles() {
        assert!(Identity::Guest.has_scope("rows.write"));
        assert!(!Identity::Guest.has_scope("account"));
        assert!(!Identity::Guest.has_scope("tables.write"));
        let k = Identity::Key { id: "k".into(), scopes: KeyScopes::Some(vec!["documents.read".into()]), actor: None };
        assert!(k.has_scope("rows.read"));
        assert!(!k.has_scope("rows.write"));
        let e = Identity::Guest.require_scope("account").unwrap_err();
        assert_eq!(e.kind, ErrorType::GeneralUnauthorizedScope);
        assert_eq!(e.message, "User (role: guests) missing scopes ([\"account\"])");
    }
}
