//! One operation, one service: a reply, a note, an assignment and a transition done through the
//! page and through the API write the same rows and events. And a customer's mail cannot choose
//! who receives the agent's reply (a mail with thousands of
//! Cc once became thousands of participants, pre-filled into every reply, composed inside the
//! write transaction for minutes). On SQLite and PostgreSQL.

mod common;

use casebook::api::tokens::{ApiToken, TokenName};
use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::messages::{CaseEvent, Message, Participant};
use casebook::mail::outbox::OutboxRow;
use common::{BackendKind, TestApp, spawn_app_with};

both_backends!(
    a_mail_with_thousands_of_cc_adds_a_capped_number_of_participants_and_no_support_address,
    a_reply_to_more_recipients_than_allowed_is_refused_on_the_page_and_the_api,
    a_reply_to_many_cc_goes_out_with_one_cc_header,
    page_and_api_notes_write_the_same_rows_and_events,
    page_and_api_replies_write_the_same_rows_and_events,
    page_and_api_assignments_write_the_same_events,
    page_and_api_transitions_write_the_same_events,
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
}
