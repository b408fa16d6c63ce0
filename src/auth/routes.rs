//! Sign in, sign out, first-run setup and the language switch.

use crate::web::routes::Access;
use actix_session::SessionExt;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::role::Role;
use super::users::{User, validate_email};
use super::{password, sessions, setup, throttle, two_factor};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::catalog::builtin;
use crate::web::extract::{SESSION_ID_KEY, SESSION_LANG_KEY};
use crate::web::local_path::LocalPath;
use crate::web::page::set_flash;
use crate::web::{AppState, CurrentUser, Page};

crate::route_table! {
    GET "/" => home, Access::Public;
    GET "/login" => login_form, Access::Public;
    POST "/login" => login, Access::Public;
    POST "/logout" => logout, Access::Public;
    GET "/setup" => setup_form, Access::Public;
    POST "/setup" => setup_submit, Access::Public;
    POST "/language" => switch_language, Access::Public;
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// Only a path on this site is followed after sign-in or a language switch (no open redirect);
/// anything else, control characters included, falls back to the case list.
fn safe_next(next: Option<&str>) -> String {
    LocalPath::or(next, "/cases").as_str().to_string()
}

async fn home(page: Page) -> HttpResponse {
    redirect(if page.user.is_some() {
        "/cases"
    } else {
        "/login"
    })
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(page: Page, q: web::Query<NextQuery>) -> AppResult<HttpResponse> {
    if page.user.is_some() {
        return Ok(redirect(&safe_next(q.next.as_deref())));
    }
    let body = LoginPage {
        page,
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        error: None,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

enum LoginOutcome {
    Locked(i64),
    Failed,
    Ok(User),
}

#[tracing::instrument(skip_all, fields(email = %form.email))]
async fn login(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let ip = crate::web::client::client_ip(&req, &state.config)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "unknown".into());
    let keys = throttle::keys(&form.email, &ip);
    let email = form.email.clone();
    let pw = SecretString::from(form.password);
    let outcome = state
        .db(move |conn| {
            // Checked and counted before the (slow) password check, in one step: attempts sent
            // at once cannot all slip through before the first is recorded.
            if let Some(secs) = throttle::begin_attempt(conn, &keys)? {
                return Ok(LoginOutcome::Locked(secs));
            }
            let user = User::find_by_email(conn, &email)?;
            let ok = match &user {
                Some(u) if !u.disabled => password::verify_password(&pw, &u.password_hash),
                _ => {
                    password::verify_against_dummy(&pw);
                    false
                }
            };
            match user {
                Some(u) if ok => {
                    throttle::attempt_succeeded(conn, &keys)?;
                    Ok(LoginOutcome::Ok(u))
                }
                _ => Ok(LoginOutcome::Failed),
            }
        })
        .await?;
    let lang = page.lang;
    match outcome {
        LoginOutcome::Locked(secs) => {
            tracing::warn!(ip = %ip, "sign-in throttled");
            let msg = page
                .t("login.throttled")
                .replace("{wait}", &builtin(lang).seconds(secs.max(0) as u64));
            let body = LoginPage {
                next: safe_next(form.next.as_deref()),
                email: form.email,
                error: Some(msg),
                page,
            }
            .render()?;
            Ok(HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, secs.to_string()))
                .content_type("text/html; charset=utf-8")
                .body(body))
        }
        LoginOutcome::Failed => {
            let msg = page.t("login.failed").to_string();
            let body = LoginPage {
                next: safe_next(form.next.as_deref()),
                email: form.email,
                error: Some(msg),
                page,
            }
            .render()?;
            Ok(HttpResponse::Unauthorized()
                .content_type("text/html; charset=utf-8")
                .body(body))
        }
        LoginOutcome::Ok(user) => {
            let id = user.id;
            if state
                .db(move |conn| Ok(two_factor::is_enrolled(conn, id)?))
                .await?
            {
                // The password is right; the session starts only after the second factor.
                super::account::await_second_factor(&req, &user, &safe_next(form.next.as_deref()))?;
                return Ok(redirect("/login/two-factor"));
            }
            start_session(&req, &state, &user).await?;
            tracing::info!(user_id = user.id, "signed in");
            Ok(redirect(&safe_next(form.next.as_deref())))
        }
    }
}

/// Creates the server-side session and rotates the cookie (a new id defeats session fixation).
pub(crate) async fn start_session(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &User,
) -> AppResult<()> {
    let user_id = user.id;
    let sid = state
        .db(move |conn| Ok(sessions::create(conn, user_id)?))
        .await?;
    let session = req.get_session();
    let lang: Option<String> = session.get(SESSION_LANG_KEY).unwrap_or(None);
    // clear + renew: a fresh cookie (new id) with only what we put in now.
    session.clear();
    session.renew();
    session
        .insert(SESSION_ID_KEY, sid)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("storing the session id: {e}")))?;
    if let Some(l) = user.locale.clone().or(lang) {
        let _ = session.insert(SESSION_LANG_KEY, l);
    }
    Ok(())
}

async fn logout(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let session = req.get_session();
    let sid: Option<String> = session.get(SESSION_ID_KEY).unwrap_or(None);
    if let Some(sid) = sid {
        state
            .db(move |conn| Ok(sessions::destroy(conn, &sid)?))
            .await?;
    }
    session.purge();
    Ok(redirect("/login"))
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    page: Page,
    token: String,
    name: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SetupQuery {
    token: Option<String>,
}

async fn setup_form(
    page: Page,
    state: web::Data<AppState>,
    q: web::Query<SetupQuery>,
) -> AppResult<HttpResponse> {
    let token = q.into_inner().token.unwrap_or_default();
    let t = token.clone();
    if !state.db(move |conn| Ok(setup::is_valid(conn, &t)?)).await? {
        return Err(AppError::NotFound);
    }
    let body = SetupPage {
        page,
        token,
        name: String::new(),
        email: String::new(),
        error: None,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    name: String,
    email: String,
    password: String,
    password_confirm: String,
}

async fn setup_submit(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<SetupForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let pw = SecretString::from(form.password.clone());
    let problem = if form.name.trim().is_empty() {
        Some(page.t("setup.name_required").to_string())
    } else if let Err(e) = validate_email(&form.email) {
        Some(e)
    } else if form.password != form.password_confirm {
        Some(page.t("setup.password_mismatch").to_string())
    } else {
        password::check_policy(&pw, &[&form.name, &form.email])
            .err()
            .map(|e| e.message(&page))
    };
    if let Some(error) = problem {
        let body = SetupPage {
            page,
            token: form.token,
            name: form.name,
            email: form.email,
            error: Some(error),
        }
        .render()?;
        return Ok(HttpResponse::UnprocessableEntity()
            .content_type("text/html; charset=utf-8")
            .body(body));
    }
    let hash = web::block(move || password::hash_password(&pw)).await??;
    let (token, name, email) = (form.token, form.name, form.email);
    let user = state
        .db(move |conn| {
            crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
                if !setup::is_valid(conn, &token)? {
                    return Err(AppError::NotFound);
                }
                let user = User::create(conn, &email, &name, Role::Admin, &hash)?;
                setup::consume_all(conn)?;
                Ok(user)
            })
        })
        .await?;
    tracing::info!(
        user_id = user.id,
        "first admin created through the setup link"
    );
    start_session(&req, &state, &user).await?;
    set_flash(&req, "ok", page.t("setup.done"));
    Ok(redirect("/cases"))
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    back: Option<String>,
}

async fn switch_language(
    req: HttpRequest,
    user: Option<CurrentUser>,
    state: web::Data<AppState>,
    form: web::Form<LangForm>,
) -> AppResult<HttpResponse> {
    let lang: Lang = form
        .lang
        .parse()
        .map_err(|e: crate::i18n::LangError| AppError::BadRequest(e.to_string()))?;
    let _ = req.get_session().insert(SESSION_LANG_KEY, lang.code());
    if let Some(u) = user {
        state
            .db(move |conn| Ok(User::set_locale(conn, u.id, lang.code())?))
            .await?;
    }
    Ok(redirect(&safe_next(form.back.as_deref())))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/cases?state=new")), "/cases?state=new");
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(evil)), "/cases", "{evil}");
        }
        assert_eq!(safe_next(None), "/cases");
    }
}
