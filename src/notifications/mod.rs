//! Notifications to staff: "assigned to you", "escalated to you or your team", "handed back to
//! you", "the customer wrote on your case" and "an SLA clock of your case is within the hour of its
//! deadline" — as a list in Casebook (`/notifications`, with the unread count in the navigation bar)
//! and as mail through the outbox, each switchable per person and kind (`/account/notifications`).
//!
//! - `service` — [`notify`], called by the workflow inside the transaction of the event; the list,
//!   unread count, marking read, the switches;
//! - `mail` — composing the mail of waiting notifications, outside any transaction, for the outbox
//!   sender;
//! - `routes` — the two pages;
//! - `schema` — the `notifications` and `notification_settings` tables.

pub mod mail;
pub mod routes;
pub mod schema;
pub mod service;

pub use service::{Event, Kind, notify};
