//! Appwrite's permission and role strings, as the official SDKs build them:
//! `Permission::read(Role::user("u1"))` is `read("user:u1")`.
//!
//! A function's own table calls ignore row permissions (they act like an API
//! key); permissions matter for the players' clients reading the rows the
//! function writes.

use std::fmt;

/// Who a [`Permission`] is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Role(String);

impl Role {
    /// Anyone, signed in or not: `any`.
    pub fn any() -> Self {
        Role("any".into())
    }

    /// One user: `user:ID`.
    pub fn user(id: impl fmt::Display) -> Self {
        Role(format!("user:{id}"))
    }

    /// One user when their status matches (`verified` or `unverified`): `user:ID/STATUS`.
    pub fn user_with_status(id: impl fmt::Display, status: impl fmt::Display) -> Self {
        Role(format!("user:{id}/{status}"))
    }

    /// Every signed-in user (anonymous sessions included): `users`.
    pub fn users() -> Self {
        Role("users".into())
    }

    /// Every signed-in user with this status: `users/STATUS`.
    pub fn users_with_status(status: impl fmt::Display) -> Self {
        Role(format!("users/{status}"))
    }

    /// Visitors without a session: `guests`.
    pub fn guests() -> Self {
        Role("guests".into())
    }

    /// Every member of a team: `team:ID`.
    pub fn team(id: impl fmt::Display) -> Self {
        Role(format!("team:{id}"))
    }

    /// Members of a team who have this team role: `team:ID/ROLE`.
    pub fn team_role(id: impl fmt::Display, role: impl fmt::Display) -> Self {
        Role(format!("team:{id}/{role}"))
    }

    /// One team membership: `member:ID`.
    pub fn member(id: impl fmt::Display) -> Self {
        Role(format!("member:{id}"))
    }

    /// Users who carry this label: `label:NAME`.
    pub fn label(name: impl fmt::Display) -> Self {
        Role(format!("label:{name}"))
    }

    /// The role string, e.g. `user:u1`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Appwrite permission string, e.g. `read("user:u1")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Permission(String);

impl Permission {
    fn new(action: &str, role: Role) -> Self {
        Permission(format!("{action}(\"{role}\")"))
    }

    /// `read("ROLE")`.
    pub fn read(role: Role) -> Self {
        Permission::new("read", role)
    }

    /// `write("ROLE")`: update and delete (and create, on tables).
    pub fn write(role: Role) -> Self {
        Permission::new("write", role)
    }

    /// `create("ROLE")`.
    pub fn create(role: Role) -> Self {
        Permission::new("create", role)
    }

    /// `update("ROLE")`.
    pub fn update(role: Role) -> Self {
        Permission::new("update", role)
    }

    /// `delete("ROLE")`.
    pub fn delete(role: Role) -> Self {
        Permission::new("delete", role)
    }

    /// The permission string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Permission> for String {
    fn from(p: Permission) -> Self {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are what `Permission`/`Role` of the `appwrite` npm package return.
    #[test]
    fn same_strings_as_the_js_sdk() {
        let cases = [
            (Permission::read(Role::user("u1")), r#"read("user:u1")"#),
            (Permission::write(Role::team_role("t1", "owner")), r#"write("team:t1/owner")"#),
            (Permission::create(Role::users_with_status("verified")), r#"create("users/verified")"#),
            (Permission::update(Role::any()), r#"update("any")"#),
            (Permission::delete(Role::member("m1")), r#"delete("member:m1")"#),
            (Permission::read(Role::label("vip")), r#"read("label:vip")"#),
            (Permission::read(Role::guests()), r#"read("guests")"#),
            (Permission::read(Role::user_with_status("u1", "unverified")), r#"read("user:u1/unverified")"#),
            (Permission::read(Role::team("t1")), r#"read("team:t1")"#),
            (Permission::read(Role::users()), r#"read("users")"#),
        ];
        for (p, want) in cases {
            assert_eq!(p.to_string(), want);
        }
    }
}
