//! Users, sessions, teams, memberships and API keys: the records behind
//! `/v1/account` and `/v1/teams`, and the Appwrite models built from them.
//!
//! Secrets never leave this module in clear: sessions and keys keep only the
//! SHA-256 of their secret, passwords only their argon2id hash.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::time::{self, Millis};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    /// Lower-cased; empty for anonymous users.
    pub email: String,
    /// argon2id PHC string; empty for anonymous users.
    pub password_hash: String,
    pub password_update: Option<Millis>,
    pub status: bool,
    pub labels: Vec<String>,
    pub prefs: Map<String, Value>,
    pub email_verification: bool,
    pub created: Millis,
    pub updated: Millis,
    pub accessed: Millis,
}

impl User {
    /// Appwrite's Account/User model (no secrets).
    pub fn to_model(&self) -> Value {
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "name": self.name,
            "registration": time::format(self.created),
            "status": self.status,
            "labels": self.labels,
            "passwordUpdate": self.password_update.map(time::format).unwrap_or_default(),
            "email": self.email,
            "phone": "",
            "emailVerification": self.email_verification,
            "phoneVerification": false,
            "mfa": false,
            "prefs": self.prefs,
            "targets": [],
            "accessedAt": time::format(self.accessed),
        })
    }

    /// The roles a signed-in user holds, before team memberships: Appwrite's
    /// `User::getRoles` (`any` is included so permission checks can match it).
    pub fn base_roles(&self) -> Vec<String> {
        let verified = if self.email_verification { "verified" } else { "unverified" };
        let mut roles = vec![
            "any".to_owned(),
            "users".to_owned(),
            format!("users/{verified}"),
            format!("user:{}", self.id),
            format!("user:{}/{verified}", self.id),
        ];
        roles.extend(self.labels.iter().map(|l| format!("label:{l}")));
        roles
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    /// Hex SHA-256 of the session secret.
    pub secret_hash: String,
    pub provider: String,
    pub ip: String,
    pub user_agent: String,
    pub created: Millis,
    pub expire: Millis,
}

impl Session {
    /// Appwrite's Session model. `secret` is only ever filled for callers
    /// using an API key (server-side session creation), as in Appwrite.
    pub fn to_model(&self, current: bool, secret: &str) -> Value {
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.created),
            "userId": self.user_id,
            "expire": time::format(self.expire),
            "provider": self.provider,
            "providerUid": "",
            "providerAccessToken": "",
            "providerAccessTokenExpiry": "",
            "providerRefreshToken": "",
            "ip": self.ip,
            "osCode": "",
            "osName": "",
            "osVersion": "",
            "clientType": "",
            "clientCode": "",
            "clientName": self.user_agent,
            "clientVersion": "",
            "clientEngine": "",
            "clientEngineVersion": "",
            "deviceName": "",
            "deviceBrand": "",
            "deviceModel": "",
            "countryCode": "--",
            "countryName": "Unknown",
            "current": current,
            "factors": [if self.provider == "anonymous" { "anonymous" } else { "password" }],
            "secret": secret,
            "mfaUpdatedAt": "",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub prefs: Map<String, Value>,
    pub created: Millis,
    pub updated: Millis,
}

impl Team {
    pub fn to_model(&self, total: u64) -> Value {
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "name": self.name,
            "total": total,
            "prefs": self.prefs,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub id: String,
    pub team_id: String,
    pub user_id: String,
    pub roles: Vec<String>,
    pub confirm: bool,
    pub invited: Millis,
    pub joined: Option<Millis>,
    pub created: Millis,
    pub updated: Millis,
}

impl Membership {
    pub fn to_model(&self, user: Option<&User>, team: Option<&Team>) -> Value {
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "userId": self.user_id,
            "userName": user.map(|u| u.name.as_str()).unwrap_or(""),
            "userEmail": user.map(|u| u.email.as_str()).unwrap_or(""),
            "teamId": self.team_id,
            "teamName": team.map(|t| t.name.as_str()).unwrap_or(""),
            "invited": time::format(self.invited),
            "joined": self.joined.map(time::format).unwrap_or_default(),
            "confirm": self.confirm,
            "mfa": false,
            "roles": self.roles,
        })
    }

    /// Roles this membership gives its user once confirmed.
    pub fn roles_granted(&self) -> Vec<String> {
        let mut roles = vec![format!("team:{}", self.team_id), format!("member:{}", self.id)];
        roles.extend(self.roles.iter().map(|r| format!("team:{}/{r}", self.team_id)));
        roles
    }
}

/// A stored API key (the master key is configuration, not a record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// Hex SHA-256 of the key secret.
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub expire: Option<Millis>,
    pub created: Millis,
    #[serde(default)]
    pub updated: Millis,
}
