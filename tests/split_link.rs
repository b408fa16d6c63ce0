//! Splitting a case, linking cases and merge suggestions, through the page and the API, on SQLite
//! and PostgreSQL: the customer's second problem becomes its own case and later mail follows it;
//! links read the right way from both sides; likely duplicates are offered for merging.

mod common;

use casebook::cases::Case;
use casebook::cases::messages::CaseEvent;
use casebook::db::schema::messages;
use casebook::workflow::events::{CaseLink, EventData, Split};
use common::{BackendKind, TestApp, spawn_app_with};
use diesel::prelude::*;

both_backends!(
    a_second_problem_splits_into_its_own_case_and_later_mail_follows_it,
    links_read_the_right_way_from_both_sides,
    likely_duplicates_are_suggested_and_merged_from_the_suggestion,
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

fn mail(from: &str, id: &str, subject: &str, body: &str, reply_to: Option<&str>) -> String {
    let thread = reply_to
        .map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: support@cmgos.example\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\n{thread}Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
}

async fn deliver(app: &TestApp, raw: String) -> String {
    let v = app.deliver(raw).await;
    v["case"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

fn case(app: &TestApp, number: &str) -> Case {
    Case::find_by_number(&mut app.conn(), number)
        .unwrap()
        .unwrap()
}

/// (id, subject) of a case's messages, oldest first.
fn messages_of(app: &TestApp, number: &str) -> Vec<(i64, String)> {
    messages::table
        .filter(messages::case_id.eq(case(app, number).id))
        .order(messages::id.asc())
        .select((messages::id, messages::subject))
        .load(&mut app.conn())
        .unwrap()
}

fn payloads<P: EventData>(app: &TestApp, number: &str, kind: &str) -> Vec<P> {
    CaseEvent::for_case(&mut app.conn(), case(app, number).id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| P::parse(e.data.as_deref()).expect("its kind's payload"))
        .collect()
}

fn token(app: &TestApp, user: &casebook::auth::User) -> String {
    casebook::api::tokens::ApiToken::create(
        &mut app.conn(),
        user.id,
        &casebook::api::tokens::TokenName::parse("test").unwrap(),
    )
    .unwrap()
    .1
}

async fn api(app: &TestApp, token: &str, path: &str, body: serde_json::Value) -> (u16, String) {
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

async fn a_second_problem_splits_into_its_own_case_and_later_mail_follows_it(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let agent = app.login_as(casebook::auth::Role::Agent).await;
    let customer = "Chen Hui <chenhui@centerm.example>";
    let first = deliver(
        &app,
        mail(
            customer,
            "m1@centerm.example",
            "CMGE activation fails",
            "Device marker binding is Invalid.",
            None,
        ),
    )
    .await;
    deliver(
        &app,
        mail(
            customer,
            "m2@centerm.example",
            "Re: CMGE activation fails",
            "Here is the wmic output.",
            Some("m1@centerm.example"),
        ),
    )
    .await;
    deliver(
        &app,
        mail(
            customer,
            "m3@centerm.example",
            "Re: CMGE activation fails",
            "Another thing: the Kunpeng printer driver crashes.",
            Some("m2@centerm.example"),
        ),
    )
    .await;
    deliver(
        &app,
        mail(
            customer,
            "m4@centerm.example",
            "Re: CMGE activation fails",
            "The printer crash log is attached.",
            Some("m3@centerm.example"),
        ),
    )
    .await;
    // The customer's four mails (an acknowledgement to the customer may be on the case too).
    let ids: Vec<(i64, String)> = messages::table
        .filter(messages::case_id.eq(case(&app, &first).id))
        .filter(messages::from_email.eq("chenhui@centerm.example"))
        .order(messages::id.asc())
        .select((messages::id, messages::subject))
        .load(&mut app.conn())
        .unwrap();
    assert_eq!(ids.len(), 4);
    let before = messages_of(&app, &first).len();

    // The page: split the third message and those after it.
    let (_, html) = app.get_text(&format!("/cases/{first}")).await;
    assert!(
        html.contains("Split into a new case"),
        "each message offers it"
    );
    assert!(html.contains(&format!("/cases/{first}/split?message={}", ids[2].0)));
    // The split page says what would move before anything does.
    let (status, form) = app
        .get_text(&format!("/cases/{first}/split?message={}", ids[2].0))
        .await;
    assert_eq!(status, 200);
    assert!(form.contains("with the messages after it (1)"), "{form}");
    assert!(
        form.contains(r#"name="title" maxlength="300" value="Re: CMGE activation fails""#),
        "{form}"
    );
    let (status, _) = app
        .get_text(&format!("/cases/{first}/split?message={}", ids[2].0 + 1000))
        .await;
    assert_eq!(status, 422, "not this case's message");
    let r = app
        .post_form(
            &format!("/cases/{first}/split"),
            &[
                ("message", &ids[2].0.to_string()),
                ("following", "yes"),
                ("title", "Kunpeng printer driver crashes"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let second = (to.trim_start_matches("/cases/").split('#').next().unwrap()).to_string();
    assert_ne!(second, first);
    assert_eq!(messages_of(&app, &first).len(), before - 2);
    let moved = messages_of(&app, &second);
    assert_eq!(
        moved.iter().map(|m| m.0).collect::<Vec<_>>(),
        [ids[2].0, ids[3].0]
    );
    let new = case(&app, &second);
    assert_eq!(new.title, "Kunpeng printer driver crashes");
    assert_eq!(new.customer_email, "chenhui@centerm.example");
    assert_eq!(new.state, casebook::workflow::CaseState::New);
    let clocks = casebook::workflow::service::clocks(&mut app.conn(), new.id).unwrap();
    assert!(!clocks.is_empty(), "the new case has its own SLA clocks");

    // Both timelines say so, and the cases are linked as related.
    let on_first: Vec<Split> = payloads(&app, &first, "split");
    let on_second: Vec<Split> = payloads(&app, &second, "split");
    assert_eq!(on_first, on_second);
    assert_eq!(on_first[0].messages_moved, 2);
    assert_eq!(on_first[0].new_case, second);
    let (_, page) = app.get_text(&format!("/cases/{first}")).await;
    assert!(
        page.contains(&format!(r#"href="/cases/{second}""#)),
        "linked to the new case"
    );
    let (_, page) = app.get_text(&format!("/cases/{second}")).await;
    assert!(
        page.contains(&format!(r#"href="/cases/{first}""#)),
        "and back"
    );

    // The customer answers the moved mail: it lands on the new case.
    let outcome = app
        .deliver(mail(
            customer,
            "m5@centerm.example",
            "Re: CMGE activation fails",
            "Any news on the printer?",
            Some("m4@centerm.example"),
        ))
        .await;
    assert_eq!(outcome["case"], second.as_str(), "{outcome}");
    // Search finds the moved words on the new case only.
    let (_, found) = app.get_text("/cases?q=Kunpeng").await;
    assert!(
        found.contains(&second) && !found.contains(&first),
        "search follows the move"
    );

    // A split that would empty the case is refused and changes nothing.
    let left = messages_of(&app, &first);
    let r = app
        .post_form(
            &format!("/cases/{first}/split"),
            &[("message", &left[0].0.to_string()), ("following", "yes")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("keep at least one"));
    assert_eq!(messages_of(&app, &first).len(), before - 2);
    // A message of another case is not this case's to split.
    let (status, body) = api(
        &app,
        &token(&app, &agent),
        &format!("{first}/split"),
        serde_json::json!({"message": ids[3].0}),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    // The API splits one message alone.
    let (status, body) = api(
        &app,
        &token(&app, &agent),
        &format!("{first}/split"),
        serde_json::json!({"message": left[1].0}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(messages_of(&app, v["case"].as_str().unwrap()).len(), 1);
    assert_eq!(messages_of(&app, &first).len(), before - 3);
}

async fn links_read_the_right_way_from_both_sides(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let agent = app.login_as(casebook::auth::Role::Agent).await;
    let parent = deliver(
        &app,
        mail(
            "a@oem.example",
            "p@oem.example",
            "All thin clients fail activation",
            "Fleet-wide.",
            None,
        ),
    )
    .await;
    let child = deliver(
        &app,
        mail(
            "b@oem.example",
            "c@oem.example",
            "TC-100 fails activation",
            "One model.",
            None,
        ),
    )
    .await;

    // On the child's page: the other case is its parent.
    let r = app
        .post_form(
            &format!("/cases/{child}/links"),
            &[
                ("other", parent.as_str()),
                ("relation", "parent"),
                ("reason", "One fleet-wide problem"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let on_child: Vec<CaseLink> = payloads(&app, &child, "linked");
    let on_parent: Vec<CaseLink> = payloads(&app, &parent, "linked");
    assert_eq!(on_child[0].relation, "parent");
    assert_eq!(on_child[0].other, parent);
    assert_eq!(on_parent[0].relation, "child", "the parent sees its child");
    assert_eq!(on_parent[0].other, child);
    let (_, page) = app.get_text(&format!("/cases/{parent}")).await;
    assert!(
        page.contains("Child case") && page.contains(&child),
        "shown on the parent"
    );
    assert!(page.contains("One fleet-wide problem"));

    // Twice, to itself, to nothing, without a reason: refused, nothing recorded.
    for (other, reason, why) in [
        (parent.as_str(), "again", "already linked"),
        (child.as_str(), "self", "cannot be linked to itself"),
        ("CAS-99999-ZZZZZZ", "nothing", "no such case"),
        (parent.as_str(), "  ", "Say why"),
    ] {
        let r = app
            .post_form(
                &format!("/cases/{child}/links"),
                &[
                    ("other", other),
                    ("relation", "related"),
                    ("reason", reason),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422, "{why}");
        assert!(r.text().await.unwrap().contains(why), "{why}");
    }
    assert_eq!(payloads::<CaseLink>(&app, &child, "linked").len(), 1);

    // The API removes it from the parent's side; both timelines record it; once only.
    let token = token(&app, &agent);
    let id: i64 = {
        use casebook::workflow::schema::case_links;
        case_links::table
            .select(case_links::id)
            .first(&mut app.conn())
            .unwrap()
    };
    let (status, _) = api(
        &app,
        &token,
        &format!("{parent}/links/{id}/remove"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = api(
        &app,
        &token,
        &format!("{parent}/links/{id}/remove"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        payloads::<CaseLink>(&app, &child, "unlinked")[0].relation,
        "parent"
    );
    assert_eq!(
        payloads::<CaseLink>(&app, &parent, "unlinked")[0].relation,
        "child"
    );
    let (_, page) = app.get_text(&format!("/cases/{parent}")).await;
    assert!(page.contains("No linked cases."));

    // The API links as related; an unknown relation is refused.
    let (status, body) = api(
        &app,
        &token,
        &format!("{parent}/links"),
        serde_json::json!({"case": child, "relation": "sibling", "reason": "x"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = api(
        &app,
        &token,
        &format!("{parent}/links"),
        serde_json::json!({"case": child, "relation": "related", "reason": "Same OEM"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        payloads::<CaseLink>(&app, &child, "linked")[1].relation,
        "related"
    );
    // The case JSON names the link and each message's id (what the split endpoint takes).
    let detail: serde_json::Value = common::new_client()
        .get(app.url(&format!("/api/v1/cases/{parent}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["links"][0]["case"], child.as_str(), "{detail}");
    assert_eq!(detail["links"][0]["relation"], "related", "{detail}");
    assert!(detail["messages"][0]["id"].as_i64().is_some(), "{detail}");
}

async fn likely_duplicates_are_suggested_and_merged_from_the_suggestion(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.login_as(casebook::auth::Role::Agent).await;
    let customer = "chenhui@centerm.example";
    let first = deliver(
        &app,
        mail(
            customer,
            "d1@centerm.example",
            "离线激活失败 Device marker binding is Invalid",
            "first",
            None,
        ),
    )
    .await;
    let again = deliver(
        &app,
        mail(
            customer,
            "d2@centerm.example",
            "离线激活失败",
            "wrote again without replying",
            None,
        ),
    )
    .await;
    let other_topic = deliver(
        &app,
        mail(
            customer,
            "d3@centerm.example",
            "发票问题 invoice request",
            "unrelated",
            None,
        ),
    )
    .await;
    let other_customer = deliver(
        &app,
        mail(
            "someone@else.example",
            "d4@else.example",
            "离线激活失败",
            "another customer",
            None,
        ),
    )
    .await;

    let (_, page) = app.get_text(&format!("/cases/{again}")).await;
    assert!(page.contains("Possible duplicates"), "offered");
    let suggested = |page: &str, n: &str| {
        page.contains(&format!(r#"<input type="hidden" name="into" value="{n}">"#))
    };
    assert!(suggested(&page, &first), "the same customer's similar case");
    assert!(!suggested(&page, &other_topic), "not another topic");
    assert!(!suggested(&page, &other_customer), "not another customer");

    // Merging from the suggestion: the duplicate goes, and nothing is suggested any more.
    let r = app
        .post_form(
            &format!("/cases/{again}/merge"),
            &[("from", "new"), ("into", first.as_str())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        case(&app, &again).merged_into_id,
        Some(case(&app, &first).id)
    );
    let (_, page) = app.get_text(&format!("/cases/{first}")).await;
    assert!(!suggested(&page, &again), "a merged case is no suggestion");
}
