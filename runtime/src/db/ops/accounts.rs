//! Users and sessions (`/v1/account`).
//!
//! Password hashing is slow on purpose, so callers hash before queueing the
//! write; these operations only check uniqueness and store. Every change emits
//! a `users.*` event readable by that user alone, which is what feeds the
//! `account` realtime channel.

use serde_json::{Map, Value};

use crate::model::account::{Session, User};
use crate::model::event::{self, Action, EventDraft, Resource};
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::store::{WriteTx, keys};

fn user_event(user: &User, action: Action, attribute: Option<&str>) -> EventDraft {
    let mut e = EventDraft::new(Resource::User { user: user.id.clone() }, action, event::raw(&user.to_model()))
        .roles(vec![format!("user:{}", user.id)])
        .actor(Some(user.id.clone()));
    if let Some(a) = attribute {
        e = e.attribute(a);
    }
    e
}

fn session_event(session: &Session, action: Action) -> EventDraft {
    EventDraft::new(
        Resource::Session { user: session.user_id.clone(), session: session.id.clone() },
        action,
        event::raw(&session.to_model(false, "")),
    )
    .roles(vec![format!("user:{}", session.user_id)])
    .actor(Some(session.user_id.clone()))
}

pub struct NewUser {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub name: String,
}

pub fn create_user(tx: &mut WriteTx<'_>, new: &NewUser) -> Result<User, Exception> {
    if tx.auth_exists(&keys::auth::user(&new.id))? {
        return Err(Exception::new(ErrorType::UserAlreadyExists));
    }
    if !new.email.is_empty() && tx.auth_exists(&keys::auth::email(&new.email))? {
        return Err(Exception::new(ErrorType::UserAlreadyExists));
    }
    let now = tx.now();
    let user = User {
        id: new.id.clone(),
        name: new.name.clone(),
        email: new.email.clone(),
        password_hash: new.password_hash.clone(),
        password_update: (!new.password_hash.is_empty()).then_some(now),
        status: true,
        labels: Vec::new(),
        prefs: Map::new(),
        email_verification: false,
        created: now,
        updated: now,
        accessed: now,
    };
    tx.put_auth(keys::auth::user(&user.id), &user)?;
    if !user.email.is_empty() {
        tx.put_auth(keys::auth::email(&user.email), &user.id)?;
    }
    tx.emit(user_event(&user, Action::Create, None))?;
    Ok(user)
}

pub struct NewSession {
    pub user_id: String,
    pub provider: String,
    pub secret_hash: String,
    pub ip: String,
    pub user_agent: String,
    pub expire: i64,
}

pub fn create_session(tx: &mut WriteTx<'_>, new: &NewSession) -> Result<Session, Exception> {
    let user: User =
        tx.auth(&keys::auth::user(&new.user_id))?.ok_or_else(|| Exception::new(ErrorType::UserInvalidCredentials))?;
    if !user.status {
        return Err(Exception::new(ErrorType::UserBlocked));
    }
    let session = Session {
        id: id::unique(),
        user_id: new.user_id.clone(),
        secret_hash: new.secret_hash.clone(),
        provider: new.provider.clone(),
        ip: new.ip.clone(),
        user_agent: new.user_agent.clone(),
        created: tx.now(),
        expire: new.expire,
    };
    tx.put_auth(keys::auth::session(&session.id), &session)?;
    tx.put_auth(keys::auth::session_secret(&session.secret_hash), &session.id)?;
    tx.put_auth_marker(keys::auth::user_session(&user.id, &session.id));
    tx.emit(session_event(&session, Action::Create))?;
    Ok(session)
}

/// Create an anonymous user and its first session in one step.
pub fn create_anonymous(tx: &mut WriteTx<'_>, user_id: &str, new: &NewSession) -> Result<(User, Session), Exception> {
    let user = create_user(
        tx,
        &NewUser { id: user_id.to_owned(), email: String::new(), password_hash: String::new(), name: String::new() },
    )?;
    let session = create_session(tx, &NewSession { user_id: user.id.clone(), ..clone_session(new) })?;
    Ok((user, session))
}

fn clone_session(s: &NewSession) -> NewSession {
    NewSession {
        user_id: s.user_id.clone(),
        provider: s.provider.clone(),
        secret_hash: s.secret_hash.clone(),
        ip: s.ip.clone(),
        user_agent: s.user_agent.clone(),
        expire: s.expire,
    }
}

pub fn delete_session(tx: &mut WriteTx<'_>, user_id: &str, session_id: &str) -> Result<Session, Exception> {
    let session: Session = tx
        .auth(&keys::auth::session(session_id))?
        .filter(|s: &Session| s.user_id == user_id)
        .ok_or_else(|| Exception::new(ErrorType::UserSessionNotFound))?;
    tx.remove_auth(keys::auth::session(&session.id));
    tx.remove_auth(keys::auth::session_secret(&session.secret_hash));
    tx.remove_auth(keys::auth::user_session(user_id, &session.id));
    tx.emit(session_event(&session, Action::Delete))?;
    Ok(session)
}

/// A change to the signed-in user's own account.
pub enum AccountChange {
    Name(String),
    Email(String),
    PasswordHash(String),
    Prefs(Map<String, Value>),
    /// Blocks the account (`PATCH /account/status`) or, from the Users API, sets it.
    Status(bool),
    /// The user's labels (Users API only), which grant `label:<name>` roles.
    Labels(Vec<String>),
}

pub fn update_user(tx: &mut WriteTx<'_>, user_id: &str, change: &AccountChange) -> Result<User, Exception> {
    let mut user: User = tx.auth(&keys::auth::user(user_id))?.ok_or_else(|| Exception::new(ErrorType::UserNotFound))?;
    let now = tx.now();
    let attribute = match change {
        AccountChange::Name(n) => {
            user.name = n.clone();
            "name"
        }
        AccountChange::Email(e) => {
            if *e != user.email {
                if tx.auth_exists(&keys::auth::email(e))? {
                    return Err(Exception::new(ErrorType::UserEmailAlreadyExists));
                }
                if !user.email.is_empty() {
                    tx.remove_auth(keys::auth::email(&user.email));
                }
                tx.put_auth(keys::auth::email(e), &user.id)?;
                user.email = e.clone();
                user.email_verification = false;
            }
            "email"
        }
        AccountChange::PasswordHash(h) => {
            user.password_hash = h.clone();
            user.password_update = Some(now);
            "password"
        }
        AccountChange::Prefs(p) => {
            user.prefs = p.clone();
            "prefs"
        }
        AccountChange::Status(on) => {
            user.status = *on;
            "status"
        }
        AccountChange::Labels(labels) => {
            user.labels = labels.clone();
            "labels"
        }
    };
    user.updated = now;
    tx.put_auth(keys::auth::user(&user.id), &user)?;
    tx.emit(user_event(&user, Action::Update, Some(attribute)))?;
    Ok(user)
}

/// Delete a user with its sessions and team memberships (`DELETE /v1/users/{id}`).
pub fn delete_user(
    tx: &mut WriteTx<'_>,
    user_id: &str,
    sessions: &[String],
    memberships: &[crate::model::account::Membership],
) -> Result<User, Exception> {
    let user: User = tx.auth(&keys::auth::user(user_id))?.ok_or_else(|| Exception::new(ErrorType::UserNotFound))?;
    for sid in sessions {
        delete_session(tx, user_id, sid)?;
    }
    for m in memberships {
        tx.remove_auth(keys::auth::membership(&m.id));
        tx.remove_auth(keys::auth::team_membership(&m.team_id, &m.id));
        tx.remove_auth(keys::auth::user_membership(&m.user_id, &m.id));
        tx.remove_auth(keys::auth::member_pair(&m.team_id, &m.user_id));
    }
    if !user.email.is_empty() {
        tx.remove_auth(keys::auth::email(&user.email));
    }
    tx.remove_auth(keys::auth::user(user_id));
    tx.emit(user_event(&user, Action::Delete, None))?;
    Ok(user)
}
