//! Maildir: one file per message in `cur/` and `new/`.
//!
//! `tmp/` holds deliveries still being written, so it is never read. Maildir file names start with
//! the delivery time, so sorting by name gives a repeatable, roughly chronological order.

use std::path::{Path, PathBuf};

use super::SourceError;
use super::eml::is_hidden;

/// The message files of the Maildir at `dir` (from `cur/` and `new/`, either may be missing),
/// sorted by file name, without hidden files or subdirectories.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let mut found = Vec::new();
    for sub in ["cur", "new"] {
        let sub_dir = dir.join(sub);
        if !sub_dir.is_dir() {
            continue;
        }
        let origin = || sub_dir.display().to_string();
        for entry in std::fs::read_dir(&sub_dir).map_err(|e| SourceError::io(origin(), e))? {
            let path = entry.map_err(|e| SourceError::io(origin(), e))?.path();
            if !is_hidden(&path) && path.is_file() {
                found.push(path);
            }
        }
    }
    found.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then_with(|| a.cmp(b)));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_cur_and_new_by_name_and_skips_tmp_dotfiles_and_dirs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for sub in ["cur", "new", "tmp", "cur/nested"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        for rel in [
            "cur/1650000002.M2P1.host:2,S",
            "new/1650000001.M1P1.host",
            "new/1650000003.M3P1.host",
            "tmp/1650000000.M0P1.host",
            "cur/.hidden",
        ] {
            std::fs::write(root.join(rel), "Subject: x\n\nbody\n").expect("write");
        }
        let names: Vec<String> = list(root)
            .expect("listing works")
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "new/1650000001.M1P1.host",
                "cur/1650000002.M2P1.host:2,S",
                "new/1650000003.M3P1.host"
            ]
        );
    }

    #[test]
    fn maildir_with_only_new_is_listed() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("new")).expect("mkdir");
        std::fs::write(dir.path().join("new/m1"), "x").expect("write");
        assert_eq!(list(dir.path()).expect("listing works").len(), 1);
    }
}
