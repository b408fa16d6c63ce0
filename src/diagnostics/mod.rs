//! Activation diagnostics: reads what customers send (wmic, systeminfo and PowerShell output, alone,
//! pasted in a console transcript, or in a zip bundle or folder), builds the hardware fingerprint of
//! each snapshot, and explains with evidence why a device is a virtual machine, why its identity is
//! missing or fake, and why an activation sees "another computer".
//!
//! Pure logic: no database, no web. The rules are data (`rules.toml`), so "why was this called a
//! VM?" is answered by reading that file and the evidence each rule produced.
//!
//! Flow: bytes → [`bundle`] (zip/folder, within [`Limits`]) → `decode` (UTF-8/UTF-16/GBK) →
//! `reader` (console segments; `wmic`, `systeminfo`, `powershell` parsers) → [`Fingerprint`] →
//! [`findings`] (verdict + findings) → [`analyse_set`] (drift across snapshots) → [`report`].
//!
//! On cases: [`store`] keeps each analysed input as a snapshot (raw bytes in the blob store) and
//! links cases that saw the same device; [`links`] are the customers' upload links; [`routes`] the
//! case panel, the report pages and the public upload page; [`upload`] reads multipart uploads.

mod bundle;
mod classes;
pub mod cli;
mod decode;
pub mod findings;
pub mod fingerprint;
mod inventory;
pub mod links;
mod powershell;
mod reader;
pub mod report;
pub mod routes;
pub mod rules;
pub mod schema;
pub mod service;
pub mod store;
mod systeminfo;
pub mod upload;
mod wmic;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Cursor, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use findings::{Evidence, Finding, FindingCode, LocalizedText, Severity, Verdict};
pub use fingerprint::{Field, Fingerprint, RawReading, Reading};
pub use reader::OutputForm;
pub use rules::Rules;

use bundle::{Contents, LoadedFile, NotReadReason};
use reader::Target;

/// Bounds on what one input may make the engine read. Refusing is better than exhausting memory on a
/// zip bomb sent as a mail attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries in a zip or files and folders in a directory.
    pub max_entries: usize,
    /// Uncompressed bytes of a whole bundle (declared, and counted while reading).
    pub max_total_uncompressed_bytes: u64,
    /// Uncompressed size divided by compressed size, per zip entry of 64 KiB or more.
    pub max_ratio: u64,
    /// One file; a larger file in a bundle is listed, not read; a larger single input is refused.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    /// Generous for a collected log archive (a few hundred files, tens of MB), far below harm.
    fn default() -> Self {
        Limits {
            max_entries: 5_000,
            max_total_uncompressed_bytes: 256 * 1024 * 1024,
            max_ratio: 200,
            max_file_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Which limit refused an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::max_total_uncompressed_bytes`].
    TotalUncompressedBytes,
    /// [`Limits::max_ratio`].
    CompressionRatio,
    /// An entry produced more bytes than its header declared.
    DeclaredSize,
    /// [`Limits::max_file_bytes`].
    FileBytes,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::Entries => "entry count (max_entries)",
            LimitKind::TotalUncompressedBytes => {
                "total uncompressed size (max_total_uncompressed_bytes)"
            }
            LimitKind::CompressionRatio => "compression ratio (max_ratio)",
            LimitKind::DeclaredSize => "declared entry size",
            LimitKind::FileBytes => "file size (max_file_bytes)",
        })
    }
}

/// Why an input or the rules could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DiagnosticsError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The rules file is invalid.
    #[error("invalid diagnostics rules in {origin}: {message}")]
    Rules {
        /// `built-in rules.toml` or the override file's path.
        origin: String,
        /// What is wrong, naming the rule.
        message: String,
    },
    /// A limit refused the input (a zip bomb, an oversized upload).
    #[error("{source_name} refused: {limit} limit exceeded: {detail}")]
    LimitExceeded {
        /// The input.
        source_name: String,
        /// Which limit.
        limit: LimitKind,
        /// Sizes involved.
        detail: String,
    },
    /// The input starts like a zip but cannot be opened.
    #[error("{source_name} is not a readable zip archive: {message}")]
    BadArchive {
        /// The input.
        source_name: String,
        /// The zip reader's complaint.
        message: String,
    },
    /// Binary data (an image, random bytes), not text output.
    #[error(
        "{source_name} is not text: expected wmic, systeminfo or PowerShell output saved as a text file"
    )]
    NotText {
        /// The input.
        source_name: String,
    },
    /// Text, but nothing the engine knows.
    #[error(
        "{source_name} contains no wmic, systeminfo or PowerShell hardware output and no known activation message"
    )]
    NothingRecognised {
        /// The input.
        source_name: String,
    },
}

impl DiagnosticsError {
    /// The interface-string key (`upload.why.*`) that tells a customer, in their words, why a file
    /// was not accepted and what to send instead; the message itself, with limits and
    /// configuration keys, is for staff.
    pub fn customer_reason_key(&self) -> &'static str {
        match self {
            DiagnosticsError::LimitExceeded { limit, .. } => match limit {
                LimitKind::Entries => "upload.why.entries",
                LimitKind::TotalUncompressedBytes => "upload.why.total_size",
                LimitKind::CompressionRatio | LimitKind::DeclaredSize => "upload.why.suspect_zip",
                LimitKind::FileBytes => "upload.why.file_size",
            },
            DiagnosticsError::BadArchive { .. } => "upload.why.bad_zip",
            DiagnosticsError::NotText { .. } => "upload.why.not_text",
            DiagnosticsError::NothingRecognised { .. } => "upload.why.nothing_recognised",
            DiagnosticsError::Io { .. } | DiagnosticsError::Rules { .. } => "upload.why.unreadable",
        }
    }
}

/// A file that was part of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Its name (inside a bundle: `bundle.zip/dir/file.txt`).
    pub name: String,
    /// Size in bytes (uncompressed).
    pub size: u64,
    /// Whether its text was read; files that are not text or too large are listed only.
    pub read: bool,
    /// The encoding it was decoded with, when read.
    pub encoding: Option<String>,
    /// The outputs recognised in it (empty for text that held none).
    pub forms: Vec<OutputForm>,
}

/// What one device produced at one time (one file, folder or zip), and what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The input's name.
    pub source: String,
    /// The hardware identity read.
    pub fingerprint: Fingerprint,
    /// Virtual, physical or unknown.
    pub verdict: Verdict,
    /// The values the verdict rests on (VM strings, or the real identity for `physical`).
    pub verdict_evidence: Vec<Evidence>,
    /// Findings about this snapshot.
    pub findings: Vec<Finding>,
    /// Every file looked at, read or listed.
    pub files: Vec<InputFile>,
    /// Other values read from hardware output (see [`RawReading`]).
    pub other_readings: Vec<RawReading>,
}

/// Several snapshots of (supposedly) the same device, and what changed between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// In the order given (oldest first for drift to read naturally).
    pub snapshots: Vec<Snapshot>,
    /// Cross-snapshot findings (`fingerprint-drift`).
    pub findings: Vec<Finding>,
}

/// Bounds the memory a hostile input can make the evidence lists use.
const MAX_OTHER_READINGS: usize = 1_000;
const MAX_HITS_PER_MESSAGE: usize = 20;
const MAX_EVIDENCE_TEXT_CHARS: usize = 200;

/// Analyses a file (text or zip) or a folder as one snapshot.
pub fn analyse_path(
    path: &Path,
    rules: &Rules,
    limits: &Limits,
) -> Result<Snapshot, DiagnosticsError> {
    let io = |source| DiagnosticsError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let source_name = path.display().to_string();
    if meta.is_dir() {
        let contents = bundle::read_dir(path, limits)?;
        return build_snapshot(&source_name, contents, true, rules);
    }
    let file_name = path
        .file_name()
        .map_or_else(|| source_name.clone(), |n| n.to_string_lossy().into_owned());
    let mut head = [0u8; 4];
    let head_len = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(io)?;
    let (cap, kind) = if bundle::is_zip(&head[..head_len]) {
        (
            limits.max_total_uncompressed_bytes,
            LimitKind::TotalUncompressedBytes,
        )
    } else {
        (limits.max_file_bytes, LimitKind::FileBytes)
    };
    if meta.len() > cap {
        return Err(DiagnosticsError::LimitExceeded {
            source_name,
            limit: kind,
            detail: format!("{} bytes, at most {cap} allowed", meta.len()),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let mut snapshot = analyse_bytes(&file_name, &bytes, rules, limits)?;
    snapshot.source = source_name;
    Ok(snapshot)
}

/// Analyses one file or zip held in memory (a mail attachment, an upload) as one snapshot.
pub fn analyse_bytes(
    source_name: &str,
    bytes: &[u8],
    rules: &Rules,
    limits: &Limits,
) -> Result<Snapshot, DiagnosticsError> {
    if bundle::is_zip(bytes) {
        let contents = bundle::read_zip(source_name, bytes, limits)?;
        return build_snapshot(source_name, contents, true, rules);
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(DiagnosticsError::LimitExceeded {
            source_name: source_name.to_string(),
            limit: LimitKind::FileBytes,
            detail: format!(
                "{} bytes, at most {} allowed",
                bytes.len(),
                limits.max_file_bytes
            ),
        });
    }
    let contents = Contents {
        loaded: vec![LoadedFile {
            name: source_name.to_string(),
            bytes: bytes.to_vec(),
        }],
        listed: Vec::new(),
    };
    build_snapshot(source_name, contents, false, rules)
}

/// Puts snapshots side by side and finds what changed between consecutive ones.
pub fn analyse_set(snapshots: Vec<Snapshot>, rules: &Rules) -> Analysis {
    let findings = snapshots
        .windows(2)
        .filter_map(|pair| {
            findings::drift(
                &pair[0].source,
                &pair[0].fingerprint,
                &pair[1].source,
                &pair[1].fingerprint,
                rules,
            )
        })
        .collect();
    Analysis {
        snapshots,
        findings,
    }
}

/// Words that appear in hardware-identity output and activation messages.
const MARKERS: [&str; 16] = [
    "wmic ",
    "systeminfo",
    "serialnumber",
    "identifyingnumber",
    "smbiosbiosversion",
    "system manufacturer",
    "系统制造商",
    "bios version",
    "bios 版本",
    "win32_baseboard",
    "win32_bios",
    "win32_computersystem",
    "get-ciminstance",
    "get-wmiobject",
    "device marker binding",
    "已被另一计算机使用",
];
const NAME_MARKERS: [&str; 9] = [
    "wmic",
    "computerinfo",
    "systeminfo",
    "baseboard",
    "bios",
    "csproduct",
    "computersystem",
    "msinfo",
    "cmge_log",
];
const SNIFF_BYTES: u64 = 64 * 1024;

/// Marker words, or anything the real reader recognises (a headerless wmic table has no marker).
fn text_has_markers(name: &str, bytes: &[u8]) -> bool {
    decode::decode(bytes).is_some_and(|d| {
        let lower = d.text.to_lowercase();
        MARKERS.iter().any(|m| lower.contains(m)) || {
            let scan = reader::scan(name, &d.text);
            !scan.observations.is_empty() || !scan.ambiguities.is_empty()
        }
    })
}

/// A cheap test for auto-analysing mail attachments: text, or a zip, that contains wmic,
/// systeminfo or PowerShell hardware output (or a known activation message). Reads at most a few
/// hundred kilobytes and never decompresses more than it needs.
pub fn looks_like_diagnostics(filename: &str, content_type: &str, bytes: &[u8]) -> bool {
    let content_type = content_type.to_ascii_lowercase();
    if ["image/", "audio/", "video/"]
        .iter()
        .any(|p| content_type.starts_with(p))
    {
        return false;
    }
    if bundle::is_zip(bytes) {
        let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
            return false;
        };
        let mut sniffed = 0;
        for index in 0..archive.len().min(Limits::default().max_entries) {
            let Ok(mut entry) = archive.by_index(index) else {
                continue;
            };
            let name = entry.name().map(|n| n.to_lowercase()).unwrap_or_default();
            if NAME_MARKERS.iter().any(|m| name.contains(m)) {
                return true;
            }
            let textual = name.ends_with(".txt") || name.ends_with(".log");
            if textual && sniffed < 10 && !entry.encrypted() {
                sniffed += 1;
                let mut head = Vec::new();
                if (&mut entry)
                    .take(SNIFF_BYTES)
                    .read_to_end(&mut head)
                    .is_ok()
                    && text_has_markers(&name, &head)
                {
                    return true;
                }
            }
        }
        return false;
    }
    let head = &bytes[..bytes.len().min(SNIFF_BYTES as usize)];
    let lower_name = filename.to_lowercase();
    text_has_markers(filename, head)
        || (NAME_MARKERS.iter().any(|m| lower_name.contains(m)) && decode::decode(head).is_some())
}

fn truncate(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_EVIDENCE_TEXT_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_EVIDENCE_TEXT_CHARS).collect();
    format!("{cut}…")
}

/// Reads every loaded file and judges the result.
fn build_snapshot(
    source: &str,
    contents: Contents,
    is_bundle: bool,
    rules: &Rules,
) -> Result<Snapshot, DiagnosticsError> {
    let mut fingerprint = Fingerprint::default();
    let mut other_readings = Vec::new();
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let mut hits: BTreeMap<usize, Vec<Evidence>> = BTreeMap::new();
    let mut any_text = false;

    for file in &contents.loaded {
        let size = file.bytes.len() as u64;
        let Some(decoded) = decode::decode(&file.bytes) else {
            files.push(InputFile {
                name: file.name.clone(),
                size,
                read: false,
                encoding: None,
                forms: Vec::new(),
            });
            continue;
        };
        any_text = true;
        let scan = reader::scan(&file.name, &decoded.text);
        for observation in scan.observations {
            match observation.target {
                Target::Field(field) => {
                    fingerprint.record(field, &observation.value, &file.name, observation.line)
                }
                Target::Raw(classes) if other_readings.len() < MAX_OTHER_READINGS => {
                    other_readings.push(RawReading {
                        classes: classes.iter().map(|c| c.alias().to_string()).collect(),
                        key: observation.key,
                        value: observation.value,
                        file: file.name.clone(),
                        line: observation.line,
                    });
                }
                Target::Raw(_) => {}
            }
        }
        for ambiguity in scan.ambiguities {
            let source = format!("{}:{}", file.name, ambiguity.line);
            let keys = ambiguity.keys.join(", ");
            let candidates = ambiguity.candidates.clone();
            let message = rules.message(FindingCode::AmbiguousSource).fill(|lang| {
                let classes = candidates
                    .iter()
                    .map(|c| fingerprint::plain_class(c.alias(), lang))
                    .collect::<Vec<_>>()
                    .join(" / ");
                vec![
                    ("source", source.clone()),
                    ("keys", keys.clone()),
                    ("classes", classes),
                ]
            });
            notes.push(Finding {
                code: FindingCode::AmbiguousSource,
                severity: Severity::Info,
                message,
                evidence: vec![Evidence {
                    field: "columns".into(),
                    value: keys,
                    source,
                }],
            });
        }
        for (index, line) in decode::lines(&decoded.text).iter().enumerate() {
            for (id, message) in rules.activation_messages.iter().enumerate() {
                if message.patterns.iter().any(|p| p.is_match(line)) {
                    let list = hits.entry(id).or_default();
                    if list.len() < MAX_HITS_PER_MESSAGE {
                        list.push(Evidence {
                            // The message's id names what was recognised (`0xC004F074`).
                            field: message.id.clone(),
                            value: truncate(line),
                            source: format!("{}:{}", file.name, index + 1),
                        });
                    }
                }
            }
        }
        files.push(InputFile {
            name: file.name.clone(),
            size,
            read: true,
            encoding: Some(decoded.encoding.to_string()),
            forms: scan.forms,
        });
    }

    for listed in &contents.listed {
        files.push(InputFile {
            name: listed.name.clone(),
            size: listed.size,
            read: false,
            encoding: None,
            forms: Vec::new(),
        });
        // Only files that may have held diagnostics deserve a finding; images and event logs do not.
        let reason = match listed.reason {
            NotReadReason::TooLarge => LocalizedText {
                en: "larger than the per-file limit".into(),
                zh: "超过单个文件大小限制".into(),
            },
            NotReadReason::Encrypted => LocalizedText {
                en: "password-protected".into(),
                zh: "有密码保护".into(),
            },
            NotReadReason::NotText | NotReadReason::NestedArchive => continue,
        };
        let name = listed.name.clone();
        let message = rules.message(FindingCode::FileNotRead).fill(|lang| {
            vec![
                ("file", name.clone()),
                ("reason", reason.get(lang).to_string()),
            ]
        });
        notes.push(Finding {
            code: FindingCode::FileNotRead,
            severity: Severity::Info,
            message,
            evidence: vec![Evidence {
                field: "file".into(),
                value: listed.size.to_string(),
                source: name,
            }],
        });
    }

    if fingerprint.is_blank() && other_readings.is_empty() && hits.is_empty() && notes.is_empty() {
        let source_name = source.to_string();
        return Err(if !is_bundle && !any_text {
            DiagnosticsError::NotText { source_name }
        } else {
            DiagnosticsError::NothingRecognised { source_name }
        });
    }

    let judgement = findings::judge(&fingerprint, &other_readings, rules);
    let mut all_findings = judgement.findings;
    for (id, evidence) in hits {
        let Some(message) = rules.activation_messages.get(id) else {
            continue;
        };
        let Some(first) = evidence.first() else {
            continue;
        };
        let (text, at) = (first.value.clone(), first.source.clone());
        let text_message = rules
            .message(FindingCode::KnownActivationError)
            .fill(|lang| {
                vec![
                    ("text", text.clone()),
                    ("source", at.clone()),
                    ("cause", message.cause.get(lang).to_string()),
                ]
            });
        all_findings.push(Finding {
            code: FindingCode::KnownActivationError,
            severity: Severity::Error,
            message: text_message,
            evidence,
        });
    }
    all_findings.extend(notes);
    Ok(Snapshot {
        source: source.to_string(),
        fingerprint,
        verdict: judgement.verdict,
        verdict_evidence: judgement.evidence,
        findings: all_findings,
        files,
        other_readings,
    })
}

#[cfg(test)]
mod customer_reason_tests {
    use super::*;

    #[test]
    fn every_refusal_tells_the_customer_why_in_both_languages() {
        let catalog = crate::web::catalog::Catalog::builtin().unwrap();
        let name = || "log.zip".to_string();
        let mut errors = vec![
            DiagnosticsError::BadArchive {
                source_name: name(),
                message: "bad".into(),
            },
            DiagnosticsError::NotText {
                source_name: name(),
            },
            DiagnosticsError::NothingRecognised {
                source_name: name(),
            },
            DiagnosticsError::Io {
                path: name(),
                source: std::io::Error::other("gone"),
            },
        ];
        for limit in [
            LimitKind::Entries,
            LimitKind::TotalUncompressedBytes,
            LimitKind::CompressionRatio,
            LimitKind::DeclaredSize,
            LimitKind::FileBytes,
        ] {
            errors.push(DiagnosticsError::LimitExceeded {
                source_name: name(),
                limit,
                detail: String::new(),
            });
        }
        for e in errors {
            let key = e.customer_reason_key();
            assert!(
                catalog.contains(key),
                "{e}: {key} missing from messages.toml"
            );
        }
    }
}
