//! The diagnostics operations on a case, one function each: attach files (staff on the page or
//! the API, a customer through an upload link), send the report to the customer, create and
//! revoke an upload link. Each records its event on the case timeline with its typed payload, so
//! the page, the API and the public upload page cannot drift apart; the doors only parse the
//! request, call one of these and map the result.
//!
//! Nothing slow runs inside a write transaction: files are analysed one by one outside any
//! transaction (each snapshot is its own small write), and the report is rendered and its mail
//! composed before the transaction that queues it and records `report_sent`.

use chrono::Utc;

use super::Limits;
use super::Rules;
use super::links::{LinkStatus, UploadLink, ValidityDays};
use super::store::{self, Origin, StoreError, Via};
use super::upload::UploadedFile;
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::config::Config;
use crate::db::DbConn;
use crate::db::blobs::BlobStore;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::compose::SubjectKind;
use crate::mail::outbox;
use crate::workflow::events::{
    DiagnosticsUploaded, EventData, EventKind, RefusedUpload, ReportSent, UploadLinkCreated,
    UploadLinkRevoked, UploadedSnapshot,
};
use crate::workflow::service::SlaRules;

/// Upload links a case may have active at once; an agent revokes one before making another.
pub const MAX_ACTIVE_LINKS: i64 = 20;

/// A staff member acting on a case.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Account id.
    pub id: i64,
    /// Display name, recorded as the event's actor label.
    pub name: String,
}

/// Who sent the files, and through which door.
#[derive(Debug, Clone)]
pub enum Uploader {
    /// Staff on the case page ([`Via::Page`]) or through the API ([`Via::Api`]).
    Staff {
        /// Who.
        staff: Staff,
        /// The door.
        via: Via,
    },
    /// The customer, through an upload link (the link counts the use).
    Customer {
        /// The link used.
        link_id: i64,
        /// The customer's address, for the timeline.
        email: String,
    },
}

impl Uploader {
    fn origin(&self) -> Origin {
        match self {
            Uploader::Staff { staff, via } => Origin {
                via: *via,
                uploaded_by: Some(staff.id),
                attachment_id: None,
                upload_link_id: None,
            },
            Uploader::Customer { link_id, .. } => Origin {
                via: Via::UploadLink,
                uploaded_by: None,
                attachment_id: None,
                upload_link_id: Some(*link_id),
            },
        }
    }

    /// The event kind, actor id and actor label the upload is recorded with.
    fn event(&self) -> (EventKind, Option<i64>, String) {
        match self {
            Uploader::Staff { staff, .. } => (
                EventKind::DiagnosticsUploaded,
                Some(staff.id),
                staff.name.clone(),
            ),
            Uploader::Customer { email, .. } => (
                EventKind::CustomerUploaded,
                None,
                format!("{email} (upload link)"),
            ),
        }
    }
}

/// What the engine needs to read an upload.
pub struct Engine<'a> {
    /// Where raw bytes go.
    pub blobs: &'a BlobStore,
    /// The diagnostics rules.
    pub rules: &'a Rules,
    /// Bounds on what one input may make the engine read.
    pub limits: &'a Limits,
}

/// One stored file.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// The file name as sent.
    pub source: String,
    /// The verdict (`vm`, `physical`, `unknown`…).
    pub verdict: String,
    /// The snapshot's analysis as stored (JSON: verdict, fingerprint, findings).
    pub analysis: String,
}

/// A file not accepted; nothing of it was stored.
#[derive(Debug, Clone)]
pub struct RefusedFile {
    /// The file name as sent.
    pub source: String,
    /// For staff: the limit and its configuration key, or what the engine expected.
    pub reason: String,
    /// For the customer: an `upload.why.*` interface string.
    pub customer_key: &'static str,
}

/// What happened to each file of an upload.
#[derive(Debug, Clone, Default)]
pub struct Attached {
    /// Stored snapshots, in upload order.
    pub stored: Vec<StoredFile>,
    /// Refused files.
    pub refused: Vec<RefusedFile>,
}

impl Attached {
    fn event_data(&self) -> DiagnosticsUploaded {
        DiagnosticsUploaded {
            snapshots: (self.stored.iter())
                .map(|s| UploadedSnapshot {
                    source: s.source.clone(),
                    verdict: s.verdict.clone(),
                })
                .collect(),
            refused: (self.refused.iter())
                .map(|r| RefusedUpload {
                    source: r.source.clone(),
                    reason: r.reason.clone(),
                })
                .collect(),
        }
    }

    fn note(&self) -> String {
        (self.stored.iter())
            .map(|s| format!("{}: {}", s.source, s.verdict))
            .chain((self.refused.iter()).map(|r| format!("{}: {}", r.source, r.reason)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Attaches diagnostics files to a case: each file is analysed and stored as a snapshot (a file
/// the engine refuses is listed with its reason and nothing of it is kept), the link's use is
/// counted, and one `diagnostics_uploaded` (staff) or `customer_uploaded` (upload link) event
/// records the verdicts and refusals. Database and blob-store failures abort.
pub fn attach_files(
    conn: &mut DbConn,
    engine: &Engine<'_>,
    case_id: i64,
    files: &[UploadedFile],
    by: &Uploader,
) -> Result<Attached, AppError> {
    let origin = by.origin();
    let mut attached = Attached::default();
    for file in files {
        match store::attach(
            conn,
            engine.blobs,
            engine.rules,
            engine.limits,
            case_id,
            &file.filename,
            &file.bytes,
            &origin,
        ) {
            Ok(row) => attached.stored.push(StoredFile {
                source: file.filename.clone(),
                verdict: row.verdict,
                analysis: row.analysis,
            }),
            Err(StoreError::Refused(e)) => attached.refused.push(RefusedFile {
                source: file.filename.clone(),
                reason: e.to_string(),
                customer_key: e.customer_reason_key(),
            }),
            Err(other) => return Err(other.into()),
        }
    }
    let (kind, actor_id, actor_label) = by.event();
    let note = attached.note();
    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        if let Uploader::Customer { link_id, .. } = by {
            UploadLink::record_use(conn, *link_id)?;
        }
        CaseEvent::record(
            conn,
            case_id,
            &NewEvent {
                actor_id,
                actor_label: &actor_label,
                kind,
                note: Some(&note),
                data: Some(attached.event_data().to_data()),
                ..Default::default()
            },
        )?;
        Ok(())
    })?;
    Ok(attached)
}

/// Whether the report went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Queued in the outbox with this Message-ID.
    Queued {
        /// The mail's Message-ID.
        message_id: String,
    },
    /// The case has no diagnostics: nothing to send.
    NothingToSend,
}

/// Sends the customer the plain-text diagnostics report in `lang` (default: the case's
/// language): rendered and composed first, then queued in the outbox together with the
/// `report_sent` event in one transaction. The mail answers the customer, so it meets the
/// response clocks as a reply does.
pub fn send_report(
    conn: &mut DbConn,
    config: &Config,
    engine: &Engine<'_>,
    staff: &Staff,
    case: &Case,
    lang: Option<Lang>,
) -> Result<ReportOutcome, AppError> {
    let lang = lang
        .or_else(|| case.language.parse().ok())
        .unwrap_or_default();
    let Some(text) = store::report_mail_text(conn, case.id, engine.rules, lang)? else {
        return Ok(ReportOutcome::NothingToSend);
    };
    let prepared = outbox::prepare_customer_mail(
        conn,
        engine.blobs,
        config,
        case,
        SubjectKind::DiagnosticsReport,
        &text,
    )?;
    let queued = crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        let queued = outbox::record_prepared(conn, config, Some(case), &prepared)?;
        CaseEvent::record(
            conn,
            case.id,
            &NewEvent {
                actor_id: Some(staff.id),
                actor_label: &staff.name,
                kind: EventKind::ReportSent,
                note: Some(lang.code()),
                data: Some(
                    ReportSent {
                        lang,
                        message_id: queued.message_id.clone(),
                    }
                    .to_data(),
                ),
                ..Default::default()
            },
        )?;
        Ok(queued)
    })?;
    crate::workflow::service::reply_sent(conn, case.id, Utc::now(), &SlaRules::from_config(config))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("meeting the response clocks: {e}")))?;
    Ok(ReportOutcome::Queued {
        message_id: queued.message_id,
    })
}

/// Why an upload link was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// The case already has [`MAX_ACTIVE_LINKS`] active links.
    #[error("this case already has {MAX_ACTIVE_LINKS} active upload links; revoke one first")]
    TooMany,
}

/// A link just made: the row and its token, which is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewLink {
    /// The stored link.
    pub link: UploadLink,
    /// The secret token of its URL.
    pub token: String,
}

/// Creates an upload link for the customer of a case, valid for `validity`, and records
/// `upload_link_created`. Refused when the case has [`MAX_ACTIVE_LINKS`] active links.
pub fn create_upload_link(
    conn: &mut DbConn,
    secret: &str,
    staff: &Staff,
    case_id: i64,
    validity: ValidityDays,
) -> Result<Result<NewLink, LinkRefusal>, AppError> {
    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        Case::lock(conn, case_id)?;
        let active = UploadLink::count_active(conn, case_id, crate::db::now())?;
        if active >= MAX_ACTIVE_LINKS {
            return Ok(Err(LinkRefusal::TooMany));
        }
        let (link, token) = UploadLink::create(conn, secret, case_id, Some(staff.id), validity)?;
        let note = format!("→ {}", link.expires_at.format("%Y-%m-%d %H:%M UTC"));
        CaseEvent::record(
            conn,
            case_id,
            &NewEvent {
                actor_id: Some(staff.id),
                actor_label: &staff.name,
                kind: EventKind::UploadLinkCreated,
                note: Some(&note),
                data: Some(
                    UploadLinkCreated {
                        link_id: link.id,
                        expires_at: link.expires_at,
                    }
                    .to_data(),
                ),
                ..Default::default()
            },
        )?;
        Ok(Ok(NewLink { link, token }))
    })
}

/// Revokes an upload link of a case and records `upload_link_revoked`; `false` when the case
/// has no such link or it was already revoked (nothing recorded).
pub fn revoke_upload_link(
    conn: &mut DbConn,
    staff: &Staff,
    case_id: i64,
    link_id: i64,
) -> Result<bool, AppError> {
    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
        if !UploadLink::revoke(conn, case_id, link_id)? {
            return Ok(false);
        }
        CaseEvent::record(
            conn,
            case_id,
            &NewEvent {
                actor_id: Some(staff.id),
                actor_label: &staff.name,
                kind: EventKind::UploadLinkRevoked,
                data: Some(UploadLinkRevoked { link_id }.to_data()),
                ..Default::default()
            },
        )?;
        Ok(true)
    })
}

/// What an upload link's token opens.
#[derive(Debug, Clone)]
pub enum LinkLookup {
    /// An active link and its case.
    Active(Box<(UploadLink, Case)>),
    /// Expired, revoked or used up.
    Gone,
    /// No such link.
    Unknown,
}

/// Finds the link a token opens and whether it still accepts uploads.
pub fn lookup_link(conn: &mut DbConn, secret: &str, token: &str) -> Result<LinkLookup, AppError> {
    let Some(link) = UploadLink::find_by_token(conn, secret, token)? else {
        return Ok(LinkLookup::Unknown);
    };
    if link.status(crate::db::now()) != LinkStatus::Active {
        return Ok(LinkLookup::Gone);
    }
    Ok(match Case::find_by_id(conn, link.case_id)? {
        Some(case) => LinkLookup::Active(Box::new((link, case))),
        None => LinkLookup::Unknown,
    })
}
