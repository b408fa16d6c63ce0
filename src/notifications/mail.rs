//! Notification mail: [`queue_pending_mail`] turns notifications whose recipient wants mail into
//! outbox mail. The outbox sender runs it at the start of every pass
//! ([`crate::mail::sender::Sender::send_due`]), so `casebook serve`, `casebook outbox flush` and
//! tests that call `send_due_now` all mail them.
//!
//! Why not in the event's transaction: composing a mail and storing its blob (a file write and an
//! fsync) is slow work, and the events that notify include a customer's mail arriving — inside an
//! ingest batch's transaction, which holds SQLite's write lock for every message of the batch. The
//! notification row is written with its event (so it exists exactly when the event does, with
//! `mail_state = 'pending'`); the mail is composed here, outside any transaction, and recorded in a
//! short one that claims the row (`pending → queued`), so of two instances only one queues it.

use anyhow::Context;
use diesel::prelude::*;

use super::schema::notifications;
use super::service::{Kind, MAIL_NONE, MAIL_PENDING, MAIL_QUEUED, sentence};
use crate::cases::Case;
use crate::config::Config;
use crate::db::DbConn;
use crate::db::blobs::BlobStore;
use crate::db::schema::users;
use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// Notifications composed per batch.
pub const MAIL_BATCH: i64 = 50;
/// Batches per call, so one pass of the sender stays bounded however many are waiting.
const MAX_BATCHES: usize = 10;

type PendingRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    bool,
    Option<i64>,
);

/// Composes and queues the mail of waiting notifications, oldest first, at most
/// `MAIL_BATCH × 10` per call. Returns how many were queued.
pub fn queue_pending_mail(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
) -> anyhow::Result<usize> {
    let mut queued = 0;
    let mut after = 0_i64;
    for _ in 0..MAX_BATCHES {
        let rows: Vec<PendingRow> = notifications::table
            .inner_join(users::table)
            .filter(notifications::mail_state.eq(MAIL_PENDING))
            .filter(notifications::id.gt(after))
            .order(notifications::id.asc())
            .limit(MAIL_BATCH)
            .select((
                notifications::id,
                notifications::kind,
                notifications::actor_label,
                notifications::detail,
                notifications::excerpt,
                users::email,
                users::name,
                users::locale,
                users::disabled,
                notifications::case_id,
            ))
            .load(conn)
            .context("listing notifications waiting for mail")?;
        let n = rows.len();
        for row in rows {
            after = row.0;
            match queue_one(conn, blobs, cfg, row) {
                Ok(true) => queued += 1,
                Ok(false) => {}
                // One notification that cannot be mailed now (the blob store is full, the address
                // is refused by lettre) stays waiting for the next pass without holding up the rest.
                Err(e) => {
                    tracing::warn!(notification = after, error = %format!("{e:#}"), "notification mail not queued")
                }
            }
        }
        if n < MAIL_BATCH as usize {
            break;
        }
    }
    Ok(queued)
}

/// Composes one notification's mail (outside a transaction) and records it if the row is still
/// waiting. A notification whose kind this version does not know, or whose recipient was
/// disabled meanwhile, is marked as not mailed.
fn queue_one(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    row: PendingRow,
) -> anyhow::Result<bool> {
    let (id, kind, actor, detail, excerpt, email, name, locale, disabled, case_id) = row;
    let case = match case_id {
        Some(case_id) => {
            Case::find_by_id(conn, case_id).context("reading the notification's case")?
        }
        None => None,
    };
    let Some(kind) = Kind::parse(&kind).filter(|_| !disabled) else {
        set_state(conn, id, MAIL_NONE)?;
        return Ok(false);
    };
    let lang: Lang = locale
        .as_deref()
        .and_then(|l| l.parse().ok())
        .unwrap_or_default();
    let number = case.as_ref().map(|c| c.number.as_str()).unwrap_or("");
    let said = sentence(kind, &actor, number, detail.as_deref(), lang);
    let t = builtin(lang);
    let subject = match &case {
        Some(c) => format!("{said} · {}", c.title),
        None => said.clone(),
    };
    let mut body = said;
    if let Some(quote) = excerpt.as_deref().filter(|e| !e.is_empty()) {
        body.push_str("\n\n> ");
        body.push_str(quote);
    }
    let base = cfg.base_url.trim_end_matches('/');
    if let Some(c) = &case {
        body.push_str(&format!("\n\n{}\n{base}/cases/{}", c.title, c.number));
    }
    body.push_str("\n\n");
    body.push_str(
        &t.t("notify.mail.settings")
            .replace("{url}", &format!("{base}/account/notifications")),
    );
    let prepared = crate::mail::outbox::prepare_notification(
        blobs,
        cfg,
        (&email, Some(&name)),
        &subject,
        &body,
        lang,
    )
    .with_context(|| format!("composing notification {id}"))?;
    crate::db::write_transaction::<_, anyhow::Error, _>(conn, |conn| {
        // Claimed here, so a notification another instance queued meanwhile is not mailed twice
        // (its blob, already stored, stays unreferenced).
        let claimed = diesel::update(
            notifications::table
                .find(id)
                .filter(notifications::mail_state.eq(MAIL_PENDING)),
        )
        .set(notifications::mail_state.eq(MAIL_QUEUED))
        .execute(conn)?;
        if claimed != 1 {
            return Ok(false);
        }
        crate::mail::outbox::record_prepared(conn, cfg, case.as_ref(), &prepared)?;
        Ok(true)
    })
}

fn set_state(conn: &mut DbConn, id: i64, state: &str) -> anyhow::Result<()> {
    diesel::update(notifications::table.find(id))
        .set(notifications::mail_state.eq(state))
        .execute(conn)
        .context("updating a notification's mail state")?;
    Ok(())
}
