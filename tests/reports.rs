//! The managers' dashboard: its figures on a hand-built fortnight of cases whose timings are known
//! (business hours, a weekend, a pause waiting on the customer, breaches, an escalation, a reopen,
//! customers chasing), every figure's link leading to exactly the cases it counts, who may see it,
//! and the page in Chromium. On SQLite and PostgreSQL.
//!
//! The calendar is the default one: Asia/Shanghai, Monday to Friday 09:00–18:00. Priorities normal
//! (first response 8h, next response 8h, resolution 45h of business time) and high (4h, 4h, 27h).

mod common;

use casebook::auth::{Role, User};
use casebook::cases::Case;
use casebook::cases::messages::{INBOUND, NewMessage};
use casebook::cases::model::NewCase;
use casebook::db::DbConn;
use casebook::reports::dashboard::{Dashboard, ReportParams, ReportRequest, summary};
use casebook::workflow::service::{self, ActorRef, SlaRules};
use casebook::workflow::transitions::TransitionInput;
use casebook::workflow::{CaseState, Priority};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use common::{BackendKind, TEST_PASSWORD, TestApp, spawn_app};

both_backends!(
    the_dashboard_counts_a_hand_built_fortnight_as_worked_out_by_hand,
    an_owner_or_a_customer_domain_narrows_every_figure,
    every_figure_links_to_the_case_list_that_produced_it,
    only_managers_and_admins_see_reports,
    a_bad_period_or_filter_is_refused_with_the_reason,
    met_clocks_stored_before_the_column_existed_get_their_business_time,
);

/// A Shanghai wall-clock time.
fn sh(text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

const HOUR: i64 = 3600;

/// The instant the fixed-time figures are judged at: Monday 2026-10-05 12:00.
fn now() -> DateTime<Utc> {
    sh("2026-10-05 12:00")
}

struct Fortnight {
    wang: User,
    li: User,
    numbers: Vec<String>,
}

struct Builder<'a> {
    conn: &'a mut DbConn,
    rules: SlaRules<'a>,
    wang: ActorRef,
}

impl Builder<'_> {
    fn open(
        &mut self,
        title: &str,
        customer: &str,
        priority: Priority,
        at: &str,
        owner: Option<i64>,
    ) -> Case {
        let at = sh(at);
        let case = Case::create(
            self.conn,
            &NewCase {
                number: None,
                title,
                state: CaseState::New,
                priority,
                customer_email: customer,
                customer_name: None,
                language: "en",
                duplicate_of_id: None,
                at: at.naive_utc(),
            },
        )
        .unwrap();
        self.message(
            &case,
            "Activation fails with 0xC004F074 on every terminal.",
            at,
        );
        assert!(
            service::start_clocks_for_new_case(self.conn, case.id, priority, at, &self.rules)
                .unwrap()
        );
        if owner.is_some() {
            service::assign(self.conn, case.id, &self.wang, owner, at).unwrap();
        }
        case
    }

    /// A customer message stored as ingest stores it (the new text already without quotes).
    fn message(&mut self, case: &Case, text: &str, at: DateTime<Utc>) {
        NewMessage {
            case_id: case.id,
            direction: INBOUND.into(),
            message_id: None,
            in_reply_to: None,
            references_ids: String::new(),
            from_email: case.customer_email.clone(),
            from_name: None,
            to_addrs: "support@example.net".into(),
            cc_addrs: String::new(),
            subject: case.title.clone(),
            sent_at: Some(at.naive_utc()),
            received_at: at.naive_utc(),
            body_text: text.into(),
            new_text: text.into(),
            body_html: None,
            auto: false,
            thread_method: "test".into(),
            raw_sha256: None,
            content_hash: format!("{}-{}", case.id, at.timestamp()),
            author_id: None,
            created_at: at.naive_utc(),
        }
        .insert(self.conn)
        .unwrap();
    }

    /// The customer writes again (ingest's call): waiting → investigating, resolved → reopened.
    fn customer(&mut self, case: &Case, text: &str, at: &str) {
        let at = sh(at);
        self.message(case, text, at);
        service::customer_wrote(self.conn, case.id, at, &self.rules).unwrap();
    }

    fn reply(&mut self, case: &Case, at: &str) {
        service::reply_sent(self.conn, case.id, sh(at), &self.rules).unwrap();
    }

    fn to(&mut self, case: &Case, state: CaseState, at: &str) {
        let input = TransitionInput {
            definition: Some("Activation fails on terminals".into()),
            scope: Some("The CMGE terminals of one site".into()),
            target: Some("engineering".into()),
            reason: Some("Looks like a licensing server fault".into()),
            tried: Some("Rearmed, re-entered the key".into()),
            findings: Some("The KMS host record was stale".into()),
            resolution: Some("Fixed the DNS SRV record".into()),
            question: Some("Which build do the terminals run?".into()),
            summary: Some("Stale KMS record".into()),
            ..Default::default()
        };
        service::apply_transition(
            self.conn,
            case.id,
            &self.wang,
            state,
            &input,
            sh(at),
            &self.rules,
        )
        .unwrap_or_else(|e| panic!("{} → {state}: {e}", case.number));
    }

    /// new → defined → scoped → investigating at `at`.
    fn investigate(&mut self, case: &Case, at: &str) {
        for state in [
            CaseState::Defined,
            CaseState::Scoped,
            CaseState::Investigating,
        ] {
            self.to(case, state, at);
        }
    }
}

/// Seven cases around the fortnight of Monday 2026-09-14 to Sunday 09-27 (times in Shanghai):
///
/// | case | owner | customer | opened | what happens |
/// |---|---|---|---|---|
/// | C1 | Wang | centerm.com | Mon 09-14 10:00 | reply 12:00 (2h); resolved Tue 10:00 (9h); "有新进展吗？" at 15:00 after the reply (not a chaser) |
/// | C2 | Wang | centerm.com | Fri 09-18 17:00 | "有新进展吗？" Mon 09:30 (chaser); reply Mon 10:00 (2h over the weekend); asks the customer Mon 11:00, answer Tue 11:00 (9h paused); reply Tue 14:00 (next response 3h); resolved Tue 15:00 (7h) |
/// | C3 | Li | example.org, high | Tue 09-15 09:00 | "Any update?" 16:00 (chaser) and a longer message 17:00 (not); reply Wed 09:00 (9h > 4h: breached); escalated Wed 10:00, handed back Thu 16:00 (30h); resolved Fri 10:00 (28h > 27h: breached); the customer writes Mon 09-21 10:00: reopened, next response breached Mon 14:00 |
/// | C4 | nobody | centerm.com | Wed 09-23 09:00 | never answered: first response breached Wed 17:00; "您好，请问有进展吗？谢谢" Thu 10:00 (chaser); resolution due Tue 09-29, after the fortnight |
/// | C5 | Wang | centerm.com | Thu 09-10 10:00 | reply 11:00 and escalated Fri 09-11 10:00, before the fortnight; handed back Mon 09-14 10:00 (72h); resolution overdue since Thu 09-17 10:00 |
/// | C6 | Li | example.org | Thu 09-17 10:00 | reply 11:00 (1h); escalated 14:00 and still there; resolution overdue since Thu 09-24 10:00 |
/// | C7 | nobody | other.org | Fri 10-02 14:30 | first response near breach at `now` (6.5h of 8h), due 13:30 |
fn build(app: &TestApp) -> Fortnight {
    let wang = app.create_user("wang@casebook.test", "Wang Binbin", Role::Agent);
    let li = app.create_user("li@casebook.test", "Li Na", Role::Agent);
    let mut conn = app.conn();
    let mut b = Builder {
        conn: &mut conn,
        rules: SlaRules::from_config(&app.config),
        wang: ActorRef::User {
            id: wang.id,
            name: wang.name.clone(),
            role: Role::Agent,
        },
    };
    let mut numbers = Vec::new();

    let c1 = b.open(
        "C1",
        "chen@centerm.com",
        Priority::Normal,
        "2026-09-14 10:00",
        Some(wang.id),
    );
    b.reply(&c1, "2026-09-14 12:00");
    b.investigate(&c1, "2026-09-14 12:00");
    b.customer(&c1, "有新进展吗？", "2026-09-14 15:00");
    b.to(&c1, CaseState::Resolved, "2026-09-15 10:00");
    numbers.push(c1.number.clone());

    let c2 = b.open(
        "C2",
        "zhou@centerm.com",
        Priority::Normal,
        "2026-09-18 17:00",
        Some(wang.id),
    );
    b.customer(&c2, "有新进展吗？", "2026-09-21 09:30");
    b.reply(&c2, "2026-09-21 10:00");
    b.investigate(&c2, "2026-09-21 10:00");
    b.to(&c2, CaseState::WaitingOnCustomer, "2026-09-21 11:00");
    b.customer(
        &c2,
        "The terminals run build 2203; the logs are attached.",
        "2026-09-22 11:00",
    );
    b.reply(&c2, "2026-09-22 14:00");
    b.to(&c2, CaseState::Resolved, "2026-09-22 15:00");
    numbers.push(c2.number.clone());

    let c3 = b.open(
        "C3",
        "kim@example.org",
        Priority::High,
        "2026-09-15 09:00",
        Some(li.id),
    );
    b.customer(&c3, "Any update?", "2026-09-15 16:00");
    b.customer(
        &c3,
        "Any update? The second laptop fails with the same error now.",
        "2026-09-15 17:00",
    );
    b.reply(&c3, "2026-09-16 09:00");
    b.investigate(&c3, "2026-09-16 09:00");
    b.to(&c3, CaseState::Escalated, "2026-09-16 10:00");
    b.to(&c3, CaseState::Investigating, "2026-09-17 16:00");
    b.to(&c3, CaseState::Resolved, "2026-09-18 10:00");
    b.customer(
        &c3,
        "It fails again after the update, error 0x8007232B.",
        "2026-09-21 10:00",
    );
    numbers.push(c3.number.clone());

    let c4 = b.open(
        "C4",
        "wu@centerm.com",
        Priority::Normal,
        "2026-09-23 09:00",
        None,
    );
    b.customer(&c4, "您好，请问有进展吗？谢谢", "2026-09-24 10:00");
    numbers.push(c4.number.clone());

    let c5 = b.open(
        "C5",
        "sun@centerm.com",
        Priority::Normal,
        "2026-09-10 10:00",
        Some(wang.id),
    );
    b.reply(&c5, "2026-09-10 11:00");
    b.investigate(&c5, "2026-09-10 11:00");
    b.to(&c5, CaseState::Escalated, "2026-09-11 10:00");
    b.to(&c5, CaseState::Investigating, "2026-09-14 10:00");
    numbers.push(c5.number.clone());

    let c6 = b.open(
        "C6",
        "park@example.org",
        Priority::Normal,
        "2026-09-17 10:00",
        Some(li.id),
    );
    b.reply(&c6, "2026-09-17 11:00");
    b.investigate(&c6, "2026-09-17 11:00");
    b.to(&c6, CaseState::Escalated, "2026-09-17 14:00");
    numbers.push(c6.number.clone());

    let c7 = b.open(
        "C7",
        "ito@other.org",
        Priority::Normal,
        "2026-10-02 14:30",
        None,
    );
    numbers.push(c7.number.clone());

    Fortnight { wang, li, numbers }
}

fn fortnight(scope: &[(&str, &str)]) -> ReportRequest {
    let mut params = ReportParams {
        from: "2026-09-14".into(),
        to: "2026-09-27".into(),
        ..Default::default()
    };
    for (k, v) in scope {
        match *k {
            "agent" => params.agent = v.to_string(),
            "domain" => params.domain = v.to_string(),
            "priority" => params.priority = v.to_string(),
            _ => unreachable!(),
        }
    }
    ReportRequest::parse(
        &params,
        NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
        chrono_tz::Asia::Shanghai,
    )
    .unwrap()
}

fn figures(app: &TestApp, request: &ReportRequest) -> Dashboard {
    summary(
        &mut app.conn(),
        request,
        now(),
        app.config.business_hours.timezone(),
    )
    .unwrap()
}

async fn the_dashboard_counts_a_hand_built_fortnight_as_worked_out_by_hand(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = build(&app);
    let d = figures(&app, &fortnight(&[]));

    // Backlog now: C4, C7 new; C3 (reopened), C5 investigating; C6 escalated.
    let by_state: Vec<(&str, i64)> = d
        .backlog
        .by_state
        .iter()
        .map(|s| (s.state.as_str(), s.cases.value))
        .collect();
    assert_eq!(
        by_state,
        vec![
            ("new", 2),
            ("defined", 0),
            ("scoped", 0),
            ("investigating", 2),
            ("waiting_on_customer", 0),
            ("escalated", 1)
        ]
    );
    assert_eq!(d.backlog.total.value, 5);
    // Ages at Monday 10-05 noon: C7 is 2.9 days old; C3, C4, C5, C6 between 12 and 25 days.
    let by_age: Vec<i64> = d.backlog.by_age.iter().map(|a| a.cases.value).collect();
    assert_eq!(by_age, vec![0, 1, 0, 4, 0]);

    // Opened C1, C3, C6, C2, C4; closed C1, C3, C2 (C5 opened before the fortnight).
    assert_eq!((d.flow.opened.value, d.flow.closed.value), (5, 3));
    assert_eq!(d.flow.bucket, "day");
    assert_eq!(d.flow.series.len(), 14);
    let days = |pick: fn(&casebook::reports::dashboard::FlowBucket) -> i64| {
        d.flow
            .series
            .iter()
            .filter(|b| pick(b) > 0)
            .map(|b| (b.from.clone(), pick(b)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        days(|b| b.opened.value),
        vec![
            ("2026-09-14".into(), 1),
            ("2026-09-15".into(), 1),
            ("2026-09-17".into(), 1),
            ("2026-09-18".into(), 1),
            ("2026-09-23".into(), 1)
        ]
    );
    assert_eq!(
        days(|b| b.closed.value),
        vec![
            ("2026-09-15".into(), 1),
            ("2026-09-18".into(), 1),
            ("2026-09-22".into(), 1)
        ]
    );

    // First response, business time: C6 1h, C1 2h, C2 2h (Friday 17–18 and Monday 9–10), C3 9h.
    // Nearest rank of four: the median is the 2nd (2h), the 90th percentile the 4th (9h).
    let fr = &d.times.first_response;
    assert_eq!(d.times.unit, "business_seconds");
    assert_eq!(
        (
            fr.overall.count,
            fr.overall.median_seconds,
            fr.overall.p90_seconds
        ),
        (4, Some(2 * HOUR), Some(9 * HOUR))
    );
    type Row = (Option<String>, i64, Option<i64>, Option<i64>);
    let agents: Vec<Row> = fr
        .by_agent
        .iter()
        .map(|a| {
            (
                a.agent.clone(),
                a.times.count,
                a.times.median_seconds,
                a.times.p90_seconds,
            )
        })
        .collect();
    assert_eq!(
        agents,
        vec![
            (
                Some("Wang Binbin".into()),
                2,
                Some(2 * HOUR),
                Some(2 * HOUR)
            ),
            (Some("Li Na".into()), 2, Some(HOUR), Some(9 * HOUR)),
        ]
    );
    // Time to resolve: C2 7h (16h of work, 9h waiting on the customer left out), C1 9h, C3 28h.
    let res = &d.times.resolution;
    assert_eq!(
        (
            res.overall.count,
            res.overall.median_seconds,
            res.overall.p90_seconds
        ),
        (3, Some(9 * HOUR), Some(28 * HOUR))
    );
    let wang = res
        .by_agent
        .iter()
        .find(|a| a.agent_id == Some(f.wang.id))
        .unwrap();
    assert_eq!(
        (
            wang.times.count,
            wang.times.median_seconds,
            wang.times.p90_seconds
        ),
        (2, Some(7 * HOUR), Some(9 * HOUR))
    );

    // SLA, each clock settled once in the fortnight.
    let sla: Vec<(&str, i64, i64, Option<f64>)> = d
        .sla
        .metrics
        .iter()
        .map(|m| (m.metric.as_str(), m.met, m.breached, m.percent_met))
        .collect();
    assert_eq!(
        sla,
        vec![
            // Met: C1, C2, C6. Breached: C3 (answered late), C4 (never answered).
            ("first_response", 3, 2, Some(60.0)),
            // Met: C2's second reply. Breached: C3 after it reopened.
            ("next_response", 1, 1, Some(50.0)),
            // Met: C1, C2. Breached: C3 (late, and again after it reopened: its new clock was due
            // Thu 09-24), C5 and C6 (still open); C4's deadline is after the fortnight.
            ("resolution", 2, 4, Some(33.3)),
        ]
    );
    let resolution = &d.sla.metrics[2];
    assert_eq!(
        (resolution.met_cases.value, resolution.breached_cases.value),
        (2, 3),
        "four breached clocks in three cases"
    );
    // At risk at `now`: C7 near breach; C3, C4, C5, C6 overdue.
    assert_eq!((d.sla.due_soon.value, d.sla.overdue.value), (1, 4));

    // Escalation: of the five new cases, C3 and C6 were escalated; C5 (72h) and C3 (30h) ended.
    let e = &d.escalation;
    assert_eq!(
        (e.opened.value, e.escalated.value, e.rate_percent),
        (5, 2, Some(40.0))
    );
    assert_eq!(
        (
            e.time_in_escalation.count,
            e.time_in_escalation.median_seconds,
            e.time_in_escalation.p90_seconds,
            e.total_seconds,
            e.ended.value
        ),
        (2, Some(30 * HOUR), Some(72 * HOUR), 102 * HOUR, 2)
    );

    // Chasers: C2's and C4's Chinese and C3's English progress questions; not C1's after the reply,
    // not C3's longer message.
    assert_eq!(
        (d.chasers.messages, d.chasers.cases.value, d.chasers.capped),
        (3, 3, false)
    );
    // Reopened: C3, of the three closed.
    assert_eq!(
        (
            d.reopen.closed.value,
            d.reopen.reopened.value,
            d.reopen.rate_percent
        ),
        (3, 1, Some(33.3))
    );
    assert_eq!(f.numbers.len(), 7);
    assert_eq!(d.period.timezone, "Asia/Shanghai");
    assert_eq!(f.li.name, "Li Na");
}

async fn an_owner_or_a_customer_domain_narrows_every_figure(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = build(&app);

    let wang = figures(&app, &fortnight(&[("agent", &f.wang.id.to_string())]));
    assert_eq!(wang.scope.agent, Some(f.wang.id.to_string()));
    assert_eq!((wang.flow.opened.value, wang.flow.closed.value), (2, 2));
    assert_eq!(wang.backlog.total.value, 1, "C5");
    assert_eq!(wang.times.first_response.by_agent.len(), 1);
    assert_eq!(
        wang.times.first_response.overall.median_seconds,
        Some(2 * HOUR)
    );
    assert_eq!(
        (
            wang.escalation.ended.value,
            wang.escalation.time_in_escalation.median_seconds
        ),
        (1, Some(72 * HOUR))
    );
    assert_eq!(wang.chasers.messages, 1, "C2's");
    assert!(
        wang.flow
            .opened
            .cases_url
            .contains(&format!("assignee={}", f.wang.id)),
        "{}",
        wang.flow.opened.cases_url
    );

    let nobody = figures(&app, &fortnight(&[("agent", "none")]));
    assert_eq!(nobody.backlog.total.value, 2, "C4, C7");
    assert_eq!(nobody.chasers.messages, 1, "C4's");

    let centerm = figures(&app, &fortnight(&[("domain", "@CENTERM.com")]));
    assert_eq!(centerm.scope.domain.as_deref(), Some("centerm.com"));
    assert_eq!(
        (centerm.flow.opened.value, centerm.flow.closed.value),
        (3, 2),
        "C1, C2, C4 opened; C1, C2 closed"
    );
    assert_eq!(centerm.chasers.messages, 2, "C2, C4");
    assert_eq!(centerm.escalation.escalated.value, 0);
    let first = &centerm.sla.metrics[0];
    assert_eq!(
        (first.met, first.breached),
        (2, 1),
        "C1, C2 met; C4 breached"
    );

    let high = figures(&app, &fortnight(&[("priority", "high")]));
    assert_eq!(high.flow.opened.value, 1, "C3");
    assert_eq!(high.reopen.reopened.value, 1);
}

/// Every `{"value": n, "cases_url": …}` in the JSON, with where it is.
fn links(json: &serde_json::Value, path: String, out: &mut Vec<(String, i64, String)>) {
    match json {
        serde_json::Value::Object(map) => {
            if let (Some(value), Some(url)) = (map.get("value"), map.get("cases_url")) {
                out.push((
                    path.clone(),
                    value.as_i64().unwrap(),
                    url.as_str().unwrap().to_string(),
                ));
            }
            for (k, v) in map {
                links(v, format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                links(v, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// How many cases a case-list page says it lists.
async fn listed(app: &TestApp, url: &str) -> i64 {
    let (status, html) = app.get_text(url).await;
    assert_eq!(status, 200, "{url}: {html}");
    let re = regex::Regex::new(r#"<p class="muted">(\d+) matching cases</p>"#).unwrap();
    match re.captures(&html) {
        Some(c) => c[1].parse().unwrap(),
        None => {
            assert!(
                !html.contains("<table class=\"list cases\">"),
                "{url} lists cases without a count"
            );
            0
        }
    }
}

async fn every_figure_links_to_the_case_list_that_produced_it(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = build(&app);
    let manager = app.login_as(Role::Manager).await;
    let token = casebook::api::tokens::ApiToken::create(
        &mut app.conn(),
        manager.id,
        &casebook::api::tokens::TokenName::parse("reports").unwrap(),
    )
    .unwrap()
    .1;
    for scope in [
        String::new(),
        format!("&agent={}", f.wang.id),
        "&domain=centerm.com".to_string(),
        "&agent=none&priority=normal".to_string(),
    ] {
        let r = app
            .client
            .get(app.url(&format!(
                "/api/v1/reports/summary?from=2026-09-14&to=2026-09-27{scope}"
            )))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let json: serde_json::Value = r.json().await.unwrap();
        let mut found = Vec::new();
        links(&json, String::new(), &mut found);
        assert!(found.len() > 40, "{} figures", found.len());
        let mut checked = std::collections::HashSet::new();
        for (path, value, url) in found {
            if !checked.insert(url.clone()) {
                continue;
            }
            assert_eq!(
                listed(&app, &url).await,
                value,
                "{path} = {value} but {url} lists another number ({scope})"
            );
        }
    }

    // "Breached: 2" on the page is a link to those two cases.
    let (status, html) = app.get_text("/reports?from=2026-09-14&to=2026-09-27").await;
    assert_eq!(status, 200);
    let breached = "/cases?activity=breached_first_response&#38;from=2026-09-14&#38;to=2026-09-27";
    assert!(html.contains(breached), "{html}");
    let (_, list) = app.get_text(&breached.replace("&#38;", "&")).await;
    assert!(
        list.contains(&f.numbers[2]) && list.contains(&f.numbers[3]),
        "C3 and C4"
    );
    assert!(!list.contains(&f.numbers[0]), "not C1");
    assert!(list.contains("Clock breached (First response) between 2026-09-14 and 2026-09-27"));
}

async fn only_managers_and_admins_see_reports(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (role, allowed) in [
        (Role::Admin, true),
        (Role::Manager, true),
        (Role::Agent, false),
        (Role::Engineer, false),
    ] {
        let browser = app.another_browser();
        let user = browser.login_as(role).await;
        let (status, html) = browser.get_text("/reports").await;
        let (_, cases) = browser.get_text("/cases").await;
        let nav_link = cases.contains(r#"<a href="/reports">"#);
        let token = casebook::api::tokens::ApiToken::create(
            &mut app.conn(),
            user.id,
            &casebook::api::tokens::TokenName::parse("r").unwrap(),
        )
        .unwrap()
        .1;
        let api = app
            .client
            .get(app.url("/api/v1/reports/summary"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if allowed {
            assert_eq!(status, 200, "{role}: {html}");
            assert!(html.contains(r#"<svg role="img""#), "{role} sees charts");
            assert!(nav_link, "{role} has Reports in the navigation");
            assert_eq!(api, 200, "{role} reads the JSON");
        } else {
            assert_eq!(status, 403, "{role}");
            assert!(!nav_link, "{role} has no Reports link");
            assert_eq!(api, 403, "{role} may not read the JSON");
        }
    }
    let anonymous = app.another_browser();
    let r = anonymous.get("/reports").await;
    assert_eq!(r.status().as_u16(), 303, "sent to sign in");
}

async fn a_bad_period_or_filter_is_refused_with_the_reason(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let manager = app.login_as(Role::Manager).await;
    for (query, en) in [
        (
            "from=2026-12-01&to=2026-11-01",
            "The end date is before the start date.",
        ),
        (
            "from=2024-01-01&to=2026-01-01",
            "A period spans at most 366 days.",
        ),
        ("from=yesterday", "Dates are written YYYY-MM-DD."),
        ("domain=a%20b", "The customer domain must be a mail domain"),
        ("agent=Wang", "Choose an owner from the list."),
    ] {
        let (status, html) = app.get_text(&format!("/reports?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(html.contains(en), "{query}: {html}");
    }
    let token = casebook::api::tokens::ApiToken::create(
        &mut app.conn(),
        manager.id,
        &casebook::api::tokens::TokenName::parse("r").unwrap(),
    )
    .unwrap()
    .1;
    for query in ["from=2026-12-01&to=2026-11-01", "priority=p1", "colour=red"] {
        let r = app
            .client
            .get(app.url(&format!("/api/v1/reports/summary?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 422, "{query}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "unprocessable", "{query}: {body}");
    }
    // The case list names a filter it does not understand instead of ignoring it.
    let (status, html) = app.get_text("/cases?activity=opened&from=2026-09-01").await;
    assert_eq!(status, 400, "{html}");
    let (status, _) = app.get_text("/cases?age=ancient").await;
    assert_eq!(status, 400);
}

async fn met_clocks_stored_before_the_column_existed_get_their_business_time(backend: BackendKind) {
    use casebook::workflow::schema::sla_clocks;
    use diesel::prelude::*;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build(&app);
    let mut conn = app.conn();
    let stored: Vec<(i64, Option<i64>)> = sla_clocks::table
        .filter(sla_clocks::met_at.is_not_null())
        .select((sla_clocks::id, sla_clocks::elapsed_seconds))
        .order(sla_clocks::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(stored.len(), 9, "C1 2, C2 3, C3 2, C5 1, C6 1");
    assert!(stored.iter().all(|(_, e)| e.is_some()), "stored when met");
    diesel::update(sla_clocks::table)
        .set(sla_clocks::elapsed_seconds.eq(None::<i64>))
        .execute(&mut conn)
        .unwrap();
    let rules = SlaRules::from_config(&app.config);
    assert_eq!(
        service::fill_elapsed(&mut conn, &rules).unwrap(),
        stored.len()
    );
    let filled: Vec<(i64, Option<i64>)> = sla_clocks::table
        .filter(sla_clocks::met_at.is_not_null())
        .select((sla_clocks::id, sla_clocks::elapsed_seconds))
        .order(sla_clocks::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(filled, stored, "the same numbers as when they were met");
    assert_eq!(service::fill_elapsed(&mut conn, &rules).unwrap(), 0);
    let open: i64 = sla_clocks::table
        .filter(sla_clocks::met_at.is_null())
        .filter(sla_clocks::elapsed_seconds.is_not_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(open, 0, "open clocks have none");
}

/// The dashboard in Chromium at 1366×900: nothing scrolls sideways, every chart is drawn at a
/// readable size with its bars, and its table sits beside it.
#[actix_web::test]
async fn the_dashboard_fits_a_laptop_screen_with_every_chart_visible_in_chromium() {
    let Some(app) = spawn_app(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = common::browser::Browser::start().await else {
        return;
    };
    build(&app);
    app.create_user("manager@casebook.test", "Zhang Wei", Role::Manager);
    browser.set_window_size(1366, 900).await;
    browser.goto(&app.url("/login")).await;
    browser
        .type_into("input[name=email]", "manager@casebook.test")
        .await;
    browser
        .type_into("input[name=password]", TEST_PASSWORD)
        .await;
    browser.click("button[type=submit].primary").await;
    browser.wait_for_text("Sign out").await;
    browser.click("a[href=\"/reports\"]").await;
    browser.wait_for_text("Open cases by state").await;
    browser
        .goto(&app.url("/reports?from=2026-09-14&to=2026-09-27"))
        .await;
    browser.wait_for_text("First-response time").await;
    let m = browser
        .execute(
            "const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
                 const r = svg.getBoundingClientRect();
                 const table = svg.closest('.report-figure').querySelector('table').getBoundingClientRect();
                 return {width: r.width, height: r.height, bars: svg.querySelectorAll('rect.bar').length,
                         drawn: [...svg.querySelectorAll('rect.bar')].filter(b => b.getBoundingClientRect().width > 0).length,
                         title: svg.querySelector('title').textContent,
                         table_left: table.left, chart_right: r.right};
             });
             return {sideways: document.documentElement.scrollWidth - document.documentElement.clientWidth, charts};",
        )
        .await;
    assert!(
        m["sideways"].as_f64().unwrap() <= 0.0,
        "nothing scrolls sideways at 1366px: {m}"
    );
    let charts = m["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 6, "{m}");
    for c in charts {
        assert!(
            c["width"].as_f64().unwrap() >= 400.0,
            "a readable chart: {c}"
        );
        assert!(c["height"].as_f64().unwrap() >= 80.0, "{c}");
        assert!(c["drawn"].as_i64().unwrap() > 0, "bars are drawn: {c}");
        assert!(!c["title"].as_str().unwrap().is_empty(), "{c}");
        assert!(
            c["table_left"].as_f64().unwrap() >= c["chart_right"].as_f64().unwrap(),
            "the numbers sit beside the chart: {c}"
        );
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("reports-desktop.png"), browser.screenshot().await).unwrap();
}
