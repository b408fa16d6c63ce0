//! Embedded migrations, one folder per backend with the same names (`migrations/sqlite`,
//! `migrations/postgres`), run at start and by `casebook migrate`.

use anyhow::anyhow;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::conn::DbConn;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies every pending migration; returns the names applied.
pub fn run_pending(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE),
        DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES),
    }
    .map_err(|e| anyhow!("applying database migrations: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// Reverts every applied migration (newest first); used by the up/down/up check.
pub fn revert_all(conn: &mut DbConn) -> anyhow::Result<usize> {
    let reverted = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE),
        DbConn::Postgres(c) => c.revert_all_migrations(POSTGRES),
    }
    .map_err(|e| anyhow!("reverting database migrations: {e}"))?;
    Ok(reverted.len())
}
