//! One operation, one service: a reply, a note, an assignment and a transition done through the
//! page and through the API write the same rows and events; every operation, through each door it
//! has, records events whose `data` is their kind's one payload. And a customer's mail cannot choose
//! who receives the agent's reply (a mail with thousands of
//! Cc once became thousands of participants, pre-filled into every reply, composed inside the
//! write transaction for minutes). On SQLite and PostgreSQL.

mod common;

use casebook::api::tokens::{ApiToken, TokenName};
use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::messages::{CaseEvent, Message, Participant};
use casebook::mail::outbox::OutboxRow;
use casebook::workflow::events::{EventData, EventKind, Merged, Transition};
use casebook::workflow::transitions::Action;
use common::{BackendKind, TestApp, spawn_app_with};

both_backends!(
    a_mail_with_thousands_of_cc_adds_a_capped_number_of_participants_and_no_support_address,
    a_reply_to_more_recipients_than_allowed_is_refused_on_the_page_and_the_api,
    a_reply_to_many_cc_goes_out_with_one_cc_header,
    page_and_api_notes_write_the_same_rows_and_events,
    page_and_api_replies_write_the_same_rows_and_events,
    page_and_api_assignments_write_the_same_events,
    page_and_api_transitions_write_the_same_events,
    page_and_api_diagnostics_links_and_priority_write_the_same_events,
    the_api_merges_by_the_workflow_rules,
    page_and_api_text_edits_and_summaries_write_the_same_events,
    a_case_holds_a_bounded_number_of_active_upload_links,
    every_operation_records_its_kinds_one_payload_through_every_door,
);

const CUSTOMER: &str = "chenhui.zd@centerm.example";

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

/// Delivers raw mail over HTTP inbound → the case number.
async fn deliver(app: &TestApp, body: String) -> String {
    app.deliver(body).await["case"]
        .as_str()
        .expect("a case number")
        .to_string()
}

/// A customer mail copied to `cc` (comma-separated on one folded header).
fn customer_mail(id: &str, cc: &[String]) -> String {
    let cc_header = if cc.is_empty() {
        String::new()
    } else {
        format!("Cc: {}\r\n", cc.join(",\r\n "))
    };
    format!(
        "From: Chen Hui <{CUSTOMER}>\r\nTo: support@cmgos.example\r\n{cc_header}\
         Subject: CMGE activation fails\r\nMessage-ID: <{id}@centerm.example>\r\n\
         Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n\r\nDevice marker binding is Invalid.\r\n"
    )
}

fn addresses(n: usize, domain: &str) -> Vec<String> {
    (0..n).map(|i| format!("person{i}@{domain}")).collect()
}

fn case(app: &TestApp, number: &str) -> Case {
    Case::find_by_number(&mut app.conn(), number)
        .unwrap()
        .unwrap()
}

fn token_for(app: &TestApp, user: &casebook::auth::User) -> String {
    ApiToken::create(&mut app.conn(), user.id, &TokenName::parse("test").unwrap())
        .unwrap()
        .1
}

/// The value of the reply form's Cc field on the case page.
fn cc_field(html: &str) -> String {
    let at =
        html.find("name=\"cc\" value=\"").expect("the Cc field") + "name=\"cc\" value=\"".len();
    html[at..html[at..].find('"').map(|e| at + e).unwrap()].to_string()
}

/// Posts the reply form like a browser.
async fn post_reply(app: &TestApp, number: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.post_reply(number, fields, &[]).await
}

async fn a_mail_with_thousands_of_cc_adds_a_capped_number_of_participants_and_no_support_address(
    backend: BackendKind,
) {
    let Some(app) = app(backend).await else {
        return;
    };
    let mut cc = vec![
        "colleague@cmgos.example".to_string(),
        "SUPPORT@cmgos.example".into(),
    ];
    cc.extend(addresses(3000, "spam.example"));
    let number = deliver(&app, customer_mail("many-cc", &cc)).await;
    let case = case(&app, &number);

    let people = Participant::for_case(&mut app.conn(), case.id).unwrap();
    let copied: Vec<&str> = people
        .iter()
        .filter(|p| p.kind == "cc")
        .map(|p| p.email.as_str())
        .collect();
    assert_eq!(
        copied.len(),
        20,
        "max_participants_per_mail is 20 by default"
    );
    assert!(
        copied.iter().all(|e| e.ends_with("@spam.example")),
        "{copied:?}"
    );
    // Nothing is lost: the stored message still names every recipient.
    let stored = &Message::for_case(&mut app.conn(), case.id).unwrap()[0];
    assert!(stored.cc_addrs.contains("person2999@spam.example"));

    app.login_as(Role::Agent).await;
    let (status, html) = app.get_text(&format!("/cases/{number}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        cc_field(&html),
        "",
        "Cc starts empty: a reply goes to the customer only"
    );
    // The case's other participants are offered under the field, a bounded number of them, never
    // the support team's own addresses.
    let offered = html
        .split("<span class=\"cc-suggestions\">")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .expect("the other participants are offered");
    let addresses: Vec<&str> = offered
        .split("<span class=\"mono\">")
        .skip(1)
        .filter_map(|s| s.split("</span>").next())
        .collect();
    assert_eq!(addresses.len(), 10, "{offered}");
    assert!(offered.contains("and 10 more"), "{offered}");
    assert!(
        !offered.contains("cmgos.example"),
        "never the support team's own addresses"
    );
    assert!(
        html.contains("Goes to the customer and 0 Cc (at most 50 recipients in all)."),
        "the agent sees who the reply goes to"
    );
}

async fn a_reply_to_more_recipients_than_allowed_is_refused_on_the_page_and_the_api(
    backend: BackendKind,
) {
    let Some(app) = app(backend).await else {
        return;
    };
    let number = deliver(&app, customer_mail("first", &[])).await;
    let agent = app.login_as(Role::Agent).await;
    let too_many = addresses(50, "partner.example").join(", ");
    let r = post_reply(
        &app,
        &number,
        &[("body", "Please send the wmic output."), ("cc", &too_many)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("This reply would go to 51 recipients; at most 50 are allowed"),
        "the page says which limit"
    );
    assert!(
        html.contains("Please send the wmic output."),
        "the text is kept"
    );

    let token = token_for(&app, &agent);
    let r = common::new_client()
        .post(app.url(&format!("/api/v1/cases/{number}/replies")))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "body": "Please send the wmic output.",
            "cc": addresses(50, "partner.example"),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("max_reply_recipients"),
        "{v}"
    );
    let case = case(&app, &number);
    assert!(
        OutboxRow::for_case(&mut app.conn(), case.id)
            .unwrap()
            .iter()
            .all(|r| r.kind != "reply"),
        "nothing was queued"
    );
}

async fn a_reply_to_many_cc_goes_out_with_one_cc_header(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let number = deliver(&app, customer_mail("first", &[])).await;
    app.login_as(Role::Agent).await;
    let cc = addresses(49, "partner.example").join(", ");
    let r = post_reply(
        &app,
        &number,
        &[("body", "Thanks, we are on it."), ("cc", &cc)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let case = case(&app, &number);
    let row = OutboxRow::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .find(|r| r.kind == "reply")
        .expect("a queued reply");
    assert_eq!(row.cc_addrs.split(", ").count(), 49);
    let raw = casebook::db::blobs::BlobStore::new(&app.config.data_dir)
        .get(&row.raw_sha256)
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let cc_headers = text.lines().filter(|l| l.starts_with("Cc:")).count();
    assert_eq!(cc_headers, 1, "one Cc header");
    let parsed = mail_parser::MessageParser::default()
        .parse(&raw[..])
        .unwrap();
    let cc: Vec<String> = parsed
        .cc()
        .unwrap()
        .iter()
        .filter_map(|a| a.address().map(str::to_string))
        .collect();
    assert_eq!(cc.len(), 49);
    assert!(cc.contains(&"person48@partner.example".to_string()));
}

/// The note rows a case has, as the columns that must not depend on the door.
fn note_shapes(app: &TestApp, case: &Case) -> Vec<(String, String, String, String, Option<i64>)> {
    Message::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == "note")
        .map(|m| {
            (
                m.direction,
                m.subject,
                m.thread_method,
                m.new_text,
                m.author_id,
            )
        })
        .collect()
}

async fn page_and_api_notes_write_the_same_rows_and_events(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let number = deliver(&app, customer_mail("first", &[])).await;
    let agent = app.login_as(Role::Agent).await;
    let r = app
        .post_form(
            &format!("/cases/{number}/note"),
            &[("body", "Serial ZZ02 is already bound to another device.")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let token = token_for(&app, &agent);
    let r = common::new_client()
        .post(app.url(&format!("/api/v1/cases/{number}/notes")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"body": "Serial ZZ02 is already bound to another device."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    let case = case(&app, &number);
    let notes = note_shapes(&app, &case);
    assert_eq!(notes.len(), 2);
    assert_eq!(
        notes[0], notes[1],
        "the page and the API write the same note"
    );
    let events: Vec<CaseEvent> = CaseEvent::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "note_added")
        .collect();
    assert_eq!(events.len(), 2, "each door records the note's event");
    assert!(events.iter().all(|e| e.actor_id == Some(agent.id)));
    recorded_kinds(&app);
}

async fn page_and_api_replies_write_the_same_rows_and_events(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let number = deliver(&app, customer_mail("first", &[])).await;
    let agent = app.login_as(Role::Agent).await;
    let body = "Please run wmic baseboard get serialnumber and send the output.";
    let r = post_reply(
        &app,
        &number,
        &[("body", body), ("cc", "lead@centerm.example")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let token = token_for(&app, &agent);
    let r = common::new_client()
        .post(app.url(&format!("/api/v1/cases/{number}/replies")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"body": body, "cc": ["lead@centerm.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());

    let case = case(&app, &number);
    let sent: Vec<_> = Message::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == "outbound" && m.author_id.is_some())
        .map(|m| {
            (
                m.to_addrs,
                m.cc_addrs,
                m.subject,
                m.in_reply_to,
                m.thread_method,
                m.new_text,
                m.author_id,
            )
        })
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1], "the page and the API send the same reply");
    let replies = CaseEvent::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "reply_sent")
        .count();
    assert_eq!(replies, 2);
    recorded_kinds(&app);
}

/// Actor id and label, from and to state, note, data: what must not depend on the door.
type EventShape = (
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Two cases opened by customer mail — one to work through the page, one through the API — and
/// an agent signed in on the page who also holds an API token.
async fn a_case_for_each_door(app: &TestApp) -> (String, String, casebook::auth::User, String) {
    let by_page = deliver(app, customer_mail("a", &[])).await;
    let by_api = deliver(app, customer_mail("b", &[])).await;
    let agent = app.login_as(Role::Agent).await;
    let token = token_for(app, &agent);
    (by_page, by_api, agent, token)
}

/// The events of `kind` on a case, as the columns that must not depend on the door.
fn event_shapes(app: &TestApp, case: &Case, kind: &str) -> Vec<EventShape> {
    CaseEvent::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| {
            (
                e.actor_id,
                e.actor_label,
                e.from_state,
                e.to_state,
                e.note,
                e.data,
            )
        })
        .collect()
}

async fn page_and_api_assignments_write_the_same_events(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (by_page, by_api, agent, token) = a_case_for_each_door(&app).await;
    let r = app
        .post_form(
            &format!("/cases/{by_page}/assign"),
            &[("assignee", &agent.id.to_string())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = common::new_client()
        .post(app.url(&format!("/api/v1/cases/{by_api}/assign")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"assignee": "me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let page_events = event_shapes(&app, &case(&app, &by_page), "assigned");
    let api_events = event_shapes(&app, &case(&app, &by_api), "assigned");
    assert_eq!(page_events.len(), 1);
    assert_eq!(page_events, api_events);
    assert_eq!(
        page_events[0].5.as_deref(),
        Some(format!(r#"{{"from":null,"to":{}}}"#, agent.id).as_str()),
        "the one payload shape"
    );
    assert_eq!(page_events[0].4.as_deref(), Some(agent.name.as_str()));
    recorded_kinds(&app);
}

async fn page_and_api_transitions_write_the_same_events(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (by_page, by_api, _agent, token) = a_case_for_each_door(&app).await;
    let definition = "Offline activation fails: Device marker binding is Invalid.";
    let r = app
        .post_form(
            &format!("/cases/{by_page}/transition"),
            &[
                ("action", "define"),
                ("from", "new"),
                ("definition", definition),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = common::new_client()
        .post(app.url(&format!("/api/v1/cases/{by_api}/transitions")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"to": "defined", "from": "new", "definition": definition}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let page_events = event_shapes(&app, &case(&app, &by_page), "transition");
    let api_events = event_shapes(&app, &case(&app, &by_api), "transition");
    assert_eq!(page_events.len(), 1);
    assert_eq!(page_events, api_events);
    assert_eq!(
        case(&app, &by_page).problem_definition,
        case(&app, &by_api).problem_definition
    );
    recorded_kinds(&app);
}

/// [`event_shapes`] with what must differ between two cases blanked: mail and link ids, expiry
/// times (and the note that repeats the expiry).
fn comparable_shapes(app: &TestApp, case: &Case, kind: &str) -> Vec<EventShape> {
    event_shapes(app, case, kind)
        .into_iter()
        .map(|mut e| {
            if let Some(data) = e.5.as_deref() {
                let mut v: serde_json::Value = serde_json::from_str(data).unwrap();
                for key in ["message_id", "link_id", "expires_at"] {
                    if let Some(field) = v.get_mut(key) {
                        assert!(!field.is_null(), "{kind}: {key} is recorded");
                        *field = serde_json::Value::from("…");
                    }
                }
                e.5 = Some(v.to_string());
            }
            if kind == "upload_link_created" {
                e.4 = None;
            }
            e
        })
        .collect()
}

async fn page_and_api_diagnostics_links_and_priority_write_the_same_events(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (by_page, by_api, agent, token) = a_case_for_each_door(&app).await;

    // Priority.
    let r = app
        .post_form(
            &format!("/cases/{by_page}/priority"),
            &[("priority", "urgent")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/priority"),
        serde_json::json!({"priority": "urgent"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/priority"),
        serde_json::json!({"priority": "asap"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(case(&app, &by_api).priority, case(&app, &by_page).priority);

    // Sending the report before any diagnostics: nothing to send, nothing recorded.
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/diagnostics/report/send"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("no diagnostics"), "{body}");

    // Diagnostics: the page's multipart upload and the API's body.
    let csrf = app.csrf().await;
    let r = upload(
        &app,
        &format!("/cases/{by_page}/diagnostics"),
        &csrf,
        &["seed-after-console.txt"],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/diagnostics/seed-after-console.txt"),
    )
    .unwrap();
    let r = common::new_client()
        .post(app.url(&format!(
            "/api/v1/cases/{by_api}/diagnostics?filename=seed-after-console.txt"
        )))
        .bearer_auth(&token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    // The report to the customer, in Chinese from both doors.
    let r = app
        .post_form(
            &format!("/cases/{by_page}/diagnostics/report/send"),
            &[("lang", "zh-CN")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/diagnostics/report/send"),
        serde_json::json!({"lang": "zh-CN"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    for number in [&by_page, &by_api] {
        let c = case(&app, number);
        let sent = event_shapes(&app, &c, "report_sent");
        let data: serde_json::Value = serde_json::from_str(sent[0].5.as_deref().unwrap()).unwrap();
        let queued = OutboxRow::for_case(&mut app.conn(), c.id).unwrap();
        assert!(
            queued
                .iter()
                .any(|r| r.message_id == data["message_id"].as_str().unwrap()),
            "the report on {number} is in the outbox: {data}"
        );
        // The report answers the customer: the first-response clock is met.
        let first = casebook::workflow::service::clocks(&mut app.conn(), c.id)
            .unwrap()
            .into_iter()
            .find(|c| c.clock.metric == casebook::workflow::sla::SlaMetric::FirstResponse)
            .unwrap();
        assert!(
            first.clock.met_at.is_some(),
            "first response met on {number}"
        );
    }

    // An upload link from each door, then revoked from each.
    let r = app
        .post_form(&format!("/cases/{by_page}/upload-links"), &[("days", "14")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/upload-links"),
        serde_json::json!({"days": 14}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        created["url"].as_str().unwrap().contains("/upload/"),
        "{body}"
    );
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/upload-links"),
        serde_json::json!({"days": 400}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let page_link = casebook::diagnostics::links::UploadLink::for_case(
        &mut app.conn(),
        case(&app, &by_page).id,
    )
    .unwrap()[0]
        .id;
    let r = app
        .post_form(
            &format!("/cases/{by_page}/upload-links/{page_link}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/upload-links/{}/revoke", created["id"]),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    // A second revoke, or another case's link, is not found.
    let (status, _) = api(
        &app,
        &token,
        format!("{by_api}/upload-links/{}/revoke", created["id"]),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = api(
        &app,
        &token,
        format!("{by_api}/upload-links/{page_link}/revoke"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 404);
    let listed: serde_json::Value = serde_json::from_str(
        &common::new_client()
            .get(app.url(&format!("/api/v1/cases/{by_api}/upload-links")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(listed["links"][0]["status"], "revoked", "{listed}");
    assert!(
        listed["links"][0].get("url").is_none(),
        "the URL is shown once"
    );

    for kind in [
        "priority_changed",
        "diagnostics_uploaded",
        "report_sent",
        "upload_link_created",
        "upload_link_revoked",
    ] {
        let page_events = comparable_shapes(&app, &case(&app, &by_page), kind);
        let api_events = comparable_shapes(&app, &case(&app, &by_api), kind);
        assert_eq!(page_events.len(), 1, "{kind}");
        assert_eq!(page_events, api_events, "{kind}");
        assert_eq!(page_events[0].0, Some(agent.id), "{kind}");
    }
    recorded_kinds(&app);
}

async fn page_and_api_text_edits_and_summaries_write_the_same_events(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (by_page, by_api, agent, token) = a_case_for_each_door(&app).await;
    let definition = "Offline activation fails: Device marker binding is Invalid.";
    act(
        &app,
        &by_page,
        "new",
        "define",
        &[("definition", definition)],
    )
    .await;
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/transitions"),
        serde_json::json!({"to": "defined", "from": "new", "definition": definition}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let corrected = "Offline activation fails: the baseboard serial is missing.";
    let r = app
        .post_form(
            &format!("/cases/{by_page}/text"),
            &[("field", "definition"), ("text", corrected)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/text"),
        serde_json::json!({"field": "definition", "text": corrected}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/text"),
        serde_json::json!({"field": "definition", "text": "  "}),
    )
    .await;
    assert_eq!(status, 422, "blank text: {body}");
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/text"),
        serde_json::json!({"field": "title", "text": "x"}),
    )
    .await;
    assert_eq!(status, 422, "unknown field: {body}");

    let summary = "Problem: marker binding invalid. Resolution: none yet. Next: collect logs.";
    let r = app
        .post_form(
            &format!("/cases/{by_page}/summary"),
            &[("summary", summary)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/summary"),
        serde_json::json!({"summary": summary}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains(r#""version":1"#), "{body}");

    for kind in ["definition_changed", "summary_written"] {
        let page_events = event_shapes(&app, &case(&app, &by_page), kind);
        let api_events = event_shapes(&app, &case(&app, &by_api), kind);
        assert_eq!(page_events.len(), 1, "{kind}");
        assert_eq!(page_events, api_events, "{kind}");
        assert_eq!(page_events[0].0, Some(agent.id), "{kind}");
    }
    assert_eq!(
        case(&app, &by_api).problem_definition.as_deref(),
        Some(corrected)
    );
    recorded_kinds(&app);
}

async fn the_api_merges_by_the_workflow_rules(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (keeper, dup, _agent, token) = a_case_for_each_door(&app).await;
    let (status, body) = api(
        &app,
        &token,
        format!("{dup}/merge"),
        serde_json::json!({"into": dup}),
    )
    .await;
    assert_eq!(status, 422, "into itself: {body}");
    let (status, body) = api(
        &app,
        &token,
        format!("{dup}/merge"),
        serde_json::json!({"into": keeper, "from": "investigating"}),
    )
    .await;
    assert_eq!(status, 409, "the client saw another state: {body}");
    let (status, body) = api(
        &app,
        &token,
        format!("{dup}/merge"),
        serde_json::json!({"into": keeper, "from": "new"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["into"], keeper.as_str());
    assert_eq!(
        case(&app, &dup).merged_into_id,
        Some(case(&app, &keeper).id)
    );
    let merged = event_shapes(&app, &case(&app, &dup), "merged");
    assert_eq!(merged.len(), 1);
    let (status, body) = api(
        &app,
        &token,
        format!("{dup}/merge"),
        serde_json::json!({"into": keeper}),
    )
    .await;
    assert_eq!(status, 422, "already merged: {body}");
    recorded_kinds(&app);
}

async fn a_case_holds_a_bounded_number_of_active_upload_links(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (number, _, _agent, token) = a_case_for_each_door(&app).await;
    let max = casebook::diagnostics::service::MAX_ACTIVE_LINKS;
    let create = || {
        let url = app.url(&format!("/api/v1/cases/{number}/upload-links"));
        let token = token.clone();
        async move {
            common::new_client()
                .post(url)
                .bearer_auth(&token)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap()
        }
    };
    let mut first = None;
    for _ in 0..max {
        let r = create().await;
        assert_eq!(r.status().as_u16(), 201);
        let v: serde_json::Value = r.json().await.unwrap();
        first.get_or_insert(v["id"].as_i64().unwrap());
    }
    let r = create().await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("revoke one first"));
    // The page says the same, in the layout, and makes nothing.
    let r = app
        .post_form(&format!("/cases/{number}/upload-links"), &[("days", "7")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = app.get_text(&format!("/cases/{number}")).await;
    assert!(
        html.contains("active upload links. Revoke one"),
        "flash shown"
    );
    // Revoking one makes room for one more.
    let r = common::new_client()
        .post(app.url(&format!(
            "/api/v1/cases/{number}/upload-links/{}/revoke",
            first.unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(create().await.status().as_u16(), 201);
    let c = case(&app, &number);
    assert_eq!(
        event_shapes(&app, &c, "upload_link_created").len() as i64,
        max + 1
    );
}

/// Every event of every case: a kind this version knows, with its kind's payload in `data` (or
/// none, for kinds without one). Returns the kinds seen.
fn recorded_kinds(app: &TestApp) -> std::collections::BTreeSet<&'static str> {
    use casebook::db::schema::cases;
    use diesel::prelude::*;
    let mut conn = app.conn();
    let ids: Vec<i64> = cases::table.select(cases::id).load(&mut conn).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        for e in CaseEvent::for_case(&mut conn, id).unwrap() {
            assert_ne!(e.kind, EventKind::Unknown, "event {} on case {id}", e.id);
            assert!(
                e.kind.fits(e.data.as_deref()),
                "{} event {} on case {id}: {:?} is not its payload ({:?})",
                e.kind,
                e.id,
                e.data,
                e.kind.payload()
            );
            seen.insert(e.kind.as_str());
        }
    }
    seen
}

/// Posts a workflow action on the page, from the state the page showed.
async fn act(app: &TestApp, number: &str, from: &str, action: &str, texts: &[(&str, &str)]) {
    let mut fields = vec![("action", action), ("from", from)];
    fields.extend_from_slice(texts);
    let r = app
        .post_form(&format!("/cases/{number}/transition"), &fields)
        .await;
    assert_eq!(r.status().as_u16(), 303, "{action} from {from}");
}

/// Posts a JSON body to the API as the token's holder.
async fn api_post(app: &TestApp, token: &str, path: &str, body: serde_json::Value) -> u16 {
    let r = common::new_client()
        .post(app.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert!(status < 300, "{path}: {status} {}", r.text().await.unwrap());
    status
}

/// Posts JSON to `/api/v1/cases/{path}` → (status, body).
async fn api(app: &TestApp, token: &str, path: String, body: serde_json::Value) -> (u16, String) {
    let r = common::new_client()
        .post(app.url(&format!("/api/v1/cases/{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// Uploads diagnostics files on a page (the case page's form or a customer upload link).
async fn upload(app: &TestApp, path: &str, csrf: &str, names: &[&str]) -> reqwest::Response {
    // The token rides as the form's first field, never in the URL.
    let mut form = reqwest::multipart::Form::new().text("csrf_token", csrf.to_string());
    for name in names {
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/diagnostics")
                .join(name),
        )
        .unwrap();
        form = form.part(
            "files",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_string())
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    }
    app.client
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The whole life of two cases — one worked through the pages, one through the API — plus what
/// the system records on its own (a bounce, a possible duplicate, a breach) and a merge: every
/// kind of event is recorded, and each one's `data` is its kind's payload.
async fn every_operation_records_its_kinds_one_payload_through_every_door(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (by_page, by_api, agent, token) = a_case_for_each_door(&app).await;

    // The pages.
    let r = post_reply(&app, &by_page, &[("body", "Please send the wmic output.")]).await;
    assert_eq!(r.status().as_u16(), 303);
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app.post_form(&path, &fields).await;
            assert_eq!(r.status().as_u16(), 303, "{path}");
        }
    };
    post(
        format!("/cases/{by_page}/note"),
        vec![("body", "Serial ZZ02 is bound elsewhere.".into())],
    )
    .await;
    post(
        format!("/cases/{by_page}/assign"),
        vec![("assignee", agent.id.to_string())],
    )
    .await;
    post(
        format!("/cases/{by_page}/priority"),
        vec![("priority", "high".into())],
    )
    .await;
    act(
        &app,
        &by_page,
        "new",
        "define",
        &[("definition", "Offline activation fails.")],
    )
    .await;
    post(
        format!("/cases/{by_page}/text"),
        vec![
            ("field", "definition".into()),
            ("text", "Offline activation fails: marker Invalid.".into()),
        ],
    )
    .await;
    act(
        &app,
        &by_page,
        "defined",
        "scope",
        &[("scope", "CMGE 2.1 offline activation.")],
    )
    .await;
    post(
        format!("/cases/{by_page}/text"),
        vec![
            ("field", "scope".into()),
            ("text", "CMGE 2.1 and 2.2 offline.".into()),
        ],
    )
    .await;
    post(
        format!("/cases/{by_page}/title"),
        vec![("title", "CMGE 2.1 offline activation fails".into())],
    )
    .await;
    act(&app, &by_page, "scoped", "investigate", &[]).await;
    act(
        &app,
        &by_page,
        "investigating",
        "ask_customer",
        &[("question", "Which build?")],
    )
    .await;
    act(
        &app,
        &by_page,
        "waiting_on_customer",
        "customer_replied",
        &[],
    )
    .await;
    act(
        &app,
        &by_page,
        "investigating",
        "escalate",
        &[
            ("target", "engineering"),
            ("reason", "Binding table"),
            ("tried", "Rebinding"),
        ],
    )
    .await;
    act(
        &app,
        &by_page,
        "escalated",
        "hand_back",
        &[("findings", "Stale binding row.")],
    )
    .await;
    act(
        &app,
        &by_page,
        "investigating",
        "resolve",
        &[("resolution", "Row cleared.")],
    )
    .await;
    act(
        &app,
        &by_page,
        "resolved",
        "archive",
        &[("summary", "Binding cleared; activation works.")],
    )
    .await;
    act(
        &app,
        &by_page,
        "archived",
        "reopen",
        &[("reason", "It failed again.")],
    )
    .await;
    post(
        format!("/cases/{by_page}/summary"),
        vec![("summary", "Second summary.".into())],
    )
    .await;

    // Diagnostics on the page: an upload, the report to the customer, an upload link the
    // customer uses, then revoked.
    let csrf = app.csrf().await;
    let r = upload(
        &app,
        &format!("/cases/{by_page}/diagnostics"),
        &csrf,
        &["seed-after-console.txt"],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    post(
        format!("/cases/{by_page}/diagnostics/report/send"),
        vec![("lang", String::new())],
    )
    .await;
    let r = app
        .post_form(&format!("/cases/{by_page}/upload-links"), &[("days", "7")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    let link = regex::Regex::new(r"/upload/[A-Za-z0-9_-]{43}")
        .unwrap()
        .find(&html)
        .expect("the page shows the link")
        .as_str()
        .to_string();
    let customer = app.another_browser();
    let (status, form) = customer.get_text(&link).await;
    assert_eq!(status, 200);
    let customer_csrf = regex::Regex::new(r#"name="csrf_token" value="([A-Za-z0-9_-]+)""#)
        .unwrap()
        .captures(&form)
        .expect("the upload form's token")[1]
        .to_string();
    let r = upload(
        &customer,
        &link,
        &customer_csrf,
        &["seed-after-console.txt", "garbage.bin"],
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let page_case = case(&app, &by_page);
    let links =
        casebook::diagnostics::links::UploadLink::for_case(&mut app.conn(), page_case.id).unwrap();
    post(
        format!("/cases/{by_page}/upload-links/{}/revoke", links[0].id),
        vec![],
    )
    .await;

    // The API.
    let path = format!("/cases/{by_api}");
    api_post(
        &app,
        &token,
        &format!("{path}/notes"),
        serde_json::json!({"body": "Checked the logs."}),
    )
    .await;
    api_post(
        &app,
        &token,
        &format!("{path}/replies"),
        serde_json::json!({"body": "We are on it."}),
    )
    .await;
    api_post(
        &app,
        &token,
        &format!("{path}/assign"),
        serde_json::json!({"assignee": "me"}),
    )
    .await;
    for (to, from, text) in [
        (
            "defined",
            "new",
            ("definition", "Offline activation fails."),
        ),
        (
            "scoped",
            "defined",
            ("scope", "CMGE 2.1 offline activation."),
        ),
        ("investigating", "scoped", ("note", "Looking.")),
    ] {
        api_post(
            &app,
            &token,
            &format!("{path}/transitions"),
            serde_json::json!({"to": to, "from": from, text.0: text.1}),
        )
        .await;
    }
    let engineer = app.create_user("zhangjl@cmgos.example", "Zhang Jianliang", Role::Engineer);
    api_post(
        &app,
        &token,
        &format!("{path}/transitions"),
        serde_json::json!({"to": "escalated", "from": "investigating", "target": engineer.email,
            "reason": "Binding table", "tried": "Rebinding"}),
    )
    .await;
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/diagnostics/seed-after-console.txt"),
    )
    .unwrap();
    let r = common::new_client()
        .post(app.url(&format!("/api/v1{path}/diagnostics?filename=wmic.txt")))
        .bearer_auth(&token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    // On its own: a bounce of the page's reply, a mail naming a case it is not on, a breach.
    let reply = OutboxRow::for_case(&mut app.conn(), page_case.id)
        .unwrap()
        .into_iter()
        .find(|r| r.kind == "reply")
        .expect("the page's reply");
    app.deliver(format!(
        "Return-Path: <>\r\nFrom: postmaster@centerm.example\r\nTo: support@cmgos.example\r\n\
         Subject: Undeliverable: [{by_page}] reply\r\nMessage-ID: <dsn-1@centerm.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.centerm.example\r\n\r\n\
         Final-Recipient: rfc822; {CUSTOMER}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@cmgos.example\r\n\
         Message-ID: {}\r\n\r\n--B--\r\n",
        reply.message_id
    ))
    .await;
    deliver(
        &app,
        format!(
            "From: someone@elsewhere.example\r\nTo: support@cmgos.example\r\n\
             Subject: Re: [{by_api}] activation\r\nMessage-ID: <dup@elsewhere.example>\r\n\
             Date: Tue, 03 Nov 2026 11:00:00 +0000\r\n\r\nSame problem here.\r\n"
        ),
    )
    .await;
    let later = chrono::Utc::now() + chrono::Duration::days(400);
    let breaches = casebook::workflow::service::breach_sweep(&mut app.conn(), later).unwrap();
    assert!(breaches > 0, "open clocks breach a year later");

    // A third case merged into the API's case.
    let third = deliver(&app, customer_mail("c", &[])).await;
    post(
        format!("/cases/{third}/merge"),
        vec![("into", by_api.clone())],
    )
    .await;

    // Link the two cases on the page, unlink through the API; split the API's latest message
    // off into a case of its own through the API, and one of the page's through the page.
    post(
        format!("/cases/{by_page}/links"),
        vec![
            ("other", by_api.clone()),
            ("relation", "related".into()),
            ("reason", "Same customer, same device family.".into()),
        ],
    )
    .await;
    let link_id: i64 = {
        use casebook::workflow::schema::case_links;
        use diesel::prelude::*;
        case_links::table
            .order(case_links::id.desc())
            .select(case_links::id)
            .first(&mut app.conn())
            .unwrap()
    };
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/links/{link_id}/remove"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let last_message = |number: &str| -> i64 {
        use casebook::db::schema::messages;
        use diesel::prelude::*;
        messages::table
            .filter(messages::case_id.eq(case(&app, number).id))
            .order(messages::id.desc())
            .select(messages::id)
            .first(&mut app.conn())
            .unwrap()
    };
    let (status, body) = api(
        &app,
        &token,
        format!("{by_api}/split"),
        serde_json::json!({"message": last_message(&by_api)}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    post(
        format!("/cases/{by_page}/split"),
        vec![("message", last_message(&by_page).to_string())],
    )
    .await;

    let seen = recorded_kinds(&app);
    let all: std::collections::BTreeSet<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "kinds no operation recorded: {missing:?}"
    );

    // The payloads say what happened, the same way from either door.
    let transitions = |number: &str| -> Vec<Transition> {
        CaseEvent::for_case(&mut app.conn(), case(&app, number).id)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == EventKind::Transition)
            .map(|e| Transition::parse(e.data.as_deref()).unwrap())
            .collect()
    };
    let page = transitions(&by_page);
    let actions: Vec<Action> = page.iter().map(|t| t.action).collect();
    assert_eq!(
        actions,
        [
            Action::Define,
            Action::Scope,
            Action::Investigate,
            Action::AskCustomer,
            Action::CustomerReplied,
            Action::Escalate,
            Action::HandBack,
            Action::Resolve,
            Action::Archive,
            Action::Reopen
        ]
    );
    assert_eq!(page[5].target.as_deref(), Some("engineering"));
    assert_eq!(page[8].summary_version, Some(1));
    let api = transitions(&by_api);
    assert_eq!(page[..3], api[..3], "the same transitions from either door");
    assert_eq!(
        api[3].target_user_id,
        Some(engineer.id),
        "escalated to the engineer by name"
    );
    let merges: Vec<Merged> = [third.as_str(), by_api.as_str()]
        .iter()
        .flat_map(|n| CaseEvent::for_case(&mut app.conn(), case(&app, n).id).unwrap())
        .filter(|e| e.kind == EventKind::Merged)
        .map(|e| Merged::parse(e.data.as_deref()).unwrap())
        .collect();
    assert_eq!(merges.len(), 2);
    assert_eq!(merges[0], merges[1], "both cases record the same merge");
    assert_eq!(
        (merges[0].source.as_str(), merges[0].target.as_str()),
        (third.as_str(), by_api.as_str())
    );
    assert_eq!(
        merges[0].messages_moved, 2,
        "the customer's mail and its acknowledgement"
    );
}
