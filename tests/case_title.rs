//! Renaming a case, through both doors on both databases: the case page's form (CSRF, agents and
//! admins only) and `PATCH /api/v1/cases/{number}` run the same service, which records a
//! `title_changed` event with the old and new title; blank, over-long and unchanged titles change
//! nothing.

mod common;

use casebook::api::tokens::{ApiToken, TokenName};
use casebook::auth::{Role, User};
use casebook::cases::Case;
use casebook::cases::messages::CaseEvent;
use casebook::cases::model::NewCase;
use casebook::workflow::events::{EventData, EventKind, TitleChanged};
use common::{BackendKind, TestApp, spawn_app};
use serde_json::{Value, json};

both_backends!(the_title_is_edited_from_the_page_and_the_api_with_a_typed_event);

fn open_case(app: &TestApp, title: &str) -> Case {
    Case::create(
        &mut app.conn(),
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
    .unwrap()
}

fn token_for(app: &TestApp, user: &User) -> String {
    ApiToken::create(&mut app.conn(), user.id, &TokenName::parse("test").unwrap())
        .unwrap()
        .1
}

async fn api_patch(app: &TestApp, token: &str, number: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/cases/{number}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

fn title_events(app: &TestApp, case: &Case) -> Vec<TitleChanged> {
    CaseEvent::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::TitleChanged)
        .map(|e| {
            assert!(e.kind.fits(e.data.as_deref()), "{e:?}");
            TitleChanged::parse(e.data.as_deref()).expect("typed payload")
        })
        .collect()
}

fn title_of(app: &TestApp, case: &Case) -> String {
    Case::find_by_id(&mut app.conn(), case.id)
        .unwrap()
        .unwrap()
        .title
}

async fn the_title_is_edited_from_the_page_and_the_api_with_a_typed_event(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.login_as(Role::Agent).await;
    let case = open_case(&app, "Re: Fwd: 激活问题");
    let n = case.number.clone();

    // The page offers the form to an agent, with the current title filled in.
    let (status, html) = app.get_text(&format!("/cases/{n}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(r#"action="/cases/{n}/title""#)),
        "{html}"
    );
    assert!(html.contains(r#"name="title" value="Re: Fwd: 激活问题""#));

    // Renamed through the page: one line, the event keeps both titles, the page shows the new one.
    let r = app
        .post_form(
            &format!("/cases/{n}/title"),
            &[("title", "  CMGE 离线激活失败\n（SN 已绑定） ")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(title_of(&app, &case), "CMGE 离线激活失败 （SN 已绑定）");
    assert_eq!(
        title_events(&app, &case),
        vec![TitleChanged {
            from: "Re: Fwd: 激活问题".into(),
            to: "CMGE 离线激活失败 （SN 已绑定）".into(),
        }]
    );
    let (_, html) = app.get_text(&format!("/cases/{n}")).await;
    assert!(
        html.contains("<h1>CMGE 离线激活失败 （SN 已绑定）</h1>"),
        "{html}"
    );
    assert!(
        html.contains("Title changed"),
        "the timeline names the event"
    );
    assert!(html.contains("Title changed."), "the flash says so");

    // Without the CSRF token: refused, nothing changes.
    let r = app
        .client
        .post(app.url(&format!("/cases/{n}/title")))
        .form(&[("title", "no token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Blank and over-long titles are refused and change nothing.
    let r = app
        .post_form(&format!("/cases/{n}/title"), &[("title", " \n ")])
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let long = "长".repeat(301);
    let r = app
        .post_form(&format!("/cases/{n}/title"), &[("title", &long)])
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(title_of(&app, &case), "CMGE 离线激活失败 （SN 已绑定）");
    assert_eq!(title_events(&app, &case).len(), 1);

    // A manager reads but does not work cases: no form, and the post is refused.
    let manager_browser = app.another_browser();
    manager_browser.login_as(Role::Manager).await;
    let (_, html) = manager_browser.get_text(&format!("/cases/{n}")).await;
    assert!(!html.contains(&format!(r#"action="/cases/{n}/title""#)));
    let r = manager_browser
        .post_form(
            &format!("/cases/{n}/title"),
            &[("title", "manager's title")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);

    // The API: the same service, the same event; unchanged is reported, not recorded.
    let token = token_for(&app, &agent);
    let (status, body) = api_patch(&app, &token, &n, &json!({"title": "离线激活失败"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"number": n, "title": "离线激活失败", "changed": true})
    );
    let (status, body) = api_patch(&app, &token, &n, &json!({"title": "离线激活失败"})).await;
    assert_eq!((status, body["changed"].clone()), (200, json!(false)));
    let (status, body) = api_patch(&app, &token, &n, &json!({"title": ""})).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = api_patch(&app, &token, &n, &json!({"state": "resolved"})).await;
    assert_eq!(status, 422, "unknown fields are refused");
    let manager = app.create_user("mgr2@casebook.test", "Manager Two", Role::Manager);
    let (status, _) = api_patch(&app, &token_for(&app, &manager), &n, &json!({"title": "x"})).await;
    assert_eq!(status, 403);
    let (status, _) = api_patch(&app, &token, "CB-0000-0000", &json!({"title": "x"})).await;
    assert_eq!(status, 404);
    assert_eq!(title_of(&app, &case), "离线激活失败");
    let events = title_events(&app, &case);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].from, "CMGE 离线激活失败 （SN 已绑定）");
    assert_eq!(events[1].to, "离线激活失败");
}
