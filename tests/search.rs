//! Full-text search from the case list and the API, on both backends: words found only in mail,
//! notes, attachment names and quoted text; two-character Chinese words; case numbers; merged
//! threads; the empty result's wording; the page and the API agreeing.

mod common;

use casebook::api::tokens::{ApiToken, TokenName};
use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::messages::Message;
use common::{BackendKind, TestApp, spawn_app_with};

both_backends!(
    a_two_character_chinese_word_only_in_a_message_body_finds_its_case,
    a_mixed_script_query_needs_every_word_somewhere_in_the_case,
    a_serial_number_only_in_the_quoted_part_of_a_reply_is_found,
    a_case_number_finds_exactly_that_case,
    words_in_a_note_and_in_an_attachment_name_are_found,
    after_a_merge_the_moved_messages_are_found_under_the_target,
    the_empty_result_says_whether_the_search_or_the_state_found_nothing,
    the_api_returns_the_same_cases_as_the_page,
    existing_rows_are_indexed_when_the_migration_runs,
    a_row_written_outside_a_write_transaction_is_found,
);

async fn app(backend: BackendKind) -> Option<TestApp> {
    spawn_app_with(
        backend,
        &[
            ("CASEBOOK_INBOUND_TOKEN", common::INBOUND_TOKEN),
            ("CASEBOOK_MAIL_FROM", "support@cmgos.example"),
            ("CASEBOOK_SUPPORT_DOMAINS", "cmgos.example"),
        ],
    )
    .await
}

/// A plain UTF-8 mail; `headers` adds lines such as `In-Reply-To`.
fn mail(id: &str, from: &str, subject: &str, body: &str, headers: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@cmgos.example\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@customer.example>\r\n{headers}Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
}

/// Delivers raw mail over HTTP inbound → the case number.
async fn deliver(app: &TestApp, raw: String) -> String {
    app.deliver(raw).await["case"]
        .as_str()
        .expect("a case number")
        .to_string()
}

/// The case list page for `q` (plus other filters): the case numbers listed, and the page.
async fn search_page(app: &TestApp, params: &[(&str, &str)]) -> (Vec<String>, String) {
    let r = app
        .client
        .get(app.url("/cases"))
        .query(params)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    let re = regex::Regex::new(r#"<td class="mono"><a href="/cases/([^"]+)">"#).unwrap();
    let numbers = re.captures_iter(&html).map(|c| c[1].to_string()).collect();
    (numbers, html)
}

async fn search(app: &TestApp, q: &str) -> Vec<String> {
    search_page(app, &[("q", q)]).await.0
}

async fn api_search(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let r = common::new_client()
        .get(app.url("/api/v1/cases"))
        .query(&[("q", q)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect()
}

async fn a_two_character_chinese_word_only_in_a_message_body_finds_its_case(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let wanted = deliver(
        &app,
        mail(
            "zh-1",
            "Chen Hui <chen@customer.example>",
            "Help needed",
            "<script>alert(1)</script> 我们的设备离线激活失败，请帮忙。",
            "",
        ),
    )
    .await;
    // The same two characters, never side by side: no match.
    let apart = deliver(
        &app,
        mail(
            "zh-2",
            "Li Na <li@customer.example>",
            "Another question",
            "我很激动，生活很好。序号 4471",
            "",
        ),
    )
    .await;
    app.login_as(Role::Agent).await;

    let (found, html) = search_page(&app, &[("q", "激活")]).await;
    assert_eq!(found, vec![wanted.clone()], "{html}");
    assert!(
        html.contains("<mark>激活</mark>"),
        "the word is highlighted"
    );
    assert!(
        html.contains("alert(1)") && !html.contains("<script>alert"),
        "the mail's text is shown escaped"
    );
    assert_eq!(search(&app, "序号").await, vec![apart.clone()]);
    assert_eq!(search(&app, "离线激活失败").await, vec![wanted]);
    assert!(search(&app, "激活失败了").await.is_empty());
}

async fn a_mixed_script_query_needs_every_word_somewhere_in_the_case(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let both = deliver(
        &app,
        mail(
            "mixed-1",
            "Chen Hui <chen@customer.example>",
            "Activation",
            "Device marker binding is Invalid. SN已被另一计算机使用。",
            "",
        ),
    )
    .await;
    // The Chinese word arrives in a second message of the same case.
    let split = deliver(
        &app,
        mail(
            "mixed-2",
            "Wang Wei <wang@other.example>",
            "Device trouble",
            "The Device marker changed after the upgrade.",
            "",
        ),
    )
    .await;
    let later = deliver(
        &app,
        mail(
            "mixed-3",
            "Wang Wei <wang@other.example>",
            "Re: Device trouble",
            "现在显示无法激活。",
            "In-Reply-To: <mixed-2@customer.example>\r\n",
        ),
    )
    .await;
    assert_eq!(later, split, "the reply joined its case");
    let english_only = deliver(
        &app,
        mail(
            "mixed-4",
            "Zhao Min <zhao@third.example>",
            "Marker question",
            "Where is the device marker shown?",
            "",
        ),
    )
    .await;
    app.login_as(Role::Agent).await;

    let mut found = search(&app, "device 激活").await;
    found.sort();
    let mut expected = vec![split.clone()];
    // "激活" is not in the first case (it says 计算机使用), so only the split case has both words.
    expected.sort();
    assert_eq!(found, expected);
    let mut found = search(&app, "Device marker").await;
    found.sort();
    let mut expected = vec![both.clone(), split.clone(), english_only];
    expected.sort();
    assert_eq!(found, expected, "English words, case-insensitively");
    assert_eq!(search(&app, "SN已被另一").await, vec![both]);
}

async fn a_serial_number_only_in_the_quoted_part_of_a_reply_is_found(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let number = deliver(
        &app,
        mail(
            "serial-1",
            "Chen Hui <chen@customer.example>",
            "License rejected",
            "The license is rejected.",
            "",
        ),
    )
    .await;
    let reply = deliver(
        &app,
        mail(
            "serial-2",
            "Chen Hui <chen@customer.example>",
            "Re: License rejected",
            "Still failing, see below.\r\n\r\n\
             On Mon, 2 Nov 2026 Support <support@cmgos.example> wrote:\r\n\
             > Please send the serial number.\r\n\
             > Serial: ZZ02-4471-QX\r\n",
            "In-Reply-To: <serial-1@customer.example>\r\n",
        ),
    )
    .await;
    assert_eq!(reply, number);
    let other = deliver(
        &app,
        mail(
            "serial-3",
            "Li Na <li@other.example>",
            "Serial ZZ03",
            "Serial: ZZ03-0000-AA",
            "",
        ),
    )
    .await;
    let case = Case::find_by_number(&mut app.conn(), &number)
        .unwrap()
        .unwrap();
    let messages = Message::for_case(&mut app.conn(), case.id).unwrap();
    assert!(
        messages.iter().all(|m| !m.new_text.contains("ZZ02")),
        "the serial is only in quoted text"
    );
    app.login_as(Role::Agent).await;

    let (found, html) = search_page(&app, &[("q", "ZZ02-4471")]).await;
    assert_eq!(found, vec![number.clone()]);
    assert!(html.contains("<mark>ZZ02-4471</mark>"), "{html}");
    assert_eq!(search(&app, "zz02").await, vec![number], "any case");
    assert_eq!(search(&app, "ZZ03").await, vec![other]);
}

async fn a_case_number_finds_exactly_that_case(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let first = deliver(
        &app,
        mail(
            "num-1",
            "Chen Hui <chen@customer.example>",
            "First",
            "Hello",
            "",
        ),
    )
    .await;
    // Another case names the first one in its mail.
    let second = deliver(
        &app,
        mail(
            "num-2",
            "Li Na <li@other.example>",
            "Second",
            &format!("My colleague opened {first} last week."),
            "",
        ),
    )
    .await;
    assert_ne!(first, second);
    app.login_as(Role::Agent).await;

    assert_eq!(search(&app, &first).await, vec![first.clone()]);
    assert_eq!(
        search(&app, &format!(" {} ", first.to_lowercase())).await,
        vec![first.clone()],
        "lower case and spaces"
    );
    assert_eq!(search(&app, &second).await, vec![second]);
    assert!(search(&app, "CAS-99999-ZZZZZZ").await.is_empty());
}

async fn words_in_a_note_and_in_an_attachment_name_are_found(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let noted = deliver(
        &app,
        mail(
            "note-1",
            "Chen Hui <chen@customer.example>",
            "Kiosk",
            "The kiosk does not start.",
            "",
        ),
    )
    .await;
    let attached = deliver(
        &app,
        "From: Li Na <li@other.example>\r\nTo: support@cmgos.example\r\nSubject: Logs\r\n\
         Message-ID: <att-1@customer.example>\r\nDate: Tue, 03 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLogs attached.\r\n\
         --b\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"quokkadump-7.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b--\r\n"
            .to_string(),
    )
    .await;
    app.login_as(Role::Agent).await;
    let r = app
        .post_form(
            &format!("/cases/{noted}/note"),
            &[(
                "body",
                "Customer runs the Frobnicator 3 firmware; 固件版本过旧。",
            )],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);

    let (found, html) = search_page(&app, &[("q", "frobnicator")]).await;
    assert_eq!(found, vec![noted.clone()]);
    assert!(html.contains("Note"), "the hit says it is a note: {html}");
    assert_eq!(search(&app, "固件").await, vec![noted]);
    let (found, html) = search_page(&app, &[("q", "quokkadump")]).await;
    assert_eq!(found, vec![attached]);
    assert!(html.contains("<mark>quokkadump</mark>-7.bin"), "{html}");
}

async fn after_a_merge_the_moved_messages_are_found_under_the_target(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let target = deliver(
        &app,
        mail(
            "merge-1",
            "Chen Hui <chen@customer.example>",
            "Activation fails",
            "Activation fails.",
            "",
        ),
    )
    .await;
    let source = deliver(
        &app,
        mail(
            "merge-2",
            "Chen Hui <chen.home@private.example>",
            "Same problem",
            "序列号被占用 wombatserial",
            "",
        ),
    )
    .await;
    app.login_as(Role::Agent).await;
    assert_eq!(search(&app, "wombatserial").await, vec![source.clone()]);

    let r = app
        .post_form(&format!("/cases/{source}/merge"), &[("into", &target)])
        .await;
    assert_eq!(r.status().as_u16(), 303);

    assert_eq!(search(&app, "wombatserial").await, vec![target.clone()]);
    assert_eq!(search(&app, "序列").await, vec![target]);
}

async fn the_empty_result_says_whether_the_search_or_the_state_found_nothing(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let number = deliver(
        &app,
        mail(
            "empty-1",
            "Chen Hui <chen@customer.example>",
            "Hello",
            "Hello",
            "",
        ),
    )
    .await;
    app.login_as(Role::Agent).await;

    let (found, html) = search_page(&app, &[("q", "nothing-like-this")]).await;
    assert!(found.is_empty());
    assert!(
        html.contains("No cases match “nothing-like-this”."),
        "{html}"
    );
    assert!(!html.contains("No cases in state"), "no state was chosen");

    // The list's own filter form sends every field, empty ones included: still no state.
    let (_, html) = search_page(
        &app,
        &[
            ("state", ""),
            ("assignee", ""),
            ("priority", ""),
            ("sla", ""),
            ("customer", ""),
            ("q", "nothing-like-this"),
            ("sort", "updated"),
        ],
    )
    .await;
    assert!(html.contains("No cases match “nothing-like-this”."));
    assert!(!html.contains("No cases in state"));

    let (_, html) = search_page(&app, &[("q", "nothing-like-this"), ("state", "new")]).await;
    assert!(
        html.contains("No cases match these filters."),
        "a query with a state names both: {html}"
    );
    assert!(html.contains("<li>State: New</li>"), "{html}");
    assert!(
        html.contains("<li>Search: “nothing-like-this”</li>"),
        "{html}"
    );
    assert!(
        html.contains("Search all cases for “nothing-like-this”"),
        "offers the search without the state"
    );

    let (found, html) = search_page(&app, &[("state", "resolved")]).await;
    assert!(found.is_empty());
    assert!(html.contains("No cases in state “Resolved”."), "{html}");
    assert!(!html.contains("No cases match"));

    let (_, html) = search_page(&app, &[("page", "7")]).await;
    assert!(
        html.contains("There are no cases on this page."),
        "a page past the last one says so: {html}"
    );

    let r = app
        .client
        .get(app.url("/cases"))
        .query(&[("q", "nothing-like-this")])
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("没有与“nothing-like-this”匹配的案例。"),
        "{html}"
    );

    // The search box is on every page.
    let (_, list) = app.get_text("/cases").await;
    let (_, case_page) = app.get_text(&format!("/cases/{number}")).await;
    for page in [list, case_page] {
        assert!(page.contains(
            r#"<form method="get" action="/cases" class="inline topbar-search" role="search">"#
        ));
    }
}

async fn the_api_returns_the_same_cases_as_the_page(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let mut numbers = Vec::new();
    for (i, body) in [
        "激活失败 Device marker",
        "无法激活",
        "device marker only",
        "Serial ZZ02-9",
    ]
    .iter()
    .enumerate()
    {
        numbers.push(
            deliver(
                &app,
                mail(
                    &format!("api-{i}"),
                    &format!("Customer {i} <c{i}@customer{i}.example>"),
                    &format!("Question {i}"),
                    body,
                    "",
                ),
            )
            .await,
        );
    }
    let agent = app.login_as(Role::Agent).await;
    let token = ApiToken::create(
        &mut app.conn(),
        agent.id,
        &TokenName::parse("test").unwrap(),
    )
    .unwrap()
    .1;
    for q in ["激活", "device marker", "zz02", numbers[1].as_str(), "无"] {
        let page = search(&app, q).await;
        let api = api_search(&app, &token, q).await;
        assert!(!page.is_empty(), "{q} finds something");
        assert_eq!(page, api, "page and API agree on {q}");
    }
    let r = common::new_client()
        .get(app.url("/api/v1/cases?q=device"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "the API needs a token");
}

async fn existing_rows_are_indexed_when_the_migration_runs(backend: BackendKind) {
    use diesel::connection::SimpleConnection;
    let Some(app) = app(backend).await else {
        return;
    };
    let dir = format!(
        "{}/migrations/{}/2026-12-05-000020_full_text_search",
        env!("CARGO_MANIFEST_DIR"),
        match backend {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    );
    let sql = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
    let number = deliver(
        &app,
        mail(
            "backfill-1",
            "Chen Hui <chen@customer.example>",
            "Before the index",
            "旧邮件 numbat",
            "",
        ),
    )
    .await;
    // Dropping the index and creating it again leaves only what the migration itself fills in.
    app.conn().batch_execute(&sql("down.sql")).unwrap();
    app.conn().batch_execute(&sql("up.sql")).unwrap();
    app.login_as(Role::Agent).await;
    assert_eq!(search(&app, "numbat").await, vec![number.clone()]);
    assert_eq!(search(&app, "旧邮").await, vec![number]);
}

async fn a_row_written_outside_a_write_transaction_is_found(backend: BackendKind) {
    use diesel::connection::SimpleConnection;
    let Some(app) = app(backend).await else {
        return;
    };
    let number = deliver(
        &app,
        mail(
            "outside-1",
            "Chen Hui <chen@customer.example>",
            "Console",
            "It does not start.",
            "",
        ),
    )
    .await;
    let agent = app.login_as(Role::Agent).await;
    let token = ApiToken::create(
        &mut app.conn(),
        agent.id,
        &TokenName::parse("test").unwrap(),
    )
    .unwrap()
    .1;
    assert!(api_search(&app, &token, "platypus").await.is_empty());
    // A plain statement, as a script or a future writer might run it (SQLite queues the row), and
    // no write transaction after it before the search.
    app.conn()
        .batch_execute(&format!(
            "UPDATE cases SET title = 'Platypus console' WHERE number = '{number}'"
        ))
        .unwrap();
    assert_eq!(api_search(&app, &token, "platypus").await, vec![number]);
}
