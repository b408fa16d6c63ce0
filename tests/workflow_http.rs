//! The case workflow through the front door: a case travels the whole support method over HTTP as
//! agent and engineer, with the inbound and outbound hooks called as ingest and mail will call them;
//! refusals change nothing — each on SQLite and PostgreSQL.

mod common;

use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::messages::{CaseEvent, NewMessage};
use casebook::cases::model::NewCase;
use casebook::workflow::service::{self, SlaRules};
use casebook::workflow::{Priority, SlaMetric};
use chrono::Utc;
use common::{BackendKind, TestApp, spawn_app};

both_backends!(
    a_case_travels_the_whole_method_with_events_fields_summaries_and_clocks,
    refusals_are_shown_and_change_nothing,
    assignment_and_priority_are_recorded_and_retarget_the_clocks,
    an_event_kind_this_version_does_not_know_shows_as_unknown_and_is_never_written,
);

/// Opens a case as ingest will: the case row, then its first clocks.
fn open_case(app: &TestApp, title: &str) -> Case {
    let mut conn = app.conn();
    let case = Case::create(
        &mut conn,
        &NewCase {
            number: None,
            title,
            state: casebook::workflow::CaseState::New,
            priority: casebook::workflow::Priority::Normal,
            customer_email: "zhang.wei@customer.test",
            customer_name: Some("张伟"),
            language: "zh-CN",
            duplicate_of_id: None,
            at: casebook::db::now(),
        },
    )
    .unwrap();
    let started = service::start_clocks_for_new_case(
        &mut conn,
        case.id,
        Priority::Normal,
        Utc::now(),
        &SlaRules::from_config(&app.config),
    )
    .unwrap();
    assert!(started);
    case
}

fn reload(app: &TestApp, id: i64) -> Case {
    Case::find_by_id(&mut app.conn(), id).unwrap().unwrap()
}

fn transitions(app: &TestApp, id: i64) -> Vec<CaseEvent> {
    CaseEvent::for_case(&mut app.conn(), id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "transition")
        .collect()
}

fn events_of(app: &TestApp, id: i64, kind: &str) -> Vec<CaseEvent> {
    CaseEvent::for_case(&mut app.conn(), id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

fn last_transition(app: &TestApp, id: i64) -> CaseEvent {
    transitions(app, id).pop().expect("a transition event")
}

fn clock(app: &TestApp, id: i64, metric: SlaMetric) -> Vec<casebook::workflow::SlaClock> {
    service::clocks(&mut app.conn(), id)
        .unwrap()
        .into_iter()
        .filter(|c| c.clock.metric == metric)
        .map(|c| c.clock)
        .collect()
}

async fn act(app: &TestApp, number: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.post_form(&format!("/cases/{number}/transition"), fields)
        .await
}

fn assert_event(e: &CaseEvent, actor: &str, from: &str, to: &str, note: Option<&str>) {
    assert_eq!(e.actor_label, actor, "{e:?}");
    assert_eq!(e.from_state.as_deref(), Some(from), "{e:?}");
    assert_eq!(e.to_state.as_deref(), Some(to), "{e:?}");
    assert_eq!(e.note.as_deref(), note, "{e:?}");
}

async fn a_case_travels_the_whole_method_with_events_fields_summaries_and_clocks(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.login_as(Role::Agent).await;
    let eng = app.another_browser();
    let engineer = eng.login_as(Role::Engineer).await;
    let rules = SlaRules::from_config(&app.config);
    let case = open_case(&app, "离线激活失败");
    let (id, n) = (case.id, case.number.clone());

    // The page offers what an agent may do in `new`, and shows the running clocks.
    let (status, html) = app.get_text(&format!("/cases/{n}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="action" value="define""#), "{html}");
    assert!(!html.contains(r#"value="archive""#));
    assert!(html.contains("First response") && html.contains("due in"));

    // new → defined
    let definition = "用户反馈离线激活失败，提示 SN 已被绑定。";
    let r = act(
        &app,
        &n,
        &[
            ("action", "define"),
            ("from", "new"),
            ("definition", definition),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let c = reload(&app, id);
    assert_eq!(c.state, "defined");
    assert_eq!(c.problem_definition.as_deref(), Some(definition));
    let e = last_transition(&app, id);
    assert_event(&e, "Test agent", "new", "defined", Some(definition));
    assert_eq!(e.actor_id, Some(agent.id));

    // defined → scoped: the customer is to be mailed definition and scope.
    let scope = "协助用户分析上述激活问题。";
    let r = act(&app, &n, &[("action", "scope"), ("scope", scope)]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(reload(&app, id).scope.as_deref(), Some(scope));
    assert_event(
        &last_transition(&app, id),
        "Test agent",
        "defined",
        "scoped",
        Some(scope),
    );
    let pending = service::pending_customer_mail(&mut app.conn(), id).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].mail.kind, "definition_and_scope");
    assert!(pending[0].mail.text.contains("问题定义：") && pending[0].mail.text.contains(scope));
    assert_eq!(pending[0].mail.language, "zh-CN");

    // That mail went out with the transition and answered the customer: the first response is met
    // (a later reply meets nothing more).
    assert_eq!(
        service::reply_sent(&mut app.conn(), id, Utc::now(), &rules).unwrap(),
        0
    );
    assert!(
        clock(&app, id, SlaMetric::FirstResponse)[0]
            .met_at
            .is_some()
    );

    // scoped → waiting_on_customer: the question is to be mailed, the clocks pause.
    let question = "请提供 wmic baseboard get serialnumber 的输出。";
    let r = act(
        &app,
        &n,
        &[("action", "ask_customer"), ("question", question)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(reload(&app, id).state, "waiting_on_customer");
    let pending = service::pending_customer_mail(&mut app.conn(), id).unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[1].mail.kind, "question");
    assert!(pending[1].mail.text.contains(question));
    let resolution_clock = clock(&app, id, SlaMetric::Resolution).remove(0);
    assert!(
        resolution_clock.paused_since.is_some(),
        "paused while waiting"
    );

    // The customer answers: Casebook moves the case back to investigating and starts a next-response
    // clock; the resolution clock runs again.
    let wrote = service::customer_wrote(&mut app.conn(), id, Utc::now(), &rules).unwrap();
    assert!(wrote.next_response_started);
    assert_eq!(
        wrote.transition.as_ref().map(|a| a.to.as_str()),
        Some("investigating")
    );
    let e = last_transition(&app, id);
    assert_event(&e, "system", "waiting_on_customer", "investigating", None);
    assert_eq!(e.actor_id, None);
    let resumed = clock(&app, id, SlaMetric::Resolution).remove(0);
    assert!(resumed.paused_since.is_none());
    assert!(resumed.due_at >= resolution_clock.due_at);
    let next = clock(&app, id, SlaMetric::NextResponse);
    assert_eq!(next.len(), 1);
    assert!(next[0].is_running());

    // investigating → escalated, to the engineer by name.
    let target = format!("user:{}", engineer.id);
    let r = act(
        &app,
        &n,
        &[
            ("action", "escalate"),
            ("target", &target),
            ("reason", "SN 绑定需要研发解绑"),
            ("tried", "重新激活、检查主板序列号"),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let c = reload(&app, id);
    assert_eq!(c.state, "escalated");
    assert_eq!(c.team.as_deref(), Some("engineering"));
    let esc = service::escalations_of(&mut app.conn(), id).unwrap();
    assert_eq!(esc.len(), 1);
    assert_eq!(esc[0].target, "Test engineer");
    assert_eq!(esc[0].target_user_id, Some(engineer.id));
    assert_eq!(esc[0].tried, "重新激活、检查主板序列号");
    assert!(esc[0].closed_at.is_none());
    assert_event(
        &last_transition(&app, id),
        "Test agent",
        "investigating",
        "escalated",
        Some("SN 绑定需要研发解绑"),
    );

    // The engineer finds it in the queue and may only hand it back.
    let (status, html) = eng.get_text("/queue").await;
    assert_eq!(status, 200);
    assert!(html.contains(&n), "{html}");
    assert!(html.contains("SN 绑定需要研发解绑"));
    let (_, html) = eng.get_text(&format!("/cases/{n}")).await;
    assert!(html.contains(r#"value="hand_back""#));
    assert!(!html.contains(r#"value="resolve""#) && !html.contains(r#"value="archive""#));
    let findings = "主板序列号为空，SN 已绑定到另一台虚拟机；已在后台解绑。";
    let r = act(&eng, &n, &[("action", "hand_back"), ("findings", findings)]).await;
    assert_eq!(r.status().as_u16(), 303);
    let c = reload(&app, id);
    assert_eq!(c.state, "investigating");
    assert_eq!(c.team, None);
    let esc = service::escalations_of(&mut app.conn(), id).unwrap();
    assert_eq!(esc[0].findings.as_deref(), Some(findings));
    assert_eq!(esc[0].handed_back_by, Some(engineer.id));
    assert!(esc[0].handed_back_at.is_some() && esc[0].closed_at.is_some());
    let e = last_transition(&app, id);
    assert_event(
        &e,
        "Test engineer",
        "escalated",
        "investigating",
        Some(findings),
    );
    assert_eq!(e.actor_id, Some(engineer.id));
    let (_, html) = eng.get_text("/queue").await;
    assert!(!html.contains(&n), "handed back cases leave the queue");

    // A reply meets the next response.
    assert_eq!(
        service::reply_sent(&mut app.conn(), id, Utc::now(), &rules).unwrap(),
        1
    );
    assert!(clock(&app, id, SlaMetric::NextResponse)[0].met_at.is_some());

    // investigating → resolved: the resolution clock is met.
    let resolution = "研发解绑后重新离线激活成功。";
    let r = act(
        &app,
        &n,
        &[("action", "resolve"), ("resolution", resolution)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let c = reload(&app, id);
    assert_eq!(c.state, "resolved");
    assert_eq!(c.resolution.as_deref(), Some(resolution));
    assert!(c.closed_at.is_some());
    assert!(clock(&app, id, SlaMetric::Resolution)[0].met_at.is_some());

    // The archive form is pre-filled with a draft from the record.
    let (_, html) = app.get_text(&format!("/cases/{n}")).await;
    assert!(html.contains(r#"value="archive""#));
    // In the customer's language (the case is zh-CN), whatever the reader's.
    for part in [
        "问题定义：",
        "问题进展：",
        definition,
        scope,
        findings,
        resolution,
    ] {
        assert!(html.contains(part), "draft lacks {part}");
    }

    // resolved → archived with a summary (version 1).
    let summary_v1 =
        format!("问题定义：\n{definition}\n\n问题进展：\n- {findings}\n结果：{resolution}");
    let r = act(&app, &n, &[("action", "archive"), ("summary", &summary_v1)]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(reload(&app, id).state, "archived");
    assert_event(
        &last_transition(&app, id),
        "Test agent",
        "resolved",
        "archived",
        None,
    );
    let summaries = service::summaries(&mut app.conn(), id).unwrap();
    assert_eq!(summaries.len(), 1);
    // The scope mail, the question, the resolution mail and the summary mail itself were queued to
    // the customer as messages on the thread; the version counts them all.
    assert_eq!(
        (summaries[0].version, summaries[0].messages_at_write),
        (1, 4)
    );
    assert_eq!(summaries[0].body, summary_v1);
    assert_eq!(events_of(&app, id, "summary_written").len(), 1);

    // A message arrives; the page says how stale the summary is; a second version keeps the first.
    insert_inbound_message(&app, id, "谢谢，已激活。");
    let (_, html) = app.get_text(&format!("/cases/{n}")).await;
    assert!(html.contains("1 messages since it was written"), "{html}");
    let r = app
        .post_form(
            &format!("/cases/{n}/summary"),
            &[("summary", "v2: 客户确认激活成功。")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let summaries = service::summaries(&mut app.conn(), id).unwrap();
    assert_eq!(
        summaries
            .iter()
            .map(|s| (s.version, s.messages_at_write))
            .collect::<Vec<_>>(),
        vec![(2, 5), (1, 4)]
    );
    assert_eq!(
        summaries[1].body, summary_v1,
        "version 1 is never overwritten"
    );

    // The customer writes again: the case is reopened by the system with a fresh resolution clock.
    let wrote = service::customer_wrote(&mut app.conn(), id, Utc::now(), &rules).unwrap();
    assert_eq!(
        wrote.transition.as_ref().map(|a| a.to.as_str()),
        Some("investigating")
    );
    let c = reload(&app, id);
    assert_eq!(c.state, "investigating");
    assert!(c.closed_at.is_none());
    assert_event(
        &last_transition(&app, id),
        "system",
        "archived",
        "investigating",
        Some("客户再次来信。"),
    );
    let resolution_clocks = clock(&app, id, SlaMetric::Resolution);
    assert_eq!(resolution_clocks.len(), 2);
    assert!(
        resolution_clocks[0].met_at.is_some(),
        "the old result stays"
    );
    assert!(resolution_clocks[1].is_running());
    assert!(wrote.next_response_started);

    // Every transition is in the timeline, in order.
    let path: Vec<(String, String)> = transitions(&app, id)
        .into_iter()
        .map(|e| (e.from_state.unwrap(), e.to_state.unwrap()))
        .collect();
    let expected = [
        ("new", "defined"),
        ("defined", "scoped"),
        ("scoped", "waiting_on_customer"),
        ("waiting_on_customer", "investigating"),
        ("investigating", "escalated"),
        ("escalated", "investigating"),
        ("investigating", "resolved"),
        ("resolved", "archived"),
        ("archived", "investigating"),
    ];
    assert_eq!(
        path,
        expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );

    // The breach sweep stores breaches of overdue running clocks, once.
    let later = Utc::now() + chrono::Duration::days(400);
    let breached = service::breach_sweep(&mut app.conn(), later).unwrap();
    assert_eq!(breached, 2, "the new resolution and next-response clocks");
    for c in service::clocks(&mut app.conn(), id).unwrap() {
        if c.clock.is_running() {
            assert_eq!(c.clock.breached_at, Some(c.clock.due_at));
        } else {
            assert_eq!(c.clock.breached_at, None, "met clocks never breach");
        }
    }
    assert_eq!(events_of(&app, id, "sla_breached").len(), 2);
    assert_eq!(
        service::breach_sweep(&mut app.conn(), later).unwrap(),
        0,
        "a breach is stored once"
    );
}

fn insert_inbound_message(app: &TestApp, case_id: i64, text: &str) {
    let at = casebook::db::now();
    NewMessage {
        case_id,
        direction: "inbound".into(),
        message_id: Some(format!("{}@customer.test", at.and_utc().timestamp_micros())),
        in_reply_to: None,
        references_ids: String::new(),
        from_email: "zhang.wei@customer.test".into(),
        from_name: Some("张伟".into()),
        to_addrs: "support@casebook.test".into(),
        cc_addrs: String::new(),
        subject: "回复: 离线激活失败".into(),
        sent_at: Some(at),
        received_at: at,
        body_text: text.into(),
        new_text: text.into(),
        body_html: None,
        auto: false,
        thread_method: "test".into(),
        raw_sha256: None,
        content_hash: format!("hash-{}", at.and_utc().timestamp_micros()),
        author_id: None,
        created_at: at,
    }
    .insert(&mut app.conn())
    .unwrap();
}

async fn refusals_are_shown_and_change_nothing(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let case = open_case(&app, "激活失败");
    let (id, n) = (case.id, case.number.clone());

    // An illegal move: 409 with the reason, nothing stored.
    let r = act(&app, &n, &[("action", "archive"), ("summary", "总结")]).await;
    assert_eq!(r.status().as_u16(), 409);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("A case cannot go from “New” to “Archived”."),
        "{text}"
    );
    assert_eq!(reload(&app, id).state, "new");
    assert!(transitions(&app, id).is_empty());
    assert!(service::summaries(&mut app.conn(), id).unwrap().is_empty());

    // A missing requirement: 422 naming the field, nothing stored.
    let r = act(&app, &n, &[("action", "define"), ("definition", "  ")]).await;
    assert_eq!(r.status().as_u16(), 422);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("“Define problem” requires “problem definition”."),
        "{text}"
    );
    let c = reload(&app, id);
    assert_eq!((c.state.as_str(), c.problem_definition), ("new", None));

    // A form made for another state is refused as stale.
    let r = act(
        &app,
        &n,
        &[
            ("action", "define"),
            ("from", "scoped"),
            ("definition", "d"),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("changed since"));
    assert!(transitions(&app, id).is_empty());

    // A manager reads the case but takes no action on it; an admin may take agent actions.
    let manager = app.another_browser();
    manager.login_as(Role::Manager).await;
    let r = act(
        &manager,
        &n,
        &[("action", "define"), ("definition", "经理的定义")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(reload(&app, id).state, "new");
    assert!(transitions(&app, id).is_empty());
    let admin = app.another_browser();
    admin.login_as(Role::Admin).await;
    let r = act(&admin, &n, &[("action", "define"), ("definition", "定义")]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_event(
        &last_transition(&app, id),
        "Test admin",
        "new",
        "defined",
        Some("定义"),
    );
    act(&app, &n, &[("action", "scope"), ("scope", "范围")]).await;
    let r = act(&app, &n, &[("action", "investigate")]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(reload(&app, id).state, "investigating");
    let before = transitions(&app, id).len();

    // An engineer may not archive, assign or set the priority, and sees no agent actions.
    let eng = app.another_browser();
    eng.login_as(Role::Engineer).await;
    let r = act(&eng, &n, &[("action", "archive"), ("summary", "总结")]).await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(reload(&app, id).state, "investigating");
    assert_eq!(transitions(&app, id).len(), before);
    let r = eng
        .post_form(&format!("/cases/{n}/priority"), &[("priority", "urgent")])
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(reload(&app, id).priority, "normal");
    let (_, html) = eng.get_text(&format!("/cases/{n}")).await;
    assert!(
        html.contains("the next step is support&#39;s"),
        "a read-only status, not a fault: {html}"
    );
    assert!(!html.contains("no workflow action"));

    // Escalating to someone who is not an engineer is refused with the reason.
    let agent_id = casebook::auth::User::find_by_email(&mut app.conn(), "agent@casebook.test")
        .unwrap()
        .unwrap()
        .id;
    let target = format!("user:{agent_id}");
    let r = act(
        &app,
        &n,
        &[
            ("action", "escalate"),
            ("target", &target),
            ("reason", "r"),
            ("tried", "t"),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("active engineer"));
    assert_eq!(reload(&app, id).state, "investigating");
    assert!(
        service::escalations_of(&mut app.conn(), id)
            .unwrap()
            .is_empty()
    );

    // Agents have no engineering queue; engineers and managers do.
    assert_eq!(app.get("/queue").await.status().as_u16(), 403);
    assert_eq!(eng.get("/queue").await.status().as_u16(), 200);
    let (status, html) = manager.get_text("/queue").await;
    assert_eq!(status, 200);
    assert!(html.contains("Nothing is waiting on engineering."));
}

async fn assignment_and_priority_are_recorded_and_retarget_the_clocks(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.login_as(Role::Agent).await;
    let case = open_case(&app, "紧急：产线设备无法激活");
    let (id, n) = (case.id, case.number.clone());

    let agent_id = agent.id.to_string();
    let r = app
        .post_form(&format!("/cases/{n}/assign"), &[("assignee", &agent_id)])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(reload(&app, id).assignee_id, Some(agent.id));
    let e = events_of(&app, id, "assigned").pop().unwrap();
    assert_eq!(
        (e.actor_label.as_str(), e.note.as_deref()),
        ("Test agent", Some("Test agent"))
    );

    let before = clock(&app, id, SlaMetric::FirstResponse).remove(0);
    assert_eq!(before.target, chrono::Duration::hours(8));
    let r = app
        .post_form(&format!("/cases/{n}/priority"), &[("priority", "urgent")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(reload(&app, id).priority, "urgent");
    let e = events_of(&app, id, "priority_changed").pop().unwrap();
    assert_eq!(e.note.as_deref(), Some("normal → urgent"));
    let after = clock(&app, id, SlaMetric::FirstResponse).remove(0);
    assert_eq!(after.target, chrono::Duration::hours(1));
    assert!(after.due_at <= before.due_at);

    // Unknown values are refused with a reason.
    let r = app
        .post_form(&format!("/cases/{n}/priority"), &[("priority", "critical")])
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let r = app
        .post_form(&format!("/cases/{n}/assign"), &[("assignee", "99999")])
        .await;
    assert_eq!(r.status().as_u16(), 422);

    // Definition edits are recorded; the case list shows the next deadline.
    let r = app
        .post_form(
            &format!("/cases/{n}/text"),
            &[("field", "definition"), ("text", "产线设备离线激活失败。")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        reload(&app, id).problem_definition.as_deref(),
        Some("产线设备离线激活失败。")
    );
    assert_eq!(events_of(&app, id, "definition_changed").len(), 1);
    let (status, html) = app.get_text("/cases").await;
    assert_eq!(status, 200);
    assert!(html.contains("Next SLA deadline"));
    assert!(html.contains("sla-"), "{html}");
}

both_backends!(imported_history_is_recorded_at_its_own_times_without_sla_side_effects);

async fn imported_history_is_recorded_at_its_own_times_without_sla_side_effects(
    backend: BackendKind,
) {
    use casebook::workflow::service::ImportedEvent;
    use casebook::workflow::{CaseState, TransitionInput};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let rules = SlaRules::from_config(&app.config);
    let mut conn = app.conn();
    let t = |day: u32, hour: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, 3, day)
            .and_then(|d| d.and_hms_opt(hour, 0, 0))
            .unwrap()
    };
    let case = Case::create(
        &mut conn,
        &NewCase {
            number: None,
            title: "离线激活失败",
            state: casebook::workflow::CaseState::New,
            priority: casebook::workflow::Priority::Normal,
            customer_email: "zhang.wei@customer.test",
            customer_name: None,
            language: "zh-CN",
            duplicate_of_id: None,
            at: t(1, 1),
        },
    )
    .unwrap();
    let id = case.id;
    let steps = [
        ImportedEvent {
            action: casebook::workflow::transitions::Action::Scope,
            from: Some(CaseState::New),
            to: Some(CaseState::Scoped),
            actor_label: "王斌斌",
            note: Some("问题定义与范围（导入）"),
            at: Some(t(1, 3)),
            fields: TransitionInput {
                definition: Some("离线激活失败".into()),
                scope: Some("协助分析".into()),
                ..Default::default()
            },
        },
        ImportedEvent {
            action: casebook::workflow::transitions::Action::Escalate,
            from: Some(CaseState::Scoped),
            to: Some(CaseState::Escalated),
            actor_label: "王斌斌",
            note: Some("已升级研发"),
            at: Some(t(2, 5)),
            fields: TransitionInput {
                target: Some("engineering".into()),
                reason: Some("SN 已绑定".into()),
                tried: Some("重新激活".into()),
                ..Default::default()
            },
        },
        ImportedEvent {
            action: casebook::workflow::transitions::Action::Archive,
            from: Some(CaseState::Escalated),
            to: Some(CaseState::Archived),
            actor_label: "王斌斌",
            note: Some("暂时归档"),
            at: Some(t(4, 8)),
            fields: TransitionInput {
                findings: Some("研发已解绑".into()),
                summary: Some("案例总结：已解绑，激活成功。".into()),
                ..Default::default()
            },
        },
    ];
    for step in &steps {
        service::record_imported_event(&mut conn, id, step, &rules).unwrap();
    }
    let c = reload(&app, id);
    assert_eq!(c.state, "archived");
    assert_eq!(c.problem_definition.as_deref(), Some("离线激活失败"));
    assert_eq!(c.scope.as_deref(), Some("协助分析"));
    assert_eq!(c.closed_at, Some(t(4, 8)));
    assert_eq!(c.team, None);
    let esc = service::escalations_of(&mut conn, id).unwrap();
    assert_eq!(esc.len(), 1);
    assert_eq!(
        (esc[0].target.as_str(), esc[0].findings.as_deref()),
        ("engineering", Some("研发已解绑"))
    );
    assert_eq!(esc[0].closed_at, Some(t(4, 8)));
    let summaries = service::summaries(&mut conn, id).unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(
        (summaries[0].author_label.as_str(), summaries[0].author_id),
        ("王斌斌", None)
    );
    assert_eq!(summaries[0].created_at, t(4, 8));
    let events: Vec<_> = transitions(&app, id)
        .into_iter()
        .map(|e| (e.created_at, e.actor_label, e.to_state.unwrap_or_default()))
        .collect();
    assert_eq!(
        events,
        vec![
            (t(1, 3), "王斌斌".to_string(), "scoped".to_string()),
            (t(2, 5), "王斌斌".to_string(), "escalated".to_string()),
            (t(4, 8), "王斌斌".to_string(), "archived".to_string()),
        ]
    );
    // Each step's data is the transition payload, marked imported, with the texts it carried.
    use casebook::workflow::events::{EventData, Transition};
    let payloads: Vec<Transition> = transitions(&app, id)
        .iter()
        .map(|e| Transition::parse(e.data.as_deref()).expect("a transition payload"))
        .collect();
    assert!(payloads.iter().all(|p| p.imported));
    assert_eq!(
        (
            payloads[0].definition.as_deref(),
            payloads[0].scope.as_deref()
        ),
        (Some("离线激活失败"), Some("协助分析"))
    );
    assert_eq!(payloads[1].target.as_deref(), Some("engineering"));
    assert_eq!(payloads[1].tried.as_deref(), Some("重新激活"));
    assert_eq!(payloads[2].findings.as_deref(), Some("研发已解绑"));
    assert_eq!(payloads[2].summary_version, Some(1));
    assert!(
        service::clocks(&mut conn, id).unwrap().is_empty(),
        "no clocks"
    );
    assert!(
        service::pending_customer_mail(&mut conn, id)
            .unwrap()
            .is_empty(),
        "no mail"
    );
}

both_backends!(team_escalations_reach_the_teams_engineers_and_pages_speak_chinese);

async fn team_escalations_reach_the_teams_engineers_and_pages_speak_chinese(backend: BackendKind) {
    use diesel::prelude::*;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let eng = app.another_browser();
    eng.login_as(Role::Engineer).await;
    // An engineer of another team must not see escalations to `engineering`.
    let other = app.create_user("li@casebook.test", "Li Na", Role::Engineer);
    diesel::update(casebook::db::schema::users::table.find(other.id))
        .set(casebook::db::schema::users::team.eq("licensing"))
        .execute(&mut app.conn())
        .unwrap();
    let other_browser = app.another_browser();
    let r = other_browser
        .login("li@casebook.test", common::TEST_PASSWORD)
        .await;
    assert_eq!(r.status().as_u16(), 303);

    let case = open_case(&app, "激活失败");
    let n = case.number.clone();
    act(&app, &n, &[("action", "define"), ("definition", "定义")]).await;
    act(&app, &n, &[("action", "scope"), ("scope", "范围")]).await;
    act(&app, &n, &[("action", "investigate")]).await;
    let r = act(
        &app,
        &n,
        &[
            ("action", "escalate"),
            ("target", "team:engineering"),
            ("reason", "需要研发"),
            ("tried", "重启"),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let esc = service::escalations_of(&mut app.conn(), case.id).unwrap();
    assert_eq!(
        (esc[0].target_team.as_deref(), esc[0].target_user_id),
        (Some("engineering"), None)
    );
    let (_, html) = eng.get_text("/queue").await;
    assert!(html.contains(&n), "team engineers see team escalations");
    let (_, html) = other_browser.get_text("/queue").await;
    assert!(!html.contains(&n), "other teams do not");

    // The panel and refusals in Chinese.
    let r = app
        .post_form("/language", &[("lang", "zh-CN"), ("back", "/cases")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (status, html) = app.get_text(&format!("/cases/{n}")).await;
    assert_eq!(status, 200);
    for text in ["处理流程", "解决", "初次响应", "升级记录", "研发处理中"] {
        assert!(html.contains(text), "missing {text}");
    }
    let r = act(&app, &n, &[("action", "define"), ("definition", "d")]).await;
    assert_eq!(r.status().as_u16(), 409);
    let text = r.text().await.unwrap();
    assert!(text.contains("案例不能从“已升级”变为“已定义”。"), "{text}");
}

both_backends!(the_periodic_sweep_stores_breaches_of_overdue_clocks);

async fn the_periodic_sweep_stores_breaches_of_overdue_clocks(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let rules = SlaRules::from_config(&app.config);
    let case = Case::create(
        &mut app.conn(),
        &NewCase {
            number: None,
            title: "很久以前的案例",
            state: casebook::workflow::CaseState::New,
            priority: casebook::workflow::Priority::Urgent,
            customer_email: "old@customer.test",
            customer_name: None,
            language: "en",
            duplicate_of_id: None,
            at: casebook::db::now(),
        },
    )
    .unwrap();
    let long_ago = Utc::now() - chrono::Duration::days(30);
    service::start_clocks_for_new_case(
        &mut app.conn(),
        case.id,
        Priority::Urgent,
        long_ago,
        &rules,
    )
    .unwrap();
    let sweeper =
        service::spawn_breach_sweeper(app.pool.clone(), std::time::Duration::from_millis(50));
    let mut breached = Vec::new();
    for _ in 0..100 {
        breached = events_of(&app, case.id, "sla_breached");
        if breached.len() == 2 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    sweeper.abort();
    assert_eq!(breached.len(), 2, "first response and resolution breached");
    assert!(breached.iter().all(|e| e.actor_label == "system"));
    let notes: Vec<_> = breached.iter().filter_map(|e| e.note.clone()).collect();
    assert!(notes.contains(&"First response".to_string()), "{notes:?}");
    for c in service::clocks(&mut app.conn(), case.id).unwrap() {
        assert_eq!(c.clock.breached_at, Some(c.clock.due_at));
    }
    // The case page shows them overdue.
    app.login_as(Role::Agent).await;
    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("overdue by") && html.contains("sla-overdue"));
    let (_, html) = app.get_text("/cases").await;
    assert!(html.contains("sla-overdue"), "the list marks overdue cases");
}

both_backends!(the_case_list_filters_by_sla_running_overdue_near_breach_and_breached);

async fn the_case_list_filters_by_sla_running_overdue_near_breach_and_breached(
    backend: BackendKind,
) {
    use casebook::workflow::schema::sla_clocks;
    use diesel::prelude::*;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let now = casebook::db::now();
    let minutes = chrono::Duration::minutes;
    // (title, due_at, near_breach_at, met_at, paused_since) given to every clock of the case.
    let setups = [
        (
            "due-in-an-hour",
            now + minutes(60),
            now - minutes(30),
            None,
            None,
        ),
        // Near breach by business time although the deadline is a night and a morning away.
        (
            "near-breach-over-the-night",
            now + minutes(15 * 60),
            now - minutes(1),
            None,
            None,
        ),
        // Due in 90 wall-clock minutes but only just started (a weekend in between): not near breach.
        (
            "due-soon-by-the-wall-clock-only",
            now + minutes(90),
            now + minutes(80),
            None,
            None,
        ),
        (
            "due-in-three-days",
            now + minutes(3 * 24 * 60),
            now + minutes(2 * 24 * 60),
            None,
            None,
        ),
        (
            "overdue-unanswered",
            now - minutes(60),
            now - minutes(90),
            None,
            None,
        ),
        (
            "answered-late",
            now - minutes(120),
            now - minutes(150),
            Some(now - minutes(60)),
            None,
        ),
        (
            "waiting-on-customer",
            now + minutes(30),
            now - minutes(30),
            None,
            Some(now),
        ),
        // Paused before its deadline passed: the deadline moves out on resume, so not overdue.
        (
            "paused-past-its-due-time",
            now - minutes(30),
            now - minutes(60),
            None,
            Some(now - minutes(45)),
        ),
    ];
    let mut numbers = std::collections::HashMap::new();
    for (title, due, near, met, paused) in setups {
        let case = open_case(&app, title);
        diesel::update(sla_clocks::table.filter(sla_clocks::case_id.eq(case.id)))
            .set((
                sla_clocks::due_at.eq(due),
                sla_clocks::near_breach_at.eq(near),
                sla_clocks::met_at.eq(met),
                sla_clocks::paused_since.eq(paused),
            ))
            .execute(&mut app.conn())
            .unwrap();
        numbers.insert(title, case.number);
    }
    app.login_as(Role::Agent).await;
    for (filter, expected) in [
        (
            "running",
            &[
                "due-in-an-hour",
                "near-breach-over-the-night",
                "due-soon-by-the-wall-clock-only",
                "due-in-three-days",
                "overdue-unanswered",
            ][..],
        ),
        ("overdue", &["overdue-unanswered"][..]),
        (
            "due_soon",
            &["due-in-an-hour", "near-breach-over-the-night"][..],
        ),
        ("breached", &["overdue-unanswered", "answered-late"][..]),
    ] {
        let (status, html) = app.get_text(&format!("/cases?sla={filter}")).await;
        assert_eq!(status, 200);
        for (title, number) in &numbers {
            assert_eq!(
                html.contains(number.as_str()),
                expected.contains(title),
                "sla={filter}: {title} ({number})"
            );
        }
        assert!(
            html.contains(&format!("value=\"{filter}\" selected")),
            "the filter stays chosen"
        );
    }
}

/// A kind written by a newer version (or by hand) does not take the case page or the API down:
/// it reads as `EventKind::Unknown`, shows as "Unknown event", and cannot be written back.
async fn an_event_kind_this_version_does_not_know_shows_as_unknown_and_is_never_written(
    backend: BackendKind,
) {
    use casebook::api::tokens::{ApiToken, TokenName};
    use casebook::cases::messages::NewEvent;
    use casebook::db::schema::case_events;
    use casebook::workflow::events::EventKind;
    use diesel::prelude::*;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.login_as(Role::Agent).await;
    let case = open_case(&app, "CMGE版本激活失败问题");
    diesel::insert_into(case_events::table)
        .values((
            case_events::case_id.eq(case.id),
            case_events::actor_label.eq("Casebook 9"),
            case_events::kind.eq("escalation_reviewed"),
            case_events::note.eq("from a newer version"),
            case_events::created_at.eq(casebook::db::now()),
        ))
        .execute(&mut app.conn())
        .unwrap();

    let events = CaseEvent::for_case(&mut app.conn(), case.id).unwrap();
    assert_eq!(events.last().unwrap().kind, EventKind::Unknown);
    let (status, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert_eq!(status, 200, "the case page still opens");
    assert!(html.contains("Unknown event") && html.contains("from a newer version"));

    let token = ApiToken::create(&mut app.conn(), agent.id, &TokenName::parse("t").unwrap())
        .unwrap()
        .1;
    let r = common::new_client()
        .get(app.url(&format!("/api/v1/cases/{}", case.number)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.last(), Some(&"unknown"), "{kinds:?}");

    let refused = CaseEvent::record(
        &mut app.conn(),
        case.id,
        &NewEvent {
            actor_label: "system",
            ..Default::default()
        },
    );
    assert!(refused.is_err(), "an event without a known kind is refused");
    assert_eq!(
        CaseEvent::for_case(&mut app.conn(), case.id).unwrap().len(),
        events.len()
    );
}
