//! The database layer: migrations exist for both backends with the same names and apply, revert
//! and re-apply cleanly; blobs survive.

mod common;

use common::{BackendKind, TestEnv};

#[test]
fn every_migration_exists_for_both_backends_with_up_and_down() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |backend: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(root.join(backend))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sqlite = names("sqlite");
    let postgres = names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must hold the same names"
    );
    for backend in ["sqlite", "postgres"] {
        for name in &sqlite {
            for file in ["up.sql", "down.sql"] {
                let p = root.join(backend).join(name).join(file);
                assert!(p.is_file(), "missing {}", p.display());
            }
        }
    }
}

fn up_down_up(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let pool = casebook::db::connect_pool(&env.database_url).unwrap();
    let mut conn = pool.get().unwrap();
    let applied = casebook::db::migrate::run_pending(&mut conn).unwrap();
    assert!(!applied.is_empty());
    let reverted = casebook::db::migrate::revert_all(&mut conn).unwrap();
    assert_eq!(reverted, applied.len(), "every migration reverts");
    let again = casebook::db::migrate::run_pending(&mut conn).unwrap();
    assert_eq!(again, applied, "and applies again");
    assert!(
        casebook::db::migrate::run_pending(&mut conn)
            .unwrap()
            .is_empty(),
        "nothing left pending"
    );
    assert_eq!(casebook::auth::User::count(&mut conn).unwrap(), 0);
}

#[test]
fn migrations_apply_revert_and_reapply_on_sqlite() {
    up_down_up(BackendKind::Sqlite);
}

#[test]
fn migrations_apply_revert_and_reapply_on_postgres() {
    up_down_up(BackendKind::Postgres);
}
