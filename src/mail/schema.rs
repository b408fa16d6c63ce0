//! Tables used by outbound mail (declared with the others in `crate::db::schema`).

pub use crate::db::schema::{canned_responses, outbox};
