//! Case events: what kind of thing happened ([`EventKind`], the `case_events.kind` column) and the
//! typed payload each kind keeps in `case_events.data` (one struct per kind, [`EventData`]), so the
//! timeline, the API and reports read one shape whoever recorded the event (a page, the API, an
//! import, the mail pipeline). Writers build the struct and store [`EventData::to_data`]; readers use
//! [`EventData::parse`]. Kinds whose `note` says everything carry no data (see
//! [`EventKind::payload`]).
//!
//! A kind this version does not know — written by a newer version, or by hand — reads as
//! [`EventKind::Unknown`]: the page shows "Unknown event" instead of failing, a warning names the
//! stored text, and writing `Unknown` is refused. Tests assert no such event is ever recorded.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::sla::SlaMetric;
use super::state::Priority;
use super::transitions::{Action, Requirement};
use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// What happened on a case: the `case_events.kind` column, stored as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum EventKind {
    /// The case was opened (by a customer's mail or an import). No data.
    CaseCreated,
    /// A state change through the transition table (or an imported one); [`Transition`].
    Transition,
    /// The owner changed; [`Assigned`].
    Assigned,
    /// The priority changed; [`PriorityChanged`].
    PriorityChanged,
    /// The problem definition was edited outside a transition (the note is the new text). No data.
    DefinitionChanged,
    /// The scope was edited outside a transition (the note is the new text). No data.
    ScopeChanged,
    /// The case title was edited; [`TitleChanged`].
    TitleChanged,
    /// A case summary version was written; [`SummaryWritten`].
    SummaryWritten,
    /// A mail to the customer is due; [`PendingMail`], for the outbound module.
    CustomerMailPending,
    /// A mail the workflow asked for was queued; [`CustomerMailQueued`].
    CustomerMailQueued,
    /// A reply to the customer was queued. No data (the reply is a `messages` row).
    ReplySent,
    /// An internal note was added. No data (the note is a `messages` row).
    NoteAdded,
    /// An SLA clock passed its deadline unmet; [`SlaBreached`].
    SlaBreached,
    /// A mail opened a case that may repeat another one; [`PossibleDuplicate`].
    PossibleDuplicate,
    /// A mail to the customer could not be delivered (bounce or refusal); [`DeliveryFailed`].
    DeliveryFailed,
    /// Staff uploaded diagnostics files on the case page; [`DiagnosticsUploaded`].
    DiagnosticsUploaded,
    /// The customer uploaded diagnostics files through an upload link; [`DiagnosticsUploaded`].
    CustomerUploaded,
    /// The diagnostics report was mailed to the customer; [`ReportSent`].
    ReportSent,
    /// A customer upload link was created; [`UploadLinkCreated`].
    UploadLinkCreated,
    /// A customer upload link was revoked; [`UploadLinkRevoked`].
    UploadLinkRevoked,
    /// The case was merged into another, or another into it; [`Merged`].
    Merged,
    /// Messages were split off into a new case, recorded on both; [`Split`].
    Split,
    /// The case was linked to another (related, parent, child), recorded on both; [`CaseLink`].
    Linked,
    /// A link to another case was removed, recorded on both; [`CaseLink`].
    Unlinked,
    /// Read only: a stored kind this version does not know. Never written (storing it fails).
    Unknown,
}

/// Which payload struct an event kind keeps in `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// None: `data` is NULL and the note says everything.
    None,
    /// The named struct (its type name, for documentation and test messages).
    Struct(&'static str),
}

/// The text is not a stored event kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?}")]
pub struct EventKindError(pub String);

impl EventKind {
    /// Every kind that is written, in the order a case usually meets them.
    pub const ALL: [EventKind; 24] = [
        EventKind::CaseCreated,
        EventKind::Transition,
        EventKind::Assigned,
        EventKind::PriorityChanged,
        EventKind::DefinitionChanged,
        EventKind::ScopeChanged,
        EventKind::TitleChanged,
        EventKind::SummaryWritten,
        EventKind::CustomerMailPending,
        EventKind::CustomerMailQueued,
        EventKind::ReplySent,
        EventKind::NoteAdded,
        EventKind::SlaBreached,
        EventKind::PossibleDuplicate,
        EventKind::DeliveryFailed,
        EventKind::DiagnosticsUploaded,
        EventKind::CustomerUploaded,
        EventKind::ReportSent,
        EventKind::UploadLinkCreated,
        EventKind::UploadLinkRevoked,
        EventKind::Merged,
        EventKind::Split,
        EventKind::Linked,
        EventKind::Unlinked,
    ];

    /// The stored snake_case form, e.g. `priority_changed`; `unknown` for [`EventKind::Unknown`]
    /// (shown by the API and the CLI, never stored).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CaseCreated => "case_created",
            EventKind::Transition => "transition",
            EventKind::Assigned => "assigned",
            EventKind::PriorityChanged => "priority_changed",
            EventKind::DefinitionChanged => "definition_changed",
            EventKind::ScopeChanged => "scope_changed",
            EventKind::TitleChanged => "title_changed",
            EventKind::SummaryWritten => "summary_written",
            EventKind::CustomerMailPending => "customer_mail_pending",
            EventKind::CustomerMailQueued => "customer_mail_queued",
            EventKind::ReplySent => "reply_sent",
            EventKind::NoteAdded => "note_added",
            EventKind::SlaBreached => "sla_breached",
            EventKind::PossibleDuplicate => "possible_duplicate",
            EventKind::DeliveryFailed => "delivery_failed",
            EventKind::DiagnosticsUploaded => "diagnostics_uploaded",
            EventKind::CustomerUploaded => "customer_uploaded",
            EventKind::ReportSent => "report_sent",
            EventKind::UploadLinkCreated => "upload_link_created",
            EventKind::UploadLinkRevoked => "upload_link_revoked",
            EventKind::Merged => "merged",
            EventKind::Split => "split",
            EventKind::Linked => "linked",
            EventKind::Unlinked => "unlinked",
            EventKind::Unknown => "unknown",
        }
    }

    /// The `messages.toml` key of the name shown on the timeline.
    pub fn label_key(self) -> &'static str {
        // The keys are the stored names; the literals let the catalogue test check each one.
        match self {
            EventKind::CaseCreated => "case_created",
            EventKind::Transition => "transition",
            EventKind::Assigned => "assigned",
            EventKind::PriorityChanged => "priority_changed",
            EventKind::DefinitionChanged => "definition_changed",
            EventKind::ScopeChanged => "scope_changed",
            EventKind::TitleChanged => "title_changed",
            EventKind::SummaryWritten => "summary_written",
            EventKind::CustomerMailPending => "customer_mail_pending",
            EventKind::CustomerMailQueued => "customer_mail_queued",
            EventKind::ReplySent => "reply_sent",
            EventKind::NoteAdded => "note_added",
            EventKind::SlaBreached => "sla_breached",
            EventKind::PossibleDuplicate => "possible_duplicate",
            EventKind::DeliveryFailed => "delivery_failed",
            EventKind::DiagnosticsUploaded => "diagnostics_uploaded",
            EventKind::CustomerUploaded => "customer_uploaded",
            EventKind::ReportSent => "report_sent",
            EventKind::UploadLinkCreated => "upload_link_created",
            EventKind::UploadLinkRevoked => "upload_link_revoked",
            EventKind::Merged => "merged",
            EventKind::Split => "split",
            EventKind::Linked => "linked",
            EventKind::Unlinked => "unlinked",
            EventKind::Unknown => "event.unknown",
        }
    }

    /// The name shown on the timeline.
    pub fn label(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            EventKind::CaseCreated => text.t("case_created"),
            EventKind::Transition => text.t("transition"),
            EventKind::Assigned => text.t("assigned"),
            EventKind::PriorityChanged => text.t("priority_changed"),
            EventKind::DefinitionChanged => text.t("definition_changed"),
            EventKind::ScopeChanged => text.t("scope_changed"),
            EventKind::TitleChanged => text.t("title_changed"),
            EventKind::SummaryWritten => text.t("summary_written"),
            EventKind::CustomerMailPending => text.t("customer_mail_pending"),
            EventKind::CustomerMailQueued => text.t("customer_mail_queued"),
            EventKind::ReplySent => text.t("reply_sent"),
            EventKind::NoteAdded => text.t("note_added"),
            EventKind::SlaBreached => text.t("sla_breached"),
            EventKind::PossibleDuplicate => text.t("possible_duplicate"),
            EventKind::DeliveryFailed => text.t("delivery_failed"),
            EventKind::DiagnosticsUploaded => text.t("diagnostics_uploaded"),
            EventKind::CustomerUploaded => text.t("customer_uploaded"),
            EventKind::ReportSent => text.t("report_sent"),
            EventKind::UploadLinkCreated => text.t("upload_link_created"),
            EventKind::UploadLinkRevoked => text.t("upload_link_revoked"),
            EventKind::Merged => text.t("merged"),
            EventKind::Split => text.t("split"),
            EventKind::Linked => text.t("linked"),
            EventKind::Unlinked => text.t("unlinked"),
            EventKind::Unknown => text.t("event.unknown"),
        }
    }

    /// The struct this kind keeps in `data`, or none.
    pub fn payload(self) -> Payload {
        match self {
            EventKind::CaseCreated
            | EventKind::DefinitionChanged
            | EventKind::ScopeChanged
            | EventKind::ReplySent
            | EventKind::NoteAdded
            | EventKind::Unknown => Payload::None,
            EventKind::Transition => Payload::Struct("Transition"),
            EventKind::Assigned => Payload::Struct("Assigned"),
            EventKind::PriorityChanged => Payload::Struct("PriorityChanged"),
            EventKind::TitleChanged => Payload::Struct("TitleChanged"),
            EventKind::SummaryWritten => Payload::Struct("SummaryWritten"),
            EventKind::CustomerMailPending => Payload::Struct("PendingMail"),
            EventKind::CustomerMailQueued => Payload::Struct("CustomerMailQueued"),
            EventKind::SlaBreached => Payload::Struct("SlaBreached"),
            EventKind::PossibleDuplicate => Payload::Struct("PossibleDuplicate"),
            EventKind::DeliveryFailed => Payload::Struct("DeliveryFailed"),
            EventKind::DiagnosticsUploaded | EventKind::CustomerUploaded => {
                Payload::Struct("DiagnosticsUploaded")
            }
            EventKind::ReportSent => Payload::Struct("ReportSent"),
            EventKind::UploadLinkCreated => Payload::Struct("UploadLinkCreated"),
            EventKind::UploadLinkRevoked => Payload::Struct("UploadLinkRevoked"),
            EventKind::Merged => Payload::Struct("Merged"),
            EventKind::Split => Payload::Struct("Split"),
            EventKind::Linked | EventKind::Unlinked => Payload::Struct("CaseLink"),
        }
    }

    /// Whether `data` is what this kind stores: its payload struct reads it, or it is NULL for a
    /// kind without one. `Unknown` fits nothing. Tests check every recorded event with it.
    pub fn fits(self, data: Option<&str>) -> bool {
        match self {
            EventKind::CaseCreated
            | EventKind::DefinitionChanged
            | EventKind::ScopeChanged
            | EventKind::ReplySent
            | EventKind::NoteAdded => data.is_none(),
            EventKind::Unknown => false,
            EventKind::Transition => Transition::parse(data).is_some(),
            EventKind::Assigned => Assigned::parse(data).is_some(),
            EventKind::PriorityChanged => PriorityChanged::parse(data).is_some(),
            EventKind::TitleChanged => TitleChanged::parse(data).is_some(),
            EventKind::SummaryWritten => SummaryWritten::parse(data).is_some(),
            EventKind::CustomerMailPending => PendingMail::parse(data).is_some(),
            EventKind::CustomerMailQueued => CustomerMailQueued::parse(data).is_some(),
            EventKind::SlaBreached => SlaBreached::parse(data).is_some(),
            EventKind::PossibleDuplicate => PossibleDuplicate::parse(data).is_some(),
            EventKind::DeliveryFailed => DeliveryFailed::parse(data).is_some(),
            EventKind::DiagnosticsUploaded | EventKind::CustomerUploaded => {
                DiagnosticsUploaded::parse(data).is_some()
            }
            EventKind::ReportSent => ReportSent::parse(data).is_some(),
            EventKind::UploadLinkCreated => UploadLinkCreated::parse(data).is_some(),
            EventKind::UploadLinkRevoked => UploadLinkRevoked::parse(data).is_some(),
            EventKind::Merged => Merged::parse(data).is_some(),
            EventKind::Split => Split::parse(data).is_some(),
            EventKind::Linked | EventKind::Unlinked => CaseLink::parse(data).is_some(),
        }
    }

    /// Reads a stored kind; a text this version does not know becomes [`EventKind::Unknown`] with a
    /// warning, so one odd row never takes a case page down.
    pub fn from_stored(stored: &str) -> EventKind {
        stored.parse().unwrap_or_else(|_| {
            tracing::warn!(
                kind = stored,
                "unknown case event kind; shown as an unknown event"
            );
            EventKind::Unknown
        })
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = EventKindError;

    /// A stored kind; `unknown` and anything else not in [`EventKind::ALL`] is an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EventKindError(s.to_string()))
    }
}

impl PartialEq<&str> for EventKind {
    /// Compares with a stored form, e.g. `event.kind == "merged"` in tests.
    fn eq(&self, other: &&str) -> bool {
        *self != EventKind::Unknown && self.as_str() == *other
    }
}

impl Serialize for EventKind {
    /// The stored form, as the API and the CLI's JSON show it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<DB> ToSql<Text, DB> for EventKind
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        if *self == EventKind::Unknown {
            return Err("an unknown event kind is never stored".into());
        }
        self.as_str().to_sql(out)
    }
}

impl<DB> FromSql<Text, DB> for EventKind
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(EventKind::from_stored(&String::from_sql(bytes)?))
    }
}

/// An event kind's payload: serialised into `case_events.data` by writers, read back by readers.
/// Payloads deny unknown fields, and a nullable field that is always written is also required
/// (`deserialize_with = "Option::deserialize"`), so a drifting writer fails the tests.
pub trait EventData: Serialize + DeserializeOwned {
    /// The `case_events.kind` it belongs to.
    const KIND: EventKind;

    /// The JSON stored in `data`.
    fn to_data(&self) -> String {
        // Serialising plain structs of integers, strings, enums and timestamps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads `data` of an event of this kind, saying why it is not this shape.
    fn read(data: Option<&str>) -> Result<Self, serde_json::Error> {
        match data {
            Some(text) => serde_json::from_str(text),
            None => Err(serde::de::Error::custom("the event has no data")),
        }
    }

    /// Reads `data` of an event of this kind; `None` for another shape.
    fn parse(data: Option<&str>) -> Option<Self> {
        Self::read(data).ok()
    }
}

/// `transition`: the action taken, the texts its row of the transition table requires (by their
/// [`Requirement`] names), and what the action added. Imported history ([`Transition::imported`])
/// carries the texts the transcript gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The action (`define`, `escalate`, …).
    pub action: Action,
    /// 问题定义.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// 问题范围.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The question mailed to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Escalations: the team or engineer, as named on the escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Why (escalating, reopening).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What support tried before escalating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tried: Option<String>,
    /// What engineering found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<String>,
    /// How the problem was solved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// 案例总结.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Escalations to a named engineer: their account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user_id: Option<i64>,
    /// Archiving: the summary version written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_version: Option<i32>,
    /// Replayed from a transcript (`casebook ingest` of a thread transcript), not done here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

impl Transition {
    /// A transition by `action` with no texts yet.
    pub fn of(action: Action) -> Transition {
        Transition {
            action,
            definition: None,
            scope: None,
            question: None,
            target: None,
            reason: None,
            tried: None,
            findings: None,
            resolution: None,
            summary: None,
            target_user_id: None,
            summary_version: None,
            imported: false,
        }
    }

    /// Stores the text given for `r` (`None` clears it).
    pub fn set_text(&mut self, r: Requirement, text: Option<String>) {
        let slot = match r {
            Requirement::Definition => &mut self.definition,
            Requirement::Scope => &mut self.scope,
            Requirement::Question => &mut self.question,
            Requirement::Target => &mut self.target,
            Requirement::Reason => &mut self.reason,
            Requirement::Tried => &mut self.tried,
            Requirement::Findings => &mut self.findings,
            Requirement::Resolution => &mut self.resolution,
            Requirement::Summary => &mut self.summary,
        };
        *slot = text;
    }

    /// The text given for `r`.
    pub fn text(&self, r: Requirement) -> Option<&str> {
        match r {
            Requirement::Definition => self.definition.as_deref(),
            Requirement::Scope => self.scope.as_deref(),
            Requirement::Question => self.question.as_deref(),
            Requirement::Target => self.target.as_deref(),
            Requirement::Reason => self.reason.as_deref(),
            Requirement::Tried => self.tried.as_deref(),
            Requirement::Findings => self.findings.as_deref(),
            Requirement::Resolution => self.resolution.as_deref(),
            Requirement::Summary => self.summary.as_deref(),
        }
    }
}

impl EventData for Transition {
    const KIND: EventKind = EventKind::Transition;
}

/// `assigned`: the owner changed from one account (or nobody) to another (or nobody). The event's
/// `note` holds the new owner's name as it was then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assigned {
    /// The previous owner's account id.
    #[serde(deserialize_with = "Option::deserialize")]
    pub from: Option<i64>,
    /// The new owner's account id.
    #[serde(deserialize_with = "Option::deserialize")]
    pub to: Option<i64>,
}

impl EventData for Assigned {
    const KIND: EventKind = EventKind::Assigned;
}

/// `priority_changed`: the priority before and after (the note says `old → new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityChanged {
    /// Before.
    pub from: Priority,
    /// After.
    pub to: Priority,
}

impl EventData for PriorityChanged {
    const KIND: EventKind = EventKind::PriorityChanged;
}

/// `title_changed`: the case title before and after (the note is the new title).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitleChanged {
    /// Before.
    pub from: String,
    /// After.
    pub to: String,
}

impl EventData for TitleChanged {
    const KIND: EventKind = EventKind::TitleChanged;
}

/// `summary_written`: the version written (the note says `vN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryWritten {
    /// The new version number.
    pub version: i32,
}

impl EventData for SummaryWritten {
    const KIND: EventKind = EventKind::SummaryWritten;
}

/// `customer_mail_pending`: a mail to the customer that a transition calls for, for the outbound
/// module to compose and queue (`workflow::service::pending_customer_mail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingMail {
    /// `definition_and_scope`, `question`, `resolution` or `summary`.
    pub kind: String,
    /// The body text in the customer's language, ready to go below a greeting.
    pub text: String,
    /// The case's language (`en`, `zh-CN`).
    pub language: String,
}

impl EventData for PendingMail {
    const KIND: EventKind = EventKind::CustomerMailPending;
}

/// `customer_mail_queued`: which `customer_mail_pending` event was queued, as which mail (the note
/// is the request's kind). Marks the request done, so it is never mailed twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerMailQueued {
    /// The `customer_mail_pending` event's id.
    pub event_id: i64,
    /// The queued mail's Message-ID.
    pub message_id: String,
}

impl EventData for CustomerMailQueued {
    const KIND: EventKind = EventKind::CustomerMailQueued;
}

/// `sla_breached`: the clock that passed its deadline (the note is the metric's name in the case's
/// language; the event's time is the deadline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaBreached {
    /// The `sla_clocks` row.
    pub clock_id: i64,
    /// Which clock.
    pub metric: SlaMetric,
    /// Its deadline (RFC 3339).
    #[serde(serialize_with = "rfc3339")]
    pub due_at: DateTime<Utc>,
}

fn rfc3339<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    // `+00:00`, as stored before this struct existed (serde's default would write `Z`).
    s.serialize_str(&at.to_rfc3339())
}

impl EventData for SlaBreached {
    const KIND: EventKind = EventKind::SlaBreached;
}

/// `possible_duplicate`: a mail whose subject named another case, from an address not on it,
/// opened this one (the note says so).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PossibleDuplicate {
    /// The number of the case the subject named.
    pub case: String,
}

impl EventData for PossibleDuplicate {
    const KIND: EventKind = EventKind::PossibleDuplicate;
}

/// `delivery_failed`: mail of ours that did not arrive — a bounce received for it, or the outbox
/// giving up on it (the note names the recipients or the bounce's subject, and the reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFailed {
    /// The Message-IDs of the mail that failed (a bounce may name several).
    pub message_ids: Vec<String>,
    /// Why: the bounce's status or the relay's answer.
    pub reason: String,
    /// The outbox row, when the outbox gave up (`null` for a bounce).
    #[serde(deserialize_with = "Option::deserialize")]
    pub outbox_id: Option<i64>,
}

impl EventData for DeliveryFailed {
    const KIND: EventKind = EventKind::DeliveryFailed;
}

/// `diagnostics_uploaded` (staff, on the case page) and `customer_uploaded` (through an upload
/// link): each file stored with its verdict, and each refused with the reason (the note lists both).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticsUploaded {
    /// Files analysed and stored.
    pub snapshots: Vec<UploadedSnapshot>,
    /// Files not accepted; nothing of them was stored.
    pub refused: Vec<RefusedUpload>,
}

/// One stored diagnostics file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadedSnapshot {
    /// The file name.
    pub source: String,
    /// The analysis' verdict (`physical`, `virtual`, …).
    pub verdict: String,
}

/// One refused diagnostics file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusedUpload {
    /// The file name.
    pub source: String,
    /// Why, for staff (the limit and its setting, or what the reader expected).
    pub reason: String,
}

impl EventData for DiagnosticsUploaded {
    /// Also the payload of [`EventKind::CustomerUploaded`]: the two differ only in who uploaded.
    const KIND: EventKind = EventKind::DiagnosticsUploaded;
}

/// `report_sent`: the diagnostics report was queued to the customer (the note is the language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSent {
    /// The report's language.
    pub lang: Lang,
    /// The queued mail's Message-ID.
    pub message_id: String,
}

impl EventData for ReportSent {
    const KIND: EventKind = EventKind::ReportSent;
}

/// `upload_link_created` (the note says until when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadLinkCreated {
    /// The `upload_links` row.
    pub link_id: i64,
    /// When it stops working (UTC).
    pub expires_at: NaiveDateTime,
}

impl EventData for UploadLinkCreated {
    const KIND: EventKind = EventKind::UploadLinkCreated;
}

/// `upload_link_revoked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadLinkRevoked {
    /// The `upload_links` row.
    pub link_id: i64,
}

impl EventData for UploadLinkRevoked {
    const KIND: EventKind = EventKind::UploadLinkRevoked;
}

/// `merged`, recorded with the same data on both cases (which side a case was on is whether its
/// number is `source` or `target`; the source's event also carries the state change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merged {
    /// The case merged away (it forwards to the target from now on).
    pub source: String,
    /// The case that keeps the thread.
    pub target: String,
    /// Messages moved from source to target.
    pub messages_moved: u64,
    /// The source's running SLA clocks stopped for good.
    pub clocks_stopped: u64,
}

impl EventData for Merged {
    const KIND: EventKind = EventKind::Merged;
}

/// `split`, recorded with the same data on both cases: messages of `source` moved to the new
/// case `new_case`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The case the messages came from.
    pub source: String,
    /// The case made for them.
    pub new_case: String,
    /// Messages moved.
    pub messages_moved: u64,
}

impl EventData for Split {
    const KIND: EventKind = EventKind::Split;
}

/// `linked` / `unlinked`, from the side of the case it is recorded on: `relation` is what
/// `other` is to this case (`related`, `parent` or `child`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseLink {
    /// The other case's number.
    pub other: String,
    /// What the other case is to this one.
    pub relation: String,
    /// Why they are linked.
    pub reason: String,
}

impl EventData for CaseLink {
    const KIND: EventKind = EventKind::Linked;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `payload`'s kind accepts what it writes, it reads back equal, and every other kind with a
    /// payload refuses it.
    fn round_trips<P: EventData + PartialEq + fmt::Debug>(payload: P, stored: &str) {
        let data = payload.to_data();
        assert_eq!(data, stored, "the stored shape");
        assert_eq!(P::parse(Some(&data)).as_ref(), Some(&payload));
        assert!(P::KIND.fits(Some(&data)), "{} fits its own data", P::KIND);
        assert!(!P::KIND.fits(None), "{} needs its data", P::KIND);
        assert!(
            P::read(Some("{}")).is_err(),
            "an empty object is not a {}",
            P::KIND
        );
    }

    #[test]
    fn assignment_payloads_round_trip_in_one_shape() {
        round_trips(
            Assigned {
                from: None,
                to: Some(7),
            },
            r#"{"from":null,"to":7}"#,
        );
        assert_eq!(Assigned::parse(Some(r#"{"assignee_id":7}"#)), None);
    }

    #[test]
    fn transition_payloads_keep_the_action_and_its_texts() {
        let mut define = Transition::of(Action::Define);
        define.set_text(Requirement::Definition, Some("激活失败".into()));
        round_trips(
            define.clone(),
            r#"{"action":"define","definition":"激活失败"}"#,
        );
        assert_eq!(define.text(Requirement::Definition), Some("激活失败"));
        assert_eq!(define.text(Requirement::Scope), None);

        let mut escalate = Transition::of(Action::Escalate);
        escalate.set_text(Requirement::Target, Some("Wang Binbin".into()));
        escalate.set_text(Requirement::Reason, Some("binding".into()));
        escalate.set_text(Requirement::Tried, Some("rebind".into()));
        escalate.target_user_id = Some(3);
        round_trips(
            escalate,
            r#"{"action":"escalate","target":"Wang Binbin","reason":"binding","tried":"rebind","target_user_id":3}"#,
        );

        let mut archive = Transition::of(Action::Archive);
        archive.set_text(Requirement::Summary, Some("总结".into()));
        archive.summary_version = Some(2);
        archive.imported = true;
        round_trips(
            archive,
            r#"{"action":"archive","summary":"总结","summary_version":2,"imported":true}"#,
        );

        // What the pages stored before this struct (a map, so keys in alphabetical order, and
        // `null` for an escalation to a team) reads as the same thing.
        let old = r#"{"action":"escalate","reason":"r","target":"engineering","target_user_id":null,"tried":"t"}"#;
        let read = Transition::parse(Some(old)).unwrap();
        assert_eq!(read.action, Action::Escalate);
        assert_eq!(read.target.as_deref(), Some("engineering"));
        assert_eq!(read.target_user_id, None);
        // The importer's old marker alone is not a transition (migration 2026-12-09-000050 adds
        // the action).
        assert!(EventKind::Transition.fits(Some(r#"{"action":"define","imported":true}"#)));
        assert!(!EventKind::Transition.fits(Some(r#"{"imported":true}"#)));
    }

    #[test]
    fn priority_summary_and_duplicate_payloads_round_trip() {
        round_trips(
            PriorityChanged {
                from: Priority::Normal,
                to: Priority::Urgent,
            },
            r#"{"from":"normal","to":"urgent"}"#,
        );
        round_trips(SummaryWritten { version: 3 }, r#"{"version":3}"#);
        round_trips(
            PossibleDuplicate {
                case: "CAS-06004-S8K5X3".into(),
            },
            r#"{"case":"CAS-06004-S8K5X3"}"#,
        );
        assert!(PriorityChanged::parse(Some(r#"{"from":"normal","to":"whenever"}"#)).is_none());
    }

    #[test]
    fn mail_payloads_round_trip() {
        round_trips(
            PendingMail {
                kind: "question".into(),
                text: "请发送 wmic 输出。\n".into(),
                language: "zh-CN".into(),
            },
            r#"{"kind":"question","text":"请发送 wmic 输出。\n","language":"zh-CN"}"#,
        );
        round_trips(
            CustomerMailQueued {
                event_id: 12,
                message_id: "<a@b>".into(),
            },
            r#"{"event_id":12,"message_id":"<a@b>"}"#,
        );
        round_trips(
            DeliveryFailed {
                message_ids: vec!["<a@b>".into()],
                reason: "550 no such user".into(),
                outbox_id: Some(4),
            },
            r#"{"message_ids":["<a@b>"],"reason":"550 no such user","outbox_id":4}"#,
        );
        round_trips(
            DeliveryFailed {
                message_ids: vec![],
                reason: "5.1.1".into(),
                outbox_id: None,
            },
            r#"{"message_ids":[],"reason":"5.1.1","outbox_id":null}"#,
        );
        // The two shapes before migration 2026-12-09-000050 are not this one.
        assert!(!EventKind::DeliveryFailed.fits(Some(r#"{"outbox_id":4,"message_id":"<a@b>"}"#)));
        assert!(
            !EventKind::DeliveryFailed
                .fits(Some(r#"{"original_message_ids":["<a@b>"],"reason":"x"}"#))
        );
    }

    #[test]
    fn sla_breaches_keep_the_stored_deadline_format() {
        let due_at = DateTime::parse_from_rfc3339("2026-11-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        round_trips(
            SlaBreached {
                clock_id: 5,
                metric: SlaMetric::FirstResponse,
                due_at,
            },
            r#"{"clock_id":5,"metric":"first_response","due_at":"2026-11-03T10:00:00+00:00"}"#,
        );
        let z = r#"{"clock_id":5,"metric":"resolution","due_at":"2026-11-03T10:00:00Z"}"#;
        assert_eq!(SlaBreached::parse(Some(z)).unwrap().due_at, due_at);
    }

    #[test]
    fn diagnostics_payloads_round_trip_for_both_uploaders() {
        let uploaded = DiagnosticsUploaded {
            snapshots: vec![UploadedSnapshot {
                source: "wmic.txt".into(),
                verdict: "virtual".into(),
            }],
            refused: vec![RefusedUpload {
                source: "a.bin".into(),
                reason: "not text".into(),
            }],
        };
        let stored = r#"{"snapshots":[{"source":"wmic.txt","verdict":"virtual"}],"refused":[{"source":"a.bin","reason":"not text"}]}"#;
        round_trips(uploaded, stored);
        assert!(EventKind::CustomerUploaded.fits(Some(stored)));
        round_trips(
            ReportSent {
                lang: Lang::ZhCn,
                message_id: "<r@b>".into(),
            },
            r#"{"lang":"zh-CN","message_id":"<r@b>"}"#,
        );
        let expires_at = chrono::NaiveDate::from_ymd_opt(2026, 11, 10)
            .and_then(|d| d.and_hms_opt(8, 30, 0))
            .unwrap();
        round_trips(
            UploadLinkCreated {
                link_id: 9,
                expires_at,
            },
            r#"{"link_id":9,"expires_at":"2026-11-10T08:30:00"}"#,
        );
        round_trips(UploadLinkRevoked { link_id: 9 }, r#"{"link_id":9}"#);
    }

    #[test]
    fn merges_record_one_shape_on_both_cases() {
        round_trips(
            Merged {
                source: "CAS-00001-AAAAAA".into(),
                target: "CAS-00002-BBBBBB".into(),
                messages_moved: 2,
                clocks_stopped: 1,
            },
            r#"{"source":"CAS-00001-AAAAAA","target":"CAS-00002-BBBBBB","messages_moved":2,"clocks_stopped":1}"#,
        );
        assert!(!EventKind::Merged.fits(Some(r#"{"from":"CAS-00001-AAAAAA","messages_moved":2}"#)));
    }

    #[test]
    fn kinds_without_a_payload_store_no_data() {
        for kind in EventKind::ALL {
            if kind.payload() == Payload::None {
                assert!(kind.fits(None), "{kind}");
                assert!(!kind.fits(Some("{}")), "{kind}");
            }
        }
        assert!(!EventKind::Unknown.fits(None));
    }

    #[test]
    fn every_kind_reads_back_from_its_stored_form_and_has_a_label() {
        let catalog = crate::web::catalog::Catalog::builtin().unwrap();
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            assert_eq!(EventKind::from_stored(kind.as_str()), kind);
            assert!(catalog.contains(kind.label_key()), "{kind}");
            assert_eq!(kind, kind.as_str());
            for lang in Lang::ALL {
                assert_ne!(kind.label(lang), kind.label_key(), "{kind} in {lang:?}");
            }
        }
        assert!(catalog.contains(EventKind::Unknown.label_key()));
    }

    #[test]
    fn an_unknown_stored_kind_reads_as_unknown_and_is_never_written() {
        assert_eq!(EventKind::from_stored("reopened"), EventKind::Unknown);
        assert_eq!(EventKind::from_stored("unknown"), EventKind::Unknown);
        assert!("unknown".parse::<EventKind>().is_err());
        assert_ne!(EventKind::Unknown, "unknown");
        assert_eq!(EventKind::Unknown.label(Lang::En), "Unknown event");
        assert_eq!(
            serde_json::to_string(&EventKind::Unknown).unwrap(),
            r#""unknown""#
        );
    }
}
