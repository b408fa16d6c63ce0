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
    use casebook::workflow::events::{Assigned, EventData, EventKind};
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
            kind: EventKind::Assigned,
            note: Some("Wang Binbin"),
            data: Some(r#"{"assignee_id":3}"#.into()),
            ..Default::default()
        },
    );
    record(
        &mut conn,
        NewEvent {
            actor_label: "Admin",
            kind: EventKind::Assigned,
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
            kind: EventKind::Assigned,
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
        .filter(|e| e.kind == EventKind::Assigned)
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

/// Imported transitions (`{"imported": true}` only), the two `delivery_failed` shapes (bounce,
/// outbox giving up) and the two `merged` shapes (source and target side) are rewritten by
/// migration `2026-12-09-000050_event_payload_shapes` into their kind's one payload.
fn old_event_shapes_are_rewritten_into_one_shape_per_kind(backend: BackendKind) {
    use casebook::cases::Case;
    use casebook::cases::messages::{CaseEvent, NewEvent};
    use casebook::cases::model::NewCase;
    use casebook::workflow::events::{DeliveryFailed, EventData, EventKind, Merged, Transition};
    use casebook::workflow::transitions::Action;
    use diesel::connection::SimpleConnection;
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let prepared = casebook::startup::prepare(env.config(&[])).unwrap();
    let mut conn = prepared.pool.get().unwrap();
    let new_case = |conn: &mut casebook::db::DbConn| {
        Case::create(
            conn,
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
        .unwrap()
    };
    let (source, target) = (new_case(&mut conn), new_case(&mut conn));
    let record = |conn: &mut casebook::db::DbConn, case: &Case, e: NewEvent<'_>| {
        CaseEvent::record(conn, case.id, &e).unwrap();
    };
    // As a transcript import recorded its steps.
    for (to, note) in [
        ("defined", "激活失败"),
        ("escalated", "binding"),
        ("archived", "总结"),
    ] {
        record(
            &mut conn,
            &source,
            NewEvent {
                actor_label: "Wang Binbin",
                kind: EventKind::Transition,
                from_state: Some("new"),
                to_state: Some(to),
                note: Some(note),
                data: Some(r#"{"imported":true}"#.into()),
                ..Default::default()
            },
        );
    }
    // A live transition is already in the one shape and stays as it is.
    let live = r#"{"action":"define","definition":"x"}"#;
    record(
        &mut conn,
        &source,
        NewEvent {
            actor_label: "Admin",
            kind: EventKind::Transition,
            data: Some(live.into()),
            ..Default::default()
        },
    );
    // A bounce, then the outbox giving up.
    record(
        &mut conn,
        &source,
        NewEvent {
            actor_label: "system",
            kind: EventKind::DeliveryFailed,
            note: Some("Undeliverable — 5.1.1 no such user"),
            data: Some(
                r#"{"original_message_ids":["<a@cmgos.example>"],"reason":"5.1.1 no such user"}"#
                    .into(),
            ),
            ..Default::default()
        },
    );
    record(
        &mut conn,
        &source,
        NewEvent {
            actor_label: "casebook",
            kind: EventKind::DeliveryFailed,
            note: Some("chenhui.zd@centerm.example — 550 mailbox unavailable"),
            data: Some(r#"{"outbox_id":7,"message_id":"<b@cmgos.example>"}"#.into()),
            ..Default::default()
        },
    );
    // The merge of `source` into `target`, as both sides recorded it.
    let into = format!(
        r#"{{"into":"{}","messages_moved":2,"clocks_stopped":1}}"#,
        target.number
    );
    record(
        &mut conn,
        &source,
        NewEvent {
            actor_label: "Admin",
            kind: EventKind::Merged,
            data: Some(into),
            ..Default::default()
        },
    );
    let from = format!(r#"{{"from":"{}","messages_moved":2}}"#, source.number);
    record(
        &mut conn,
        &target,
        NewEvent {
            actor_label: "Admin",
            kind: EventKind::Merged,
            data: Some(from),
            ..Default::default()
        },
    );

    let sql = match backend {
        BackendKind::Sqlite => {
            include_str!("../migrations/sqlite/2026-12-09-000050_event_payload_shapes/up.sql")
        }
        BackendKind::Postgres => {
            include_str!("../migrations/postgres/2026-12-09-000050_event_payload_shapes/up.sql")
        }
    };
    conn.batch_execute(sql).unwrap();
    // Running it again changes nothing.
    conn.batch_execute(sql).unwrap();

    let events: Vec<CaseEvent> = [&source, &target]
        .iter()
        .flat_map(|c| CaseEvent::for_case(&mut conn, c.id).unwrap())
        .collect();
    for e in &events {
        assert!(e.kind.fits(e.data.as_deref()), "{}: {:?}", e.kind, e.data);
    }
    let of = |kind: EventKind| events.iter().filter(move |e| e.kind == kind);
    let transitions: Vec<Transition> = of(EventKind::Transition)
        .map(|e| Transition::parse(e.data.as_deref()).unwrap())
        .collect();
    let mut define = Transition::of(Action::Define);
    define.definition = Some("激活失败".into());
    define.imported = true;
    let mut escalate = Transition::of(Action::Escalate);
    escalate.reason = Some("binding".into());
    escalate.imported = true;
    let mut archive = Transition::of(Action::Archive);
    archive.summary = Some("总结".into());
    archive.imported = true;
    assert_eq!(
        transitions,
        vec![
            define,
            escalate,
            archive,
            Transition::parse(Some(live)).unwrap()
        ]
    );
    let failures: Vec<DeliveryFailed> = of(EventKind::DeliveryFailed)
        .map(|e| DeliveryFailed::parse(e.data.as_deref()).unwrap())
        .collect();
    assert_eq!(
        failures,
        vec![
            DeliveryFailed {
                message_ids: vec!["<a@cmgos.example>".into()],
                reason: "5.1.1 no such user".into(),
                outbox_id: None,
            },
            DeliveryFailed {
                message_ids: vec!["<b@cmgos.example>".into()],
                reason: "550 mailbox unavailable".into(),
                outbox_id: Some(7),
            },
        ]
    );
    let merge = Merged {
        source: source.number.clone(),
        target: target.number.clone(),
        messages_moved: 2,
        clocks_stopped: 1,
    };
    let merges: Vec<Merged> = of(EventKind::Merged)
        .map(|e| Merged::parse(e.data.as_deref()).unwrap())
        .collect();
    assert_eq!(
        merges,
        vec![merge.clone(), merge],
        "both sides say the same"
    );
}

both_backends_sync!(old_event_shapes_are_rewritten_into_one_shape_per_kind);
