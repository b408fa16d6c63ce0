//! Replying to the customer: the one operation behind the reply form
//! (`POST /cases/{number}/reply`) and the API (`POST /api/v1/cases/{number}/replies`).
//!
//! [`send`] takes a [`ReplyCommand`] (who writes, to which case, what they wrote and had seen) and
//! either queues the mail or returns a [`Refusal`] the door shows in its own way. Its checks, in
//! order: text present, every address valid, recipients within `max_reply_recipients`, no
//! credential in the text unless confirmed, nothing new on the case since the writer looked.
//!
//! The slow part — composing the mail (it grows with recipients and attachments) and storing its
//! blobs — runs *before* the write transaction; inside it only the collision check and the rows.
//! A customer mail with thousands of Cc once made composing take minutes inside the transaction,
//! and every other write in the meantime failed with "database is locked".

use crate::cases::Case;
use crate::cases::activity::changes_since;
use crate::config::Config;
use crate::db::DbConn;
use crate::db::blobs::BlobStore;

use super::compose::OutgoingAttachment;
use super::credentials::{self, Finding};
use super::outbox::{self, Author, QueuedMail};

/// How often composing is repeated when the customer wrote while the reply was being composed
/// (the reply must answer their newest mail).
const COMPOSE_ATTEMPTS: usize = 3;

/// What a writer asks for.
#[derive(Debug, Clone)]
pub struct ReplyCommand {
    /// The case, by number as the door received it.
    pub case_number: String,
    /// Account id of the writer.
    pub author_id: i64,
    /// The writer's display name (signs the mail).
    pub author_name: String,
    /// The text.
    pub body: String,
    /// Cc addresses as given (checked here).
    pub cc: Vec<String>,
    /// Files to attach.
    pub attachments: Vec<OutgoingAttachment>,
    /// What the writer had seen ([`crate::cases::activity::seen_marker`]); `None` sends whatever
    /// happened since.
    pub seen: Option<String>,
    /// Send although the text looks like it contains a credential.
    pub confirm_credentials: bool,
}

/// Why a reply was not queued; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No text.
    Empty,
    /// This Cc address is not an email address.
    BadAddress(String),
    /// More recipients than `max_reply_recipients` allows.
    TooManyRecipients {
        /// Recipients asked for (the customer included).
        count: usize,
        /// The setting.
        limit: u32,
    },
    /// The text looks like it contains a password or key (masked findings).
    Credentials(Vec<Finding>),
    /// The case changed after the writer looked (descriptions of the changes).
    Changed(Vec<String>),
}

/// The outcome of [`send`] other than success.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// No such case.
    #[error("no such case")]
    CaseNotFound,
    /// A check failed; see [`Refusal`].
    #[error("reply refused: {0:?}")]
    Refused(Refusal),
    /// The database or blob store failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for ReplyError {
    fn from(e: diesel::result::Error) -> Self {
        ReplyError::Failed(e.into())
    }
}

/// The Cc list as it will be sent: checked, lower-cased, without duplicates or the customer.
fn clean_cc(customer_email: &str, cc: &[String]) -> Result<Vec<String>, Refusal> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    seen.insert(customer_email.to_lowercase());
    for addr in cc {
        let addr = addr.trim();
        if addr.is_empty() {
            continue;
        }
        crate::auth::users::validate_email(addr)
            .map_err(|_| Refusal::BadAddress(addr.to_string()))?;
        if seen.insert(addr.to_lowercase()) {
            out.push(addr.to_lowercase());
        }
    }
    Ok(out)
}

/// Checks the command and queues the reply; see the module documentation.
pub fn send(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    cmd: &ReplyCommand,
) -> Result<QueuedMail, ReplyError> {
    let refuse = |r| Err(ReplyError::Refused(r));
    let body = cmd.body.replace("\r\n", "\n");
    if body.trim().is_empty() {
        return refuse(Refusal::Empty);
    }
    let case = Case::find_by_number(conn, &cmd.case_number)?.ok_or(ReplyError::CaseNotFound)?;
    let cc = clean_cc(&case.customer_email, &cmd.cc).map_err(ReplyError::Refused)?;
    let count = 1 + cc.len();
    if count > cfg.max_reply_recipients as usize {
        return refuse(Refusal::TooManyRecipients {
            count,
            limit: cfg.max_reply_recipients,
        });
    }
    let found = credentials::scan(&body);
    if !found.is_empty() && !cmd.confirm_credentials {
        return refuse(Refusal::Credentials(found));
    }
    if let Some(seen) = &cmd.seen {
        let changes = changes_since(conn, case.id, seen)?;
        if !changes.is_empty() {
            return refuse(Refusal::Changed(changes));
        }
    }
    let author = Author {
        id: cmd.author_id,
        name: &cmd.author_name,
    };
    for _ in 0..COMPOSE_ATTEMPTS {
        let prepared = outbox::prepare_reply(
            conn,
            blobs,
            cfg,
            &case,
            &author,
            &body,
            &cc,
            &cmd.attachments,
        )?;
        let outcome = crate::db::write_transaction(conn, |conn| {
            // Under the case's write lock: of two submissions of the same form (a double click,
            // two tabs, an API retry), the second sees the first's reply and is held back.
            Case::lock(conn, case.id)?;
            if let Some(seen) = &cmd.seen {
                let changes = changes_since(conn, case.id, seen)?;
                if !changes.is_empty() {
                    return Ok(Err(Some(Refusal::Changed(changes))));
                }
            }
            let (anchor, _) = outbox::thread_anchor(conn, case.id)?;
            if anchor.as_deref() != prepared.in_reply_to() {
                // The customer wrote while the reply was composed: compose again under it.
                return Ok(Err(None));
            }
            Ok::<_, ReplyError>(Ok(outbox::record_reply(conn, cfg, &case, &prepared)?))
        })?;
        match outcome {
            Ok(queued) => return Ok(queued),
            Err(Some(refusal)) => return refuse(refusal),
            Err(None) => continue,
        }
    }
    Err(ReplyError::Failed(anyhow::anyhow!(
        "the customer kept writing while the reply was composed; try again"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cc_is_checked_deduplicated_and_never_repeats_the_customer() {
        let cc = clean_cc(
            "Chen@Example.com",
            &[
                "a@example.com".into(),
                " A@Example.com ".into(),
                "chen@example.com".into(),
                "".into(),
                "b@example.com".into(),
            ],
        )
        .unwrap();
        assert_eq!(cc, vec!["a@example.com", "b@example.com"]);
        assert_eq!(
            clean_cc("chen@example.com", &["not an address".into()]),
            Err(Refusal::BadAddress("not an address".into()))
        );
    }
}
