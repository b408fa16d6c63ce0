//! Notifications through the front door: who is told of an assignment, an escalation, a hand-back
//! and a customer's mail (and that the person who acted never is); the list, the unread count in
//! the navigation bar and marking read; the mail through the outbox; each person's switches; the
//! SLA warning within the hour, once per clock, to the owner or else the managers — each on SQLite
//! and PostgreSQL.

mod common;

use casebook::auth::{Role, User};
use casebook::cases::Case;
use casebook::db::blobs::BlobStore;
use casebook::mail::outbox::OutboxRow;
use casebook::notifications::schema::notifications;
use casebook::workflow::SlaMetric;
use casebook::workflow::service;
use chrono::Utc;
use common::{BackendKind, INBOUND_TOKEN, TEST_PASSWORD, TestApp, spawn_app_with};
use diesel::prelude::*;

both_backends!(
    workflow_events_notify_the_right_people_and_never_the_actor,
    the_list_counts_unread_and_marks_read_for_its_owner_only,
    per_person_switches_choose_the_channels,
    the_sla_warning_comes_once_within_the_hour_to_the_owner_or_the_managers,
);

async fn app(backend: BackendKind) -> Option<TestApp> {
    spawn_app_with(backend, &[("CASEBOOK_INBOUND_TOKEN", INBOUND_TOKEN)]).await
}

async fn signed_in(app: &TestApp, email: &str, name: &str, role: Role) -> (TestApp, User) {
    let browser = app.another_browser();
    let user = app.create_user(email, name, role);
    let r = browser.login(email, TEST_PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303);
    (browser, user)
}

fn mail(id: &str, subject: &str, body: &str, headers: &str) -> String {
    format!(
        "From: Chen Hui <chenhui@customer.example>\r\nTo: support@cmgos.example\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}>\r\n{headers}Date: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        Utc::now().to_rfc2822()
    )
}

async fn new_case(app: &TestApp, id: &str) -> String {
    app.deliver(mail(
        id,
        "Activation fails",
        "Offline activation fails.",
        "",
    ))
    .await["case"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every notification as (recipient, kind), oldest first.
fn rows(app: &TestApp) -> Vec<(i64, String)> {
    notifications::table
        .order(notifications::id.asc())
        .select((notifications::user_id, notifications::kind))
        .load(&mut app.conn())
        .unwrap()
}

fn rows_of(app: &TestApp, user: &User) -> Vec<String> {
    rows(app)
        .into_iter()
        .filter(|(u, _)| *u == user.id)
        .map(|(_, k)| k)
        .collect()
}

async fn act(browser: &TestApp, number: &str, fields: &[(&str, &str)]) {
    let r = browser
        .post_form(&format!("/cases/{number}/transition"), fields)
        .await;
    assert_eq!(r.status().as_u16(), 303, "{fields:?}");
}

async fn assign(browser: &TestApp, number: &str, to: &User) {
    let r = browser
        .post_form(
            &format!("/cases/{number}/assign"),
            &[("assignee", &to.id.to_string())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
}

/// The unread count in the navigation bar, if shown.
async fn unread_badge(browser: &TestApp) -> Option<String> {
    let (_, html) = browser.get_text("/cases").await;
    let re = regex::Regex::new(r#"unread-count[^>]*>([^<]+)<"#).unwrap();
    re.captures(&html).map(|c| c[1].to_string())
}

async fn flush(app: &TestApp) {
    casebook::mail::sender::send_due_now(
        &app.pool,
        &BlobStore::new(&app.config.data_dir),
        &app.config,
    )
    .await
    .unwrap();
}

/// Notification mail in the outbox: (recipient, subject).
fn notification_mail(app: &TestApp) -> Vec<(String, String)> {
    OutboxRow::list_unsent(&mut app.conn(), 1000)
        .unwrap()
        .into_iter()
        .chain(
            casebook::mail::schema::outbox::table
                .filter(casebook::mail::schema::outbox::status.eq("sent"))
                .select(OutboxRow::as_select())
                .load(&mut app.conn())
                .unwrap(),
        )
        .filter(|r| r.kind == "notification")
        .map(|r| (r.to_addrs, r.subject))
        .collect()
}

async fn workflow_events_notify_the_right_people_and_never_the_actor(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    // Managers read and do not write; the team lead who hands out cases is an admin.
    let (lead, boss) = signed_in(&app, "li.na@cmgos.example", "Li Na", Role::Admin).await;
    let (agent, wang) = signed_in(&app, "wangbb@cmgos.example", "Wang Binbin", Role::Agent).await;
    let (engineer, zhang) = signed_in(
        &app,
        "zhangjl@cmgos.example",
        "Zhang Jianliang",
        Role::Engineer,
    )
    .await;
    let kms = app.create_user("kms@cmgos.example", "KMS Team Engineer", Role::Engineer);
    let gone = app.create_user("gone@cmgos.example", "Left the company", Role::Engineer);
    {
        use casebook::db::schema::users;
        let mut conn = app.conn();
        diesel::update(users::table.find(kms.id))
            .set(users::team.eq("kms"))
            .execute(&mut conn)
            .unwrap();
        User::set_disabled(&mut conn, gone.id, true).unwrap();
    }

    // A new case notifies nobody: nobody owns it yet.
    let n = new_case(&app, "n-1@customer.example").await;
    assert!(rows(&app).is_empty());

    // The lead assigns it to the agent: the agent is told, the lead is not.
    assign(&lead, &n, &wang).await;
    assert_eq!(rows_of(&app, &wang), ["assigned"]);
    assert!(rows_of(&app, &boss).is_empty());

    // Taking a case yourself tells nobody.
    let mine = new_case(&app, "n-2@customer.example").await;
    assign(&agent, &mine, &wang).await;
    assert_eq!(rows_of(&app, &wang), ["assigned"], "not for their own act");

    // The customer writes on the agent's case: the agent is told, with their words.
    let raw = mail(
        "n-3@customer.example",
        "Re: Activation fails",
        "Still failing: the SN is used by another computer.",
        "In-Reply-To: <n-1@customer.example>\r\n",
    );
    assert_eq!(app.deliver(raw).await["outcome"], "appended");
    assert_eq!(rows_of(&app, &wang), ["assigned", "customer_replied"]);
    let excerpt: Option<String> = notifications::table
        .filter(notifications::kind.eq("customer_replied"))
        .select(notifications::excerpt)
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(
        excerpt.as_deref(),
        Some("Still failing: the SN is used by another computer.")
    );

    // Escalated to the engineering team: its active engineers are told — not another team's, not
    // a disabled account, not the agent who escalated.
    act(
        &agent,
        &n,
        &[("action", "define"), ("definition", "Activation fails")],
    )
    .await;
    act(
        &agent,
        &n,
        &[("action", "scope"), ("scope", "Help the customer")],
    )
    .await;
    act(&agent, &n, &[("action", "investigate")]).await;
    act(
        &agent,
        &n,
        &[
            ("action", "escalate"),
            ("target", "team:engineering"),
            ("reason", "Looks like a VM"),
            ("tried", "wmic"),
        ],
    )
    .await;
    assert_eq!(rows_of(&app, &zhang), ["escalated"]);
    assert!(rows_of(&app, &kms).is_empty(), "another team");
    assert!(rows_of(&app, &gone).is_empty(), "disabled");
    assert_eq!(rows_of(&app, &wang), ["assigned", "customer_replied"]);

    // The engineer hands it back: the agent (who escalated it and owns it) is told once.
    act(
        &engineer,
        &n,
        &[
            ("action", "hand_back"),
            ("findings", "SN unbound in the backend"),
        ],
    )
    .await;
    assert_eq!(
        rows_of(&app, &wang),
        ["assigned", "customer_replied", "handed_back"]
    );
    assert_eq!(
        rows_of(&app, &zhang),
        ["escalated"],
        "not for their own act"
    );

    // Escalated to an engineer by name: only that engineer.
    let target = format!("user:{}", kms.id);
    act(
        &agent,
        &n,
        &[
            ("action", "escalate"),
            ("target", &target),
            ("reason", "KMS"),
            ("tried", "slmgr"),
        ],
    )
    .await;
    assert_eq!(rows_of(&app, &kms), ["escalated"]);
    assert_eq!(rows_of(&app, &zhang), ["escalated"]);

    // Each notification is mailed to its recipient through the outbox, and to nobody else.
    flush(&app).await;
    let mailed = notification_mail(&app);
    let to = |addr: &str| mailed.iter().filter(|(t, _)| t == addr).count();
    assert_eq!(to("wangbb@cmgos.example"), 3);
    assert_eq!(to("zhangjl@cmgos.example"), 1);
    assert_eq!(to("kms@cmgos.example"), 1);
    assert_eq!(to("li.na@cmgos.example"), 0);
    assert_eq!(mailed.len(), 5);
    assert!(
        mailed.iter().any(|(t, s)| t == "wangbb@cmgos.example"
            && s.contains(&format!("Li Na assigned {n} to you."))),
        "{mailed:?}"
    );
    // A second pass mails nothing again.
    flush(&app).await;
    assert_eq!(notification_mail(&app).len(), 5);
}

async fn the_list_counts_unread_and_marks_read_for_its_owner_only(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (lead, _) = signed_in(&app, "li.na@cmgos.example", "Li Na", Role::Admin).await;
    let (agent, wang) = signed_in(&app, "wangbb@cmgos.example", "Wang Binbin", Role::Agent).await;
    assert_eq!(unread_badge(&agent).await, None);
    let (_, html) = agent.get_text("/notifications").await;
    assert!(html.contains("No notifications."), "{html}");

    let a = new_case(&app, "l-1@customer.example").await;
    let b = new_case(&app, "l-2@customer.example").await;
    let c = new_case(&app, "l-3@customer.example").await;
    for n in [&a, &b, &c] {
        assign(&lead, n, &wang).await;
    }
    assert_eq!(unread_badge(&agent).await.as_deref(), Some("3"));
    assert_eq!(unread_badge(&lead).await, None, "the actor has none");

    // The list: newest first, each saying who did what on which case.
    let (status, html) = agent.get_text("/notifications").await;
    assert_eq!(status, 200);
    let at = |n: &str| html.find(&format!("Li Na assigned {n} to you.")).unwrap();
    assert!(at(&c) < at(&b) && at(&b) < at(&a), "newest first");

    // Another person cannot mark them read (and cannot tell they exist).
    let id: i64 = notifications::table
        .filter(notifications::user_id.eq(wang.id))
        .order(notifications::id.asc())
        .select(notifications::id)
        .first(&mut app.conn())
        .unwrap();
    let r = lead
        .post_form(&format!("/notifications/{id}/read"), &[])
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(unread_badge(&agent).await.as_deref(), Some("3"));

    // Mark one read, then all.
    let r = agent
        .post_form(&format!("/notifications/{id}/read"), &[])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(unread_badge(&agent).await.as_deref(), Some("2"));
    let r = agent.post_form("/notifications/read-all", &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(unread_badge(&agent).await, None);
    let (_, html) = agent.get_text("/notifications").await;
    assert!(
        html.contains(&format!("Li Na assigned {a} to you.")),
        "still listed"
    );
    assert!(!html.contains("Mark all read"));

    // The count stops at the cap, and the list pages.
    {
        let mut conn = app.conn();
        let case_id = Case::find_by_number(&mut conn, &a).unwrap().unwrap().id;
        for _ in 0..casebook::notifications::service::UNREAD_CAP + 5 {
            casebook::notifications::notify(
                &mut conn,
                &casebook::notifications::Event {
                    kind: casebook::notifications::Kind::Assigned,
                    case_id: Some(case_id),
                    actor_id: None,
                    actor_label: "Li Na",
                    detail: None,
                    excerpt: None,
                    at: casebook::db::now(),
                },
                &[wang.id],
            )
            .unwrap();
        }
    }
    assert_eq!(unread_badge(&agent).await.as_deref(), Some("99+"));
    let (_, html) = agent.get_text("/notifications").await;
    assert!(html.contains("/notifications?page=2"), "an older page");
    let (status, html) = agent.get_text("/notifications?page=3").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("/notifications?page=2"),
        "back to a newer page"
    );
}

async fn per_person_switches_choose_the_channels(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (lead, _) = signed_in(&app, "li.na@cmgos.example", "Li Na", Role::Admin).await;
    let (agent, wang) = signed_in(&app, "wangbb@cmgos.example", "Wang Binbin", Role::Agent).await;

    // Everything is on until switched off.
    let (status, html) = agent.get_text("/account/notifications").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches(" checked").count(), 10, "5 kinds × 2 channels");

    // Assignments: in Casebook only. Customer mail: by mail only. Escalations: neither.
    let r = agent
        .post_form(
            "/account/notifications",
            &[
                ("in_app.assigned", "on"),
                ("by_mail.customer_replied", "on"),
                ("in_app.handed_back", "on"),
                ("by_mail.handed_back", "on"),
                ("in_app.sla_near_breach", "on"),
                ("by_mail.sla_near_breach", "on"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = agent.get_text("/account/notifications").await;
    assert_eq!(html.matches(" checked").count(), 6);
    assert!(html.contains(r#"name="in_app.assigned" value="on" checked"#));
    assert!(html.contains(r#"name="by_mail.assigned" value="on">"#));

    let n = new_case(&app, "s-1@customer.example").await;
    assign(&lead, &n, &wang).await;
    let raw = mail(
        "s-2@customer.example",
        "Re: Activation fails",
        "Any news?",
        "In-Reply-To: <s-1@customer.example>\r\n",
    );
    assert_eq!(app.deliver(raw).await["outcome"], "appended");
    flush(&app).await;

    // Listed and counted: the assignment only. Mailed: the customer's mail only.
    assert_eq!(unread_badge(&agent).await.as_deref(), Some("1"));
    let (_, html) = agent.get_text("/notifications").await;
    assert!(html.contains(&format!("Li Na assigned {n} to you.")));
    assert!(!html.contains("wrote on"), "customer mail is not listed");
    let mailed = notification_mail(&app);
    assert_eq!(mailed.len(), 1, "{mailed:?}");
    assert_eq!(mailed[0].0, "wangbb@cmgos.example");
    assert!(
        mailed[0]
            .1
            .contains(&format!("The customer Chen Hui wrote on {n}.")),
        "{mailed:?}"
    );

    // With both channels off, nothing is recorded at all.
    let (engineer_browser, _) = signed_in(
        &app,
        "zhangjl@cmgos.example",
        "Zhang Jianliang",
        Role::Engineer,
    )
    .await;
    let r = engineer_browser
        .post_form("/account/notifications", &[("in_app.assigned", "on")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    act(&agent, &n, &[("action", "define"), ("definition", "d")]).await;
    act(&agent, &n, &[("action", "scope"), ("scope", "s")]).await;
    act(&agent, &n, &[("action", "investigate")]).await;
    let before = rows(&app).len();
    act(
        &agent,
        &n,
        &[
            ("action", "escalate"),
            ("target", "team:engineering"),
            ("reason", "r"),
            ("tried", "t"),
        ],
    )
    .await;
    assert_eq!(
        rows(&app).len(),
        before,
        "escalations switched off entirely"
    );
}

async fn the_sla_warning_comes_once_within_the_hour_to_the_owner_or_the_managers(
    backend: BackendKind,
) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (_, boss) = signed_in(&app, "li.na@cmgos.example", "Li Na", Role::Manager).await;
    let (lead, _) = signed_in(&app, "lead@cmgos.example", "Team Lead", Role::Admin).await;
    let other_manager = app.create_user("zhao@cmgos.example", "Zhao Lei", Role::Manager);
    let (_, wang) = signed_in(&app, "wangbb@cmgos.example", "Wang Binbin", Role::Agent).await;

    let owned = new_case(&app, "w-1@customer.example").await;
    assign(&lead, &owned, &wang).await;
    let nobodys = new_case(&app, "w-2@customer.example").await;
    let due = |number: &str| {
        let id = Case::find_by_number(&mut app.conn(), number)
            .unwrap()
            .unwrap()
            .id;
        service::clocks(&mut app.conn(), id)
            .unwrap()
            .into_iter()
            .find(|c| c.clock.metric == SlaMetric::FirstResponse)
            .unwrap()
            .clock
            .due_at
    };
    let deadline = due(&owned).min(due(&nobodys));
    let later = due(&owned).max(due(&nobodys));
    assert!(later - deadline < chrono::Duration::minutes(5));
    let warnings = |app: &TestApp| -> Vec<i64> {
        notifications::table
            .filter(notifications::kind.eq("sla_near_breach"))
            .order(notifications::user_id.asc())
            .select(notifications::user_id)
            .load(&mut app.conn())
            .unwrap()
    };

    // Two hours before: nothing yet.
    let report = service::sweep(&mut app.conn(), deadline - chrono::Duration::hours(2)).unwrap();
    assert_eq!(report.warned, 0);
    assert!(warnings(&app).is_empty());

    // Within the hour: the owner of one case, the managers for the case nobody owns.
    let report = service::sweep(&mut app.conn(), later - chrono::Duration::minutes(30)).unwrap();
    assert_eq!((report.warned, report.breached), (2, 0));
    let mut expected = vec![boss.id, other_manager.id, wang.id];
    expected.sort();
    assert_eq!(warnings(&app), expected);
    let detail: Option<String> = notifications::table
        .filter(notifications::user_id.eq(wang.id))
        .filter(notifications::kind.eq("sla_near_breach"))
        .select(notifications::detail)
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(detail.as_deref(), Some("first_response"));

    // Once per clock: later ticks, and the breach itself, warn no more.
    let report = service::sweep(&mut app.conn(), later - chrono::Duration::minutes(10)).unwrap();
    assert_eq!(report.warned, 0);
    let report = service::sweep(&mut app.conn(), later + chrono::Duration::minutes(1)).unwrap();
    assert_eq!(report.warned, 0);
    assert!(report.breached >= 2);
    assert_eq!(warnings(&app).len(), 3);

    // The owner reads it in their language on the list.
    let (agent, _) = {
        let b = app.another_browser();
        let r = b.login("wangbb@cmgos.example", TEST_PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        (b, ())
    };
    let (_, html) = agent.get_text("/notifications").await;
    assert!(
        html.contains(&format!(
            "First response on {owned} is due within the hour."
        )),
        "{html}"
    );
}
