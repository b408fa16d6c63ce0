//! The database: one connection type over SQLite and PostgreSQL, a pool, embedded migrations,
//! the schema, and the content-addressed blob store for raw mail and attachments.

pub mod blobs;
pub mod conn;
pub mod migrate;
pub mod schema;

pub use conn::{DbConn, DbPool, PooledConn, connect_pool};

/// The current time as stored in the database: naive UTC, microsecond precision on both backends.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    // PostgreSQL keeps microseconds; truncate so values compare equal after a round trip on both backends.
    now.with_nanosecond((now.and_utc().timestamp_subsec_micros()) * 1000)
        .unwrap_or(now)
}

use chrono::Timelike;
