//! The JSON shapes of cases, shared by `casebook cases … --json` and the HTTP API.

use diesel::prelude::*;
use serde::Serialize;

use super::messages::{Attachment, CaseEvent, Message};
use super::model::{Case, CaseFilter};
use crate::db::DbConn;

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A row of `cases list`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseListItem {
    /// Case number.
    pub number: String,
    /// Title.
    pub title: String,
    /// State.
    pub state: String,
    /// Priority.
    pub priority: String,
    /// Customer address.
    pub customer: String,
    /// Message count (notes included).
    pub messages: i64,
    /// Last activity, RFC 3339 UTC.
    pub updated_at: String,
}

/// The customer of a case.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerJson {
    /// Display name.
    pub name: Option<String>,
    /// Address.
    pub email: String,
}

/// An attachment in `cases show`.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentJson {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Blob reference.
    pub sha256: String,
}

/// A message in `cases show`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageJson {
    /// The row id (what `POST /api/v1/cases/{n}/split` names).
    pub id: i64,
    /// Message-ID.
    pub message_id: Option<String>,
    /// inbound / outbound / note.
    pub direction: String,
    /// Sender address.
    pub from: String,
    /// Sender name.
    pub from_name: Option<String>,
    /// To addresses.
    pub to: Vec<String>,
    /// Cc addresses.
    pub cc: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Date, RFC 3339 UTC.
    pub date: String,
    /// Full text.
    pub body_text: String,
    /// What the sender wrote this time.
    pub new_text: String,
    /// Automatic mail.
    pub auto: bool,
    /// Threading rule that placed it.
    pub thread_method: String,
    /// Attachments.
    pub attachments: Vec<AttachmentJson>,
}

/// A timeline entry in `cases show`.
#[derive(Debug, Clone, Serialize)]
pub struct EventJson {
    /// Kind, as stored (`unknown` for a kind this version does not know).
    pub kind: crate::workflow::events::EventKind,
    /// Who.
    pub actor: String,
    /// From state.
    pub from: Option<String>,
    /// To state.
    pub to: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// When, RFC 3339 UTC.
    pub at: String,
}

/// An SLA clock in `cases show`: what the case page's badge shows, as data.
#[derive(Debug, Clone, Serialize)]
pub struct ClockJson {
    /// `first_response`, `next_response` or `resolution`.
    pub clock: String,
    /// The deadline, RFC 3339 UTC (business time already applied).
    pub due_at: String,
    /// When it was met.
    pub met_at: Option<String>,
    /// Since when it is paused (the case waits on the customer, or is resolved or archived).
    pub paused_since: Option<String>,
    /// `running`, `near_breach`, `overdue`, `met`, `met_late` or `paused`, by the badge's rule
    /// ([`crate::workflow::sla::SlaClock::phase`]) at the time of the request.
    pub status: String,
}

/// `cases show`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    /// Case number.
    pub number: String,
    /// Title.
    pub title: String,
    /// State.
    pub state: String,
    /// Priority.
    pub priority: String,
    /// Customer.
    pub customer: CustomerJson,
    /// Opened.
    pub created_at: String,
    /// Last activity.
    pub updated_at: String,
    /// Messages, oldest first.
    pub messages: Vec<MessageJson>,
    /// Timeline, oldest first.
    pub events: Vec<EventJson>,
    /// SLA clocks, oldest first.
    pub sla: Vec<ClockJson>,
    /// Linked cases, oldest link first: what each other case is to this one.
    pub links: Vec<LinkJson>,
}

/// A linked case in `cases show`.
#[derive(Debug, Clone, Serialize)]
pub struct LinkJson {
    /// The link's id (what `…/links/{id}/remove` names).
    pub id: i64,
    /// The other case.
    pub case: String,
    /// `related`, `parent` or `child`: what the other case is to this one.
    pub relation: String,
    /// Why.
    pub reason: String,
}

fn split_addrs(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// Cases for the list, most recent first (`casebook cases list`): the same query as the page and
/// the API ([`super::search::list_cases`]), without paging.
pub fn list(
    conn: &mut DbConn,
    filter: &CaseFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<CaseListItem>> {
    let per_page = limit.max(1);
    let query = super::search::CaseQuery {
        state: filter.state.clone().filter(|s| !s.is_empty()),
        assignee: super::search::AssigneeFilter::Any,
        text: None,
        page: offset / per_page + 1,
        per_page,
        priority: None,
        customer: None,
        sla: super::search::SlaFilter::Any,
        sort: super::search::SortOrder::Updated,
        ..Default::default()
    };
    Ok(super::search::list_cases(conn, &query)?.cases)
}

/// One case with its thread and timeline.
pub fn detail(conn: &mut DbConn, number: &str) -> QueryResult<Option<CaseDetail>> {
    let Some(case) = Case::find_by_number(conn, number)? else {
        return Ok(None);
    };
    let attachments = Attachment::for_case(conn, case.id)?;
    let messages = Message::for_case(conn, case.id)?
        .into_iter()
        .map(|m| MessageJson {
            attachments: attachments
                .iter()
                .filter(|a| a.message_id == m.id)
                .map(|a| AttachmentJson {
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    sha256: a.sha256.clone(),
                })
                .collect(),
            date: rfc3339(m.date()),
            id: m.id,
            message_id: m.message_id,
            direction: m.direction,
            from: m.from_email,
            from_name: m.from_name,
            to: split_addrs(&m.to_addrs),
            cc: split_addrs(&m.cc_addrs),
            subject: m.subject,
            body_text: m.body_text,
            new_text: m.new_text,
            auto: m.auto,
            thread_method: m.thread_method,
        })
        .collect();
    let events = CaseEvent::for_case(conn, case.id)?
        .into_iter()
        .map(|e| EventJson {
            kind: e.kind,
            actor: e.actor_label,
            from: e.from_state,
            to: e.to_state,
            note: e.note,
            at: rfc3339(e.created_at),
        })
        .collect();
    let now = chrono::Utc::now();
    let at = |t: chrono::DateTime<chrono::Utc>| rfc3339(t.naive_utc());
    let sla = crate::workflow::service::clocks(conn, case.id)
        .map_err(|e| match e {
            crate::workflow::service::WorkflowError::Db(e) => e,
            // A clock this version cannot read is a broken row: report it like a failed read.
            other => diesel::result::Error::DeserializationError(other.to_string().into()),
        })?
        .into_iter()
        .map(|stored| {
            let c = stored.clock;
            ClockJson {
                clock: c.metric.as_str().to_string(),
                due_at: at(c.due_at),
                met_at: c.met_at.map(at),
                paused_since: c.paused_since.map(at),
                status: c.phase(now).as_str().to_string(),
            }
        })
        .collect();
    let links = crate::workflow::links::links_of(conn, case.id)?
        .into_iter()
        .map(|l| LinkJson {
            id: l.id,
            case: l.number,
            relation: l.relation.as_str().to_string(),
            reason: l.reason,
        })
        .collect();
    Ok(Some(CaseDetail {
        number: case.number,
        title: case.title,
        state: case.state.as_str().to_string(),
        priority: case.priority.as_str().to_string(),
        customer: CustomerJson {
            name: case.customer_name,
            email: case.customer_email,
        },
        created_at: rfc3339(case.created_at),
        updated_at: rfc3339(case.last_activity_at),
        messages,
        events,
        sla,
        links,
    }))
}
