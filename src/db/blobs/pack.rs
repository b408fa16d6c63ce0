//! Pack files: many blobs in one file, for bulk ingest.
//!
//! Creating a file costs a filesystem more than writing a mail's bytes (on ext4, an inode allocation
//! and a directory entry: more than the whole database work per message). Bulk ingest therefore
//! writes each staged batch's raw mail and attachments into one pack file under
//! `<data_dir>/blobs/packs/<name>.pack`:
//!
//! ```text
//! blob bytes, back to back
//! index: one 48-byte entry per blob: sha256 (32 bytes), offset (u64 LE), length (u64 LE)
//! trailer: entry count (u64 LE), magic "CBPACK1\n"
//! ```
//!
//! A pack is written under a temporary name and renamed into place only when complete, so a pack
//! file is never half-written; its name is the sha256 of its index. Blobs are never deleted, so a
//! pack never changes after the rename. Readers keep every pack's index in memory (about 70 bytes
//! a blob), loaded on first use; a lookup that misses looks for packs written since by another
//! process (a `casebook ingest` beside the running server) before it reports a blob missing.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use anyhow::Context;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"CBPACK1\n";
const ENTRY_LEN: u64 = 48;
const TRAILER_LEN: u64 = 16;

/// Where one packed blob is.
#[derive(Debug, Clone, Copy)]
struct Entry {
    pack: u32,
    offset: u64,
    len: u64,
}

#[derive(Debug, Default)]
struct Loaded {
    /// Whether the packs folder has been read once.
    scanned: bool,
    /// Pack files by number (`Entry::pack`).
    files: Vec<PathBuf>,
    names: HashSet<OsString>,
    entries: HashMap<[u8; 32], Entry>,
}

/// The in-memory index of every pack in one store's `packs/` folder.
#[derive(Debug)]
pub(super) struct PackIndex {
    dir: PathBuf,
    loaded: RwLock<Loaded>,
}

/// A packed blob's file, offset and length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub path: PathBuf,
    pub offset: u64,
    pub len: u64,
}

impl PackIndex {
    pub(super) fn new(dir: PathBuf) -> Self {
        PackIndex {
            dir,
            loaded: RwLock::new(Loaded::default()),
        }
    }

    /// Where the blob is packed. With `look_again`, a miss reads packs written since the last look.
    pub(super) fn find(&self, sha: &[u8; 32], look_again: bool) -> Option<Found> {
        {
            let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
            if loaded.scanned {
                if let Some(found) = loaded.found(sha) {
                    return Some(found);
                }
                if !look_again {
                    return None;
                }
            }
        }
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        if !loaded.scanned || look_again {
            self.scan(&mut loaded);
        }
        loaded.found(sha)
    }

    /// Reads every pack in the folder not read yet. A pack that cannot be read is reported and
    /// skipped (its blobs then read as missing, with the pack named in the log).
    fn scan(&self, loaded: &mut Loaded) {
        loaded.scanned = true;
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return; // no packs yet
        };
        for entry in dir.flatten() {
            let name = entry.file_name();
            let path = entry.path();
            if loaded.names.contains(&name) || path.extension().is_none_or(|e| e != "pack") {
                continue;
            }
            match read_index(&path) {
                Ok(entries) => loaded.add(name, path, entries),
                Err(e) => {
                    tracing::error!(pack = %path.display(), error = %format!("{e:#}"),
                        "cannot read a blob pack's index; its blobs read as missing");
                    loaded.names.insert(name); // reported once, not on every lookup
                }
            }
        }
    }

    fn register(&self, name: OsString, path: PathBuf, entries: Vec<([u8; 32], u64, u64)>) {
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        if !loaded.names.contains(&name) {
            loaded.add(name, path, entries);
        }
    }
}

impl Loaded {
    fn found(&self, sha: &[u8; 32]) -> Option<Found> {
        self.entries.get(sha).map(|e| Found {
            path: self.files[e.pack as usize].clone(),
            offset: e.offset,
            len: e.len,
        })
    }

    fn add(&mut self, name: OsString, path: PathBuf, entries: Vec<([u8; 32], u64, u64)>) {
        let pack = u32::try_from(self.files.len()).expect("fewer than 4 billion packs");
        self.files.push(path);
        self.names.insert(name);
        self.entries.reserve(entries.len());
        for (sha, offset, len) in entries {
            self.entries
                .entry(sha)
                .or_insert(Entry { pack, offset, len });
        }
    }
}

/// Reads and checks a pack's index.
fn read_index(path: &Path) -> anyhow::Result<Vec<([u8; 32], u64, u64)>> {
    let mut file = std::fs::File::open(path).context("opening")?;
    let size = file.metadata().context("reading its size")?.len();
    anyhow::ensure!(size >= TRAILER_LEN, "{size} bytes is too short for a pack");
    let mut trailer = [0u8; TRAILER_LEN as usize];
    file.seek(SeekFrom::Start(size - TRAILER_LEN))?;
    file.read_exact(&mut trailer)
        .context("reading the trailer")?;
    anyhow::ensure!(&trailer[8..] == MAGIC, "not a Casebook pack (no trailer)");
    let count = u64::from_le_bytes(trailer[..8].try_into().expect("8 bytes"));
    let index_len = count
        .checked_mul(ENTRY_LEN)
        .filter(|l| *l <= size - TRAILER_LEN)
        .with_context(|| format!("index of {count} entries does not fit in {size} bytes"))?;
    let data_end = size - TRAILER_LEN - index_len;
    let mut index = vec![0u8; index_len as usize];
    file.seek(SeekFrom::Start(data_end))?;
    file.read_exact(&mut index).context("reading the index")?;
    index
        .chunks_exact(ENTRY_LEN as usize)
        .map(|e| {
            let sha: [u8; 32] = e[..32].try_into().expect("32 bytes");
            let offset = u64::from_le_bytes(e[32..40].try_into().expect("8 bytes"));
            let len = u64::from_le_bytes(e[40..48].try_into().expect("8 bytes"));
            anyhow::ensure!(
                offset.checked_add(len).is_some_and(|end| end <= data_end),
                "entry {} points outside the pack",
                hex::encode(sha)
            );
            Ok((sha, offset, len))
        })
        .collect()
}

/// Reads one packed blob.
pub(super) fn read(found: &Found) -> anyhow::Result<Vec<u8>> {
    let mut file = std::fs::File::open(&found.path)
        .with_context(|| format!("opening pack {}", found.path.display()))?;
    file.seek(SeekFrom::Start(found.offset))?;
    let mut bytes = vec![0u8; usize::try_from(found.len).context("blob larger than memory")?];
    file.read_exact(&mut bytes)
        .with_context(|| format!("reading pack {}", found.path.display()))?;
    Ok(bytes)
}

/// Writes one pack: blobs are appended as they come (the caller skips duplicates), the index and
/// trailer on [`PackWriter::finish`].
pub(super) struct PackWriter {
    dir: PathBuf,
    file: Option<BufWriter<tempfile::NamedTempFile>>,
    written: u64,
    entries: Vec<([u8; 32], u64, u64)>,
}

impl PackWriter {
    pub(super) fn new(dir: PathBuf) -> Self {
        PackWriter {
            dir,
            file: None,
            written: 0,
            entries: Vec::new(),
        }
    }

    pub(super) fn append(&mut self, sha: [u8; 32], bytes: &[u8]) -> anyhow::Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                std::fs::create_dir_all(&self.dir)
                    .with_context(|| format!("creating {}", self.dir.display()))?;
                let tmp = tempfile::NamedTempFile::new_in(&self.dir)
                    .with_context(|| format!("creating a pack in {}", self.dir.display()))?;
                self.file.insert(BufWriter::with_capacity(256 * 1024, tmp))
            }
        };
        file.write_all(bytes).context("writing to a blob pack")?;
        self.entries.push((sha, self.written, bytes.len() as u64));
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes the index, moves the pack into place (unsynced: the store's `sync` makes it durable)
    /// and adds it to `index`. A writer that received nothing leaves no file.
    pub(super) fn finish(self, index: &PackIndex) -> anyhow::Result<()> {
        let Some(mut file) = self.file else {
            return Ok(());
        };
        let mut tail = Vec::with_capacity(self.entries.len() * ENTRY_LEN as usize + 16);
        for (sha, offset, len) in &self.entries {
            tail.extend_from_slice(sha);
            tail.extend_from_slice(&offset.to_le_bytes());
            tail.extend_from_slice(&len.to_le_bytes());
        }
        let name = format!("{}.pack", hex::encode(Sha256::digest(&tail)));
        tail.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        tail.extend_from_slice(MAGIC);
        file.write_all(&tail)
            .context("writing a blob pack's index")?;
        let tmp = file
            .into_inner()
            .map_err(|e| e.into_error())
            .context("writing to a blob pack")?;
        let path = self.dir.join(&name);
        tmp.persist(&path)
            .with_context(|| format!("moving blob pack into place at {}", path.display()))?;
        index.register(name.into(), path, self.entries);
        Ok(())
    }
}
