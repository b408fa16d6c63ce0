//! Outbound mail: signed Message-IDs, composing replies (lettre), the outbox written in the same
//! transaction as the action that causes a mail, the background sender, canned responses, the
//! credential check before sending, and the reply/note/admin pages.

pub mod canned;
pub mod compose;
pub mod credentials;
pub mod message_id;
pub mod note;
pub mod outbox;
pub mod reply;
pub mod routes;
pub mod schema;
pub mod sender;
