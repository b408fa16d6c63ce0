//! Content-addressed blob store: raw mail and attachments under `<data_dir>/blobs/ab/<sha256>`.
//!
//! One level of 256 folders: a second level (`ab/cd/`, the layout of earlier versions, still read)
//! made nearly every new blob create its own folder, which doubled the filesystem work of bulk
//! ingest for no gain at the sizes a helpdesk reaches.
//!
//! Blobs are written to a temporary file in the same folder, synced, then renamed into place, so a
//! crash never leaves a half-written blob under its final name; writing the same content twice is a
//! no-op. Raw mail is stored here *before* it is parsed, which is what makes "nothing is lost" true.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

/// The blob store rooted in the data dir.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl BlobStore {
    /// A store under `data_dir/blobs`.
    pub fn new(data_dir: &Path) -> Self {
        BlobStore {
            root: data_dir.join("blobs"),
        }
    }

    fn path_for(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()),
            "not a sha256 blob reference: {sha256:?}"
        );
        Ok(self.root.join(&sha256[0..2]).join(sha256))
    }

    /// Where earlier versions stored the blob (`ab/cd/<sha256>`).
    fn legacy_path_for(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        self.path_for(sha256)?;
        Ok(self
            .root
            .join(&sha256[0..2])
            .join(&sha256[2..4])
            .join(sha256))
    }

    /// The file holding a stored blob (in either layout), or an error naming the missing blob.
    pub fn location(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        let path = self.path_for(sha256)?;
        if path.exists() {
            return Ok(path);
        }
        let legacy = self.legacy_path_for(sha256)?;
        if legacy.exists() {
            return Ok(legacy);
        }
        anyhow::bail!("blob {sha256} is not in the store")
    }

    /// The path a new blob is written to, or `None` when it is already stored.
    fn path_to_write(&self, sha256: &str) -> anyhow::Result<Option<PathBuf>> {
        let path = self.path_for(sha256)?;
        Ok(self.location(sha256).is_err().then_some(path))
    }

    /// Stores `bytes` durably and returns their sha256.
    pub fn put(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let sha = sha256_hex(bytes);
        let Some(path) = self.path_to_write(&sha)? else {
            return Ok(sha);
        };
        let dir = path.parent().context("blob path has a parent")?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating blob folder {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temporary blob in {}", dir.display()))?;
        tmp.write_all(bytes).context("writing blob")?;
        tmp.as_file().sync_all().context("syncing blob")?;
        tmp.persist(&path)
            .with_context(|| format!("moving blob into place at {}", path.display()))?;
        Ok(sha)
    }

    /// Stores `bytes` without syncing; call [`BlobStore::sync`] before anything refers to the blob.
    ///
    /// Bulk ingest writes thousands of blobs per second; one filesystem sync per batch instead of
    /// one `fsync` per file keeps "stored before referenced" true at a fraction of the cost.
    pub fn put_unsynced(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let sha = sha256_hex(bytes);
        let Some(path) = self.path_to_write(&sha)? else {
            return Ok(sha);
        };
        let dir = path.parent().context("blob path has a parent")?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating blob folder {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temporary blob in {}", dir.display()))?;
        tmp.write_all(bytes).context("writing blob")?;
        tmp.persist(&path)
            .with_context(|| format!("moving blob into place at {}", path.display()))?;
        Ok(sha)
    }

    /// Flushes every blob written so far to disk (the whole filesystem holding the store).
    pub fn sync(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        let dir = std::fs::File::open(&self.root)
            .with_context(|| format!("opening {}", self.root.display()))?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: `dir` is an open file descriptor for the duration of the call.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
                return Err(std::io::Error::last_os_error()).context("syncing the blob store");
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            // SAFETY: `sync` takes no arguments and cannot fail.
            unsafe { libc::sync() };
            drop(dir);
        }
        Ok(())
    }

    /// Reads a blob back.
    pub fn get(&self, sha256: &str) -> anyhow::Result<Vec<u8>> {
        let path = match self.location(sha256) {
            Ok(p) => p,
            // Not stored in either layout: report the read of the current path (its "not found").
            Err(_) => self.path_for(sha256)?,
        };
        std::fs::read(&path).with_context(|| format!("reading blob {sha256}"))
    }

    /// Whether a blob exists.
    pub fn contains(&self, sha256: &str) -> bool {
        self.location(sha256).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_are_addressed_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let sha = store.put(b"hello").unwrap();
        assert_eq!(sha, sha256_hex(b"hello"));
        assert_eq!(
            store.put(b"hello").unwrap(),
            sha,
            "same content, same reference"
        );
        assert_eq!(store.get(&sha).unwrap(), b"hello");
        assert!(store.contains(&sha));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("blobs").join(&sha[0..2]))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");
    }

    #[test]
    fn blobs_stored_by_earlier_versions_are_still_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let sha = sha256_hex(b"old mail");
        let legacy = dir
            .path()
            .join("blobs")
            .join(&sha[0..2])
            .join(&sha[2..4])
            .join(&sha);
        std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        std::fs::write(&legacy, b"old mail").unwrap();
        assert!(store.contains(&sha));
        assert_eq!(store.get(&sha).unwrap(), b"old mail");
        assert_eq!(store.location(&sha).unwrap(), legacy);
        assert_eq!(store.put(b"old mail").unwrap(), sha, "not written twice");
        assert!(
            !dir.path()
                .join("blobs")
                .join(&sha[0..2])
                .join(&sha)
                .exists()
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        assert!(store.get("../../etc/passwd").is_err());
        assert!(!store.contains("zz"));
    }
}
