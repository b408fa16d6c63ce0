//! The places mail comes from, read as a stream of raw messages.
//!
//! [`detect`] looks at a path and says what it is; [`open`] turns a mail source into an iterator of
//! [`RawItem`]s (the message bytes plus an origin label such as `box.mbox#12` for error reports).
//! Nothing here parses MIME: that is the parser's job, which keeps these readers small, streaming
//! and fast. Thread transcripts are not mail and are read by [`transcript`] instead.

pub mod eml;
pub mod maildir;
pub mod mbox;
pub mod transcript;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The path that stands for standard input (mail piped in by an MTA).
pub const STDIN_PATH: &str = "-";

/// How many bytes of a file [`detect`] looks at; transcript markers and mbox envelopes are at the top.
const SNIFF_BYTES: u64 = 64 * 1024;

/// What kind of mail source a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// One RFC 5322 message in a file.
    Eml,
    /// A directory of `.eml` files, searched recursively.
    EmlFolder,
    /// An mbox file (mboxo or mboxrd).
    Mbox,
    /// A Maildir (a directory with `cur/` or `new/`).
    Maildir,
    /// Standard input: one message, or an mbox stream if it starts with a `From ` envelope line.
    Stdin,
    /// An exported thread transcript (`邮件主题：…`, `====第1封邮件====`), see [`transcript`].
    Transcript,
}

/// One raw message read from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawItem {
    /// Where the message came from, for error reports: the file path, or `path#N` for the N-th
    /// message (from 1) of an mbox.
    pub origin: String,
    /// The message exactly as stored (mbox escaping undone, envelope line dropped).
    pub bytes: Vec<u8>,
}

/// How much work a source holds, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeHint {
    /// The number of messages.
    Messages(u64),
    /// The number of bytes; progress is the sum of the [`RawItem::bytes`] lengths read so far
    /// (slightly short of the total, since envelope lines and escapes are not counted).
    Bytes(u64),
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The path does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// Reading failed.
    #[error("cannot read {origin}: {source}")]
    Io {
        /// The file, directory or message being read.
        origin: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The path is a thread transcript, which is imported with [`transcript`], not read as mail.
    #[error("{} is a thread transcript, not mail: import it as a transcript", path.display())]
    IsTranscript {
        /// The path given.
        path: PathBuf,
    },
}

impl SourceError {
    pub(crate) fn io(origin: impl Into<String>, source: io::Error) -> Self {
        SourceError::Io {
            origin: origin.into(),
            source,
        }
    }

    fn at_path(path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            SourceError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            SourceError::io(path.display().to_string(), source)
        }
    }
}

/// The stream of messages [`open`] returns.
pub type RawItems = Box<dyn Iterator<Item = Result<RawItem, SourceError>>>;

/// Says what kind of source `path` is: `-` is standard input; a directory with `cur/` or `new/` is
/// a Maildir and any other directory a folder of `.eml` files; a file starting with `From ` is an
/// mbox; a file whose first non-empty line starts with `邮件主题：` (or that has a
/// `====第1封邮件====` / `==== Mail 1 ====` line near the top) is a transcript; anything else is a
/// single message.
pub fn detect(path: &Path) -> Result<SourceKind, SourceError> {
    if path.as_os_str() == STDIN_PATH {
        return Ok(SourceKind::Stdin);
    }
    let meta = std::fs::metadata(path).map_err(|e| SourceError::at_path(path, e))?;
    if meta.is_dir() {
        let maildir = path.join("cur").is_dir() || path.join("new").is_dir();
        return Ok(if maildir {
            SourceKind::Maildir
        } else {
            SourceKind::EmlFolder
        });
    }
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head))
        .map_err(|e| SourceError::at_path(path, e))?;
    Ok(kind_of_file_head(&head))
}

fn kind_of_file_head(head: &[u8]) -> SourceKind {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.starts_with(b"From ") {
        SourceKind::Mbox
    } else if transcript::looks_like_transcript(&transcript::decode_text(head)) {
        SourceKind::Transcript
    } else {
        SourceKind::Eml
    }
}

/// Opens a mail source (of any kind but [`SourceKind::Transcript`]) as a stream of raw messages.
/// Folder and Maildir streams know their exact length (`Iterator::size_hint`); an mbox is read
/// lazily, one message in memory at a time. Per-message read failures are yielded as `Err` items
/// so one unreadable file does not stop an import.
pub fn open(path: &Path) -> Result<RawItems, SourceError> {
    match detect(path)? {
        SourceKind::Eml => Ok(Box::new(std::iter::once(eml::read_one(path)))),
        SourceKind::EmlFolder => Ok(Box::new(eml::read_all(eml::list_folder(path)?))),
        SourceKind::Maildir => Ok(Box::new(eml::read_all(maildir::list(path)?))),
        SourceKind::Mbox => {
            let file = File::open(path).map_err(|e| SourceError::at_path(path, e))?;
            let label = path.display().to_string();
            Ok(Box::new(mbox::MboxReader::new(
                BufReader::with_capacity(1 << 16, file),
                label,
            )))
        }
        SourceKind::Stdin => open_stdin(),
        SourceKind::Transcript => Err(SourceError::IsTranscript {
            path: path.to_path_buf(),
        }),
    }
}

/// Standard input is an mbox stream when it starts with an envelope line (MTAs such as Postfix's
/// `pipe` add one), otherwise a single message.
fn open_stdin() -> Result<RawItems, SourceError> {
    let mut input = io::stdin().lock();
    let is_mbox = input
        .fill_buf()
        .map_err(|e| SourceError::io("stdin", e))?
        .starts_with(b"From ");
    if is_mbox {
        return Ok(Box::new(mbox::MboxReader::new(input, "stdin".to_string())));
    }
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| SourceError::io("stdin", e))?;
    Ok(Box::new(std::iter::once(Ok(RawItem {
        origin: "stdin".to_string(),
        bytes,
    }))))
}

/// How much work `path` holds, for a progress bar: a message count for files and folders, a byte
/// count for an mbox, nothing for standard input or a transcript. Listing a folder is the only
/// cost; no message is read.
pub fn size_hint(path: &Path) -> Result<Option<SizeHint>, SourceError> {
    let count = |files: Vec<PathBuf>| Some(SizeHint::Messages(files.len() as u64));
    Ok(match detect(path)? {
        SourceKind::Eml => Some(SizeHint::Messages(1)),
        SourceKind::EmlFolder => count(eml::list_folder(path)?),
        SourceKind::Maildir => count(maildir::list(path)?),
        SourceKind::Mbox => {
            let meta = std::fs::metadata(path).map_err(|e| SourceError::at_path(path, e))?;
            Some(SizeHint::Bytes(meta.len()))
        }
        SourceKind::Stdin | SourceKind::Transcript => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_heads_are_classified_by_their_first_bytes() {
        let cases: &[(&str, &[u8], SourceKind)] = &[
            (
                "mbox envelope",
                b"From a@b.c Thu Apr  7 14:05:29 2022\nSubject: x\n",
                SourceKind::Mbox,
            ),
            (
                "mbox after a byte-order mark",
                b"\xEF\xBB\xBFFrom a@b.c Thu Apr  7 14:05:29 2022\n",
                SourceKind::Mbox,
            ),
            (
                "rfc 5322 headers",
                b"From: a@b.c\nSubject: x\n\nbody",
                SourceKind::Eml,
            ),
            ("empty file", b"", SourceKind::Eml),
            (
                "chinese transcript subject line",
                "\n邮件主题：回复: 激活失败\n\n====第1封邮件====\n".as_bytes(),
                SourceKind::Transcript,
            ),
            (
                "chinese transcript marker only",
                "主题\n====第1封邮件====\n".as_bytes(),
                SourceKind::Transcript,
            ),
            (
                "english transcript",
                b"Subject: activation\n\n==== Mail 1 ====\nFrom: x\n",
                SourceKind::Transcript,
            ),
            (
                "english mail that is not a transcript",
                b"Subject: activation\nFrom: x\n\nbody\n",
                SourceKind::Eml,
            ),
        ];
        for (name, head, expected) in cases {
            assert_eq!(kind_of_file_head(head), *expected, "case: {name}");
        }
    }

    #[test]
    fn gbk_transcript_is_recognised() {
        let (gbk, _, _) =
            encoding_rs::GBK.encode("邮件主题：激活失败\n\n====第1封邮件====\n发件人：王彬彬\n");
        assert_eq!(kind_of_file_head(&gbk), SourceKind::Transcript);
    }
}
