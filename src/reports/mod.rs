//! Reports: what managers read about the work rather than in it — the dashboard's figures and the
//! case summaries. They read what the workflow stored (case events, SLA clock instants, summaries)
//! and never re-read threads. See `docs/ARCHITECTURE.md`, *Reports*.

pub mod charts;
pub mod chasers;
pub mod dashboard;
mod sql;
pub mod summaries;
