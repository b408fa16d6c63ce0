//! The case page an agent works from, through the front door on SQLite and PostgreSQL: a long
//! conversation shows its newest messages open and the rest one line each, pages back, and keeps
//! the reader's order on every device; the reply form starts with an empty Cc and greets the
//! customer by name; no URL ever carries the CSRF token, refused multipart posts included; and
//! errors keep the layout with a way back.

mod common;

use casebook::api::tokens::{ApiToken, TokenName};
use casebook::auth::Role;
use casebook::cases::Case;
use casebook::ingest::pipeline::{Incoming, Ingestor};
use casebook::mail::canned::CannedResponse;
use common::{BackendKind, TEST_PASSWORD, TestApp, spawn_app};

both_backends!(
    a_long_conversation_shows_the_newest_three_open_and_the_rest_one_line_each,
    the_conversation_order_is_remembered_per_person_on_every_device,
    no_url_carries_the_csrf_token_even_after_a_refused_multipart_post,
    the_cc_field_starts_empty_and_never_offers_the_support_mailbox,
    the_greeting_names_the_customer_known_from_the_thread,
    errors_keep_the_layout_and_offer_a_way_back,
);

const CUSTOMER: &str = "chenhui.zd@centerm.example";

/// A customer mail of the thread `t`: `i` numbers its Message-ID (`<{t}{i}@…>`); replies name
/// message 0 of their thread.
fn mail(t: &str, i: usize, from: &str, subject: &str, body: &str, extra_headers: &str) -> Vec<u8> {
    let reply = if i == 0 {
        String::new()
    } else {
        format!(
            "In-Reply-To: <{t}0@mail.centerm.example>\r\nReferences: <{t}0@mail.centerm.example>\r\n"
        )
    };
    format!(
        "From: {from}\r\nTo: support@casebook.invalid\r\n{extra_headers}Subject: {subject}\r\n\
         Message-ID: <{t}{i}@mail.centerm.example>\r\n{reply}\
         Date: Thu, 7 Apr 2022 14:{:02}:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        i % 60
    )
    .into_bytes()
}

/// Ingests mails in order; returns the case number of the first.
fn ingest(app: &TestApp, mails: Vec<Vec<u8>>) -> String {
    let mut conn = app.conn();
    let blobs = casebook::db::blobs::BlobStore::new(&app.config.data_dir);
    let ingestor = Ingestor::new(&mut conn, &app.config, &blobs).unwrap();
    let outcomes = ingestor
        .ingest_batch(
            &mut conn,
            mails
                .into_iter()
                .map(|bytes| Incoming {
                    origin: "test".into(),
                    bytes,
                })
                .collect(),
        )
        .unwrap();
    outcomes[0].case().unwrap().to_string()
}

/// A conversation of `n` customer mails; message 30 changes the subject.
fn long_case(app: &TestApp, n: usize) -> String {
    let from = format!("Chen Hui <{CUSTOMER}>");
    ingest(
        app,
        (0..n)
            .map(|i| {
                let subject = match i {
                    0 => "Activation fails".to_string(),
                    30.. => "Re: The new serial number fails too".to_string(),
                    _ => "Re: Activation fails".to_string(),
                };
                mail(
                    "m",
                    i,
                    &from,
                    &subject,
                    &format!("Line one of message {i}.\nLine two."),
                    "",
                )
            })
            .collect(),
    )
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

async fn a_long_conversation_shows_the_newest_three_open_and_the_rest_one_line_each(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let number = long_case(&app, 60);
    app.login_as(Role::Agent).await;
    let (status, html) = app.get_text(&format!("/cases/{number}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        count(&html, "<article class=\"message open"),
        3,
        "the newest three open"
    );
    assert_eq!(
        count(&html, "<details class=\"message collapsed"),
        47,
        "the rest of the window one line each"
    );
    // Newest first by default, right under the reply box.
    let reply_box = html.find("name=\"body\"").unwrap();
    let newest = html.find("Line one of message 59.").unwrap();
    let older = html.find("Line one of message 58.").unwrap();
    assert!(
        reply_box < newest && newest < older,
        "newest first, under the composer"
    );
    // A collapsed message is one line — sender, time, first line — and expands to its text
    // without a reload (a <details> element).
    let collapsed = html
        .split("<details class=\"message collapsed inbound\" id=\"m")
        .nth(1)
        .unwrap();
    let summary = collapsed.split("</summary>").next().unwrap();
    assert!(summary.contains("Chen Hui"), "{summary}");
    // Its time is relative (a date, this long ago), the absolute time in the reader's zone (the
    // default, Asia/Shanghai) on hover.
    assert!(
        summary.contains("<time datetime=\"2022-04-07T14:"),
        "{summary}"
    );
    assert!(summary.contains(" CST\">2022-04-07</time>"), "{summary}");
    assert!(
        summary.contains("<span class=\"first-line\">Line one of message 56.</span>"),
        "{summary}"
    );
    assert!(
        !summary.contains("Line two."),
        "only the first line in the summary"
    );
    assert!(
        collapsed.contains("Line two."),
        "the whole new text when expanded"
    );
    // The subject shows only where it changed: at message 30, not on each "Re:".
    assert_eq!(count(&html, "<p class=\"subject\">"), 1, "{html}");
    assert!(html.contains("<p class=\"subject\">Re: The new serial number fails too</p>"));
    // How a message was matched is behind a small details element, not in the message head.
    assert!(html.contains("<details class=\"message-meta\">"));
    assert!(!html.contains("class=\"thread-method\""));
    assert_eq!(count(&html, "<code>known_message_id</code>"), 50);

    // The ten older messages are one link away, all one line, with a way back.
    let earlier = regex::Regex::new(r#"href="(/cases/[^"?]+\?before=\d+)#thread""#)
        .unwrap()
        .captures(&html)
        .expect("a link to the earlier messages")[1]
        .to_string();
    assert!(html.contains("Show earlier messages</a> <span class=\"count\">10</span>"));
    let (status, page) = app.get_text(&earlier).await;
    assert_eq!(status, 200);
    assert_eq!(count(&page, "<article class=\"message open"), 0);
    assert_eq!(count(&page, "<details class=\"message collapsed"), 10);
    assert!(page.contains("Line one of message 0."));
    assert!(!page.contains("Line one of message 10."));
    assert!(page.contains("Back to the newest messages"));
    assert!(
        !page.contains("?before="),
        "nothing older than the first message"
    );
    // The first message repeats the case title: no subject line there either.
    assert_eq!(count(&page, "<p class=\"subject\">"), 0, "{page}");

    // One message whole, on its own page.
    let id = first_id(&app, &number, 0);
    let (status, one) = app
        .get_text(&format!("/cases/{number}/messages/{id}"))
        .await;
    assert_eq!(status, 200);
    assert!(one.contains("<article class=\"message open inbound\""));
    assert!(one.contains("Line one of message 0."));
    assert!(one.contains("class=\"mainnav\""));
    let (status, _) = app
        .get_text(&format!("/cases/{number}/messages/{}", id + 100_000))
        .await;
    assert_eq!(status, 404);
}

/// The row id of message `i` of the case (its Message-ID is `m{i}@…`).
fn first_id(app: &TestApp, number: &str, i: usize) -> i64 {
    let case = Case::find_by_number(&mut app.conn(), number)
        .unwrap()
        .unwrap();
    casebook::cases::messages::Message::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .find(|m| m.message_id.as_deref() == Some(&format!("m{i}@mail.centerm.example")))
        .unwrap()
        .id
}

async fn the_conversation_order_is_remembered_per_person_on_every_device(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let number = long_case(&app, 5);
    let agent = app.login_as(Role::Agent).await;
    let newest_first = |html: &str| {
        html.find("Line one of message 4.").unwrap() < html.find("Line one of message 0.").unwrap()
    };
    let (_, html) = app.get_text(&format!("/cases/{number}")).await;
    assert!(newest_first(&html), "newest first until chosen otherwise");
    assert!(html.contains(
        "<button type=\"submit\" name=\"order\" value=\"newest_first\" aria-pressed=\"true\" class=\"active\">"
    ));

    let r = app
        .post_form(
            "/preferences/thread-order",
            &[("order", "oldest_first"), ("back", &number)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/cases/{number}#thread").as_str()
    );
    let (_, html) = app.get_text(&format!("/cases/{number}")).await;
    assert!(!newest_first(&html), "oldest first now");
    assert!(html.contains("value=\"oldest_first\" aria-pressed=\"true\" class=\"active\""));
    // The oldest first: the composer still comes before the thread.
    assert!(html.find("name=\"body\"").unwrap() < html.find("Line one of message 0.").unwrap());

    // The same person on another device (a new session) reads in the same order.
    let laptop = app.another_browser();
    let r = laptop.login(&agent.email, TEST_PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = laptop.get_text(&format!("/cases/{number}")).await;
    assert!(
        !newest_first(&html),
        "remembered for the person, not the session"
    );
    // Someone else keeps the default.
    let colleague = app.another_browser();
    colleague.login_as(Role::Manager).await;
    let (_, html) = colleague.get_text(&format!("/cases/{number}")).await;
    assert!(newest_first(&html));

    // And back; a made-up order is refused and changes nothing.
    let r = laptop
        .post_form(
            "/preferences/thread-order",
            &[("order", "newest_first"), ("back", "not a case")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/cases");
    let (_, html) = app.get_text(&format!("/cases/{number}")).await;
    assert!(newest_first(&html));
    let r = app
        .post_form("/preferences/thread-order", &[("order", "sideways")])
        .await;
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        casebook::auth::preferences::thread_order(&mut app.conn(), agent.id).unwrap(),
        casebook::auth::preferences::ThreadOrder::NewestFirst
    );
}

/// Every URL a page links or posts to, and every redirect target.
fn urls_in(html: &str) -> Vec<String> {
    regex::Regex::new(r#"(?:href|action|src)="([^"]*)""#)
        .unwrap()
        .captures_iter(html)
        .map(|c| c[1].to_string())
        .collect()
}

/// Follows redirects like a browser, recording every URL reached and linked from the pages.
async fn reach(app: &TestApp, mut r: reqwest::Response, seen: &mut Vec<String>) -> (u16, String) {
    loop {
        seen.push(r.url().to_string());
        let status = r.status().as_u16();
        if (300..400).contains(&status) {
            let location = r.headers()["location"].to_str().unwrap().to_string();
            seen.push(location.clone());
            r = app.get(&location).await;
            continue;
        }
        let html = r.text().await.unwrap();
        seen.extend(urls_in(&html));
        return (status, html);
    }
}

async fn no_url_carries_the_csrf_token_even_after_a_refused_multipart_post(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let number = long_case(&app, 2);
    app.login_as(Role::Agent).await;
    let token = app.csrf().await;
    let mut seen = Vec::new();
    let (status, _) = reach(&app, app.get(&format!("/cases/{number}")).await, &mut seen).await;
    assert_eq!(status, 200);

    // Refused replies: empty, looking like a password, too many recipients, without the token.
    for fields in [
        vec![("body", "   ")],
        vec![("body", "The admin password: Hunter2-Secret!")],
        vec![("body", "hello"), ("cc", "not an address")],
    ] {
        let r = app
            .post_reply(&number, &fields, &[("a.txt", "text/plain", b"x")])
            .await;
        let (status, html) = reach(&app, r, &mut seen).await;
        assert_eq!(status, 422, "{html}");
    }
    let form = reqwest::multipart::Form::new().text("body", "hello").part(
        "attachments",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
    );
    let r = app
        .client
        .post(app.url(&format!("/cases/{number}/reply")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, html) = reach(&app, r, &mut seen).await;
    assert_eq!(status, 403, "no token, no reply");
    assert!(
        html.contains("class=\"mainnav\""),
        "the refusal keeps the layout"
    );
    // A token in the URL no longer counts: the middleware reads forms only.
    let form = reqwest::multipart::Form::new().text("body", "hello");
    let r = app
        .client
        .post(app.url(&format!("/cases/{number}/reply?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        403,
        "a token in the query string is refused"
    );
    // The token as the form's field, before the files, is accepted; the body reaches the handler
    // whole (the attachment arrives).
    let r = app
        .post_reply(
            &number,
            &[("body", "Please see the attached steps.")],
            &[("steps.txt", "text/plain", &vec![b'x'; 200_000])],
        )
        .await;
    let (status, _) = reach(&app, r, &mut seen).await;
    assert_eq!(status, 200, "sent, and back on the case");
    let case = Case::find_by_number(&mut app.conn(), &number)
        .unwrap()
        .unwrap();
    let sent = casebook::cases::messages::Attachment::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .find(|a| a.filename == "steps.txt")
        .expect("the attachment came through the CSRF check whole");
    assert_eq!(sent.size, 200_000);

    // A refused diagnostics upload (not a text file) and the customer's upload page.
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token.clone())
        .part(
            "files",
            reqwest::multipart::Part::bytes(vec![0u8, 159, 146, 150, 0, 1, 2]).file_name("x.bin"),
        );
    let r = app
        .client
        .post(app.url(&format!("/cases/{number}/diagnostics")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    reach(&app, r, &mut seen).await;
    let r = app
        .post_form(&format!("/cases/{number}/upload-links"), &[("days", "7")])
        .await;
    let html = r.text().await.unwrap();
    let link = regex::Regex::new(r"/upload/[A-Za-z0-9_-]{43}")
        .unwrap()
        .find(&html)
        .unwrap()
        .as_str()
        .to_string();
    let customer = app.another_browser();
    let (_, page) = reach(&customer, customer.get(&link).await, &mut seen).await;
    let customer_token = common::csrf_from(&page);
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", customer_token)
        .part(
            "files",
            reqwest::multipart::Part::bytes(vec![0u8; 10]).file_name("x.bin"),
        );
    let r = customer
        .client
        .post(customer.url(&link))
        .multipart(form)
        .send()
        .await
        .unwrap();
    reach(&customer, r, &mut seen).await;

    assert!(seen.len() > 50, "{seen:?}");
    let leaked: Vec<&String> = seen
        .iter()
        .filter(|u| u.contains("csrf") || u.contains(&token))
        .collect();
    assert!(leaked.is_empty(), "URLs carrying the token: {leaked:?}");
}

async fn the_cc_field_starts_empty_and_never_offers_the_support_mailbox(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let staff = app.create_user("wangbb@cmgos.example", "Wang Binbin", Role::Agent);
    let number = ingest(
        &app,
        vec![mail(
            "m",
            0,
            CUSTOMER,
            "Activation fails",
            "Hello",
            &format!(
                "Cc: support@casebook.invalid, colleague@centerm.example, {}\r\n",
                staff.email
            ),
        )],
    );
    app.login_as(Role::Agent).await;
    let (_, html) = app.get_text(&format!("/cases/{number}")).await;
    assert!(html.contains("name=\"cc\" value=\"\""), "Cc starts empty");
    assert!(html.contains("Goes to the customer and 0 Cc"));
    let offered = html
        .split("<span class=\"cc-suggestions\">")
        .nth(1)
        .and_then(|r| r.split("</p>").next())
        .unwrap();
    assert!(offered.contains("colleague@centerm.example"), "{offered}");
    assert!(
        !offered.contains("support@casebook.invalid"),
        "never the support mailbox"
    );
    assert!(!offered.contains("wangbb@cmgos.example"), "never staff");
}

async fn the_greeting_names_the_customer_known_from_the_thread(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // The first mail gives only the address; a later one signs with the name.
    let named = ingest(
        &app,
        vec![
            mail("n", 0, CUSTOMER, "激活失败", "你好", ""),
            mail(
                "n",
                1,
                &format!("陈辉 <{CUSTOMER}>"),
                "Re: 激活失败",
                "补充信息",
                "",
            ),
        ],
    );
    let anonymous = ingest(
        &app,
        vec![mail(
            "a",
            0,
            "nobody@elsewhere.example",
            "Another",
            "hi",
            "",
        )],
    );
    let agent = app.login_as(Role::Agent).await;
    let zh = CannedResponse::list(&mut app.conn())
        .unwrap()
        .into_iter()
        .find(|c| c.lang == "zh-CN")
        .unwrap();
    let (status, page) = app
        .get_text(&format!("/cases/{named}/reply?canned={}", zh.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("陈辉，您好："), "{page}");
    assert!(!page.contains(&format!("{CUSTOMER}，您好")));
    assert!(
        page.contains(&format!("value=\"陈辉 &#60;{CUSTOMER}&#62;\"")),
        "the To line names her"
    );
    let (_, page) = app
        .get_text(&format!("/cases/{anonymous}/reply?canned={}", zh.id))
        .await;
    assert!(
        page.contains(">您好："),
        "no name known: a greeting without one: {page}"
    );
    assert!(!page.contains("nobody@elsewhere.example，您好"));

    // The API's canned reply greets the same way.
    let token = ApiToken::create(&mut app.conn(), agent.id, &TokenName::parse("t").unwrap())
        .unwrap()
        .1;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cases/{named}/replies")))
        .bearer_auth(token)
        .json(&serde_json::json!({"body": "", "canned": zh.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let case = Case::find_by_number(&mut app.conn(), &named)
        .unwrap()
        .unwrap();
    let reply = casebook::cases::messages::Message::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .find(|m| m.direction == "outbound" && !m.auto)
        .unwrap();
    assert!(
        reply.body_text.starts_with("陈辉，您好："),
        "{}",
        reply.body_text
    );
}

async fn errors_keep_the_layout_and_offer_a_way_back(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let number = long_case(&app, 1);
    app.login_as(Role::Agent).await;

    // An unknown case: the layout, the search box holding the number, the case list.
    let (status, html) = app.get_text("/cases/CAS-99999-ZZZZZZ").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("class=\"mainnav\""),
        "the navigation bar: {html}"
    );
    assert!(html.contains("Case not found"));
    assert!(html.contains("There is no case “CAS-99999-ZZZZZZ”"));
    assert!(html.contains("name=\"q\" value=\"CAS-99999-ZZZZZZ\""));
    assert!(html.contains("<a class=\"to-list\" href=\"/cases\">Case list</a>"));
    // In the reader's language.
    let r = app
        .client
        .get(app.url("/cases/CAS-99999-ZZZZZZ"))
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("未找到案例"), "{html}");
    assert!(html.contains("案例列表"));

    // A refused transition (the page was drawn for another state): back to the case.
    let r = app
        .post_form(
            &format!("/cases/{number}/transition"),
            &[("action", "scope"), ("from", "defined"), ("scope", "x")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("class=\"mainnav\""));
    assert!(
        html.contains(&format!(
            "<a class=\"back-to-case\" href=\"/cases/{number}\">"
        )),
        "{html}"
    );
    // A transition missing its text (422) and a role that may not reply (403) likewise.
    let r = app
        .post_form(
            &format!("/cases/{number}/transition"),
            &[("action", "define"), ("from", "new"), ("definition", " ")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("class=\"mainnav\"") && html.contains("back-to-case"));
    let engineer = app.another_browser();
    engineer.login_as(Role::Engineer).await;
    let r = engineer
        .post_reply(&number, &[("body", "hello")], &[])
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("class=\"mainnav\"") && html.contains("back-to-case"));
    assert!(html.contains("Your role does not allow this action."));
}
