//! Recognising mail no person wrote: bounces, auto-replies and bulk mail.
//!
//! Answering an auto-reply with an acknowledgement starts a mail loop, and treating a bounce as a customer reply
//! reopens cases nobody touched. The rules run in order of certainty (bounces, then auto-replies, then bulk) and
//! the first that fires names itself in the reason, so a person can see why a message was set aside.

use std::sync::LazyLock;

use regex::Regex;

use crate::ingest::parse::ParsedMail;

/// Who (or what) wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AutoKind {
    /// A person.
    #[default]
    Human,
    /// An out-of-office or other automatic answer (RFC 3834).
    AutoReply {
        /// The rule that fired, e.g. `Auto-Submitted: auto-replied`.
        reason: String,
    },
    /// A delivery failure report about a message we sent.
    Bounce {
        /// Message-IDs of the undelivered original(s), without angle brackets, when the report carries them.
        original_message_ids: Vec<String>,
        /// The rule that fired.
        reason: String,
    },
    /// Newsletters, mailing lists and other bulk mail.
    Bulk {
        /// The rule that fired.
        reason: String,
    },
}

impl AutoKind {
    /// Whether a person wrote the message.
    pub fn is_human(&self) -> bool {
        matches!(self, AutoKind::Human)
    }

    /// The rule that classified the message, or `None` for human mail.
    pub fn reason(&self) -> Option<&str> {
        match self {
            AutoKind::Human => None,
            AutoKind::AutoReply { reason }
            | AutoKind::Bounce { reason, .. }
            | AutoKind::Bulk { reason } => Some(reason),
        }
    }
}

/// Subject starts of automatic answers, in the languages of our customers' mail servers.
static AUTO_REPLY_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    // Provably valid: a constant pattern exercised by the unit tests.
    Regex::new(
        r"(?i)^\s*(?:automatic reply|auto[- ]?reply|autoreply|auto response|out of (?:the )?office|自动回复|自动答复|自動回覆|自動回复|réponse automatique|abwesenheitsnotiz|automatische antwort)",
    )
    .expect("auto-reply subject pattern is valid")
});

/// Subjects of delivery failure reports from the MTAs seen in practice (Exchange, Postfix, Exim, Gmail,
/// Tencent/NetEase/Alibaba mail in Chinese).
static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    // Provably valid: a constant pattern exercised by the unit tests.
    Regex::new(
        r"(?i)^\s*(?:undeliverable|undelivered mail|delivery status notification|delivery failure|mail delivery failed|failure notice|returned mail|delivery has failed|nicht zustellbar|non remis|系统退信|退信|无法投递|投递失败|邮件投递失败|未送达)",
    )
    .expect("bounce subject pattern is valid")
});

/// An original Message-ID quoted in a non-DSN bounce body.
static QUOTED_MESSAGE_ID: LazyLock<Regex> = LazyLock::new(|| {
    // Provably valid: a constant pattern exercised by the unit tests.
    Regex::new(
        r"(?im)^\s*(?:original-message-id|x-original-message-id|message-id)\s*:\s*<([^<>\s]+)>",
    )
    .expect("quoted message-id pattern is valid")
});

/// Classifies a parsed message. The first rule that fires decides.
pub fn classify(mail: &ParsedMail) -> AutoKind {
    if let Some(reason) = bounce_reason(mail) {
        return AutoKind::Bounce {
            original_message_ids: bounce_original_ids(mail),
            reason,
        };
    }
    if let Some(reason) = auto_reply_reason(mail) {
        return AutoKind::AutoReply { reason };
    }
    if let Some(reason) = bulk_reason(mail) {
        return AutoKind::Bulk { reason };
    }
    AutoKind::Human
}

fn bounce_reason(mail: &ParsedMail) -> Option<String> {
    if mail.content_type.eq_ignore_ascii_case("multipart/report")
        && mail
            .report_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    {
        return Some("multipart/report; report-type=delivery-status".into());
    }
    if mail.header("X-Failed-Recipients").is_some() {
        return Some("X-Failed-Recipients header".into());
    }
    let local_part = mail
        .from
        .as_ref()
        .map(|f| f.email.split('@').next().unwrap_or_default());
    if let Some(local) = local_part.filter(|l| matches!(*l, "mailer-daemon" | "postmaster")) {
        return Some(format!("sender is {local}"));
    }
    // Only at the very start: a person forwarding a bounce writes "Fw: Undeliverable …", which stays human.
    if let Some(m) = BOUNCE_SUBJECT.find(&mail.subject) {
        return Some(format!("subject starts with {:?}", m.as_str().trim()));
    }
    None
}

/// Original Message-IDs: those of embedded `message/rfc822` and `text/rfc822-headers` parts first, then any
/// `Original-Message-ID:`/`Message-ID:` lines quoted in the report text (non-DSN bounces paste the headers).
fn bounce_original_ids(mail: &ParsedMail) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let quoted = QUOTED_MESSAGE_ID
        .captures_iter(&mail.body_text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str());
    for id in mail
        .embedded_message_ids
        .iter()
        .map(String::as_str)
        .chain(quoted)
    {
        if Some(id) != mail.message_id.as_deref() && !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    ids
}

fn auto_reply_reason(mail: &ParsedMail) -> Option<String> {
    if let Some(value) = mail.header("Auto-Submitted") {
        let kind = value.split(';').next().unwrap_or_default().trim();
        if !kind.eq_ignore_ascii_case("no") && !kind.is_empty() {
            return Some(format!("Auto-Submitted: {kind}"));
        }
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if let Some(value) = mail
            .header(name)
            .filter(|v| !v.trim().eq_ignore_ascii_case("no"))
        {
            return Some(format!("{name}: {}", value.trim()));
        }
    }
    if mail
        .header("Precedence")
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("auto_reply"))
    {
        return Some("Precedence: auto_reply".into());
    }
    if let Some(value) = mail.header("X-Auto-Response-Suppress") {
        // Exchange sets this on its own automatic answers; `All` or `OOF` is what those carry.
        let value = value.trim();
        if value.eq_ignore_ascii_case("all") || value.to_ascii_lowercase().contains("oof") {
            return Some(format!("X-Auto-Response-Suppress: {value}"));
        }
    }
    if let Some(m) = AUTO_REPLY_SUBJECT.find(&mail.subject) {
        return Some(format!("subject starts with {:?}", m.as_str().trim()));
    }
    if mail.return_path.as_deref() == Some("") {
        // RFC 3834 has automatic responders send with an empty envelope sender, like bounces.
        return Some("empty Return-Path <>".into());
    }
    None
}

fn bulk_reason(mail: &ParsedMail) -> Option<String> {
    if let Some(precedence) = mail.header("Precedence").map(str::trim)
        && ["bulk", "junk", "list"]
            .iter()
            .any(|p| precedence.eq_ignore_ascii_case(p))
    {
        return Some(format!("Precedence: {}", precedence.to_ascii_lowercase()));
    }
    ["List-Id", "List-Unsubscribe"]
        .into_iter()
        .find(|name| mail.header(name).is_some())
        .map(|name| format!("{name} header"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::{Mailbox, RawHeader};

    fn mail(headers: &[(&str, &str)], subject: &str, from: &str) -> ParsedMail {
        ParsedMail {
            headers: headers
                .iter()
                .map(|(n, v)| RawHeader {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            subject: subject.to_string(),
            from: Some(Mailbox {
                email: from.to_string(),
                name: None,
            }),
            return_path: headers
                .iter()
                .find(|(n, _)| *n == "Return-Path")
                .map(|(_, v)| v.trim_matches(['<', '>']).to_string()),
            ..ParsedMail::default()
        }
    }

    /// Headers, subject, sender, expected kind, expected reason.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, &'a str, &'a str);

    #[test]
    fn each_rule_classifies_and_names_itself() {
        let cases: &[Case<'_>] = &[
            (
                &[("Auto-Submitted", "auto-replied")],
                "Re: x",
                "a@b.cn",
                "auto",
                "Auto-Submitted: auto-replied",
            ),
            (
                &[("Auto-Submitted", "auto-generated; owner-email=x")],
                "x",
                "a@b.cn",
                "auto",
                "Auto-Submitted: auto-generated",
            ),
            (
                &[("X-Autoreply", "yes")],
                "Re: x",
                "a@b.cn",
                "auto",
                "X-Autoreply: yes",
            ),
            (
                &[("X-Autorespond", "yes")],
                "Re: x",
                "a@b.cn",
                "auto",
                "X-Autorespond: yes",
            ),
            (
                &[("Precedence", "auto_reply")],
                "Re: x",
                "a@b.cn",
                "auto",
                "Precedence: auto_reply",
            ),
            (
                &[("X-Auto-Response-Suppress", "All")],
                "Re: x",
                "a@b.cn",
                "auto",
                "X-Auto-Response-Suppress: All",
            ),
            (
                &[],
                "Automatic reply: x",
                "a@b.cn",
                "auto",
                "subject starts with \"Automatic reply\"",
            ),
            (
                &[],
                "自动回复: 回复: x",
                "a@b.cn",
                "auto",
                "subject starts with \"自动回复\"",
            ),
            (
                &[],
                "Out of Office: x",
                "a@b.cn",
                "auto",
                "subject starts with \"Out of Office\"",
            ),
            (
                &[("Return-Path", "<>")],
                "Re: x",
                "a@b.cn",
                "auto",
                "empty Return-Path <>",
            ),
            (
                &[("Precedence", "bulk")],
                "News",
                "a@b.cn",
                "bulk",
                "Precedence: bulk",
            ),
            (
                &[("Precedence", "list")],
                "News",
                "a@b.cn",
                "bulk",
                "Precedence: list",
            ),
            (
                &[("List-Id", "<x.y>")],
                "News",
                "a@b.cn",
                "bulk",
                "List-Id header",
            ),
            (
                &[("List-Unsubscribe", "<mailto:u@x>")],
                "News",
                "a@b.cn",
                "bulk",
                "List-Unsubscribe header",
            ),
            (
                &[],
                "Re: x",
                "mailer-daemon@mx.cn",
                "bounce",
                "sender is mailer-daemon",
            ),
            (
                &[],
                "Re: x",
                "postmaster@mx.cn",
                "bounce",
                "sender is postmaster",
            ),
            (
                &[("X-Failed-Recipients", "a@b.cn")],
                "x",
                "a@b.cn",
                "bounce",
                "X-Failed-Recipients header",
            ),
            (
                &[],
                "Delivery Status Notification (Failure)",
                "a@b.cn",
                "bounce",
                "subject starts with \"Delivery Status Notification\"",
            ),
            (
                &[],
                "Undeliverable: x",
                "a@b.cn",
                "bounce",
                "subject starts with \"Undeliverable\"",
            ),
            (
                &[("Return-Path", "<>")],
                "退信：x",
                "a@b.cn",
                "bounce",
                "subject starts with \"退信\"",
            ),
            (&[("Auto-Submitted", "no")], "Re: x", "a@b.cn", "human", ""),
            (&[], "Fw: Undeliverable: x", "a@b.cn", "human", ""),
            (&[], "Re: Automatic reply: x", "a@b.cn", "human", ""),
        ];
        for (headers, subject, from, kind, reason) in cases {
            let auto = classify(&mail(headers, subject, from));
            let actual_kind = match auto {
                AutoKind::Human => "human",
                AutoKind::AutoReply { .. } => "auto",
                AutoKind::Bounce { .. } => "bounce",
                AutoKind::Bulk { .. } => "bulk",
            };
            assert_eq!(actual_kind, *kind, "{headers:?} {subject}");
            assert_eq!(
                auto.reason().unwrap_or_default(),
                *reason,
                "{headers:?} {subject}"
            );
        }
    }

    #[test]
    fn delivery_status_reports_carry_the_original_ids() {
        let mut report = mail(
            &[("Auto-Submitted", "auto-replied")],
            "Undelivered Mail",
            "mailer-daemon@mx.cn",
        );
        report.message_id = Some("dsn@mx.cn".into());
        report.content_type = "multipart/report".into();
        report.report_type = Some("delivery-status".into());
        report.embedded_message_ids = vec!["orig-1@cmgos.com".into()];
        report.body_text =
            "Original-Message-ID: <orig-2@cmgos.com>\nMessage-ID: <orig-1@cmgos.com>\n".into();
        assert_eq!(
            classify(&report),
            AutoKind::Bounce {
                original_message_ids: vec!["orig-1@cmgos.com".into(), "orig-2@cmgos.com".into()],
                reason: "multipart/report; report-type=delivery-status".into(),
            }
        );
    }
}
