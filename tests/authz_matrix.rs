//! The authorisation matrix: every route the app serves (from its route table, `web::routes::all`,
//! which is what the app is built from — not a hand list) × anonymous, each role signed in, each
//! role's API token, asserting what the table promises: 401/sign-in for nobody, 403 for a role the
//! operation does not allow, anything but 401/403 (and never a 5xx) for the roles it does; and
//! every cookie-authenticated POST refused without its CSRF token. On SQLite and PostgreSQL.

mod common;

use casebook::api::tokens::{ApiToken, TokenName};
use casebook::auth::Role;
use casebook::web::routes::{Access, RouteInfo, all};
use common::{BackendKind, INBOUND_TOKEN, TestApp, spawn_app_with};

both_backends!(every_route_answers_every_role_as_the_route_table_says);

/// Who sends a request.
#[derive(Clone)]
enum Who {
    Anonymous,
    Session(Role),
    Token(Role),
}

struct Caller {
    who: Who,
    app: TestApp,
    csrf: String,
    token: Option<String>,
}

impl Caller {
    fn label(&self) -> String {
        match &self.who {
            Who::Anonymous => "anonymous".into(),
            Who::Session(r) => format!("{r} (signed in)"),
            Who::Token(r) => format!("{r} (API token)"),
        }
    }
}

fn concrete(path: &str, number: &str) -> String {
    path.replace("{number}", number)
        .replace("{id}", "999999")
        .replace("{token}", "no-such-upload-link")
        .replace("{name}", "casebook.css")
}

async fn send(caller: &Caller, route: &RouteInfo, path: &str, with_csrf: bool) -> (u16, String) {
    let url = caller.app.url(path);
    let mut req = match route.method {
        "GET" => caller.app.client.get(&url),
        "PATCH" => caller
            .app
            .client
            .patch(&url)
            .header("content-type", "application/json")
            .body("{}"),
        _ => caller
            .app
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(""),
    };
    if with_csrf && route.method == "POST" {
        req = req.header("X-CSRF-Token", &caller.csrf);
    }
    if let Some(token) = &caller.token {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, location)
}

async fn every_route_answers_every_role_as_the_route_table_says(backend: BackendKind) {
    let Some(app) = spawn_app_with(backend, &[("CASEBOOK_INBOUND_TOKEN", INBOUND_TOKEN)]).await
    else {
        return;
    };
    let number = app
        .deliver(
            "From: Chen Hui <chenhui.zd@centerm.example>\r\nTo: support@example.net\r\n\
             Subject: Activation fails\r\nMessage-ID: <authz@centerm.example>\r\n\r\n\
             Device marker binding is Invalid.\r\n"
                .into(),
        )
        .await["case"]
        .as_str()
        .unwrap()
        .to_string();

    let mut callers = Vec::new();
    let anonymous = app.another_browser();
    let csrf = anonymous.csrf().await;
    callers.push(Caller {
        who: Who::Anonymous,
        app: anonymous,
        csrf,
        token: None,
    });
    for role in [Role::Admin, Role::Manager, Role::Agent, Role::Engineer] {
        let session = app.another_browser();
        let user = session.login_as(role).await;
        let csrf = session.csrf().await;
        let token = ApiToken::create(&mut app.conn(), user.id, &TokenName::parse("m").unwrap())
            .unwrap()
            .1;
        callers.push(Caller {
            who: Who::Session(role),
            app: session,
            csrf,
            token: None,
        });
        let api = app.another_browser();
        callers.push(Caller {
            who: Who::Token(role),
            app: api,
            csrf: String::new(),
            token: Some(token),
        });
    }

    let mut problems = Vec::new();
    let mut checked = 0;
    for route in all() {
        // Signing out would end the callers' sessions; it is public and checked last, alone.
        if route.path == "/logout" {
            continue;
        }
        let path = concrete(route.path, &number);
        for caller in &callers {
            let (status, location) = send(caller, route, &path, true).await;
            checked += 1;
            let refused = status == 401 || status == 403;
            let to_sign_in = status == 303 && location.starts_with("/login");
            let page_post = route.method == "POST"
                && !matches!(route.access, Access::Api(_) | Access::InboundToken);
            let ok = match (route.access, &caller.who) {
                (_, _) if status >= 500 => false,
                // A bearer token never authorises a page, and a page form without a session
                // carries no CSRF token: refused before anything else.
                (_, Who::Token(_)) if page_post => status == 403,
                (Access::Public, _) => !refused,
                (Access::InboundToken, _) => status == 401,
                (Access::SignedIn, Who::Session(_)) => !refused,
                (Access::SignedIn | Access::Page(_), Who::Anonymous | Who::Token(_)) => to_sign_in,
                (Access::Page(op), Who::Session(role)) => {
                    if op.allows(*role) {
                        !refused
                    } else {
                        status == 403
                    }
                }
                (Access::Api(op), Who::Token(role)) => {
                    if op.allows(*role) {
                        !refused
                    } else {
                        status == 403
                    }
                }
                (Access::Api(_), Who::Anonymous | Who::Session(_)) => status == 401,
            };
            if !ok {
                problems.push(format!(
                    "{} {} as {}: {status} {location}",
                    route.method,
                    route.path,
                    caller.label()
                ));
            }
        }
        // A signed-in form post without its CSRF token is refused, whatever the role.
        if route.method == "POST" && !matches!(route.access, Access::Api(_) | Access::InboundToken)
        {
            let admin = &callers[1];
            let (status, _) = send(admin, route, &path, false).await;
            if status != 403 {
                problems.push(format!(
                    "POST {} without the CSRF token: {status}",
                    route.path
                ));
            }
        }
    }
    assert!(checked > 400, "{checked} requests");
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The inbound door opens with its own token only.
    let r = app
        .client
        .post(app.url("/inbound/mail"))
        .bearer_auth(INBOUND_TOKEN)
        .body("From: a@example.com\r\nSubject: x\r\n\r\nhello\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let logout = app.another_browser();
    let r = logout.post_form("/logout", &[]).await;
    assert_eq!(r.status().as_u16(), 303);
}
