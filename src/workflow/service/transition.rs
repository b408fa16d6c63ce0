//! Transitions on stored cases: [`apply_transition`] (by target state) and [`apply_action`] (by the
//! action a form names) check the move against the one transition table
//! ([`crate::workflow::transitions`]) and write it in one transaction. `apply` dispatches to one small
//! writer per action (define, scope, escalate, hand back, resolve, archive, reopen), each doing its own
//! writes, then `finish` writes what every transition shares: the state, the `transition` event, the
//! customer mail the row calls for, and the SLA clocks.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::clocks::{insert_clock, meet_clocks, sync_clocks};
use super::escalation::{end_open_escalation, engineers_for, open_escalation};
use super::pending_mail::{PendingMail, record_pending_mail};
use super::summaries::insert_summary;
use super::{
    ActorRef, CaseKey, SlaRules, WorkflowError, find_case, invalid, priority_of, stamp, state_of,
};
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::workflow::events::{self, EventData, EventKind};
use crate::workflow::schema::escalations;
use crate::workflow::sla::SlaMetric;
use crate::workflow::state::CaseState;
use crate::workflow::transitions::{
    Action, Requirement, Transition, TransitionError, TransitionInput, check, find_by_action,
};

/// What a transition did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The case.
    pub case_id: i64,
    /// Its number.
    pub number: String,
    /// State before.
    pub from: CaseState,
    /// State after.
    pub to: CaseState,
    /// The action taken.
    pub action: Action,
    /// Mail the customer should now receive, also recorded as a `customer_mail_pending` event.
    pub customer_mail: Option<PendingMail>,
    /// That event's id.
    pub customer_mail_event: Option<i64>,
}

/// Moves a case to `to` if the transition table allows it for this actor and input, storing what the
/// row requires (definition, scope, escalation, findings, resolution, summary), recording a `transition`
/// event and updating the SLA clocks, all in one transaction. On refusal nothing changes and the error
/// carries the bilingual message ([`TransitionError::message`]).
pub fn apply_transition<'a>(
    conn: &mut DbConn,
    case: impl Into<CaseKey<'a>>,
    actor: &ActorRef,
    to: CaseState,
    input: &TransitionInput,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<Applied, WorkflowError> {
    let key = case.into();
    let how = Move::To {
        to,
        expected_from: None,
    };
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, key)?;
        let transition = choose(&case, how, actor, input)?;
        apply(conn, &case, transition, actor, input, at, rules)
    })
}

/// How a caller names a move: by the action a form names, or by the target state (the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The button pressed, in the state the form was made for.
    Action(ActionRequest),
    /// The state the case should go to, and the state the caller believes it is in (refused as
    /// [`WorkflowError::Stale`] when it is not).
    To {
        /// Target state.
        to: CaseState,
        /// The state the caller saw, if it says.
        expected_from: Option<CaseState>,
    },
}

/// The row of the transition table `how` names for `case` and this actor and input, or why not:
/// stale (the case moved on since the caller looked), no such move, not this actor's, a required
/// text missing. Reads nothing but its arguments.
pub(super) fn choose(
    case: &Case,
    how: Move,
    actor: &ActorRef,
    input: &TransitionInput,
) -> Result<&'static Transition, WorkflowError> {
    let from = state_of(case)?;
    let expected = match how {
        Move::Action(request) => request.expected_from,
        Move::To { expected_from, .. } => expected_from,
    };
    if let Some(expected) = expected
        && expected != from
    {
        return Err(WorkflowError::Stale {
            expected,
            found: from,
        });
    }
    let to = match how {
        Move::To { to, .. } => to,
        Move::Action(request) => match find_by_action(from, request.action) {
            Some(row) => row.to(),
            None => {
                // Every action leads to one state wherever it applies, so the refusal can name it.
                let to = crate::workflow::transitions::TRANSITIONS
                    .iter()
                    .find(|t| t.action() == request.action)
                    .map(|t| t.to())
                    .unwrap_or(from);
                return Err(TransitionError::IllegalTransition { from, to }.into());
            }
        },
    };
    Ok(check(from, to, actor.actor(), input)?)
}

/// A button press: the action named on the form, in the state the form was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionRequest {
    /// The action pressed.
    pub action: Action,
    /// The state the page showed; when given and different from the stored one, the request is
    /// refused as [`WorkflowError::Stale`] so a second click or another person's change is not
    /// mistaken for a new decision.
    pub expected_from: Option<CaseState>,
}

/// Like [`apply_transition`], but names the action (as the form does) rather than the target state.
pub fn apply_action<'a>(
    conn: &mut DbConn,
    case: impl Into<CaseKey<'a>>,
    actor: &ActorRef,
    request: ActionRequest,
    input: &TransitionInput,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<Applied, WorkflowError> {
    let key = case.into();
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, key)?;
        let transition = choose(&case, Move::Action(request), actor, input)?;
        apply(conn, &case, transition, actor, input, at, rules)
    })
}

/// The text that explains a transition in the timeline: the one thing the actor wrote for it, then the
/// free note.
fn transition_note(action: Action, input: &TransitionInput) -> Option<String> {
    let main = match action {
        Action::Define => input.get(Requirement::Definition),
        Action::Scope => input.get(Requirement::Scope),
        Action::AskCustomer => input.get(Requirement::Question),
        Action::Escalate | Action::Reopen => input.get(Requirement::Reason),
        Action::HandBack => input.get(Requirement::Findings),
        Action::Resolve => input.get(Requirement::Resolution),
        Action::Investigate | Action::CustomerReplied | Action::Archive => None,
    };
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    match (main, note) {
        (Some(m), Some(n)) => Some(format!("{m}\n\n{n}")),
        (Some(m), None) => Some(m.to_string()),
        (None, Some(n)) => Some(n.to_string()),
        (None, None) => None,
    }
}

/// Writes one allowed transition. Runs inside the caller's transaction.
pub(super) fn apply(
    conn: &mut DbConn,
    case: &Case,
    transition: &Transition,
    actor: &ActorRef,
    input: &TransitionInput,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<Applied, WorkflowError> {
    if case.merged_into_id.is_some() {
        // A merged case forwards to its target and stays archived; work happens there.
        return Err(invalid(
            "workflow.error.merged",
            format!("{} was merged into another case", case.number),
        ));
    }
    let step = Step::new(case, transition, actor, input, at, rules);
    match transition.action() {
        Action::Define => define(conn, step),
        Action::Scope => scope(conn, step),
        Action::Escalate => escalate(conn, step),
        Action::HandBack => hand_back(conn, step),
        Action::Resolve => resolve(conn, step),
        Action::Archive => archive(conn, step),
        Action::Reopen => reopen(conn, step),
        Action::Investigate | Action::AskCustomer | Action::CustomerReplied => finish(conn, step),
    }
}

/// One allowed transition being written: what each action's writer reads, and the event data it adds
/// to.
struct Step<'a> {
    case: &'a Case,
    transition: &'a Transition,
    actor: &'a ActorRef,
    input: &'a TransitionInput,
    at: DateTime<Utc>,
    /// `at` as stored.
    when: NaiveDateTime,
    rules: &'a SlaRules<'a>,
    /// The `transition` event's data: the action, the texts its row requires, and what the action adds
    /// (escalation target, summary version).
    data: events::Transition,
}

impl<'a> Step<'a> {
    fn new(
        case: &'a Case,
        transition: &'a Transition,
        actor: &'a ActorRef,
        input: &'a TransitionInput,
        at: DateTime<Utc>,
        rules: &'a SlaRules<'a>,
    ) -> Step<'a> {
        let mut data = events::Transition::of(transition.action());
        for &r in transition.requires() {
            data.set_text(r, input.get(r).map(str::to_string));
        }
        Step {
            case,
            transition,
            actor,
            input,
            at,
            when: stamp(at),
            rules,
            data,
        }
    }

    /// The text the actor gave for `r`, trimmed; `None` when blank.
    fn text(&self, r: Requirement) -> Option<String> {
        self.input.get(r).map(str::to_string)
    }
}

/// Define: the problem definition is recorded.
fn define(conn: &mut DbConn, step: Step<'_>) -> Result<Applied, WorkflowError> {
    diesel::update(cases::table.find(step.case.id))
        .set(cases::problem_definition.eq(step.text(Requirement::Definition)))
        .execute(conn)?;
    finish(conn, step)
}

/// Scope: the scope is recorded (the customer is mailed definition and scope by [`finish`]).
fn scope(conn: &mut DbConn, step: Step<'_>) -> Result<Applied, WorkflowError> {
    diesel::update(cases::table.find(step.case.id))
        .set(cases::scope.eq(step.text(Requirement::Scope)))
        .execute(conn)?;
    finish(conn, step)
}

/// Tells `recipients` (never the actor) about this step, in its transaction.
fn notify_about(
    conn: &mut DbConn,
    step: &Step<'_>,
    kind: crate::notifications::Kind,
    detail: Option<&str>,
    excerpt: Option<&str>,
    recipients: &[i64],
) -> Result<(), WorkflowError> {
    crate::notifications::notify(
        conn,
        &crate::notifications::Event {
            kind,
            case_id: Some(step.case.id),
            actor_id: step.actor.id(),
            actor_label: step.actor.label(),
            detail,
            excerpt,
            at: step.when,
        },
        recipients,
    )?;
    Ok(())
}

/// Escalate: an escalation is opened to the named team or engineer, whose team now holds the case;
/// the engineer, or the team's engineers, are notified.
fn escalate(conn: &mut DbConn, mut step: Step<'_>) -> Result<Applied, WorkflowError> {
    let target = open_escalation(conn, step.case.id, step.input, step.actor.id(), step.when)?;
    let engineers = engineers_for(conn, &target)?;
    notify_about(
        conn,
        &step,
        crate::notifications::Kind::Escalated,
        Some(&target.label),
        step.input.get(Requirement::Reason),
        &engineers,
    )?;
    step.data.target = Some(target.label);
    step.data.target_user_id = target.user_id;
    finish(conn, step)
}

/// Hand back: engineering's findings close the open escalation and the case leaves the team; the
/// person who escalated it and the case's owner are notified.
fn hand_back(conn: &mut DbConn, step: Step<'_>) -> Result<Applied, WorkflowError> {
    let (case_id, when) = (step.case.id, step.when);
    let escalated_by: Vec<Option<i64>> = escalations::table
        .filter(escalations::case_id.eq(case_id))
        .filter(escalations::closed_at.is_null())
        .select(escalations::created_by)
        .load(conn)?;
    let recipients: Vec<i64> = escalated_by
        .into_iter()
        .flatten()
        .chain(step.case.assignee_id)
        .collect();
    notify_about(
        conn,
        &step,
        crate::notifications::Kind::HandedBack,
        None,
        step.input.get(Requirement::Findings),
        &recipients,
    )?;
    diesel::update(
        escalations::table
            .filter(escalations::case_id.eq(case_id))
            .filter(escalations::closed_at.is_null()),
    )
    .set((
        escalations::findings.eq(step.text(Requirement::Findings)),
        escalations::handed_back_at.eq(Some(when)),
        escalations::handed_back_by.eq(step.actor.id()),
        escalations::closed_at.eq(Some(when)),
    ))
    .execute(conn)?;
    diesel::update(cases::table.find(case_id))
        .set(cases::team.eq(None::<String>))
        .execute(conn)?;
    finish(conn, step)
}

/// Resolve: the resolution is recorded, the case is closed and its resolution clock met.
fn resolve(conn: &mut DbConn, step: Step<'_>) -> Result<Applied, WorkflowError> {
    diesel::update(cases::table.find(step.case.id))
        .set((
            cases::resolution.eq(step.text(Requirement::Resolution)),
            cases::closed_at.eq(Some(step.when)),
        ))
        .execute(conn)?;
    let (case_id, at, rules) = (step.case.id, step.at, step.rules);
    let applied = finish(conn, step)?;
    meet_clocks(conn, case_id, &[SlaMetric::Resolution], at, rules)?;
    Ok(applied)
}

/// Archive: the summary becomes a new version, the case is closed (if resolving did not already) and
/// its resolution clock met.
fn archive(conn: &mut DbConn, mut step: Step<'_>) -> Result<Applied, WorkflowError> {
    let (case, actor, when) = (step.case, step.actor, step.when);
    let version = insert_summary(
        conn,
        case.id,
        actor.id(),
        actor.label(),
        step.input.get(Requirement::Summary).unwrap_or(""),
        when,
    )?;
    step.data.summary_version = Some(version);
    if case.closed_at.is_none() {
        diesel::update(cases::table.find(case.id))
            .set(cases::closed_at.eq(Some(when)))
            .execute(conn)?;
    }
    let (at, rules) = (step.at, step.rules);
    let applied = finish(conn, step)?;
    meet_clocks(conn, case.id, &[SlaMetric::Resolution], at, rules)?;
    Ok(applied)
}

/// Reopen: the case is open again, with a fresh resolution clock.
fn reopen(conn: &mut DbConn, step: Step<'_>) -> Result<Applied, WorkflowError> {
    let (case, at, rules) = (step.case, step.at, step.rules);
    diesel::update(cases::table.find(case.id))
        .set(cases::closed_at.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    let applied = finish(conn, step)?;
    // The old resolution clock keeps its result; the reopened problem gets a fresh one.
    let clock = rules.sla.start_clock(
        SlaMetric::Resolution,
        priority_of(case)?,
        at,
        rules.calendar,
    );
    insert_clock(conn, case.id, &clock)?;
    Ok(applied)
}

/// What every transition writes after its action's own writes: an escalated case leaving `escalated`
/// other than by hand-back ends its escalation; the new state (only if the stored one is still the one
/// read); the `transition` event; the customer mail the row calls for; the clocks paused or resumed
/// for the new state.
fn finish(conn: &mut DbConn, step: Step<'_>) -> Result<Applied, WorkflowError> {
    let Step {
        case,
        transition,
        actor,
        input,
        at,
        when,
        rules,
        data,
    } = step;
    let (from, to, action) = (transition.from(), transition.to(), transition.action());
    if from == CaseState::Escalated && action != Action::HandBack {
        // Resolving or archiving an escalated case ends the escalation without findings; it leaves the
        // engineers' queue.
        end_open_escalation(conn, case.id, when)?;
    }

    // Only the state we read may be replaced: a concurrent change makes this update miss.
    let changed = diesel::update(
        cases::table
            .find(case.id)
            .filter(cases::state.eq(from.as_str())),
    )
    .set((
        cases::state.eq(to.as_str()),
        cases::updated_at.eq(crate::db::now()),
        cases::last_activity_at.eq(when),
    ))
    .execute(conn)?;
    if changed != 1 {
        let found = find_case(conn, CaseKey::Id(case.id))
            .and_then(|c| state_of(&c))
            .unwrap_or(from);
        return Err(WorkflowError::Stale {
            expected: from,
            found,
        });
    }

    let note = transition_note(action, input);
    CaseEvent::record(
        conn,
        case.id,
        &NewEvent {
            actor_id: actor.id(),
            actor_label: actor.label(),
            kind: EventKind::Transition,
            from_state: Some(from.as_str()),
            to_state: Some(to.as_str()),
            note: note.as_deref(),
            data: Some(data.to_data()),
            at: Some(when),
        },
    )?;

    let customer_mail = transition
        .customer_mail(input)
        .map(|kind| PendingMail::new(kind, case, input))
        .transpose()?;
    let customer_mail_event = match &customer_mail {
        Some(mail) => Some(record_pending_mail(conn, case.id, actor, mail, when)?),
        None => None,
    };

    sync_clocks(conn, case.id, to, at, rules)?;
    Ok(Applied {
        case_id: case.id,
        number: case.number.clone(),
        from,
        to,
        action,
        customer_mail,
        customer_mail_event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn the_timeline_note_is_the_actions_own_text_then_the_free_note() {
        let input = |note: Option<&str>| TransitionInput {
            note: note.map(str::to_string),
            definition: Some(" 定义 ".into()),
            findings: Some("结果".into()),
            reason: Some("原因".into()),
            summary: Some("总结".into()),
            ..Default::default()
        };
        let cases = [
            (Action::Define, None, Some("定义")),
            (Action::Define, Some("  "), Some("定义")),
            (Action::Define, Some("见附件"), Some("定义\n\n见附件")),
            (Action::HandBack, None, Some("结果")),
            (Action::Reopen, None, Some("原因")),
            (Action::Escalate, None, Some("原因")),
            (Action::Archive, None, None),
            (Action::Archive, Some("归档"), Some("归档")),
            (Action::Investigate, None, None),
        ];
        for (action, note, expected) in cases {
            assert_eq!(
                transition_note(action, &input(note)).as_deref(),
                expected,
                "{action} with {note:?}"
            );
        }
    }
}
