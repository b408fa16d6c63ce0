//! Single `.eml` files and folders of them.
//!
//! Folders are listed up front (paths only, sorted so imports are repeatable) and the files read
//! one at a time as the stream is consumed.

use std::path::{Path, PathBuf};

use super::{RawItem, SourceError};

/// Reads one message file; the origin is the path.
pub fn read_one(path: &Path) -> Result<RawItem, SourceError> {
    let origin = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => Ok(RawItem { origin, bytes }),
        Err(e) => Err(SourceError::io(origin, e)),
    }
}

/// Reads the files in `paths`, in order, lazily. The iterator's `size_hint` is exact.
pub fn read_all(
    paths: Vec<PathBuf>,
) -> impl ExactSizeIterator<Item = Result<RawItem, SourceError>> {
    paths.into_iter().map(|p| read_one(&p))
}

/// Every `.eml` file (any letter case) under `dir`, recursively, sorted by path. Hidden files and
/// directories (names starting with `.`) are skipped, and symbolic links to directories are not
/// followed, so a link loop cannot make the walk endless.
pub fn list_folder(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|e| SourceError::io(current.display().to_string(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| SourceError::io(current.display().to_string(), e))?;
            let path = entry.path();
            if is_hidden(&path) {
                continue;
            }
            let file_type = entry
                .file_type()
                .map_err(|e| SourceError::io(path.display().to_string(), e))?;
            if file_type.is_dir() {
                pending.push(path);
            } else if has_eml_extension(&path) && path.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

pub(crate) fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
}

fn has_eml_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_listing_is_recursive_sorted_and_skips_hidden_and_other_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (rel, keep) in [
            ("b.eml", true),
            ("a.EML", true),
            ("sub/c.eml", true),
            ("sub/deeper/d.eml", true),
            ("notes.txt", false),
            (".hidden.eml", false),
            (".trash/e.eml", false),
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
            std::fs::write(&path, if keep { "kept" } else { "skipped" }).expect("write");
        }
        let listed: Vec<String> = list_folder(root)
            .expect("listing works")
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(listed, ["a.EML", "b.eml", "sub/c.eml", "sub/deeper/d.eml"]);
    }

    #[test]
    fn unreadable_file_is_an_error_naming_the_path() {
        let err = read_one(Path::new("/nonexistent/x.eml")).expect_err("missing file");
        assert!(err.to_string().contains("/nonexistent/x.eml"), "{err}");
    }
}
