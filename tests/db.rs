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

fn log_row(conn: &mut casebook::db::DbConn, source: &str) -> diesel::QueryResult<usize> {
    use casebook::db::schema::ingest_log;
    use diesel::prelude::*;
    diesel::insert_into(ingest_log::table)
        .values((
            ingest_log::raw_sha256.eq("0".repeat(64)),
            ingest_log::source.eq(source),
            ingest_log::outcome.eq("ignored"),
            ingest_log::created_at.eq(casebook::db::now()),
        ))
        .execute(conn)
}

fn log_rows(conn: &mut casebook::db::DbConn) -> diesel::QueryResult<i64> {
    use casebook::db::schema::ingest_log;
    use diesel::prelude::*;
    ingest_log::table.count().get_result(conn)
}

/// Two writers at once (the SLA sweep beside an agent's transition): the one that read first must not
/// fail with "database is locked" when the other commits before it writes.
fn a_writer_that_read_first_is_not_refused_when_another_writer_commits(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let prepared = casebook::startup::prepare(env.config(&[])).unwrap();
    let pool = prepared.pool.clone();
    let mut first = prepared.pool.get().unwrap();
    let (go, wait) = std::sync::mpsc::channel();
    let (committed, second_committed) = std::sync::mpsc::channel();
    let second = std::thread::spawn(move || {
        wait.recv().unwrap();
        let mut conn = pool.get().unwrap();
        let result = casebook::db::write_transaction(&mut conn, |c| log_row(c, "second"));
        committed.send(()).unwrap();
        result
    });
    let result = casebook::db::write_transaction(&mut first, |c| {
        let before = log_rows(c)?;
        go.send(()).unwrap();
        // The other writer tries to commit while this transaction is between its read and its
        // write. Where nothing makes it wait for this one (PostgreSQL, or SQLite with a deferred
        // BEGIN — the bug), it commits within milliseconds and this write comes after its commit.
        // Where it has to wait for this transaction (SQLite with BEGIN IMMEDIATE, the fix), it
        // cannot commit before this one, so the wait ends at the bound.
        let _ = second_committed.recv_timeout(std::time::Duration::from_secs(2));
        log_row(c, "first")?;
        Ok::<_, diesel::result::Error>(before)
    });
    assert_eq!(result, Ok(0));
    assert_eq!(second.join().unwrap(), Ok(1));
    assert_eq!(log_rows(&mut first).unwrap(), 2);
}

both_backends_sync!(a_writer_that_read_first_is_not_refused_when_another_writer_commits);

/// Assignment events recorded before there was one shape — by the API (owner names in
/// from_state/to_state) and by the pages and imports (`{"assignee_id": n}`) — are rewritten by
/// the migration into the one shape the timeline and reports read.
fn old_assignment_events_are_rewritten_into_the_one_shape(backend: BackendKind) {
    use casebook::cases::Case;
    use casebook::cases::messages::{CaseEvent, NewEvent};
    use casebook::cases::model::NewCase;
    use casebook::workflow::events::{Assigned, EventData};
    use diesel::connection::SimpleConnection;
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let prepared = casebook::startup::prepare(env.config(&[])).unwrap();
    let mut conn = prepared.pool.get().unwrap();
    let case = Case::create(
        &mut conn,
        &NewCase {
            number: None,
            title: "Device marker binding is Invalid",
            state: casebook::workflow::CaseState::New,
            priority: casebook::workflow::Priority::Normal,
            customer_email: "chenhui.zd@centerm.example",
            customer_name: None,
            language: "zh-CN",
            duplicate_of_id: None,
            at: casebook::db::now(),
        },
    )
    .unwrap();
    let record = |conn: &mut casebook::db::DbConn, e: NewEvent<'_>| {
        CaseEvent::record(conn, case.id, &e).unwrap();
    };
    // A page assigned Wang (id 3), then the API moved it to Zhang (id 4), then a page unassigned.
    record(
        &mut conn,
        NewEvent {
            actor_label: "Admin",
            kind: "assigned",
            note: Some("Wang Binbin"),
            data: Some(r#"{"assignee_id":3}"#.into()),
            ..Default::default()
        },
    );
    record(
        &mut conn,
        NewEvent {
            actor_label: "Admin",
            kind: "assigned",
            from_state: Some("Wang Binbin"),
            to_state: Some("Zhang Wei"),
            data: Some(r#"{"from":3,"to":4}"#.into()),
            ..Default::default()
        },
    );
    record(
        &mut conn,
        NewEvent {
            actor_label: "Admin",
            kind: "assigned",
            data: Some(r#"{"assignee_id":null}"#.into()),
            ..Default::default()
        },
    );
    let sql = match backend {
        BackendKind::Sqlite => {
            include_str!("../migrations/sqlite/2026-12-05-000010_assignment_event_shape/up.sql")
        }
        BackendKind::Postgres => {
            include_str!("../migrations/postgres/2026-12-05-000010_assignment_event_shape/up.sql")
        }
    };
    conn.batch_execute(sql).unwrap();
    let events: Vec<CaseEvent> = CaseEvent::for_case(&mut conn, case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "assigned")
        .collect();
    type Shape<'a> = (
        Option<Assigned>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let shapes: Vec<Shape<'_>> = events
        .iter()
        .map(|e| {
            (
                Assigned::parse(e.data.as_deref()),
                e.note.as_deref(),
                e.from_state.as_deref(),
                e.to_state.as_deref(),
            )
        })
        .collect();
    let a = |from, to| Some(Assigned { from, to });
    assert_eq!(
        shapes,
        vec![
            (a(None, Some(3)), Some("Wang Binbin"), None, None),
            (a(Some(3), Some(4)), Some("Zhang Wei"), None, None),
            (a(Some(4), None), None, None, None),
        ]
    );
}

both_backends_sync!(old_assignment_events_are_rewritten_into_the_one_shape);
