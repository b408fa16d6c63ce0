//! Case summaries (案例总结): versions written by staff or by the archive transition, never
//! overwritten ([`write_summary`]), read newest first ([`summaries`]), a draft from what the case
//! records ([`summary_draft`], composed by the pure [`crate::workflow::summary::draft_summary`]),
//! what the record gained since the latest version ([`changes_since_summary`]) and the text the
//! archive and summary forms start from ([`summary_prefill`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{ActorRef, CaseKey, WorkflowError, escalations_of, find_case, invalid, stamp};
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, INBOUND, NewEvent, OUTBOUND};
use crate::db::DbConn;
use crate::db::schema::{case_events, messages};
use crate::i18n::Lang;
use crate::workflow::events::{EventData, EventKind, SummaryWritten};
use crate::workflow::schema::case_summaries;
use crate::workflow::state::CaseState;
use crate::workflow::summary::draft_summary;

/// One version of a case summary (案例总结).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = case_summaries)]
pub struct CaseSummary {
    /// Row id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// 1, 2, … per case.
    pub version: i32,
    /// The text.
    pub body: String,
    /// Author account.
    pub author_id: Option<i64>,
    /// Author as shown.
    pub author_label: String,
    /// How many customer and reply messages the case had when this was written.
    pub messages_at_write: i64,
    /// Written.
    pub created_at: NaiveDateTime,
}

/// Summaries of a case, newest version first.
pub fn summaries(conn: &mut DbConn, case_id: i64) -> Result<Vec<CaseSummary>, WorkflowError> {
    Ok(case_summaries::table
        .filter(case_summaries::case_id.eq(case_id))
        .order(case_summaries::version.desc())
        .select(CaseSummary::as_select())
        .load(conn)?)
}

/// Mail that counts as conversation: customer messages and replies, not internal notes or automatic
/// replies, so "N messages since the summary" means something to the reader.
pub fn message_count(conn: &mut DbConn, case_id: i64) -> Result<i64, WorkflowError> {
    Ok(messages::table
        .filter(messages::case_id.eq(case_id))
        .filter(messages::direction.eq_any([INBOUND, OUTBOUND]))
        .filter(messages::auto.eq(false))
        .count()
        .get_result(conn)?)
}

/// Stores the next version of the case's summary and records `summary_written`; runs inside the
/// caller's transaction. Returns the version.
pub(super) fn insert_summary(
    conn: &mut DbConn,
    case_id: i64,
    author_id: Option<i64>,
    author_label: &str,
    body: &str,
    when: NaiveDateTime,
) -> Result<i32, WorkflowError> {
    // Two summaries saved at the same moment must not both become version n + 1.
    Case::lock(conn, case_id)?;
    let latest: Option<i32> = case_summaries::table
        .filter(case_summaries::case_id.eq(case_id))
        .select(diesel::dsl::max(case_summaries::version))
        .first(conn)?;
    let version = latest.unwrap_or(0) + 1;
    let count = message_count(conn, case_id)?;
    diesel::insert_into(case_summaries::table)
        .values((
            case_summaries::case_id.eq(case_id),
            case_summaries::version.eq(version),
            case_summaries::body.eq(body.trim()),
            case_summaries::author_id.eq(author_id),
            case_summaries::author_label.eq(author_label),
            case_summaries::messages_at_write.eq(count),
            case_summaries::created_at.eq(when),
        ))
        .execute(conn)?;
    let note = format!("v{version}");
    CaseEvent::record(
        conn,
        case_id,
        &NewEvent {
            actor_id: author_id,
            actor_label: author_label,
            kind: EventKind::SummaryWritten,
            note: Some(&note),
            data: Some(SummaryWritten { version }.to_data()),
            at: Some(when),
            ..Default::default()
        },
    )?;
    Ok(version)
}

/// Counts the conversation again into the latest summary version, after the archive mailed that
/// summary to the customer in the same transaction: the mail carrying the summary is not a message
/// "since it was written".
pub(super) fn recount_latest_summary(conn: &mut DbConn, case_id: i64) -> Result<(), WorkflowError> {
    let count = message_count(conn, case_id)?;
    let latest: Option<i32> = case_summaries::table
        .filter(case_summaries::case_id.eq(case_id))
        .select(diesel::dsl::max(case_summaries::version))
        .first(conn)?;
    if let Some(version) = latest {
        diesel::update(
            case_summaries::table
                .filter(case_summaries::case_id.eq(case_id))
                .filter(case_summaries::version.eq(version)),
        )
        .set(case_summaries::messages_at_write.eq(count))
        .execute(conn)?;
    }
    Ok(())
}

/// Writes a new summary version (never overwriting the last) and records `summary_written`.
/// Returns the new version number.
pub fn write_summary<'a>(
    conn: &mut DbConn,
    case: impl Into<CaseKey<'a>>,
    actor: &ActorRef,
    body: &str,
    at: DateTime<Utc>,
) -> Result<i32, WorkflowError> {
    if !actor.works_cases() {
        return Err(WorkflowError::Forbidden);
    }
    if body.trim().is_empty() {
        return Err(invalid("workflow.error.blank", "blank summary"));
    }
    let key = case.into();
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, key)?;
        insert_summary(conn, case.id, actor.id(), actor.label(), body, stamp(at))
    })
}

/// A summary draft from what the case records: definition, scope, engineering findings (oldest
/// first) and resolution, in `lang`.
pub fn summary_draft(conn: &mut DbConn, case_id: i64, lang: Lang) -> Result<String, WorkflowError> {
    let case = find_case(conn, CaseKey::Id(case_id))?;
    let findings: Vec<String> = escalations_of(conn, case_id)?
        .into_iter()
        .filter_map(|e| e.findings)
        .collect();
    let findings: Vec<&str> = findings.iter().map(String::as_str).collect();
    Ok(draft_summary(
        case.problem_definition.as_deref(),
        case.scope.as_deref(),
        &findings,
        case.resolution.as_deref(),
        lang,
    ))
}

/// A part of the case record a summary is drafted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordField {
    /// The problem definition.
    Definition,
    /// The scope.
    Scope,
    /// Engineering's findings (a hand-back).
    Findings,
    /// The resolution.
    Resolution,
}

impl RecordField {
    /// Its label in `lang` (the summary's section names).
    pub fn label(self, lang: Lang) -> &'static str {
        let t = crate::web::catalog::builtin(lang);
        match self {
            RecordField::Definition => t.t("workflow.definition"),
            RecordField::Scope => t.t("workflow.scope"),
            RecordField::Findings => t.t("workflow.escalation.findings"),
            RecordField::Resolution => t.t("workflow.resolution"),
        }
    }
}

/// One change to the record after the latest summary version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordChange {
    /// What changed.
    pub field: RecordField,
    /// Who changed it.
    pub actor_label: String,
    /// When.
    pub at: NaiveDateTime,
}

/// What happened since the latest summary version was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinceSummary {
    /// The latest version.
    pub version: i32,
    /// When it was written.
    pub written_at: NaiveDateTime,
    /// Changes to the definition, scope, findings and resolution since, oldest first (at most
    /// [`MAX_CHANGES_LISTED`]).
    pub changes: Vec<RecordChange>,
}

/// Most changes [`changes_since_summary`] lists.
pub const MAX_CHANGES_LISTED: i64 = 50;

/// Which record field an event changed: edits of the definition or scope, and the transitions that
/// store a text (define, scope, hand-back, resolve — also as imported, which carry no action name,
/// hence by state).
fn field_changed(kind: EventKind, from: Option<&str>, to: Option<&str>) -> Option<RecordField> {
    match kind {
        EventKind::DefinitionChanged => Some(RecordField::Definition),
        EventKind::ScopeChanged => Some(RecordField::Scope),
        EventKind::Transition => {
            let to: CaseState = to?.parse().ok()?;
            match to {
                CaseState::Defined => Some(RecordField::Definition),
                CaseState::Scoped => Some(RecordField::Scope),
                CaseState::Resolved => Some(RecordField::Resolution),
                CaseState::Investigating if from == Some(CaseState::Escalated.as_str()) => {
                    Some(RecordField::Findings)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// A record-changing event as read: kind, from state, to state, actor, time.
type RecordEventRow = (
    EventKind,
    Option<String>,
    Option<String>,
    String,
    NaiveDateTime,
);

/// The changes to the record since the latest summary version of the case, or `None` when it has
/// no summary. Events are ordered by id, not time, because imported history carries the times of
/// its mail.
pub fn changes_since_summary(
    conn: &mut DbConn,
    case_id: i64,
) -> Result<Option<SinceSummary>, WorkflowError> {
    let Some(latest) = case_summaries::table
        .filter(case_summaries::case_id.eq(case_id))
        .order(case_summaries::version.desc())
        .select(CaseSummary::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let marker: Option<i64> = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq(EventKind::SummaryWritten))
        .select(diesel::dsl::max(case_events::id))
        .first(conn)?;
    let rows: Vec<RecordEventRow> = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::id.gt(marker.unwrap_or(0)))
        .filter(case_events::kind.eq_any([
            EventKind::Transition,
            EventKind::DefinitionChanged,
            EventKind::ScopeChanged,
        ]))
        .order(case_events::id.asc())
        .limit(MAX_CHANGES_LISTED)
        .select((
            case_events::kind,
            case_events::from_state,
            case_events::to_state,
            case_events::actor_label,
            case_events::created_at,
        ))
        .load(conn)?;
    let changes = rows
        .into_iter()
        .filter_map(|(kind, from, to, actor_label, at)| {
            Some(RecordChange {
                field: field_changed(kind, from.as_deref(), to.as_deref())?,
                actor_label,
                at,
            })
        })
        .collect();
    Ok(Some(SinceSummary {
        version: latest.version,
        written_at: latest.created_at,
        changes,
    }))
}

/// The text the archive and summary forms start from: the latest version when nothing in the
/// record changed since it was written (it already says everything, in the agent's words);
/// otherwise — and when there is none — a draft from the record as it is now (the definition,
/// scope, findings and resolution), in `lang`. Returns the text and what changed since the latest
/// version.
pub fn summary_prefill(
    conn: &mut DbConn,
    case_id: i64,
    lang: Lang,
) -> Result<(String, Option<SinceSummary>), WorkflowError> {
    let since = changes_since_summary(conn, case_id)?;
    let text = match &since {
        Some(s) if s.changes.is_empty() => summaries(conn, case_id)?
            .into_iter()
            .next()
            .map(|latest| latest.body)
            .unwrap_or_default(),
        _ => summary_draft(conn, case_id, lang)?,
    };
    Ok((text, since))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_changes_are_read_from_edits_and_the_transitions_that_store_text() {
        let t = EventKind::Transition;
        let cases = [
            (
                t,
                Some("new"),
                Some("defined"),
                Some(RecordField::Definition),
            ),
            (t, Some("defined"), Some("scoped"), Some(RecordField::Scope)),
            (
                t,
                Some("escalated"),
                Some("investigating"),
                Some(RecordField::Findings),
            ),
            (t, Some("resolved"), Some("investigating"), None),
            (
                t,
                Some("investigating"),
                Some("resolved"),
                Some(RecordField::Resolution),
            ),
            (t, Some("resolved"), Some("archived"), None),
            (
                EventKind::DefinitionChanged,
                None,
                None,
                Some(RecordField::Definition),
            ),
            (
                EventKind::ScopeChanged,
                None,
                None,
                Some(RecordField::Scope),
            ),
            (EventKind::NoteAdded, None, None, None),
        ];
        for (kind, from, to, expected) in cases {
            assert_eq!(
                field_changed(kind, from, to),
                expected,
                "{kind} {from:?}→{to:?}"
            );
        }
    }
}
