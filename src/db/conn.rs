//! One connection type for both backends (`#[derive(diesel::MultiConnection)]`), picked from the URL.

use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};

use crate::config::{Backend, backend_of};

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
pub type DbPool = Pool<ConnectionManager<DbConn>>;
/// A connection checked out of the pool.
pub type PooledConn = PooledConnection<ConnectionManager<DbConn>>;

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
        create_private_sqlite_file(url)?;
        // Switch the file to WAL once, before the pool opens connections in parallel: several
        // connections changing the journal mode at the same moment trip over each other's locks.
        use diesel::Connection;
        let mut first = diesel::SqliteConnection::establish(url)
            .with_context(|| format!("opening the SQLite database {url}"))?;
        first
            .batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
            .context("switching SQLite to WAL")?;
    }
    let manager = ConnectionManager::<DbConn>::new(url);
    let max_size = match backend {
        Backend::Sqlite => 8,
        Backend::Postgres => 16,
    };
    Pool::builder()
        .max_size(max_size)
        // Connections are opened on demand (in the caller's wait), never topped up in the background:
        // a short CLI command must not exit while a pool thread is still inside libpq.
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(15))
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)
        .with_context(|| {
            format!(
                "connecting to the database at {}",
                crate::config::redact_url(url)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
