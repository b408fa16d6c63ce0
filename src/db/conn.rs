//! One connection type for both backends (`#[derive(diesel::MultiConnection)]`), picked from the URL.

use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, ConnectionResult};

use crate::config::{Backend, backend_of, redact_url};

/// A connection to whichever database the configuration names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL, for several app instances.
    Postgres(diesel::PgConnection),
    /// The embedded default.
    Sqlite(diesel::SqliteConnection),
}

impl DbConn {
    /// Which engine this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Postgres(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs `$body` with `$c` bound to the backend's own connection (`&mut SqliteConnection` or
/// `&mut PgConnection`), so the query is written once and compiled for each backend.
///
/// The `MultiConnection` wrapper rebuilds a query's SQL text every time it runs, even when the
/// statement is already prepared; going around it is worth doing only for the statements bulk
/// ingest runs for every message (measured with `cargo bench --bench ingest`).
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// A pool of [`DbConn`].
pub type DbPool = Pool<DbManager>;
/// A connection checked out of the pool.
pub type PooledConn = PooledConnection<DbManager>;

/// How long one attempt to reach PostgreSQL may take (libpq's `connect_timeout`, added to the URL
/// unless it names its own): a host that drops packets fails after this instead of the kernel's
/// minutes-long TCP timeout. A refused port or a refused login fails at once anyway.
const PG_CONNECT_TIMEOUT_SECS: u32 = 5;

/// How long `pool.get()` waits for a connection before giving up with the last connection error.
/// Longer than one PostgreSQL connect attempt, so that attempt's own error is what gets reported,
/// and long enough to ride out a burst of requests holding every connection.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// Opens one connection with the backend `url`'s scheme names, keeping that backend's own error.
///
/// The derived `DbConn::establish` tries every backend in turn and, when all fail, reports only
/// "Invalid connection url for multiconnection": a wrong password, a refused port and a missing
/// database all looked the same.
pub fn establish(url: &str) -> ConnectionResult<DbConn> {
    match backend_of(url) {
        Backend::Postgres => {
            init_tls_without_exit_handler();
            diesel::PgConnection::establish(&with_connect_timeout(url)).map(DbConn::Postgres)
        }
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(url)?;
            // The search index's triggers call it (`cases::search`); every writer needs it.
            crate::cases::search::register_sqlite_functions(&mut conn)
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Starts OpenSSL (which libpq uses for `sslmode=prefer`, its default) with
/// `OPENSSL_INIT_NO_ATEXIT`, before libpq starts it with an exit handler. That handler frees
/// OpenSSL's per-thread state while other threads still hold some: a pool thread or server worker
/// ending at the same moment as the process then frees it again — "double free or corruption" or
/// SIGSEGV *after* a clean run (seen as a CI failure, and reproduced in 2 of 15 runs of
/// `tests/auth.rs`). The process's memory goes back to the system at exit anyway. Call it before
/// any PostgreSQL connection is opened; cheap after the first call.
pub fn init_tls_without_exit_handler() {
    openssl_sys::init();
}

/// `url` with `connect_timeout=…` added to its parameters, unless it already sets one.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={PG_CONNECT_TIMEOUT_SECS}")
}

/// The pool's connection manager: [`establish`] instead of the derived `DbConn::establish`, so a
/// pool that cannot connect reports why (r2d2 puts the last connection error in its timeout error).
#[derive(Debug, Clone)]
pub struct DbManager {
    url: String,
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // As diesel's own manager: a connection dropped while panicking may be mid-transaction.
        std::thread::panicking() || conn.is_broken()
    }
}

/// Pragmas every SQLite connection needs: enforced foreign keys, a busy timeout so concurrent
/// writers wait instead of failing with SQLITE_BUSY, and NORMAL sync (safe with WAL, which
/// [`connect_pool`] sets once per file so readers never block the writer), and a 16 MiB page cache
/// per connection (the 2 MiB default thrashes on bulk ingest's message and index pages).
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            c.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// The file an SQLite URL names (a plain path, `sqlite://path` or `file:path?…`); `None` for an
/// in-memory database.
fn sqlite_file_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("file:"))
        .map_or(url, |rest| rest.split('?').next().unwrap_or(rest));
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Creates a new SQLite database file readable by its owner only (0600, like `secret.key`): it
/// holds password hashes and the hashes of sessions and API tokens. SQLite gives the `-wal` and
/// `-shm` files it creates later the mode of the database file, so they are private too. An
/// existing file is left as it is, with a warning when others may read it.
fn create_private_sqlite_file(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_file_path(url) else {
        return Ok(());
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mode = std::fs::metadata(&path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{:o}", mode & 0o777),
                        "the database file is readable by other users; `chmod 600` it (and its -wal and -shm files)"
                    );
                }
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("creating the database file {}", path.display()));
            }
        }
    }
    Ok(())
}

/// Opens a pool for `url` (creating the SQLite file's folder when needed).
///
/// One connection is opened directly first, so a database that cannot be reached is reported at
/// once with the backend's own words ("Connection refused", "database … does not exist",
/// "password authentication failed") and the URL with its password redacted — not after the
/// pool's wait with a generic message.
pub fn connect_pool(url: &str) -> anyhow::Result<DbPool> {
    let backend = backend_of(url);
    if backend == Backend::Sqlite
        && let Some(parent) = std::path::Path::new(url)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the database folder {}", parent.display()))?;
    }
    if backend == Backend::Sqlite {
        // Before SQLite creates it: the file holds password and token hashes.
        create_private_sqlite_file(url)?;
    }
    let mut first = establish(url).with_context(|| match backend {
        Backend::Sqlite => format!("cannot open the SQLite database {url}"),
        Backend::Postgres => format!(
            "cannot connect to the PostgreSQL database at {}",
            redact_url(url)
        ),
    })?;
    if let DbConn::Sqlite(first) = &mut first {
        // Switch the file to WAL once, before the pool opens connections in parallel: several
        // connections changing the journal mode at the same moment trip over each other's locks.
        first
            .batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
            .context("switching SQLite to WAL")?;
    }
    drop(first);
    let manager = DbManager {
        url: url.to_string(),
    };
    let max_size = match backend {
        Backend::Sqlite => 8,
        Backend::Postgres => 16,
    };
    Pool::builder()
        .max_size(max_size)
        // Connections are opened on demand (in the caller's wait), never topped up in the background:
        // a short CLI command must not exit while a pool thread is still inside libpq.
        .min_idle(Some(0))
        .connection_timeout(POOL_WAIT)
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)
        .with_context(|| format!("connecting to the database at {}", redact_url(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_get_a_connect_timeout_unless_they_set_one() {
        assert_eq!(
            with_connect_timeout("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=require"),
            "postgres://u@h/db?sslmode=require&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?connect_timeout=30"),
            "postgres://u@h/db?connect_timeout=30"
        );
    }

    #[test]
    fn sqlite_urls_name_their_file_and_memory_names_none() {
        let file = |u: &str| sqlite_file_path(u).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(
            file("./data/casebook.db").as_deref(),
            Some("./data/casebook.db")
        );
        assert_eq!(
            file("sqlite:///var/lib/cb.db").as_deref(),
            Some("/var/lib/cb.db")
        );
        assert_eq!(file("file:cb.db?mode=rwc").as_deref(), Some("cb.db"));
        assert_eq!(file(":memory:"), None);
        assert_eq!(file("file::memory:?cache=shared"), None);
    }
}
