//! Merging a case into another from the case page, on both backends.

mod common;

use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::messages::{CaseEvent, Message};
use casebook::ingest::pipeline::{Incoming, Ingestor, Outcome};
use common::{BackendKind, spawn_app};

both_backends!(
    merging_moves_the_thread_and_later_mail_follows_it,
    a_merged_case_has_no_running_clock_and_is_never_breached_or_listed_overdue,
    merging_follows_the_workflow_rules,
);

fn ingest(app: &common::TestApp, name: &str) -> Outcome {
    let blobs = casebook::db::blobs::BlobStore::new(&app.config.data_dir);
    let mut conn = app.conn();
    let ingestor = Ingestor::new(&mut conn, &app.config, &blobs).unwrap();
    let bytes = std::fs::read(format!(
        "{}/tests/fixtures/mail/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    ingestor
        .ingest_batch(
            &mut conn,
            vec![Incoming {
                origin: name.into(),
                bytes,
            }],
        )
        .unwrap()
        .remove(0)
}

async fn merging_moves_the_thread_and_later_mail_follows_it(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let target = ingest(&app, "01-utf8-new-case.eml")
        .case()
        .unwrap()
        .to_string();
    let source = ingest(&app, "03-gbk-quoted-printable.eml")
        .case()
        .unwrap()
        .to_string();

    let engineer = app.another_browser();
    engineer.login_as(Role::Engineer).await;
    let r = engineer
        .post_form(&format!("/cases/{source}/merge"), &[("into", &target)])
        .await;
    assert_eq!(r.status().as_u16(), 403, "engineers do not merge");

    app.login_as(Role::Agent).await;
    let r = app
        .post_form(&format!("/cases/{source}/merge"), &[("into", &source)])
        .await;
    assert_eq!(r.status().as_u16(), 422, "not into itself");
    let r = app
        .post_form(
            &format!("/cases/{source}/merge"),
            &[("into", "CAS-99999-ZZZZZZ")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422, "unknown target");

    let r = app
        .post_form(
            &format!("/cases/{source}/merge"),
            &[("into", &target.to_lowercase())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], format!("/cases/{target}").as_str());

    let mut conn = app.conn();
    let src = Case::find_by_number(&mut conn, &source).unwrap().unwrap();
    let dst = Case::find_by_number(&mut conn, &target).unwrap().unwrap();
    assert_eq!(src.merged_into_id, Some(dst.id));
    assert_eq!(src.state, "archived");
    assert!(Message::for_case(&mut conn, src.id).unwrap().is_empty());
    assert_eq!(
        Message::for_case(&mut conn, dst.id).unwrap().len(),
        2,
        "the thread moved"
    );
    assert!(
        CaseEvent::for_case(&mut conn, src.id)
            .unwrap()
            .iter()
            .any(|e| e.kind == "merged")
    );
    assert!(
        CaseEvent::for_case(&mut conn, dst.id)
            .unwrap()
            .iter()
            .any(|e| e.kind == "merged")
    );
    drop(conn);

    let (status, html) = app.get_text(&format!("/cases/{target}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("主板序列号异常"),
        "the merged mail shows on the target"
    );

    // A reply to the merged case's mail (by its token) now lands on the target.
    let raw = std::fs::read(format!(
        "{}/tests/fixtures/mail/15-token-bare-lowercase.eml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let raw = String::from_utf8_lossy(&raw).replace("cas-06004-s8k5x3", &source.to_lowercase());
    let blobs = casebook::db::blobs::BlobStore::new(&app.config.data_dir);
    let mut conn = app.conn();
    // The fixture's sender is the customer of neither case, so make them a participant of the source first.
    casebook::cases::messages::Participant::add(
        &mut conn,
        dst.id,
        "chenhui.zd@centerm.com",
        None,
        "cc",
    )
    .unwrap();
    let ingestor = Ingestor::new(&mut conn, &app.config, &blobs).unwrap();
    let o = ingestor
        .ingest_batch(
            &mut conn,
            vec![Incoming {
                origin: "reply".into(),
                bytes: raw.into_bytes(),
            }],
        )
        .unwrap();
    assert_eq!(
        o[0],
        Outcome::Appended {
            case: target.clone()
        }
    );
}

async fn a_merged_case_has_no_running_clock_and_is_never_breached_or_listed_overdue(
    backend: BackendKind,
) {
    use casebook::workflow::service;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let target = ingest(&app, "01-utf8-new-case.eml")
        .case()
        .unwrap()
        .to_string();
    let source = ingest(&app, "03-gbk-quoted-printable.eml")
        .case()
        .unwrap()
        .to_string();
    let src = Case::find_by_number(&mut app.conn(), &source)
        .unwrap()
        .unwrap();
    let running = |app: &common::TestApp| {
        service::clocks(&mut app.conn(), src.id)
            .unwrap()
            .into_iter()
            .filter(|c| c.clock.met_at.is_none() && c.clock.paused_since.is_none())
            .count()
    };
    assert_eq!(
        running(&app),
        2,
        "a new case runs its first-response and resolution clocks"
    );

    app.login_as(Role::Agent).await;
    let r = app
        .post_form(
            &format!("/cases/{source}/merge"),
            &[("into", &target), ("from", "new")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(running(&app), 0, "the merged case's clocks stopped");
    let event = CaseEvent::for_case(&mut app.conn(), src.id)
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "merged")
        .unwrap();
    assert!(event.note.unwrap().contains("2 SLA clocks stopped"));

    // Long after every deadline: the sweep records no breach on the merged case, and the case
    // list's overdue filter does not show it.
    // (The fixture mail is from 2022, so its clocks may have breached before the merge; those
    // breaches are history and stay.)
    let breaches = |app: &common::TestApp| {
        CaseEvent::for_case(&mut app.conn(), src.id)
            .unwrap()
            .iter()
            .filter(|e| e.kind == "sla_breached")
            .count()
    };
    let before = breaches(&app);
    let later = chrono::Utc::now() + chrono::Duration::days(60);
    service::breach_sweep(&mut app.conn(), later).unwrap();
    assert_eq!(
        breaches(&app),
        before,
        "no breach is recorded after the merge"
    );
    let (_, html) = app.get_text("/cases?sla=overdue&state=archived").await;
    assert!(
        !html.contains(&source),
        "a merged case is never listed overdue"
    );
}

async fn merging_follows_the_workflow_rules(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let target = ingest(&app, "01-utf8-new-case.eml")
        .case()
        .unwrap()
        .to_string();
    let source = ingest(&app, "03-gbk-quoted-printable.eml")
        .case()
        .unwrap()
        .to_string();
    let src = Case::find_by_number(&mut app.conn(), &source)
        .unwrap()
        .unwrap();
    app.login_as(Role::Agent).await;

    // The page showed "new" but someone started investigating meanwhile: refused as stale.
    Case::set_state(
        &mut app.conn(),
        src.id,
        casebook::workflow::CaseState::Investigating,
    )
    .unwrap();
    let r = app
        .post_form(
            &format!("/cases/{source}/merge"),
            &[("into", &target), ("from", "new")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);

    // An archived case is closed: it is reopened before it can be merged, and the page offers no
    // merge form for it.
    Case::set_state(
        &mut app.conn(),
        src.id,
        casebook::workflow::CaseState::Archived,
    )
    .unwrap();
    let r = app
        .post_form(&format!("/cases/{source}/merge"), &[("into", &target)])
        .await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("cannot be merged; reopen it first")
    );
    let (_, html) = app.get_text(&format!("/cases/{source}")).await;
    assert!(
        !html.contains("name=\"into\""),
        "no merge form on an archived case"
    );

    // Once merged, a case takes no further transitions: work happens on the target.
    Case::set_state(
        &mut app.conn(),
        src.id,
        casebook::workflow::CaseState::Resolved,
    )
    .unwrap();
    let r = app
        .post_form(&format!("/cases/{source}/merge"), &[("into", &target)])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = app
        .post_form(
            &format!("/cases/{source}/transition"),
            &[
                ("action", "reopen"),
                ("from", "archived"),
                ("reason", "customer wrote"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("merged into another case"));
}
