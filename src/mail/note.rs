//! Internal notes: the one operation behind the note form (`POST /cases/{number}/note`) and the
//! API (`POST /api/v1/cases/{number}/notes`).
//!
//! A note is a `messages` row with direction `note` (never mailed) plus a `note_added` event, so
//! the thread shows it and reports can count it; both doors write the very same rows.

use diesel::QueryResult;

use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NOTE, NewEvent, NewMessage};
use crate::db::blobs::sha256_hex;
use crate::db::{DbConn, now};
use crate::workflow::events::EventKind;

/// Longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 100_000;

/// What a writer asks for.
#[derive(Debug, Clone)]
pub struct NoteCommand {
    /// The case, by number as the door received it.
    pub case_number: String,
    /// Account id of the writer.
    pub author_id: i64,
    /// The writer's display name.
    pub author_name: String,
    /// The writer's address (shown as the note's sender).
    pub author_email: String,
    /// The text.
    pub body: String,
    /// What the form showed ([`crate::cases::activity::seen_marker`]): an identical note by the
    /// same writer after it is the same form sent twice, and is not added again.
    pub seen: Option<String>,
}

/// A note that was not added; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// No such case.
    #[error("no such case")]
    CaseNotFound,
    /// No text.
    #[error("the note is empty")]
    Empty,
    /// Longer than [`MAX_NOTE_CHARS`].
    #[error("the note is longer than {MAX_NOTE_CHARS} characters")]
    TooLong,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// What [`add`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteAdded {
    /// The case's number.
    pub case_number: String,
    /// The note's `messages` row.
    pub message_row_id: i64,
    /// `false` when the same form had already added this note (a double click).
    pub new: bool,
}

/// Adds the note; see the module documentation.
pub fn add(conn: &mut DbConn, cmd: &NoteCommand) -> Result<NoteAdded, NoteError> {
    let body = cmd.body.replace("\r\n", "\n").trim().to_string();
    if body.is_empty() {
        return Err(NoteError::Empty);
    }
    if body.chars().count() > MAX_NOTE_CHARS {
        return Err(NoteError::TooLong);
    }
    crate::db::write_transaction(conn, |conn| {
        let case = Case::find_by_number(conn, &cmd.case_number)?.ok_or(NoteError::CaseNotFound)?;
        Case::lock(conn, case.id)?;
        if let Some(seen) = &cmd.seen
            && let Some(id) = same_note_since(conn, case.id, seen, cmd.author_id, &body)?
        {
            return Ok(NoteAdded {
                case_number: case.number,
                message_row_id: id,
                new: false,
            });
        }
        let at = now();
        let id = NewMessage {
            case_id: case.id,
            direction: NOTE.into(),
            message_id: None,
            in_reply_to: None,
            references_ids: String::new(),
            from_email: cmd.author_email.clone(),
            from_name: Some(cmd.author_name.clone()),
            to_addrs: String::new(),
            cc_addrs: String::new(),
            subject: String::new(),
            sent_at: Some(at),
            received_at: at,
            body_text: body.clone(),
            new_text: body.clone(),
            body_html: None,
            auto: false,
            thread_method: "composed".into(),
            raw_sha256: None,
            content_hash: sha256_hex(
                format!("note\n{}\n{}\n{at}\n{body}", case.id, cmd.author_id).as_bytes(),
            ),
            author_id: Some(cmd.author_id),
            created_at: at,
        }
        .insert(conn)?;
        CaseEvent::record(
            conn,
            case.id,
            &NewEvent {
                actor_id: Some(cmd.author_id),
                actor_label: &cmd.author_name,
                kind: EventKind::NoteAdded,
                at: Some(at),
                ..Default::default()
            },
        )?;
        Case::touch(conn, case.id, at)?;
        Ok(NoteAdded {
            case_number: case.number,
            message_row_id: id,
            new: true,
        })
    })
}

/// The note `author` added with exactly `body` after the form's `seen` marker, if any.
fn same_note_since(
    conn: &mut DbConn,
    case_id: i64,
    seen: &str,
    author: i64,
    body: &str,
) -> QueryResult<Option<i64>> {
    use crate::db::schema::messages;
    use diesel::prelude::*;
    let after: i64 = seen
        .split_once(':')
        .and_then(|(m, _)| m.parse().ok())
        .unwrap_or(0);
    messages::table
        .filter(messages::case_id.eq(case_id))
        .filter(messages::id.gt(after))
        .filter(messages::direction.eq(NOTE))
        .filter(messages::author_id.eq(author))
        .filter(messages::body_text.eq(body))
        .select(messages::id)
        .first(conn)
        .optional()
}
