//! Accounts and sessions through the front door: first-run setup, sign-in, throttling, CSRF,
//! roles, sign-out, language, health — each on SQLite and PostgreSQL.

mod common;

use casebook::auth::Role;
use common::{BackendKind, TEST_PASSWORD, new_client, spawn_app, spawn_app_with};

both_backends!(
    first_run_link_creates_the_first_admin_once,
    setup_link_with_a_wrong_token_is_not_found,
    sign_in_succeeds_with_the_right_password_and_fails_without_revealing_accounts,
    repeated_failures_throttle_sign_in_for_account_and_address,
    wrong_passwords_sent_at_once_are_checked_no_more_often_than_the_throttle_allows,
    behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own,
    redirects_after_sign_in_and_language_switch_stay_on_this_site,
    forms_without_the_csrf_token_are_refused_and_change_nothing,
    roles_are_enforced_on_admin_pages,
    anonymous_visitors_are_sent_to_sign_in,
    sign_out_ends_the_session_on_the_server,
    language_switch_translates_pages_and_is_remembered_per_user,
    admin_creates_and_disables_accounts_from_the_page,
    health_check_reports_the_database,
    unknown_pages_get_a_readable_not_found_page,
    setup_and_admin_pages_refuse_common_and_repeated_passwords_saying_why,
    hsts_is_sent_only_when_the_base_url_is_https,
);

async fn first_run_link_creates_the_first_admin_once(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app
        .setup_link
        .clone()
        .expect("a setup link is printed while no account exists");
    let path = link
        .strip_prefix(&app.address)
        .expect("link uses the base URL")
        .to_string();
    let (status, html) = app.get_text(&path).await;
    assert_eq!(status, 200);
    assert!(html.contains("Create the first administrator"), "{html}");
    let token = path.split("token=").nth(1).unwrap().to_string();

    // A mistake is shown on the form and creates nothing.
    let r = app
        .post_form(
            "/setup",
            &[
                ("token", &token),
                ("name", "Wang Binbin"),
                ("email", "wangbb@cmgos.com"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("at least 10 characters"));

    let r = app
        .post_form(
            "/setup",
            &[
                ("token", &token),
                ("name", "Wang Binbin"),
                ("email", "Wangbb@cmgos.com"),
                ("password", TEST_PASSWORD),
                ("password_confirm", TEST_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/cases");
    let (status, html) = app.get_text("/cases").await;
    assert_eq!(status, 200);
    assert!(html.contains("Wang Binbin"), "signed in as the new admin");
    assert!(
        html.contains("No cases yet"),
        "the empty state explains what to do"
    );
    assert!(
        html.contains("/admin/users"),
        "admins see the Admin section"
    );

    let user = casebook::auth::User::find_by_email(&mut app.conn(), "wangbb@cmgos.com")
        .unwrap()
        .unwrap();
    assert_eq!(user.role(), Role::Admin);
    assert!(user.password_hash.starts_with("$argon2id$"));

    // The link is spent: neither it nor a fresh visitor can use it again.
    let other = new_client();
    let r = other.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(
        casebook::auth::setup::issue_if_needed(&mut app.conn())
            .unwrap()
            .is_none(),
        "no new link once an account exists"
    );
}

async fn setup_link_with_a_wrong_token_is_not_found(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, _) = app.get_text("/setup?token=guessed").await;
    assert_eq!(status, 404);
    let r = app
        .post_form(
            "/setup",
            &[
                ("token", "guessed"),
                ("name", "Eve"),
                ("email", "eve@example.com"),
                ("password", TEST_PASSWORD),
                ("password_confirm", TEST_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(casebook::auth::User::count(&mut app.conn()).unwrap(), 0);
}

async fn sign_in_succeeds_with_the_right_password_and_fails_without_revealing_accounts(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("agent@casebook.test", "Agent Smith", Role::Agent);

    let wrong = app.login("agent@casebook.test", "wrong password!").await;
    assert_eq!(wrong.status().as_u16(), 401);
    let wrong_text = wrong.text().await.unwrap();
    assert!(wrong_text.contains("Email or password is incorrect."));

    let unknown = app.login("nobody@casebook.test", "wrong password!").await;
    assert_eq!(unknown.status().as_u16(), 401);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Email or password is incorrect."),
        "same message for unknown accounts"
    );

    let before = app.client.get(app.url("/cases")).send().await.unwrap();
    assert_eq!(before.status().as_u16(), 303);

    let ok = app.login("AGENT@casebook.test", TEST_PASSWORD).await;
    assert_eq!(ok.status().as_u16(), 303, "email is case-insensitive");
    let (status, html) = app.get_text("/cases").await;
    assert_eq!(status, 200);
    assert!(html.contains("Agent Smith"));
    assert!(
        !html.contains("/admin/users"),
        "agents do not see the Admin section"
    );
}

async fn repeated_failures_throttle_sign_in_for_account_and_address(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("agent@casebook.test", "Agent", Role::Agent);
    for _ in 0..5 {
        assert_eq!(
            app.login("agent@casebook.test", "wrong password!")
                .await
                .status()
                .as_u16(),
            401
        );
    }
    let r = app.login("agent@casebook.test", TEST_PASSWORD).await;
    assert_eq!(
        r.status().as_u16(),
        429,
        "even the right password waits after five failures"
    );
    assert!(r.headers().contains_key("retry-after"));
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Too many failed sign-in attempts")
    );
    let (status, _) = app.get_text("/cases").await;
    assert_eq!(status, 303, "not signed in");

    // The lock is per account *and* address: failures against one account (or made-up ones)
    // do not lock everyone else signing in from the same address.
    app.create_user("colleague@casebook.test", "Colleague", Role::Agent);
    let r = app
        .another_browser()
        .login("colleague@casebook.test", TEST_PASSWORD)
        .await;
    assert_eq!(
        r.status().as_u16(),
        303,
        "a colleague behind the same address signs in"
    );
    let r = app
        .login("someone-else@casebook.test", "whatever pass")
        .await;
    assert_eq!(
        r.status().as_u16(),
        401,
        "an unknown account is answered like a known one"
    );
}

/// Fifty wrong passwords sent at the same moment: each attempt is checked and counted in one
/// step, so only the five free attempts reach the password check; the rest wait.
async fn wrong_passwords_sent_at_once_are_checked_no_more_often_than_the_throttle_allows(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("agent@casebook.test", "Agent", Role::Agent);
    let token = app.csrf().await;
    let attempts = (0..50).map(|i| {
        let (client, url, token) = (app.client.clone(), app.url("/login"), token.clone());
        async move {
            client
                .post(url)
                .form(&[
                    ("email", "agent@casebook.test"),
                    ("password", &format!("wrong password {i}")[..]),
                    ("csrf_token", &token[..]),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let waited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked, 5, "{statuses:?}");
    assert_eq!(waited, 45, "{statuses:?}");
}

async fn behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own(backend: BackendKind) {
    // The test client connects from 127.0.0.1, which plays the reverse proxy here.
    let Some(app) =
        common::spawn_app_with(backend, &[("CASEBOOK_TRUSTED_PROXIES", "127.0.0.1/32")]).await
    else {
        return;
    };
    app.create_user("agent@casebook.test", "Agent", Role::Agent);
    let token = app.csrf().await;
    let login_from = |client_ip: &'static str, password: &'static str| {
        let (client, url, token) = (app.client.clone(), app.url("/login"), token.clone());
        async move {
            client
                .post(url)
                .header("X-Forwarded-For", format!("203.0.113.66, {client_ip}"))
                .form(&[
                    ("email", "agent@casebook.test"),
                    ("password", password),
                    ("csrf_token", &token[..]),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..5 {
        assert_eq!(login_from("198.51.100.7", "wrong password!").await, 401);
    }
    assert_eq!(login_from("198.51.100.7", TEST_PASSWORD).await, 429);
    // The same account from another client behind the proxy is not locked out.
    assert_eq!(login_from("198.51.100.8", TEST_PASSWORD).await, 303);

    // Without the setting the header is ignored: every request is the peer, 127.0.0.1.
    let Some(plain) = spawn_app(backend).await else {
        return;
    };
    plain.create_user("agent@casebook.test", "Agent", Role::Agent);
    let token = plain.csrf().await;
    for i in 0..6 {
        let r = plain
            .client
            .post(plain.url("/login"))
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .form(&[
                ("email", "agent@casebook.test"),
                ("password", "wrong password!"),
                ("csrf_token", &token[..]),
            ])
            .send()
            .await
            .unwrap();
        let expected = if i < 5 { 401 } else { 429 };
        assert_eq!(
            r.status().as_u16(),
            expected,
            "a spoofed header changes nothing"
        );
    }
}

async fn redirects_after_sign_in_and_language_switch_stay_on_this_site(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    for (next, expected) in [
        ("/%09/evil.example/x", "/cases"),
        ("/%0a/x", "/cases"),
        ("%2F%2Fevil.example", "/cases"),
        ("/%5Cevil.example", "/cases"),
        ("https://evil.example/", "/cases"),
        ("/cases%3Fstate%3Dnew", "/cases?state=new"),
    ] {
        let r = app.get(&format!("/login?next={next}")).await;
        assert_eq!(r.status().as_u16(), 303, "next={next}");
        assert_eq!(r.headers()["location"], expected, "next={next}");
    }
    for back in ["/\n/x", "/\t/evil.example", "//evil.example"] {
        let r = app
            .post_form("/language", &[("lang", "en"), ("back", back)])
            .await;
        assert_eq!(r.status().as_u16(), 303, "back={back:?}");
        assert_eq!(r.headers()["location"], "/cases", "back={back:?}");
    }
    let r = app
        .post_form(
            "/language",
            &[("lang", "en"), ("back", "/cases/CAS-06004-S8K5X3")],
        )
        .await;
    assert_eq!(r.headers()["location"], "/cases/CAS-06004-S8K5X3");
}

async fn forms_without_the_csrf_token_are_refused_and_change_nothing(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Admin).await;

    let r = app
        .client
        .post(app.url("/logout"))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("This form has expired or did not come from Casebook"),
        "{body}"
    );

    let r = app
        .client
        .post(app.url("/admin/users"))
        .form(&[
            ("csrf_token", "forged"),
            ("name", "Mallory"),
            ("email", "m@example.com"),
            ("role", "admin"),
            ("password", TEST_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(
        casebook::auth::User::find_by_email(&mut app.conn(), "m@example.com")
            .unwrap()
            .is_none()
    );

    let (status, _) = app.get_text("/cases").await;
    assert_eq!(
        status, 200,
        "still signed in: the refused logout did nothing"
    );

    // A login form posted from another site (no token) is refused as well.
    let stranger = new_client();
    let r = stranger
        .post(app.url("/login"))
        .form(&[
            ("email", "admin@casebook.test"),
            ("password", TEST_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}

async fn roles_are_enforced_on_admin_pages(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for role in [Role::Agent, Role::Manager, Role::Engineer] {
        let client_app = app.another_browser();
        client_app.login_as(role).await;
        let (status, html) = client_app.get_text("/admin/users").await;
        assert_eq!(status, 403, "{role} must not reach admin pages");
        assert!(html.contains("Your role does not allow this action."));
        let r = client_app
            .post_form(
                "/admin/users",
                &[
                    ("name", "X"),
                    ("email", "x@example.com"),
                    ("role", "admin"),
                    ("password", TEST_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 403);
        let (status, _) = client_app.get_text("/cases").await;
        assert_eq!(status, 200, "{role} may read cases");
    }
    assert!(
        casebook::auth::User::find_by_email(&mut app.conn(), "x@example.com")
            .unwrap()
            .is_none()
    );
    app.login_as(Role::Admin).await;
    let (status, html) = app.get_text("/admin/users").await;
    assert_eq!(status, 200);
    assert!(html.contains("engineer@casebook.test"));
}

async fn anonymous_visitors_are_sent_to_sign_in(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app.get("/cases?state=new").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Fcases%3Fstate%3Dnew"
    );
    let r = app.get("/admin/users").await;
    assert_eq!(r.status().as_u16(), 303);
    let r = app.get("/").await;
    assert_eq!(r.headers()["location"], "/login");
}

async fn sign_out_ends_the_session_on_the_server(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("agent@casebook.test", "Agent", Role::Agent);
    let token = common::csrf_from(&app.get_text("/login").await.1);
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "agent@casebook.test"),
            ("password", TEST_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("casebook_session="))
        .expect("a new session cookie is set at sign-in");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_string();
    assert_eq!(app.get_text("/cases").await.0, 200);

    let r = app.post_form("/logout", &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/login");
    assert_eq!(app.get_text("/cases").await.0, 303);

    // Replaying the old cookie from another client does not bring the session back.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = replay
        .get(app.url("/cases"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
}

async fn language_switch_translates_pages_and_is_remembered_per_user(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app
        .client
        .get(app.url("/login"))
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(
        r.text().await.unwrap().contains("登录"),
        "Accept-Language picks Chinese"
    );

    app.login_as(Role::Agent).await;
    let (_, html) = app.get_text("/cases").await;
    assert!(html.contains("No cases yet"));
    let r = app
        .post_form("/language", &[("lang", "zh-CN"), ("back", "/cases")])
        .await;
    assert_eq!(r.headers()["location"], "/cases");
    let (_, html) = app.get_text("/cases").await;
    assert!(html.contains("还没有案例"), "{html}");
    assert!(html.contains("lang=\"zh-CN\""));

    // Remembered on the account: a new browser that asks for English still gets Chinese after sign-in.
    let other = app.another_browser();
    let r = other.login("agent@casebook.test", TEST_PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303);
    let html = other
        .client
        .get(other.url("/cases"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("还没有案例"));
}

async fn admin_creates_and_disables_accounts_from_the_page(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Admin).await;
    let r = app
        .post_form(
            "/admin/users",
            &[
                ("name", "Shi Guannan"),
                ("email", "shign@cmgos.com"),
                ("role", "manager"),
                ("password", TEST_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = app.get_text("/admin/users").await;
    assert!(html.contains("shign@cmgos.com"));
    assert!(html.contains("Created shign@cmgos.com"));

    let dup = app
        .post_form(
            "/admin/users",
            &[
                ("name", "Again"),
                ("email", "SHIGN@cmgos.com"),
                ("role", "agent"),
                ("password", TEST_PASSWORD),
            ],
        )
        .await;
    assert_eq!(dup.status().as_u16(), 422);

    // The new manager signs in elsewhere, then is disabled: the session ends at once.
    let manager = app.another_browser();
    assert_eq!(
        manager
            .login("shign@cmgos.com", TEST_PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(manager.get_text("/cases").await.0, 200);
    let id = casebook::auth::User::find_by_email(&mut app.conn(), "shign@cmgos.com")
        .unwrap()
        .unwrap()
        .id;
    let r = app
        .post_form(&format!("/admin/users/{id}"), &[("action", "disable")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        manager.get_text("/cases").await.0,
        303,
        "disabled accounts are signed out"
    );
    assert_eq!(
        manager
            .login("shign@cmgos.com", TEST_PASSWORD)
            .await
            .status()
            .as_u16(),
        401
    );
}

async fn health_check_reports_the_database(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app.get("/healthz").await;
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["database"], true);
}

async fn unknown_pages_get_a_readable_not_found_page(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status().as_u16(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("Page not found."));
    let r = app
        .client
        .get(app.url("/nope"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("页面不存在"));
}

/// The three weak passwords of issue 15 and the words each refusal must contain.
const WEAK_PASSWORDS: [(&str, &str); 3] = [
    ("aaaaaaaaaa", "repeats the same characters"),
    ("1111111111", "repeats the same characters"),
    ("password123", "one of the most commonly used passwords"),
];

async fn setup_and_admin_pages_refuse_common_and_repeated_passwords_saying_why(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.setup_link.clone().expect("a setup link");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let setup = |password: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.post_form(
                "/setup",
                &[
                    ("token", &token),
                    ("name", "Wang Binbin"),
                    ("email", "wangbb@cmgos.com"),
                    ("password", password),
                    ("password_confirm", password),
                ],
            )
            .await
        }
    };
    for (password, why) in WEAK_PASSWORDS {
        let r = setup(password).await;
        assert_eq!(r.status().as_u16(), 422, "{password}");
        let html = r.text().await.unwrap();
        assert!(html.contains(why), "{password}: {html}");
        assert!(
            html.contains("wangbb@cmgos.com"),
            "the form keeps what was typed"
        );
    }
    assert_eq!(casebook::auth::User::count(&mut app.conn()).unwrap(), 0);

    // The reader's language: the same refusal in Chinese.
    app.post_form("/language", &[("lang", "zh-CN"), ("back", "/login")])
        .await;
    let html = setup("password123").await.text().await.unwrap();
    assert!(html.contains("这是最常用的密码之一"), "{html}");
    app.post_form("/language", &[("lang", "en"), ("back", "/login")])
        .await;

    assert_eq!(setup(TEST_PASSWORD).await.status().as_u16(), 303);

    // An admin creating an account is held to the same rule.
    for (password, why) in WEAK_PASSWORDS {
        let r = app
            .post_form(
                "/admin/users",
                &[
                    ("name", "Shi Guannan"),
                    ("email", "shign@cmgos.com"),
                    ("role", "agent"),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422, "{password}");
        assert!(r.text().await.unwrap().contains(why), "{password}");
    }
    let mut conn = app.conn();
    assert!(
        casebook::auth::User::find_by_email(&mut conn, "shign@cmgos.com")
            .unwrap()
            .is_none()
    );

    // And resetting a password.
    let agent = app.create_user("li.na@cmgos.com", "Li Na", Role::Agent);
    for (password, why) in WEAK_PASSWORDS {
        let r = app
            .post_form(
                &format!("/admin/users/{}", agent.id),
                &[("action", "password"), ("password", password)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422, "{password}");
        assert!(r.text().await.unwrap().contains(why), "{password}");
    }
    let after = casebook::auth::User::find_by_id(&mut conn, agent.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        after.password_hash, agent.password_hash,
        "the old password still stands"
    );
}

async fn hsts_is_sent_only_when_the_base_url_is_https(backend: BackendKind) {
    let Some(app) =
        spawn_app_with(backend, &[("CASEBOOK_BASE_URL", "https://help.cmgos.com")]).await
    else {
        return;
    };
    for path in ["/login", "/static/casebook.css", "/no/such/page"] {
        let r = app.get(path).await;
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }

    let Some(plain) = spawn_app(backend).await else {
        return;
    };
    let r = plain.get("/login").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers().get("strict-transport-security").is_none(),
        "an http:// base URL must not pin browsers to HTTPS"
    );
}

#[cfg(unix)]
#[actix_web::test]
async fn the_sqlite_database_and_its_wal_files_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app(BackendKind::Sqlite)
        .await
        .expect("SQLite is always available");
    // A write, so the write-ahead log certainly exists.
    app.create_user("li.na@cmgos.com", "Li Na", Role::Agent);
    let db = app.env.database_url.clone();
    for file in [db.clone(), format!("{db}-wal"), format!("{db}-shm")] {
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }
    let key = app.env.data_dir.path().join("secret.key");
    assert_eq!(
        std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
