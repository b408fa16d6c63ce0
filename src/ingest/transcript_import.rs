//! Importing an exported thread transcript (`邮件主题：…`, `====第N封邮件====`) as one case.
//!
//! The case keeps the number from the subject (e.g. `CAS-06004-S8K5X3`); each block becomes a
//! message with its sender and time as given; the agent of the first reply becomes the owner. A
//! block is outbound when its sender is a staff account (address or display name) or in a support
//! domain; a thread with no such block is refused. Structured messages Casebook itself would send —
//! problem definition and scope, escalation notices, the archive summary — are recognised and
//! recorded as the workflow events they were, at the messages' times.

use anyhow::Context;
use diesel::prelude::*;

use crate::workflow::events::{Assigned, EventData, EventKind};
use sha2::{Digest, Sha256};

use super::pipeline::{Outcome, StaffDirectory, detect_language};
use super::quote::extract_new_text;
use super::sources::transcript::Transcript;
use super::structured::{Structured, recognise};
use super::subject::clean_title;
use super::thread::ThreadMethod;
use crate::cases::messages::{
    CaseEvent, INBOUND, Message, NewEvent, NewMessage, OUTBOUND, Participant,
};
use crate::cases::model::{Case, NewCase};
use crate::db::schema::cases;
use crate::db::{DbConn, now};
use crate::workflow::service::{ImportedEvent, SlaRules, record_imported_event};
use crate::workflow::state::{CaseState, Priority};
use crate::workflow::transitions::{Action, TransitionInput};

/// Priority named by the transcript's subject tags (`|普通事件|`), default normal.
fn priority_from_subject(subject: &str) -> Priority {
    if subject.contains("紧急事件") || subject.to_ascii_lowercase().contains("urgent") {
        Priority::Urgent
    } else {
        Priority::Normal
    }
}

fn content_hash(
    number: &str,
    index: u32,
    at: &chrono::DateTime<chrono::Utc>,
    body: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(format!("transcript\n{number}\n{index}\n{}\n", at.to_rfc3339()).as_bytes());
    h.update(body.as_bytes());
    format!("transcript:{}", hex::encode(h.finalize()))
}

/// Imports `transcript` (whose raw bytes are already in the blob store as `raw_sha`).
pub fn import(
    conn: &mut DbConn,
    staff: &StaffDirectory,
    transcript: &Transcript,
    raw_sha: &str,
    rules: &SlaRules<'_>,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        !transcript.messages.is_empty(),
        "the transcript has no messages"
    );
    let given = transcript.case_number();
    // Messages are recognised on a re-import by this key: the case number from the subject, or,
    // without one, the subject itself.
    let key = given
        .as_ref()
        .map(|n| n.as_str().to_string())
        .unwrap_or_else(|| format!("subject:{}", transcript.subject));
    let first = &transcript.messages[0];
    let first_hash = content_hash(&key, first.index, &first.sent_at, &first.body);
    crate::db::write_transaction::<_, anyhow::Error, _>(conn, |conn| {
        if let Some(case_id) = Message::exists_content_hash(conn, &first_hash)? {
            return Ok(Outcome::Duplicate {
                case: Case::find_by_id(conn, case_id)?.map(|c| c.number),
            });
        }
        if let Some(n) = &given
            && Case::find_by_number(conn, n.as_str())?.is_some()
        {
            anyhow::bail!(
                "case {n} already exists and holds other messages; not importing over it"
            );
        }
        let is_outbound = |m: &super::sources::transcript::TranscriptMessage| {
            staff.is_staff(m.sender_email.as_deref(), Some(&m.sender))
        };
        // A support thread without a single agent message means the agents are not known yet:
        // importing now would file every reply as the customer's, with no way to redo it.
        if !transcript.messages.iter().any(is_outbound) {
            let mut senders: Vec<&str> = Vec::new();
            for m in &transcript.messages {
                if !senders.contains(&m.sender.as_str()) {
                    senders.push(&m.sender);
                }
            }
            anyhow::bail!(
                "no sender is a Casebook agent or in support_domains (senders: {}), so every message \
                 would be filed as the customer's; nothing was imported. Create the agents' accounts \
                 under the names they sign with (casebook user add --name \"…\" --email … --role agent) \
                 or set support_domains, then import again",
                senders.join(", ")
            );
        }
        let customer = transcript
            .messages
            .iter()
            .find(|m| !is_outbound(m) && m.sender_email.is_some());
        let customer_email = customer
            .and_then(|m| m.sender_email.clone())
            .unwrap_or_default();
        let first_at = transcript.messages[0].sent_at;
        let all_text: String = transcript
            .messages
            .iter()
            .map(|m| m.body.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let case = Case::create(
            conn,
            &NewCase {
                // Without a number in the subject, the next one, like any new case.
                number: given.as_ref(),
                title: &clean_title(&transcript.subject),
                state: CaseState::New,
                priority: priority_from_subject(&transcript.subject),
                customer_email: &customer_email,
                customer_name: None,
                language: detect_language(&all_text),
                duplicate_of_id: None,
                at: first_at.naive_utc(),
            },
        )
        .with_context(|| {
            format!(
                "creating case {}",
                given.as_ref().map_or("", |n| n.as_str())
            )
        })?;
        CaseEvent::record(
            conn,
            case.id,
            &NewEvent {
                actor_label: "import",
                kind: EventKind::CaseCreated,
                to_state: Some(CaseState::New.as_str()),
                note: Some("imported from a thread transcript"),
                at: Some(first_at.naive_utc()),
                ..Default::default()
            },
        )?;
        let mut state = CaseState::New;
        // The agent whose reply came first took the case: they become its owner.
        let mut owner: Option<(i64, String, chrono::NaiveDateTime)> = None;
        for m in &transcript.messages {
            let outbound = is_outbound(m);
            let account = staff.account(m.sender_email.as_deref(), Some(&m.sender));
            if let (true, None, Some((id, _))) = (outbound, &owner, &account) {
                owner = Some((*id, m.sender.clone(), m.sent_at.naive_utc()));
            }
            let from_email = m
                .sender_email
                .clone()
                .or_else(|| account.as_ref().map(|a| a.1.clone()))
                .unwrap_or_default();
            if !outbound && !from_email.is_empty() {
                let kind = if from_email.eq_ignore_ascii_case(&customer_email) {
                    "customer"
                } else {
                    "cc"
                };
                Participant::add(conn, case.id, &from_email.to_lowercase(), None, kind)?;
            }
            let at = m.sent_at.naive_utc();
            NewMessage {
                case_id: case.id,
                direction: if outbound { OUTBOUND } else { INBOUND }.to_string(),
                message_id: None,
                in_reply_to: None,
                references_ids: String::new(),
                from_email,
                from_name: Some(m.sender.clone()),
                to_addrs: String::new(),
                cc_addrs: String::new(),
                subject: transcript.subject.clone(),
                sent_at: Some(at),
                received_at: at,
                body_text: m.body.clone(),
                new_text: extract_new_text(&m.body),
                body_html: None,
                auto: false,
                thread_method: ThreadMethod::Transcript.as_str().to_string(),
                raw_sha256: Some(raw_sha.to_string()),
                content_hash: content_hash(&key, m.index, &m.sent_at, &m.body),
                author_id: account.map(|a| a.0),
                created_at: now(),
            }
            .insert(conn)?;
            if outbound {
                record_structured(conn, case.id, &m.sender, &mut state, &m.body, at, rules)?;
            }
        }
        let last_at = transcript
            .messages
            .iter()
            .map(|m| m.sent_at)
            .max()
            .unwrap_or(first_at);
        if let Some((id, name, at)) = owner {
            diesel::update(cases::table.find(case.id))
                .set(cases::assignee_id.eq(id))
                .execute(conn)?;
            CaseEvent::record(
                conn,
                case.id,
                &NewEvent {
                    actor_label: "import",
                    kind: EventKind::Assigned,
                    note: Some(&name),
                    data: Some(
                        Assigned {
                            from: None,
                            to: Some(id),
                        }
                        .to_data(),
                    ),
                    at: Some(at),
                    ..Default::default()
                },
            )?;
        }
        Case::touch(conn, case.id, last_at.naive_utc())?;
        Ok(Outcome::Created {
            case: case.number.clone(),
        })
    })
}

/// Records the workflow events a staff message stands for, moving `state` along, through the
/// workflow service (which stores the texts, summary versions and escalations at the message's time).
fn record_structured(
    conn: &mut DbConn,
    case_id: i64,
    actor: &str,
    state: &mut CaseState,
    body: &str,
    at: chrono::NaiveDateTime,
    rules: &SlaRules<'_>,
) -> anyhow::Result<()> {
    for s in recognise(body) {
        let mut steps: Vec<(Action, CaseState, String, TransitionInput)> = Vec::new();
        match s {
            Structured::ProblemDefinition { definition, scope } => {
                steps.push((
                    Action::Define,
                    CaseState::Defined,
                    definition.clone(),
                    TransitionInput {
                        definition: Some(definition),
                        ..Default::default()
                    },
                ));
                if let Some(scope) = scope {
                    steps.push((
                        Action::Scope,
                        CaseState::Scoped,
                        scope.clone(),
                        TransitionInput {
                            scope: Some(scope),
                            ..Default::default()
                        },
                    ));
                }
            }
            Structured::ProblemScope { scope } => steps.push((
                Action::Scope,
                CaseState::Scoped,
                scope.clone(),
                TransitionInput {
                    scope: Some(scope),
                    ..Default::default()
                },
            )),
            Structured::Escalation { note } => steps.push((
                Action::Escalate,
                CaseState::Escalated,
                note.clone(),
                TransitionInput {
                    target: Some("engineering".into()),
                    reason: Some(note),
                    tried: Some(String::new()),
                    ..Default::default()
                },
            )),
            Structured::Resolution { resolution } => steps.push((
                Action::Resolve,
                CaseState::Resolved,
                resolution.clone(),
                TransitionInput {
                    resolution: Some(resolution),
                    ..Default::default()
                },
            )),
            Structured::ArchiveSummary { summary } => steps.push((
                Action::Archive,
                CaseState::Archived,
                summary.clone(),
                TransitionInput {
                    summary: Some(summary),
                    ..Default::default()
                },
            )),
        }
        for (action, to, note, fields) in steps {
            let event = ImportedEvent {
                action,
                from: Some(*state),
                to: Some(to),
                actor_label: actor,
                note: Some(&note),
                at: Some(at),
                fields,
            };
            record_imported_event(conn, case_id, &event, rules)
                .map_err(|e| anyhow::anyhow!("recording the imported {} step: {e}", to.as_str()))?;
            *state = to;
        }
    }
    Ok(())
}
