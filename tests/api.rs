//! The JSON API through the front door: tokens from the CLI binary and the admin page, bearer
//! authentication (and what it refuses), the case list and detail in the CLI's shapes, filters and
//! pagination, notes and assignment — each on SQLite and PostgreSQL.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use casebook::api::tokens::{ApiToken, TokenName};
use casebook::auth::{Role, User};
use casebook::cases::Case;
use casebook::cases::messages::{CaseEvent, Message};
use casebook::cases::model::NewCase;
use casebook::db::blobs::BlobStore;
use casebook::ingest::pipeline::{Incoming, Ingestor};
use casebook::workflow::events::{Assigned, EventData};
use common::{BackendKind, TestApp, spawn_app};
use serde_json::{Value, json};

both_backends!(
    tokens_from_the_cli_work_until_revoked,
    admin_page_issues_shows_once_and_revokes_tokens,
    requests_without_a_valid_bearer_token_get_401,
    list_and_detail_have_the_cli_shapes,
    list_filters_and_pages_stably,
    notes_are_stored_with_author_and_event,
    assign_sets_the_owner_and_records_the_change,
    errors_are_json_with_the_right_status,
    replies_transitions_and_diagnostics_drive_the_case,
    a_reply_sent_with_if_match_goes_out_once_however_often_it_is_retried,
    a_password_reset_revokes_the_accounts_api_tokens,
    signed_in_pages_downloads_and_api_answers_are_never_cached_but_assets_are,
    a_diagnostics_file_the_database_cannot_store_is_a_server_error_not_a_refusal,
);

/// Runs the real binary against the app's database.
fn casebook(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebook"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in app.env.env_vars() {
        cmd.env(k, v);
    }
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run casebook");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// A token issued straight in the database (the CLI and page tests cover issuing).
fn token_for(app: &TestApp, user: &User) -> String {
    ApiToken::create(&mut app.conn(), user.id, &TokenName::parse("test").unwrap())
        .unwrap()
        .1
}

/// A client with no cookies, as a script would be.
fn api_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn api_get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let r = api_client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, parse(&r.text().await.unwrap()))
}

async fn api_post(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = api_client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, parse(&r.text().await.unwrap()))
}

/// Opens a case directly; `minutes` orders last activity.
fn open_case(app: &TestApp, title: &str, customer: &str, state: &str, minutes: i64) -> Case {
    let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        + chrono::Duration::minutes(minutes);
    Case::create(
        &mut app.conn(),
        &NewCase {
            number: None,
            title,
            state: state.parse().expect("a case state"),
            priority: casebook::workflow::Priority::Normal,
            customer_email: customer,
            customer_name: None,
            language: "en",
            duplicate_of_id: None,
            at,
        },
    )
    .unwrap()
}

fn assign_directly(app: &TestApp, case: &Case, user: &User) {
    use casebook::db::schema::cases;
    use diesel::prelude::*;
    diesel::update(cases::table.find(case.id))
        .set(cases::assignee_id.eq(user.id))
        .execute(&mut app.conn())
        .unwrap();
}

/// Ingests fixture mails through the real pipeline.
fn ingest(app: &TestApp, files: &[&str]) -> Vec<String> {
    let blobs = BlobStore::new(app.env.data_dir.path());
    let mut conn = app.conn();
    let ingestor = Ingestor::new(&mut conn, &app.config, &blobs).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let items = files
        .iter()
        .map(|f| Incoming {
            origin: f.to_string(),
            bytes: std::fs::read(dir.join(f)).unwrap(),
        })
        .collect();
    ingestor
        .ingest_batch(&mut conn, items)
        .unwrap()
        .iter()
        .filter_map(|o| o.case().map(str::to_string))
        .collect()
}

async fn tokens_from_the_cli_work_until_revoked(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.create_user("li.na@cmgos.com", "Li Na", Role::Agent);

    let (code, _, err) = casebook(&app, &["token", "create", "--user", "nobody@cmgos.com"]);
    assert_eq!(code, 2);
    assert!(err.contains("no account"), "{err}");

    let (code, out, err) = casebook(
        &app,
        &[
            "token",
            "create",
            "--user",
            "Li.Na@cmgos.com",
            "--name",
            "nightly report",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let token = out.trim().to_string();
    assert!(token.starts_with("cb_") && token.len() > 40, "{out}");
    assert!(err.contains("shown only now"), "{err}");
    let stored = ApiToken::list(&mut app.conn()).unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].token.token_hash, token, "only a hash is stored");
    assert!(!stored[0].token.token_hash.contains(&token[3..]));
    assert_eq!(stored[0].token.user_id, agent.id);

    let (status, body) = api_get(&app, &token, "/api/v1/cases").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 0);

    let (code, out, err) = casebook(&app, &["token", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let list = parse(&out);
    let t = &list["tokens"][0];
    assert_eq!(t["user"], "li.na@cmgos.com");
    assert_eq!(t["name"], "nightly report");
    assert!(t["last_used_at"].is_string(), "use is recorded: {t}");
    assert!(t["revoked_at"].is_null());
    assert!(!out.contains(&token), "secrets are never listed");
    let id = t["id"].as_i64().unwrap().to_string();

    // Used again within the minute: last_used_at is not rewritten on every request.
    let first_use = ApiToken::list(&mut app.conn()).unwrap()[0]
        .token
        .last_used_at;
    api_get(&app, &token, "/api/v1/cases").await;
    assert_eq!(
        ApiToken::list(&mut app.conn()).unwrap()[0]
            .token
            .last_used_at,
        first_use
    );

    let (code, out, err) = casebook(&app, &["token", "revoke", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("revoked API token {id}")), "{out}");
    let (status, body) = api_get(&app, &token, "/api/v1/cases").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unauthenticated");

    let (code, out, _) = casebook(&app, &["token", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("revoked"), "{out}");
    let (code, _, err) = casebook(&app, &["token", "revoke", "9999"]);
    assert_eq!(code, 1);
    assert!(err.contains("no API token 9999"), "{err}");
}

async fn admin_page_issues_shows_once_and_revokes_tokens(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Admin).await;
    let engineer = app.create_user("zhang.wei@cmgos.com", "Zhang Wei", Role::Engineer);

    let (status, html) = app.get_text("/admin/tokens").await;
    assert_eq!(status, 200);
    assert!(html.contains("No API tokens yet"), "{html}");
    assert!(
        html.contains("zhang.wei@cmgos.com"),
        "accounts to choose from"
    );

    // Without the form's CSRF token nothing is issued.
    let r = app
        .client
        .post(app.url("/admin/tokens"))
        .form(&[("user_id", engineer.id.to_string()), ("name", "x".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(ApiToken::list(&mut app.conn()).unwrap().is_empty());

    let r = app
        .post_form(
            "/admin/tokens",
            &[
                ("user_id", &engineer.id.to_string()),
                ("name", "lab scripts"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let re = regex::Regex::new(r"cb_[A-Za-z0-9_-]{43}").unwrap();
    let token = re
        .find(&html)
        .expect("the new token is on the page")
        .as_str()
        .to_string();
    assert!(html.contains("shown only this once"));

    let (status, _) = api_get(&app, &token, "/api/v1/cases").await;
    assert_eq!(status, 200);
    let (status, html) = app.get_text("/admin/tokens").await;
    assert_eq!(status, 200);
    assert!(!html.contains(&token), "shown once only");
    assert!(html.contains("lab scripts") && html.contains("Zhang Wei"));
    assert!(!html.contains(">never<"), "last use is shown");

    let r = app
        .post_form(
            "/admin/tokens",
            &[("user_id", &engineer.id.to_string()), ("name", "  ")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);

    let id = ApiToken::list(&mut app.conn()).unwrap()[0].token.id;
    let r = app
        .post_form(&format!("/admin/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/admin/tokens");
    let (status, _) = api_get(&app, &token, "/api/v1/cases").await;
    assert_eq!(status, 401);
    let (_, html) = app.get_text("/admin/tokens").await;
    assert!(html.contains("Revoked"), "{html}");

    // Only admins see the page.
    let agent_browser = app.another_browser();
    agent_browser.login_as(Role::Agent).await;
    let (status, _) = agent_browser.get_text("/admin/tokens").await;
    assert_eq!(status, 403);
}

async fn requests_without_a_valid_bearer_token_get_401(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = open_case(&app, "Activation fails", "a@customer.example", "new", 0);
    let note_path = format!("/api/v1/cases/{}/notes", case.number);

    let check = |r: reqwest::Response, why: &'static str| async move {
        assert_eq!(r.status().as_u16(), 401, "{why}");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{why}"
        );
        let body = parse(&r.text().await.unwrap());
        assert_eq!(body["error"], "unauthenticated", "{why}");
        assert!(body["message"].as_str().unwrap().len() > 10, "{why}");
    };
    let c = api_client();
    check(
        c.get(app.url("/api/v1/cases")).send().await.unwrap(),
        "no token",
    )
    .await;
    check(
        c.get(app.url("/api/v1/cases"))
            .bearer_auth("cb_not-a-real-token-at-all-xxxxxxxxxxxxxxxxxxx")
            .send()
            .await
            .unwrap(),
        "unknown token",
    )
    .await;
    check(
        c.get(app.url("/api/v1/cases"))
            .header("Authorization", "Basic YWRtaW46YWRtaW4=")
            .send()
            .await
            .unwrap(),
        "another scheme",
    )
    .await;

    // A signed-in browser's cookie is not an API credential, for reading or for writing.
    let admin = app.login_as(Role::Admin).await;
    let (status, _) = app.get_text("/cases").await;
    assert_eq!(status, 200, "the cookie works for pages");
    check(app.get("/api/v1/cases").await, "cookie only").await;
    let csrf = app.csrf().await;
    check(
        app.client
            .post(app.url(&note_path))
            .header("X-CSRF-Token", csrf)
            .json(&json!({"body": "from a browser"}))
            .send()
            .await
            .unwrap(),
        "cookie and CSRF token",
    )
    .await;
    assert!(
        Message::for_case(&mut app.conn(), case.id)
            .unwrap()
            .is_empty()
    );

    // Disabling the account stops its tokens at once; enabling brings them back.
    let token = token_for(&app, &admin);
    let agent = app.create_user("agent2@cmgos.com", "Agent Two", Role::Agent);
    let agent_token = token_for(&app, &agent);
    assert_eq!(api_get(&app, &agent_token, "/api/v1/cases").await.0, 200);
    let r = app
        .post_form(
            &format!("/admin/users/{}", agent.id),
            &[("action", "disable")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    check(
        c.get(app.url("/api/v1/cases"))
            .bearer_auth(&agent_token)
            .send()
            .await
            .unwrap(),
        "disabled account",
    )
    .await;
    assert_eq!(api_get(&app, &token, "/api/v1/cases").await.0, 200);
    User::set_disabled(&mut app.conn(), agent.id, false).unwrap();
    assert_eq!(api_get(&app, &agent_token, "/api/v1/cases").await.0, 200);
}

async fn list_and_detail_have_the_cli_shapes(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let numbers = ingest(
        &app,
        &[
            "01-utf8-new-case.eml",
            "02-gb2312-with-gbk-only-chars.eml",
            "05-big5.eml",
        ],
    );
    assert!(numbers.len() >= 2, "{numbers:?}");
    let engineer = app.create_user("eng@cmgos.com", "Eng", Role::Engineer);
    let token = token_for(&app, &engineer);

    let (status, body) = api_get(&app, &token, "/api/v1/cases").await;
    assert_eq!(status, 200, "{body}");
    let (code, out, err) = casebook(&app, &["cases", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let cli = parse(&out);
    assert_eq!(body["cases"], cli["cases"], "the same rows as the CLI");
    assert_eq!(body["page"], 1);
    assert_eq!(body["per_page"], 50);
    assert_eq!(body["total"], cli["cases"].as_array().unwrap().len());

    for number in &numbers {
        let (status, body) = api_get(&app, &token, &format!("/api/v1/cases/{number}")).await;
        assert_eq!(status, 200, "{body}");
        let (code, out, err) = casebook(&app, &["cases", "show", number, "--json"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(body, parse(&out), "the same detail as the CLI");
        assert_eq!(body["number"], number.as_str());
        assert!(!body["messages"].as_array().unwrap().is_empty());
    }
    // Lower-case numbers are accepted like everywhere else.
    let lower = numbers[0].to_lowercase();
    let (status, _) = api_get(&app, &token, &format!("/api/v1/cases/{lower}")).await;
    assert_eq!(status, 200);
}

async fn list_filters_and_pages_stably(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.create_user("agent@cmgos.com", "Agent", Role::Agent);
    let other = app.create_user("other@cmgos.com", "Other", Role::Agent);
    let token = token_for(&app, &agent);
    // Seven cases; three share one last-activity time, so the id decides their order.
    let a = open_case(
        &app,
        "Windows activation 0xC004F074",
        "ops@acme.example",
        "new",
        1,
    );
    let b = open_case(
        &app,
        "KMS host unreachable",
        "it@globex.example",
        "investigating",
        2,
    );
    let c = open_case(
        &app,
        "Office 激活失败",
        "王@acme.example",
        "investigating",
        3,
    );
    let d = open_case(&app, "Tie one", "x@initech.example", "resolved", 4);
    let e = open_case(
        &app,
        "Tie two, see xref",
        "y@initech.example",
        "resolved",
        4,
    );
    let f = open_case(&app, "Tie three", "z@initech.example", "resolved", 4);
    let g = open_case(&app, "100% CPU after update_x", "q@hooli.example", "new", 5);
    assign_directly(&app, &b, &agent);
    assign_directly(&app, &c, &agent);
    assign_directly(&app, &g, &other);

    let numbers = |v: &Value| -> Vec<String> {
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["number"].as_str().unwrap().to_string())
            .collect()
    };
    let all_in_order: Vec<String> = [&g, &f, &e, &d, &c, &b, &a]
        .iter()
        .map(|c| c.number.clone())
        .collect();
    let (_, body) = api_get(&app, &token, "/api/v1/cases").await;
    assert_eq!(
        numbers(&body),
        all_in_order,
        "last activity, then id, newest first"
    );
    assert_eq!(body["total"], 7);

    // Pages of three cover every case exactly once.
    let mut paged = Vec::new();
    for page in 1..=3 {
        let (status, body) = api_get(
            &app,
            &token,
            &format!("/api/v1/cases?per_page=3&page={page}"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["page"], page);
        assert_eq!(body["per_page"], 3);
        assert_eq!(body["total"], 7);
        paged.extend(numbers(&body));
    }
    assert_eq!(paged, all_in_order);
    let (_, body) = api_get(&app, &token, "/api/v1/cases?per_page=3&page=4").await;
    assert!(numbers(&body).is_empty());
    assert_eq!(body["total"], 7);

    let (_, body) = api_get(&app, &token, "/api/v1/cases?state=investigating").await;
    assert_eq!(numbers(&body), vec![c.number.clone(), b.number.clone()]);
    assert_eq!(body["total"], 2);

    let (_, body) = api_get(&app, &token, "/api/v1/cases?assignee=me").await;
    assert_eq!(numbers(&body), vec![c.number.clone(), b.number.clone()]);
    let (_, body) = api_get(&app, &token, "/api/v1/cases?assignee=OTHER@cmgos.com").await;
    assert_eq!(numbers(&body), vec![g.number.clone()]);
    let (_, body) = api_get(
        &app,
        &token,
        &format!("/api/v1/cases?assignee={}", other.id),
    )
    .await;
    assert_eq!(numbers(&body), vec![g.number.clone()]);
    let (_, body) = api_get(&app, &token, "/api/v1/cases?assignee=none").await;
    assert_eq!(body["total"], 4);
    let (_, body) = api_get(
        &app,
        &token,
        "/api/v1/cases?assignee=me&state=investigating&q=kms",
    )
    .await;
    assert_eq!(numbers(&body), vec![b.number.clone()]);

    // Text search: title, customer, number; case-insensitive; % and _ are literal.
    let (_, body) = api_get(&app, &token, "/api/v1/cases?q=ACTIVATION").await;
    assert_eq!(numbers(&body), vec![a.number.clone()]);
    let (_, body) = api_get(&app, &token, "/api/v1/cases?q=acme.example").await;
    assert_eq!(numbers(&body), vec![c.number.clone(), a.number.clone()]);
    let (_, body) = api_get(&app, &token, "/api/v1/cases?q=%E6%BF%80%E6%B4%BB").await;
    assert_eq!(numbers(&body), vec![c.number.clone()], "激活");
    let suffix = &d.number[d.number.len() - 6..];
    let (_, body) = api_get(&app, &token, &format!("/api/v1/cases?q={suffix}")).await;
    assert_eq!(numbers(&body), vec![d.number.clone()]);
    let (_, body) = api_get(&app, &token, "/api/v1/cases?q=100%25").await;
    assert_eq!(numbers(&body), vec![g.number.clone()]);
    let (_, body) = api_get(&app, &token, "/api/v1/cases?q=e_x").await;
    assert_eq!(
        numbers(&body),
        vec![g.number.clone()],
        "_ is not a wildcard"
    );

    // SLA status: only `a` has clocks, started weeks ago, so they are running and overdue.
    casebook::workflow::service::start_clocks_for_new_case(
        &mut app.conn(),
        a.id,
        casebook::workflow::Priority::Normal,
        a.created_at.and_utc(),
        &casebook::workflow::service::SlaRules::from_config(&app.config),
    )
    .unwrap();
    for (query, expected) in [
        ("sla=running", vec![a.number.clone()]),
        ("sla=overdue", vec![a.number.clone()]),
        ("sla=breached", vec![a.number.clone()]),
        ("sla=due_soon", vec![]),
        ("sla=", all_in_order.clone()),
    ] {
        let (_, body) = api_get(&app, &token, &format!("/api/v1/cases?{query}")).await;
        assert_eq!(numbers(&body), expected, "{query}");
    }

    for (query, why) in [
        ("sla=late", "unknown SLA filter"),
        ("page=0", "page starts at 1"),
        ("page=two", "not a number"),
        ("per_page=1000", "too large"),
        ("state=sleeping", "unknown state"),
        ("assignee=nobody@cmgos.com", "unknown account"),
        ("assignee=bob", "not an account"),
    ] {
        let (status, body) = api_get(&app, &token, &format!("/api/v1/cases?{query}")).await;
        assert_eq!(status, 422, "{why}: {body}");
        assert_eq!(body["error"], "unprocessable", "{why}");
    }
}

async fn notes_are_stored_with_author_and_event(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = open_case(
        &app,
        "Activation fails",
        "a@customer.example",
        "investigating",
        0,
    );
    let engineer = app.create_user("zhang.wei@cmgos.com", "Zhang Wei", Role::Engineer);
    let manager = app.create_user("boss@cmgos.com", "Boss", Role::Manager);
    let admin = app.create_user("lead@cmgos.com", "Lead", Role::Admin);
    let path = format!("/api/v1/cases/{}/notes", case.number);

    let (status, note) = api_post(
        &app,
        &token_for(&app, &engineer),
        &path,
        &json!({"body": "  KMS host answers on 1688; the client's DNS SRV record is stale.\n"}),
    )
    .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["direction"], "note");
    assert_eq!(note["thread_method"], "composed");
    assert_eq!(note["from"], "zhang.wei@cmgos.com");
    assert_eq!(note["from_name"], "Zhang Wei");
    assert_eq!(
        note["body_text"],
        "KMS host answers on 1688; the client's DNS SRV record is stale."
    );
    assert_eq!(note["new_text"], note["body_text"]);

    let stored = Message::for_case(&mut app.conn(), case.id).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].direction, "note");
    assert_eq!(stored[0].thread_method, "composed");
    assert_eq!(stored[0].author_id, Some(engineer.id));
    let events = CaseEvent::for_case(&mut app.conn(), case.id).unwrap();
    let added = events
        .iter()
        .find(|e| e.kind == "note_added")
        .expect("event");
    assert_eq!(added.actor_id, Some(engineer.id));
    assert_eq!(added.actor_label, "Zhang Wei");
    let touched = Case::find_by_id(&mut app.conn(), case.id).unwrap().unwrap();
    assert!(touched.last_activity_at > case.last_activity_at);

    // A manager's token reads the case but may not add a note.
    let (status, err) = api_post(
        &app,
        &token_for(&app, &manager),
        &path,
        &json!({"body": "Managers do not write on cases."}),
    )
    .await;
    assert_eq!(status, 403, "{err}");

    // The same text twice is two notes (never deduplicated); the detail shows them in order.
    let token = token_for(&app, &admin);
    for _ in 0..2 {
        let (status, _) = api_post(
            &app,
            &token,
            &path,
            &json!({"body": "Called the customer."}),
        )
        .await;
        assert_eq!(status, 201);
    }
    let (_, detail) = api_get(&app, &token, &format!("/api/v1/cases/{}", case.number)).await;
    let msgs = detail["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        msgs[0], note,
        "the answer is the note as the detail shows it"
    );
    assert_eq!(msgs[2]["from"], "lead@cmgos.com");

    for (body, why) in [
        (json!({"body": "   "}), "empty"),
        (json!({}), "missing body"),
        (json!({"body": 42}), "wrong type"),
        (json!({"body": "x", "extra": true}), "unknown field"),
    ] {
        let (status, err) = api_post(&app, &token, &path, &body).await;
        assert_eq!(status, 422, "{why}: {err}");
        assert_eq!(err["error"], "unprocessable", "{why}");
    }
    assert_eq!(
        Message::for_case(&mut app.conn(), case.id).unwrap().len(),
        3
    );
}

async fn assign_sets_the_owner_and_records_the_change(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = open_case(&app, "Activation fails", "a@customer.example", "new", 0);
    let agent = app.create_user("li.na@cmgos.com", "Li Na", Role::Agent);
    let engineer = app.create_user("zhang.wei@cmgos.com", "Zhang Wei", Role::Engineer);
    let token = token_for(&app, &agent);
    let path = format!("/api/v1/cases/{}/assign", case.number);
    let assignee = |app: &TestApp| {
        Case::find_by_id(&mut app.conn(), case.id)
            .unwrap()
            .unwrap()
            .assignee_id
    };

    let (status, body) = api_post(&app, &token, &path, &json!({"assignee": "me"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["number"], case.number.as_str());
    assert_eq!(body["assignee"]["email"], "li.na@cmgos.com");
    assert_eq!(body["changed"], true);
    assert_eq!(assignee(&app), Some(agent.id));

    let (status, body) = api_post(
        &app,
        &token,
        &path,
        &json!({"assignee": "Zhang.Wei@cmgos.com"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assignee(&app), Some(engineer.id));
    let (status, body) = api_post(&app, &token, &path, &json!({"assignee": engineer.id})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["changed"], false,
        "already the owner: nothing recorded"
    );

    let (status, body) = api_post(&app, &token, &path, &json!({"assignee": null})).await;
    assert_eq!(status, 200);
    assert!(body["assignee"].is_null());
    assert_eq!(assignee(&app), None);

    let events: Vec<_> = CaseEvent::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "assigned")
        .collect();
    // The one shape of an assignment event, whichever door recorded it: the new owner's name as
    // the note, the account ids as data.
    let changes: Vec<(Option<&str>, Option<Assigned>)> = events
        .iter()
        .map(|e| (e.note.as_deref(), Assigned::parse(e.data.as_deref())))
        .collect();
    let moved = |from, to| Some(Assigned { from, to });
    assert_eq!(
        changes,
        vec![
            (Some("Li Na"), moved(None, Some(agent.id))),
            (Some("Zhang Wei"), moved(Some(agent.id), Some(engineer.id))),
            (None, moved(Some(engineer.id), None)),
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.from_state.is_none() && e.to_state.is_none())
    );
    assert!(events.iter().all(|e| e.actor_id == Some(agent.id)));

    // Engineers read and write notes but do not assign.
    let (status, body) = api_post(
        &app,
        &token_for(&app, &engineer),
        &path,
        &json!({"assignee": "me"}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden");
    assert_eq!(assignee(&app), None);

    for (body, why) in [
        (json!({}), "missing assignee"),
        (json!({"assignee": "nobody@cmgos.com"}), "unknown account"),
        (json!({"assignee": 99999}), "unknown id"),
        (json!({"assignee": true}), "wrong type"),
    ] {
        let (status, err) = api_post(&app, &token, &path, &body).await;
        assert_eq!(status, 422, "{why}: {err}");
    }
    User::set_disabled(&mut app.conn(), engineer.id, true).unwrap();
    let (status, err) = api_post(
        &app,
        &token,
        &path,
        &json!({"assignee": "zhang.wei@cmgos.com"}),
    )
    .await;
    assert_eq!(status, 422, "disabled accounts are not assignable: {err}");
}

async fn errors_are_json_with_the_right_status(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = open_case(&app, "Activation fails", "a@customer.example", "new", 0);
    let agent = app.create_user("li.na@cmgos.com", "Li Na", Role::Agent);
    let token = token_for(&app, &agent);

    for path in [
        "/api/v1/cases/CAS-99999-ZZZZZZ",
        "/api/v1/cases/not-a-number",
        "/api/v1/nothing-here",
    ] {
        let (status, body) = api_get(&app, &token, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "not_found", "{path}");
    }
    let (status, body) = api_post(
        &app,
        &token,
        "/api/v1/cases/CAS-99999-ZZZZZZ/notes",
        &json!({"body": "x"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // A wrong method is a JSON error too.
    let r = api_client()
        .get(app.url(&format!("/api/v1/cases/{}/notes", case.number)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 404 | 405));
    let body = parse(&r.text().await.unwrap());
    assert!(body["error"].is_string() && body["message"].is_string());

    // Not JSON at all, with or without a JSON content type.
    let path = format!("/api/v1/cases/{}/notes", case.number);
    for content_type in ["application/json", "text/plain"] {
        let r = api_client()
            .post(app.url(&path))
            .bearer_auth(&token)
            .header("Content-Type", content_type)
            .body("{body: oops")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 422);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("json")
        );
        let body = parse(&r.text().await.unwrap());
        assert_eq!(body["error"], "unprocessable");
        assert!(body["message"].as_str().unwrap().contains("JSON"), "{body}");
    }
    // Bodies have a limit, reported as such.
    let big = json!({"body": "x".repeat(1_100_000)});
    let (status, body) = api_post(&app, &token, &path, &big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "payload_too_large");

    // A body sent without a content type (curl -d) is still read as JSON.
    let r = api_client()
        .post(app.url(&path))
        .bearer_auth(&token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(r#"{"body":"from curl -d"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

async fn replies_transitions_and_diagnostics_drive_the_case(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.create_user("agent@casebook.test", "Agent", Role::Agent);
    let engineer = app.create_user("eng@casebook.test", "Engineer", Role::Engineer);
    let token = token_for(&app, &agent);
    let eng_token = token_for(&app, &engineer);
    let number = ingest(&app, &["01-utf8-new-case.eml"]).remove(0);
    let base = format!("/api/v1/cases/{number}");

    // Workflow: define, then a refused jump, then scope (which mails the customer).
    let (s, v) = api_post(
        &app,
        &token,
        &format!("{base}/transitions"),
        &json!({"to": "defined", "definition": "离线激活失败"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["to"], "defined");
    let (s, v) = api_post(
        &app,
        &token,
        &format!("{base}/transitions"),
        &json!({"to": "escalated", "target": "engineering", "reason": "r", "tried": "t"}),
    )
    .await;
    assert_eq!(s, 409, "escalation only from investigating: {v}");
    assert_eq!(v["error"], "conflict");
    let (s, v) = api_post(
        &app,
        &token,
        &format!("{base}/transitions"),
        &json!({"to": "scoped"}),
    )
    .await;
    assert_eq!(s, 422, "scope text required: {v}");
    let (s, v) = api_post(
        &app,
        &token,
        &format!("{base}/transitions"),
        &json!({"to": "scoped", "from": "new", "scope": "协助分析"}),
    )
    .await;
    assert_eq!(s, 409, "stale 'from': {v}");
    let (s, _) = api_post(
        &app,
        &token,
        &format!("{base}/transitions"),
        &json!({"to": "scoped", "from": "defined", "scope": "协助分析"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = api_post(
        &app,
        &eng_token,
        &format!("{base}/transitions"),
        &json!({"to": "investigating"}),
    )
    .await;
    assert_eq!(s, 403, "engineers only hand back");

    // Replies: credentials refused unless confirmed; a normal reply is queued.
    let (s, v) = api_post(
        &app,
        &token,
        &format!("{base}/replies"),
        &json!({"body": "用户名：userchen\n密码：chen123"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["message"].as_str().unwrap().contains("credential"));
    let (s, v) = api_post(
        &app,
        &token,
        &format!("{base}/replies"),
        &json!({"body": "请通过上传链接提交日志。", "cc": ["it@centerm.com"]}),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["status"], "queued");
    assert!(
        casebook::mail::message_id::verify(
            app.config.secret().as_bytes(),
            v["message_id"].as_str().unwrap()
        )
        .is_some()
    );
    let (s, _) = api_post(
        &app,
        &eng_token,
        &format!("{base}/replies"),
        &json!({"body": "hi"}),
    )
    .await;
    assert_eq!(s, 403, "engineers do not mail customers");

    let (_, detail) = api_get(&app, &token, &base).await;
    let outbound = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .count();
    assert_eq!(outbound, 2, "the scope mail and the reply");
    assert_eq!(detail["state"], "scoped");

    // Diagnostics: the file is the body.
    let vmware = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/diagnostics/vmware-systeminfo-en.txt"
    ))
    .unwrap();
    let r = api_client()
        .post(app.url(&format!("{base}/diagnostics?filename=systeminfo.txt")))
        .bearer_auth(&token)
        .body(vmware)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["verdict"], "virtual");
    let r = api_client()
        .post(app.url(&format!("{base}/diagnostics?filename=x.bin")))
        .bearer_auth(&token)
        .body(vec![0u8, 159, 146, 150, 1, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422, "garbage is refused with a reason");
}

/// An integration that retries after a timeout sends the same reply twice; with the case's ETag in
/// `If-Match`, the retry is refused (412, naming the reply that went out) instead of mailing twice.
async fn a_reply_sent_with_if_match_goes_out_once_however_often_it_is_retried(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.create_user("agent@casebook.test", "Agent", Role::Agent);
    let token = token_for(&app, &agent);
    let number = ingest(&app, &["01-utf8-new-case.eml"]).remove(0);
    let path = format!("/api/v1/cases/{number}");
    let r = api_client()
        .get(app.url(&path))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    // The SLA sweep records a breach after the client read the case (the 2022 mail's clocks are
    // long overdue): not a change a reply must wait for.
    let case = casebook::cases::Case::find_by_number(&mut app.conn(), &number)
        .unwrap()
        .unwrap();
    let breached =
        casebook::workflow::service::breach_sweep(&mut app.conn(), chrono::Utc::now()).unwrap();
    assert!(
        breached > 0,
        "the sweep recorded a breach on {}",
        case.number
    );

    let send = |tag: Option<String>| {
        let mut request = api_client()
            .post(app.url(&format!("{path}/replies")))
            .bearer_auth(&token)
            .json(&json!({"body": "请运行 wmic baseboard get serialnumber 并回复结果。"}));
        if let Some(tag) = tag {
            request = request.header("If-Match", tag);
        }
        async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            (status, parse(&r.text().await.unwrap()))
        }
    };
    let ((a, _), (b, refused)) = tokio::join!(send(Some(etag.clone())), send(Some(etag.clone())));
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses, [202, 412], "{refused}");
    let (s, v) = send(Some(etag.clone())).await;
    assert_eq!(s, 412, "a later retry too: {v}");
    assert_eq!(v["error"], "precondition_failed");
    assert!(
        v["message"].as_str().unwrap().contains("wmic baseboard"),
        "names the reply that went out: {v}"
    );
    let (_, detail) = api_get(&app, &token, &path).await;
    let outbound = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .count();
    assert_eq!(outbound, 1, "mailed once");

    let (s, _) = send(Some("*".to_string())).await;
    assert_eq!(s, 202, "If-Match: * is unconditional");
    let (s, _) = send(None).await;
    assert_eq!(s, 202, "without If-Match, as before");
}

async fn a_password_reset_revokes_the_accounts_api_tokens(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.login_as(Role::Admin).await;
    let agent = app.create_user("li.na@cmgos.com", "Li Na", Role::Agent);
    let agent_token = token_for(&app, &agent);
    let other_token = token_for(&app, &admin);
    assert_eq!(api_get(&app, &agent_token, "/api/v1/cases").await.0, 200);

    let r = app
        .post_form(
            &format!("/admin/users/{}", agent.id),
            &[
                ("action", "password"),
                ("password", "violet kettle under the stairs"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);

    let (status, body) = api_get(&app, &agent_token, "/api/v1/cases").await;
    assert_eq!(status, 401, "a token issued before the reset: {body}");
    let listing = ApiToken::list(&mut app.conn()).unwrap();
    let revoked = listing
        .iter()
        .find(|t| t.token.user_id == agent.id)
        .unwrap();
    assert!(
        revoked.token.revoked_at.is_some(),
        "kept for the record, marked revoked"
    );
    assert_eq!(
        api_get(&app, &other_token, "/api/v1/cases").await.0,
        200,
        "other accounts' tokens keep working"
    );
    let fresh = token_for(&app, &agent);
    assert_eq!(
        api_get(&app, &fresh, "/api/v1/cases").await.0,
        200,
        "a token issued after the reset works"
    );
}

fn cache_control(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string())
}

async fn signed_in_pages_downloads_and_api_answers_are_never_cached_but_assets_are(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let numbers = ingest(&app, &["50-attachment.eml"]);
    let number = numbers.first().expect("a case with an attachment");
    let agent = app.login_as(Role::Agent).await;

    let r = app.get(&format!("/cases/{number}")).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(cache_control(&r).as_deref(), Some("no-store"), "case page");
    let html = r.text().await.unwrap();
    let href = regex::Regex::new(&format!(r#"/cases/{number}/attachments/\d+"#))
        .unwrap()
        .find(&html)
        .expect("the attachment is listed")
        .as_str()
        .to_string();
    let r = app.get(&href).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(cache_control(&r).as_deref(), Some("no-store"), "download");
    let r = app.get("/cases").await;
    assert_eq!(cache_control(&r).as_deref(), Some("no-store"), "case list");

    let token = token_for(&app, &agent);
    for path in [
        "/api/v1/cases".to_string(),
        format!("/api/v1/cases/{number}"),
    ] {
        let r = api_client()
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert_eq!(cache_control(&r).as_deref(), Some("no-store"), "{path}");
    }
    let r = api_client()
        .get(app.url("/api/v1/cases"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        cache_control(&r).as_deref(),
        Some("no-store"),
        "API refusal"
    );

    // Compiled-in assets stay cacheable, signed in or not.
    let r = app.get("/static/casebook.css").await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        cache_control(&r).as_deref(),
        Some("public, max-age=3600"),
        "static asset"
    );
    assert!(
        r.headers().get("strict-transport-security").is_none(),
        "no HSTS on an http:// base URL"
    );
}

/// A refused file is the client's to fix (422, with the reason); a file the database cannot store is
/// the server's fault (500, the cause logged and not shown), so an integration does not give up on a
/// good file.
async fn a_diagnostics_file_the_database_cannot_store_is_a_server_error_not_a_refusal(
    backend: BackendKind,
) {
    use diesel::RunQueryDsl;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.create_user("agent@casebook.test", "Agent", Role::Agent);
    let token = token_for(&app, &agent);
    let case = open_case(&app, "激活失败", "chenhui.zd@centerm.com", "new", 0);
    let url = app.url(&format!(
        "/api/v1/cases/{}/diagnostics?filename=systeminfo.txt",
        case.number
    ));
    let vmware = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/diagnostics/vmware-systeminfo-en.txt"
    ))
    .unwrap();
    // The database breaks under the running app: the snapshots table is gone.
    diesel::sql_query("ALTER TABLE diagnostic_snapshots RENAME TO diagnostic_snapshots_gone")
        .execute(&mut app.conn())
        .unwrap();

    let r = api_client()
        .post(&url)
        .bearer_auth(&token)
        .body(vmware)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    let body = parse(&r.text().await.unwrap());
    assert_eq!(body["error"], "internal", "{body}");
    assert!(
        !body.to_string().contains("diagnostic_snapshots"),
        "the database's words stay in the log: {body}"
    );

    let r = api_client()
        .post(&url)
        .bearer_auth(&token)
        .body(vec![0u8, 159, 146, 150, 1, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        422,
        "a refused file is still the client's"
    );
}
