//! Who may do what: one table for every door. Page handlers, API handlers and templates name the
//! operation (`user.require(Operation::Reply)`), never a list of roles, so a rule changed here
//! changes everywhere; the workflow's state changes add their own per-row rules on top
//! ([`crate::workflow::transitions`]), and merging takes its roles from there.

use super::role::Role;

/// Everything a signed-in person (or API token) may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Read cases, their threads, timelines and diagnostics; download attachments.
    ReadCases,
    /// Mail the customer (reply form, API replies).
    Reply,
    /// Write internal notes (engineers included: their findings).
    AddNote,
    /// Own the customer side of a case: assign, set priority, edit definition and scope.
    WorkCase,
    /// Ask for a workflow transition; each row of the transition table says who may take it.
    RequestTransition,
    /// Merge a case into another.
    MergeCases,
    /// Attach and analyse activation diagnostics, create and revoke customer upload links.
    WorkDiagnostics,
    /// See the engineering queue.
    EngineeringQueue,
    /// Accounts, API tokens, canned responses, the outbox and the quarantine.
    Administer,
    /// The managers' dashboard and its JSON (`/reports`, `/api/v1/reports/summary`).
    ViewReports,
}

const ALL_STAFF: &[Role] = &[Role::Admin, Role::Manager, Role::Agent, Role::Engineer];
const CUSTOMER_SIDE: &[Role] = &[Role::Admin, Role::Manager, Role::Agent];

impl Operation {
    /// Every operation, for the documentation table and authorisation tests.
    pub const ALL: [Operation; 10] = [
        Operation::ReadCases,
        Operation::Reply,
        Operation::AddNote,
        Operation::WorkCase,
        Operation::RequestTransition,
        Operation::MergeCases,
        Operation::WorkDiagnostics,
        Operation::EngineeringQueue,
        Operation::Administer,
        Operation::ViewReports,
    ];

    /// The roles allowed.
    pub const fn roles(self) -> &'static [Role] {
        match self {
            Operation::ReadCases | Operation::AddNote | Operation::RequestTransition => ALL_STAFF,
            Operation::Reply | Operation::WorkCase | Operation::WorkDiagnostics => CUSTOMER_SIDE,
            Operation::MergeCases => crate::workflow::transitions::MERGERS.roles(),
            Operation::EngineeringQueue => &[Role::Admin, Role::Manager, Role::Engineer],
            Operation::Administer => &[Role::Admin],
            Operation::ViewReports => &[Role::Admin, Role::Manager],
        }
    }

    /// Whether `role` may do this.
    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table as people read it; a change here is a change of policy, made on purpose.
    #[test]
    fn the_permission_table_reads_as_documented() {
        let table: Vec<(Operation, Vec<&str>)> = Operation::ALL
            .iter()
            .map(|op| (*op, op.roles().iter().map(|r| r.as_str()).collect()))
            .collect();
        use Operation::*;
        let all = vec!["admin", "manager", "agent", "engineer"];
        let customer_side = vec!["admin", "manager", "agent"];
        assert_eq!(
            table,
            vec![
                (ReadCases, all.clone()),
                (Reply, customer_side.clone()),
                (AddNote, all.clone()),
                (WorkCase, customer_side.clone()),
                (RequestTransition, all.clone()),
                (MergeCases, customer_side.clone()),
                (WorkDiagnostics, customer_side.clone()),
                (EngineeringQueue, vec!["admin", "manager", "engineer"]),
                (Administer, vec!["admin"]),
                (ViewReports, vec!["admin", "manager"]),
            ]
        );
    }
}
