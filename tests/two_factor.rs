//! Two-factor sign-in through the front door, on SQLite and PostgreSQL: enrolment with a code from
//! an authenticator app (computed here from the key the page shows), sign-in that needs a fresh
//! code, codes that work once, recovery codes, throttling, an admin reset and the role policy.

mod common;

use casebook::auth::Role;
use common::{BackendKind, TEST_PASSWORD, TestApp, spawn_app};

both_backends!(
    enrolling_then_signing_in_needs_a_code_that_works_only_once,
    wrong_codes_are_throttled_like_passwords,
    an_admin_resets_a_lost_second_factor_and_requires_it_for_a_role,
    the_key_is_stored_sealed_and_keys_left_in_clear_are_sealed_at_startup,
);

fn step_now() -> i64 {
    common::totp_step_now()
}

fn app_code(secret: &str, step: i64) -> String {
    common::totp_code(secret, step)
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page"))
        + start.len();
    &html[at..at + html[at..].find(end).unwrap()]
}

/// Enrols the signed-in client: returns the key, the time step of the code that confirmed it
/// (codes are named by step, so the test does not depend on where a 30-second boundary falls),
/// and the recovery codes shown.
async fn enrol(app: &TestApp) -> (String, i64, Vec<String>) {
    let (status, html) = app.get_text("/account/two-factor").await;
    assert_eq!(status, 200);
    assert!(html.contains("<svg"), "a QR code drawn on the server");
    let secret = between(&html, "<code class=\"totp-secret\">", "</code>").to_string();
    let r = app
        .post_form("/account/two-factor", &[("code", "000000")])
        .await;
    assert_eq!(r.status().as_u16(), 422, "a wrong code does not turn it on");
    let step = step_now();
    let r = app
        .post_form("/account/two-factor", &[("code", &app_code(&secret, step))])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Two-factor sign-in is on."));
    let codes: Vec<String> = between(&html, "<ul class=\"recovery-codes mono\">", "</ul>")
        .split("<li>")
        .filter_map(|s| s.split("</li>").next())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes");
    (secret, step, codes)
}

async fn sign_out(app: &TestApp) {
    let r = app.post_form("/logout", &[]).await;
    assert_eq!(r.status().as_u16(), 303);
}

async fn code(app: &TestApp, code: &str) -> u16 {
    app.post_form("/login/two-factor", &[("code", code)])
        .await
        .status()
        .as_u16()
}

async fn enrolling_then_signing_in_needs_a_code_that_works_only_once(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let (secret, step, recovery) = enrol(&app).await;
    sign_out(&app).await;

    let r = app.login("agent@casebook.test", TEST_PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/login/two-factor");
    let (status, _) = app.get_text("/cases").await;
    assert_eq!(status, 303, "the password alone does not sign in");
    // The code that turned it on was used at this time step: typed again, it is refused.
    assert_eq!(code(&app, &app_code(&secret, step)).await, 401);
    assert_eq!(
        code(&app, &app_code(&secret, step + 1)).await,
        303,
        "the next code works"
    );
    let (status, _) = app.get_text("/cases").await;
    assert_eq!(status, 200, "signed in");

    sign_out(&app).await;
    app.login("agent@casebook.test", TEST_PASSWORD).await;
    assert_eq!(
        code(&app, &app_code(&secret, step + 1)).await,
        401,
        "a code works once"
    );
    assert_eq!(
        code(&app, &recovery[3].to_uppercase()).await,
        303,
        "a recovery code"
    );
    let (status, _) = app.get_text("/cases").await;
    assert_eq!(status, 200);
    let (_, html) = app.get_text("/account/two-factor").await;
    assert!(
        html.contains("<strong>9</strong>"),
        "nine recovery codes left"
    );

    sign_out(&app).await;
    app.login("agent@casebook.test", TEST_PASSWORD).await;
    assert_eq!(
        code(&app, &recovery[3]).await,
        401,
        "a recovery code works once"
    );
}

async fn wrong_codes_are_throttled_like_passwords(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let (secret, step, _) = enrol(&app).await;
    sign_out(&app).await;
    app.login("agent@casebook.test", TEST_PASSWORD).await;
    for guess in ["111111", "222222", "333333", "444444", "555555"] {
        assert_eq!(code(&app, guess).await, 401);
    }
    assert_eq!(
        code(&app, &app_code(&secret, step + 1)).await,
        429,
        "after five wrong codes even the right one waits"
    );
}

async fn an_admin_resets_a_lost_second_factor_and_requires_it_for_a_role(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent_browser = app.another_browser();
    let agent = agent_browser.login_as(Role::Agent).await;
    enrol(&agent_browser).await;
    sign_out(&agent_browser).await;

    app.login_as(Role::Admin).await;
    let (_, html) = app.get_text("/admin/users").await;
    assert!(html.contains("Reset two-factor"));
    let r = app
        .post_form(
            &format!("/admin/users/{}", agent.id),
            &[("action", "reset_two_factor")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = agent_browser
        .login("agent@casebook.test", TEST_PASSWORD)
        .await;
    assert_eq!(
        r.headers()["location"],
        "/cases",
        "after the reset the password signs in again"
    );

    // Agents must now use a second factor: the agent is sent to enrol before any other page.
    let r = app
        .post_form(
            "/admin/two-factor",
            &[("role", "agent"), ("role", "manager")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = agent_browser.get("/cases").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/account/two-factor");
    let (status, html) = agent_browser.get_text("/account/two-factor").await;
    assert_eq!(status, 200);
    assert!(html.contains("Your role must sign in with a second factor."));
    let (_, html) = app.get_text("/admin/users").await;
    assert!(html.contains("name=\"role\" value=\"agent\" checked"));
    // Admins were not named: the admin's own pages still open.
    let (status, _) = app.get_text("/cases").await;
    assert_eq!(status, 200);
}

/// A copy of the database alone does not give away anyone's second factor: the key is stored
/// sealed with the instance's secret, and a key stored in clear by an older version is sealed the
/// next time Casebook starts — and still works.
async fn the_key_is_stored_sealed_and_keys_left_in_clear_are_sealed_at_startup(
    backend: BackendKind,
) {
    use casebook::auth::schema::user_totp;
    use diesel::prelude::*;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.login_as(Role::Agent).await;
    let (secret, step, _) = enrol(&app).await;
    let stored = || -> String {
        user_totp::table
            .find(agent.id)
            .select(user_totp::secret)
            .first(&mut app.conn())
            .unwrap()
    };
    let sealed = stored();
    assert!(sealed.starts_with("sealed:v1:"), "{sealed}");
    assert!(!sealed.contains(&secret));

    // As an older version left it: in clear. Starting again seals it.
    diesel::update(user_totp::table.find(agent.id))
        .set(user_totp::secret.eq(&secret))
        .execute(&mut app.conn())
        .unwrap();
    casebook::startup::prepare((*app.config).clone()).expect("restart");
    let resealed = stored();
    assert!(resealed.starts_with("sealed:v1:"), "{resealed}");
    assert!(!resealed.contains(&secret));

    sign_out(&app).await;
    app.login("agent@casebook.test", TEST_PASSWORD).await;
    assert_eq!(code(&app, &app_code(&secret, step + 1)).await, 303);
}
