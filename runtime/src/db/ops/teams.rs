//! Teams and memberships (`/v1/teams`), so that `team:` and `member:` roles
//! in permissions are real.
//!
//! Arcade has no mail server, so there are no invitations to accept: a
//! membership created by the team's owner (or an API key) for an existing
//! user is confirmed at once. Team events are readable by the team's members
//! (`team:<id>`), as in Appwrite.

use crate::auth::Identity;
use crate::model::account::{Membership, Team, User};
use crate::model::event::{self, Action, EventDraft, Resource};
use crate::model::exception::{ErrorType, Exception};
use crate::model::id;
use crate::store::{WriteTx, keys};

fn team_event(team: &Team, total: u64, action: Action, who: &Identity) -> EventDraft {
    EventDraft::new(Resource::Team { team: team.id.clone() }, action, event::raw(&team.to_model(total)))
        .roles(vec![format!("team:{}", team.id)])
        .actor(who.user_id().map(str::to_owned))
}

fn membership_event(
    tx: &mut WriteTx<'_>,
    m: &Membership,
    team: &Team,
    action: Action,
    who: &Identity,
) -> Result<EventDraft, Exception> {
    let user: Option<User> = tx.auth(&keys::auth::user(&m.user_id))?;
    Ok(EventDraft::new(
        Resource::Membership { team: m.team_id.clone(), membership: m.id.clone() },
        action,
        event::raw(&m.to_model(user.as_ref(), Some(team))),
    )
    .roles(vec![format!("team:{}", m.team_id), format!("user:{}", m.user_id)])
    .actor(who.user_id().map(str::to_owned)))
}

/// Whether the caller may manage the team's members (its owners, or a key).
pub fn can_manage(who: &Identity, team_id: &str) -> bool {
    who.is_key() || who.has_role(&format!("team:{team_id}/owner"))
}

pub fn team(tx: &mut WriteTx<'_>, id: &str) -> Result<Team, Exception> {
    tx.auth(&keys::auth::team(id))?.ok_or_else(|| Exception::new(ErrorType::TeamNotFound))
}

/// Create a team; a signed-in creator becomes its first member with `roles` (default `owner`).
pub fn create_team(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    id: &str,
    name: &str,
    roles: &[String],
) -> Result<Team, Exception> {
    if tx.auth_exists(&keys::auth::team(id))? {
        return Err(Exception::new(ErrorType::TeamAlreadyExists));
    }
    let now = tx.now();
    let team = Team { id: id.to_owned(), name: name.to_owned(), prefs: Default::default(), created: now, updated: now };
    tx.put_auth(keys::auth::team(id), &team)?;
    let mut total = 0;
    if let (Some(uid), false) = (who.user_id(), who.is_key()) {
        let roles = if roles.is_empty() { vec!["owner".to_owned()] } else { roles.to_vec() };
        add_member(tx, who, &team, uid, roles)?;
        total = 1;
    }
    tx.emit(team_event(&team, total, Action::Create, who))?;
    Ok(team)
}

fn add_member(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    team: &Team,
    user_id: &str,
    roles: Vec<String>,
) -> Result<Membership, Exception> {
    let pair = keys::auth::member_pair(&team.id, user_id);
    if tx.auth_exists(&pair)? {
        return Err(Exception::msg(ErrorType::MembershipAlreadyConfirmed, "User is already a member of this team."));
    }
    let now = tx.now();
    let m = Membership {
        id: id::unique(),
        team_id: team.id.clone(),
        user_id: user_id.to_owned(),
        roles,
        confirm: true,
        invited: now,
        joined: Some(now),
        created: now,
        updated: now,
    };
    tx.put_auth(keys::auth::membership(&m.id), &m)?;
    tx.put_auth_marker(keys::auth::team_membership(&team.id, &m.id));
    tx.put_auth_marker(keys::auth::user_membership(user_id, &m.id));
    tx.put_auth(pair, &m.id)?;
    let e = membership_event(tx, &m, team, Action::Create, who)?;
    tx.emit(e)?;
    Ok(m)
}

pub fn create_membership(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    team_id: &str,
    user_id: &str,
    roles: Vec<String>,
) -> Result<Membership, Exception> {
    let team = team(tx, team_id)?;
    if !can_manage(who, team_id) {
        return Err(Exception::msg(
            ErrorType::UserUnauthorized,
            "User is not allowed to send invitations for this team",
        ));
    }
    if !tx.auth_exists(&keys::auth::user(user_id))? {
        return Err(Exception::new(ErrorType::UserNotFound));
    }
    add_member(tx, who, &team, user_id, roles)
}

pub fn membership(tx: &mut WriteTx<'_>, team_id: &str, membership_id: &str) -> Result<Membership, Exception> {
    let m: Membership = tx
        .auth(&keys::auth::membership(membership_id))?
        .ok_or_else(|| Exception::new(ErrorType::MembershipNotFound))?;
    if m.team_id != team_id {
        return Err(Exception::new(ErrorType::TeamMembershipMismatch));
    }
    Ok(m)
}

pub fn update_membership(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    team_id: &str,
    membership_id: &str,
    roles: Vec<String>,
) -> Result<Membership, Exception> {
    let team = team(tx, team_id)?;
    if !can_manage(who, team_id) {
        return Err(Exception::msg(ErrorType::UserUnauthorized, "User is not allowed to modify roles"));
    }
    let mut m = membership(tx, team_id, membership_id)?;
    m.roles = roles;
    m.updated = tx.now();
    tx.put_auth(keys::auth::membership(&m.id), &m)?;
    let e = membership_event(tx, &m, &team, Action::Update, who)?;
    tx.emit(e)?;
    Ok(m)
}

/// Remove a membership: the team's owners (or a key) may remove anyone; a member may leave.
pub fn delete_membership(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    team_id: &str,
    membership_id: &str,
) -> Result<Membership, Exception> {
    let team = team(tx, team_id)?;
    let m = membership(tx, team_id, membership_id)?;
    if !can_manage(who, team_id) && who.user_id() != Some(m.user_id.as_str()) {
        return Err(Exception::new(ErrorType::UserUnauthorized));
    }
    remove_member(tx, &m);
    let e = membership_event(tx, &m, &team, Action::Delete, who)?;
    tx.emit(e)?;
    Ok(m)
}

fn remove_member(tx: &mut WriteTx<'_>, m: &Membership) {
    tx.remove_auth(keys::auth::membership(&m.id));
    tx.remove_auth(keys::auth::team_membership(&m.team_id, &m.id));
    tx.remove_auth(keys::auth::user_membership(&m.user_id, &m.id));
    tx.remove_auth(keys::auth::member_pair(&m.team_id, &m.user_id));
}

pub fn update_team(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    team_id: &str,
    name: &str,
    total: u64,
) -> Result<Team, Exception> {
    let mut team = team(tx, team_id)?;
    if !can_manage(who, team_id) {
        return Err(Exception::new(ErrorType::UserUnauthorized));
    }
    team.name = name.to_owned();
    team.updated = tx.now();
    tx.put_auth(keys::auth::team(team_id), &team)?;
    tx.emit(team_event(&team, total, Action::Update, who))?;
    Ok(team)
}

/// Delete a team and all its memberships (`members` lists them, read by the caller).
pub fn delete_team(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    team_id: &str,
    members: &[Membership],
) -> Result<Team, Exception> {
    let team = team(tx, team_id)?;
    if !can_manage(who, team_id) {
        return Err(Exception::new(ErrorType::UserUnauthorized));
    }
    for m in members {
        remove_member(tx, m);
    }
    tx.remove_auth(keys::auth::team(team_id));
    tx.emit(team_event(&team, 0, Action::Delete, who))?;
    Ok(team)
}
