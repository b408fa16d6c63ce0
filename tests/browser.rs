//! Pages in a real browser: headless Chromium signs in, reads the case list and a case, replies,
//! defines and scopes the problem, escalates, and archives with a summary. Screenshots of the case
//! page are saved to `target/test-artifacts/`.

mod common;

use casebook::auth::Role;
use casebook::ingest::pipeline::{Incoming, Ingestor};
use common::browser::Browser;
use common::{BackendKind, TEST_PASSWORD, spawn_app};

/// The seed case's first mail.
fn first_mail() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mail/01-utf8-new-case.eml"
    ))
    .unwrap()
}

/// Ingests one raw mail as a new case; returns its number.
fn ingest(app: &common::TestApp, bytes: Vec<u8>) -> String {
    let mut conn = app.conn();
    let blobs = casebook::db::blobs::BlobStore::new(&app.config.data_dir);
    let ingestor = Ingestor::new(&mut conn, &app.config, &blobs).unwrap();
    let o = ingestor
        .ingest_batch(
            &mut conn,
            vec![Incoming {
                origin: "test".into(),
                bytes,
            }],
        )
        .unwrap();
    o[0].case().unwrap().to_string()
}

/// Signs the agent in through the sign-in page, as a person types it.
async fn sign_in(browser: &Browser, app: &common::TestApp) {
    sign_in_as(browser, app, "agent@casebook.test").await;
}

/// Signs `email` in through the sign-in page.
async fn sign_in_as(browser: &Browser, app: &common::TestApp, email: &str) {
    browser.goto(&app.url("/login")).await;
    browser.type_into("input[name=email]", email).await;
    browser
        .type_into("input[name=password]", TEST_PASSWORD)
        .await;
    browser.click("button[type=submit].primary").await;
}

#[actix_web::test]
async fn an_agent_signs_in_and_reads_a_case_in_chromium() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    let raw = first_mail();
    let number = ingest(&app, raw);

    browser.goto(&app.url("/cases")).await;
    assert!(browser.url().await.contains("/login"), "sent to sign in");
    browser
        .type_into("input[name=email]", "agent@casebook.test")
        .await;
    browser
        .type_into("input[name=password]", TEST_PASSWORD)
        .await;
    browser.click("button[type=submit].primary").await;
    let html = browser.wait_for_text(&number).await;
    assert!(
        browser.url().await.ends_with("/cases"),
        "back on the list after signing in"
    );
    assert!(html.contains("CMGE版本激活失败问题"));

    browser.click(&format!("a[href=\"/cases/{number}\"]")).await;
    let html = browser.wait_for_text("Conversation").await;
    assert!(html.contains("陈慧"));
    assert!(html.contains("Conversation"));

    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("case-page.png"), png).unwrap();

    // Reply to the customer from the page.
    browser
        .type_into(
            "form.reply-form textarea[name=body]",
            "陈女士，您好：请通过上传链接提交日志。",
        )
        .await;
    browser.click("form.reply-form button[type=submit]").await;
    // The reply appears on the thread once the page has reloaded.
    browser.wait_for_text("badge dir-outbound").await;
    assert!(
        browser.source().await.contains("请通过上传链接提交日志"),
        "the reply is on the thread"
    );

    // Define, scope, start investigating, escalate, archive: each through its form.
    let act = |action: &'static str,
               fields: Vec<(&'static str, &'static str)>,
               expect: &'static str| {
        let browser = &browser;
        async move {
            browser
                .click(&format!(
                    "details.workflow-action:has(input[name=action][value={action}]) summary"
                ))
                .await;
            for (name, value) in fields {
                let css =
                    format!("form:has(input[name=action][value={action}]) textarea[name={name}]");
                browser.type_into(&css, value).await;
            }
            browser
                .click(&format!(
                    "form:has(input[name=action][value={action}]) button[type=submit]"
                ))
                .await;
            browser
                .wait_for_text(&format!("badge state-{expect}"))
                .await
        }
    };
    let definition = "用户反馈离线激活失败。提示“Device marker binding is Invalid”。";
    let html = act("define", vec![("definition", definition)], "defined").await;
    assert!(html.contains("Device marker binding is Invalid"));
    act("scope", vec![("scope", "协助用户分析上述问题。")], "scoped").await;
    act("investigate", vec![], "investigating").await;
    let escalation = vec![
        ("reason", "设备疑似以虚拟机运行"),
        ("tried", "已收集 wmic 输出和激活日志"),
    ];
    act("escalate", escalation, "escalated").await;
    // The archive form is pre-filled with a summary draft from the definition and scope.
    browser
        .click("details.workflow-action:has(input[name=action][value=archive]) summary")
        .await;
    let html = browser.source().await;
    assert!(
        html.contains("协助用户分析上述问题。"),
        "summary draft uses the recorded scope"
    );
    browser
        .click("form:has(input[name=action][value=archive]) button[type=submit]")
        .await;
    browser.wait_for_text("badge state-archived").await;
    std::fs::write(
        dir.join("case-page-archived.png"),
        browser.screenshot().await,
    )
    .unwrap();

    let case = casebook::cases::Case::find_by_number(&mut app.conn(), &number)
        .unwrap()
        .unwrap();
    assert_eq!(case.state, "archived");
    assert_eq!(case.scope.as_deref(), Some("协助用户分析上述问题。"));
}

/// Outlook-style HTML mail reads as sent: its `cid:` screenshot loads (through the case's
/// attachment route) and its `style` colour applies, under the page's Content-Security-Policy.
#[actix_web::test]
async fn html_mail_shows_its_inline_image_and_colours_in_chromium() {
    use common::mail::{RED_TEXT, styled_mail_with_inline_image};
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    let number = ingest(
        &app,
        styled_mail_with_inline_image("styled@centerm.example").into_bytes(),
    );

    sign_in(&browser, &app).await;
    browser.wait_for_text(&number).await;
    browser.goto(&app.url(&format!("/cases/{number}"))).await;
    browser.wait_for_text(RED_TEXT).await;
    browser.click("details.html-view summary").await;

    let mut width = serde_json::Value::Null;
    for _ in 0..100 {
        width = browser
            .execute(
                "const img = document.querySelector('.html-body img[alt=screenshot]');
                 return img && img.complete ? img.naturalWidth : null;",
            )
            .await;
        if !width.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(width, 4, "the 4-pixel-wide screenshot loaded");
    let colour = browser
        .execute(&format!(
            "const p = [...document.querySelectorAll('.html-body p')]
                 .find(e => e.textContent === '{RED_TEXT}');
             return p && getComputedStyle(p).color;"
        ))
        .await;
    assert_eq!(colour, "rgb(255, 0, 0)", "the mail's own colour applies");
}

/// What the reply form looks like to an agent: on a 1366×900 desktop the message box takes the
/// form's width (it was once squeezed into one grid row with To, Cc and Send, ~200 px wide), Send
/// sits below it on one line, the "send anyway" box sits beside its words, and nothing scrolls
/// sideways — on a phone too.
#[actix_web::test]
async fn the_reply_form_gives_the_message_the_page_width_on_desktop_and_phone() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    let raw = first_mail();
    let number = ingest(&app, raw);
    sign_in(&browser, &app).await;
    browser.wait_for_text(&number).await;

    const MEASURE: &str = "
        const f = document.querySelector('form.reply-form');
        const r = (el) => el.getBoundingClientRect();
        const box = r(f.querySelector('textarea[name=body]'));
        const send = r(f.querySelector('button[type=submit]'));
        const cc = r(f.querySelector('input[name=cc]'));
        const confirm = f.querySelector('label.confirm');
        const tick = confirm && r(confirm.querySelector('input'));
        return {
            form: r(f).width, box: box.width, box_bottom: box.bottom,
            send_top: send.top, send_height: send.height, cc: cc.width,
            confirm_height: confirm ? r(confirm).height : 0,
            tick_top: tick ? tick.top : 0, confirm_top: confirm ? r(confirm).top : 0,
            sideways: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        };";
    let num = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k}: {v}"));

    for (width, height) in [(1366, 900), (390, 844)] {
        browser.set_window_size(width, height).await;
        browser.goto(&app.url(&format!("/cases/{number}"))).await;
        browser.wait_for_text("Reply to the customer").await;
        let m = browser.execute(MEASURE).await;
        assert!(
            num(&m, "box") >= 0.95 * num(&m, "form"),
            "at {width}px the message box spans the form: {m}"
        );
        assert!(
            num(&m, "send_top") >= num(&m, "box_bottom"),
            "Send is below the message: {m}"
        );
        assert!(num(&m, "send_height") < 50.0, "Send is on one line: {m}");
        assert!(num(&m, "cc") >= 150.0, "the Cc field is usable: {m}");
        assert!(
            num(&m, "sideways") <= 0.0,
            "nothing scrolls sideways at {width}px: {m}"
        );
        if width > 1000 {
            assert!(
                num(&m, "box") >= 600.0,
                "a desktop message box is wide: {m}"
            );
        }
    }

    // A reply that looks like it carries a password comes back with a box to tick: the box sits
    // on the line of its words, and the message keeps its width.
    browser.set_window_size(1366, 900).await;
    browser.goto(&app.url(&format!("/cases/{number}"))).await;
    browser
        .type_into("textarea[name=body]", "The admin password: Hunter2-Secret!")
        .await;
    browser.click("form.reply-form button[type=submit]").await;
    browser.wait_for_text("send it anyway").await;
    let m = browser.execute(MEASURE).await;
    assert!(num(&m, "box") >= 0.95 * num(&m, "form"), "{m}");
    assert!(
        num(&m, "confirm_height") < 40.0,
        "the tick box and its words share one line: {m}"
    );
    assert!(
        (num(&m, "tick_top") - num(&m, "confirm_top")).abs() < 12.0,
        "the tick box does not float above its label: {m}"
    );
    assert!(num(&m, "send_height") < 50.0, "Send does not wrap: {m}");
    let shot = browser.screenshot().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("reply-form-desktop.png"), shot).unwrap();
}

/// Two-factor sign-in as a person does it: open one's own settings from the top bar, scan (here:
/// read) the key, type the app's code, keep the recovery codes; then sign in with password and code.
#[actix_web::test]
async fn an_agent_turns_on_two_factor_sign_in_and_signs_in_with_a_code_in_chromium() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    sign_in(&browser, &app).await;
    browser.wait_for_text("Sign out").await;
    browser.set_window_size(390, 844).await;
    browser.click("a.whoami").await;
    browser.wait_for_text("authenticator app").await;
    let sideways = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        )
        .await;
    assert!(
        sideways.as_f64().unwrap() <= 0.0,
        "the enrolment page fits a phone: {sideways}"
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("two-factor-enrolment-phone.png"),
        browser.screenshot().await,
    )
    .unwrap();
    let shown = browser
        .execute(
            "const svg = document.querySelector('.qr svg');
             const r = svg.getBoundingClientRect();
             return {secret: document.querySelector('.totp-secret').textContent.trim(),
                     width: r.width, height: r.height};",
        )
        .await;
    assert!(
        shown["width"].as_f64().unwrap() >= 150.0,
        "a QR code big enough to scan: {shown}"
    );
    let secret = shown["secret"].as_str().unwrap().to_string();
    let step = common::totp_step_now();
    browser
        .type_into("input[name=code]", &common::totp_code(&secret, step))
        .await;
    browser.click("button[type=submit].primary").await;
    let html = browser.wait_for_text("Recovery codes").await;
    assert!(html.contains("Two-factor sign-in is on."));

    browser.click("form[action=\"/logout\"] button").await;
    browser.wait_for_text("Sign in").await;
    sign_in(&browser, &app).await;
    browser
        .wait_for_text("Code from your authenticator app")
        .await;
    assert!(browser.url().await.ends_with("/login/two-factor"));
    browser
        .type_into("input[name=code]", &common::totp_code(&secret, step + 1))
        .await;
    browser.click("button[type=submit].primary").await;
    browser.wait_for_text("Sign out").await;
    assert!(browser.url().await.ends_with("/cases"), "signed in");
}

/// Imports the seed thread (21 mails of the story, the agent Wang Binbin's replies among them) as
/// `casebook ingest seed-thread.txt` does; returns its case number.
fn import_seed(app: &common::TestApp) -> String {
    let mut conn = app.conn();
    let blobs = casebook::db::blobs::BlobStore::new(&app.config.data_dir);
    let ingestor = Ingestor::new(&mut conn, &app.config, &blobs).unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/transcripts/seed-thread.txt"
    ))
    .unwrap();
    let transcript = casebook::ingest::sources::transcript::parse_transcript(&text).unwrap();
    casebook::ingest::transcript_import::import(
        &mut conn,
        ingestor.staff(),
        &transcript,
        &"0".repeat(64),
        &ingestor.sla_rules(),
    )
    .unwrap();
    "CAS-06004-S8K5X3".to_string()
}

fn artifacts() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Elements that stick out of the viewport sideways (outside any scrolling or clipping box), and
/// how far the page scrolls sideways.
const OVERFLOW: &str = "
    const vw = document.documentElement.clientWidth;
    const contained = (el) => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true;
        }
        return false;
    };
    const over = [];
    for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        if ((r.right > vw + 1 || r.left < -1) && !contained(el)) {
            over.push(el.tagName.toLowerCase() + '.' + el.className + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
        }
    }
    return {vw, sideways: document.documentElement.scrollWidth - vw, over: over.slice(0, 8), count: over.length};";

fn assert_fits(m: &serde_json::Value, what: &str) {
    assert_eq!(
        m["count"], 0,
        "{what}: elements stick out of the viewport: {m}"
    );
    assert!(
        m["sideways"].as_f64().unwrap() <= 0.0,
        "{what}: the page scrolls sideways: {m}"
    );
}

/// The case page of the seed story as an agent reads it: at 1366×900 the reply box is on the first
/// screen, above the thread, and takes most of the conversation's width; the newest three messages
/// are open and the older ones one line each, opening in place without a reload; the order
/// switches and stays switched; nothing sticks out at 390×844.
#[actix_web::test]
async fn the_case_page_puts_the_reply_box_first_and_folds_older_messages_on_desktop_and_phone() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    let number = import_seed(&app);
    sign_in(&browser, &app).await;
    browser.wait_for_text("Sign out").await;

    const MEASURE: &str = "
        const r = (el) => el.getBoundingClientRect();
        const box = r(document.querySelector('form.reply-form textarea[name=body]'));
        const conversation = r(document.querySelector('section.conversation'));
        const first = r(document.querySelector('.thread .message'));
        const lines = [...document.querySelectorAll('.thread details.message.collapsed > summary')]
            .map((s) => r(s).height);
        return {
            box: box.width, conversation: conversation.width,
            box_top: box.top + scrollY, first_top: first.top + scrollY, screen: innerHeight,
            open: document.querySelectorAll('.thread article.message.open').length,
            collapsed: lines.length, tallest_line: Math.max(...lines),
        };";
    let num = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k}: {v}"));
    let dir = artifacts();
    for (width, height, name) in [(1366, 900, "desktop"), (390, 844, "phone")] {
        browser.set_window_size(width, height).await;
        browser.goto(&app.url(&format!("/cases/{number}"))).await;
        browser.wait_for_text("Reply to the customer").await;
        let m = browser.execute(MEASURE).await;
        assert_eq!(
            num(&m, "open"),
            3.0,
            "the newest three messages are open: {m}"
        );
        assert_eq!(num(&m, "collapsed"), 18.0, "the other 18 are folded: {m}");
        assert!(
            num(&m, "tallest_line") < 40.0,
            "a folded message is one line: {m}"
        );
        assert!(
            num(&m, "box_top") < num(&m, "first_top"),
            "the reply box comes before the thread: {m}"
        );
        assert!(
            num(&m, "box") >= 0.6 * num(&m, "conversation"),
            "the message box takes most of the conversation's width at {width}px: {m}"
        );
        if name == "desktop" {
            assert!(
                num(&m, "box_top") < num(&m, "screen"),
                "on the first screen: {m}"
            );
            assert!(num(&m, "box") >= 600.0, "{m}");
        }
        assert_fits(
            &browser.execute(OVERFLOW).await,
            &format!("case page at {width}px"),
        );
        std::fs::write(
            dir.join(format!("case-page-{name}.png")),
            browser.screenshot().await,
        )
        .unwrap();
        browser
            .execute("document.querySelector('.thread').scrollIntoView(); return null;")
            .await;
        std::fs::write(
            dir.join(format!("case-page-thread-{name}.png")),
            browser.screenshot().await,
        )
        .unwrap();
    }

    // A folded message opens in place: no reload, its whole new text shows.
    browser.set_window_size(1366, 900).await;
    browser.goto(&app.url(&format!("/cases/{number}"))).await;
    browser.wait_for_text("Reply to the customer").await;
    browser
        .execute("window.stillHere = true; return null;")
        .await;
    browser
        .click(".thread details.message.collapsed:last-of-type > summary")
        .await;
    let opened = browser
        .execute(
            "const d = [...document.querySelectorAll('.thread details.message.collapsed')].pop();
             const more = d.querySelector('.message-more');
             return {open: d.open, height: more.getBoundingClientRect().height,
                     text: more.textContent, stillHere: window.stillHere === true};",
        )
        .await;
    assert_eq!(opened["open"], true, "{opened}");
    assert_eq!(
        opened["stillHere"], true,
        "opened without a reload: {opened}"
    );
    assert!(opened["height"].as_f64().unwrap() > 40.0, "{opened}");
    assert!(
        opened["text"]
            .as_str()
            .unwrap()
            .contains("如刚刚电话沟通，我谨在此阐述问题涉及的范围定义"),
        "the oldest message, newest first: {opened}"
    );

    // Oldest first, remembered on the next visit.
    browser
        .click("form.order-toggle button[value=oldest_first]")
        .await;
    browser
        .wait_for_text("value=\"oldest_first\" aria-pressed=\"true\"")
        .await;
    browser.goto(&app.url(&format!("/cases/{number}"))).await;
    browser.wait_for_text("Reply to the customer").await;
    let first = browser
        .execute("return document.querySelector('.thread .message').textContent;")
        .await;
    assert!(
        first
            .as_str()
            .unwrap()
            .contains("如刚刚电话沟通，我谨在此阐述"),
        "the oldest message first now: {first}"
    );
    let m = browser.execute(MEASURE).await;
    assert!(num(&m, "box_top") < num(&m, "first_top"), "{m}");
}

/// An unknown case and a refused action keep the page's frame: the navigation bar, a way back, a
/// search box — on a phone too.
#[actix_web::test]
async fn an_error_page_keeps_the_navigation_bar_and_a_way_back_in_chromium() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    ingest(&app, first_mail());
    sign_in(&browser, &app).await;
    browser.wait_for_text("Sign out").await;
    for (width, height, name) in [(1366, 900, "desktop"), (390, 844, "phone")] {
        browser.set_window_size(width, height).await;
        browser.goto(&app.url("/cases/CAS-99999-ZZZZZZ")).await;
        browser.wait_for_text("Case not found").await;
        let shown = browser
            .execute(
                "const nav = document.querySelector('header.topbar nav.mainnav');
                 const r = nav && nav.getBoundingClientRect();
                 return {nav: !!nav && r.height > 0 && r.width > 0,
                         cases: !!document.querySelector('nav.mainnav a[href=\"/cases\"]'),
                         search: document.querySelector('form.error-search input[name=q]').value};",
            )
            .await;
        assert_eq!(
            shown["nav"], true,
            "the navigation bar shows at {width}px: {shown}"
        );
        assert_eq!(shown["cases"], true, "{shown}");
        assert_eq!(shown["search"], "CAS-99999-ZZZZZZ", "{shown}");
        assert_fits(
            &browser.execute(OVERFLOW).await,
            &format!("error page at {width}px"),
        );
        std::fs::write(
            artifacts().join(format!("error-page-{name}.png")),
            browser.screenshot().await,
        )
        .unwrap();
    }
    // The search box finds nothing for the made-up number, and says so without naming a state.
    browser.click("form.error-search button[type=submit]").await;
    let html = browser.wait_for_text("No cases match").await;
    assert!(!html.contains("No cases in state"), "{html}");
}

/// A 970-character subject and the dates in the case list and the engineering queue: each title
/// is one line cut with an ellipsis (the whole title on hover), each date one line, and nothing
/// sticks out at 1366 or 390 pixels.
#[actix_web::test]
async fn long_titles_are_cut_to_one_line_and_dates_do_not_wrap_in_the_list_and_queue() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("manager@casebook.test", "Li Na", Role::Manager);
    let long_title = "CMGE版本激活失败问题 Device marker binding is Invalid ".repeat(20);
    let long_title = long_title.trim().to_string();
    assert!(long_title.chars().count() > 900);
    let raw = format!(
        "From: Chen Hui <chenhui.zd@centerm.example>\r\nTo: support@casebook.invalid\r\n\
         Subject: {long_title}\r\nMessage-ID: <long@centerm.example>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
    );
    let number = ingest(&app, raw.into_bytes());
    ingest(&app, first_mail());
    // Escalate it, so it is in the engineering queue too.
    app.login_as(Role::Agent).await;
    let reason = "A reason long enough to need two lines in the queue. ".repeat(6);
    for (action, from, fields) in [
        ("define", "new", vec![("definition", "x")]),
        ("scope", "defined", vec![("scope", "x")]),
        ("investigate", "scoped", vec![]),
        (
            "escalate",
            "investigating",
            vec![
                ("target", "team:engineering"),
                ("reason", reason.as_str()),
                ("tried", "wmic"),
            ],
        ),
    ] {
        let mut all = vec![("action", action), ("from", from)];
        all.extend(fields.iter().map(|(k, v)| (*k, *v)));
        let r = app
            .post_form(&format!("/cases/{number}/transition"), &all)
            .await;
        assert_eq!(r.status().as_u16(), 303, "{action}");
    }
    sign_in_as(&browser, &app, "manager@casebook.test").await;
    browser.wait_for_text("Sign out").await;

    const MEASURE: &str = "
        const title = document.querySelector('a.case-title');
        const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el); return r.getBoundingClientRect().height; };
        const dates = [...document.querySelectorAll('td.date-cell')].filter((t) => t.textContent.trim()).map(lines);
        const rows = [...document.querySelectorAll('tbody tr')].map((t) => t.getBoundingClientRect().height);
        return {
            cut: title.scrollWidth > title.clientWidth, hover: title.title,
            title_height: title.getBoundingClientRect().height,
            tallest_date: Math.max(...dates), dates: dates.length, tallest_row: Math.max(...rows),
        };";
    for (path, what) in [("/cases", "case list"), ("/queue", "engineering queue")] {
        for (width, height, name) in [(1366, 900, "desktop"), (390, 844, "phone")] {
            browser.set_window_size(width, height).await;
            browser.goto(&app.url(path)).await;
            browser.wait_for_text(&number).await;
            let m = browser.execute(MEASURE).await;
            assert_eq!(
                m["cut"], true,
                "{what} at {width}px: the long title is cut: {m}"
            );
            assert_eq!(m["hover"], long_title.as_str(), "the whole title on hover");
            assert!(
                m["title_height"].as_f64().unwrap() < 30.0,
                "{what} at {width}px: one line: {m}"
            );
            assert!(m["dates"].as_f64().unwrap() >= 1.0, "{m}");
            if name == "desktop" {
                assert!(
                    m["tallest_date"].as_f64().unwrap() < 30.0,
                    "{what}: dates and deadlines on one line: {m}"
                );
                assert!(
                    m["tallest_row"].as_f64().unwrap() < 90.0,
                    "{what}: a row stays short: {m}"
                );
            }
            assert_fits(
                &browser.execute(OVERFLOW).await,
                &format!("{what} at {width}px"),
            );
            let file = format!(
                "{}-{name}.png",
                if path == "/cases" {
                    "case-list"
                } else {
                    "queue"
                }
            );
            std::fs::write(artifacts().join(file), browser.screenshot().await).unwrap();
        }
    }
}

/// A case made straight in the database in `state` (the shortcuts need a list and an escalation
/// form, not a mail history).
fn case_in(app: &common::TestApp, title: &str, state: casebook::workflow::CaseState) -> String {
    casebook::cases::Case::create(
        &mut app.conn(),
        &casebook::cases::model::NewCase {
            number: None,
            title,
            state,
            priority: casebook::workflow::Priority::Normal,
            customer_email: "zhang.wei@customer.test",
            customer_name: Some("张伟"),
            language: "zh-CN",
            duplicate_of_id: None,
            at: casebook::db::now(),
        },
    )
    .unwrap()
    .number
}

#[actix_web::test]
async fn keyboard_shortcuts_move_through_the_list_and_open_the_composer_in_chromium() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    let investigating = case_in(
        &app,
        "离线激活失败",
        casebook::workflow::CaseState::Investigating,
    );
    let other = case_in(&app, "无法登录", casebook::workflow::CaseState::New);
    sign_in(&browser, &app).await;
    browser.wait_for_text(&other).await;
    let selected = "var r = document.querySelector('tr.case-row.selected a.case-title'); \
                    return r ? r.getAttribute('href') : null;";
    let rows: Vec<String> = browser
        .execute(
            "return Array.from(document.querySelectorAll('tr.case-row a.case-title'))\
             .map(a => a.getAttribute('href'));",
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");

    // j selects the first row, j the next, k goes back; the page does not move anywhere.
    assert_eq!(browser.execute(selected).await, serde_json::Value::Null);
    browser.press("j").await;
    assert_eq!(browser.execute(selected).await, rows[0].as_str());
    browser.press("j").await;
    assert_eq!(browser.execute(selected).await, rows[1].as_str());
    browser.press("j").await;
    assert_eq!(
        browser.execute(selected).await,
        rows[1].as_str(),
        "stays on the last row"
    );
    browser.press("k").await;
    assert_eq!(browser.execute(selected).await, rows[0].as_str());
    // Typed into the search box, the same letters are text, not shortcuts.
    browser.click("input[name=q]").await;
    browser.press("j").await;
    assert_eq!(browser.execute(selected).await, rows[0].as_str());
    assert_eq!(
        browser
            .execute("return document.querySelector('input[name=q]').value;")
            .await,
        "j"
    );
    browser
        .execute("document.activeElement.blur(); return null;")
        .await;

    // Enter opens the selected case.
    let target = rows
        .iter()
        .position(|r| r.ends_with(&investigating))
        .unwrap();
    if target == 1 {
        browser.press("j").await;
    }
    browser.press("\u{E007}").await;
    browser.wait_for_text("离线激活失败").await;
    assert!(
        browser
            .url()
            .await
            .ends_with(&format!("/cases/{investigating}")),
        "{}",
        browser.url().await
    );

    let focused = "var a = document.activeElement; \
                   return a ? (a.closest('form') ? a.closest('form').className : '') + '|' + a.name : null;";
    // r: the cursor is in the reply box.
    browser.press("r").await;
    let f = browser.execute(focused).await;
    assert!(
        f.as_str().unwrap().contains("reply-form") && f.as_str().unwrap().ends_with("|body"),
        "{f}"
    );
    // Typing there is text: "n" goes into the reply, the note box does not take the focus.
    browser.press("n").await;
    assert_eq!(browser.execute(focused).await, f);
    assert_eq!(
        browser
            .execute("return document.querySelector('.reply-form textarea[name=body]').value.endsWith('n');")
            .await,
        true
    );
    browser
        .execute("document.activeElement.blur(); return null;")
        .await;
    // n: the note box.
    browser.press("n").await;
    let f = browser.execute(focused).await;
    assert!(
        f.as_str().unwrap().contains("note-form") && f.as_str().unwrap().ends_with("|body"),
        "{f}"
    );
    browser
        .execute("document.activeElement.blur(); return null;")
        .await;
    // e: the escalation form opens.
    browser.press("e").await;
    assert_eq!(
        browser
            .execute(
                "var i = document.querySelector('details.workflow-action input[name=action][value=escalate]'); \
                 return i.closest('details').open;"
            )
            .await,
        true
    );
    browser
        .execute("document.activeElement.blur(); return null;")
        .await;

    // ?: the help lists the shortcuts; Escape closes it.
    let help_visible = "var h = document.getElementById('shortcut-help'); \
                        return !h.hidden && h.getBoundingClientRect().width > 0;";
    assert_eq!(browser.execute(help_visible).await, false);
    browser.press("?").await;
    assert_eq!(browser.execute(help_visible).await, true);
    let help = browser
        .execute("return document.getElementById('shortcut-help').innerText;")
        .await;
    for words in ["Keyboard shortcuts", "Reply to the customer", "Escalate"] {
        assert!(help.as_str().unwrap().contains(words), "{help}");
    }
    std::fs::create_dir_all(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/test-artifacts"
    ))
    .ok();
    std::fs::write(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/test-artifacts/shortcut-help.png"
        ),
        browser.screenshot().await,
    )
    .ok();
    browser.press("\u{E00C}").await;
    assert_eq!(browser.execute(help_visible).await, false);
}
