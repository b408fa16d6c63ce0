//! Upload links as an agent uses them: creating one shows the link once with a copy button and a
//! reply to the customer already carrying it (in the customer's language); sending that reply
//! mails the link; the case lists its links with revoke; the customer's page is readable on a
//! phone. On SQLite and PostgreSQL, and in headless Chromium.

mod common;

use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::model::NewCase;
use casebook::mail::outbox::OutboxRow;
use common::browser::Browser;
use common::{BackendKind, TEST_PASSWORD, TestApp, spawn_app};

both_backends!(a_new_link_comes_with_a_reply_that_carries_it_to_the_customer,);

fn new_case(app: &TestApp, language: &str) -> Case {
    Case::create(
        &mut app.conn(),
        &NewCase {
            number: None,
            title: "离线激活失败 Device marker binding is Invalid",
            state: casebook::workflow::CaseState::New,
            priority: casebook::workflow::Priority::Normal,
            customer_email: "chenhui.zd@centerm.example",
            customer_name: Some("陈女士"),
            language,
            duplicate_of_id: None,
            at: casebook::db::now(),
        },
    )
    .expect("create case")
}

fn link_in(html: &str) -> String {
    regex::Regex::new(r"https?://[^\s<]+/upload/[A-Za-z0-9_-]{43}")
        .unwrap()
        .find(html)
        .expect("the page shows the link")
        .as_str()
        .to_string()
}

fn reply_body(html: &str) -> String {
    let re = regex::Regex::new(r#"(?s)<textarea name="body"[^>]*>(.*?)</textarea>"#).unwrap();
    re.captures(html).expect("a reply box")[1].to_string()
}

async fn a_new_link_comes_with_a_reply_that_carries_it_to_the_customer(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let case = new_case(&app, "zh-CN");
    let number = case.number.clone();

    let r = app
        .post_form(&format!("/cases/{number}/upload-links"), &[("days", "14")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["cache-control"].to_str().unwrap(),
        "no-store",
        "the link is kept out of caches"
    );
    let html = r.text().await.unwrap();
    let url = link_in(&html);
    assert!(
        html.contains(r##"data-copy="#upload-url""##),
        "a copy button"
    );
    assert!(html.contains("/static/copy.js"));
    // The reply box already asks the customer, in Chinese, to upload through this very link.
    let body = reply_body(&html);
    assert!(body.contains(&url), "{body}");
    assert!(body.contains("请通过以下链接上传"), "{body}");
    assert!(body.contains("有效期至"), "{body}");

    // Sending it mails the link to the customer.
    let csrf = common::csrf_from(&html);
    let seen = regex::Regex::new(r#"name="seen" value="([^"]*)""#)
        .unwrap()
        .captures(&html)
        .unwrap()[1]
        .to_string();
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .text("seen", seen)
        .text("cc", "")
        .text("body", unescape(&body));
    let r = app
        .client
        .post(app.url(&format!("/cases/{number}/reply")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let mail = OutboxRow::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .find(|r| r.kind == "reply")
        .expect("the reply is queued");
    let raw = casebook::db::blobs::BlobStore::new(&app.config.data_dir)
        .get(&mail.raw_sha256)
        .unwrap();
    let token = url.rsplit('/').next().unwrap();
    assert!(mail_text(&raw).contains(token), "the mail carries the link");

    // The case lists the link as active with its revoke button; an English case gets English.
    let (_, page) = app.get_text(&format!("/cases/{number}")).await;
    assert!(page.contains("upload-links/"), "the link is listed");
    assert!(page.contains(">Revoke<"), "with a revoke button");
    let english = new_case(&app, "en");
    let r = app
        .post_form(
            &format!("/cases/{}/upload-links", english.number),
            &[("days", "7")],
        )
        .await;
    let body = reply_body(&r.text().await.unwrap());
    assert!(body.contains("Please upload the diagnostics"), "{body}");

    // An engineer may make links but does not write to the customer: no reply box.
    let engineer = app.another_browser();
    app.create_user("eng@casebook.test", "Zhang Jianliang", Role::Engineer);
    engineer.login("eng@casebook.test", TEST_PASSWORD).await;
    let r = engineer
        .post_form(&format!("/cases/{number}/upload-links"), &[("days", "7")])
        .await;
    if r.status().as_u16() == 200 {
        let html = r.text().await.unwrap();
        link_in(&html);
        assert!(
            !html.contains(r#"<textarea name="body""#),
            "no reply for an engineer"
        );
    } else {
        assert_eq!(r.status().as_u16(), 403);
    }
}

/// The text of an HTML-escaped form field as the browser would send it.
fn unescape(html: &str) -> String {
    html.replace("&#x2F;", "/")
        .replace("&#x3A;", ":")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The decoded text of a quoted-printable or base64 mail body, good enough to find a token in.
fn mail_text(raw: &[u8]) -> String {
    let parsed = mail_parser::MessageParser::default().parse(raw);
    parsed
        .and_then(|m| m.body_text(0).map(|t| t.to_string()))
        .unwrap_or_default()
}

/// In Chromium: the copy button appears and copies (or selects) the link, the reply box with the
/// link takes the page's width on desktop, and the customer's page fits a phone with every
/// command readable without scrolling sideways.
#[actix_web::test]
async fn the_link_page_copies_and_the_customer_page_fits_a_phone_in_chromium() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    let case = new_case(&app, "zh-CN");
    browser.goto(&app.url("/login")).await;
    browser
        .type_into("input[name=email]", "agent@casebook.test")
        .await;
    browser
        .type_into("input[name=password]", TEST_PASSWORD)
        .await;
    browser.click("button[type=submit].primary").await;
    browser.set_window_size(1366, 900).await;
    browser
        .goto(&app.url(&format!("/cases/{}#upload-links", case.number)))
        .await;
    browser.wait_for_text("Create upload link").await;
    browser
        .click("form[action$='/upload-links'] button[type=submit]")
        .await;
    browser.wait_for_text("Upload link created").await;
    let m = browser
        .execute(
            "const b = document.querySelector('button[data-copy]');
             const i = document.querySelector('#upload-url');
             const box = document.querySelector('form.reply-form textarea[name=body]');
             const main = document.querySelector('main') || document.body;
             b.click();
             return { button_visible: !b.hidden && b.getBoundingClientRect().width > 0,
                      url: i.value, url_width: i.getBoundingClientRect().width,
                      url_top: i.getBoundingClientRect().top, button_top: b.getBoundingClientRect().top,
                      box_width: box.getBoundingClientRect().width,
                      main_width: main.getBoundingClientRect().width,
                      box_has_url: box.value.includes(i.value) };",
        )
        .await;
    assert_eq!(m["button_visible"], true, "{m}");
    assert_eq!(m["box_has_url"], true, "{m}");
    let num = |k: &str| m[k].as_f64().unwrap();
    assert!(num("box_width") >= 0.6 * num("main_width"), "{m}");
    assert!(num("url_width") >= 300.0, "the whole link is readable: {m}");
    assert!(
        (num("button_top") - num("url_top")).abs() < 8.0,
        "the copy button sits beside the link: {m}"
    );
    // Clicking copies (the button says so) or, where the clipboard is closed to the page,
    // selects the whole link for Ctrl+C.
    let after = browser
        .execute(
            "const b = document.querySelector('button[data-copy]');
             const i = document.querySelector('#upload-url');
             return { said: b.textContent.trim(),
                      selected: document.activeElement === i
                        && i.selectionStart === 0 && i.selectionEnd === i.value.length };",
        )
        .await;
    assert!(
        after["said"] == "已复制" || after["said"] == "Copied" || after["selected"] == true,
        "{after}"
    );
    let url = m["url"].as_str().unwrap().to_string();
    let shot = browser.screenshot().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("upload-link-created-desktop.png"), shot).unwrap();

    // The customer, on a phone.
    browser.set_window_size(390, 844).await;
    browser.goto(&url).await;
    browser.wait_for_text("wmic baseboard").await;
    let fit = browser
        .execute(
            "const vw = document.documentElement.clientWidth;
             const pre = document.querySelector('pre.commands');
             const over = [...document.querySelectorAll('body *')].filter(el => {
                 const r = el.getBoundingClientRect();
                 return r.width > 0 && (r.right > vw + 1 || r.left < -1);
             }).map(el => el.tagName + '.' + el.className);
             return { sideways: document.documentElement.scrollWidth - vw, over,
                      pre_hidden: pre.scrollWidth - pre.clientWidth,
                      button: document.querySelector('button[type=submit]').getBoundingClientRect().right <= vw };",
        )
        .await;
    assert_eq!(fit["sideways"], 0, "{fit}");
    assert_eq!(fit["over"], serde_json::json!([]), "{fit}");
    assert!(
        fit["pre_hidden"].as_f64().unwrap() <= 0.0,
        "every command is visible without scrolling the box: {fit}"
    );
    assert_eq!(fit["button"], true, "{fit}");
    let shot = browser.screenshot().await;
    std::fs::write(dir.join("upload-page-phone.png"), shot).unwrap();
}
