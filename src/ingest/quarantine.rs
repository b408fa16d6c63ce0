//! The quarantine: mail that could not be parsed or broke a limit. The raw bytes are kept in the
//! blob store; an admin sees the reason and can retry after fixing the cause (e.g. raising a limit).

use diesel::prelude::*;

use super::pipeline::{Incoming, Ingestor, Outcome};
use crate::db::schema::quarantine;
use crate::db::{DbConn, now};

/// A quarantined message.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = quarantine)]
pub struct Quarantined {
    /// Row id.
    pub id: i64,
    /// Raw bytes in the blob store.
    pub raw_sha256: String,
    /// Where it came from.
    pub source: String,
    /// Why it is here.
    pub error: String,
    /// `open`, or `released` once a retry placed it.
    pub status: String,
    /// Tries so far.
    pub attempts: i32,
    /// First received.
    pub received_at: chrono::NaiveDateTime,
    /// Last retried.
    pub retried_at: Option<chrono::NaiveDateTime>,
    /// The case it went to when released.
    pub resolved_case_id: Option<i64>,
}

impl Quarantined {
    /// Entries, newest first; `open_only` hides released ones.
    pub fn list(conn: &mut DbConn, open_only: bool) -> QueryResult<Vec<Quarantined>> {
        let mut q = quarantine::table
            .select(Quarantined::as_select())
            .into_boxed();
        if open_only {
            q = q.filter(quarantine::status.eq("open"));
        }
        q.order(quarantine::id.desc()).limit(500).load(conn)
    }

    /// One entry.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Quarantined>> {
        quarantine::table
            .find(id)
            .select(Quarantined::as_select())
            .first(conn)
            .optional()
    }
}

/// The result of retrying one entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RetryResult {
    /// The quarantine row retried.
    pub id: i64,
    /// What happened this time.
    pub outcome: Outcome,
}

/// Retries entries (`ids`, or every open one). A success releases the entry; a failure leaves it
/// open with the new reason and one more attempt counted (the retry's own quarantine row is removed
/// so an entry never duplicates itself).
pub fn retry(
    conn: &mut DbConn,
    ingestor: &Ingestor<'_>,
    blobs: &crate::db::blobs::BlobStore,
    ids: Option<&[i64]>,
) -> anyhow::Result<Vec<RetryResult>> {
    let entries: Vec<Quarantined> = match ids {
        Some(ids) => quarantine::table
            .filter(quarantine::id.eq_any(ids))
            .filter(quarantine::status.eq("open"))
            .select(Quarantined::as_select())
            .load(conn)?,
        None => quarantine::table
            .filter(quarantine::status.eq("open"))
            .order(quarantine::id.asc())
            .select(Quarantined::as_select())
            .load(conn)?,
    };
    let mut results = Vec::with_capacity(entries.len());
    for entry in entries {
        let bytes = blobs.get(&entry.raw_sha256)?;
        let outcome = ingestor
            .ingest_batch(
                conn,
                vec![Incoming {
                    origin: entry.source.clone(),
                    bytes,
                }],
            )?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("the pipeline returned no outcome"))?;
        crate::db::write_transaction::<_, diesel::result::Error, _>(conn, |conn| {
            match &outcome {
                Outcome::Quarantined { id, reason } => {
                    diesel::delete(quarantine::table.find(*id)).execute(conn)?;
                    diesel::update(quarantine::table.find(entry.id))
                        .set((
                            quarantine::error.eq(reason),
                            quarantine::attempts.eq(entry.attempts + 1),
                            quarantine::retried_at.eq(now()),
                        ))
                        .execute(conn)?;
                }
                other => {
                    let case_id = match other.case() {
                        Some(n) => crate::cases::Case::find_by_number(conn, n)?.map(|c| c.id),
                        None => None,
                    };
                    diesel::update(quarantine::table.find(entry.id))
                        .set((
                            quarantine::status.eq("released"),
                            quarantine::attempts.eq(entry.attempts + 1),
                            quarantine::retried_at.eq(now()),
                            quarantine::resolved_case_id.eq(case_id),
                        ))
                        .execute(conn)?;
                }
            }
            Ok(())
        })?;
        results.push(RetryResult {
            id: entry.id,
            outcome,
        });
    }
    Ok(results)
}
