use std::fmt;
use std::str::FromStr;

/// What a user may do in a project they are a member of.
///
/// - `Owner`: everything, including deleting the project and making other owners.
/// - `Admin`: settings, keys and the team (but not owners), besides the work.
/// - `Member`: reads and works (contacts, emails, activity); cannot change settings or keys
///   and does not see the secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a role: use OWNER, ADMIN or MEMBER")]
pub struct RoleError(pub String);

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Admin => "ADMIN",
            Role::Member => "MEMBER",
        }
    }

    /// Settings, keys and the team.
    pub fn can_manage(self) -> bool {
        self >= Role::Admin
    }

    /// What the role means, in a sentence for the Team page.
    pub fn meaning(self) -> &'static str {
        match self {
            Role::Owner => "everything, including deleting the project",
            Role::Admin => "settings, API keys and the team, besides the work",
            Role::Member => "reads and works; cannot change settings or keys",
        }
    }
}

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Role, RoleError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "OWNER" => Ok(Role::Owner),
            "ADMIN" => Ok(Role::Admin),
            "MEMBER" => Ok(Role::Member),
            _ => Err(RoleError(s.to_string())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_parse_and_order() {
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Owner.can_manage() && Role::Admin.can_manage());
        assert!(!Role::Member.can_manage());
    }
}
