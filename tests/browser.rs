//! Pages in a real browser: headless Chromium signs in, reads the case list and a case.
//! A screenshot of the case page is saved to `target/test-artifacts/case-page.png`.

mod common;

use casebook::auth::Role;
use casebook::ingest::pipeline::{Incoming, Ingestor};
use common::browser::Browser;
use common::{BackendKind, TEST_PASSWORD, spawn_app};

#[actix_web::test]
async fn an_agent_signs_in_and_reads_a_case_in_chromium() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mail/01-utf8-new-case.eml"
    ))
    .unwrap();
    let number = {
        let mut conn = app.conn();
        let blobs = casebook::db::blobs::BlobStore::new(&app.config.data_dir);
        let ingestor = Ingestor::new(&mut conn, &app.config, &blobs).unwrap();
        let o = ingestor
            .ingest_batch(
                &mut conn,
                vec![Incoming {
                    origin: "test".into(),
                    bytes: raw,
                }],
            )
            .unwrap();
        o[0].case().unwrap().to_string()
    };

    browser.goto(&app.url("/cases")).await;
    assert!(browser.url().await.contains("/login"), "sent to sign in");
    browser
        .type_into("input[name=email]", "agent@casebook.test")
        .await;
    browser
        .type_into("input[name=password]", TEST_PASSWORD)
        .await;
    browser.click("button[type=submit].primary").await;
    assert!(
        browser.url().await.ends_with("/cases"),
        "back on the list after signing in"
    );
    let html = browser.source().await;
    assert!(html.contains(&number));
    assert!(html.contains("CMGE版本激活失败问题"));

    browser.click(&format!("a[href=\"/cases/{number}\"]")).await;
    let html = browser.source().await;
    assert!(html.contains("陈慧"));
    assert!(html.contains("Conversation"));

    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("case-page.png"), png).unwrap();
}
