//! Merging a case into another: one customer problem that arrived as two cases (a stolen or
//! mistyped token, a customer writing from a second address) becomes one thread again.
//!
//! A workflow operation like any transition: the rule (which states, who) is
//! [`super::transitions::check_merge`]; the case must still be in the state the form was drawn for;
//! everything moves to the target — messages, attachments, participants, diagnostics — in one
//! transaction; the source keeps its number (so old mail still finds it) but forwards to the target
//! (`merged_into_id`, which threading follows), is archived, leaves the engineering queue, and its
//! open SLA clocks stop (paused for good: a merged case never leaves `archived`), so no breach is
//! ever recorded on it and it is never listed as overdue. Both timelines record a `merged` event
//! with the same [`Merged`] data: source, target, messages moved and clocks stopped.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::events::{EventData, EventKind, Merged};
use super::service::{ActorRef, SlaRules, WorkflowError, find_case_by_id, state_of, sync_clocks};
use super::state::CaseState;
use super::transitions::check_merge;
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NewEvent, Participant};
use crate::db::schema::{attachments, cases, messages, participants};
use crate::db::{DbConn, now};
use crate::workflow::schema::escalations;

/// What a person asks for.
#[derive(Debug, Clone)]
pub struct MergeCommand {
    /// The case that goes away (its number).
    pub source: String,
    /// The case that keeps the thread (its number).
    pub target: String,
    /// Who merges.
    pub actor: ActorRef,
    /// The state the form was drawn for; a case that moved on since is refused as stale.
    pub expected: Option<CaseState>,
}

fn invalid(key: &'static str, detail: String) -> WorkflowError {
    WorkflowError::Invalid { key, detail }
}

/// Merges `source` into `target`; returns the target case.
pub fn merge(
    conn: &mut DbConn,
    cmd: &MergeCommand,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<Case, WorkflowError> {
    crate::db::write_transaction(conn, |conn| {
        let src = Case::find_by_number(conn, &cmd.source)?.ok_or(WorkflowError::CaseNotFound)?;
        Case::lock(conn, src.id)?;
        let dst = Case::find_by_number(conn, &cmd.target)?.ok_or_else(|| {
            invalid(
                "merge.error.unknown_target",
                format!("no case {}", cmd.target),
            )
        })?;
        let dst_id = crate::ingest::thread::follow_merges(conn, dst.id)?;
        if src.id == dst_id {
            return Err(invalid(
                "merge.error.self",
                "a case cannot be merged into itself".into(),
            ));
        }
        if src.merged_into_id.is_some() {
            return Err(invalid(
                "merge.error.already_merged",
                format!("{} was already merged into another case", src.number),
            ));
        }
        let from = state_of(&src)?;
        if let Some(expected) = cmd.expected
            && expected != from
        {
            return Err(WorkflowError::Stale {
                expected,
                found: from,
            });
        }
        check_merge(from, cmd.actor.actor())?;
        let dst = find_case_by_id(conn, dst_id)?;

        let moved = diesel::update(messages::table.filter(messages::case_id.eq(src.id)))
            .set(messages::case_id.eq(dst.id))
            .execute(conn)?;
        diesel::update(attachments::table.filter(attachments::case_id.eq(src.id)))
            .set(attachments::case_id.eq(dst.id))
            .execute(conn)?;
        diesel::update(
            crate::diagnostics::schema::diagnostic_snapshots::table
                .filter(crate::diagnostics::schema::diagnostic_snapshots::case_id.eq(src.id)),
        )
        .set(crate::diagnostics::schema::diagnostic_snapshots::case_id.eq(dst.id))
        .execute(conn)?;
        for p in Participant::for_case(conn, src.id)? {
            let kind = if p.kind == "customer" && p.email != dst.customer_email {
                "cc"
            } else {
                p.kind.as_str()
            };
            Participant::add(conn, dst.id, &p.email, p.name.as_deref(), kind)?;
        }
        diesel::delete(participants::table.filter(participants::case_id.eq(src.id)))
            .execute(conn)?;

        let when = now();
        // An open escalation ends: the merged case leaves the engineers' queue.
        diesel::update(
            escalations::table
                .filter(escalations::case_id.eq(src.id))
                .filter(escalations::closed_at.is_null()),
        )
        .set(escalations::closed_at.eq(Some(when)))
        .execute(conn)?;
        let changed = diesel::update(
            cases::table
                .find(src.id)
                .filter(cases::state.eq(from.as_str())),
        )
        .set((
            cases::merged_into_id.eq(Some(dst.id)),
            cases::state.eq(CaseState::Archived.as_str()),
            cases::team.eq(None::<String>),
            cases::closed_at.eq(Some(src.closed_at.unwrap_or(when))),
            cases::updated_at.eq(when),
        ))
        .execute(conn)?;
        if changed != 1 {
            let found = find_case_by_id(conn, src.id).and_then(|c| state_of(&c))?;
            return Err(WorkflowError::Stale {
                expected: from,
                found,
            });
        }
        let stopped = sync_clocks(conn, src.id, CaseState::Archived, at, rules)?;

        let into = format!(
            "merged into {} ({moved} messages moved, {stopped} SLA clocks stopped)",
            dst.number
        );
        // Both timelines carry the whole merge: which side a case was on is its own number.
        let data = Merged {
            source: src.number.clone(),
            target: dst.number.clone(),
            messages_moved: moved as u64,
            clocks_stopped: stopped as u64,
        }
        .to_data();
        CaseEvent::record(
            conn,
            src.id,
            &NewEvent {
                actor_id: cmd.actor.id(),
                actor_label: cmd.actor.label(),
                kind: EventKind::Merged,
                from_state: Some(from.as_str()),
                to_state: Some(CaseState::Archived.as_str()),
                note: Some(&into),
                data: Some(data.clone()),
                at: Some(when),
            },
        )?;
        let from_note = format!("{} merged into this case ({moved} messages)", src.number);
        CaseEvent::record(
            conn,
            dst.id,
            &NewEvent {
                actor_id: cmd.actor.id(),
                actor_label: cmd.actor.label(),
                kind: EventKind::Merged,
                note: Some(&from_note),
                data: Some(data),
                at: Some(when),
                ..Default::default()
            },
        )?;
        Case::touch(conn, dst.id, when.max(dst.last_activity_at))?;
        find_case_by_id(conn, dst.id)
    })
}
