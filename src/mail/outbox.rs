//! The outbox: every outgoing mail is a row written in the same transaction as the action that
//! causes it (a reply, a new case's acknowledgement, a workflow mail, a notification). The raw
//! RFC 5322 bytes go to the blob store first — content-addressed, so a rolled-back transaction
//! leaves at most an unreferenced blob — and the row points at them by `raw_sha256`. The sender
//! ([`crate::mail::sender`]) delivers rows later; nothing here talks to the network.
//!
//! Mail to the customer is also stored as a `messages` row (direction `outbound`, thread method
//! `composed`), so it shows in the case thread and its Message-ID is known to threading.

use anyhow::Context;
use diesel::prelude::*;

use super::compose::{self, Composed, Draft, MailKind, OutgoingAttachment, SubjectKind, case_lang};
use super::schema::outbox;
use crate::cases::Case;
use crate::cases::messages::{
    Attachment, CaseEvent, INBOUND, Message, NewEvent, NewMessage, OUTBOUND, Participant,
};
use crate::config::Config;
use crate::db::blobs::BlobStore;
use crate::db::schema::messages;
use crate::db::{DbConn, now};
use crate::workflow::events::EventKind;

/// Waiting for its first attempt.
pub const QUEUED: &str = "queued";
/// An attempt failed; waiting for `next_attempt_at`.
pub const RETRY: &str = "retry";
/// Claimed by a sender right now.
pub const SENDING: &str = "sending";
/// Accepted by the SMTP server (or written to the file outbox).
pub const SENT: &str = "sent";
/// Given up (permanent refusal or too many attempts); an admin may retry it.
pub const FAILED: &str = "failed";

/// Thread method stored on mail and notes written in Casebook.
const COMPOSED: &str = "composed";

/// What was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Outbox row id.
    pub outbox_id: i64,
    /// The `messages` row shown in the thread (`None` for staff notifications).
    pub message_row_id: Option<i64>,
    /// Message-ID (without angle brackets), reused on every delivery attempt.
    pub message_id: String,
}

/// The staff member writing a reply.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    /// Account id.
    pub id: i64,
    /// Display name (signs the mail).
    pub name: &'a str,
}

/// An outbox row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Case, if the mail belongs to one.
    pub case_id: Option<i64>,
    /// The thread message, if any.
    pub message_row_id: Option<i64>,
    /// Message-ID without angle brackets.
    pub message_id: String,
    /// Recipients, comma-separated.
    pub to_addrs: String,
    /// Cc, comma-separated.
    pub cc_addrs: String,
    /// Subject.
    pub subject: String,
    /// Raw mail blob.
    pub raw_sha256: String,
    /// `queued`, `retry`, `sending`, `sent` or `failed`.
    pub status: String,
    /// Delivery attempts made.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: chrono::NaiveDateTime,
    /// Why the last attempt failed (server reply or connection error; never credentials).
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: chrono::NaiveDateTime,
    /// Accepted by the server.
    pub sent_at: Option<chrono::NaiveDateTime>,
    /// [`MailKind::as_str`].
    pub kind: String,
    /// When a sender claimed it.
    pub claimed_at: Option<chrono::NaiveDateTime>,
}

impl OutboxRow {
    /// Finds a row.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<OutboxRow>> {
        outbox::table
            .find(id)
            .select(OutboxRow::as_select())
            .first(conn)
            .optional()
    }

    /// Finds the row of a Message-ID.
    pub fn find_by_message_id(
        conn: &mut DbConn,
        message_id: &str,
    ) -> QueryResult<Option<OutboxRow>> {
        outbox::table
            .filter(outbox::message_id.eq(message_id))
            .select(OutboxRow::as_select())
            .first(conn)
            .optional()
    }

    /// Everything not yet sent (queued, retrying, sending, failed), oldest first.
    pub fn list_unsent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<OutboxRow>> {
        outbox::table
            .filter(outbox::status.ne(SENT))
            .order((outbox::created_at.asc(), outbox::id.asc()))
            .limit(limit)
            .select(OutboxRow::as_select())
            .load(conn)
    }

    /// Rows of a case, oldest first.
    pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<OutboxRow>> {
        outbox::table
            .filter(outbox::case_id.eq(case_id))
            .order(outbox::id.asc())
            .select(OutboxRow::as_select())
            .load(conn)
    }

    /// Makes a waiting or failed row due now (the admin "retry" button). A failed row starts
    /// counting attempts afresh. Returns whether a row changed.
    pub fn retry_now(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
        let at = now();
        let failed = diesel::update(
            outbox::table
                .filter(outbox::id.eq(id))
                .filter(outbox::status.eq(FAILED)),
        )
        .set((
            outbox::status.eq(RETRY),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(at),
        ))
        .execute(conn)?;
        let waiting = diesel::update(
            outbox::table
                .filter(outbox::id.eq(id))
                .filter(outbox::status.eq_any([QUEUED, RETRY])),
        )
        .set(outbox::next_attempt_at.eq(at))
        .execute(conn)?;
        Ok(failed + waiting > 0)
    }
}

/// Where a reply attaches to the conversation: the customer's latest (non-automatic) mail.
/// Returns its Message-ID and the References chain ending in it.
pub fn thread_anchor(
    conn: &mut DbConn,
    case_id: i64,
) -> QueryResult<(Option<String>, Vec<String>)> {
    let latest: Option<Message> = messages::table
        .filter(messages::case_id.eq(case_id))
        .filter(messages::direction.eq(INBOUND))
        .filter(messages::auto.eq(false))
        .filter(messages::message_id.is_not_null())
        .order((messages::received_at.desc(), messages::id.desc()))
        .select(Message::as_select())
        .first(conn)
        .optional()?;
    Ok(match latest {
        Some(m) => anchor_of(&m),
        None => (None, Vec::new()),
    })
}

fn anchor_of(m: &Message) -> (Option<String>, Vec<String>) {
    let mut refs: Vec<String> = m
        .references_ids
        .split_whitespace()
        .map(|r| r.trim_matches(['<', '>']).to_string())
        .filter(|r| !r.is_empty())
        .collect();
    if let Some(id) = &m.message_id {
        refs.retain(|r| r != id);
        refs.push(id.clone());
    }
    (m.message_id.clone(), refs)
}

fn customer_recipient(case: &Case) -> Vec<(String, Option<String>)> {
    vec![(case.customer_email.clone(), case.customer_name.clone())]
}

/// What the thread row of a mail says.
struct ThreadRow<'a> {
    body: &'a str,
    auto: bool,
    author_id: Option<i64>,
    attachments: &'a [OutgoingAttachment],
}

/// The blobs of a composed mail, stored before any transaction: content-addressed, so a
/// transaction that rolls back leaves at most an unreferenced blob.
pub struct StagedMail {
    raw_sha: String,
    attachment_blobs: Vec<String>,
}

/// Stores the raw mail and its attachments in the blob store (slow: file writes and fsync —
/// never inside a write transaction).
pub fn stage(
    blobs: &BlobStore,
    composed: &Composed,
    attachments: &[OutgoingAttachment],
) -> anyhow::Result<StagedMail> {
    let raw_sha = blobs
        .put(&composed.raw)
        .context("storing the outgoing mail")?;
    let mut attachment_blobs = Vec::with_capacity(attachments.len());
    for a in attachments {
        attachment_blobs.push(
            blobs
                .put(&a.bytes)
                .with_context(|| format!("storing attachment {:?}", a.filename))?,
        );
    }
    Ok(StagedMail {
        raw_sha,
        attachment_blobs,
    })
}

/// Stores the blobs, then writes the thread row, attachment rows and the outbox row in one
/// transaction.
fn enqueue(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    case: Option<&Case>,
    kind: MailKind,
    composed: &Composed,
    thread_row: Option<ThreadRow<'_>>,
) -> anyhow::Result<QueuedMail> {
    let attachments = thread_row.as_ref().map(|r| r.attachments).unwrap_or(&[]);
    let staged = stage(blobs, composed, attachments)?;
    crate::db::write_transaction::<_, anyhow::Error, _>(conn, |conn| {
        record(conn, cfg, case, kind, composed, thread_row, &staged)
    })
}

/// Writes the rows of a staged mail: its thread message (with attachments and new Cc
/// participants) when it has one, the case's activity, and the outbox row. Call inside a write
/// transaction; does no file work.
fn record(
    conn: &mut DbConn,
    cfg: &Config,
    case: Option<&Case>,
    kind: MailKind,
    composed: &Composed,
    thread_row: Option<ThreadRow<'_>>,
    staged: &StagedMail,
) -> anyhow::Result<QueuedMail> {
    let attachments = thread_row.as_ref().map(|r| r.attachments).unwrap_or(&[]);
    let (raw_sha, attachment_blobs) = (&staged.raw_sha, &staged.attachment_blobs);
    let at = now();
    let mut message_row_id = None;
    if let (Some(case), Some(row)) = (case, thread_row) {
        let id = NewMessage {
            case_id: case.id,
            direction: OUTBOUND.into(),
            message_id: Some(composed.message_id.clone()),
            in_reply_to: composed.in_reply_to.clone(),
            references_ids: composed.references.join(" "),
            from_email: cfg.mail_from.clone(),
            from_name: Some(cfg.mail_from_name.clone()),
            to_addrs: composed.to.join(", "),
            cc_addrs: composed.cc.join(", "),
            subject: composed.subject.clone(),
            sent_at: Some(at),
            received_at: at,
            body_text: row.body.to_string(),
            new_text: row.body.to_string(),
            body_html: None,
            auto: row.auto,
            thread_method: COMPOSED.into(),
            raw_sha256: Some(raw_sha.clone()),
            content_hash: raw_sha.clone(),
            author_id: row.author_id,
            created_at: at,
        }
        .insert(conn)
        .context("storing the outbound message")?;
        for (a, sha) in attachments.iter().zip(attachment_blobs.iter()) {
            Attachment::insert(
                conn,
                id,
                case.id,
                &a.filename,
                &a.content_type,
                a.bytes.len().min(i64::MAX as usize) as i64,
                sha,
                None,
                false,
            )
            .context("storing an attachment row")?;
        }
        for addr in &composed.cc {
            Participant::add(conn, case.id, addr, None, "cc").context("adding a cc participant")?;
        }
        Case::touch(conn, case.id, at).context("recording case activity")?;
        message_row_id = Some(id);
    }
    diesel::insert_into(outbox::table)
        .values((
            outbox::case_id.eq(case.map(|c| c.id)),
            outbox::message_row_id.eq(message_row_id),
            outbox::message_id.eq(&composed.message_id),
            outbox::to_addrs.eq(composed.to.join(", ")),
            outbox::cc_addrs.eq(composed.cc.join(", ")),
            outbox::subject.eq(&composed.subject),
            outbox::raw_sha256.eq(raw_sha),
            outbox::status.eq(QUEUED),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(at),
            outbox::created_at.eq(at),
            outbox::kind.eq(kind.as_str()),
        ))
        .execute(conn)
        .context("queueing the mail in the outbox")?;
    let outbox_id = outbox::table
        .filter(outbox::message_id.eq(&composed.message_id))
        .select(outbox::id)
        .first(conn)
        .context("reading the outbox row back")?;
    Ok(QueuedMail {
        outbox_id,
        message_row_id,
        message_id: composed.message_id.clone(),
    })
}

/// A reply composed and its blobs stored — everything slow done — ready to be recorded.
pub struct PreparedReply<'a> {
    composed: Composed,
    staged: StagedMail,
    body: &'a str,
    author_id: i64,
    attachments: &'a [OutgoingAttachment],
}

impl PreparedReply<'_> {
    /// The Message-ID of the customer mail this reply answers.
    pub fn in_reply_to(&self) -> Option<&str> {
        self.composed.in_reply_to.as_deref()
    }

    /// Everyone the reply goes to (To, then Cc).
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.composed
            .to
            .iter()
            .chain(&self.composed.cc)
            .map(String::as_str)
    }
}

/// Composes an agent's reply to the customer (and `cc`), threaded under the customer's latest
/// mail, and stores its blobs. Reads, but writes no rows: call it *before* the write transaction
/// and [`record_reply`] inside it, so composing (which grows with the recipients and attachments)
/// never holds the database's write lock.
#[allow(clippy::too_many_arguments)]
pub fn prepare_reply<'a>(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    case: &Case,
    author: &Author<'_>,
    body: &'a str,
    cc: &[String],
    attachments: &'a [OutgoingAttachment],
) -> anyhow::Result<PreparedReply<'a>> {
    let (in_reply_to, references) =
        thread_anchor(conn, case.id).context("finding the customer's latest mail")?;
    let composed = compose::compose(
        cfg,
        &Draft {
            kind: MailKind::Reply,
            case: Some(case),
            to: customer_recipient(case),
            cc: cc.to_vec(),
            subject: compose::reply_subject(cfg, case),
            body,
            signature: Some(author.name),
            in_reply_to,
            references,
            attachments,
            lang: case_lang(case),
        },
    )?;
    let staged = stage(blobs, &composed, attachments)?;
    Ok(PreparedReply {
        composed,
        staged,
        body,
        author_id: author.id,
        attachments,
    })
}

/// Records a prepared reply: thread row, attachments, outbox row, and [`on_reply_queued`]. Call
/// inside the write transaction.
pub fn record_reply(
    conn: &mut DbConn,
    cfg: &Config,
    case: &Case,
    reply: &PreparedReply<'_>,
) -> anyhow::Result<QueuedMail> {
    let queued = record(
        conn,
        cfg,
        Some(case),
        MailKind::Reply,
        &reply.composed,
        Some(ThreadRow {
            body: reply.body,
            auto: false,
            author_id: Some(reply.author_id),
            attachments: reply.attachments,
        }),
        &reply.staged,
    )?;
    on_reply_queued(conn, cfg, case.id, now()).context("recording the reply on the case")?;
    Ok(queued)
}

/// [`prepare_reply`] and [`record_reply`] in their own transaction, with no checks: for callers
/// that hold no form state (tests, imports). Agents' replies go through [`super::reply::send`].
#[allow(clippy::too_many_arguments)]
pub fn queue_reply(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    case: &Case,
    author: &Author<'_>,
    body: &str,
    cc: &[String],
    attachments: &[OutgoingAttachment],
) -> anyhow::Result<QueuedMail> {
    let prepared = prepare_reply(conn, blobs, cfg, case, author, body, cc, attachments)?;
    crate::db::write_transaction::<_, anyhow::Error, _>(conn, |conn| {
        record_reply(conn, cfg, case, &prepared)
    })
}

/// Queues the automatic acknowledgement ("we opened case …") to the customer who wrote
/// `inbound`. The ingest pipeline calls this inside its own transaction for a new case when
/// `acknowledge_new_cases` is on, and never for automatic mail (auto-replies, bounces, lists).
pub fn queue_acknowledgement(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    case: &Case,
    inbound: &Message,
) -> anyhow::Result<QueuedMail> {
    let lang = case_lang(case);
    let catalog = compose::catalog()?;
    let t = |key: &'static str| catalog.get(lang, key);
    let body = t("mail.ack.body")
        .replace("{number}", &case.number)
        .replace("{token}", &compose::subject_token(cfg, case))
        .replace("{title}", &case.title);
    let (in_reply_to, references) = anchor_of(inbound);
    let composed = compose::compose(
        cfg,
        &Draft {
            kind: MailKind::Acknowledgement,
            case: Some(case),
            to: vec![(inbound.from_email.clone(), inbound.from_name.clone())],
            cc: Vec::new(),
            subject: compose::reply_subject(cfg, case),
            body: &body,
            signature: Some(&cfg.mail_from_name),
            in_reply_to,
            references,
            attachments: &[],
            lang,
        },
    )?;
    enqueue(
        conn,
        blobs,
        cfg,
        Some(case),
        MailKind::Acknowledgement,
        &composed,
        Some(ThreadRow {
            body: &body,
            auto: true,
            author_id: None,
            attachments: &[],
        }),
    )
}

/// A mail composed and its blobs stored — everything slow done — ready to be recorded by
/// [`record_prepared`] inside the write transaction of the action that causes it.
pub struct PreparedMail {
    kind: MailKind,
    composed: Composed,
    staged: StagedMail,
    /// The text shown in the case thread (mail to the customer); `None` for staff notifications,
    /// which are not part of the conversation.
    thread_body: Option<String>,
}

impl PreparedMail {
    /// The Message-ID of the customer mail this one answers (for checking, inside the
    /// transaction, that the customer did not write meanwhile).
    pub fn in_reply_to(&self) -> Option<&str> {
        self.composed.in_reply_to.as_deref()
    }

    /// The Message-ID it will be sent with.
    pub fn message_id(&self) -> &str {
        &self.composed.message_id
    }
}

/// Composes a workflow mail to the customer (definition and scope, a question, the resolution, the
/// summary, the diagnostics report) threaded under their latest mail, and stores its blobs. Reads,
/// but writes no rows: call it *before* the write transaction and [`record_prepared`] inside it.
pub fn prepare_customer_mail(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    case: &Case,
    subject_kind: SubjectKind,
    body: &str,
) -> anyhow::Result<PreparedMail> {
    let (in_reply_to, references) =
        thread_anchor(conn, case.id).context("finding the customer's latest mail")?;
    let composed = compose::compose(
        cfg,
        &Draft {
            kind: MailKind::CustomerMail,
            case: Some(case),
            to: customer_recipient(case),
            cc: Vec::new(),
            subject: compose::customer_subject(cfg, case, subject_kind)?,
            body,
            signature: Some(&cfg.mail_from_name),
            in_reply_to,
            references,
            attachments: &[],
            lang: case_lang(case),
        },
    )?;
    let staged = stage(blobs, &composed, &[])?;
    Ok(PreparedMail {
        kind: MailKind::CustomerMail,
        composed,
        staged,
        thread_body: Some(body.to_string()),
    })
}

/// Composes a notification to one staff member, in their language, and stores its blob (before
/// any transaction, like [`prepare_customer_mail`]). It is automatic mail and is not part of any
/// case's thread: a staff member answering it writes to the support mailbox, not into the case.
pub fn prepare_notification(
    blobs: &BlobStore,
    cfg: &Config,
    to: (&str, Option<&str>),
    subject: &str,
    body: &str,
    lang: crate::i18n::Lang,
) -> anyhow::Result<PreparedMail> {
    let composed = compose::compose(
        cfg,
        &Draft {
            kind: MailKind::Notification,
            case: None,
            to: vec![(to.0.to_string(), to.1.map(str::to_string))],
            cc: Vec::new(),
            subject: subject.to_string(),
            body,
            signature: Some(&cfg.mail_from_name),
            in_reply_to: None,
            references: Vec::new(),
            attachments: &[],
            lang,
        },
    )?;
    let staged = stage(blobs, &composed, &[])?;
    Ok(PreparedMail {
        kind: MailKind::Notification,
        composed,
        staged,
        thread_body: None,
    })
}

/// Records a prepared mail: its thread message when it has one (mail to the customer), the case's
/// activity, and the outbox row, linked to `case`. Call inside the write transaction; does no file
/// work.
pub fn record_prepared(
    conn: &mut DbConn,
    cfg: &Config,
    case: Option<&Case>,
    mail: &PreparedMail,
) -> anyhow::Result<QueuedMail> {
    record(
        conn,
        cfg,
        case,
        mail.kind,
        &mail.composed,
        mail.thread_body.as_deref().map(|body| ThreadRow {
            body,
            auto: false,
            author_id: None,
            attachments: &[],
        }),
        &mail.staged,
    )
}

/// Queues a workflow mail to the customer ([`prepare_customer_mail`] then [`record_prepared`]),
/// shown in the thread. Inside a caller's transaction the composing happens there too; callers
/// that can should prepare first and record inside their transaction, as
/// [`crate::workflow::service::take_transition`] does.
pub fn queue_customer_mail(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    case: &Case,
    subject_kind: SubjectKind,
    body: &str,
) -> anyhow::Result<QueuedMail> {
    let prepared = prepare_customer_mail(conn, blobs, cfg, case, subject_kind, body)?;
    crate::db::write_transaction::<_, anyhow::Error, _>(conn, |conn| {
        record_prepared(conn, cfg, Some(case), &prepared)
    })
}

/// Queues an automatic notification to staff addresses (not shown in the case thread).
pub fn queue_notification(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    case: Option<&Case>,
    to: &[String],
    subject: &str,
    body: &str,
) -> anyhow::Result<QueuedMail> {
    let composed = compose::compose(
        cfg,
        &Draft {
            kind: MailKind::Notification,
            case,
            to: to.iter().map(|a| (a.clone(), None)).collect(),
            cc: Vec::new(),
            subject: subject.to_string(),
            body,
            signature: Some(&cfg.mail_from_name),
            in_reply_to: None,
            references: Vec::new(),
            attachments: &[],
            lang: case.map(case_lang).unwrap_or_default(),
        },
    )?;
    enqueue(
        conn,
        blobs,
        cfg,
        case,
        MailKind::Notification,
        &composed,
        None,
    )
}

/// Called in the reply's transaction once a reply to the customer is queued: the reply meets the
/// first/next-response SLA clocks and is recorded on the timeline.
pub fn on_reply_queued(
    conn: &mut DbConn,
    cfg: &Config,
    case_id: i64,
    at: chrono::NaiveDateTime,
) -> anyhow::Result<()> {
    let rules = crate::workflow::service::SlaRules::from_config(cfg);
    crate::workflow::service::reply_sent(conn, case_id, at.and_utc(), &rules)
        .map_err(|e| anyhow::anyhow!("meeting the response clocks: {e}"))?;
    CaseEvent::record(
        conn,
        case_id,
        &NewEvent {
            actor_label: "casebook",
            kind: EventKind::ReplySent,
            at: Some(at),
            ..NewEvent::default()
        },
    )?;
    Ok(())
}
