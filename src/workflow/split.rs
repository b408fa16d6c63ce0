//! Splitting a case: a customer who raises a second problem in the same thread, or a colleague's
//! unrelated question answered in the wrong case, becomes a case of its own.
//!
//! The chosen message (and, optionally, every message after it) moves to a new case in `new`, with
//! its attachments and the diagnostics read from them, the sender as the new case's customer, and
//! its own SLA clocks. Later replies to a moved message follow it (threading finds a case through
//! the message rows). The source must keep at least one message, and a merged case cannot be split
//! (split the case it was merged into). Both timelines record a `split` event with the same
//! [`Split`] data, and the two cases are linked as related.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::events::{CaseLink, EventData, EventKind, Split};
use super::service::{ActorRef, SlaRules, WorkflowError, find_case_by_id};
use super::state::CaseState;
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NewEvent, Participant};
use crate::cases::model::NewCase;
use crate::db::schema::{attachments, messages};
use crate::db::{DbConn, now};
use crate::workflow::schema::case_links;

/// What a person asks for.
#[derive(Debug, Clone)]
pub struct SplitCommand {
    /// The case the message is on (its number).
    pub case: String,
    /// The `messages` row to split off.
    pub message_id: i64,
    /// Move the messages after it too.
    pub following: bool,
    /// The new case's title; default: the message's subject.
    pub title: Option<String>,
    /// Who splits.
    pub actor: ActorRef,
}

fn invalid(key: &'static str, detail: impl Into<String>) -> WorkflowError {
    WorkflowError::Invalid {
        key,
        detail: detail.into(),
    }
}

/// Splits messages off into a new case; returns the new case.
pub fn split(
    conn: &mut DbConn,
    cmd: &SplitCommand,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<Case, WorkflowError> {
    if !cmd.actor.works_cases() {
        return Err(WorkflowError::Forbidden);
    }
    crate::db::write_transaction(conn, |conn| {
        let src = Case::find_by_number(conn, &cmd.case)?.ok_or(WorkflowError::CaseNotFound)?;
        Case::lock(conn, src.id)?;
        if src.merged_into_id.is_some() {
            return Err(invalid(
                "split.error.merged",
                format!("{} was merged into another case", src.number),
            ));
        }
        let (first_id, subject, from_email, from_name): (i64, String, String, Option<String>) =
            messages::table
                .filter(messages::id.eq(cmd.message_id))
                .filter(messages::case_id.eq(src.id))
                .select((
                    messages::id,
                    messages::subject,
                    messages::from_email,
                    messages::from_name,
                ))
                .first(conn)
                .optional()?
                .ok_or_else(|| {
                    invalid(
                        "split.error.message",
                        format!("message {} is not on {}", cmd.message_id, src.number),
                    )
                })?;
        let on_case = messages::table.filter(messages::case_id.eq(src.id));
        let total: i64 = on_case.count().get_result(conn)?;
        let moving: i64 = if cmd.following {
            on_case
                .filter(messages::id.ge(first_id))
                .count()
                .get_result(conn)?
        } else {
            1
        };
        if moving >= total {
            return Err(invalid(
                "split.error.all",
                format!("{} would keep no message", src.number),
            ));
        }
        let title = match cmd.title.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => crate::ingest::subject::clean_title(&subject),
        };
        let when = now();
        let new = Case::create(
            conn,
            &NewCase {
                number: None,
                title: &title,
                state: CaseState::New,
                priority: src.priority,
                customer_email: &from_email,
                customer_name: from_name.as_deref(),
                language: &src.language,
                duplicate_of_id: None,
                at: when,
            },
        )?;
        // Set-based moves, whatever the count: the messages, then their attachments, then the
        // diagnostics read from those attachments.
        let moved = if cmd.following {
            diesel::update(
                messages::table
                    .filter(messages::case_id.eq(src.id))
                    .filter(messages::id.ge(first_id)),
            )
            .set(messages::case_id.eq(new.id))
            .execute(conn)?
        } else {
            diesel::update(messages::table.filter(messages::id.eq(first_id)))
                .set(messages::case_id.eq(new.id))
                .execute(conn)?
        };
        diesel::update(
            attachments::table.filter(
                attachments::message_id.eq_any(
                    messages::table
                        .filter(messages::case_id.eq(new.id))
                        .select(messages::id),
                ),
            ),
        )
        .set(attachments::case_id.eq(new.id))
        .execute(conn)?;
        {
            // Diagnostics read from a moved attachment follow it. A case has few snapshots, so
            // their attachment ids are read and checked rather than joined.
            use crate::diagnostics::schema::diagnostic_snapshots as d;
            let snapshots: Vec<(i64, Option<i64>)> = d::table
                .filter(d::case_id.eq(src.id))
                .filter(d::attachment_id.is_not_null())
                .select((d::id, d::attachment_id))
                .load(conn)?;
            let attachment_ids: Vec<i64> = snapshots.iter().filter_map(|s| s.1).collect();
            let moved_attachments: Vec<i64> = attachments::table
                .filter(attachments::case_id.eq(new.id))
                .filter(attachments::id.eq_any(&attachment_ids))
                .select(attachments::id)
                .load(conn)?;
            let follow: Vec<i64> = (snapshots.iter())
                .filter(|s| s.1.is_some_and(|a| moved_attachments.contains(&a)))
                .map(|s| s.0)
                .collect();
            diesel::update(d::table.filter(d::id.eq_any(&follow)))
                .set(d::case_id.eq(new.id))
                .execute(conn)?;
        }
        Participant::add(conn, new.id, &from_email, from_name.as_deref(), "customer")?;
        super::service::start_clocks_for_new_case_in(conn, &new, new.priority, at, rules)?;

        let data = Split {
            source: src.number.clone(),
            new_case: new.number.clone(),
            messages_moved: moved as u64,
        }
        .to_data();
        for (case_id, note) in [
            (
                src.id,
                format!("{moved} messages split off into {}", new.number),
            ),
            (
                new.id,
                format!("split from {} ({moved} messages)", src.number),
            ),
        ] {
            CaseEvent::record(
                conn,
                case_id,
                &NewEvent {
                    actor_id: cmd.actor.id(),
                    actor_label: cmd.actor.label(),
                    kind: EventKind::Split,
                    note: Some(&note),
                    data: Some(data.clone()),
                    at: Some(when),
                    ..Default::default()
                },
            )?;
        }
        // The two cases stay linked as related, so either leads to the other.
        let reason = format!("split from {}", src.number);
        diesel::insert_into(case_links::table)
            .values((
                case_links::from_case_id.eq(src.id),
                case_links::to_case_id.eq(new.id),
                case_links::relation.eq(super::links::Relation::Related.stored()),
                case_links::reason.eq(&reason),
                case_links::created_by.eq(cmd.actor.id()),
                case_links::created_at.eq(when),
            ))
            .execute(conn)?;
        for (case_id, other) in [(src.id, &new.number), (new.id, &src.number)] {
            CaseEvent::record(
                conn,
                case_id,
                &NewEvent {
                    actor_id: cmd.actor.id(),
                    actor_label: cmd.actor.label(),
                    kind: EventKind::Linked,
                    note: Some(&reason),
                    data: Some(
                        CaseLink {
                            other: other.clone(),
                            relation: "related".into(),
                            reason: reason.clone(),
                        }
                        .to_data(),
                    ),
                    at: Some(when),
                    ..Default::default()
                },
            )?;
        }
        Case::touch(conn, src.id, when)?;
        find_case_by_id(conn, new.id)
    })
}

/// What the split page shows before anything moves.
#[derive(Debug, Clone)]
pub struct SplitPreview {
    /// The case.
    pub case: Case,
    /// The message's row id.
    pub message_id: i64,
    /// Its subject (the new case's default title).
    pub subject: String,
    /// Its sender.
    pub from: String,
    /// When it arrived.
    pub received_at: chrono::NaiveDateTime,
    /// Messages after it on the case.
    pub following: i64,
    /// Messages on the case.
    pub total: i64,
}

/// The message to split and what the choice would move; refused as [`split`] would refuse it.
pub fn split_preview(
    conn: &mut DbConn,
    number: &str,
    message_id: i64,
) -> Result<SplitPreview, WorkflowError> {
    let case = Case::find_by_number(conn, number)?.ok_or(WorkflowError::CaseNotFound)?;
    if case.merged_into_id.is_some() {
        return Err(invalid(
            "split.error.merged",
            format!("{} was merged into another case", case.number),
        ));
    }
    let (subject, from, received_at): (String, String, chrono::NaiveDateTime) = messages::table
        .filter(messages::id.eq(message_id))
        .filter(messages::case_id.eq(case.id))
        .select((
            messages::subject,
            messages::from_email,
            messages::received_at,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            invalid(
                "split.error.message",
                format!("message {message_id} is not on {}", case.number),
            )
        })?;
    let on_case = messages::table.filter(messages::case_id.eq(case.id));
    let total: i64 = on_case.count().get_result(conn)?;
    let following: i64 = on_case
        .filter(messages::id.gt(message_id))
        .count()
        .get_result(conn)?;
    Ok(SplitPreview {
        case,
        message_id,
        subject,
        from,
        received_at,
        following,
        total,
    })
}
