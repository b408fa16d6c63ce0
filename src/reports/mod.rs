//! Reports: what managers read about the work rather than in it. Each report is a module of its
//! own with its service, its pages and its tests; they read what the workflow stored (case
//! events, SLA clock instants, summaries) and never re-read threads.

pub mod summaries;
