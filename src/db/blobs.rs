//! Content-addressed blob store: raw mail and attachments under `<data_dir>/blobs/`.
//!
//! A blob is addressed by the sha256 of its bytes and stored in one of two ways:
//! - its own file, `blobs/ab/<sha256>` ([`BlobStore::put`]: outbound mail, uploads, anything stored
//!   one at a time). One level of 256 folders: a second level (`ab/cd/`, the layout of earlier
//!   versions, still read) made nearly every new blob create its own folder.
//! - a pack file shared with the rest of its batch, `blobs/packs/<name>.pack` ([`BlobStore::packer`]:
//!   ingest), because creating a file per mail cost more than the whole database work ([`pack`]).
//!
//! Files and packs are written under a temporary name and renamed into place when complete, so a
//! crash never leaves a half-written blob under its final name; storing the same content twice is a
//! no-op. Raw mail is stored here *before* it is parsed, which is what makes "nothing is lost" true.

mod pack;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use sha2::{Digest, Sha256};

/// The blob store rooted in the data dir. Clones share the index of packed blobs.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    packs: Arc<pack::PackIndex>,
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where a stored blob is.
enum Place {
    File(PathBuf),
    Packed(pack::Found),
}

impl BlobStore {
    /// A store under `data_dir/blobs`.
    pub fn new(data_dir: &Path) -> Self {
        let root = data_dir.join("blobs");
        BlobStore {
            packs: Arc::new(pack::PackIndex::new(root.join("packs"))),
            root,
        }
    }

    fn digest_of(sha256: &str) -> anyhow::Result<[u8; 32]> {
        let mut digest = [0u8; 32];
        match hex::decode_to_slice(sha256, &mut digest) {
            Ok(()) if sha256.len() == 64 => Ok(digest),
            _ => anyhow::bail!("not a sha256 blob reference: {sha256:?}"),
        }
    }

    fn path_for(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[0..2]).join(sha256)
    }

    /// Where earlier versions stored the blob (`ab/cd/<sha256>`).
    fn legacy_path_for(&self, sha256: &str) -> PathBuf {
        self.root
            .join(&sha256[0..2])
            .join(&sha256[2..4])
            .join(sha256)
    }

    /// Finds a blob (`sha256` already checked). Packs written by other processes since this one
    /// last looked are read only when `look_again` is set: writers skip that, since storing a blob
    /// twice is harmless and looking costs a folder listing.
    fn find(&self, sha256: &str, digest: &[u8; 32], look_again: bool) -> Option<Place> {
        if let Some(found) = self.packs.find(digest, false) {
            return Some(Place::Packed(found));
        }
        let path = self.path_for(sha256);
        if path.exists() {
            return Some(Place::File(path));
        }
        let legacy = self.legacy_path_for(sha256);
        if legacy.exists() {
            return Some(Place::File(legacy));
        }
        look_again
            .then(|| self.packs.find(digest, true))
            .flatten()
            .map(Place::Packed)
    }

    /// The file holding a stored blob: its own file (in either layout) or the pack holding it; an
    /// error names a missing blob.
    pub fn location(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        let digest = Self::digest_of(sha256)?;
        match self.find(sha256, &digest, true) {
            Some(Place::File(path)) => Ok(path),
            Some(Place::Packed(found)) => Ok(found.path),
            None => anyhow::bail!("blob {sha256} is not in the store"),
        }
    }

    /// Stores `bytes` durably in a file of their own and returns their sha256.
    pub fn put(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let sha = hex::encode(digest);
        if self.find(&sha, &digest, false).is_none() {
            self.write_file(&sha, bytes, true)?;
        }
        Ok(sha)
    }

    /// Writes a blob's own file: a temporary file renamed into place, fsynced first when `sync`.
    fn write_file(&self, sha256: &str, bytes: &[u8], sync: bool) -> anyhow::Result<()> {
        let path = self.path_for(sha256);
        let dir = path.parent().context("blob path has a parent")?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating blob folder {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temporary blob in {}", dir.display()))?;
        tmp.write_all(bytes).context("writing blob")?;
        if sync {
            tmp.as_file().sync_all().context("syncing blob")?;
        }
        tmp.persist(&path)
            .with_context(|| format!("moving blob into place at {}", path.display()))?;
        Ok(())
    }

    /// A writer that stores a batch of blobs in one pack file (a small batch, up to
    /// [`PACK_THRESHOLD`] blobs, in files of their own: a pack's index costs memory in every reader,
    /// which only pays off for many blobs). Its blobs are readable once [`Packer::finish`] returns
    /// and durable after [`BlobStore::sync`]: call both before anything refers to them.
    pub fn packer(&self) -> Packer<'_> {
        Packer {
            store: self,
            seen: HashSet::new(),
            pending: Vec::new(),
            writer: None,
        }
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
        let digest = Self::digest_of(sha256)?;
        match self.find(sha256, &digest, true) {
            Some(Place::File(path)) => {
                std::fs::read(&path).with_context(|| format!("reading blob {sha256}"))
            }
            Some(Place::Packed(found)) => {
                pack::read(&found).with_context(|| format!("reading blob {sha256}"))
            }
            None => anyhow::bail!("reading blob {sha256}: it is not in the store"),
        }
    }

    /// Whether a blob exists.
    pub fn contains(&self, sha256: &str) -> bool {
        Self::digest_of(sha256).is_ok_and(|digest| self.find(sha256, &digest, true).is_some())
    }
}

/// Batches of more blobs than this are packed; smaller ones are stored a file each.
pub const PACK_THRESHOLD: usize = 16;

/// Stores a batch of blobs in one pack file (see [`BlobStore::packer`]).
pub struct Packer<'a> {
    store: &'a BlobStore,
    seen: HashSet<[u8; 32]>,
    /// Blobs held back until the batch is known to be big enough for a pack.
    pending: Vec<([u8; 32], Vec<u8>)>,
    writer: Option<pack::PackWriter>,
}

impl Packer<'_> {
    /// Adds `bytes` to the batch unless they are stored already; returns their sha256.
    pub fn put(&mut self, bytes: &[u8]) -> anyhow::Result<String> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let sha = hex::encode(digest);
        if self.seen.contains(&digest) || self.store.find(&sha, &digest, false).is_some() {
            return Ok(sha);
        }
        self.seen.insert(digest);
        if let Some(writer) = &mut self.writer {
            writer.append(digest, bytes)?;
        } else if self.pending.len() < PACK_THRESHOLD {
            self.pending.push((digest, bytes.to_vec()));
        } else {
            let mut writer = pack::PackWriter::new(self.store.root.join("packs"));
            for (d, b) in self.pending.drain(..) {
                writer.append(d, &b)?;
            }
            writer.append(digest, bytes)?;
            self.writer = Some(writer);
        }
        Ok(sha)
    }

    /// Completes the pack file (or writes a small batch's files) and makes the blobs readable, not
    /// yet durable: see [`BlobStore::sync`]. Blobs that were all stored already leave no file.
    pub fn finish(self) -> anyhow::Result<()> {
        for (digest, bytes) in &self.pending {
            self.store.write_file(&hex::encode(digest), bytes, false)?;
        }
        match self.writer {
            Some(writer) => writer.finish(&self.store.packs),
            None => Ok(()),
        }
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

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                out.extend(files_under(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[test]
    fn a_batch_of_blobs_is_stored_in_one_pack_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let loose = store.put(b"stored alone").unwrap();
        let mut packer = store.packer();
        let shas: Vec<String> = (0..100)
            .map(|i| packer.put(format!("mail number {i}").as_bytes()).unwrap())
            .collect();
        assert_eq!(packer.put(b"mail number 7").unwrap(), shas[7]);
        assert_eq!(packer.put(b"stored alone").unwrap(), loose);
        packer.finish().unwrap();
        store.sync().unwrap();
        for (i, sha) in shas.iter().enumerate() {
            assert_eq!(sha, &sha256_hex(format!("mail number {i}").as_bytes()));
            assert_eq!(
                store.get(sha).unwrap(),
                format!("mail number {i}").as_bytes()
            );
            assert!(store.contains(sha));
        }
        let files = files_under(&dir.path().join("blobs"));
        assert_eq!(files.len(), 2, "one loose blob and one pack: {files:?}");
        let pack = files
            .iter()
            .find(|f| f.extension().is_some_and(|e| e == "pack"))
            .unwrap();
        assert_eq!(store.location(&shas[0]).unwrap(), *pack);
        let size = std::fs::metadata(pack).unwrap().len();
        let data: usize = (0..100).map(|i| format!("mail number {i}").len()).sum();
        assert_eq!(
            size,
            (data + 100 * 48 + 16) as u64,
            "duplicates written once"
        );

        let mut again = store.packer();
        again.put(b"mail number 3").unwrap();
        again.finish().unwrap();
        assert_eq!(
            files_under(&dir.path().join("blobs")).len(),
            2,
            "nothing new, no new pack"
        );
    }

    #[test]
    fn a_small_batch_is_stored_a_file_per_blob_not_as_a_pack() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let mut packer = store.packer();
        let shas: Vec<String> = (0..PACK_THRESHOLD)
            .map(|i| packer.put(format!("reply {i}").as_bytes()).unwrap())
            .collect();
        packer.finish().unwrap();
        let files = files_under(&dir.path().join("blobs"));
        assert_eq!(files.len(), PACK_THRESHOLD, "{files:?}");
        assert!(!dir.path().join("blobs").join("packs").exists());
        for (i, sha) in shas.iter().enumerate() {
            assert_eq!(store.location(sha).unwrap(), store.path_for(sha));
            assert_eq!(store.get(sha).unwrap(), format!("reply {i}").as_bytes());
        }
    }

    #[test]
    fn packs_written_by_another_process_are_found_and_broken_packs_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let reader = BlobStore::new(dir.path());
        assert!(
            !reader.contains(&sha256_hex(b"later")),
            "index loaded while empty"
        );
        // Another process (its own store and index) writes a pack, plus a broken one.
        let writer = BlobStore::new(dir.path());
        let mut packer = writer.packer();
        let sha = packer.put(b"later").unwrap();
        for i in 0..PACK_THRESHOLD {
            packer.put(format!("later {i}").as_bytes()).unwrap();
        }
        packer.finish().unwrap();
        assert!(
            writer
                .location(&sha)
                .unwrap()
                .starts_with(dir.path().join("blobs/packs"))
        );
        let packs = dir.path().join("blobs").join("packs");
        std::fs::write(packs.join("broken.pack"), b"not a pack at all").unwrap();
        let mut lying = b"abc".to_vec();
        lying.extend_from_slice(&[7u8; 32]);
        lying.extend_from_slice(&0u64.to_le_bytes());
        lying.extend_from_slice(&1000u64.to_le_bytes());
        lying.extend_from_slice(&1u64.to_le_bytes());
        lying.extend_from_slice(b"CBPACK1\n");
        std::fs::write(packs.join("lying.pack"), lying).unwrap();
        std::fs::write(packs.join(".tmpHALF"), b"half-written").unwrap();

        assert_eq!(reader.get(&sha).unwrap(), b"later");
        let missing = hex::encode([7u8; 32]);
        assert!(
            !reader.contains(&missing),
            "an entry pointing past the data is refused"
        );
        let err = reader.get(&missing).unwrap_err();
        assert!(format!("{err:#}").contains("not in the store"), "{err:#}");
    }
}
