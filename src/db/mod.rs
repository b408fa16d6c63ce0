//! The database: one connection type over SQLite and PostgreSQL, a pool, embedded migrations,
//! the schema, and the content-addressed blob store for raw mail and attachments.

pub mod blobs;
pub mod conn;
pub mod migrate;
pub mod schema;
pub mod verify;

pub use conn::{DbConn, DbPool, PooledConn, connect_pool};

/// The current time as stored in the database: naive UTC, microsecond precision on both backends.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    // PostgreSQL keeps microseconds; truncate so values compare equal after a round trip on both backends.
    now.with_nanosecond((now.and_utc().timestamp_subsec_micros()) * 1000)
        .unwrap_or(now)
}

use chrono::Timelike;

/// Runs `f` in a transaction that holds the write lock from its first statement.
///
/// On SQLite a plain (deferred) transaction that reads and then writes fails at once with
/// "database is locked" when another connection committed in between — the busy timeout does not
/// apply to that case. Starting with `BEGIN IMMEDIATE` makes a second writer wait its turn instead
/// (the SLA sweep and an agent's transition, two agents on one case, ingest beside the web app).
/// PostgreSQL, and a call inside an open transaction (a savepoint), behave like
/// `Connection::transaction`.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::Connection;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConn as Connection>::TransactionManager;
    let depth = Manager::transaction_manager_status_mut(conn).transaction_depth()?;
    let DbConn::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    if depth.is_some() {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    // The rows this transaction wrote enter the search index before it commits.
    let indexed = |value: T, conn: &mut DbConn| match conn {
        DbConn::Sqlite(sqlite) => crate::cases::search::index_queued(sqlite).map(|()| value),
        DbConn::Postgres(_) => Ok(value),
    };
    match f(conn).and_then(|value| indexed(value, conn).map_err(E::from)) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}
