//! Turning raw RFC 5322 bytes into a [`ParsedMail`]: the fields threading, loop detection and storage need,
//! decoded to Unicode without losing CJK text.
//!
//! mail-parser does the MIME work. Two things it cannot know are handled around it (see [`crate::ingest::charset`]):
//! raw 8-bit header bytes are decoded as lossy UTF-8 by mail-parser, so header blocks that are not UTF-8 are
//! transcoded to UTF-8 (by the message's declared charset or by detection) and the message is parsed again; and
//! text parts with no usable charset label are re-decoded from their raw bytes by detection.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use encoding_rs::Encoding;
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::cases::number::CaseNumber;
use crate::ingest::{charset, html, loops, subject};

/// Why bytes could not be read as mail. Such input goes to quarantine with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but whitespace.
    #[error("not a mail message: the input is empty")]
    Empty,
    /// The bytes do not start with an RFC 5322 header block.
    #[error("not a mail message: {0}")]
    NoHeaderBlock(&'static str),
    /// mail-parser found no message structure.
    #[error("not a mail message: the MIME parser found no message structure")]
    Unreadable,
}

/// An address with its display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Mailbox {
    /// The address, trimmed and lower-cased.
    pub email: String,
    /// The display name, if one was given and differs from the address.
    pub name: Option<String>,
}

/// One top-level header as it appeared: unfolded, trimmed, encoded-words not decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RawHeader {
    /// Field name as written (`X-Autoreply`).
    pub name: String,
    /// Field value, unfolded onto one line.
    pub value: String,
}

/// A non-body part: a file, an inline image, an attached message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedAttachment {
    /// File name without any directory part; generated (`part-3.png`) when the sender gave none.
    pub filename: String,
    /// Lower-case MIME type, e.g. `image/png`.
    pub content_type: String,
    /// The decoded bytes (transfer encoding removed, text left in its original charset).
    pub data: Vec<u8>,
    /// `Content-ID` without angle brackets, which `cid:` URLs in the HTML refer to.
    pub content_id: Option<String>,
    /// Whether the part is meant to be shown in the body (inline disposition, or referenced by Content-ID).
    pub inline: bool,
}

/// A message, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedMail {
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids, in order, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// `References` ids, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The first `From` mailbox.
    pub from: Option<Mailbox>,
    /// `Reply-To` mailboxes.
    pub reply_to: Vec<Mailbox>,
    /// `To` mailboxes.
    pub to: Vec<Mailbox>,
    /// `Cc` mailboxes.
    pub cc: Vec<Mailbox>,
    /// The envelope sender from `Return-Path`, without angle brackets; `Some("")` for `Return-Path: <>`.
    pub return_path: Option<String>,
    /// The decoded subject (empty when missing).
    pub subject: String,
    /// `Date`, when present and valid.
    pub date: Option<DateTime<Utc>>,
    /// The text body; for HTML-only mail, text extracted from the HTML (quotes prefixed `> `).
    pub body_text: String,
    /// The HTML body, already sanitised for display.
    pub body_html: Option<String>,
    /// For HTML-only mail, the text without quoted history (Gmail/Outlook quote containers dropped): the new
    /// text of a reply, which plain-text quote stripping cannot recover from HTML. `None` when a text part exists.
    pub html_new_text: Option<String>,
    /// Files, inline images and attached messages.
    pub attachments: Vec<ParsedAttachment>,
    /// Whether a person wrote it, and if not, why we think so.
    pub auto: loops::AutoKind,
    /// All top-level headers, in order.
    pub headers: Vec<RawHeader>,
    /// Lower-case MIME type of the whole message, e.g. `multipart/report`.
    pub content_type: String,
    /// The `report-type` parameter of a `multipart/report` message.
    pub report_type: Option<String>,
    /// Message-IDs of messages embedded as `message/rfc822` or `text/rfc822-headers` parts (bounce originals).
    pub embedded_message_ids: Vec<String>,
    /// Lower-case hex SHA-256 of the raw bytes, for de-duplicating mail that has no Message-ID.
    pub content_hash: String,
}

impl ParsedMail {
    /// The value of the first top-level header called `name` (case-insensitive), unfolded and undecoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every value of the top-level headers called `name` (case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// A key that identifies this message across deliveries: the Message-ID, or `sha256:<hash>` without one.
    pub fn dedup_key(&self) -> String {
        match &self.message_id {
            Some(id) => id.clone(),
            None => format!("sha256:{}", self.content_hash),
        }
    }

    /// The case number in the subject, if any.
    pub fn case_token(&self) -> Option<CaseNumber> {
        subject::find_case_token(&self.subject)
    }

    /// The subject's human title (see [`subject::clean_title`]).
    pub fn title(&self) -> String {
        subject::clean_title(&self.subject)
    }
}

/// Parses raw message bytes. Missing Message-ID or Date is fine; bytes without a header block are an error.
pub fn parse_mail(raw: &[u8]) -> Result<ParsedMail, ParseError> {
    let message_bytes = message_start(raw);
    check_header_block(message_bytes)?;
    let parser = MessageParser::new();
    let message = parser.parse(message_bytes).ok_or(ParseError::Unreadable)?;
    let hints = CharsetHints::of(&message);
    let mut mail = match transcode_header_blocks(&message, message_bytes, &hints) {
        Some(transcoded) => {
            drop(message);
            let message = parser.parse(&transcoded).ok_or(ParseError::Unreadable)?;
            build(&message, raw, &hints)
        }
        None => build(&message, raw, &hints),
    };
    mail.remove_nul_characters();
    Ok(mail)
}

impl ParsedMail {
    /// Drops U+0000 from every text this mail gives the database (attachment bytes stay as
    /// they are). PostgreSQL's `text` cannot hold it ("invalid byte sequence for encoding
    /// UTF8: 0x00"), so one NUL in a header or body made the whole message fail to store; no
    /// mail means anything by it, and SQLite then stores the same text as PostgreSQL.
    fn remove_nul_characters(&mut self) {
        fn clean(text: &mut String) {
            if text.contains('\0') {
                text.retain(|c| c != '\0');
            }
        }
        let mut texts: Vec<&mut String> = vec![
            &mut self.subject,
            &mut self.body_text,
            &mut self.content_type,
        ];
        texts.extend(self.message_id.as_mut());
        texts.extend(self.return_path.as_mut());
        texts.extend(self.body_html.as_mut());
        texts.extend(self.html_new_text.as_mut());
        texts.extend(self.report_type.as_mut());
        texts.extend(self.in_reply_to.iter_mut());
        texts.extend(self.references.iter_mut());
        texts.extend(self.embedded_message_ids.iter_mut());
        for mailbox in self
            .from
            .iter_mut()
            .chain(&mut self.reply_to)
            .chain(&mut self.to)
            .chain(&mut self.cc)
        {
            texts.push(&mut mailbox.email);
            texts.extend(mailbox.name.as_mut());
        }
        for header in &mut self.headers {
            texts.push(&mut header.name);
            texts.push(&mut header.value);
        }
        for attachment in &mut self.attachments {
            texts.push(&mut attachment.filename);
            texts.push(&mut attachment.content_type);
            texts.extend(attachment.content_id.as_mut());
        }
        for text in texts {
            clean(text);
        }
    }
}

/// Skips what precedes the header block in files people hand us: a UTF-8 BOM, blank lines, and an mbox
/// `From ` separator line. mail-parser would otherwise read them as a broken first header or an empty header block.
fn message_start(raw: &[u8]) -> &[u8] {
    let mut data = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    let leading_blank = data
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    data = &data[leading_blank..];
    if data.starts_with(b"From ") {
        data = data
            .iter()
            .position(|b| *b == b'\n')
            .map_or(&data[data.len()..], |nl| &data[nl + 1..]);
    }
    data
}

/// What helps decode unlabelled bytes: the charset the sender declared elsewhere in the message, and the
/// sender's top-level domain for chardetng.
struct CharsetHints {
    declared: Option<&'static Encoding>,
    tld: Option<Vec<u8>>,
}

impl CharsetHints {
    fn of(message: &Message<'_>) -> Self {
        let declared = message
            .parts
            .iter()
            .filter_map(|p| p.content_type()?.attribute("charset"))
            .filter_map(charset::encoding_for_label)
            .find(|e| *e != encoding_rs::UTF_8 && !e.is_single_byte());
        let tld = first_address(message.from())
            .and_then(charset::tld_of)
            .map(String::into_bytes);
        CharsetHints { declared, tld }
    }

    fn decode<'a>(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        if let Some(text) = self.declared.and_then(|e| charset::decode_strict(e, bytes)) {
            return text;
        }
        charset::decode_text(bytes, None, self.tld.as_deref())
    }
}

fn first_address<'a>(address: Option<&'a Address<'_>>) -> Option<&'a str> {
    address?.iter().find_map(|a| a.address.as_deref())
}

/// Rewrites header blocks that are not UTF-8 (raw GBK/Big5/Shift_JIS subjects, names and file names) as UTF-8,
/// or `None` when every header block already is.
fn transcode_header_blocks(
    message: &Message<'_>,
    raw: &[u8],
    hints: &CharsetHints,
) -> Option<Vec<u8>> {
    let mut blocks: Vec<(usize, usize)> = message
        .parts
        .iter()
        .map(|p| (p.raw_header_offset() as usize, p.raw_body_offset() as usize))
        .filter(|(start, end)| start < end && *end <= raw.len())
        .filter(|(start, end)| std::str::from_utf8(&raw[*start..*end]).is_err())
        .collect();
    if blocks.is_empty() {
        return None;
    }
    blocks.sort_unstable();
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 4);
    let mut copied_to = 0;
    for (start, end) in blocks {
        if start < copied_to {
            continue;
        }
        out.extend_from_slice(&raw[copied_to..start]);
        out.extend_from_slice(hints.decode(&raw[start..end]).as_bytes());
        copied_to = end;
    }
    out.extend_from_slice(&raw[copied_to..]);
    Some(out)
}

fn build(message: &Message<'_>, raw: &[u8], hints: &CharsetHints) -> ParsedMail {
    let root = message.root_part();
    let content_type = root
        .content_type()
        .map(|ct| mime_type(ct.ctype(), ct.subtype()))
        .unwrap_or_else(|| "text/plain".to_string());
    let report_type = root
        .content_type()
        .and_then(|ct| ct.attribute("report-type"))
        .map(str::to_string);

    let mut mail = ParsedMail {
        message_id: message
            .message_id()
            .map(clean_id)
            .filter(|id| !id.is_empty()),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        from: address_field(message, HeaderName::From, hints)
            .into_iter()
            .next(),
        reply_to: address_field(message, HeaderName::ReplyTo, hints),
        to: address_field(message, HeaderName::To, hints),
        cc: address_field(message, HeaderName::Cc, hints),
        return_path: message
            .header_raw("Return-Path")
            .map(|v| clean_id(v.trim())),
        subject: decoded_subject(message, hints),
        date: message
            .date()
            .filter(|d| d.is_valid())
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        headers: message
            .headers_raw()
            .map(|(name, value)| RawHeader {
                name: name.to_string(),
                value: unfold(value),
            })
            .collect(),
        content_type,
        report_type,
        content_hash: hex::encode(Sha256::digest(raw)),
        ..ParsedMail::default()
    };

    let text_parts: Vec<Cow<'_, str>> = message
        .text_body
        .iter()
        .filter_map(|&i| message.parts.get(i as usize))
        .filter(|p| matches!(p.body, PartType::Text(_)))
        .map(|p| part_text(message, p, hints))
        .collect();
    let html_parts: Vec<Cow<'_, str>> = message
        .html_body
        .iter()
        .filter_map(|&i| message.parts.get(i as usize))
        .filter(|p| matches!(p.body, PartType::Html(_)))
        .map(|p| part_text(message, p, hints))
        .collect();
    if !html_parts.is_empty() {
        let html_source = html_parts.concat();
        if text_parts.is_empty() {
            let html = html::sanitise_html_with_text(&html_source);
            mail.body_text = html.text;
            mail.html_new_text = Some(html.new_text);
            mail.body_html = Some(html.html);
        } else {
            mail.body_html = Some(html::sanitise_html(&html_source));
        }
    }
    if !text_parts.is_empty() {
        mail.body_text = text_parts.join("\n");
    }

    for (index, &part_id) in message.attachments.iter().enumerate() {
        let Some(part) = message.parts.get(part_id as usize) else {
            continue;
        };
        if let PartType::Message(nested) = &part.body
            && let Some(id) = nested
                .message_id()
                .map(clean_id)
                .filter(|id| !id.is_empty())
        {
            mail.embedded_message_ids.push(id);
        }
        if part.is_content_type("text", "rfc822-headers") {
            mail.embedded_message_ids
                .extend(rfc822_header_ids(&part_text(message, part, hints)));
        }
        mail.attachments.push(attachment(message, part, index));
    }
    mail.auto = loops::classify(&mail);
    mail
}

/// The subject, re-decoded from the raw header when mail-parser's decoding of encoded-words left U+FFFD
/// (words split inside a character, unknown charset labels).
fn decoded_subject(message: &Message<'_>, hints: &CharsetHints) -> String {
    let subject = message.subject().unwrap_or_default();
    let decoded = match message.header_raw("Subject") {
        Some(raw) if subject.contains('\u{FFFD}') => {
            charset::decode_encoded_words(&unfold(raw), hints.tld.as_deref())
        }
        _ => subject.to_string(),
    };
    decoded.trim().to_string()
}

/// Decoded text of a text part, re-decoded from the raw bytes when mail-parser had to substitute U+FFFD
/// (no or unknown charset label, or a label mail-parser maps more narrowly than we do).
fn part_text<'a>(
    message: &'a Message<'_>,
    part: &'a MessagePart<'_>,
    hints: &CharsetHints,
) -> Cow<'a, str> {
    let text = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.as_ref(),
        _ => return Cow::Borrowed(""),
    };
    if !text.contains('\u{FFFD}') {
        return Cow::Borrowed(text);
    }
    let bytes = transfer_decoded(message, part);
    let label = part.content_type().and_then(|ct| ct.attribute("charset"));
    let hinted_label = label.or(hints.declared.map(Encoding::name));
    Cow::Owned(charset::decode_text(&bytes, hinted_label, hints.tld.as_deref()).into_owned())
}

/// The part's body with the transfer encoding removed, from the raw message bytes.
fn transfer_decoded<'a>(message: &'a Message<'_>, part: &MessagePart<'_>) -> Cow<'a, [u8]> {
    let raw = message
        .raw_message
        .get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)
        .unwrap_or_default();
    let decoded = match part.encoding {
        mail_parser::Encoding::Base64 => base64_decode(raw),
        mail_parser::Encoding::QuotedPrintable => quoted_printable_decode(raw),
        mail_parser::Encoding::None => None,
    };
    decoded.map_or(Cow::Borrowed(raw), Cow::Owned)
}

fn attachment(message: &Message<'_>, part: &MessagePart<'_>, index: usize) -> ParsedAttachment {
    let content_type = part
        .content_type()
        .map(|ct| mime_type(ct.ctype(), ct.subtype()))
        .unwrap_or_else(|| {
            if part.is_message() {
                "message/rfc822".into()
            } else {
                "application/octet-stream".into()
            }
        });
    let data = match &part.body {
        // Keep text attachments (logs, systeminfo dumps) in their original bytes, charset and all.
        PartType::Text(_) | PartType::Html(_) => transfer_decoded(message, part).into_owned(),
        _ => part.contents().to_vec(),
    };
    let content_id = part.content_id().map(clean_id).filter(|id| !id.is_empty());
    let disposition_inline = part
        .content_disposition()
        .map(|d| d.ctype().eq_ignore_ascii_case("inline"));
    let inline = disposition_inline.unwrap_or(content_id.is_some());
    let filename = part
        .attachment_name()
        .map(safe_filename)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("part-{}.{}", index + 1, extension_for(&content_type)));
    ParsedAttachment {
        filename,
        content_type,
        data,
        content_id,
        inline,
    }
}

/// Drops directory components and control characters so a name can never address another file.
fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    trimmed.to_string()
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "message/rfc822" => "eml",
        "text/plain" | "text/rfc822-headers" => "txt",
        "text/html" => "html",
        "message/delivery-status" => "txt",
        _ => "bin",
    }
}

fn mime_type(ctype: &str, subtype: Option<&str>) -> String {
    let mut out = ctype.to_ascii_lowercase();
    out.push('/');
    out.push_str(&subtype.unwrap_or("octet-stream").to_ascii_lowercase());
    out
}

/// Message-IDs in a `text/rfc822-headers` part.
fn rfc822_header_ids(text: &str) -> Vec<String> {
    static MESSAGE_ID_LINE: LazyLock<Regex> = LazyLock::new(|| {
        // Provably valid: a constant pattern exercised by the tests.
        Regex::new(r"(?im)^message-id:\s*<?([^<>\s]+)>?").expect("message-id line pattern is valid")
    });
    MESSAGE_ID_LINE
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .collect()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![clean_id(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| clean_id(id)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

/// An id without angle brackets or NULs: a NUL is never part of an id, PostgreSQL text cannot hold one, and ids are
/// stored and looked up in this form (found by tests/properties.rs: a NUL in `References` failed the lookup).
fn clean_id(id: &str) -> String {
    id.replace('\0', "")
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// The mailboxes of an address header. When a display name came out with U+FFFD (an encoded-word split inside
/// a character, or an unknown charset label), the raw value is re-decoded forgivingly and parsed again.
fn address_field(
    message: &Message<'_>,
    name: HeaderName<'static>,
    hints: &CharsetHints,
) -> Vec<Mailbox> {
    let boxes = mailboxes(
        message
            .header(name.clone())
            .and_then(HeaderValue::as_address),
    );
    let damaged = boxes
        .iter()
        .any(|m| m.name.as_deref().is_some_and(|n| n.contains('\u{FFFD}')));
    if !damaged {
        return boxes;
    }
    let Some(raw) = message.header_raw(name.clone()) else {
        return boxes;
    };
    let decoded = charset::decode_encoded_words(&unfold(raw), hints.tld.as_deref());
    let synthetic = format!("{}: {decoded}\r\n\r\n", name.as_str());
    let reparsed = MessageParser::new()
        .parse(synthetic.as_bytes())
        .map(|m| mailboxes(m.header(name).and_then(HeaderValue::as_address)))
        .unwrap_or_default();
    // Only trust the second reading for the names: it must find the same addresses. Decoded text is spliced back
    // into header syntax, so a name holding `<`, `>`, `,` or `(` could otherwise rewrite the address — a sender
    // could write as someone else (found by tests/properties.rs).
    let same_addresses = reparsed.len() == boxes.len()
        && reparsed.iter().zip(&boxes).all(|(r, b)| r.email == b.email);
    if same_addresses { reparsed } else { boxes }
}

fn mailboxes(address: Option<&Address<'_>>) -> Vec<Mailbox> {
    let Some(address) = address else {
        return Vec::new();
    };
    address
        .iter()
        .filter_map(|a| {
            // Addresses are looked up as well as stored, so they lose NULs here (see `clean_id`).
            let email = a
                .address
                .as_deref()?
                .replace('\0', "")
                .trim()
                .to_lowercase();
            if email.is_empty() {
                return None;
            }
            let name = a
                .name
                .as_deref()
                .map(|n| n.trim().trim_matches(['"', '\'']).trim().to_string())
                .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&email));
            Some(Mailbox { email, name })
        })
        .collect()
}

fn unfold(value: &str) -> String {
    let value = value.trim();
    if !value.contains(['\r', '\n']) {
        return value.to_string();
    }
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Header names that only appear in mail; one of them must be in the header block.
fn is_mail_header(name: &[u8]) -> bool {
    const NAMES: [&[u8]; 24] = [
        b"from",
        b"to",
        b"cc",
        b"bcc",
        b"subject",
        b"date",
        b"message-id",
        b"received",
        b"mime-version",
        b"content-type",
        b"content-transfer-encoding",
        b"content-disposition",
        b"return-path",
        b"sender",
        b"reply-to",
        b"in-reply-to",
        b"references",
        b"delivered-to",
        b"dkim-signature",
        b"authentication-results",
        b"thread-topic",
        b"thread-index",
        b"user-agent",
        b"importance",
    ];
    let lower = name.to_ascii_lowercase();
    NAMES.contains(&lower.as_slice())
        || [&b"x-"[..], b"list-", b"resent-", b"arc-"]
            .iter()
            .any(|p| lower.starts_with(p))
}

/// The field name of a `Name: value` header line, if the line is one.
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let colon = line.iter().take(128).position(|b| *b == b':')?;
    // Obsolete syntax allows blanks before the colon (`Subject :`).
    let name = line[..colon].trim_ascii_end();
    let valid = !name.is_empty() && name.iter().all(|b| (33..=126).contains(b));
    valid.then_some(name)
}

/// Checks that the bytes (after [`message_start`]) start with an RFC 5322 header block that names at least one
/// mail header, so random files are rejected rather than turned into empty messages.
fn check_header_block(data: &[u8]) -> Result<(), ParseError> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let mut fields = 0usize;
    for line in data.split(|b| *b == b'\n').take(1000) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if fields == 0 {
                return Err(ParseError::NoHeaderBlock(
                    "the first line is indented, not a header field",
                ));
            }
            continue;
        }
        match field_name(line) {
            Some(name) if is_mail_header(name) => return Ok(()),
            Some(_) => fields += 1,
            None if fields == 0 => {
                return Err(ParseError::NoHeaderBlock(
                    "the first line is not a `Name: value` header field",
                ));
            }
            None => break,
        }
    }
    Err(ParseError::NoHeaderBlock(
        "the header block has no mail header (From, To, Subject, Date, Message-ID, Received, Content-Type, …)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_never_reach_the_stored_text() {
        let raw = b"From: nul\0name <nul@customer.example>\r\nTo: support@casebook.test\r\n\
Subject: a\0b\r\nMessage-ID: <x\0y@example.com>\r\nX-Thing: p\0q\r\n\
Content-Type: text/html\r\n\r\n<p>c\0d</p>\r\n";
        let mail = parse_mail(raw).unwrap();
        let debug = format!("{mail:?}");
        assert!(!debug.contains("\\0"), "{debug}");
        assert_eq!(mail.subject, "ab");
        assert_eq!(mail.message_id.as_deref(), Some("xy@example.com"));
        assert!(mail.body_text.contains('c'), "{}", mail.body_text);
    }

    #[test]
    fn rejects_input_without_a_mail_header_block() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"", ParseError::Empty),
            (b"  \r\n\n", ParseError::Empty),
            (
                b"\x00\x01\x02binary",
                ParseError::NoHeaderBlock("the first line is not a `Name: value` header field"),
            ),
            (
                b"just some notes\nNo headers: here\n",
                ParseError::NoHeaderBlock("the first line is not a `Name: value` header field"),
            ),
            (
                b"  indented: x\n",
                ParseError::NoHeaderBlock("the first line is indented, not a header field"),
            ),
            (
                b"Note: remember the milk\n\nbody",
                ParseError::NoHeaderBlock(
                    "the header block has no mail header (From, To, Subject, Date, Message-ID, Received, Content-Type, …)",
                ),
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                parse_mail(raw).err().as_ref(),
                Some(expected),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn accepts_minimal_and_mbox_style_messages() {
        let cases: &[&[u8]] = &[
            b"Subject: hi\n\nbody",
            b"From someone@example.com Thu Apr  7 14:05:29 2022\nFrom: a@b.cn\n\nbody",
            b"\xEF\xBB\xBFX-Custom: 1\nTo: a@b.cn\n\nbody",
            b"\r\n\r\nSubject: after blank lines\r\n\r\nbody",
            b"Subject : obsolete spacing\n\nbody",
        ];
        for raw in cases {
            let shown = String::from_utf8_lossy(raw);
            let mail = parse_mail(raw).unwrap_or_else(|e| panic!("{e}: {shown:?}"));
            assert_eq!(mail.body_text.trim(), "body", "{shown:?}");
            let names_clean = mail
                .headers
                .iter()
                .all(|h| !h.name.starts_with('\u{FEFF}') && !h.name.starts_with("From "));
            assert!(names_clean, "{shown:?}: {:?}", mail.headers);
        }
    }

    #[test]
    fn addresses_are_lower_cased_and_names_cleaned() {
        let mail = parse_mail(
            b"From: \"Chen Hui\" <ChenHui.ZD@Centerm.com >\nTo: a@b.cn, \"B\" <B@B.CN>\nCc: <c@c.cn>\nReply-To: r@r.cn\n\nx",
        )
        .unwrap();
        assert_eq!(
            mail.from,
            Some(Mailbox {
                email: "chenhui.zd@centerm.com".into(),
                name: Some("Chen Hui".into())
            })
        );
        let to: Vec<_> = mail.to.iter().map(|m| m.email.as_str()).collect();
        assert_eq!(to, ["a@b.cn", "b@b.cn"]);
        assert_eq!(mail.cc[0].email, "c@c.cn");
        assert_eq!(mail.reply_to[0].email, "r@r.cn");
    }

    #[test]
    fn ids_lose_their_angle_brackets_and_keep_their_order() {
        let mail = parse_mail(
            b"Message-ID: <m@x>\nIn-Reply-To: <p@x>\nReferences: <a@x>\n <b@x> <p@x>\nReturn-Path: <>\n\nx",
        )
        .unwrap();
        assert_eq!(mail.message_id.as_deref(), Some("m@x"));
        assert_eq!(mail.in_reply_to, ["p@x"]);
        assert_eq!(mail.references, ["a@x", "b@x", "p@x"]);
        assert_eq!(mail.return_path.as_deref(), Some(""));
        assert_eq!(mail.header("references"), Some("<a@x> <b@x> <p@x>"));
    }

    #[test]
    fn filenames_cannot_escape_their_directory() {
        let cases = [
            ("../../etc/passwd", "passwd"),
            ("C:\\logs\\a.txt", "a.txt"),
            (".hidden", "hidden"),
            ("日志.zip", "日志.zip"),
        ];
        for (name, expected) in cases {
            assert_eq!(safe_filename(name), expected, "{name}");
        }
    }
}
