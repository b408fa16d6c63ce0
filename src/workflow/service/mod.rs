//! The workflow on stored cases: every operation here reads the case, asks the pure core
//! ([`super::transitions`], [`super::sla`], [`super::summary`]) what to do, and writes the result in one
//! transaction together with a case event, so the timeline always explains the record.
//!
//! One concern per file, each re-exported here so callers write `workflow::service::X`:
//! - `take` — [`take_transition`], the operation the form and the API call: the transition with the
//!   customer mail it sends (composed before the write transaction, recorded inside it) and the
//!   response clocks that mail meets;
//! - `transition` — [`apply_transition`] / [`apply_action`]: one writer per action behind a short
//!   dispatcher, then what every transition shares (state, `transition` event, mail request,
//!   clocks, notifications of escalations and hand-backs);
//! - `pending_mail` — the customer mail a transition calls for ([`PendingMail`]);
//! - `escalation` — escalation targets, opening and ending escalations, [`engineering_queue`];
//! - `case_edits` — [`assign`], [`set_priority`], [`edit_text`], [`edit_title`];
//! - `summaries` — case summary versions and the draft ([`write_summary`], [`summary_draft`]);
//! - `clocks` — SLA clock rows: start, pause/resume, meet, next deadlines, the near-breach fill;
//! - `conversation` — what mail does to a case ([`customer_wrote`], [`reply_sent`]);
//! - `sweep` — the periodic SLA sweep: near-breach warnings ([`warn_near_breach`]) and breaches
//!   ([`breach_sweep`]);
//! - `import` — history replayed from transcripts ([`record_imported_event`]);
//! - this file — what they share: [`ActorRef`], [`CaseKey`], [`WorkflowError`], [`SlaRules`],
//!   and small helpers (finding the case, timestamps, interface texts). Event kinds and their payloads
//!   are [`crate::workflow::events`].
//!
//! The service returns data; how it looks on a page (badge classes, formatted deadlines) is
//! [`super::views`].
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
mod pending_mail;
mod summaries;
mod sweep;
mod take;
mod transition;

pub use case_edits::{CaseText, MAX_TITLE_CHARS, assign, edit_text, edit_title, set_priority};
pub(crate) use clocks::sync_clocks;
pub use clocks::{
    NEAR_BREACH_FILL_BATCH, StoredClock, clocks, fill_elapsed, fill_near_breach, next_deadlines,
    start_clocks_for_new_case, start_clocks_for_new_case_in,
};
pub use conversation::{CustomerWrote, customer_wrote, customer_wrote_in, reply_sent};
pub use escalation::{Escalation, QueueItem, engineering_queue, escalations_of};
pub use import::{ImportedEvent, record_imported_event};
pub use pending_mail::{PendingMail, PendingMailEvent, pending_customer_mail, subject_kind};
pub use summaries::{
    CaseSummary, MAX_CHANGES_LISTED, RecordChange, RecordField, SinceSummary,
    changes_since_summary, message_count, summaries, summary_draft, summary_prefill, write_summary,
};
pub use sweep::{
    BREACH_SWEEP_EVERY, NEAR_BREACH_WARNING, SweepReport, WARNINGS_PER_SWEEP, breach_sweep,
    spawn_breach_sweeper, start_breach_sweeper, sweep, warn_near_breach,
};
pub use take::{TransitionCommand, take_transition};
pub use transition::{ActionRequest, Applied, Move, apply_action, apply_transition};

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

use super::business_hours::BusinessCalendar;
use super::sla::SlaConfig;
use super::state::{CaseState, Priority};
use super::transitions::{Actor, TransitionError};
use crate::auth::Role;
use crate::cases::{Case, CaseNumber};
use crate::db::DbConn;
use crate::i18n::Lang;

/// The team an escalation goes to when it names no other team, and the team of engineers without one.
pub const ENGINEERING_TEAM: &str = "engineering";

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
    pub(crate) fn works_cases(&self) -> bool {
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
    /// The mail the operation sends could not be composed or stored (the blob store, the
    /// configuration's sender address); nothing was written.
    #[error("the customer mail could not be queued: {0:#}")]
    Mail(anyhow::Error),
}

fn invalid(key: &'static str, detail: impl Into<String>) -> WorkflowError {
    WorkflowError::Invalid {
        key,
        detail: detail.into(),
    }
}

/// The interface strings in `lang`, looked up by `messages.toml` key, for the texts the workflow writes
/// into the record in the case's language: customer mail, timeline notes. The catalogue is compiled in
/// and a unit test parses it, so the error means a broken build.
fn texts(lang: Lang) -> Result<impl Fn(&'static str) -> &'static str, WorkflowError> {
    let catalog = crate::mail::compose::catalog()
        .map_err(|e| WorkflowError::Corrupt(format!("the interface catalogue: {e:#}")))?;
    Ok(move |key| catalog.get(lang, key))
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
/// The case's state (kept as a `Result` for callers that chain it with reads that can fail).
pub(crate) fn state_of(case: &Case) -> Result<CaseState, WorkflowError> {
    Ok(case.state)
}

fn priority_of(case: &Case) -> Result<Priority, WorkflowError> {
    Ok(case.priority)
}

#[cfg(test)]
mod tests {
    use super::*;

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
