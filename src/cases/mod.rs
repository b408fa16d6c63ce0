//! Cases: numbers, the case record, participants, messages, and the pages that list and show them.

pub mod activity;
pub mod conversation;
pub mod filters;
pub mod messages;
pub mod model;
pub mod number;
pub mod routes;
pub mod search;
pub mod views;

pub use model::Case;
pub use number::CaseNumber;
