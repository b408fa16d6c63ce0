//! Case summaries (案例总结): versions written by staff or by the archive transition, never
//! overwritten ([`write_summary`]), read newest first ([`summaries`]), and a draft from what the case
//! records ([`summary_draft`], composed by the pure [`crate::workflow::summary::draft_summary`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{ActorRef, CaseKey, WorkflowError, escalations_of, find_case, invalid, stamp};
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, INBOUND, NewEvent, OUTBOUND};
use crate::db::DbConn;
use crate::db::schema::messages;
use crate::i18n::Lang;
use crate::workflow::events::{EventData, EventKind, SummaryWritten};
use crate::workflow::schema::case_summaries;
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
