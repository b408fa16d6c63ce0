//! Merging a case into another from the case page, on both backends.

mod common;

use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::messages::{CaseEvent, Message};
use casebook::ingest::pipeline::{Incoming, Ingestor, Outcome};
use common::{BackendKind, spawn_app};

both_backends!(merging_moves_the_thread_and_later_mail_follows_it);

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
