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
    /// Own the customer side of a case: assign, set priority, edit the title, definition and scope.
    WorkCase,
    /// Ask for a workflow transition; each row of the transition table says who may take it.
    RequestTransition,
    /// Merge a case into another.
    MergeCases,
    /// Attach and analyse activation diagnostics, create and revoke customer upload links.
    WorkDiagnostics,
    /// See the engineering queue.
    EngineeringQueue,
    /// Read the case summaries of resolved and archived cases with their milestones, and export
    /// them (`/summaries`, `/summaries.csv`).
    ReadSummaries,
    /// Accounts, API tokens, canned responses, the outbox and the quarantine.
    Administer,
    /// The managers' dashboard and its JSON (`/reports`, `/api/v1/reports/summary`).
    ViewReports,
}

const ALL_STAFF: &[Role] = &[Role::Admin, Role::Manager, Role::Agent, Role::Engineer];
/// Who works the customer side of a case. Managers review cases and read every one, but do not
/// work them: they never reply, note or act, so what a customer reads comes from the people who
/// own the case (issue 11, "managers do not reply").
const CUSTOMER_SIDE: &[Role] = &[Role::Admin, Role::Agent];
/// Who writes on a case at all: the customer side plus the engineers (notes, hand-backs).
const HANDS_ON: &[Role] = &[Role::Admin, Role::Agent, Role::Engineer];
/// Who reads the summaries: managers review them, agents learn from them.
const REVIEWERS: &[Role] = &[Role::Admin, Role::Manager, Role::Agent];

impl Operation {
    /// Every operation, for the documentation table and authorisation tests.
    pub const ALL: [Operation; 11] = [
        Operation::ReadCases,
        Operation::Reply,
        Operation::AddNote,
        Operation::WorkCase,
        Operation::RequestTransition,
        Operation::MergeCases,
        Operation::WorkDiagnostics,
        Operation::EngineeringQueue,
        Operation::ReadSummaries,
        Operation::Administer,
        Operation::ViewReports,
    ];

    /// The roles allowed.
    pub const fn roles(self) -> &'static [Role] {
        match self {
            Operation::ReadCases => ALL_STAFF,
            Operation::AddNote | Operation::RequestTransition => HANDS_ON,
            Operation::Reply | Operation::WorkCase | Operation::WorkDiagnostics => CUSTOMER_SIDE,
            Operation::MergeCases => crate::workflow::transitions::MERGERS.roles(),
            Operation::EngineeringQueue => &[Role::Admin, Role::Manager, Role::Engineer],
            Operation::ReadSummaries => REVIEWERS,
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
        let customer_side = vec!["admin", "agent"];
        let hands_on = vec!["admin", "agent", "engineer"];
        assert_eq!(
            table,
            vec![
                (ReadCases, all.clone()),
                (Reply, customer_side.clone()),
                (AddNote, hands_on.clone()),
                (WorkCase, customer_side.clone()),
                (RequestTransition, hands_on),
                (MergeCases, customer_side.clone()),
                (WorkDiagnostics, customer_side.clone()),
                (EngineeringQueue, vec!["admin", "manager", "engineer"]),
                (ReadSummaries, vec!["admin", "manager", "agent"]),
                (Administer, vec!["admin"]),
                (ViewReports, vec!["admin", "manager"]),
            ]
        );
    }
}
