//! Email ingest: every customer mail becomes a message on the right case, and nothing is lost.
//!
//! Sources (`sources`) yield raw bytes; the pipeline stores them, parses (`parse`, `charset`,
//! `html`), deduplicates, screens automatic mail (`loops`), threads (`thread`), strips quoted text
//! (`quote`) and commits one message per transaction.

pub mod charset;
pub mod cli;
pub mod html;
pub mod loops;
pub mod parse;
pub mod pipeline;
pub mod quarantine;
pub mod quote;
pub mod routes;
pub mod sources;
pub mod structured;
pub mod subject;
pub mod thread;
pub mod transcript_import;
