//! Streaming mbox reader (mboxo and mboxrd).
//!
//! Messages are separated by an envelope line beginning `From `, at the start of the file or after
//! a blank line; the envelope line and the blank line before it are not part of either message.
//! Escaping is undone the mboxrd way, removing one `>` from lines matching `^>+From `. That is also
//! right for mboxo, whose writers only escaped `From ` to `>From `; an mboxo line that was really
//! `>From ` loses its `>`, an ambiguity of the format itself.
//!
//! An envelope after the first is a `From ` line after a blank line that is followed by a header
//! line (`Name: value`): every message starts with its header. Writers differ in the envelope itself
//! — Python's `mailbox` writes `From sender` with no date, Thunderbird `From - <date>`, Gmail
//! Takeout `From <id>@xxx <date>`, mutt `From <sender> <asctime>` — so the envelope's own shape
//! is not relied on. A body sentence beginning "From …" after a blank line, which some writers do
//! not escape, stays in its message unless a header-like line follows it; in that rare doubt the
//! reader splits, and both parts are kept as messages (nothing is lost, nothing merged).
//!
//! Only one message is held in memory at a time, so multi-gigabyte archives import in constant
//! memory. CRLF files are handled; line endings are passed through unchanged.

use std::io::BufRead;
use std::sync::LazyLock;

use regex::bytes::Regex;

use super::{RawItem, SourceError};

// The `expect`s on `Regex::new` below cannot fire at run time: every pattern is a literal, and the
// unit tests compile each one.

/// A header line opening a message: a field name (printable ASCII but `:`), a colon.
static HEADER_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[!-9;-~]+:").expect("header regex is valid"));

/// Iterator over the messages of an mbox read from `R`.
pub struct MboxReader<R> {
    reader: R,
    label: String,
    line: Vec<u8>,
    /// A line read ahead to decide whether `line` is an envelope; it is processed next.
    lookahead: Option<Vec<u8>>,
    current: Vec<u8>,
    /// Length of the last line appended to `current` if it was blank (a possible separator).
    trailing_blank: Option<usize>,
    at_start: bool,
    /// Envelopes seen so far; the current message's number in origins.
    envelopes: usize,
    done: bool,
}

impl<R: BufRead> MboxReader<R> {
    /// A reader over `reader`; `label` (usually the file path) prefixes each message's origin,
    /// which becomes `label#N` for the N-th message, counting from 1.
    pub fn new(reader: R, label: String) -> Self {
        MboxReader {
            reader,
            label,
            line: Vec::new(),
            lookahead: None,
            current: Vec::new(),
            trailing_blank: None,
            at_start: true,
            envelopes: 0,
            done: false,
        }
    }

    fn origin(&self) -> String {
        format!("{}#{}", self.label, self.envelopes.max(1))
    }

    /// Hands out the message collected so far (without its separating blank line), unless it is
    /// empty: a stray envelope or leading blank lines are not messages.
    fn take_message(&mut self) -> Option<RawItem> {
        if let Some(len) = self.trailing_blank.take() {
            self.current.truncate(self.current.len() - len);
        }
        let bytes = std::mem::take(&mut self.current);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some(RawItem {
            origin: self.origin(),
            bytes,
        })
    }

    /// Reads the next line into `self.line` (the line read ahead, if any, first); 0 at the end.
    fn read_line(&mut self) -> std::io::Result<usize> {
        self.line.clear();
        if let Some(ahead) = self.lookahead.take() {
            self.line = ahead;
            return Ok(self.line.len());
        }
        self.reader.read_until(b'\n', &mut self.line)
    }

    /// Whether `self.line` is an envelope; after the first, this reads one line ahead.
    fn is_envelope(&mut self) -> std::io::Result<bool> {
        if !self.line.starts_with(b"From ") {
            return Ok(false);
        }
        if self.at_start {
            return Ok(true);
        }
        if self.trailing_blank.is_none() {
            return Ok(false);
        }
        let mut ahead = Vec::new();
        self.reader.read_until(b'\n', &mut ahead)?;
        let header_follows = HEADER_LINE.is_match(&ahead);
        if !ahead.is_empty() {
            self.lookahead = Some(ahead);
        }
        Ok(header_follows)
    }
}

fn is_blank(line: &[u8]) -> bool {
    matches!(line, b"\n" | b"\r\n")
}

/// Whether the line is an escaped `From ` line (`>From `, `>>From `, …).
fn is_escaped_from(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    quotes > 0 && line[quotes..].starts_with(b"From ")
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = Result<RawItem, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.read_line() {
                Err(e) => {
                    // A failed read leaves the stream position unknown; stop rather than guess.
                    self.done = true;
                    return Some(Err(SourceError::io(self.origin(), e)));
                }
                Ok(0) => {
                    self.done = true;
                    return self.take_message().map(Ok);
                }
                Ok(_) => {}
            }
            let envelope = match self.is_envelope() {
                Ok(envelope) => envelope,
                Err(e) => {
                    self.done = true;
                    return Some(Err(SourceError::io(self.origin(), e)));
                }
            };
            if envelope {
                self.at_start = false;
                let finished = self.take_message();
                self.envelopes += 1;
                if let Some(item) = finished {
                    return Some(Ok(item));
                }
                continue;
            }
            self.at_start = false;
            let unescaped = if is_escaped_from(&self.line) {
                &self.line[1..]
            } else {
                &self.line[..]
            };
            self.current.extend_from_slice(unescaped);
            self.trailing_blank = is_blank(&self.line).then_some(self.line.len());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(mbox: &str) -> Vec<(String, String)> {
        MboxReader::new(mbox.as_bytes(), "box.mbox".to_string())
            .map(|item| {
                let item = item.expect("in-memory read cannot fail");
                (
                    item.origin,
                    String::from_utf8(item.bytes).expect("test mail is UTF-8"),
                )
            })
            .collect()
    }

    #[test]
    fn splits_messages_and_unescapes_from_lines() {
        /// (what the case shows, mbox text, expected (origin, message) pairs)
        type Case = (
            &'static str,
            &'static str,
            &'static [(&'static str, &'static str)],
        );
        let cases: &[Case] = &[
            (
                "two messages, envelope and separator dropped",
                "From a@x Thu Apr  7 14:05:29 2022\nSubject: one\n\nfirst\n\nFrom b@x Thu Apr  7 14:30:29 2022\nSubject: two\n\nsecond\n",
                &[
                    ("box.mbox#1", "Subject: one\n\nfirst\n"),
                    ("box.mbox#2", "Subject: two\n\nsecond\n"),
                ],
            ),
            (
                "mboxrd escapes lose one level",
                "From a@x Thu Apr  7 14:05:29 2022\nSubject: one\n\n>From the log:\n>>From here\nok\n",
                &[(
                    "box.mbox#1",
                    "Subject: one\n\nFrom the log:\n>From here\nok\n",
                )],
            ),
            (
                "mboxo escaped From after a blank line does not split",
                "From a@x Thu Apr  7 14:05:29 2022\nSubject: one\n\nHello\n\n>From Beijing office, 10:30 today\nbye\n",
                &[(
                    "box.mbox#1",
                    "Subject: one\n\nHello\n\nFrom Beijing office, 10:30 today\nbye\n",
                )],
            ),
            (
                "From without a blank line before it is body text",
                "From a@x Thu Apr  7 14:05:29 2022\nSubject: one\n\nline\nFrom b@x Thu Apr  7 14:30:29 2022\n",
                &[(
                    "box.mbox#1",
                    "Subject: one\n\nline\nFrom b@x Thu Apr  7 14:30:29 2022\n",
                )],
            ),
            (
                "unescaped From sentence without a time does not split",
                "From a@x Thu Apr  7 14:05:29 2022\nSubject: one\n\nHi\n\nFrom my side it still fails.\n",
                &[(
                    "box.mbox#1",
                    "Subject: one\n\nHi\n\nFrom my side it still fails.\n",
                )],
            ),
            (
                "crlf line endings are kept and separators found",
                "From a@x Thu Apr  7 14:05:29 2022\r\nSubject: one\r\n\r\nfirst\r\n\r\nFrom b@x Thu Apr  7 14:30:29 2022\r\nSubject: two\r\n\r\nsecond\r\n",
                &[
                    ("box.mbox#1", "Subject: one\r\n\r\nfirst\r\n"),
                    ("box.mbox#2", "Subject: two\r\n\r\nsecond\r\n"),
                ],
            ),
            (
                "empty message keeps the numbering of the next",
                "From a@x Thu Apr  7 14:05:29 2022\n\nFrom b@x Thu Apr  7 14:30:29 2022\nSubject: two\n\nsecond",
                &[("box.mbox#2", "Subject: two\n\nsecond")],
            ),
            ("empty input has no messages", "", &[]),
            (
                "Python's mailbox: envelopes without a date still split",
                "From sender\nSubject: one\n\nfirst\n\nFrom sender\nSubject: two\n\nsecond\n\nFrom MAILER-DAEMON\nFrom: c@x\n\nthird\n",
                &[
                    ("box.mbox#1", "Subject: one\n\nfirst\n"),
                    ("box.mbox#2", "Subject: two\n\nsecond\n"),
                    ("box.mbox#3", "From: c@x\n\nthird\n"),
                ],
            ),
            (
                "Thunderbird and Gmail Takeout envelopes split",
                "From - Thu Apr 07 14:05:29 2022\nX-Mozilla-Status: 0001\nSubject: one\n\nfirst\n\nFrom 1729@xxx Thu Apr 07 14:30:29 +0000 2022\nX-GM-THRID: 1729\nSubject: two\n\nsecond\n",
                &[
                    (
                        "box.mbox#1",
                        "X-Mozilla-Status: 0001\nSubject: one\n\nfirst\n",
                    ),
                    ("box.mbox#2", "X-GM-THRID: 1729\nSubject: two\n\nsecond\n"),
                ],
            ),
            (
                "an unescaped From sentence with a time of day stays in its message",
                "From a@x Thu Apr  7 14:05:29 2022\nSubject: one\n\nHello\n\nFrom Beijing office, 10:30 today\nbye\n",
                &[(
                    "box.mbox#1",
                    "Subject: one\n\nHello\n\nFrom Beijing office, 10:30 today\nbye\n",
                )],
            ),
            (
                "a From sentence that ends the file stays in its message",
                "From a@x Thu Apr  7 14:05:29 2022\nSubject: one\n\nHello\n\nFrom me",
                &[("box.mbox#1", "Subject: one\n\nHello\n\nFrom me")],
            ),
        ];
        for (name, mbox, expected) in cases {
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(o, b)| (o.to_string(), b.to_string()))
                .collect();
            assert_eq!(read(mbox), expected, "case: {name}");
        }
    }

    #[test]
    fn reads_large_archives_one_message_at_a_time() {
        let message = "From a@x Thu Apr  7 14:05:29 2022\nSubject: s\n\nbody line\n\n";
        let mbox = message.repeat(20_000);
        let reader = MboxReader::new(std::io::Cursor::new(mbox.into_bytes()), "big".to_string());
        let mut count = 0;
        for item in reader {
            let item = item.expect("in-memory read cannot fail");
            assert_eq!(item.bytes, b"Subject: s\n\nbody line\n");
            count += 1;
        }
        assert_eq!(count, 20_000);
    }
}
