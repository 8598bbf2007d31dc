//! Permission strings and roles, as Appwrite writes them.
//!
//! A permission is `<action>("<role>")`, e.g. `read("user:abc")`. Tables carry
//! permissions for `create`, `read`, `update` and `delete`; rows for `read`,
//! `update` and `delete`. `write` is shorthand that we expand when a
//! permission list is stored, so checks never see it. Roles follow
//! `role[:identifier][/dimension]`: `any`, `guests`, `users[/verified|/unverified]`,
//! `user:ID[/verified|/unverified]`, `team:ID[/ROLE]`, `member:ID`, `label:NAME`.

use std::fmt;

use super::exception::{ErrorType, Exception};

/// What a permission grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
    Write,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Write => "write",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "read" => Action::Read,
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "write" => Action::Write,
            _ => return None,
        })
    }
}

/// A parsed permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Permission {
    pub action: Action,
    pub role: String,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(\"{}\")", self.action.as_str(), self.role)
    }
}

/// Most permissions one resource may carry (Appwrite's `APP_LIMIT_ARRAY_PARAMS_SIZE`).
pub const MAX_PERMISSIONS: usize = 100;

impl Permission {
    /// Parse `action("role")`; the role is checked against the role grammar.
    pub fn parse(s: &str) -> Result<Self, Exception> {
        let bad = |why: &str| {
            Exception::msg(
                ErrorType::GeneralArgumentInvalid,
                format!("Invalid `permissions` param: Permission \"{s}\" is invalid: {why}"),
            )
        };
        let open = s.find('(').ok_or_else(|| bad("expected action(\"role\")"))?;
        let action = Action::parse(&s[..open])
            .ok_or_else(|| bad("action must be one of: read, create, update, delete, write"))?;
        let inner = s[open + 1..].strip_suffix(')').ok_or_else(|| bad("expected action(\"role\")"))?;
        let role = inner
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .ok_or_else(|| bad("the role must be in double quotes"))?;
        validate_role(role).map_err(|why| bad(&why))?;
        Ok(Permission { action, role: role.to_owned() })
    }
}

/// Check a role string against Appwrite's grammar.
pub fn validate_role(role: &str) -> Result<(), String> {
    let (base, dimension) = match role.split_once('/') {
        Some((b, d)) => (b, Some(d)),
        None => (role, None),
    };
    let (name, identifier) = match base.split_once(':') {
        Some((n, i)) => (n, Some(i)),
        None => (base, None),
    };
    let id_ok = |i: &str| super::id::is_valid(i);
    let dim_ok = |d: &str| {
        !d.is_empty() && d.len() <= 36 && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match (name, identifier, dimension) {
        ("any" | "guests", None, None) => Ok(()),
        ("users", None, None) => Ok(()),
        ("users" | "user", _, Some(d)) if d != "verified" && d != "unverified" => {
            Err(format!("dimension of role \"{name}\" must be verified or unverified"))
        }
        ("users", None, Some(_)) => Ok(()),
        ("user", Some(i), _) if id_ok(i) => Ok(()),
        ("team", Some(i), None) if id_ok(i) => Ok(()),
        ("team", Some(i), Some(d)) if id_ok(i) && dim_ok(d) => Ok(()),
        ("member", Some(i), None) if id_ok(i) => Ok(()),
        ("label", Some(i), None) if !i.is_empty() && i.len() <= 36 && i.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Ok(())
        }
        ("any" | "guests" | "users" | "user" | "team" | "member" | "label", _, _) => {
            Err(format!("role \"{role}\" is malformed"))
        }
        _ => Err(format!(
            "role \"{name}\" is not allowed; must be one of: any, guests, users, user, team, member, label"
        )),
    }
}

/// Parse, expand `write` and de-duplicate a client's permission list.
/// `allowed` lists the actions this kind of resource carries; `write` becomes
/// those of update/delete (and create, where allowed) that it covers.
pub fn normalize(list: &[String], allowed: &[Action]) -> Result<Vec<String>, Exception> {
    if list.len() > MAX_PERMISSIONS {
        return Err(Exception::invalid_param(
            "permissions",
            format!("Value must be an array of at most {MAX_PERMISSIONS} items"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    let mut push = |p: Permission| {
        let s = p.to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for raw in list {
        let p = Permission::parse(raw)?;
        if p.action == Action::Write {
            for a in [Action::Create, Action::Update, Action::Delete] {
                if allowed.contains(&a) {
                    push(Permission { action: a, role: p.role.clone() });
                }
            }
        } else if allowed.contains(&p.action) {
            push(p);
        } else {
            return Err(Exception::msg(
                ErrorType::GeneralArgumentInvalid,
                format!(
                    "Invalid `permissions` param: Permission \"{raw}\" is not allowed. Must be one of: {}.",
                    allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    Ok(out)
}

/// The roles named by the stored (normalised) permissions for `action`.
pub fn roles_for<'a>(perms: &'a [String], action: Action) -> impl Iterator<Item = &'a str> + 'a {
    let prefix = action.as_str();
    perms.iter().filter_map(move |p| {
        p.strip_prefix(prefix).and_then(|rest| rest.strip_prefix("(\"")).and_then(|rest| rest.strip_suffix("\")"))
    })
}

/// Whether any of `roles` (the caller's) is granted `action` by `perms`.
/// `any` in the permissions admits everyone.
pub fn allows(perms: &[String], action: Action, roles: &[String]) -> bool {
    roles_for(perms, action).any(|r| r == "any" || roles.iter().any(|held| held == r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let p = Permission::parse("read(\"user:abc\")").unwrap();
        assert_eq!(p.action, Action::Read);
        assert_eq!(p.role, "user:abc");
        assert_eq!(p.to_string(), "read(\"user:abc\")");
        for ok in [
            "any",
            "guests",
            "users",
            "users/verified",
            "user:a/unverified",
            "team:t1",
            "team:t1/owner",
            "member:m1",
            "label:vip",
        ] {
            assert!(validate_role(ok).is_ok(), "{ok}");
        }
        for bad in ["", "everyone", "user:", "users/admins", "team:/x", "user:_x", "label:a b"] {
            assert!(validate_role(bad).is_err(), "{bad}");
        }
        assert!(Permission::parse("read(user:abc)").is_err());
        assert!(Permission::parse("fly(\"any\")").is_err());
    }

    #[test]
    fn write_expands_per_resource() {
        let rows = [Action::Read, Action::Update, Action::Delete];
        let got = normalize(&["write(\"user:a\")".into(), "read(\"any\")".into()], &rows).unwrap();
        assert_eq!(got, vec!["update(\"user:a\")", "delete(\"user:a\")", "read(\"any\")"]);
        assert!(normalize(&["create(\"any\")".into()], &rows).is_err());
    }

    #[test]
    fn allows_checks_roles() {
        let perms =
            vec!["read(\"user:a\")".to_owned(), "update(\"team:t/owner\")".to_owned(), "delete(\"any\")".to_owned()];
        let a = vec!["any".to_owned(), "users".to_owned(), "user:a".to_owned()];
        let b = vec!["any".to_owned(), "users".to_owned(), "user:b".to_owned(), "team:t/owner".to_owned()];
        assert!(allows(&perms, Action::Read, &a));
        assert!(!allows(&perms, Action::Read, &b));
        assert!(allows(&perms, Action::Update, &b));
        assert!(allows(&perms, Action::Delete, &a));
    }
}
