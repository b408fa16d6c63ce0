//! Merging a case into another: one customer problem that arrived as two cases (a stolen or
//! mistyped token, a customer writing from a second address) becomes one thread again.
//!
//! Everything moves to the target — messages, attachments, participants, diagnostics — in one
//! transaction; the source keeps its number (so old mail still finds it) but forwards to the target
//! (`merged_into_id`, which threading follows) and is archived. Both timelines record the merge.

use diesel::prelude::*;

use super::messages::{CaseEvent, NewEvent, Participant};
use super::model::Case;
use crate::db::schema::{attachments, cases, messages, participants};
use crate::db::{DbConn, now};

/// Why a merge was refused (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A case number does not exist.
    #[error("no case {0}")]
    NotFound(String),
    /// Source and target are the same case.
    #[error("a case cannot be merged into itself")]
    SameCase,
    /// The source was merged before.
    #[error("{0} was already merged into another case")]
    AlreadyMerged(String),
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Merges `source` into `target` (numbers); returns the target case.
pub fn merge(
    conn: &mut DbConn,
    source: &str,
    target: &str,
    actor_id: i64,
    actor_label: &str,
) -> Result<Case, MergeError> {
    crate::db::write_transaction(conn, |conn| {
        let src = Case::find_by_number(conn, source)?
            .ok_or_else(|| MergeError::NotFound(source.into()))?;
        let dst = Case::find_by_number(conn, target)?
            .ok_or_else(|| MergeError::NotFound(target.into()))?;
        let dst_id = super::super::ingest::thread::follow_merges(conn, dst.id)?;
        if src.id == dst_id {
            return Err(MergeError::SameCase);
        }
        if src.merged_into_id.is_some() {
            return Err(MergeError::AlreadyMerged(src.number));
        }
        let dst =
            Case::find_by_id(conn, dst_id)?.ok_or_else(|| MergeError::NotFound(target.into()))?;
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
        let at = now();
        diesel::update(cases::table.find(src.id))
            .set((
                cases::merged_into_id.eq(Some(dst.id)),
                cases::state.eq("archived"),
                cases::closed_at.eq(Some(at)),
                cases::updated_at.eq(at),
            ))
            .execute(conn)?;
        let into = format!("merged into {} ({moved} messages moved)", dst.number);
        CaseEvent::record(
            conn,
            src.id,
            &NewEvent {
                actor_id: Some(actor_id),
                actor_label,
                kind: "merged",
                from_state: Some(&src.state),
                to_state: Some("archived"),
                note: Some(&into),
                data: Some(serde_json::json!({ "into": dst.number }).to_string()),
                ..Default::default()
            },
        )?;
        let from = format!("{} merged into this case ({moved} messages)", src.number);
        CaseEvent::record(
            conn,
            dst.id,
            &NewEvent {
                actor_id: Some(actor_id),
                actor_label,
                kind: "merged",
                note: Some(&from),
                data: Some(serde_json::json!({ "from": src.number }).to_string()),
                ..Default::default()
            },
        )?;
        Case::touch(conn, dst.id, at.max(dst.last_activity_at))?;
        Case::find_by_id(conn, dst.id)?.ok_or_else(|| MergeError::NotFound(target.into()))
    })
}
