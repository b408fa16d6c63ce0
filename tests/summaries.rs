//! Case summaries (issue 11): closed cases built through the workflow services at known instants,
//! then read through the front door — the list and its filters and pages, the milestones and the
//! time between them, the CSV export, who may read them, and the manager's read-only case page.
//! On SQLite and PostgreSQL; the layout check runs in headless Chromium.

mod common;

use casebook::auth::{Role, User};
use casebook::cases::Case;
use casebook::cases::messages::Message;
use casebook::cases::model::NewCase;
use casebook::reports::summaries::milestones::MilestoneKind;
use casebook::reports::summaries::{self, SummaryFilter};
use casebook::workflow::service::{self, ActorRef, SlaRules};
use casebook::workflow::transitions::TransitionInput;
use casebook::workflow::{CaseState, Priority};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::browser::Browser;
use common::{BackendKind, TEST_PASSWORD, TestApp, spawn_app};

both_backends!(
    filters_choose_closed_cases_by_date_customer_agent_priority_state_and_escalation,
    pages_follow_each_other_without_repeating_or_skipping_a_case,
    milestones_and_the_time_between_them_come_from_the_recorded_instants,
    the_csv_export_opens_in_excel_with_chinese_quotes_and_formulas_intact,
    summaries_are_read_by_managers_agents_and_admins_only,
    a_manager_reads_any_case_summary_first_and_cannot_reply_note_or_act,
);

/// A wall-clock time in Shanghai (the default business calendar's zone) in November 2026, as
/// UTC. 2 November 2026 is a Monday.
fn sh(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn actor(user: &User) -> ActorRef {
    ActorRef::User {
        id: user.id,
        name: user.name.clone(),
        role: user.role(),
    }
}

/// Opens a case at `at` as ingest does: the row, then its first clocks.
fn open(
    app: &TestApp,
    title: &str,
    email: &str,
    name: Option<&str>,
    priority: Priority,
    at: DateTime<Utc>,
) -> Case {
    let mut conn = app.conn();
    let case = Case::create(
        &mut conn,
        &NewCase {
            number: None,
            title,
            state: CaseState::New,
            priority,
            customer_email: email,
            customer_name: name,
            language: "zh-CN",
            duplicate_of_id: None,
            at: at.naive_utc(),
        },
    )
    .unwrap();
    service::start_clocks_for_new_case(
        &mut conn,
        case.id,
        priority,
        at,
        &SlaRules::from_config(&app.config),
    )
    .unwrap();
    case
}

/// Moves the case to `to` at `at` through the workflow service.
fn step(
    app: &TestApp,
    case: &Case,
    who: &ActorRef,
    to: CaseState,
    input: TransitionInput,
    at: DateTime<Utc>,
) {
    service::apply_transition(
        &mut app.conn(),
        case.id,
        who,
        to,
        &input,
        at,
        &SlaRules::from_config(&app.config),
    )
    .unwrap_or_else(|e| panic!("{} → {to}: {e}", case.number));
}

/// A reply to the customer queued at `at`, as the outbox records it (it meets the response clocks).
fn reply(app: &TestApp, case: &Case, at: DateTime<Utc>) {
    casebook::mail::outbox::on_reply_queued(&mut app.conn(), &app.config, case.id, at.naive_utc())
        .unwrap();
}

fn text(f: impl FnOnce(&mut TransitionInput)) -> TransitionInput {
    let mut input = TransitionInput::default();
    f(&mut input);
    input
}

/// The closed and open cases every test reads.
struct Fixture {
    li_na: User,
    /// Urgent, 陈慧 at centerm.com, owned by Li Na, escalated and handed back, resolved Friday
    /// 6 November 18:00 and archived Monday 9 November with a sectioned summary.
    story: Case,
    /// Normal, bob@example.org, nobody's, never escalated, resolved Wednesday 4 November 12:00,
    /// no summary; its title is a spreadsheet formula.
    resolved: Case,
    /// Low, ops@cn.centerm.com, owned by Wang Bin, resolved, reopened and archived Thursday
    /// 12 November 11:00 with a summary without headings.
    reopened: Case,
    /// Still being worked (never listed).
    open: Case,
}

const STORY_TITLE: &str = "离线激活失败, \"Device marker\" 无效";
const STORY_SUMMARY: &str = "问题定义：\n客户的 CMGE 离线激活失败，提示 Device marker binding is Invalid。\n\n问题范围：\n协助客户分析离线激活失败的原因。\n\n问题进展：\n- 主板序列号为空（ZZ02-4471）\n结果：更换主板后重新绑定，激活成功\n\n下一步：\n问题已解决，暂时归档。如问题复现，请直接回复此邮件。\n";
const FORMULA_TITLE: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";

fn fixture(app: &TestApp) -> Fixture {
    let li_na = app.create_user("li.na@cmgos.com", "Li Na", Role::Agent);
    let wang = app.create_user("wang.bin@cmgos.com", "Wang Bin", Role::Agent);
    let engineer = app.create_user("zhang.wei@cmgos.com", "Zhang Wei", Role::Engineer);
    let agent = actor(&li_na);

    let story = open(
        app,
        STORY_TITLE,
        "chenhui@centerm.com",
        Some("陈慧"),
        Priority::Urgent,
        sh(2, 9, 0),
    );
    service::assign(
        &mut app.conn(),
        story.id,
        &agent,
        Some(li_na.id),
        sh(2, 9, 10),
    )
    .unwrap();
    reply(app, &story, sh(2, 11, 30));
    step(
        app,
        &story,
        &agent,
        CaseState::Defined,
        text(|i| i.definition = Some("离线激活失败".into())),
        sh(2, 14, 0),
    );
    step(
        app,
        &story,
        &agent,
        CaseState::Scoped,
        text(|i| i.scope = Some("分析原因".into())),
        sh(3, 10, 0),
    );
    step(
        app,
        &story,
        &agent,
        CaseState::Investigating,
        text(|_| {}),
        sh(3, 10, 5),
    );
    step(
        app,
        &story,
        &agent,
        CaseState::Escalated,
        text(|i| {
            i.target = Some("team:engineering".into());
            i.reason = Some("主板序列号为空".into());
            i.tried = Some("重新导出 wmic".into());
        }),
        sh(3, 17, 0),
    );
    step(
        app,
        &story,
        &actor(&engineer),
        CaseState::Investigating,
        text(|i| i.findings = Some("主板需更换".into())),
        sh(4, 10, 0),
    );
    step(
        app,
        &story,
        &agent,
        CaseState::Resolved,
        text(|i| i.resolution = Some("更换主板后激活成功".into())),
        sh(6, 18, 0),
    );
    step(
        app,
        &story,
        &agent,
        CaseState::Archived,
        text(|i| i.summary = Some(STORY_SUMMARY.into())),
        sh(9, 9, 30),
    );

    let resolved = open(
        app,
        FORMULA_TITLE,
        "bob@example.org",
        None,
        Priority::Normal,
        sh(3, 9, 0),
    );
    reply(app, &resolved, sh(3, 9, 20));
    step(
        app,
        &resolved,
        &agent,
        CaseState::Defined,
        text(|i| i.definition = Some("Licence lost after reinstall".into())),
        sh(3, 10, 0),
    );
    step(
        app,
        &resolved,
        &agent,
        CaseState::Scoped,
        text(|i| i.scope = Some("s".into())),
        sh(3, 10, 30),
    );
    step(
        app,
        &resolved,
        &agent,
        CaseState::Investigating,
        text(|_| {}),
        sh(3, 11, 0),
    );
    step(
        app,
        &resolved,
        &agent,
        CaseState::Resolved,
        text(|i| i.resolution = Some("Re-issued the licence".into())),
        sh(4, 12, 0),
    );

    let reopened = open(
        app,
        "产线设备无法激活",
        "ops@cn.centerm.com",
        Some("产线运维"),
        Priority::Low,
        sh(9, 9, 0),
    );
    service::assign(
        &mut app.conn(),
        reopened.id,
        &agent,
        Some(wang.id),
        sh(9, 9, 5),
    )
    .unwrap();
    step(
        app,
        &reopened,
        &agent,
        CaseState::Defined,
        text(|i| i.definition = Some("d".into())),
        sh(9, 10, 0),
    );
    step(
        app,
        &reopened,
        &agent,
        CaseState::Scoped,
        text(|i| i.scope = Some("s".into())),
        sh(9, 11, 0),
    );
    step(
        app,
        &reopened,
        &agent,
        CaseState::Investigating,
        text(|_| {}),
        sh(9, 11, 30),
    );
    step(
        app,
        &reopened,
        &agent,
        CaseState::Resolved,
        text(|i| i.resolution = Some("r".into())),
        sh(10, 10, 0),
    );
    step(
        app,
        &reopened,
        &ActorRef::System,
        CaseState::Investigating,
        text(|i| i.reason = Some("客户再次来信".into())),
        sh(10, 15, 0),
    );
    step(
        app,
        &reopened,
        &agent,
        CaseState::Archived,
        text(|i| i.summary = Some("客户确认产线设备已全部激活。".into())),
        sh(12, 11, 0),
    );

    let open_case = open(
        app,
        "还在处理的案例",
        "chenhui@centerm.com",
        Some("陈慧"),
        Priority::High,
        sh(10, 9, 0),
    );
    step(
        app,
        &open_case,
        &agent,
        CaseState::Defined,
        text(|i| i.definition = Some("仍在分析".into())),
        sh(10, 9, 30),
    );
    step(
        app,
        &open_case,
        &agent,
        CaseState::Scoped,
        text(|i| i.scope = Some("s".into())),
        sh(10, 9, 40),
    );
    step(
        app,
        &open_case,
        &agent,
        CaseState::Investigating,
        text(|_| {}),
        sh(10, 9, 50),
    );

    Fixture {
        li_na,
        story,
        resolved,
        reopened,
        open: open_case,
    }
}

/// The case numbers a summaries page lists, in order.
fn listed(html: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"<p class="mono case-number"><a href="/cases/([^"]+)">"#).unwrap();
    re.captures_iter(html).map(|c| c[1].to_string()).collect()
}

async fn summaries_page(app: &TestApp, query: &str) -> Vec<String> {
    let (status, html) = app.get_text(&format!("/summaries?{query}")).await;
    assert_eq!(status, 200, "{query}: {html}");
    listed(&html)
}

async fn filters_choose_closed_cases_by_date_customer_agent_priority_state_and_escalation(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = fixture(&app);
    app.login_as(Role::Manager).await;
    let (story, resolved, reopened) = (
        f.story.number.clone(),
        f.resolved.number.clone(),
        f.reopened.number.clone(),
    );
    let li_na = f.li_na.id.to_string();
    let cases: Vec<(String, Vec<&String>)> = vec![
        // Newest closure first; the open case is never listed.
        (String::new(), vec![&reopened, &story, &resolved]),
        // Days are Shanghai days: the story was closed (resolved) on Friday 6 November at 18:00
        // there, which is 10:00 UTC; the resolved case on Wednesday 4 November.
        ("from=2026-11-06&to=2026-11-06".into(), vec![&story]),
        ("to=2026-11-05".into(), vec![&resolved]),
        ("from=2026-11-07".into(), vec![&reopened]),
        ("from=2026-11-13".into(), vec![]),
        // A domain takes its subdomains; a name or part of an address is text.
        ("customer=centerm.com".into(), vec![&reopened, &story]),
        ("customer=%40CN.centerm.com".into(), vec![&reopened]),
        ("customer=%E9%99%88%E6%85%A7".into(), vec![&story]),
        ("customer=bob%40".into(), vec![&resolved]),
        (format!("agent={li_na}"), vec![&story]),
        ("agent=none".into(), vec![&resolved]),
        ("priority=urgent".into(), vec![&story]),
        ("priority=high".into(), vec![]),
        ("state=resolved".into(), vec![&resolved]),
        ("state=archived".into(), vec![&reopened, &story]),
        ("escalated=yes".into(), vec![&story]),
        ("escalated=no".into(), vec![&reopened, &resolved]),
        ("customer=centerm.com&escalated=no".into(), vec![&reopened]),
    ];
    for (query, expected) in cases {
        let got = summaries_page(&app, &query).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(got, expected, "?{query}");
    }
    assert!(!summaries_page(&app, "").await.contains(&f.open.number));

    // What cannot be read is refused, naming the field.
    for query in [
        "from=yesterday",
        "state=investigating",
        "escalated=maybe",
        "agent=li",
    ] {
        let (status, html) = app.get_text(&format!("/summaries?{query}")).await;
        assert_eq!(status, 400, "{query}");
        let field = query.split('=').next().unwrap();
        assert!(html.contains(field), "{query}: {html}");
    }
    let (_, html) = app.get_text("/summaries?priority=low&state=resolved").await;
    assert!(html.contains("No resolved or archived case matches these filters."));

    // The printable view: the same filters, no form or pager, a way back to the list.
    let (status, html) = app
        .get_text("/summaries?customer=centerm.com&print=1")
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed(&html), vec![reopened.clone(), story.clone()]);
    assert!(html.contains("print-view"));
    assert!(
        !html.contains(r#"class="list-filters"#),
        "no filter form to print"
    );
    assert!(!html.contains(r#"class="pager""#));
    assert!(html.contains("Ctrl+P"));
    let (_, html) = app.get_text("/summaries?customer=centerm.com").await;
    assert!(html.contains(r#"href="/summaries.csv?customer=centerm.com""#));
    assert!(html.contains(r#"href="/summaries?customer=centerm.com&#38;print=1""#));
}

/// The "Older" link of a summaries page, unescaped.
fn next_link(html: &str) -> Option<String> {
    let re = regex::Regex::new(r#"<a href="(/summaries\?[^"]*)" rel="next">"#).unwrap();
    re.captures(html)
        .map(|c| c[1].replace("&#38;", "&").replace("&amp;", "&"))
}

async fn pages_follow_each_other_without_repeating_or_skipping_a_case(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = fixture(&app);
    // Two more cases closed at the very same instant as the story: the key breaks the tie.
    let agent = actor(&f.li_na);
    let mut twins = Vec::new();
    for title in ["孪生一", "孪生二"] {
        let c = open(
            &app,
            title,
            "twin@centerm.com",
            None,
            Priority::Normal,
            sh(5, 9, 0),
        );
        step(
            &app,
            &c,
            &agent,
            CaseState::Defined,
            text(|i| i.definition = Some("d".into())),
            sh(5, 9, 1),
        );
        step(
            &app,
            &c,
            &agent,
            CaseState::Resolved,
            text(|i| i.resolution = Some("r".into())),
            sh(6, 18, 0),
        );
        twins.push(c.number);
    }
    app.login_as(Role::Agent).await;
    let everything = summaries_page(&app, "").await;
    assert_eq!(everything.len(), 5);

    let mut seen = Vec::new();
    let mut path = "/summaries?per_page=2&customer=".to_string();
    for _ in 0..10 {
        let (status, html) = app.get_text(&path).await;
        assert_eq!(status, 200, "{path}");
        let page = listed(&html);
        assert!(page.len() <= 2, "{path}: {page:?}");
        seen.extend(page);
        match next_link(&html) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(
        seen, everything,
        "the pages, one after the other, are the whole list"
    );
    for twin in &twins {
        assert!(seen.contains(twin));
    }
    let (status, _) = app.get_text("/summaries?after=not-a-key").await;
    assert_eq!(status, 400);
    let (status, _) = app.get_text("/summaries?per_page=1000").await;
    assert_eq!(status, 400);
}

async fn milestones_and_the_time_between_them_come_from_the_recorded_instants(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = fixture(&app);
    let calendar = &app.config.business_hours;
    let page = summaries::list(
        &mut app.conn(),
        &SummaryFilter::default(),
        None,
        25,
        calendar,
    )
    .unwrap();
    let row = |number: &str| {
        page.rows
            .iter()
            .find(|r| r.case.number == number)
            .unwrap_or_else(|| panic!("{number} listed"))
    };
    let (h, m) = (Duration::hours, Duration::minutes);

    // The story: every kind of milestone but a reopen, with the clock and the business time
    // (Monday to Friday, 09:00–18:00 in Shanghai) between each and the one before.
    let story = row(&f.story.number);
    let got: Vec<_> = story
        .timeline
        .milestones
        .iter()
        .map(|x| (x.kind, x.at, x.since_previous, x.business_since_previous))
        .collect();
    assert_eq!(
        got,
        vec![
            (MilestoneKind::Created, sh(2, 9, 0), None, None),
            (
                MilestoneKind::FirstResponse,
                sh(2, 11, 30),
                Some(h(2) + m(30)),
                Some(h(2) + m(30))
            ),
            (
                MilestoneKind::Defined,
                sh(2, 14, 0),
                Some(h(2) + m(30)),
                Some(h(2) + m(30))
            ),
            (MilestoneKind::Scoped, sh(3, 10, 0), Some(h(20)), Some(h(5))),
            (
                MilestoneKind::Escalated,
                sh(3, 17, 0),
                Some(h(7)),
                Some(h(7))
            ),
            (
                MilestoneKind::HandedBack,
                sh(4, 10, 0),
                Some(h(17)),
                Some(h(2))
            ),
            (
                MilestoneKind::Resolved,
                sh(6, 18, 0),
                Some(h(56)),
                Some(h(26))
            ),
            (
                MilestoneKind::Archived,
                sh(9, 9, 30),
                Some(h(63) + m(30)),
                Some(m(30))
            ),
        ]
    );
    assert_eq!(
        story.timeline.business_to_first_response(calendar),
        Some(h(2) + m(30))
    );
    assert_eq!(story.timeline.business_to_resolution(calendar), Some(h(45)));
    assert!(story.escalated);
    assert_eq!(story.agent.as_deref(), Some("Li Na"));
    assert_eq!(story.summary.as_ref().map(|s| s.version), Some(1));
    assert_eq!(
        story.sections.definition.as_deref(),
        Some("客户的 CMGE 离线激活失败，提示 Device marker binding is Invalid。")
    );

    // Resolved, reopened by the customer's mail and archived: no reply, so no first response.
    let reopened = row(&f.reopened.number);
    let kinds: Vec<MilestoneKind> = reopened
        .timeline
        .milestones
        .iter()
        .map(|x| x.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![
            MilestoneKind::Created,
            MilestoneKind::Defined,
            MilestoneKind::Scoped,
            MilestoneKind::Resolved,
            MilestoneKind::Reopened,
            MilestoneKind::Archived,
        ]
    );
    let reopen = &reopened.timeline.milestones[4];
    assert_eq!(
        (reopen.since_previous, reopen.business_since_previous),
        (Some(h(5)), Some(h(5)))
    );
    // Tuesday 15:00 to Thursday 11:00: 44 hours, of which 3 + 9 + 2 are working hours.
    let archive = &reopened.timeline.milestones[5];
    assert_eq!(
        (archive.since_previous, archive.business_since_previous),
        (Some(h(44)), Some(h(14)))
    );
    assert_eq!(reopened.timeline.business_to_first_response(calendar), None);
    assert!(!reopened.escalated);
    assert_eq!(
        reopened.sections.other.as_deref(),
        Some("客户确认产线设备已全部激活。")
    );

    // The page says the same in words, in the reader's language.
    app.login_as(Role::Manager).await;
    let (_, html) = app.get_text("/summaries").await;
    for phrase in [
        "First response",
        "Handed back",
        "+2d 8h · 26h business",
        "+20h · 5h business",
        "<time>2026-11-06 18:00</time>",
        "Times are in Asia/Shanghai.",
        "客户的 CMGE 离线激活失败",
        "更换主板后重新绑定，激活成功",
        "问题已解决，暂时归档。",
        "Reopened",
    ] {
        assert!(html.contains(phrase), "{phrase:?} on the page");
    }
    let r = app
        .client
        .get(app.url("/summaries"))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    for phrase in [
        "研发交回",
        "+2天8小时 · 工作时间 26小时",
        "首次响应用时（工作时间）",
        "45小时",
    ] {
        assert!(html.contains(phrase), "{phrase:?} on the Chinese page");
    }
}

/// Reads CSV as RFC 4180 writes it (quoted fields, doubled quotes, CRLF between records).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the file ends with a line break"
    );
    records
}

async fn the_csv_export_opens_in_excel_with_chinese_quotes_and_formulas_intact(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = fixture(&app);
    app.login_as(Role::Manager).await;

    let r = app.get("/summaries.csv?customer=&escalated=").await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(".csv"),
        "{disposition}"
    );
    assert!(
        r.headers()
            .get(summaries::routes::TRUNCATED_HEADER)
            .is_none()
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(
        &bytes[..3],
        &[0xef, 0xbb, 0xbf],
        "UTF-8 byte-order mark first"
    );
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    let records = parse_csv(text);
    let header = &records[0];
    assert_eq!(header[0], "Case");
    assert_eq!(records.len(), 4, "a header and the three closed cases");
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name:?} in {header:?}"))
    };
    let record = |number: &str| {
        records
            .iter()
            .find(|r| r[0] == number)
            .unwrap_or_else(|| panic!("{number} exported"))
    };

    // Text with commas, quotes, line breaks and Chinese comes back exactly.
    let story = record(&f.story.number);
    assert_eq!(story[column("Title")], STORY_TITLE);
    assert_eq!(story[column("Customer")], "陈慧");
    assert_eq!(story[column("Customer email")], "chenhui@centerm.com");
    assert_eq!(story[column("Agent")], "Li Na");
    assert_eq!(story[column("Escalated")], "yes");
    assert_eq!(story[column("Created (Asia/Shanghai)")], "2026-11-02 09:00");
    assert_eq!(
        story[column("First response (Asia/Shanghai)")],
        "2026-11-02 11:30"
    );
    assert_eq!(story[column("First response (business hours)")], "2.50");
    assert_eq!(story[column("Time to resolve (business hours)")], "45.00");
    assert_eq!(
        story[column("Problem definition")],
        "客户的 CMGE 离线激活失败，提示 Device marker binding is Invalid。"
    );
    // A text starting with "-" (a bulleted list) would be read as a formula: it keeps an
    // apostrophe, which spreadsheets hide.
    assert_eq!(
        story[column("Progress and resolution")],
        "'- 主板序列号为空（ZZ02-4471）\n结果：更换主板后重新绑定，激活成功"
    );
    let milestones = &story[column("Milestones")];
    assert!(
        milestones.contains("Resolved 2026-11-06 18:00 (+2d 8h; 26h business)"),
        "{milestones}"
    );
    assert_eq!(milestones.lines().count(), 8);

    // A title that is a formula stays text.
    let resolved = record(&f.resolved.number);
    assert_eq!(resolved[column("Title")], format!("'{FORMULA_TITLE}"));
    assert_eq!(resolved[column("Escalated")], "no");
    assert_eq!(resolved[column("Summary version")], "");
    assert_eq!(record(&f.reopened.number)[column("Times reopened")], "1");

    // In Chinese, with the filters of the page.
    let r = app
        .client
        .get(app.url("/summaries.csv?escalated=yes"))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap();
    let bytes = r.bytes().await.unwrap();
    let records = parse_csv(std::str::from_utf8(&bytes[3..]).unwrap());
    assert_eq!(records.len(), 2);
    assert_eq!(records[0][0], "案例号");
    assert_eq!(records[1][0], f.story.number);
    assert!(records[1].contains(&"已归档".to_string()));

    // An export that reaches its cap says so in its last line.
    let calendar = &app.config.business_hours;
    let (rows, more) =
        summaries::export(&mut app.conn(), &SummaryFilter::default(), 2, calendar).unwrap();
    assert_eq!((rows.len(), more), (2, true));
    let capped = summaries::views::csv_export(
        &rows,
        Some(2),
        casebook::i18n::Lang::En,
        calendar,
        calendar.timezone(),
    );
    let records = parse_csv(&capped[3..]);
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[3],
        vec![
            "The export stopped at 2 cases; narrow the filters (for example the dates) to export the rest."
        ]
    );
    let (rows, more) =
        summaries::export(&mut app.conn(), &SummaryFilter::default(), 3, calendar).unwrap();
    assert_eq!((rows.len(), more), (3, false));
}

async fn summaries_are_read_by_managers_agents_and_admins_only(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = fixture(&app);
    let anonymous = app.another_browser();
    for path in ["/summaries", "/summaries.csv"] {
        let r = anonymous.get(path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login")
        );
    }
    for role in [Role::Admin, Role::Manager, Role::Agent, Role::Engineer] {
        let browser = app.another_browser();
        browser.login_as(role).await;
        let (status, html) = browser.get_text("/summaries").await;
        let csv = browser.get("/summaries.csv").await.status().as_u16();
        let (_, cases) = browser.get_text("/cases").await;
        let nav = cases.contains(r#"<a href="/summaries">Summaries</a>"#);
        if role == Role::Engineer {
            assert_eq!((status, csv), (403, 403), "{role}");
            assert!(!nav, "{role} has no Summaries link");
        } else {
            assert_eq!((status, csv), (200, 200), "{role}");
            assert!(html.contains(&f.story.number), "{role}");
            assert!(nav, "{role} has the Summaries link");
        }
    }
}

async fn a_manager_reads_any_case_summary_first_and_cannot_reply_note_or_act(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = fixture(&app);
    let manager = app.another_browser();
    let boss = manager.login_as(Role::Manager).await;

    // The archived story: the summary and milestones come before the thread and the workflow.
    let (status, html) = manager
        .get_text(&format!("/cases/{}", f.story.number))
        .await;
    assert_eq!(status, 200);
    let review = html
        .find(r#"class="card case-review""#)
        .expect("the summary block");
    let workflow = html.find(r#"id="workflow""#).expect("the workflow panel");
    let thread = html.find(r#"id="thread""#).expect("the thread");
    assert!(
        review < workflow && review < thread,
        "the summary comes first"
    );
    assert!(html.contains("+2d 8h · 26h business"));
    assert!(html.contains("更换主板后重新绑定，激活成功"));

    // An open case: no summary yet, still no form to change anything.
    let n = &f.open.number;
    let (status, html) = manager.get_text(&format!("/cases/{n}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"class="card case-review""#));
    assert!(html.contains("No summary written yet"));
    assert!(
        html.contains("仍在分析"),
        "the recorded definition stands in"
    );
    for action in [
        "reply",
        "note",
        "transition",
        "assign",
        "priority",
        "summary",
        "text",
        "merge",
        "upload-links",
        "diagnostics",
    ] {
        assert!(
            !html.contains(&format!(r#"action="/cases/{n}/{action}"#)),
            "no {action} form for a manager"
        );
    }
    assert!(!html.contains("<textarea"), "nothing to write into");

    // An agent's page of the same case has the forms and no summary block.
    let agent = app.another_browser();
    agent.login_as(Role::Agent).await;
    let (_, html) = agent.get_text(&format!("/cases/{n}")).await;
    assert!(html.contains(&format!(r#"action="/cases/{n}/reply"#)));
    assert!(html.contains(&format!(r#"action="/cases/{n}/note""#)));
    assert!(!html.contains(r#"class="card case-review""#));

    // The doors refuse a manager whatever the page shows, and nothing is written.
    let before = Message::for_case(&mut app.conn(), f.open.id).unwrap().len();
    let r = manager
        .post_reply(n, &[("body", "经理不应回复客户。")], &[])
        .await;
    assert_eq!(r.status().as_u16(), 403);
    for (path, fields) in [
        ("note", vec![("body", "经理的备注")]),
        (
            "transition",
            vec![("action", "resolve"), ("resolution", "r")],
        ),
        ("assign", vec![("assignee", "")]),
        ("priority", vec![("priority", "urgent")]),
        ("merge", vec![("into", f.story.number.as_str())]),
    ] {
        let r = manager
            .post_form(&format!("/cases/{n}/{path}"), &fields)
            .await;
        assert_eq!(r.status().as_u16(), 403, "POST {path}");
    }
    let token = casebook::api::tokens::ApiToken::create(
        &mut app.conn(),
        boss.id,
        &casebook::api::tokens::TokenName::parse("m").unwrap(),
    )
    .unwrap()
    .1;
    let r = common::new_client()
        .post(app.url(&format!("/api/v1/cases/{n}/replies")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"body": "经理不应回复客户。"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        Message::for_case(&mut app.conn(), f.open.id).unwrap().len(),
        before
    );
    let reloaded = Case::find_by_id(&mut app.conn(), f.open.id)
        .unwrap()
        .unwrap();
    assert_eq!(reloaded.state, CaseState::Investigating);
    assert_eq!(reloaded.priority, Priority::High);
}

/// The summaries page fits a laptop and a phone: nothing scrolls sideways, and the milestones
/// and sections stay inside the page, long unbroken words included.
#[actix_web::test]
async fn the_summaries_page_fits_a_laptop_and_a_phone_in_chromium() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let f = fixture(&app);
    // A summary with a long unbroken serial and address, as customers paste them.
    let long = format!(
        "问题定义：\nSN {} 已被另一计算机使用\n\n下一步：\n联系 {}@centerm.com",
        "ZZ02".repeat(40),
        "operations.department.shenzhen".repeat(3)
    );
    service::write_summary(
        &mut app.conn(),
        f.story.id,
        &actor(&f.li_na),
        &long,
        sh(9, 10, 0),
    )
    .unwrap();
    app.create_user("boss@casebook.test", "Boss", Role::Manager);
    browser.goto(&app.url("/login")).await;
    browser
        .type_into("input[name=email]", "boss@casebook.test")
        .await;
    browser
        .type_into("input[name=password]", TEST_PASSWORD)
        .await;
    browser.click("button[type=submit].primary").await;
    browser.wait_for_text("/summaries").await;

    const MEASURE: &str = "
        const doc = document.documentElement;
        const right = (sel) => Math.max(0, ...[...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect().right));
        return {
            sideways: doc.scrollWidth - doc.clientWidth,
            width: doc.clientWidth,
            milestones: document.querySelectorAll('.milestone').length,
            milestone_right: right('.milestone'),
            sections_right: right('.summary-sections pre'),
            nav_right: right('.mainnav a'),
        };";
    let num = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k}: {v}"));
    for (width, height) in [(1366, 900), (390, 844)] {
        browser.set_window_size(width, height).await;
        browser.goto(&app.url("/summaries")).await;
        browser.wait_for_text(&f.story.number).await;
        let m = browser.execute(MEASURE).await;
        assert!(
            num(&m, "sideways") <= 0.0,
            "nothing scrolls sideways at {width}px: {m}"
        );
        assert!(
            num(&m, "milestones") >= 19.0,
            "the milestones are shown: {m}"
        );
        for part in ["milestone_right", "sections_right", "nav_right"] {
            assert!(
                num(&m, part) <= num(&m, "width") + 0.5,
                "{part} inside the page at {width}px: {m}"
            );
        }
        let shot = browser.screenshot().await;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("summaries-{width}.png")), shot).unwrap();
    }
}
