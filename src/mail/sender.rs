//! The sender: a background task that claims due outbox rows and delivers them — over SMTP when
//! `[smtp]` is configured, otherwise into the file outbox `<data_dir>/outbox/<message-id>.eml`.
//!
//! Several instances may run against one PostgreSQL database: a row is claimed with a conditional
//! `UPDATE … WHERE status IN ('queued','retry')`, and only the instance whose update changed the
//! row sends it. A row is marked `sent` only after the server accepted the mail. Failures wait
//! 30 s · 2ⁿ (capped at six hours) and give up after [`MAX_ATTEMPTS`]; a permanent refusal (5xx)
//! gives up at once. Every attempt sends the same stored bytes, so the Message-ID never changes
//! and a duplicate (if a server accepted but the acknowledgement was lost) is recognisable.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::prelude::*;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use super::outbox::{FAILED, OutboxRow, QUEUED, RETRY, SENDING, SENT};
use super::schema::outbox;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::config::{Config, SmtpSecurity};
use crate::db::blobs::BlobStore;
use crate::db::{DbConn, DbPool, now};
use crate::workflow::events::{DeliveryFailed, EventData, EventKind};

/// Attempts before a mail is given up as `failed`.
pub const MAX_ATTEMPTS: i32 = 8;
/// Wait after the first failure; doubled after each further one.
const BASE_BACKOFF_SECS: i64 = 30;
/// Longest wait between attempts.
const MAX_BACKOFF_SECS: i64 = 6 * 60 * 60;
/// A claim older than this belongs to a sender that died; the row becomes due again.
const CLAIM_LEASE_SECS: i64 = 15 * 60;
/// Rows handled per pass.
const BATCH: i64 = 50;
/// How often the background task looks for due mail.
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 500;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Accepted by the server (or written to the file outbox).
    pub sent: usize,
    /// Failed this time; will be retried.
    pub retrying: usize,
    /// Given up.
    pub failed: usize,
}

impl SendReport {
    /// Whether the pass touched any row.
    pub fn is_empty(&self) -> bool {
        self.sent + self.retrying + self.failed == 0
    }
}

/// How long to wait after the `attempts`-th failed attempt: 30 s, 60 s, 120 s, … up to 6 h.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let secs = BASE_BACKOFF_SECS
        .saturating_mul(2_i64.saturating_pow(exponent))
        .min(MAX_BACKOFF_SECS);
    chrono::Duration::seconds(secs)
}

/// Why a delivery attempt failed.
#[derive(Debug)]
struct DeliveryError {
    message: String,
    permanent: bool,
}

enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Files(PathBuf),
}

impl Transport {
    fn from_config(cfg: &Config) -> anyhow::Result<Transport> {
        let Some(smtp) = &cfg.smtp else {
            return Ok(Transport::Files(cfg.data_dir.join("outbox")));
        };
        let builder = match smtp.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    .with_context(|| format!("setting up STARTTLS to {}", smtp.host))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .with_context(|| format!("setting up TLS to {}", smtp.host))?,
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(30)));
        if let Some(user) = &smtp.username {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_string())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Transport::Smtp(Box::new(builder.build())))
    }

    fn describe(&self, cfg: &Config) -> String {
        match (self, &cfg.smtp) {
            (Transport::Smtp(_), Some(s)) => {
                format!("SMTP {}:{} ({:?})", s.host, s.port, s.security)
            }
            (Transport::Files(dir), _) => format!("file outbox {}", dir.display()),
            (Transport::Smtp(_), None) => "SMTP".into(),
        }
    }

    async fn deliver(
        &self,
        from: &str,
        recipients: &[String],
        message_id: &str,
        raw: &[u8],
    ) -> Result<(), DeliveryError> {
        match self {
            Transport::Smtp(smtp) => {
                let permanent = |message: String| DeliveryError {
                    message,
                    permanent: true,
                };
                let from: Address = from
                    .parse()
                    .map_err(|e| permanent(format!("sender address {from:?}: {e}")))?;
                let mut to = Vec::with_capacity(recipients.len());
                for r in recipients {
                    to.push(
                        r.parse::<Address>()
                            .map_err(|e| permanent(format!("recipient {r:?}: {e}")))?,
                    );
                }
                let envelope = Envelope::new(Some(from), to)
                    .map_err(|e| permanent(format!("envelope: {e}")))?;
                smtp.send_raw(&envelope, raw)
                    .await
                    .map(|_| ())
                    .map_err(|e| DeliveryError {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    })
            }
            Transport::Files(dir) => write_eml(dir, message_id, raw).map_err(|e| DeliveryError {
                message: format!("{e:#}"),
                permanent: false,
            }),
        }
    }
}

/// The file name of a mail in the file outbox: its Message-ID with anything unusual replaced.
pub fn eml_file_name(message_id: &str) -> String {
    let safe: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}.eml", safe.trim_start_matches('.'))
}

fn write_eml(dir: &std::path::Path, message_id: &str, raw: &[u8]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the file outbox {}", dir.display()))?;
    let path = dir.join(eml_file_name(message_id));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, raw).context("writing the mail")?;
    tmp.as_file().sync_all().context("syncing the mail")?;
    tmp.persist(&path)
        .with_context(|| format!("saving {}", path.display()))?;
    Ok(())
}

fn truncate(message: &str) -> String {
    let mut s: String = message.chars().take(MAX_ERROR_CHARS).collect();
    if message.chars().count() > MAX_ERROR_CHARS {
        s.push('…');
    }
    s
}

/// Delivers due outbox rows.
pub struct Sender {
    pool: DbPool,
    blobs: BlobStore,
    cfg: Arc<Config>,
    transport: Transport,
}

impl Sender {
    /// A sender for the configured transport (SMTP, or the file outbox without `[smtp]`).
    pub fn new(pool: DbPool, blobs: BlobStore, cfg: Arc<Config>) -> anyhow::Result<Sender> {
        let transport = Transport::from_config(&cfg)?;
        Ok(Sender {
            pool,
            blobs,
            cfg,
            transport,
        })
    }

    async fn blocking<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut DbConn, &BlobStore) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .context("no database connection for the sender")?;
            f(&mut conn, &blobs)
        })
        .await
        .context("the sender's database task failed")?
    }

    /// One pass: queues the mail of waiting staff notifications
    /// ([`crate::notifications::mail::queue_pending_mail`]), takes back stale claims, then claims and
    /// delivers every due row.
    pub async fn send_due(&self) -> anyhow::Result<SendReport> {
        let cfg = self.cfg.clone();
        let notices = self
            .blocking(move |conn, blobs| {
                crate::notifications::mail::queue_pending_mail(conn, blobs, &cfg)
            })
            .await;
        if let Err(e) = notices {
            // A notification that cannot be composed must not hold up the mail already queued.
            tracing::warn!(error = %format!("{e:#}"), "queueing notification mail failed");
        }
        let due = self
            .blocking(|conn, _| {
                release_stale_claims(conn)?;
                due_ids(conn).context("listing due mail")
            })
            .await?;
        let mut report = SendReport::default();
        for id in due {
            let claimed = self
                .blocking(move |conn, blobs| {
                    let Some(row) = claim(conn, id)? else {
                        return Ok(None);
                    };
                    let raw = blobs.get(&row.raw_sha256);
                    Ok(Some((row, raw)))
                })
                .await?;
            let (row, raw) = match claimed {
                None => continue,
                Some((row, Ok(raw))) => (row, raw),
                Some((row, Err(e))) => {
                    // Without its stored bytes the mail can never be sent as queued: give it up
                    // visibly rather than retrying for ever.
                    let message = format!("the stored mail is unreadable: {e:#}");
                    self.blocking(move |conn, _| {
                        Ok(mark_failed_attempt(conn, &row, &message, true)?)
                    })
                    .await?;
                    report.failed += 1;
                    continue;
                }
            };
            let recipients: Vec<String> = row
                .to_addrs
                .split(',')
                .chain(row.cc_addrs.split(','))
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect();
            let outcome = self
                .transport
                .deliver(&self.cfg.mail_from, &recipients, &row.message_id, &raw)
                .await;
            match outcome {
                Ok(()) => {
                    self.blocking(move |conn, _| Ok(mark_sent(conn, id)?))
                        .await?;
                    tracing::info!(outbox_id = id, message_id = %row.message_id, "mail delivered");
                    report.sent += 1;
                }
                Err(err) => {
                    let gave_up = self
                        .blocking(move |conn, _| {
                            Ok(mark_failed_attempt(
                                conn,
                                &row,
                                &err.message,
                                err.permanent,
                            )?)
                        })
                        .await?;
                    if gave_up {
                        report.failed += 1;
                    } else {
                        report.retrying += 1;
                    }
                }
            }
        }
        Ok(report)
    }
}

/// Runs one pass synchronously (tests, `casebook outbox flush`).
pub async fn send_due_now(
    pool: &DbPool,
    blobs: &BlobStore,
    cfg: &Config,
) -> anyhow::Result<SendReport> {
    Sender::new(pool.clone(), blobs.clone(), Arc::new(cfg.clone()))?
        .send_due()
        .await
}

/// Starts the background sender on the current runtime (called by `casebook serve`).
pub fn spawn_worker(pool: DbPool, blobs: BlobStore, cfg: Arc<Config>) -> anyhow::Result<()> {
    let sender = Sender::new(pool, blobs, cfg.clone())?;
    tracing::info!(
        transport = %sender.transport.describe(&cfg),
        "outbound mail sender started"
    );
    actix_web::rt::spawn(async move {
        loop {
            match sender.send_due().await {
                Ok(report) if !report.is_empty() => {
                    tracing::info!(?report, "outbox pass");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "outbox pass failed"),
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    });
    Ok(())
}

fn release_stale_claims(conn: &mut DbConn) -> anyhow::Result<()> {
    let stale_before = now() - chrono::Duration::seconds(CLAIM_LEASE_SECS);
    let n = diesel::update(
        outbox::table
            .filter(outbox::status.eq(SENDING))
            .filter(outbox::claimed_at.lt(stale_before)),
    )
    .set((
        outbox::status.eq(RETRY),
        outbox::claimed_at.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)
    .context("releasing stale outbox claims")?;
    if n > 0 {
        tracing::warn!(count = n, "took back mail claimed by a sender that stopped");
    }
    Ok(())
}

fn due_ids(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    outbox::table
        .filter(outbox::status.eq_any([QUEUED, RETRY]))
        .filter(outbox::next_attempt_at.le(now()))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .limit(BATCH)
        .select(outbox::id)
        .load(conn)
}

/// Claims one row; `None` when another sender was faster or it is no longer due.
fn claim(conn: &mut DbConn, id: i64) -> anyhow::Result<Option<OutboxRow>> {
    let at = now();
    let changed = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq_any([QUEUED, RETRY]))
            .filter(outbox::next_attempt_at.le(at)),
    )
    .set((outbox::status.eq(SENDING), outbox::claimed_at.eq(Some(at))))
    .execute(conn)
    .context("claiming an outbox row")?;
    if changed == 0 {
        return Ok(None);
    }
    Ok(OutboxRow::find(conn, id)?)
}

fn mark_sent(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    let at = now();
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(SENT),
            outbox::sent_at.eq(Some(at)),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::claimed_at.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt; returns whether the mail was given up.
fn mark_failed_attempt(
    conn: &mut DbConn,
    row: &OutboxRow,
    error: &str,
    permanent: bool,
) -> QueryResult<bool> {
    let attempts = row.attempts + 1;
    let give_up = permanent || attempts >= MAX_ATTEMPTS;
    let error = truncate(error);
    let at = now();
    crate::db::write_transaction::<_, diesel::result::Error, _>(conn, |conn| {
        diesel::update(outbox::table.find(row.id))
            .set((
                outbox::status.eq(if give_up { FAILED } else { RETRY }),
                outbox::attempts.eq(attempts),
                outbox::next_attempt_at.eq(at + backoff(attempts)),
                outbox::last_error.eq(Some(&error)),
                outbox::claimed_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)?;
        if give_up && let Some(case_id) = row.case_id {
            CaseEvent::record(
                conn,
                case_id,
                &NewEvent {
                    actor_label: "casebook",
                    kind: EventKind::DeliveryFailed,
                    note: Some(&format!("{} — {error}", row.to_addrs)),
                    data: Some(
                        DeliveryFailed {
                            message_ids: vec![row.message_id.clone()],
                            reason: error.clone(),
                            outbox_id: Some(row.id),
                        }
                        .to_data(),
                    ),
                    ..NewEvent::default()
                },
            )?;
        }
        Ok(())
    })?;
    if give_up {
        tracing::error!(outbox_id = row.id, attempts, error = %error, "mail delivery given up");
    } else {
        tracing::warn!(outbox_id = row.id, attempts, error = %error, "mail delivery failed; will retry");
    }
    Ok(give_up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_and_is_capped() {
        assert_eq!(backoff(1).num_seconds(), 30);
        assert_eq!(backoff(2).num_seconds(), 60);
        assert_eq!(backoff(3).num_seconds(), 120);
        assert_eq!(backoff(8).num_seconds(), 30 * 128);
        assert_eq!(backoff(30).num_seconds(), MAX_BACKOFF_SECS);
    }

    #[test]
    fn eml_names_are_safe_file_names() {
        assert_eq!(
            eml_file_name("cb.CAS-06004-S8K5X3.abc.123@help.example.com"),
            "cb.CAS-06004-S8K5X3.abc.123@help.example.com.eml"
        );
        assert_eq!(eml_file_name("../../etc/x y"), "_.._etc_x_y.eml");
    }
}
