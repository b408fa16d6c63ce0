//! Exported thread transcripts: a whole case thread in one text file.
//!
//! ```text
//! 邮件主题：回复: Re: [案例号: CAS-06004-S8K5X3 ] … CMGE版本激活失败问题
//!
//! ====第1封邮件====
//!
//! 发件人：Wang Binbin
//! 发送时间：2022-04-07 14:05:29.682000+00:00
//! 邮件内容:
//! 陈女士，您好：
//! …
//! ```
//!
//! The English form uses `Subject:`, `==== Mail N ====`, `From:`, `Sent:` and `Body:`. Colons may
//! be ASCII or full-width. A body runs to the next block marker, which the exporter sometimes
//! writes straight after the last line of text with no blank line (or even on the same line), so
//! markers are searched for anywhere, not just after blank lines. Other header lines before the
//! body (`收件人：`, `To:` …) are ignored.

use std::borrow::Cow;
use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDateTime, Utc};
use regex::Regex;

use crate::cases::number::CaseNumber;

// The `expect`s on `Regex::new` below cannot fire at run time: every pattern is a literal, and the
// unit tests compile each one.

/// A block marker; group 1 or 2 holds the block number.
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"====[ \t]*(?:第[ \t]*(\d+)[ \t]*封邮件|(?i:mail)[ \t]+(\d+))[ \t]*====")
        .expect("marker regex is valid")
});

/// The first block's marker on a line of its own, for recognising a transcript from its top.
static FIRST_MARKER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)^[ \t]*====[ \t]*(?:第[ \t]*1[ \t]*封邮件|(?i:mail)[ \t]+1)[ \t]*====[ \t]*\r?$",
    )
    .expect("first marker regex is valid")
});

static CASE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bCAS-\d{5,}-[A-Z0-9]{6}\b").expect("case number regex is valid")
});

static NAME_AND_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(.*?)\s*<([^<>\s@]+@[^<>\s@]+)>$"#).expect("name and address regex is valid")
});

static BARE_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$").expect("address regex is valid")
});

const SUBJECT_KEYS: &[&str] = &["邮件主题", "Subject"];
const SENDER_KEYS: &[&str] = &["发件人", "From"];
const TIME_KEYS: &[&str] = &["发送时间", "Sent", "Date"];
const BODY_KEYS: &[&str] = &["邮件内容", "Body"];

/// A parsed transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The thread's subject as exported (prefixes such as `回复:` included).
    pub subject: String,
    /// The messages in file order.
    pub messages: Vec<TranscriptMessage>,
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptMessage {
    /// The block number from the marker (`====第N封邮件====`).
    pub index: u32,
    /// The sender as exported: a display name (`Wang Binbin`) or an address.
    pub sender: String,
    /// The sender's address when the export gives one.
    pub sender_email: Option<String>,
    /// When the message was sent.
    pub sent_at: DateTime<Utc>,
    /// The message text, blank lines at either end removed, lines joined with `\n`.
    pub body: String,
}

/// Why a transcript could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// The file could not be read.
    #[error("cannot read transcript {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The first non-empty line is not a subject line.
    #[error("transcript does not start with a subject line (邮件主题：… or Subject: …)")]
    MissingSubject,
    /// No block marker was found.
    #[error("transcript has no message blocks (====第1封邮件==== or ==== Mail 1 ====)")]
    NoMessages,
    /// A block number does not fit.
    #[error("block marker {marker:?} has an impossible number")]
    BadMarker {
        /// The marker text.
        marker: String,
    },
    /// A block has no sender line.
    #[error("message block {block}: no sender line (发件人：… or From: …)")]
    MissingSender {
        /// The block number.
        block: u32,
    },
    /// A block has no send-time line.
    #[error("message block {block}: no send time line (发送时间：… or Sent: …)")]
    MissingTime {
        /// The block number.
        block: u32,
    },
    /// A block's send time cannot be read.
    #[error(
        "message block {block}: cannot read send time {value:?} (expected e.g. 2022-04-07 14:05:29.682000+00:00)"
    )]
    BadTime {
        /// The block number.
        block: u32,
        /// The time as written.
        value: String,
    },
    /// A block has no body line.
    #[error("message block {block}: no body line (邮件内容: or Body:)")]
    MissingBody {
        /// The block number.
        block: u32,
    },
    /// A line before the body is not a `key: value` header.
    #[error("message block {block}: unexpected line before the body: {line:?}")]
    UnexpectedLine {
        /// The block number.
        block: u32,
        /// The line.
        line: String,
    },
}

impl Transcript {
    /// The case number in the subject (`[案例号: CAS-06004-S8K5X3 ]`), if there is one.
    pub fn case_number(&self) -> Option<CaseNumber> {
        CASE_NUMBER
            .find(&self.subject)
            .and_then(|m| CaseNumber::parse(m.as_str()).ok())
    }
}

/// Reads and parses the transcript file at `path`, decoding UTF-8 (with or without a byte-order
/// mark), UTF-16 with a byte-order mark, or a legacy Chinese encoding such as GBK.
pub fn read_transcript(path: &Path) -> Result<Transcript, TranscriptError> {
    let bytes = std::fs::read(path).map_err(|source| TranscriptError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_transcript(&decode_text(&bytes))
}

/// Decodes exported text: a byte-order mark wins, then UTF-8, then the encoding `chardetng`
/// guesses (exports made on Chinese Windows are often GBK).
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom_len..]).0;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        // A sniffed prefix may end inside a character; everything before it is still UTF-8.
        Err(e) if e.error_len().is_none() => {
            Cow::Owned(String::from_utf8_lossy(bytes).into_owned())
        }
        Err(_) => {
            // Not UTF-8 (checked above), so there is no point letting the detector guess it.
            let mut detector =
                chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            detector.feed(bytes, true);
            let encoding = detector.guess(None, chardetng::Utf8Detection::Deny);
            encoding.decode_without_bom_handling(bytes).0
        }
    }
}

/// Whether `text` (the top of a file) looks like a transcript: its first non-empty line starts
/// with `邮件主题：`/`邮件主题:`, or the first block's marker stands on a line of its own.
pub fn looks_like_transcript(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let zh_subject = first
        .strip_prefix("邮件主题")
        .is_some_and(|rest| rest.starts_with('：') || rest.starts_with(':'));
    zh_subject || FIRST_MARKER_LINE.is_match(text)
}

/// Parses a transcript (see the module documentation for the format).
pub fn parse_transcript(text: &str) -> Result<Transcript, TranscriptError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let markers: Vec<(u32, usize, usize)> = MARKER
        .captures_iter(text)
        .map(|c| {
            // Group 0 is the whole match, present in every capture.
            let whole = c.get(0).expect("group 0 always exists");
            let number = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
            number
                .parse()
                .map(|n| (n, whole.start(), whole.end()))
                .map_err(|_| TranscriptError::BadMarker {
                    marker: whole.as_str().to_string(),
                })
        })
        .collect::<Result<_, _>>()?;
    let preamble_end = markers.first().map_or(text.len(), |m| m.1);
    let subject = parse_subject(&text[..preamble_end])?;
    if markers.is_empty() {
        return Err(TranscriptError::NoMessages);
    }
    let messages = markers
        .iter()
        .enumerate()
        .map(|(i, &(index, _, content_start))| {
            let content_end = markers.get(i + 1).map_or(text.len(), |next| next.1);
            parse_block(index, &text[content_start..content_end])
        })
        .collect::<Result<_, _>>()?;
    Ok(Transcript { subject, messages })
}

fn parse_subject(preamble: &str) -> Result<String, TranscriptError> {
    let first = preamble
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or(TranscriptError::MissingSubject)?;
    match split_header(first) {
        Some((key, value)) if SUBJECT_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) => {
            Ok(value.to_string())
        }
        _ => Err(TranscriptError::MissingSubject),
    }
}

/// Splits `key：value` / `key: value` at the first colon of either width.
fn split_header(line: &str) -> Option<(&str, &str)> {
    let at = line.find([':', '：'])?;
    let colon_len = line[at..].chars().next().map_or(1, char::len_utf8);
    Some((line[..at].trim(), line[at + colon_len..].trim()))
}

fn key_is(key: &str, keys: &[&str]) -> bool {
    keys.iter().any(|k| k.eq_ignore_ascii_case(key))
}

fn parse_block(block: u32, content: &str) -> Result<TranscriptMessage, TranscriptError> {
    let mut sender = None;
    let mut time = None;
    let mut lines = content.lines();
    let mut body_first = None;
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = split_header(line) else {
            return Err(TranscriptError::UnexpectedLine {
                block,
                line: line.trim().to_string(),
            });
        };
        if key_is(key, SENDER_KEYS) {
            sender = Some(value);
        } else if key_is(key, TIME_KEYS) {
            time = Some(value);
        } else if key_is(key, BODY_KEYS) {
            body_first = Some(value);
            break;
        }
    }
    let sender = sender
        .filter(|s| !s.is_empty())
        .ok_or(TranscriptError::MissingSender { block })?;
    let time = time.ok_or(TranscriptError::MissingTime { block })?;
    let body_first = body_first.ok_or(TranscriptError::MissingBody { block })?;
    let sent_at = parse_time(time).ok_or_else(|| TranscriptError::BadTime {
        block,
        value: time.to_string(),
    })?;
    let (sender, sender_email) = parse_sender(sender);

    let body_lines: Vec<&str> = std::iter::once(body_first)
        .filter(|l| !l.is_empty())
        .chain(lines)
        .collect();
    let start = body_lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(body_lines.len());
    let end = body_lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(start, |e| e + 1);
    let body = body_lines[start..end].join("\n");
    Ok(TranscriptMessage {
        index: block,
        sender,
        sender_email,
        sent_at,
        body,
    })
}

/// Reads the export's times. Times without a zone are taken as UTC, the zone the exporter writes.
fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    const ZONED: &[&str] = &[
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y/%m/%d %H:%M:%S%.f%:z",
    ];
    const NAIVE: &[&str] = &[
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
    ];
    let value = value.trim();
    let zoned = DateTime::parse_from_rfc3339(value)
        .ok()
        .or_else(|| {
            ZONED
                .iter()
                .find_map(|f| DateTime::parse_from_str(value, f).ok())
        })
        .or_else(|| DateTime::parse_from_rfc2822(value).ok());
    zoned.map(|t| t.with_timezone(&Utc)).or_else(|| {
        let value = value.strip_suffix("UTC").map_or(value, str::trim_end);
        NAIVE
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
            .map(|t| t.and_utc())
    })
}

/// `Name <addr>` gives the name and the address; a bare address is both; anything else is a name.
fn parse_sender(raw: &str) -> (String, Option<String>) {
    if let Some(c) = NAME_AND_ADDRESS.captures(raw) {
        let address = c[2].to_string();
        let name = c[1].trim().trim_matches('"').trim();
        let name = if name.is_empty() {
            address.clone()
        } else {
            name.to_string()
        };
        return (name, Some(address));
    }
    let email = BARE_ADDRESS.is_match(raw).then(|| raw.to_string());
    (raw.to_string(), email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("valid test time")
            + chrono::Duration::milliseconds(i64::from(ms))
    }

    #[test]
    fn times_in_the_export_formats_are_read() {
        let cases: &[(&str, Option<DateTime<Utc>>)] = &[
            (
                "2022-04-07 14:05:29.682000+00:00",
                Some(utc(2022, 4, 7, 14, 5, 29, 682)),
            ),
            (
                "2022-04-07 22:05:29.682000+08:00",
                Some(utc(2022, 4, 7, 14, 5, 29, 682)),
            ),
            (
                "2022-04-07 14:05:29+00:00",
                Some(utc(2022, 4, 7, 14, 5, 29, 0)),
            ),
            ("2022-04-07T14:05:29Z", Some(utc(2022, 4, 7, 14, 5, 29, 0))),
            (
                "Thu, 7 Apr 2022 22:05:29 +0800",
                Some(utc(2022, 4, 7, 14, 5, 29, 0)),
            ),
            ("2022-04-07 14:05:29", Some(utc(2022, 4, 7, 14, 5, 29, 0))),
            ("2022/04/07 14:05", Some(utc(2022, 4, 7, 14, 5, 0, 0))),
            ("yesterday", None),
            ("2022-13-07 14:05:29+00:00", None),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_time(value), *expected, "time {value:?}");
        }
    }

    #[test]
    fn senders_are_split_into_name_and_address() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("Wang Binbin", "Wang Binbin", None),
            ("张坚亮", "张坚亮", None),
            (
                "chenhui.zd@centerm.com",
                "chenhui.zd@centerm.com",
                Some("chenhui.zd@centerm.com"),
            ),
            (
                "Wang Binbin <Wangbb@cmgos.com>",
                "Wang Binbin",
                Some("Wangbb@cmgos.com"),
            ),
            (
                "\"王彬彬\" <Wangbb@cmgos.com>",
                "王彬彬",
                Some("Wangbb@cmgos.com"),
            ),
            (
                "<Wangbb@cmgos.com>",
                "Wangbb@cmgos.com",
                Some("Wangbb@cmgos.com"),
            ),
        ];
        for (raw, name, email) in cases {
            let (got_name, got_email) = parse_sender(raw);
            assert_eq!(
                (got_name.as_str(), got_email.as_deref()),
                (*name, *email),
                "sender {raw:?}"
            );
        }
    }

    #[test]
    fn malformed_transcripts_are_rejected_naming_the_block() {
        let head = "邮件主题：测试\n\n";
        let cases: &[(&str, String, &str)] = &[
            (
                "no subject",
                "====第1封邮件====\n发件人：a\n".to_string(),
                "subject line",
            ),
            ("no blocks", head.to_string(), "no message blocks"),
            (
                "missing sender",
                format!(
                    "{head}====第1封邮件====\n发送时间：2022-04-07 14:05:29+00:00\n邮件内容:\nx\n"
                ),
                "block 1: no sender",
            ),
            (
                "bad time",
                format!(
                    "{head}====第1封邮件====\n发件人：a\n发送时间：2022-04-07 14:05:29+00:00\n邮件内容:\nx\n====第2封邮件====\n发件人：b\n发送时间：明天\n邮件内容:\ny\n"
                ),
                "block 2: cannot read send time \"明天\"",
            ),
            (
                "missing body",
                format!(
                    "{head}====第3封邮件====\n发件人：a\n发送时间：2022-04-07 14:05:29+00:00\n"
                ),
                "block 3: no body",
            ),
            (
                "missing time",
                format!("{head}====第4封邮件====\n发件人：a\n邮件内容:\nx"),
                "block 4: no send time",
            ),
            (
                "stray line",
                format!("{head}====第5封邮件====\n发件人：a\nhello\n"),
                "block 5: unexpected line",
            ),
        ];
        for (name, text, expected) in cases {
            let err = parse_transcript(text).expect_err(name);
            assert!(err.to_string().contains(expected), "case {name}: {err}");
        }
    }

    #[test]
    fn english_transcripts_are_read() {
        let text = "Subject: Activation fails [CAS-06004-S8K5X3]\n\n==== Mail 1 ====\nFrom: Wang Binbin <Wangbb@cmgos.com>\nSent: 2022-04-07 14:05:29.682000+00:00\nBody:\nDear Ms Chen,\nthanks.\n==== Mail 2 ====\nFrom: chenhui.zd@centerm.com\nTo: Wangbb@cmgos.com\nSent: 2022-04-07 14:30:29.374000+00:00\nBody: Done.\n";
        let transcript = parse_transcript(text).expect("valid transcript");
        assert_eq!(transcript.subject, "Activation fails [CAS-06004-S8K5X3]");
        assert_eq!(
            transcript.case_number().map(|n| n.to_string()).as_deref(),
            Some("CAS-06004-S8K5X3")
        );
        let got: Vec<(u32, &str, Option<&str>, &str)> = transcript
            .messages
            .iter()
            .map(|m| {
                (
                    m.index,
                    m.sender.as_str(),
                    m.sender_email.as_deref(),
                    m.body.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    1,
                    "Wang Binbin",
                    Some("Wangbb@cmgos.com"),
                    "Dear Ms Chen,\nthanks."
                ),
                (
                    2,
                    "chenhui.zd@centerm.com",
                    Some("chenhui.zd@centerm.com"),
                    "Done."
                ),
            ]
        );
    }

    #[test]
    fn marker_on_the_same_line_as_text_ends_the_body() {
        let text = "邮件主题：x\n====第1封邮件====\n发件人：a\n发送时间：2022-04-07 14:05:29+00:00\n邮件内容:\n通知====第2封邮件====\n发件人：b\n发送时间：2022-04-07 14:06:29+00:00\n邮件内容:\n好\n";
        let transcript = parse_transcript(text).expect("valid transcript");
        let bodies: Vec<&str> = transcript
            .messages
            .iter()
            .map(|m| m.body.as_str())
            .collect();
        assert_eq!(bodies, ["通知", "好"]);
    }

    #[test]
    fn decodes_bom_utf8_and_gbk() {
        let (gbk, _, _) =
            encoding_rs::GBK.encode("邮件主题：激活失败，请尽快处理。发件人：王彬彬，您好");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("utf-8", "邮件主题：激活失败".as_bytes().to_vec()),
            (
                "utf-8 with bom",
                [b"\xEF\xBB\xBF".as_slice(), "邮件主题：激活失败".as_bytes()].concat(),
            ),
            ("gbk", gbk.into_owned()),
        ];
        for (name, bytes) in cases {
            assert!(
                decode_text(&bytes).starts_with("邮件主题：激活失败"),
                "case {name}"
            );
        }
    }

    #[test]
    fn cut_or_damaged_transcripts_are_read_or_refused_without_panicking() {
        let seed = include_str!("../../../tests/fixtures/transcripts/seed-thread.txt");
        let chars: Vec<char> = seed.chars().collect();
        let mut parsed = 0;
        for cut in (0..chars.len()).step_by(37) {
            let head: String = chars[..cut].iter().collect();
            parsed += usize::from(parse_transcript(&head).is_ok());
            // The same text with one character missing at the cut: a broken marker or header.
            let gap: String = chars[..cut].iter().chain(&chars[cut + 1..]).collect();
            parsed += usize::from(parse_transcript(&gap).is_ok());
        }
        assert!(parsed > 0, "most damaged copies still read");
    }
}
