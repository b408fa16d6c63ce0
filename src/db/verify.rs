//! `casebook blobs verify`: every blob the database refers to is in the store, and its bytes still
//! hash to its name — the check to run after restoring a backup or moving the data dir.
//!
//! References come from every table that names a blob: raw mail (`messages`, `ingest_log`,
//! `quarantine`, `outbox`), attachments and diagnostics snapshots. Each distinct blob is read once,
//! whether it is a file of its own or sits in a pack.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::blobs::{BlobStore, sha256_hex};
use super::schema::{attachments, ingest_log, messages, outbox, quarantine};
use crate::diagnostics::schema::diagnostic_snapshots;

/// A row that names a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRef {
    /// The table.
    pub table: &'static str,
    /// The row's id.
    pub id: i64,
}

/// A blob that failed the check.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The blob's name.
    pub sha256: String,
    /// What is wrong: the blob cannot be found or read, or its bytes hash to something else.
    pub error: String,
    /// The first rows that refer to it (at most [`SHOWN_ROWS`]).
    pub referenced_by: Vec<RowRef>,
    /// How many rows refer to it in all.
    pub references: usize,
}

/// How many referring rows a problem lists.
pub const SHOWN_ROWS: usize = 5;

/// The outcome of a check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Distinct blobs checked.
    pub blobs: usize,
    /// Rows referring to them.
    pub references: usize,
    /// Blobs that are not in the store or cannot be read.
    pub missing: Vec<Problem>,
    /// Blobs whose bytes no longer match their sha256.
    pub corrupt: Vec<Problem>,
}

impl Report {
    /// Whether every referenced blob is present and intact.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.corrupt.is_empty()
    }
}

/// Every blob the database names, with the rows naming it, in sha256 order.
pub fn references(conn: &mut DbConn) -> QueryResult<BTreeMap<String, Vec<RowRef>>> {
    let mut refs: BTreeMap<String, Vec<RowRef>> = BTreeMap::new();
    let mut add = |table: &'static str, rows: Vec<(i64, String)>| {
        for (id, sha) in rows {
            refs.entry(sha).or_default().push(RowRef { table, id });
        }
    };
    add(
        "messages",
        messages::table
            .filter(messages::raw_sha256.is_not_null())
            .select((messages::id, messages::raw_sha256.assume_not_null()))
            .load(conn)?,
    );
    add(
        "attachments",
        attachments::table
            .select((attachments::id, attachments::sha256))
            .load(conn)?,
    );
    add(
        "ingest_log",
        ingest_log::table
            .select((ingest_log::id, ingest_log::raw_sha256))
            .load(conn)?,
    );
    add(
        "quarantine",
        quarantine::table
            .select((quarantine::id, quarantine::raw_sha256))
            .load(conn)?,
    );
    add(
        "outbox",
        outbox::table
            .select((outbox::id, outbox::raw_sha256))
            .load(conn)?,
    );
    add(
        "diagnostic_snapshots",
        diagnostic_snapshots::table
            .select((diagnostic_snapshots::id, diagnostic_snapshots::blob_sha256))
            .load(conn)?,
    );
    Ok(refs)
}

/// Reads every referenced blob and checks its hash; `progress(done, total)` after each.
pub fn verify(
    conn: &mut DbConn,
    blobs: &BlobStore,
    mut progress: impl FnMut(usize, usize),
) -> QueryResult<Report> {
    let refs = references(conn)?;
    let total = refs.len();
    let mut report = Report {
        blobs: total,
        references: refs.values().map(Vec::len).sum(),
        ..Default::default()
    };
    for (done, (sha, rows)) in refs.into_iter().enumerate() {
        let problem = |error: String| Problem {
            sha256: sha.clone(),
            error,
            references: rows.len(),
            referenced_by: rows.iter().take(SHOWN_ROWS).cloned().collect(),
        };
        match blobs.get(&sha) {
            Err(e) => report.missing.push(problem(format!("{e:#}"))),
            Ok(bytes) => {
                let actual = sha256_hex(&bytes);
                if actual != sha {
                    report.corrupt.push(problem(format!(
                        "the stored bytes ({} bytes) hash to {actual}",
                        bytes.len()
                    )));
                }
            }
        }
        progress(done + 1, total);
    }
    Ok(report)
}
