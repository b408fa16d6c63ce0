//! Staff roles. Customers are not users: they take part by email only.

use std::fmt;
use std::str::FromStr;

/// What a staff account may do. Every route names the roles it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users, configuration, quarantine and outbox; can do everything an agent or a
    /// manager can.
    Admin,
    /// Reviews summaries and metrics and reads every case, read-only: never replies, notes or
    /// moves a case (see `auth::permissions`).
    Manager,
    /// Works cases: replies, notes, workflow transitions.
    Agent,
    /// Receives escalations and hands them back with findings.
    Engineer,
}

/// The text is not one of the four roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected admin, manager, agent or engineer)")]
pub struct RoleError(pub String);

impl Role {
    /// Every role, in order of authority.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Agent, Role::Engineer];

    /// The stored form: `admin`, `manager`, `agent`, `engineer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Agent => "agent",
            Role::Engineer => "engineer",
        }
    }

    /// Roles that work the customer side of a case (reply, define, scope, archive). Managers read
    /// cases but do not work them.
    pub fn works_cases(self) -> bool {
        matches!(self, Role::Admin | Role::Agent)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "agent" => Ok(Role::Agent),
            "engineer" => Ok(Role::Engineer),
            _ => Err(RoleError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert_eq!(" Agent ".parse::<Role>().unwrap(), Role::Agent);
        assert!("customer".parse::<Role>().is_err());
    }
}
