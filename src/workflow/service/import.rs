//! Imported history: [`record_imported_event`] replays a step found in a transcript (`casebook ingest`
//! of a transcript, `ingest::transcript_import`) as it happened — at its own time, with its texts and
//! the state it led to — without the transition table, SLA clock starts or customer mail.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::clocks::sync_clocks;
use super::escalation::{end_open_escalation, open_escalation};
use super::summaries::insert_summary;
use super::{ActorRef, CaseKey, SlaRules, WorkflowError, find_case};
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::workflow::events::{EventData, EventKind, Transition};
use crate::workflow::schema::escalations;
use crate::workflow::state::CaseState;
use crate::workflow::transitions::{Action, Requirement, TransitionInput};

/// A step of history found in an imported transcript, recorded as a `transition` event marked
/// `imported`.
#[derive(Debug, Clone)]
pub struct ImportedEvent<'a> {
    /// The action the step stands for (defining, scoping, escalating, resolving, archiving).
    pub action: Action,
    /// State before, if the step changed the state.
    pub from: Option<CaseState>,
    /// State after; the case is set to it.
    pub to: Option<CaseState>,
    /// Who, as the transcript names them.
    pub actor_label: &'a str,
    /// What the event says.
    pub note: Option<&'a str>,
    /// When it happened (the message's time).
    pub at: Option<NaiveDateTime>,
    /// Texts to store with it: definition, scope, resolution, summary (a new version), target + reason +
    /// tried (an escalation), findings (closes the open escalation).
    pub fields: TransitionInput,
}

/// Records imported history as it happened: the event at its own time, the texts it carries, and the
/// state it leads to — without checking the transition table (the history already happened), without
/// starting or meeting SLA clocks, and without asking for customer mail. Clocks that exist are only
/// paused or resumed to match the new state.
pub fn record_imported_event(
    conn: &mut DbConn,
    case_id: i64,
    event: &ImportedEvent<'_>,
    rules: &SlaRules<'_>,
) -> Result<(), WorkflowError> {
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, CaseKey::Id(case_id))?;
        let when = event.at.unwrap_or_else(crate::db::now);
        let this = cases::table.find(case_id);
        let f = &event.fields;
        if let Some(text) = f.get(Requirement::Definition) {
            diesel::update(this)
                .set(cases::problem_definition.eq(text))
                .execute(conn)?;
        }
        if let Some(text) = f.get(Requirement::Scope) {
            diesel::update(this)
                .set(cases::scope.eq(text))
                .execute(conn)?;
        }
        if let Some(text) = f.get(Requirement::Resolution) {
            diesel::update(this)
                .set(cases::resolution.eq(text))
                .execute(conn)?;
        }
        let mut data = Transition::of(event.action);
        data.imported = true;
        for r in Requirement::ALL {
            data.set_text(r, f.get(r).map(str::to_string));
        }
        if f.get(Requirement::Target).is_some() {
            let target = open_escalation(conn, case_id, f, None, when)?;
            data.target = Some(target.label);
            data.target_user_id = target.user_id;
        }
        if let Some(findings) = f.get(Requirement::Findings) {
            diesel::update(
                escalations::table
                    .filter(escalations::case_id.eq(case_id))
                    .filter(escalations::closed_at.is_null()),
            )
            .set((
                escalations::findings.eq(findings),
                escalations::handed_back_at.eq(Some(when)),
                escalations::closed_at.eq(Some(when)),
            ))
            .execute(conn)?;
        }
        if let Some(summary) = f.get(Requirement::Summary) {
            // The transcript names a person but no account: keep the name, not an id.
            data.summary_version = Some(insert_summary(
                conn,
                case_id,
                None,
                event.actor_label,
                summary,
                when,
            )?);
        }
        if let Some(to) = event.to {
            let closed_at = match to {
                CaseState::Resolved | CaseState::Archived => Some(case.closed_at.unwrap_or(when)),
                _ => None,
            };
            diesel::update(this)
                .set((cases::state.eq(to.as_str()), cases::closed_at.eq(closed_at)))
                .execute(conn)?;
            if to != CaseState::Escalated {
                end_open_escalation(conn, case_id, when)?;
            }
            sync_clocks(conn, case_id, to, when.and_utc(), rules)?;
        }
        Case::touch(conn, case_id, when.max(case.last_activity_at))?;
        CaseEvent::record(
            conn,
            case_id,
            &NewEvent {
                actor_id: None,
                actor_label: if event.actor_label.is_empty() {
                    ActorRef::System.label()
                } else {
                    event.actor_label
                },
                kind: EventKind::Transition,
                from_state: event.from.map(CaseState::as_str),
                to_state: event.to.map(CaseState::as_str),
                note: event.note,
                data: Some(data.to_data()),
                at: Some(when),
            },
        )?;
        Ok(())
    })
}
