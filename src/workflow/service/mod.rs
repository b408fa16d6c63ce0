//! The workflow on stored cases: every operation here reads the case, asks the pure core
//! ([`super::transitions`], [`super::sla`], [`super::summary`]) what to do, and writes the result in one
//! transaction together with a case event, so the timeline always explains the record.
//!
//! Callers outside the web pages:
//! - ingest calls [`start_clocks_for_new_case`] when it opens a case and [`customer_wrote`] for every
//!   customer message that is not an automatic reply (it moves `waiting_on_customer` and finished cases
//!   back to `investigating`);
//! - outbound mail calls [`reply_sent`] when a reply to the customer is handed to the outbox, and picks up
//!   the texts of [`pending_customer_mail`] (definition + scope, questions) to compose and queue;
//! - the transcript importer calls [`record_imported_event`] to replay history without SLA side effects;
//! - `serve` runs [`breach_sweep`] periodically ([`spawn_breach_sweeper`]).

mod case_edits;
mod clocks;
mod conversation;
mod escalation;
mod import;
mod summaries;
mod sweep;

pub use case_edits::{CaseText, assign, edit_text, set_priority};
pub(crate) use clocks::sync_clocks;
pub use clocks::{
    NEAR_BREACH_FILL_BATCH, StoredClock, clocks, fill_near_breach, next_deadlines,
    start_clocks_for_new_case, start_clocks_for_new_case_in,
};
pub use conversation::{CustomerWrote, customer_wrote, customer_wrote_in, reply_sent};
pub use escalation::{Escalation, QueueItem, engineering_queue, escalations_of};
pub use import::{ImportedEvent, record_imported_event};
pub use summaries::{CaseSummary, message_count, summaries, summary_draft, write_summary};
pub use sweep::{BREACH_SWEEP_EVERY, breach_sweep, spawn_breach_sweeper, start_breach_sweeper};

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;

use super::business_hours::BusinessCalendar;
use super::schema::escalations;
use super::sla::{SlaConfig, SlaMetric};
use super::state::{CaseState, Priority};
use super::transitions::{
    Action, Actor, CustomerMail, Requirement, Transition, TransitionError, TransitionInput, check,
    find_by_action,
};
use crate::auth::Role;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::cases::{Case, CaseNumber};
use crate::db::DbConn;
use crate::db::schema::{case_events, cases};
use crate::i18n::Lang;
use clocks::{insert_clock, meet_clocks};
use escalation::{end_open_escalation, open_escalation};
use summaries::insert_summary;

/// The team an escalation goes to when it names no other team, and the team of engineers without one.
pub const ENGINEERING_TEAM: &str = "engineering";

/// Event kinds this module records (besides `transition`); each has a label in `messages.toml`.
pub mod kinds {
    /// A state change; `from_state`, `to_state` and the note say which and why.
    pub const TRANSITION: &str = "transition";
    /// The owner changed.
    pub const ASSIGNED: &str = "assigned";
    /// The priority changed (note: `old → new`).
    pub const PRIORITY_CHANGED: &str = "priority_changed";
    /// The problem definition was edited outside a transition.
    pub const DEFINITION_CHANGED: &str = "definition_changed";
    /// The scope was edited outside a transition.
    pub const SCOPE_CHANGED: &str = "scope_changed";
    /// A case summary version was written.
    pub const SUMMARY_WRITTEN: &str = "summary_written";
    /// A mail to the customer is due; `data` holds [`super::PendingMail`] for the outbound module.
    pub const CUSTOMER_MAIL_PENDING: &str = "customer_mail_pending";
    /// An SLA clock passed its deadline unmet.
    pub const SLA_BREACHED: &str = "sla_breached";
    /// An internal note was added (the note itself is a `messages` row).
    pub const NOTE_ADDED: &str = "note_added";
}

/// The calendar and targets SLA clocks are computed with (`[business_hours]` and `[sla]`).
#[derive(Debug, Clone, Copy)]
pub struct SlaRules<'a> {
    /// When the team works.
    pub calendar: &'a BusinessCalendar,
    /// Targets per priority and the near-breach threshold.
    pub sla: &'a SlaConfig,
}

impl<'a> SlaRules<'a> {
    /// The rules configured for this instance.
    pub fn from_config(config: &'a crate::config::Config) -> SlaRules<'a> {
        SlaRules {
            calendar: &config.business_hours,
            sla: &config.sla,
        }
    }
}

/// Who acts: a staff member (id, name and role, as recorded on the event) or Casebook itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorRef {
    /// A signed-in staff member.
    User {
        /// Account id.
        id: i64,
        /// Display name, recorded as the event's actor label.
        name: String,
        /// Role, which decides what the transition table allows.
        role: Role,
    },
    /// Automatic changes on inbound mail, sweeps and imports.
    System,
}

impl ActorRef {
    /// The actor as the transition table knows it.
    pub fn actor(&self) -> Actor {
        match self {
            ActorRef::User { role, .. } => Actor::User(*role),
            ActorRef::System => Actor::System,
        }
    }

    /// The account id, if a person acts.
    pub fn id(&self) -> Option<i64> {
        match self {
            ActorRef::User { id, .. } => Some(*id),
            ActorRef::System => None,
        }
    }

    /// The label stored on events.
    pub fn label(&self) -> &str {
        match self {
            ActorRef::User { name, .. } => name,
            ActorRef::System => "system",
        }
    }

    /// Whether this actor works the customer side of cases (assign, prioritise, edit, summarise).
    fn works_cases(&self) -> bool {
        matches!(self, ActorRef::User { role, .. } if role.works_cases())
    }
}

impl From<&crate::web::CurrentUser> for ActorRef {
    fn from(user: &crate::web::CurrentUser) -> Self {
        ActorRef::User {
            id: user.id,
            name: user.name.clone(),
            role: user.role,
        }
    }
}

/// How a caller names the case: by row id (ingest, mail) or by number (pages).
#[derive(Debug, Clone, Copy)]
pub enum CaseKey<'a> {
    /// Row id.
    Id(i64),
    /// `CAS-NNNNN-` plus six base32 characters, e.g. `CAS-06004-S8K5X3`.
    Number(&'a str),
}

impl From<i64> for CaseKey<'_> {
    fn from(id: i64) -> Self {
        CaseKey::Id(id)
    }
}

impl<'a> From<&'a CaseNumber> for CaseKey<'a> {
    fn from(number: &'a CaseNumber) -> Self {
        CaseKey::Number(number.as_str())
    }
}

/// Why a workflow operation did nothing. Nothing has changed when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// No such case.
    #[error("case not found")]
    CaseNotFound,
    /// The transition table refused (illegal move, role, missing text); carries the bilingual message.
    #[error(transparent)]
    Refused(#[from] TransitionError),
    /// The case changed state since the form was shown (another person acted first).
    #[error("the case is {found}, not {expected} as the form assumed")]
    Stale {
        /// The state the form was made for.
        expected: CaseState,
        /// The state found.
        found: CaseState,
    },
    /// The actor's role may not do this (outside the transition table, e.g. assigning).
    #[error("this role may not change the case")]
    Forbidden,
    /// An input is invalid; `key` names the interface string explaining it.
    #[error("{detail}")]
    Invalid {
        /// Key in `messages.toml`.
        key: &'static str,
        /// What exactly, for the log.
        detail: String,
    },
    /// A stored value cannot be read (a state or metric this version does not know).
    #[error("stored workflow data is invalid: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

fn invalid(key: &'static str, detail: impl Into<String>) -> WorkflowError {
    WorkflowError::Invalid {
        key,
        detail: detail.into(),
    }
}

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
}

/// A mail to the customer that a transition calls for, for the outbound module to compose and queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingMail {
    /// `definition_and_scope` or `question`.
    pub kind: String,
    /// The body text in the customer's language, ready to go below a greeting.
    pub text: String,
    /// The case's language (`en`, `zh-CN`).
    pub language: String,
}

impl PendingMail {
    fn new(kind: CustomerMail, case: &Case, input: &TransitionInput) -> PendingMail {
        let lang: Lang = case.language.parse().unwrap_or_default();
        let (kind, text) = match kind {
            CustomerMail::DefinitionAndScope => (
                "definition_and_scope",
                format!(
                    "{}\n{}\n\n{}\n{}\n",
                    lang.pick("Problem definition:", "问题定义："),
                    case.problem_definition.as_deref().unwrap_or("").trim(),
                    lang.pick("Scope:", "问题范围："),
                    input.get(Requirement::Scope).unwrap_or(""),
                ),
            ),
            CustomerMail::Question => (
                "question",
                format!("{}\n", input.get(Requirement::Question).unwrap_or("")),
            ),
        };
        PendingMail {
            kind: kind.to_string(),
            text,
            language: lang.code().to_string(),
        }
    }
}

/// Truncated to microseconds, as both databases store it, so values compare equal after a round trip.
fn stamp(at: DateTime<Utc>) -> NaiveDateTime {
    let naive = at.naive_utc();
    naive
        .with_nanosecond(at.timestamp_subsec_micros() * 1000)
        .unwrap_or(naive)
}

fn find_case(conn: &mut DbConn, key: CaseKey<'_>) -> Result<Case, WorkflowError> {
    let found = match key {
        CaseKey::Id(id) => Case::find_by_id(conn, id)?,
        CaseKey::Number(number) => Case::find_by_number(conn, number)?,
    };
    found.ok_or(WorkflowError::CaseNotFound)
}

/// The case with this id.
pub(crate) fn find_case_by_id(conn: &mut DbConn, id: i64) -> Result<Case, WorkflowError> {
    find_case(conn, CaseKey::Id(id))
}

/// The case's state, parsed.
pub(crate) fn state_of(case: &Case) -> Result<CaseState, WorkflowError> {
    case.state
        .parse()
        .map_err(|e| WorkflowError::Corrupt(format!("case {}: {e}", case.number)))
}

fn priority_of(case: &Case) -> Result<Priority, WorkflowError> {
    case.priority
        .parse()
        .map_err(|e| WorkflowError::Corrupt(format!("case {}: {e}", case.number)))
}

// ---------------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------------

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
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, key)?;
        let from = state_of(&case)?;
        let transition = check(from, to, actor.actor(), input)?;
        apply(conn, &case, transition, actor, input, at, rules)
    })
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
        let from = state_of(&case)?;
        if let Some(expected) = request.expected_from
            && expected != from
        {
            return Err(WorkflowError::Stale {
                expected,
                found: from,
            });
        }
        let Some(row) = find_by_action(from, request.action) else {
            // Every action leads to one state wherever it applies, so the refusal can name it.
            let to = super::transitions::TRANSITIONS
                .iter()
                .find(|t| t.action() == request.action)
                .map(|t| t.to())
                .unwrap_or(from);
            return Err(TransitionError::IllegalTransition { from, to }.into());
        };
        let transition = check(from, row.to(), actor.actor(), input)?;
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
fn apply(
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
    let (from, to, action) = (transition.from(), transition.to(), transition.action());
    let when = stamp(at);
    let text = |r: Requirement| input.get(r).map(str::to_string);
    let mut data = serde_json::Map::new();
    data.insert("action".into(), action.as_str().into());
    for &r in transition.requires() {
        data.insert(r.as_str().into(), text(r).into());
    }
    let this = cases::table.find(case.id);
    match action {
        Action::Define => {
            diesel::update(this)
                .set(cases::problem_definition.eq(text(Requirement::Definition)))
                .execute(conn)?;
        }
        Action::Scope => {
            diesel::update(this)
                .set(cases::scope.eq(text(Requirement::Scope)))
                .execute(conn)?;
        }
        Action::Escalate => {
            let target = open_escalation(conn, case.id, input, actor.id(), when)?;
            data.insert("target".into(), target.label.clone().into());
            data.insert("target_user_id".into(), target.user_id.into());
        }
        Action::HandBack => {
            diesel::update(
                escalations::table
                    .filter(escalations::case_id.eq(case.id))
                    .filter(escalations::closed_at.is_null()),
            )
            .set((
                escalations::findings.eq(text(Requirement::Findings)),
                escalations::handed_back_at.eq(Some(when)),
                escalations::handed_back_by.eq(actor.id()),
                escalations::closed_at.eq(Some(when)),
            ))
            .execute(conn)?;
            diesel::update(this)
                .set(cases::team.eq(None::<String>))
                .execute(conn)?;
        }
        Action::Resolve => {
            diesel::update(this)
                .set((
                    cases::resolution.eq(text(Requirement::Resolution)),
                    cases::closed_at.eq(Some(when)),
                ))
                .execute(conn)?;
        }
        Action::Archive => {
            let version = insert_summary(
                conn,
                case.id,
                actor.id(),
                actor.label(),
                input.get(Requirement::Summary).unwrap_or(""),
                when,
            )?;
            data.insert("summary_version".into(), version.into());
            if case.closed_at.is_none() {
                diesel::update(this)
                    .set(cases::closed_at.eq(Some(when)))
                    .execute(conn)?;
            }
        }
        Action::Reopen => {
            diesel::update(this)
                .set(cases::closed_at.eq(None::<NaiveDateTime>))
                .execute(conn)?;
        }
        Action::Investigate | Action::AskCustomer | Action::CustomerReplied => {}
    }
    if from == CaseState::Escalated && action != Action::HandBack {
        // Resolving or archiving an escalated case ends the escalation without findings; it leaves the
        // engineers' queue.
        end_open_escalation(conn, case.id, when)?;
    }

    // Only the state we read may be replaced: a concurrent change makes this update miss.
    let changed = diesel::update(this.filter(cases::state.eq(from.as_str())))
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
            kind: kinds::TRANSITION,
            from_state: Some(from.as_str()),
            to_state: Some(to.as_str()),
            note: note.as_deref(),
            data: Some(serde_json::Value::Object(data).to_string()),
            at: Some(when),
        },
    )?;

    let customer_mail = transition
        .mails_customer()
        .map(|kind| PendingMail::new(kind, case, input));
    if let Some(mail) = &customer_mail {
        record_pending_mail(conn, case.id, actor, mail, when)?;
    }

    sync_clocks(conn, case.id, to, at, rules)?;
    match action {
        Action::Resolve | Action::Archive => {
            meet_clocks(conn, case.id, &[SlaMetric::Resolution], at, rules)?;
        }
        Action::Reopen => {
            // The old resolution clock keeps its result; the reopened problem gets a fresh one.
            let clock = rules.sla.start_clock(
                SlaMetric::Resolution,
                priority_of(case)?,
                at,
                rules.calendar,
            );
            insert_clock(conn, case.id, &clock)?;
        }
        _ => {}
    }

    Ok(Applied {
        case_id: case.id,
        number: case.number.clone(),
        from,
        to,
        action,
        customer_mail,
    })
}

fn record_pending_mail(
    conn: &mut DbConn,
    case_id: i64,
    actor: &ActorRef,
    mail: &PendingMail,
    when: NaiveDateTime,
) -> Result<(), WorkflowError> {
    let data = serde_json::to_string(mail)
        .map_err(|e| WorkflowError::Corrupt(format!("encoding a pending mail: {e}")))?;
    CaseEvent::record(
        conn,
        case_id,
        &NewEvent {
            actor_id: actor.id(),
            actor_label: actor.label(),
            kind: kinds::CUSTOMER_MAIL_PENDING,
            note: Some(&mail.text),
            data: Some(data),
            at: Some(when),
            ..Default::default()
        },
    )?;
    Ok(())
}

/// A `customer_mail_pending` event: the event id (so the outbound module can remember which it has
/// queued) and the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMailEvent {
    /// `case_events.id`.
    pub event_id: i64,
    /// When the transition asked for it.
    pub at: NaiveDateTime,
    /// What to send.
    pub mail: PendingMail,
}

/// Every mail to the customer the workflow has asked for on this case, oldest first.
pub fn pending_customer_mail(
    conn: &mut DbConn,
    case_id: i64,
) -> Result<Vec<PendingMailEvent>, WorkflowError> {
    let rows: Vec<(i64, NaiveDateTime, Option<String>)> = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq(kinds::CUSTOMER_MAIL_PENDING))
        .order(case_events::id.asc())
        .select((case_events::id, case_events::created_at, case_events::data))
        .load(conn)?;
    rows.into_iter()
        .map(|(event_id, at, data)| {
            let mail = serde_json::from_str(data.as_deref().unwrap_or("")).map_err(|e| {
                WorkflowError::Corrupt(format!("pending mail event {event_id}: {e}"))
            })?;
            Ok(PendingMailEvent { event_id, at, mail })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_in(language: &str, definition: Option<&str>) -> Case {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 9, 21)
            .and_then(|d| d.and_hms_opt(1, 0, 0))
            .unwrap();
        Case {
            id: 1,
            number: "CAS-06004-S8K5X3".into(),
            seq: 6004,
            title: "激活失败".into(),
            state: "defined".into(),
            priority: "normal".into(),
            customer_email: "c@example.com".into(),
            customer_name: None,
            assignee_id: None,
            team: None,
            language: language.into(),
            problem_definition: definition.map(str::to_string),
            scope: None,
            resolution: None,
            duplicate_of_id: None,
            merged_into_id: None,
            created_at: at,
            updated_at: at,
            last_activity_at: at,
            closed_at: None,
        }
    }

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

    #[test]
    fn customer_mail_is_written_in_the_customers_language() {
        let input = TransitionInput {
            scope: Some("协助用户分析。".into()),
            question: Some(" 请提供日志。 ".into()),
            ..Default::default()
        };
        let zh = PendingMail::new(
            CustomerMail::DefinitionAndScope,
            &case_in("zh-CN", Some("离线激活失败。")),
            &input,
        );
        assert_eq!(zh.kind, "definition_and_scope");
        assert_eq!(zh.language, "zh-CN");
        assert_eq!(
            zh.text,
            "问题定义：\n离线激活失败。\n\n问题范围：\n协助用户分析。\n"
        );
        let en = PendingMail::new(
            CustomerMail::DefinitionAndScope,
            &case_in("en", None),
            &input,
        );
        assert_eq!(en.text, "Problem definition:\n\n\nScope:\n协助用户分析。\n");
        let question = PendingMail::new(CustomerMail::Question, &case_in("en", None), &input);
        assert_eq!(
            (question.kind.as_str(), question.text.as_str()),
            ("question", "请提供日志。\n")
        );
    }

    #[test]
    fn actors_carry_their_role_and_label() {
        let user = ActorRef::User {
            id: 7,
            name: "王斌斌".into(),
            role: Role::Engineer,
        };
        assert_eq!(user.actor(), Actor::User(Role::Engineer));
        assert_eq!((user.id(), user.label()), (Some(7), "王斌斌"));
        assert!(!user.works_cases());
        assert_eq!(ActorRef::System.actor(), Actor::System);
        assert_eq!(
            (ActorRef::System.id(), ActorRef::System.label()),
            (None, "system")
        );
        assert!(!ActorRef::System.works_cases());
    }
}
