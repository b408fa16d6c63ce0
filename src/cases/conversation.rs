//! What the case page reads of a conversation: a window of its newest messages, with the heavy
//! columns (whole mail text, HTML) loaded only for the few shown open.
//!
//! A case can hold thousands of messages (a long-running customer, an imported mailbox). The page
//! must not grow with them: it reads the newest [`WINDOW`] messages with the light columns only
//! (who, when, subject, the new text), one more to know the subject before the window, two counts,
//! the attachments of those messages, and the mail text and HTML of the [`OPEN`] newest ones. Older
//! messages are a link away (`?before=<id>`: the window before that message), and any single message
//! whole is `GET /cases/{number}/messages/{id}`. `cargo bench --bench case_page` measures the
//! difference between a one-message and a 1,000-message case (README, *Benchmarks*).

use std::collections::HashMap;

use diesel::prelude::*;

use super::messages::Attachment;
use crate::db::DbConn;
use crate::db::schema::{attachments, messages, users};

/// Messages read for one page of the conversation.
pub const WINDOW: i64 = 50;
/// The newest messages shown open (the rest of the window is one line each until expanded).
pub const OPEN: usize = 3;

/// One message with the light columns: enough for its one-line summary and its new text.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct MessageHead {
    /// Row id.
    pub id: i64,
    /// `inbound`, `outbound` or `note`.
    pub direction: String,
    /// Sender address.
    pub from_email: String,
    /// Sender name.
    pub from_name: Option<String>,
    /// Subject.
    pub subject: String,
    /// Date header.
    pub sent_at: Option<chrono::NaiveDateTime>,
    /// When Casebook received (or wrote) it.
    pub received_at: chrono::NaiveDateTime,
    /// What the sender wrote this time.
    pub new_text: String,
    /// Automatic mail.
    pub auto: bool,
    /// Which threading rule placed it.
    pub thread_method: String,
    /// Staff author of replies and notes.
    pub author_id: Option<i64>,
}

impl MessageHead {
    /// The time to show: the Date header, else the receipt time.
    pub fn date(&self) -> chrono::NaiveDateTime {
        self.sent_at.unwrap_or(self.received_at)
    }
}

/// The heavy columns of an open message.
#[derive(Debug, Clone)]
pub struct MessageBody {
    /// The whole text, quoted history included.
    pub body_text: String,
    /// Sanitised HTML.
    pub body_html: Option<String>,
}

/// One page of a case's conversation.
#[derive(Debug, Clone)]
pub struct Window {
    /// The messages of the window, oldest first.
    pub heads: Vec<MessageHead>,
    /// The subject of the message just before the window (`None` when the window starts with the
    /// case's first message), so "subject changed" is right for the window's oldest message too.
    pub previous_subject: Option<String>,
    /// Messages of the case older than the window.
    pub earlier: i64,
    /// Messages of the case newer than the window (when paging back with `before`).
    pub newer: i64,
    /// Every message of the case.
    pub total: i64,
    /// Ids of the messages shown open (the newest [`OPEN`] that are not automatic replies, on the
    /// first page only).
    pub open: Vec<i64>,
    /// Mail text and HTML of the open messages.
    pub bodies: HashMap<i64, MessageBody>,
    /// Attachments of the window's messages, by id.
    pub attachments: Vec<Attachment>,
    /// Names of the staff who wrote the window's replies and notes.
    pub authors: HashMap<i64, String>,
}

/// The page of `case_id`'s conversation ending just before message `before` (the newest messages
/// when `None`, or when `before` is not a message of this case — an old link after a merge).
pub fn window(conn: &mut DbConn, case_id: i64, before: Option<i64>) -> QueryResult<Window> {
    let total: i64 = messages::table
        .filter(messages::case_id.eq(case_id))
        .count()
        .get_result(conn)?;
    let anchor = match before {
        None => None,
        Some(id) => {
            let found: Option<chrono::NaiveDateTime> = messages::table
                .filter(messages::id.eq(id))
                .filter(messages::case_id.eq(case_id))
                .select(messages::received_at)
                .first(conn)
                .optional()?;
            found.map(|at| (at, id))
        }
    };
    let mut query = messages::table
        .filter(messages::case_id.eq(case_id))
        .select(MessageHead::as_select())
        .order((messages::received_at.desc(), messages::id.desc()))
        .limit(WINDOW + 1)
        .into_boxed();
    if let Some((at, id)) = anchor {
        query = query.filter(
            messages::received_at
                .lt(at)
                .or(messages::received_at.eq(at).and(messages::id.lt(id))),
        );
    }
    let mut heads: Vec<MessageHead> = query.load(conn)?;
    let previous_subject = if heads.len() as i64 > WINDOW {
        heads.pop().map(|m| m.subject)
    } else {
        None
    };
    heads.reverse();
    let older_than = |conn: &mut DbConn, at: chrono::NaiveDateTime, id: i64| -> QueryResult<i64> {
        messages::table
            .filter(messages::case_id.eq(case_id))
            .filter(
                messages::received_at
                    .lt(at)
                    .or(messages::received_at.eq(at).and(messages::id.lt(id))),
            )
            .count()
            .get_result(conn)
    };
    let earlier = match heads.first() {
        Some(oldest) if previous_subject.is_some() => {
            older_than(conn, oldest.received_at, oldest.id)?
        }
        _ => 0,
    };
    let newer = total - earlier - heads.len() as i64;
    let open: Vec<i64> = if anchor.is_none() {
        heads
            .iter()
            .rev()
            .filter(|m| !m.auto)
            .take(OPEN)
            .map(|m| m.id)
            .collect()
    } else {
        Vec::new()
    };
    let bodies = if open.is_empty() {
        HashMap::new()
    } else {
        messages::table
            .filter(messages::id.eq_any(&open))
            .select((messages::id, messages::body_text, messages::body_html))
            .load::<(i64, String, Option<String>)>(conn)?
            .into_iter()
            .map(|(id, body_text, body_html)| {
                (
                    id,
                    MessageBody {
                        body_text,
                        body_html,
                    },
                )
            })
            .collect()
    };
    let ids: Vec<i64> = heads.iter().map(|m| m.id).collect();
    let attachments = if ids.is_empty() {
        Vec::new()
    } else {
        attachments::table
            .filter(attachments::message_id.eq_any(&ids))
            .order(attachments::id.asc())
            .select(Attachment::as_select())
            .load(conn)?
    };
    let mut author_ids: Vec<i64> = heads.iter().filter_map(|m| m.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors = if author_ids.is_empty() {
        HashMap::new()
    } else {
        users::table
            .filter(users::id.eq_any(author_ids))
            .select((users::id, users::name))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect()
    };
    Ok(Window {
        heads,
        previous_subject,
        earlier,
        newer,
        total,
        open,
        bodies,
        attachments,
        authors,
    })
}

/// The first line of what a message says, for its one-line summary: the first non-blank line of
/// `text`, at most `max` characters (an ellipsis marks a cut).
pub fn first_line(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let mut out: String = line.chars().take(max).collect();
    if line.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Whether `subject` says something new after `previous` (the message before it): reply prefixes,
/// case tokens and transcript tags do not count, so "Re: [CAS-…] Activation fails" after
/// "Activation fails" is the same subject.
pub fn subject_changed(previous: Option<&str>, subject: &str) -> bool {
    let clean = crate::ingest::subject::clean_title;
    match previous {
        Some(p) => clean(p) != clean(subject),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_skips_blank_lines_and_is_cut_with_an_ellipsis() {
        assert_eq!(first_line("\n\n  hi 王女士！\nmore", 80), "hi 王女士！");
        assert_eq!(first_line("abcdef", 3), "abc…");
        assert_eq!(first_line("abc", 3), "abc");
        assert_eq!(first_line("   \n ", 10), "");
    }

    #[test]
    fn reply_prefixes_and_case_tokens_do_not_change_a_subject() {
        assert!(!subject_changed(
            Some("CMGE版本激活失败问题"),
            "回复: Re: [案例号: CAS-06004-S8K5X3 ] CMGE版本激活失败问题"
        ));
        assert!(subject_changed(
            Some("CMGE版本激活失败问题"),
            "Re: 新的序列号也无法激活"
        ));
        assert!(subject_changed(None, "anything"));
    }
}
