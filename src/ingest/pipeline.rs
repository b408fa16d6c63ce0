//! The ingest pipeline: raw bytes in, one message on the right case out — or a deliberate, recorded
//! decision not to (duplicate, automatic mail, quarantine). Nothing is ever dropped silently.
//!
//! Order of work for a batch of raw messages:
//! 1. **Store raw first**: every message's bytes (and its attachments) go to the blob store, one pack
//!    file per staging thread and batch, synced to disk before any database row refers to them.
//! 2. **Parse** (in parallel on the available cores); a parse failure or a broken limit goes to the
//!    quarantine with the reason.
//! 3. In one database transaction, per message in arrival order: **deduplicate** (Message-ID, else
//!    content hash), screen **automatic mail** (auto-replies, bulk, bounces; a daily cap per sender),
//!    **thread** ([`super::thread`]), then store the message, its attachments, participants and events.
//!    Every decision is written to `ingest_log`.
//!
//! Whole messages are committed together, so a crash never leaves half a message.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::loops::AutoKind;
use super::parse::{ParsedMail, parse_mail};
use super::quote::new_text_of;
use super::thread::{ThreadDecision, ThreadInput, ThreadMethod, thread};
use crate::cases::messages::{
    Attachment, CaseEvent, INBOUND, Message, NOTE, NewEvent, NewMessage, OUTBOUND, Participant,
};
use crate::cases::model::{Case, NewCase};
use crate::config::Config;
use crate::db::blobs::{BlobStore, Packer};
use crate::db::schema::{cases, ingest_log, quarantine, users};
use crate::db::{DbConn, now};
use crate::workflow::events::{DeliveryFailed, EventData, EventKind, PossibleDuplicate};
use crate::workflow::service::WorkflowError;

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// A new case was opened.
    Created {
        /// Its number.
        case: String,
    },
    /// The message was added to an existing case.
    Appended {
        /// The case.
        case: String,
    },
    /// Already stored (same Message-ID or same bytes); nothing added.
    Duplicate {
        /// The case holding the earlier copy.
        case: Option<String>,
    },
    /// Deliberately not stored on a case (automatic mail that matches no case, over the daily cap…).
    Ignored {
        /// Why.
        reason: String,
    },
    /// Kept in quarantine for an admin (raw bytes stored; retry possible).
    Quarantined {
        /// Quarantine row.
        id: i64,
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The case touched, if any.
    pub fn case(&self) -> Option<&str> {
        match self {
            Outcome::Created { case } | Outcome::Appended { case } => Some(case),
            Outcome::Duplicate { case } => case.as_deref(),
            _ => None,
        }
    }

    fn log_label(&self) -> &'static str {
        match self {
            Outcome::Created { .. } => "created",
            Outcome::Appended { .. } => "appended",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Ignored { .. } => "ignored",
            Outcome::Quarantined { .. } => "quarantined",
        }
    }
}

/// Counts for a run, as printed by `casebook ingest --json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Messages seen.
    pub processed: u64,
    /// New cases.
    pub created: u64,
    /// Messages added to existing cases.
    pub appended: u64,
    /// Already stored.
    pub duplicates: u64,
    /// Deliberately not stored on a case.
    pub ignored: u64,
    /// Sent to quarantine.
    pub quarantined: u64,
    /// Case numbers touched, in first-touch order.
    pub cases: Vec<String>,
}

impl Summary {
    /// Adds one outcome.
    pub fn add(&mut self, o: &Outcome) {
        self.processed += 1;
        match o {
            Outcome::Created { .. } => self.created += 1,
            Outcome::Appended { .. } => self.appended += 1,
            Outcome::Duplicate { .. } => self.duplicates += 1,
            Outcome::Ignored { .. } => self.ignored += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
        }
        if let Some(c) = o.case()
            && !self.cases.iter().any(|x| x == c)
        {
            self.cases.push(c.to_string());
        }
    }
}

/// One raw message handed to the pipeline.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Where it came from (file, `mbox#N`, `http`, `stdin`), for the quarantine page.
    pub origin: String,
    /// The bytes exactly as received.
    pub bytes: Vec<u8>,
}

/// The pipeline with its settings.
pub struct Ingestor<'a> {
    config: &'a Config,
    blobs: &'a BlobStore,
    secret: Vec<u8>,
    staff: StaffDirectory,
    acknowledge: bool,
    diagnostics: Option<std::sync::Arc<crate::diagnostics::Rules>>,
}

/// Who counts as staff: accounts (by address and display name) and the support domains.
#[derive(Debug, Clone, Default)]
pub struct StaffDirectory {
    by_email: HashMap<String, (i64, String)>,
    by_name: HashMap<String, (i64, String)>,
    domains: Vec<String>,
}

impl StaffDirectory {
    /// Loads accounts from the database.
    pub fn load(conn: &mut DbConn, support_domains: &[String]) -> QueryResult<Self> {
        let rows: Vec<(i64, String, String)> = users::table
            .select((users::id, users::email, users::name))
            .load(conn)?;
        let mut dir = StaffDirectory {
            domains: support_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .collect(),
            ..Default::default()
        };
        for (id, email, name) in rows {
            dir.by_name
                .insert(name.trim().to_lowercase(), (id, email.clone()));
            dir.by_email.insert(email.to_lowercase(), (id, email));
        }
        Ok(dir)
    }

    /// The staff account an address or display name belongs to: `(user id, email)`.
    pub fn account(&self, email: Option<&str>, name: Option<&str>) -> Option<(i64, String)> {
        email
            .and_then(|e| self.by_email.get(&e.trim().to_lowercase()))
            .or_else(|| name.and_then(|n| self.by_name.get(&n.trim().to_lowercase())))
            .cloned()
    }

    /// Whether an address is in one of the support team's domains.
    pub fn is_support_domain(&self, email: &str) -> bool {
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_lowercase())
            .unwrap_or_default();
        !domain.is_empty() && self.domains.contains(&domain)
    }

    /// Whether the sender is staff.
    pub fn is_staff(&self, email: Option<&str>, name: Option<&str>) -> bool {
        self.account(email, name).is_some() || email.is_some_and(|e| self.is_support_domain(e))
    }
}

/// How many messages [`Ingestor::ingest_stream`] stages and commits together.
pub const STREAM_BATCH: usize = 256;

/// Collects messages for [`Ingestor::ingest_stream`] and hands full batches to the database thread.
pub struct Feeder<'i, 'a> {
    ingestor: &'i Ingestor<'a>,
    batch: Vec<Incoming>,
    tx: std::sync::mpsc::SyncSender<Vec<Stage>>,
    staging: std::time::Duration,
}

/// A second SQLite connection that copies committed WAL pages into the database file while the
/// database thread goes on appending (a passive checkpoint never blocks the writer).
struct WalCheckpointer {
    conn: diesel::SqliteConnection,
}

impl WalCheckpointer {
    fn open(url: &str) -> Option<Self> {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut conn = diesel::SqliteConnection::establish(url)
            .map_err(|e| tracing::warn!(error = %e, "no WAL checkpoint connection; SQLite checkpoints as usual"))
            .ok()?;
        conn.batch_execute("PRAGMA busy_timeout = 10000;").ok()?;
        Some(WalCheckpointer { conn })
    }

    fn checkpoint(&mut self) {
        use diesel::connection::SimpleConnection;
        if let Err(e) = self.conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
            tracing::debug!(error = %e, "WAL checkpoint skipped");
        }
    }
}

/// How long each half of [`Ingestor::ingest_stream`] was busy.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamTimes {
    /// Storing raw mail (synced) and parsing, on the caller's thread and its helpers.
    pub staging: std::time::Duration,
    /// Placing messages in the database, on the database thread.
    pub placing: std::time::Duration,
}

impl Feeder<'_, '_> {
    /// Adds one message; stores and parses a batch once it is full (waiting while the database
    /// thread is still busy with the one before).
    pub fn push(&mut self, item: Incoming) -> anyhow::Result<()> {
        self.batch.push(item);
        if self.batch.len() >= STREAM_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let items = std::mem::replace(&mut self.batch, Vec::with_capacity(STREAM_BATCH));
        let started = std::time::Instant::now();
        // Synced on the way to the database thread, while the next batch is staged.
        let staged = self.ingestor.stage_unsynced(items)?;
        self.staging += started.elapsed();
        self.tx
            .send(staged)
            .map_err(|_| anyhow::anyhow!("the database thread stopped"))
    }
}

/// A message that parsed and passed the limits, ready to be placed.
struct Prepared {
    origin: String,
    raw_sha: String,
    mail: ParsedMail,
    attachment_shas: Vec<String>,
    /// What the sender wrote this time (quotes and signature stripped).
    new_text: String,
    /// Per attachment: whether it looks like activation diagnostics worth analysing.
    diagnostics_like: Vec<bool>,
}

enum Stage {
    Ready(Box<Prepared>),
    Quarantine {
        origin: String,
        raw_sha: String,
        reason: String,
    },
}

/// Human-readable MiB for limit messages.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Whether the text is mostly written in Chinese (the case language decides mail templates).
pub fn detect_language(text: &str) -> &'static str {
    let cjk = text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .take(4)
        .count();
    if cjk >= 2 { "zh-CN" } else { "en" }
}

impl<'a> Ingestor<'a> {
    /// A pipeline for `config`; loads the staff directory from the database.
    pub fn new(
        conn: &mut DbConn,
        config: &'a Config,
        blobs: &'a BlobStore,
    ) -> anyhow::Result<Self> {
        let staff = StaffDirectory::load(conn, &config.support_domains)
            .context("loading staff accounts")?;
        // A broken rules override must not stop mail: attachments are then simply not analysed.
        let diagnostics = match crate::diagnostics::store::rules_for(config) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "diagnostics rules unusable; mail attachments will not be analysed");
                None
            }
        };
        Ok(Ingestor {
            config,
            blobs,
            secret: config.secret().as_bytes().to_vec(),
            staff,
            acknowledge: false,
            diagnostics,
        })
    }

    /// Live mail (HTTP inbound, the mailgate) acknowledges new cases when `acknowledge_new_cases`
    /// is on; bulk imports of old mail never do, so importing an archive cannot mail every customer.
    pub fn acknowledging_new_cases(mut self) -> Self {
        self.acknowledge = self.config.acknowledge_new_cases;
        self
    }

    /// The SLA settings of this instance.
    pub fn sla_rules(&self) -> crate::workflow::service::SlaRules<'a> {
        crate::workflow::service::SlaRules::from_config(self.config)
    }

    /// Who counts as staff.
    pub fn staff(&self) -> &StaffDirectory {
        &self.staff
    }

    /// Ingests a batch: raw bytes stored and synced first, then parsed in parallel, then placed in
    /// one transaction in arrival order. Returns one outcome per input, in order.
    pub fn ingest_batch(
        &self,
        conn: &mut DbConn,
        items: Vec<Incoming>,
    ) -> anyhow::Result<Vec<Outcome>> {
        let staged = self.stage(items)?;
        self.place_all(conn, staged)
    }

    /// Ingests a stream of messages with staging and placing overlapped: while one batch is being
    /// placed in the database (on its own thread, holding `conn`), the next is stored and parsed.
    /// `feed` pushes messages into the [`Feeder`]; `on_outcome` sees every outcome in arrival order.
    ///
    /// Batches are committed one after the other in arrival order, exactly as with
    /// [`Ingestor::ingest_batch`]; an error stops the stream and is returned (batches already
    /// committed stay committed, and their raw mail is stored either way). Returns how long each
    /// half was busy, which tells which one limits throughput.
    pub fn ingest_stream<F>(
        &self,
        conn: &mut DbConn,
        feed: F,
        mut on_outcome: impl FnMut(&Outcome) + Send,
    ) -> anyhow::Result<StreamTimes>
    where
        F: FnOnce(&mut Feeder<'_, '_>) -> anyhow::Result<()>,
    {
        // SQLite: the WAL is checkpointed by the disk thread (its own connection) so the database
        // thread only appends; its automatic checkpoints are off for the stream and restored after.
        let checkpointer = match conn {
            DbConn::Sqlite(_) => WalCheckpointer::open(&self.config.database_url),
            DbConn::Postgres(_) => None,
        };
        if checkpointer.is_some() {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("PRAGMA wal_autocheckpoint = 0")
                .context("pausing automatic WAL checkpoints")?;
        }
        let result = self.run_stream(conn, checkpointer, feed, &mut on_outcome);
        if let DbConn::Sqlite(c) = conn {
            use diesel::connection::SimpleConnection;
            // 1000 pages is SQLite's default, which every other connection keeps.
            if let Err(e) = c.batch_execute("PRAGMA wal_autocheckpoint = 1000") {
                tracing::warn!(error = %e, "could not restore automatic WAL checkpoints");
            }
        }
        result
    }

    fn run_stream<F>(
        &self,
        conn: &mut DbConn,
        mut checkpointer: Option<WalCheckpointer>,
        feed: F,
        on_outcome: &mut (impl FnMut(&Outcome) + Send),
    ) -> anyhow::Result<StreamTimes>
    where
        F: FnOnce(&mut Feeder<'_, '_>) -> anyhow::Result<()>,
    {
        // Channels of one batch: each stage can run a batch ahead of the next, and memory stays
        // bounded to a few batches of mail.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Stage>>(1);
        let (synced_tx, synced_rx) = std::sync::mpsc::sync_channel::<Vec<Stage>>(1);
        std::thread::scope(|scope| {
            // Between staging and placing, a thread that waits on the disk: it makes each staged
            // batch's blobs durable (the database must never refer to a blob a crash could lose),
            // passes it on, and checkpoints the SQLite WAL while the database thread works.
            let syncer = scope.spawn(move || -> anyhow::Result<()> {
                for staged in rx {
                    self.blobs.sync().context("syncing stored mail to disk")?;
                    if synced_tx.send(staged).is_err() {
                        break; // the database thread stopped; its error is reported
                    }
                    if let Some(c) = &mut checkpointer {
                        c.checkpoint();
                    }
                }
                Ok(())
            });
            let placer = scope.spawn(move || -> anyhow::Result<std::time::Duration> {
                let mut busy = std::time::Duration::ZERO;
                for staged in synced_rx {
                    let started = std::time::Instant::now();
                    for outcome in self.place_all(conn, staged)? {
                        on_outcome(&outcome);
                    }
                    busy += started.elapsed();
                }
                Ok(busy)
            });
            let mut feeder = Feeder {
                ingestor: self,
                batch: Vec::with_capacity(STREAM_BATCH),
                tx,
                staging: std::time::Duration::ZERO,
            };
            let fed = feed(&mut feeder).and_then(|()| feeder.flush());
            let staging = feeder.staging;
            drop(feeder);
            let synced = syncer
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the disk sync thread panicked")));
            let placed = placer
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the database thread panicked")));
            // The later stages' errors explain a failed send; report them first.
            synced?;
            let placing = placed?;
            fed?;
            Ok(StreamTimes { staging, placing })
        })
    }

    /// Steps 1 and 2: store raw bytes and attachments (synced), parse, check limits.
    fn stage(&self, items: Vec<Incoming>) -> anyhow::Result<Vec<Stage>> {
        let staged = self.stage_unsynced(items)?;
        // The database will refer to these blobs: make them durable first.
        self.blobs.sync().context("syncing stored mail to disk")?;
        Ok(staged)
    }

    /// [`Ingestor::stage`] without the final sync; the caller syncs before placing.
    fn stage_unsynced(&self, items: Vec<Incoming>) -> anyhow::Result<Vec<Stage>> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let chunk = items.len().div_ceil(threads).max(1);
        let results: Vec<anyhow::Result<Vec<Stage>>> = std::thread::scope(|s| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        // One pack file per thread and batch, not one file per blob.
                        let mut packer = self.blobs.packer();
                        let staged = part
                            .iter()
                            .map(|item| self.stage_one(item, &mut packer))
                            .collect::<anyhow::Result<Vec<Stage>>>()?;
                        packer.finish().context("storing a batch of mail")?;
                        Ok(staged)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a parser thread panicked")))
                })
                .collect()
        });
        let mut staged = Vec::with_capacity(items.len());
        for r in results {
            staged.extend(r?);
        }
        Ok(staged)
    }

    fn stage_one(&self, item: &Incoming, packer: &mut Packer<'_>) -> anyhow::Result<Stage> {
        let raw_sha = packer
            .put(&item.bytes)
            .with_context(|| format!("storing raw mail from {}", item.origin))?;
        // The raw bytes are stored; whatever the parser does with them now, the message ends up
        // on a case or in the quarantine. A panic — a bug in our code, or in mail-parser (whose
        // debug assertions fire on some mangled multipart mail) — would otherwise take the whole
        // batch down with it, again on every retry.
        let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.prepare(item, &raw_sha, packer)
        }));
        prepared.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            tracing::error!(origin = %item.origin, sha256 = %raw_sha, panic = %what,
                "processing a message panicked; it goes to the quarantine");
            Ok(Stage::Quarantine {
                origin: item.origin.clone(),
                raw_sha: raw_sha.clone(),
                reason: format!(
                    "Casebook failed while reading this message ({what}); it is kept here to retry after an upgrade"
                ),
            })
        })
    }

    /// Parses a stored message and does the pure per-message work (limits, quote stripping,
    /// attachments into the blob store).
    fn prepare(
        &self,
        item: &Incoming,
        raw_sha: &str,
        packer: &mut Packer<'_>,
    ) -> anyhow::Result<Stage> {
        let raw_sha = raw_sha.to_string();
        let quarantine = |reason: String| Stage::Quarantine {
            origin: item.origin.clone(),
            raw_sha: raw_sha.clone(),
            reason,
        };
        let size = item.bytes.len() as u64;
        if size > self.config.max_message_bytes {
            return Ok(quarantine(format!(
                "message is {}, over the limit max_message_bytes ({})",
                mib(size),
                mib(self.config.max_message_bytes)
            )));
        }
        let mail = match parse_mail(&item.bytes) {
            Ok(m) => m,
            Err(e) => return Ok(quarantine(format!("cannot parse as mail: {e}"))),
        };
        if let Some(big) = mail
            .attachments
            .iter()
            .find(|a| a.data.len() as u64 > self.config.max_attachment_bytes)
        {
            return Ok(quarantine(format!(
                "attachment {:?} is {}, over the limit max_attachment_bytes ({})",
                big.filename,
                mib(big.data.len() as u64),
                mib(self.config.max_attachment_bytes)
            )));
        }
        let mut attachment_shas = Vec::with_capacity(mail.attachments.len());
        for a in &mail.attachments {
            attachment_shas.push(packer.put(&a.data).context("storing an attachment")?);
        }
        // Pure work on the message is done here, beside parsing, so the database thread only places.
        // HTML-only mail: the HTML's own quote structure first, then the text rules.
        let new_text = new_text_of(&mail);
        let diagnostics_like = mail
            .attachments
            .iter()
            .map(|a| {
                self.diagnostics.is_some()
                    && !a.inline
                    && crate::diagnostics::looks_like_diagnostics(
                        &a.filename,
                        &a.content_type,
                        &a.data,
                    )
            })
            .collect();
        Ok(Stage::Ready(Box::new(Prepared {
            origin: item.origin.clone(),
            raw_sha,
            mail,
            attachment_shas,
            new_text,
            diagnostics_like,
        })))
    }

    fn place_all(&self, conn: &mut DbConn, staged: Vec<Stage>) -> anyhow::Result<Vec<Outcome>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = crate::db::write_transaction::<_, PlaceError, _>(conn, |conn| {
                staged
                    .iter()
                    .map(|s| self.place_one(conn, s))
                    .collect::<Result<Vec<_>, _>>()
            });
            match result {
                Ok(outcomes) => return Ok(outcomes),
                // The same message delivered twice at once (to two aliases): on PostgreSQL both
                // transactions may pass the duplicate check, and the unique Message-ID index
                // fails the later one, which retries and then finds the message stored.
                Err(PlaceError::Db(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ))) if attempt < 5 => {
                    continue;
                }
                Err(e) => return Err(anyhow::Error::new(e).context("storing ingested mail")),
            }
        }
    }

    fn place_one(&self, conn: &mut DbConn, stage: &Stage) -> Result<Outcome, PlaceError> {
        match stage {
            Stage::Quarantine {
                origin,
                raw_sha,
                reason,
            } => {
                let id = quarantine_insert(conn, raw_sha, origin, reason)?;
                let outcome = Outcome::Quarantined {
                    id,
                    reason: reason.clone(),
                };
                log(conn, raw_sha, origin, &outcome, None, None, None, false)?;
                Ok(outcome)
            }
            Stage::Ready(p) => {
                let (outcome, case_id) = self.place(conn, p)?;
                let from = p.mail.from.as_ref().map(|m| m.email.as_str());
                let auto = !p.mail.auto.is_human();
                log(
                    conn,
                    &p.raw_sha,
                    &p.origin,
                    &outcome,
                    p.mail.message_id.as_deref(),
                    from,
                    case_id,
                    auto,
                )?;
                Ok(outcome)
            }
        }
    }

    /// Step 3 for one parsed message.
    /// Returns the outcome and the row id of the case it touched.
    fn place(&self, conn: &mut DbConn, p: &Prepared) -> Result<(Outcome, Option<i64>), PlaceError> {
        let mail = &p.mail;
        // Deduplicate: the Message-ID, else the exact bytes.
        let existing = match &mail.message_id {
            Some(id) => Message::exists_message_id(conn, id)?,
            None => Message::exists_content_hash(conn, &mail.content_hash)?,
        };
        if let Some(case_id) = existing {
            let case = Case::find_by_id(conn, case_id)?.map(|c| c.number);
            return Ok((Outcome::Duplicate { case }, Some(case_id)));
        }
        let from_email = mail
            .from
            .as_ref()
            .map(|m| m.email.clone())
            .unwrap_or_default();
        let from_name = mail.from.as_ref().and_then(|m| m.name.clone());
        let staff = self.staff.account(Some(&from_email), from_name.as_deref());
        let is_staff = staff.is_some() || self.staff.is_support_domain(&from_email);
        let input = ThreadInput {
            in_reply_to: &mail.in_reply_to,
            references: &mail.references,
            subject: &mail.subject,
            from_email: &from_email,
            sender_is_staff: is_staff,
        };

        match &mail.auto {
            AutoKind::Bounce {
                original_message_ids,
                reason,
            } => {
                return Ok(self.place_bounce(conn, p, original_message_ids, reason, &input)?);
            }
            AutoKind::AutoReply { reason } | AutoKind::Bulk { reason } => {
                if self.over_daily_auto_cap(conn, &from_email)? {
                    let reason = format!(
                        "more than {} automatic mails from {from_email} today",
                        self.config.max_auto_mails_per_sender_per_day
                    );
                    return Ok((Outcome::Ignored { reason }, None));
                }
                let decision = thread(conn, &self.secret, &input)?;
                return match decision.case_id {
                    // An auto-reply on a known case is kept (folded), but never counts as the customer writing.
                    Some(case_id) => {
                        let number = self.store_message(
                            conn,
                            p,
                            case_id,
                            INBOUND,
                            true,
                            decision.method,
                            None,
                        )?;
                        Ok((Outcome::Appended { case: number }, Some(case_id)))
                    }
                    None => Ok((
                        Outcome::Ignored {
                            reason: format!("automatic mail never opens a case ({reason})"),
                        },
                        None,
                    )),
                };
            }
            AutoKind::Human => {}
        }

        let decision = thread(conn, &self.secret, &input)?;
        match decision.case_id {
            Some(case_id) => {
                // Two mails on one case at the same moment must not both see "no reply pending"
                // and start two response clocks, or both move the case out of "waiting". On
                // PostgreSQL the case-touch in `store_message` would also lock the row before the
                // workflow hook runs; the lock taken here first does not depend on that order.
                Case::lock(conn, case_id)?;
                let direction = if is_staff {
                    self.staff_direction(mail)
                } else {
                    INBOUND
                };
                let number = self.store_message(
                    conn,
                    p,
                    case_id,
                    direction,
                    false,
                    decision.method,
                    staff.map(|s| s.0),
                )?;
                if direction == INBOUND {
                    self.add_cc_participants(conn, case_id, mail)?;
                    crate::workflow::service::customer_wrote_in(
                        conn,
                        case_id,
                        mail_time(mail),
                        &self.sla_rules(),
                    )?;
                }
                Ok((Outcome::Appended { case: number }, Some(case_id)))
            }
            None => {
                let (number, case_id) =
                    self.open_case(conn, p, &decision, &from_email, from_name.as_deref())?;
                Ok((Outcome::Created { case: number }, Some(case_id)))
            }
        }
    }

    /// Staff mail that reaches the support mailbox: a reply sent to the customer (copying support)
    /// is outbound; a forward to the support mailbox alone is an internal note.
    fn staff_direction(&self, mail: &ParsedMail) -> &'static str {
        let to_outside = mail
            .to
            .iter()
            .chain(&mail.cc)
            .any(|m| !self.staff.is_staff(Some(&m.email), None));
        if to_outside { OUTBOUND } else { NOTE }
    }

    fn over_daily_auto_cap(&self, conn: &mut DbConn, from: &str) -> QueryResult<bool> {
        let since = now() - chrono::Duration::days(1);
        let count: i64 = ingest_log::table
            .filter(ingest_log::from_email.eq(from))
            .filter(ingest_log::auto.eq(true))
            .filter(ingest_log::created_at.gt(since))
            .count()
            .get_result(conn)?;
        Ok(count >= i64::from(self.config.max_auto_mails_per_sender_per_day))
    }

    fn place_bounce(
        &self,
        conn: &mut DbConn,
        p: &Prepared,
        originals: &[String],
        reason: &str,
        input: &ThreadInput<'_>,
    ) -> QueryResult<(Outcome, Option<i64>)> {
        // The bounced message is one of ours: find its case by the original Message-ID, else thread normally.
        let mut case_id = None;
        for id in originals {
            if let Some(c) = Message::exists_message_id(conn, id)? {
                case_id = Some(c);
                break;
            }
            if let Some(n) = crate::mail::message_id::verify(&self.secret, id)
                && let Some(c) = Case::find_by_number(conn, n.as_str())?
            {
                case_id = Some(c.id);
                break;
            }
        }
        if case_id.is_none() {
            case_id = thread(conn, &self.secret, input)?.case_id;
        }
        // Delivery reports come from mailer daemons, never participants; the token in their subject
        // was written by us into the mail that bounced.
        if case_id.is_none()
            && let Some(n) = super::subject::find_case_token(&p.mail.subject)
        {
            case_id = Case::find_by_number(conn, n.as_str())?.map(|c| c.id);
        }
        let Some(case_id) = case_id else {
            let reason = format!("delivery failure for no known case ({reason})");
            return Ok((Outcome::Ignored { reason }, None));
        };
        let number = self.store_message(
            conn,
            p,
            case_id,
            INBOUND,
            true,
            ThreadMethod::KnownMessageId,
            None,
        )?;
        let data = DeliveryFailed {
            message_ids: originals.to_vec(),
            reason: reason.to_string(),
            outbox_id: None,
        }
        .to_data();
        let note = format!("{} — {}", p.mail.subject, reason);
        CaseEvent::record(
            conn,
            case_id,
            &NewEvent {
                actor_label: "system",
                kind: EventKind::DeliveryFailed,
                note: Some(&note),
                data: Some(data),
                ..Default::default()
            },
        )?;
        Ok((Outcome::Appended { case: number }, Some(case_id)))
    }

    /// Opens a case for the mail; returns its number and row id.
    fn open_case(
        &self,
        conn: &mut DbConn,
        p: &Prepared,
        decision: &ThreadDecision,
        from_email: &str,
        from_name: Option<&str>,
    ) -> Result<(String, i64), PlaceError> {
        let mail = &p.mail;
        let at = mail_time(mail);
        let title = mail.title();
        let language = detect_language(&format!("{} {}", mail.subject, mail.body_text));
        let case = Case::create(
            conn,
            &NewCase {
                number: None,
                title: &title,
                state: crate::workflow::state::CaseState::New,
                priority: crate::workflow::state::Priority::Normal,
                customer_email: from_email,
                customer_name: from_name,
                language,
                duplicate_of_id: decision.possible_duplicate_of,
                at: at.naive_utc(),
            },
        )?;
        Participant::add(conn, case.id, from_email, from_name, "customer")?;
        self.add_cc_participants(conn, case.id, mail)?;
        CaseEvent::record(
            conn,
            case.id,
            &NewEvent {
                actor_label: from_email,
                kind: EventKind::CaseCreated,
                to_state: Some(crate::workflow::state::CaseState::New.as_str()),
                note: Some(&mail.subject),
                at: Some(at.naive_utc()),
                ..Default::default()
            },
        )?;
        if let Some(dup) = decision.possible_duplicate_of {
            let other: String = cases::table.find(dup).select(cases::number).first(conn)?;
            let note = format!("subject names {other}, but {from_email} is not on that case");
            let data = PossibleDuplicate { case: other }.to_data();
            CaseEvent::record(
                conn,
                case.id,
                &NewEvent {
                    actor_label: "system",
                    kind: EventKind::PossibleDuplicate,
                    note: Some(&note),
                    data: Some(data),
                    ..Default::default()
                },
            )?;
        }
        let message_row =
            self.store_message_row(conn, p, case.id, INBOUND, false, decision.method, None)?;
        let priority = crate::workflow::state::Priority::default();
        crate::workflow::service::start_clocks_for_new_case_in(
            conn,
            &case,
            priority,
            at,
            &self.sla_rules(),
        )?;
        if self.acknowledge {
            self.acknowledge(conn, &case, message_row)?;
        }
        Ok((case.number, case.id))
    }

    /// Queues the acknowledgement in a savepoint: a failure to compose it is logged and never costs
    /// the customer's mail.
    fn acknowledge(&self, conn: &mut DbConn, case: &Case, message_row: i64) -> QueryResult<()> {
        let inbound = Message::for_case(conn, case.id)?
            .into_iter()
            .find(|m| m.id == message_row);
        let Some(inbound) = inbound else {
            return Ok(());
        };
        let result = crate::db::write_transaction::<_, diesel::result::Error, _>(conn, |conn| {
            crate::mail::outbox::queue_acknowledgement(conn, self.blobs, self.config, case, &inbound)
                .map(|_| ())
                .map_err(|e| {
                    tracing::error!(case = %case.number, error = %format!("{e:#}"), "acknowledgement not queued");
                    diesel::result::Error::RollbackTransaction
                })
        });
        match result {
            Ok(()) | Err(diesel::result::Error::RollbackTransaction) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// CC'd people (and other To recipients) who are not staff become participants — at most
    /// `max_participants_per_mail` of them: whoever writes to the support address must not be
    /// able to choose thousands of recipients for the agent's replies. The others stay in the
    /// stored mail (its headers and `cc_addrs`), never in the reply's Cc.
    fn add_cc_participants(
        &self,
        conn: &mut DbConn,
        case_id: i64,
        mail: &ParsedMail,
    ) -> QueryResult<()> {
        let limit = self.config.max_participants_per_mail as usize;
        let mut taken: Vec<&str> = Vec::new();
        let mut skipped = 0usize;
        for m in mail.to.iter().chain(&mail.cc) {
            if m.email.is_empty()
                || self.staff.is_staff(Some(&m.email), None)
                || self.config.is_support_address(&m.email)
                || taken.contains(&m.email.as_str())
            {
                continue;
            }
            if taken.len() >= limit {
                skipped += 1;
                continue;
            }
            taken.push(&m.email);
            Participant::add(conn, case_id, &m.email, m.name.as_deref(), "cc")?;
        }
        if skipped > 0 {
            tracing::warn!(
                case_id,
                added = taken.len(),
                skipped,
                "a mail named more recipients than max_participants_per_mail; the rest are not participants"
            );
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn store_message(
        &self,
        conn: &mut DbConn,
        p: &Prepared,
        case_id: i64,
        direction: &str,
        auto: bool,
        method: ThreadMethod,
        author_id: Option<i64>,
    ) -> QueryResult<String> {
        self.store_message_row(conn, p, case_id, direction, auto, method, author_id)?;
        crate::db::conn::on_backend!(conn, c => cases::table
            .find(case_id)
            .select(cases::number)
            .first(c))
    }

    /// Stores the message, its attachments (analysing those that look like activation
    /// diagnostics) and touches the case; returns the message row id.
    #[allow(clippy::too_many_arguments)]
    fn store_message_row(
        &self,
        conn: &mut DbConn,
        p: &Prepared,
        case_id: i64,
        direction: &str,
        auto: bool,
        method: ThreadMethod,
        author_id: Option<i64>,
    ) -> QueryResult<i64> {
        let mail = &p.mail;
        let received = now();
        let join = |list: &[super::parse::Mailbox]| {
            list.iter()
                .map(|m| m.email.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let row = NewMessage {
            case_id,
            direction: direction.to_string(),
            message_id: mail.message_id.clone(),
            in_reply_to: mail.in_reply_to.first().cloned(),
            references_ids: mail.references.join(" "),
            from_email: mail
                .from
                .as_ref()
                .map(|m| m.email.clone())
                .unwrap_or_default(),
            from_name: mail.from.as_ref().and_then(|m| m.name.clone()),
            to_addrs: join(&mail.to),
            cc_addrs: join(&mail.cc),
            subject: mail.subject.clone(),
            sent_at: mail.date.map(|d| d.naive_utc()),
            received_at: received,
            body_text: mail.body_text.clone(),
            new_text: p.new_text.clone(),
            body_html: mail.body_html.clone(),
            auto,
            thread_method: method.as_str().to_string(),
            raw_sha256: Some(p.raw_sha.clone()),
            content_hash: mail.content_hash.clone(),
            author_id,
            created_at: received,
        };
        let message_row = row.insert(conn)?;
        for ((a, sha), diagnostics_like) in mail
            .attachments
            .iter()
            .zip(&p.attachment_shas)
            .zip(&p.diagnostics_like)
        {
            let attachment_id = Attachment::insert(
                conn,
                message_row,
                case_id,
                &a.filename,
                &a.content_type,
                a.data.len() as i64,
                sha,
                a.content_id.as_deref(),
                a.inline,
            )?;
            if direction == INBOUND && !auto && *diagnostics_like {
                self.analyse_attachment(conn, case_id, attachment_id, a)?;
            }
        }
        Case::touch(conn, case_id, mail_time(mail).naive_utc())?;
        Ok(message_row)
    }

    /// Customer attachments that look like diagnostics are analysed at once, in a savepoint: a bad
    /// attachment is logged and never costs the mail.
    fn analyse_attachment(
        &self,
        conn: &mut DbConn,
        case_id: i64,
        attachment_id: i64,
        a: &super::parse::ParsedAttachment,
    ) -> QueryResult<()> {
        let Some(rules) = &self.diagnostics else {
            return Ok(());
        };
        let limits = crate::diagnostics::store::upload_limits(self.config);
        let result = crate::db::write_transaction::<_, diesel::result::Error, _>(conn, |conn| {
            crate::diagnostics::store::analyse_mail_attachment(
                conn,
                self.blobs,
                rules,
                &limits,
                case_id,
                attachment_id,
                &a.filename,
                &a.content_type,
                &a.data,
            )
            .map(|_| ())
            .map_err(|e| {
                tracing::warn!(file = %a.filename, error = %e, "attachment not analysed as diagnostics");
                diesel::result::Error::RollbackTransaction
            })
        });
        match result {
            Ok(()) | Err(diesel::result::Error::RollbackTransaction) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The message's own time, else now.
fn mail_time(mail: &ParsedMail) -> DateTime<Utc> {
    mail.date
        .filter(|d| *d <= Utc::now() + chrono::Duration::days(1))
        .unwrap_or_else(Utc::now)
}

/// Why placing a message failed; either kind rolls the batch's transaction back.
#[derive(Debug, thiserror::Error)]
enum PlaceError {
    /// A database error (a unique violation is retried by `place_all`).
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// The workflow refused to start or update the case's clocks. The case exists (a message was
    /// just stored on it), so this is a fault to report, not something the mail did.
    #[error("updating the case's workflow")]
    Workflow(#[source] WorkflowError),
}

impl From<WorkflowError> for PlaceError {
    fn from(error: WorkflowError) -> Self {
        match error {
            // Kept a database error, so a unique violation inside the workflow is retried too.
            WorkflowError::Db(e) => PlaceError::Db(e),
            other => PlaceError::Workflow(other),
        }
    }
}

fn quarantine_insert(
    conn: &mut DbConn,
    raw_sha: &str,
    origin: &str,
    reason: &str,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(quarantine::table)
        .values((
            quarantine::raw_sha256.eq(raw_sha),
            quarantine::source.eq(crate::cases::messages::strip_nul(origin)),
            quarantine::error.eq(crate::cases::messages::strip_nul(reason)),
            quarantine::status.eq("open"),
            quarantine::attempts.eq(1),
            quarantine::received_at.eq(at),
        ))
        .returning(quarantine::id)
        .get_result(conn)
}

#[allow(clippy::too_many_arguments)]
fn log(
    conn: &mut DbConn,
    raw_sha: &str,
    origin: &str,
    outcome: &Outcome,
    message_id: Option<&str>,
    from: Option<&str>,
    case_id: Option<i64>,
    auto: bool,
) -> QueryResult<usize> {
    let reason = match outcome {
        Outcome::Ignored { reason } | Outcome::Quarantined { reason, .. } => Some(reason.as_str()),
        _ => None,
    };
    crate::db::conn::on_backend!(conn, c => diesel::insert_into(ingest_log::table)
        .values((
            ingest_log::raw_sha256.eq(raw_sha),
            ingest_log::source.eq(crate::cases::messages::strip_nul(origin)),
            ingest_log::outcome.eq(outcome.log_label()),
            // Reasons quote header values (`X-Autoreply: …`), which broken mail fills with NULs.
            ingest_log::reason.eq(reason.map(crate::cases::messages::strip_nul)),
            ingest_log::message_id.eq(message_id.map(crate::cases::messages::strip_nul)),
            ingest_log::from_email.eq(from.map(crate::cases::messages::strip_nul)),
            ingest_log::case_id.eq(case_id),
            ingest_log::auto.eq(auto),
            ingest_log::created_at.eq(now()),
        ))
        .execute(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workflow_fault_keeps_its_own_words_and_a_database_error_stays_retryable() {
        let fault = anyhow::Error::new(PlaceError::from(WorkflowError::Corrupt(
            "unknown state \"limbo\"".into(),
        )))
        .context("storing ingested mail");
        assert_eq!(
            format!("{fault:#}"),
            "storing ingested mail: updating the case's workflow: \
             stored workflow data is invalid: unknown state \"limbo\""
        );
        let unique = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_string()),
        );
        assert!(matches!(
            PlaceError::from(WorkflowError::Db(unique)),
            PlaceError::Db(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        ));
    }
}
