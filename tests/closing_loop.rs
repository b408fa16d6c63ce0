//! Closing the loop with the customer, through the front door: the definition-and-scope mail (the
//! seed thread's first reply) and a question answer the customer for the SLA clocks; resolving
//! mails the resolution ("reply to reopen") and archiving mails the summary, each switchable at
//! the action on the page and in the API; the archive form starts from the latest record, not an
//! old summary version, and lists what changed; the engineer who handed a case back sees a plain
//! read-only status; the case JSON (API and `casebook cases show --json`) carries the clocks as the
//! badge shows them — each on SQLite and PostgreSQL.

mod common;

use casebook::api::tokens::{ApiToken, TokenName};
use casebook::auth::{Role, User};
use casebook::cases::Case;
use casebook::cases::messages::Message;
use casebook::mail::outbox::OutboxRow;
use casebook::workflow::SlaMetric;
use casebook::workflow::service::{self, SlaRules};
use chrono::Utc;
use common::{BackendKind, INBOUND_TOKEN, TEST_PASSWORD, TestApp, spawn_app_with};
use serde_json::Value;

both_backends!(
    the_scope_mail_is_the_first_response_and_a_question_the_next_one,
    a_breached_first_response_is_met_late_by_the_scope_mail_not_left_overdue,
    resolving_mails_the_resolution_unless_switched_off_and_a_reply_reopens,
    archiving_mails_the_summary_and_the_form_starts_from_the_latest_record,
    the_engineer_who_handed_back_sees_a_read_only_status,
);

const CUSTOMER: &str = "chenhui.zd@centerm.com";
const TITLE: &str = "CMGE版本激活失败问题";
/// The seed thread's first reply, as the agent records it.
const DEFINITION: &str = "用户反馈离线激活失败。提示“Device marker binding is Invalid”。";
const SCOPE: &str = "协助用户分析上述问题。";

async fn app(backend: BackendKind) -> Option<TestApp> {
    spawn_app_with(
        backend,
        &[
            ("CASEBOOK_INBOUND_TOKEN", INBOUND_TOKEN),
            ("CASEBOOK_SUPPORT_DOMAINS", "cmgos.com"),
        ],
    )
    .await
}

/// A customer mail dated `date` (RFC 2822); `headers` adds lines such as `In-Reply-To`.
fn customer_mail(id: &str, subject: &str, body: &str, headers: &str, date: &str) -> String {
    format!(
        "From: 陈女士 <{CUSTOMER}>\r\nTo: support@cmgos.com\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\n{headers}Date: {date}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
}

fn now_rfc2822() -> String {
    Utc::now().to_rfc2822()
}

/// The customer's first mail, now: a new case (in Chinese) → its number.
async fn first_mail(app: &TestApp, id: &str) -> String {
    let raw = customer_mail(
        id,
        TITLE,
        "您好，离线激活失败，提示“Device marker binding is Invalid”，请协助。",
        "",
        &now_rfc2822(),
    );
    app.deliver(raw).await["case"].as_str().unwrap().to_string()
}

fn case(app: &TestApp, number: &str) -> Case {
    Case::find_by_number(&mut app.conn(), number)
        .unwrap()
        .unwrap()
}

fn clocks(app: &TestApp, number: &str, metric: SlaMetric) -> Vec<casebook::workflow::SlaClock> {
    service::clocks(&mut app.conn(), case(app, number).id)
        .unwrap()
        .into_iter()
        .filter(|c| c.clock.metric == metric)
        .map(|c| c.clock)
        .collect()
}

/// Mail queued to the customer by the workflow (not acknowledgements or replies), oldest first.
fn customer_mail_rows(app: &TestApp, number: &str) -> Vec<OutboxRow> {
    OutboxRow::for_case(&mut app.conn(), case(app, number).id)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "customer_mail")
        .collect()
}

/// The thread message a queued mail shows as.
fn thread_text(app: &TestApp, row: &OutboxRow) -> String {
    let id = row.message_row_id.expect("shown in the thread");
    Message::for_case(&mut app.conn(), row.case_id.unwrap())
        .unwrap()
        .into_iter()
        .find(|m| m.id == id)
        .unwrap()
        .body_text
}

async fn act(app: &TestApp, number: &str, fields: &[(&str, &str)]) -> u16 {
    app.post_form(&format!("/cases/{number}/transition"), fields)
        .await
        .status()
        .as_u16()
}

async fn define_and_scope(app: &TestApp, number: &str) {
    assert_eq!(
        act(
            app,
            number,
            &[("action", "define"), ("definition", DEFINITION)]
        )
        .await,
        303
    );
    assert_eq!(
        act(app, number, &[("action", "scope"), ("scope", SCOPE)]).await,
        303
    );
}

async fn signed_in(app: &TestApp, email: &str, name: &str, role: Role) -> (TestApp, User) {
    let browser = app.another_browser();
    let user = app.create_user(email, name, role);
    let r = browser.login(email, TEST_PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303);
    (browser, user)
}

fn token_for(app: &TestApp, user: &User) -> String {
    ApiToken::create(&mut app.conn(), user.id, &TokenName::parse("test").unwrap())
        .unwrap()
        .1
}

async fn api_case(app: &TestApp, token: &str, number: &str) -> Value {
    let r = app
        .client
        .get(app.url(&format!("/api/v1/cases/{number}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

fn clock_status(case: &Value, clock: &str) -> Vec<String> {
    case["sla"]
        .as_array()
        .expect("the case JSON carries its clocks")
        .iter()
        .filter(|c| c["clock"] == clock)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .collect()
}

async fn the_scope_mail_is_the_first_response_and_a_question_the_next_one(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (agent, wang) = signed_in(&app, "wangbb@cmgos.com", "Wang Binbin", Role::Agent).await;
    let n = first_mail(&app, "seed-1@centerm.com").await;
    let first = clocks(&app, &n, SlaMetric::FirstResponse);
    assert_eq!(first.len(), 1);
    assert!(first[0].met_at.is_none(), "nothing answered yet");

    // The seed thread's first reply: the definition and scope, mailed to the customer.
    define_and_scope(&agent, &n).await;
    let mails = customer_mail_rows(&app, &n);
    assert_eq!(mails.len(), 1, "the definition-and-scope mail");
    assert_eq!(mails[0].to_addrs, CUSTOMER);
    assert!(
        mails[0].subject.contains("问题定义与范围确认"),
        "{}",
        mails[0].subject
    );
    let text = thread_text(&app, &mails[0]);
    assert!(text.contains(DEFINITION) && text.contains(SCOPE), "{text}");
    let first = clocks(&app, &n, SlaMetric::FirstResponse).remove(0);
    assert!(
        first.met_at.is_some(),
        "the scope mail answered the customer"
    );
    assert!(first.breached_at.is_none());

    // The API and the CLI say so too, as the badge does.
    let token = token_for(&app, &wang);
    let json = api_case(&app, &token, &n).await;
    assert_eq!(clock_status(&json, "first_response"), ["met"]);
    assert_eq!(clock_status(&json, "resolution"), ["running"]);
    let first_json = json["sla"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clock"] == "first_response")
        .unwrap();
    assert!(first_json["due_at"].as_str().unwrap().ends_with('Z'));
    assert!(first_json["met_at"].as_str().is_some());
    assert!(first_json["paused_since"].is_null());
    let (_, html) = agent.get_text(&format!("/cases/{n}")).await;
    assert!(html.contains("sla-met state-resolved"), "{html}");
    assert!(!html.contains("sla-overdue"));

    // The customer answers; a next-response clock starts; a question answers them and the case
    // waits on them (its clocks pause).
    let raw = customer_mail(
        "seed-2@centerm.com",
        &format!("Re: {TITLE}"),
        "用缺失信息的三条指令查询，有两条可以获取到信息。",
        "In-Reply-To: <seed-1@centerm.com>\r\n",
        &now_rfc2822(),
    );
    assert_eq!(app.deliver(raw).await["outcome"], "appended");
    assert_eq!(act(&agent, &n, &[("action", "investigate")]).await, 303);
    let next = clocks(&app, &n, SlaMetric::NextResponse);
    assert_eq!(next.len(), 1);
    assert!(next[0].met_at.is_none());
    assert_eq!(
        act(
            &agent,
            &n,
            &[
                ("action", "ask_customer"),
                (
                    "question",
                    "请提供 wmic baseboard get serialnumber 的输出。"
                )
            ]
        )
        .await,
        303
    );
    assert_eq!(customer_mail_rows(&app, &n).len(), 2, "the question");
    let next = clocks(&app, &n, SlaMetric::NextResponse).remove(0);
    assert!(next.met_at.is_some() && next.breached_at.is_none());
    let json = api_case(&app, &token, &n).await;
    assert_eq!(clock_status(&json, "next_response"), ["met"]);
    assert_eq!(clock_status(&json, "resolution"), ["paused"]);
    let resolution = json["sla"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clock"] == "resolution")
        .unwrap();
    assert!(resolution["paused_since"].as_str().is_some());

    // `casebook cases show --json` is the same shape (the binary reads the same database).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_casebook"))
        .args(["cases", "show", &n, "--json"])
        .env_clear()
        .envs(app.env.env_vars())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["sla"], json["sla"]);
}

async fn a_breached_first_response_is_met_late_by_the_scope_mail_not_left_overdue(
    backend: BackendKind,
) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (agent, wang) = signed_in(&app, "wangbb@cmgos.com", "Wang Binbin", Role::Agent).await;
    // A week ago: the eight business hours of the first response are long gone.
    let week_ago = (Utc::now() - chrono::Duration::days(7)).to_rfc2822();
    let raw = customer_mail(
        "old-1@centerm.com",
        TITLE,
        "离线激活失败，请协助。",
        "",
        &week_ago,
    );
    let n = app.deliver(raw).await["case"].as_str().unwrap().to_string();
    assert!(service::breach_sweep(&mut app.conn(), Utc::now()).unwrap() >= 1);
    let token = token_for(&app, &wang);
    assert_eq!(
        clock_status(&api_case(&app, &token, &n).await, "first_response"),
        ["overdue"]
    );

    define_and_scope(&agent, &n).await;
    let first = clocks(&app, &n, SlaMetric::FirstResponse).remove(0);
    assert!(first.met_at.is_some(), "answered, late");
    assert!(first.breached_at.is_some(), "the breach stays on record");
    assert_eq!(
        clock_status(&api_case(&app, &token, &n).await, "first_response"),
        ["met_late"]
    );
    // What is still overdue is the resolution (a week is past its 45 business hours), not the
    // response; the case stays listed as breached, for review.
    let json = api_case(&app, &token, &n).await;
    assert_eq!(clock_status(&json, "resolution"), ["overdue"]);
    let list = |sla: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let r = app
                .client
                .get(app.url(&format!("/api/v1/cases?sla={sla}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            v["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["number"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert!(list("breached").await.contains(&n));

    // Archived at the end, the first response reads "met late", never "overdue".
    assert_eq!(
        act(
            &agent,
            &n,
            &[("action", "archive"), ("summary", "问题已解决。")]
        )
        .await,
        303
    );
    let (_, html) = agent.get_text(&format!("/cases/{n}")).await;
    assert!(html.contains("sla-met-late"), "{html}");
    assert!(!html.contains("sla-overdue"), "{html}");
}

async fn resolving_mails_the_resolution_unless_switched_off_and_a_reply_reopens(
    backend: BackendKind,
) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (agent, wang) = signed_in(&app, "wangbb@cmgos.com", "Wang Binbin", Role::Agent).await;
    let resolution = "SN 已在后台解绑，重新激活成功。";

    // On the page, the resolve form offers the mail, ticked.
    let n = first_mail(&app, "res-1@centerm.com").await;
    define_and_scope(&agent, &n).await;
    let (_, html) = agent.get_text(&format!("/cases/{n}")).await;
    assert!(
        html.contains(r#"name="mail_customer" value="true" checked"#),
        "{html}"
    );
    assert!(html.contains("Mail the resolution to the customer"));
    assert_eq!(
        act(
            &agent,
            &n,
            &[
                ("action", "resolve"),
                ("resolution", resolution),
                ("mail_offered", "1"),
                ("mail_customer", "true"),
            ]
        )
        .await,
        303
    );
    assert_eq!(case(&app, &n).state, "resolved");
    let mails = customer_mail_rows(&app, &n);
    assert_eq!(mails.len(), 2, "scope, then the resolution");
    let mail = &mails[1];
    assert_eq!(mail.to_addrs, CUSTOMER);
    assert!(mail.subject.contains("您的案例已解决"), "{}", mail.subject);
    let text = thread_text(&app, mail);
    assert!(
        text.contains(resolution) && text.contains(&n) && text.contains("请直接回复此邮件"),
        "{text}"
    );

    // The customer answers that mail: the case reopens.
    let raw = customer_mail(
        "res-2@centerm.com",
        &format!("Re: {}", mail.subject),
        "还是不行，依然提示 SN 已被使用。",
        &format!("In-Reply-To: <{}>\r\n", mail.message_id),
        &now_rfc2822(),
    );
    assert_eq!(app.deliver(raw).await["outcome"], "appended");
    assert_eq!(case(&app, &n).state, "investigating");

    // Unticked on the page: resolved, and the customer is not mailed.
    let quiet = first_mail(&app, "res-3@centerm.com").await;
    define_and_scope(&agent, &quiet).await;
    assert_eq!(
        act(
            &agent,
            &quiet,
            &[
                ("action", "resolve"),
                ("resolution", resolution),
                ("mail_offered", "1"),
            ]
        )
        .await,
        303
    );
    assert_eq!(case(&app, &quiet).state, "resolved");
    assert_eq!(
        customer_mail_rows(&app, &quiet).len(),
        1,
        "only the scope mail"
    );

    // The API: on by default, off with "mail_customer": false.
    let token = token_for(&app, &wang);
    let post = |number: String, body: Value| {
        let (app, token) = (&app, token.clone());
        async move {
            app.client
                .post(app.url(&format!("/api/v1/cases/{number}/transitions")))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let by_api = first_mail(&app, "res-4@centerm.com").await;
    define_and_scope(&agent, &by_api).await;
    let status = post(
        by_api.clone(),
        serde_json::json!({"to": "resolved", "resolution": resolution, "mail_customer": false}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(customer_mail_rows(&app, &by_api).len(), 1);
    let status = post(
        by_api.clone(),
        serde_json::json!({"to": "archived", "summary": "总结"}),
    )
    .await;
    assert_eq!(status, 200);
    let mails = customer_mail_rows(&app, &by_api);
    assert_eq!(mails.len(), 2, "the summary, on by default");
    assert!(
        mails[1].subject.contains("案例总结"),
        "{}",
        mails[1].subject
    );
    // A switch that is neither true nor false is refused, and nothing happens.
    let again = first_mail(&app, "res-5@centerm.com").await;
    define_and_scope(&agent, &again).await;
    let status = post(
        again.clone(),
        serde_json::json!({"to": "resolved", "resolution": resolution, "mail_customer": "maybe"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(case(&app, &again).state, "scoped");
}

/// The text of the archive form's summary box on a case page.
fn archive_prefill(html: &str) -> String {
    let re = regex::Regex::new(
        r#"(?s)value="archive".*?<textarea name="summary"[^>]*>(.*?)</textarea>"#,
    )
    .unwrap();
    re.captures(html)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no archive form: {html}"))
}

async fn archiving_mails_the_summary_and_the_form_starts_from_the_latest_record(
    backend: BackendKind,
) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (agent, _) = signed_in(&app, "wangbb@cmgos.com", "Wang Binbin", Role::Agent).await;
    let (engineer, _) =
        signed_in(&app, "zhangjl@cmgos.com", "Zhang Jianliang", Role::Engineer).await;
    // The seed thread, imported: archived in 2022 with summary v1.
    let text = std::fs::read_to_string("tests/fixtures/transcripts/seed-thread.txt").unwrap();
    let transcript = casebook::ingest::sources::transcript::parse_transcript(&text).unwrap();
    let rules = SlaRules::from_config(&app.config);
    {
        let mut conn = app.conn();
        let staff =
            casebook::ingest::pipeline::StaffDirectory::load(&mut conn, &["cmgos.com".to_string()])
                .unwrap();
        casebook::ingest::transcript_import::import(&mut conn, &staff, &transcript, "seed", &rules)
            .unwrap();
    }
    let n = "CAS-06004-S8K5X3";
    assert_eq!(case(&app, n).state, "archived");
    let v1 = service::summaries(&mut app.conn(), case(&app, n).id)
        .unwrap()
        .remove(0);
    assert_eq!(v1.version, 1);
    assert!(v1.body.contains("鉴于Cet这个系统比较特殊"));

    // Nothing changed since v1: the summary form starts from v1, and says so.
    let (_, html) = agent.get_text(&format!("/cases/{n}")).await;
    assert!(html.contains("鉴于Cet这个系统比较特殊"));

    // The customer's problem comes back: reopened, escalated, handed back with findings, resolved.
    let findings = "Cet 系统由 Intel 边缘计算部署，主板序列号为空，被识别为虚拟机。";
    let resolution = "售前团队提供了 KMS 批量激活方案，客户已激活成功。";
    for fields in [
        vec![("action", "reopen"), ("reason", "客户再次来信")],
        vec![
            ("action", "escalate"),
            ("target", "team:engineering"),
            ("reason", "虚拟机识别规则"),
            ("tried", "收集 wmic 输出"),
        ],
    ] {
        assert_eq!(act(&agent, n, &fields).await, 303, "{fields:?}");
    }
    assert_eq!(
        act(
            &engineer,
            n,
            &[("action", "hand_back"), ("findings", findings)]
        )
        .await,
        303
    );
    assert_eq!(
        act(
            &agent,
            n,
            &[
                ("action", "resolve"),
                ("resolution", resolution),
                ("mail_offered", "1"),
            ]
        )
        .await,
        303
    );

    // The archive form starts from the record as it is now, not from v1, and lists what changed.
    let (_, html) = agent.get_text(&format!("/cases/{n}")).await;
    let prefill = archive_prefill(&html);
    assert!(prefill.contains(findings), "{prefill}");
    assert!(prefill.contains(resolution), "{prefill}");
    assert!(
        prefill.contains("用户反馈离线激活失败"),
        "the definition: {prefill}"
    );
    assert!(
        !prefill.contains("鉴于Cet这个系统比较特殊"),
        "not v1: {prefill}"
    );
    assert!(
        html.contains("Changed in the record since summary v1"),
        "{html}"
    );
    assert!(html.contains("Findings — Zhang Jianliang"), "{html}");
    assert!(html.contains("Resolution — Wang Binbin"), "{html}");
    assert!(html.contains("Mail the summary to the customer"));

    // Archived with the summary as drafted: v2 is stored and mailed to the customer.
    let summary = prefill
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let before = customer_mail_rows(&app, n).len();
    assert_eq!(
        act(
            &agent,
            n,
            &[
                ("action", "archive"),
                ("summary", &summary),
                ("mail_offered", "1"),
                ("mail_customer", "true"),
            ]
        )
        .await,
        303
    );
    let summaries = service::summaries(&mut app.conn(), case(&app, n).id).unwrap();
    assert_eq!(summaries[0].version, 2);
    assert!(summaries[0].body.contains(resolution));
    let mails = customer_mail_rows(&app, n);
    assert_eq!(mails.len(), before + 1);
    let mail = mails.last().unwrap();
    assert_eq!(mail.to_addrs, CUSTOMER);
    assert!(mail.subject.contains("案例总结"), "{}", mail.subject);
    let text = thread_text(&app, mail);
    assert!(
        text.contains(resolution) && text.contains(findings),
        "{text}"
    );
    // The mail that carries v2 is not "a message since v2".
    let (_, html) = agent.get_text(&format!("/cases/{n}")).await;
    assert!(html.contains("0 messages since it was written"), "{html}");
}

async fn the_engineer_who_handed_back_sees_a_read_only_status(backend: BackendKind) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (agent, _) = signed_in(&app, "wangbb@cmgos.com", "Wang Binbin", Role::Agent).await;
    let (engineer, eng) =
        signed_in(&app, "zhangjl@cmgos.com", "Zhang Jianliang", Role::Engineer).await;
    let n = first_mail(&app, "ro-1@centerm.com").await;
    define_and_scope(&agent, &n).await;
    assert_eq!(act(&agent, &n, &[("action", "investigate")]).await, 303);
    let target = format!("user:{}", eng.id);
    assert_eq!(
        act(
            &agent,
            &n,
            &[
                ("action", "escalate"),
                ("target", &target),
                ("reason", "虚拟机识别"),
                ("tried", "wmic")
            ]
        )
        .await,
        303
    );
    assert_eq!(
        act(
            &engineer,
            &n,
            &[("action", "hand_back"), ("findings", "已解绑")]
        )
        .await,
        303
    );
    let (status, html) = engineer.get_text(&format!("/cases/{n}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("read-only-status"), "{html}");
    assert!(
        html.contains("You handed this case back to support on"),
        "{html}"
    );
    assert!(html.contains("Investigating"));
    assert!(!html.contains("no workflow action"));
    assert!(
        !html.contains(&format!(r#"action="/cases/{n}/transition""#)),
        "no workflow forms to act with"
    );
}
