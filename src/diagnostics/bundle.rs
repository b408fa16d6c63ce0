//! Opens zip bundles and folders within limits. A zip bomb is refused from its declared sizes
//! before anything is decompressed, and the bytes actually produced are counted while reading, so a
//! lying header cannot get past the limits either.

use std::io::{Cursor, Read};
use std::path::Path;

use super::{DiagnosticsError, LimitKind, Limits};

/// A file whose bytes were read, to be decoded and parsed.
#[derive(Debug)]
pub(crate) struct LoadedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A file that was only listed, with the reason it was not read.
#[derive(Debug)]
pub(crate) struct ListedFile {
    pub name: String,
    pub size: u64,
    pub reason: NotReadReason,
}

/// Why a file in a bundle or folder was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotReadReason {
    /// Not a text format diagnostics come in (an image, an event log, an executable).
    NotText,
    /// Larger than `max_file_bytes`.
    TooLarge,
    /// Password-protected.
    Encrypted,
    /// An archive inside the bundle; not opened, to keep the limits simple and strict.
    NestedArchive,
}

/// What a bundle or folder holds.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    pub loaded: Vec<LoadedFile>,
    pub listed: Vec<ListedFile>,
}

/// Extensions read as text; anything else in a bundle is listed only.
const TEXT_EXTENSIONS: [&str; 9] = [
    "txt", "log", "out", "csv", "text", "ini", "inf", "lst", "md",
];
const ARCHIVE_EXTENSIONS: [&str; 5] = ["zip", "7z", "rar", "cab", "gz"];

fn extension(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// What to do with an entry, judged from its name alone.
fn disposition(name: &str) -> Option<NotReadReason> {
    let ext = extension(name);
    if ARCHIVE_EXTENSIONS.contains(&ext.as_str()) {
        Some(NotReadReason::NestedArchive)
    } else if ext.is_empty() || TEXT_EXTENSIONS.contains(&ext.as_str()) {
        None
    } else {
        Some(NotReadReason::NotText)
    }
}

/// Small entries cannot hurt whatever their ratio (a page of padded wmic output compresses very
/// well), so the ratio is only checked from this size on.
const RATIO_CHECK_MIN_BYTES: u64 = 64 * 1024;

/// True when the bytes start like a zip archive.
pub(crate) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

fn limit(source_name: &str, limit: LimitKind, detail: String) -> DiagnosticsError {
    DiagnosticsError::LimitExceeded {
        source_name: source_name.to_string(),
        limit,
        detail,
    }
}

/// Reads a zip bundle held in memory. Entry names are prefixed with `source_name/`.
pub(crate) fn read_zip(
    source_name: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Contents, DiagnosticsError> {
    let bad = |e: zip::result::ZipError| DiagnosticsError::BadArchive {
        source_name: source_name.to_string(),
        message: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    if archive.len() > limits.max_entries {
        return Err(limit(
            source_name,
            LimitKind::Entries,
            format!(
                "{} entries, at most {} allowed",
                archive.len(),
                limits.max_entries
            ),
        ));
    }
    // First pass, on declared sizes only: nothing is decompressed, so a bomb is refused at once.
    let mut declared_total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index).map_err(bad)?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry #{index}"));
        declared_total = declared_total.saturating_add(entry.size());
        if declared_total > limits.max_total_uncompressed_bytes {
            return Err(limit(
                source_name,
                LimitKind::TotalUncompressedBytes,
                format!(
                    "entries declare more than {} bytes uncompressed (reached at {name})",
                    limits.max_total_uncompressed_bytes
                ),
            ));
        }
        let ratio = entry.size() / entry.compressed_size().max(1);
        if entry.size() >= RATIO_CHECK_MIN_BYTES && ratio > limits.max_ratio {
            return Err(limit(
                source_name,
                LimitKind::CompressionRatio,
                format!(
                    "{name} expands {} bytes to {} (ratio {ratio}, at most {} allowed)",
                    entry.compressed_size(),
                    entry.size(),
                    limits.max_ratio
                ),
            ));
        }
    }
    let mut contents = Contents::default();
    let mut actual_total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry #{index}"));
        if entry_name.starts_with("__MACOSX/") {
            continue;
        }
        let name = format!("{source_name}/{}", entry_name.trim_start_matches('/'));
        let declared = entry.size();
        let reason = if entry.encrypted() {
            Some(NotReadReason::Encrypted)
        } else if declared > limits.max_file_bytes {
            Some(NotReadReason::TooLarge)
        } else {
            disposition(&entry_name)
        };
        if let Some(reason) = reason {
            contents.listed.push(ListedFile {
                name,
                size: declared,
                reason,
            });
            continue;
        }
        // Read at most one byte more than declared: more means the header lies about the size.
        let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        let result = (&mut entry)
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes);
        let read = bytes.len() as u64;
        // The zip reader enforces the declared size as well and fails with an I/O error once past
        // it (as it does on a bad checksum at the very end); either way the entry does not match
        // its header and is refused.
        let mismatch = match &result {
            Ok(_) if read <= declared => None,
            Ok(_) => Some(format!(
                "{entry_name} expands beyond its declared {declared} bytes"
            )),
            Err(e) if read >= declared => Some(format!(
                "{entry_name} does not match its declared {declared} bytes ({e})"
            )),
            Err(e) => {
                return Err(DiagnosticsError::BadArchive {
                    source_name: source_name.to_string(),
                    message: format!("{entry_name}: {e}"),
                });
            }
        };
        if let Some(detail) = mismatch {
            return Err(limit(source_name, LimitKind::DeclaredSize, detail));
        }
        actual_total = actual_total.saturating_add(read);
        if actual_total > limits.max_total_uncompressed_bytes {
            return Err(limit(
                source_name,
                LimitKind::TotalUncompressedBytes,
                format!(
                    "more than {} bytes decompressed",
                    limits.max_total_uncompressed_bytes
                ),
            ));
        }
        contents.loaded.push(LoadedFile { name, bytes });
    }
    Ok(contents)
}

/// Reads a folder recursively (symbolic links are not followed: a bundle must not reach outside).
pub(crate) fn read_dir(root: &Path, limits: &Limits) -> Result<Contents, DiagnosticsError> {
    let source_name = root.file_name().map_or_else(
        || root.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut contents = Contents::default();
    let mut entries = 0usize;
    let mut total: u64 = 0;
    let mut stack = vec![(root.to_path_buf(), source_name.clone())];
    let io = |path: &Path, source: std::io::Error| DiagnosticsError::Io {
        path: path.display().to_string(),
        source,
    };
    while let Some((dir, prefix)) = stack.pop() {
        let mut children: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| io(&dir, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| io(&dir, e))?;
        // Sorted, so reports and first-wins field values do not depend on the file system's order.
        children.sort_by_key(|c| c.file_name());
        for child in children {
            entries += 1;
            if entries > limits.max_entries {
                return Err(limit(
                    &source_name,
                    LimitKind::Entries,
                    format!("more than {} entries", limits.max_entries),
                ));
            }
            let path = child.path();
            let name = format!("{prefix}/{}", child.file_name().to_string_lossy());
            let meta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
            if meta.is_dir() {
                stack.push((path, name));
                continue;
            }
            if !meta.is_file() {
                continue;
            }
            let size = meta.len();
            let reason = if size > limits.max_file_bytes {
                Some(NotReadReason::TooLarge)
            } else {
                disposition(&name)
            };
            if let Some(reason) = reason {
                contents.listed.push(ListedFile { name, size, reason });
                continue;
            }
            total = total.saturating_add(size);
            if total > limits.max_total_uncompressed_bytes {
                return Err(limit(
                    &source_name,
                    LimitKind::TotalUncompressedBytes,
                    format!(
                        "more than {} bytes of text files",
                        limits.max_total_uncompressed_bytes
                    ),
                ));
            }
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            contents.loaded.push(LoadedFile { name, bytes });
        }
    }
    contents.loaded.sort_by(|a, b| a.name.cmp(&b.name));
    contents.listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_read_or_listed_by_name() {
        let cases = [
            ("wmic.txt", None),
            ("logs/CMGE_Log/activation.LOG", None),
            ("README", None),
            ("screenshot.png", Some(NotReadReason::NotText)),
            ("System.evtx", Some(NotReadReason::NotText)),
            ("inner.zip", Some(NotReadReason::NestedArchive)),
        ];
        for (name, expected) in cases {
            assert_eq!(disposition(name), expected, "{name}");
        }
    }
}
