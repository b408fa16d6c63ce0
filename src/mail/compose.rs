//! Building the RFC 5322 bytes of an outbound mail with lettre: addresses, the signed Message-ID,
//! threading headers, the subject with the case token, automatic-mail headers, and a
//! multipart/alternative text + HTML body (plus attachments as multipart/mixed) rendered from the
//! askama templates in `templates/mail/` in the case's language.

use std::sync::LazyLock;

use anyhow::{Context, anyhow};
use askama::Template;
use lettre::Message;
use lettre::message::header::{self, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, Mailboxes, MultiPart};

use crate::cases::{Case, CaseNumber};
use crate::config::Config;
use crate::i18n::Lang;
use crate::mail::message_id;
use crate::web::Catalog;

/// How many ids `References` keeps (the newest); long threads would otherwise grow the header
/// without bound, and the nearest ancestors are what threading needs.
pub const MAX_REFERENCES: usize = 20;

/// Header naming the installation that sent a mail, so it can recognise its own mail coming back.
pub const LOOP_HEADER: &str = "X-Casebook-Loop";

/// What kind of mail an outbox row holds (stored in `outbox.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// An agent's reply to the customer.
    Reply,
    /// The automatic "we opened case …" mail to a customer who wrote in.
    Acknowledgement,
    /// A workflow or diagnostics mail to the customer (scope, questions, report, summary).
    CustomerMail,
    /// An automatic notification to staff.
    Notification,
}

impl MailKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Reply => "reply",
            MailKind::Acknowledgement => "acknowledgement",
            MailKind::CustomerMail => "customer_mail",
            MailKind::Notification => "notification",
        }
    }

    /// Automatic mail carries `Auto-Submitted` and `X-Auto-Response-Suppress`, so that
    /// out-of-office robots do not answer it (RFC 3834).
    pub fn is_automatic(self) -> bool {
        matches!(self, MailKind::Acknowledgement | MailKind::Notification)
    }
}

/// Which workflow mail [`crate::mail::outbox::queue_customer_mail`] sends; it picks the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// A plain follow-up (`Re: [token] title`).
    Reply,
    /// The problem definition and scope, for the customer to confirm.
    Scope,
    /// Questions for the customer.
    Question,
    /// The activation diagnostics report.
    DiagnosticsReport,
    /// The case summary at archiving.
    Summary,
    /// The resolution ("reply to this mail to reopen").
    Resolution,
}

impl SubjectKind {
    fn label_key(self) -> Option<&'static str> {
        match self {
            SubjectKind::Reply => None,
            SubjectKind::Scope => Some("mail.subject.scope"),
            SubjectKind::Question => Some("mail.subject.question"),
            SubjectKind::DiagnosticsReport => Some("mail.subject.diagnostics"),
            SubjectKind::Summary => Some("mail.subject.summary"),
            SubjectKind::Resolution => Some("mail.subject.resolution"),
        }
    }
}

/// A file to attach.
#[derive(Debug, Clone)]
pub struct OutgoingAttachment {
    /// File name as the recipient sees it.
    pub filename: String,
    /// MIME type (`application/octet-stream` when unknown).
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// Everything a mail is built from.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    /// Kind (decides the automatic-mail headers).
    pub kind: MailKind,
    /// The case the mail is about; `None` only for notifications outside a case.
    pub case: Option<&'a Case>,
    /// Recipients: address and optional display name.
    pub to: Vec<(String, Option<String>)>,
    /// Cc addresses.
    pub cc: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// The text the author wrote (plain text; escaped in the HTML part).
    pub body: &'a str,
    /// Signature lines under the body (the agent's name).
    pub signature: Option<&'a str>,
    /// Message-ID this mail answers (without angle brackets).
    pub in_reply_to: Option<String>,
    /// Ancestors, oldest first (without angle brackets); trimmed to [`MAX_REFERENCES`].
    pub references: Vec<String>,
    /// Attachments.
    pub attachments: &'a [OutgoingAttachment],
    /// Language of the fixed texts.
    pub lang: Lang,
}

/// A composed mail, ready for the outbox.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Message-ID without angle brackets.
    pub message_id: String,
    /// RFC 5322 bytes.
    pub raw: Vec<u8>,
    /// To addresses.
    pub to: Vec<String>,
    /// Cc addresses.
    pub cc: Vec<String>,
    /// Subject.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The Message-ID answered (without angle brackets).
    pub in_reply_to: Option<String>,
    /// References kept (oldest first).
    pub references: Vec<String>,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextPart<'a> {
    body: &'a str,
    signature: Option<&'a str>,
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlPart<'a> {
    lang: &'a str,
    paragraphs: Vec<Vec<&'a str>>,
    signature: Option<&'a str>,
    footer: &'a str,
}

static CATALOG: LazyLock<Result<Catalog, String>> =
    LazyLock::new(|| Catalog::builtin().map_err(|e| format!("{e:#}")));

/// The interface catalogue (the same strings the pages use).
pub fn catalog() -> anyhow::Result<&'static Catalog> {
    CATALOG.as_ref().map_err(|e| anyhow!("{e}"))
}

/// The language a case's mail is written in.
pub fn case_lang(case: &Case) -> Lang {
    case.language.parse().unwrap_or_default()
}

/// The case token as configured, e.g. `[案例号: CAS-06004-S8K5X3 ]`.
pub fn subject_token(cfg: &Config, case: &Case) -> String {
    cfg.subject_token_format.replace("{number}", &case.number)
}

/// `Re: [token] title` — the subject of replies and acknowledgements.
pub fn reply_subject(cfg: &Config, case: &Case) -> String {
    format!("Re: {} {}", subject_token(cfg, case), case.title)
}

/// The subject for a workflow mail of `kind`, in the case's language.
pub fn customer_subject(cfg: &Config, case: &Case, kind: SubjectKind) -> anyhow::Result<String> {
    let Some(key) = kind.label_key() else {
        return Ok(reply_subject(cfg, case));
    };
    let lang = case_lang(case);
    let catalog = catalog()?;
    Ok(format!(
        "{} {} · {}",
        subject_token(cfg, case),
        catalog.get(lang, key),
        case.title
    ))
}

/// Splits a comma/semicolon/newline-separated address list, checking each address.
/// The error names the first address that is not valid.
pub fn parse_address_list(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split([',', ';', '\n', '，', '；']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let mailbox: Mailbox = part.parse().map_err(|_| part.to_string())?;
        let email = mailbox.email.to_string().to_lowercase();
        if !out.contains(&email) {
            out.push(email);
        }
    }
    Ok(out)
}

/// The host for Message-IDs and the loop header.
pub fn mail_host(cfg: &Config) -> String {
    message_id::host_from_base_url(&cfg.base_url)
}

fn header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_string())
}

fn paragraphs(text: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Builds the mail. The Message-ID is new and signed with the case number, so a customer's reply
/// to it threads to the case even with a rewritten subject.
pub fn compose(cfg: &Config, draft: &Draft<'_>) -> anyhow::Result<Composed> {
    let host = mail_host(cfg);
    let message_id = match draft.case {
        Some(case) => {
            let number = CaseNumber::parse(&case.number)
                .map_err(|e| anyhow!("case {} has an invalid number: {e}", case.number))?;
            message_id::generate(cfg.secret().as_bytes(), &number, &host)
        }
        None => {
            let nonce: String = crate::auth::tokens::random_token()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(20)
                .collect();
            format!("cb.notice.{nonce}@{host}")
        }
    };
    let from_addr = cfg
        .mail_from
        .parse()
        .with_context(|| format!("mail_from {:?} is not an email address", cfg.mail_from))?;
    let from = Mailbox::new(Some(cfg.mail_from_name.clone()), from_addr);
    anyhow::ensure!(!draft.to.is_empty(), "a mail needs at least one recipient");

    let catalog = catalog()?;
    let t = |key: &'static str| catalog.get(draft.lang, key);
    let footer = match draft.case {
        Some(case) => t("mail.footer").replace("{token}", &subject_token(cfg, case)),
        None => t("mail.footer_plain").to_string(),
    };
    let text = TextPart {
        body: draft.body.trim_end(),
        signature: draft.signature,
        footer: &footer,
    }
    .render()
    .context("rendering the text part")?;
    let html = HtmlPart {
        lang: draft.lang.code(),
        paragraphs: paragraphs(draft.body),
        signature: draft.signature,
        footer: &footer,
    }
    .render()
    .context("rendering the HTML part")?;

    let mut builder = Message::builder()
        .from(from)
        .subject(draft.subject.clone())
        .date_now()
        .message_id(Some(format!("<{message_id}>")));
    // Each address list becomes one header, built once: lettre's `to()`/`cc()` re-read the whole
    // header on every call, which made a reply to thousands of Cc quadratic (seconds to minutes).
    let mut seen = std::collections::HashSet::new();
    let mut to = Vec::new();
    let mut to_boxes = Mailboxes::new();
    for (addr, name) in &draft.to {
        let address = addr
            .parse()
            .with_context(|| format!("recipient {addr:?} is not an email address"))?;
        if seen.insert(addr.to_lowercase()) {
            to_boxes.push(Mailbox::new(name.clone(), address));
            to.push(addr.to_lowercase());
        }
    }
    builder = builder.mailbox(header::To::from(to_boxes));
    let mut cc = Vec::new();
    let mut cc_boxes = Mailboxes::new();
    for addr in &draft.cc {
        if !seen.insert(addr.to_lowercase()) {
            continue;
        }
        let address = addr
            .parse()
            .with_context(|| format!("cc {addr:?} is not an email address"))?;
        cc_boxes.push(Mailbox::new(None, address));
        cc.push(addr.to_lowercase());
    }
    if !cc.is_empty() {
        builder = builder.mailbox(header::Cc::from(cc_boxes));
    }
    if let Some(parent) = &draft.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    let skip = draft.references.len().saturating_sub(MAX_REFERENCES);
    let references: Vec<String> = draft.references[skip..].to_vec();
    if !references.is_empty() {
        let joined = references
            .iter()
            .map(|r| format!("<{r}>"))
            .collect::<Vec<_>>()
            .join(" ");
        builder = builder.references(joined);
    }
    builder = builder.raw_header(header(LOOP_HEADER, &host));
    if draft.kind.is_automatic() {
        builder = builder
            .raw_header(header("Auto-Submitted", "auto-replied"))
            .raw_header(header("X-Auto-Response-Suppress", "All"));
    }
    let alternative = MultiPart::alternative_plain_html(text.clone(), html);
    let message = if draft.attachments.is_empty() {
        builder.multipart(alternative)
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in draft.attachments {
            let content_type = ContentType::parse(&a.content_type)
                .or_else(|_| ContentType::parse("application/octet-stream"))
                .with_context(|| format!("content type of attachment {:?}", a.filename))?;
            mixed = mixed.singlepart(
                Attachment::new(a.filename.clone()).body(a.bytes.clone(), content_type),
            );
        }
        builder.multipart(mixed)
    }
    .context("building the mail")?;
    Ok(Composed {
        message_id,
        raw: message.formatted(),
        to,
        cc,
        subject: draft.subject.clone(),
        text,
        in_reply_to: draft.in_reply_to.clone(),
        references,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lists_accept_commas_and_chinese_separators_and_name_the_bad_one() {
        assert_eq!(
            parse_address_list("a@example.com, B@Example.com；c@example.com,, a@example.com")
                .unwrap(),
            vec!["a@example.com", "b@example.com", "c@example.com"]
        );
        assert_eq!(parse_address_list("  ").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_address_list("ok@example.com, not an address").unwrap_err(),
            "not an address"
        );
    }

    fn case(language: &str) -> Case {
        let at = chrono::NaiveDate::from_ymd_opt(2022, 4, 7)
            .unwrap()
            .and_hms_opt(14, 5, 29)
            .unwrap();
        Case {
            id: 1,
            number: "CAS-06004-S8K5X3".into(),
            seq: 6004,
            title: "CMGE版本激活失败问题".into(),
            state: crate::workflow::state::CaseState::New,
            priority: crate::workflow::state::Priority::Normal,
            customer_email: "chenhui.zd@centerm.example".into(),
            customer_name: Some("陈女士".into()),
            assignee_id: None,
            team: None,
            language: language.into(),
            problem_definition: None,
            scope: None,
            resolution: None,
            duplicate_of_id: None,
            merged_into_id: None,
            created_at: at,
            updated_at: at,
            last_activity_at: at,
            closed_at: None,
        }
    }

    fn draft<'a>(case: &'a Case, kind: MailKind, references: Vec<String>) -> Draft<'a> {
        Draft {
            kind,
            case: Some(case),
            to: vec![(case.customer_email.clone(), case.customer_name.clone())],
            cc: vec![
                "Chenhui.ZD@centerm.example".into(),
                "boss@centerm.example".into(),
            ],
            subject: "Re: x".into(),
            body: "您好",
            signature: Some("王彬彬"),
            in_reply_to: references.last().cloned(),
            references,
            attachments: &[],
            lang: case_lang(case),
        }
    }

    fn raw_header(raw: &[u8], name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(raw).replace("\r\n ", " ");
        text.lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
    }

    #[test]
    fn a_long_cc_list_becomes_one_header_without_duplicates_or_the_customer() {
        let cfg = Config {
            secret_key: Some("k".repeat(40).into()),
            ..Config::default()
        };
        let c = case("en");
        let mut d = draft(&c, MailKind::Reply, Vec::new());
        // Quadratic before (lettre re-reads the header on every `cc()`): this took seconds.
        d.cc = (0..5000).map(|i| format!("p{i}@example.com")).collect();
        d.cc.push("P7@Example.com".into());
        d.cc.push(c.customer_email.clone());
        let mail = compose(&cfg, &d).unwrap();
        assert_eq!(mail.cc.len(), 5000);
        assert!(!mail.cc.contains(&c.customer_email));
        let text = String::from_utf8_lossy(&mail.raw);
        assert_eq!(text.lines().filter(|l| l.starts_with("Cc:")).count(), 1);
        assert!(
            raw_header(&mail.raw, "Cc")
                .unwrap()
                .contains("p4999@example.com")
        );
    }

    #[test]
    fn subjects_carry_the_configured_token() {
        let cfg = Config {
            subject_token_format: "[案例号: {number} ]".into(),
            ..Config::default()
        };
        let c = case("zh-CN");
        assert_eq!(
            reply_subject(&cfg, &c),
            "Re: [案例号: CAS-06004-S8K5X3 ] CMGE版本激活失败问题"
        );
        assert_eq!(
            customer_subject(&cfg, &c, SubjectKind::DiagnosticsReport).unwrap(),
            "[案例号: CAS-06004-S8K5X3 ] 激活诊断报告 · CMGE版本激活失败问题"
        );
    }

    #[test]
    fn references_keep_the_newest_twenty_and_automatic_headers_only_on_automatic_mail() {
        let cfg = Config::default();
        let c = case("en");
        let refs: Vec<String> = (1..=25).map(|i| format!("m{i}@example.com")).collect();
        let reply = compose(&cfg, &draft(&c, MailKind::Reply, refs)).unwrap();
        assert_eq!(reply.references.len(), MAX_REFERENCES);
        assert_eq!(reply.references[0], "m6@example.com");
        assert_eq!(reply.in_reply_to.as_deref(), Some("m25@example.com"));
        assert_eq!(
            reply.cc,
            vec!["boss@centerm.example"],
            "the customer is not copied to themselves"
        );
        assert!(raw_header(&reply.raw, "Auto-Submitted").is_none());
        assert_eq!(
            raw_header(&reply.raw, LOOP_HEADER).as_deref(),
            Some("127.0.0.1")
        );
        assert!(message_id::verify(b"", &reply.message_id).is_some());
        let ack = compose(&cfg, &draft(&c, MailKind::Acknowledgement, Vec::new())).unwrap();
        assert_eq!(
            raw_header(&ack.raw, "Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
        assert_eq!(
            raw_header(&ack.raw, "X-Auto-Response-Suppress").as_deref(),
            Some("All")
        );
        assert!(raw_header(&ack.raw, "In-Reply-To").is_none());
        assert_ne!(ack.message_id, reply.message_id);
    }

    #[test]
    fn paragraphs_split_on_blank_lines() {
        assert_eq!(paragraphs("a\nb\n\n\nc\n"), vec![vec!["a", "b"], vec!["c"]]);
    }
}
