//! Reports for managers: the figures that matter, computed from stored SLA clocks and case events
//! (never by re-reading threads). See `docs/ARCHITECTURE.md`, *Reports*.

pub mod charts;
pub mod chasers;
pub mod dashboard;
mod sql;
