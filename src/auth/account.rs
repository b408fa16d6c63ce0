//! The second sign-in step and a person's own two-factor settings:
//! - `GET/POST /login/two-factor`: after the right password, the code from the app (or a recovery
//!   code). The password step leaves only "this account, until then, then go to …" in the
//!   session cookie; the server-side session starts after the code.
//! - `GET /account/two-factor`: enrol (QR code and key), or see that it is on and how many
//!   recovery codes are left; `POST /account/two-factor` confirms the enrolment with a code and
//!   shows the recovery codes once.

use super::sealed::SealKey;
use crate::web::routes::Access;
use actix_session::SessionExt;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::two_factor::{self, Enrolment, TwoFactorError};
use super::users::User;
use super::{routes::start_session, throttle};
use crate::error::{AppError, AppResult};
use crate::web::catalog::builtin;
use crate::web::local_path::LocalPath;
use crate::web::page::set_flash;
use crate::web::{AppState, CurrentUser, Page};

/// Session keys of a sign-in waiting for its second factor.
const PENDING_USER: &str = "2fa_user";
const PENDING_UNTIL: &str = "2fa_until";
const PENDING_NEXT: &str = "2fa_next";
/// How long the code may take after the password.
const PENDING_SECONDS: i64 = 300;

crate::route_table! {
    GET "/login/two-factor" => code_form, Access::Public;
    POST "/login/two-factor" => code_submit, Access::Public;
    GET "/account/two-factor" => settings, Access::SignedIn;
    POST "/account/two-factor" => confirm, Access::SignedIn;
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// Remembers, in a fresh cookie, that `user` gave the right password and must now give a code.
pub fn await_second_factor(req: &HttpRequest, user: &User, next: &str) -> AppResult<()> {
    let session = req.get_session();
    session.renew();
    let until = chrono::Utc::now().timestamp() + PENDING_SECONDS;
    let store = |k: &str, v: String| {
        session
            .insert(k, v)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("storing the sign-in step: {e}")))
    };
    store(PENDING_USER, user.id.to_string())?;
    store(PENDING_UNTIL, until.to_string())?;
    store(PENDING_NEXT, next.to_string())?;
    Ok(())
}

/// The account waiting for its second factor, if the password step is recent.
fn pending(req: &HttpRequest) -> Option<(i64, String)> {
    let session = req.get_session();
    let user: i64 = session.get::<String>(PENDING_USER).ok()??.parse().ok()?;
    let until: i64 = session.get::<String>(PENDING_UNTIL).ok()??.parse().ok()?;
    let next = session
        .get::<String>(PENDING_NEXT)
        .ok()
        .flatten()
        .unwrap_or_else(|| "/cases".into());
    (chrono::Utc::now().timestamp() <= until).then_some((user, next))
}

#[derive(Template)]
#[template(path = "auth/two_factor_login.html")]
struct CodePage {
    page: Page,
    error: Option<String>,
}

async fn code_form(req: HttpRequest, page: Page) -> AppResult<HttpResponse> {
    if pending(&req).is_none() {
        return Ok(redirect("/login"));
    }
    Ok(html(
        actix_web::http::StatusCode::OK,
        CodePage { page, error: None }.render()?,
    ))
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

enum CodeOutcome {
    Locked(i64),
    Wrong,
    Ok(User, two_factor::Proof),
}

async fn code_submit(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    let Some((user_id, next)) = pending(&req) else {
        set_flash(&req, "error", page.t("twofactor.expired"));
        return Ok(redirect("/login"));
    };
    let code = form.into_inner().code;
    // Codes are throttled per account like passwords: the password is already known here, so
    // the address does not matter.
    let keys = vec![format!("2fa:{user_id}")];
    let seal = SealKey::two_factor(&state.config);
    let outcome = state
        .db(move |conn| {
            if let Some(secs) = throttle::begin_attempt(conn, &keys)? {
                return Ok(CodeOutcome::Locked(secs));
            }
            let Some(user) = User::find_by_id(conn, user_id)?.filter(|u| !u.disabled) else {
                return Ok(CodeOutcome::Wrong);
            };
            match two_factor::verify(conn, &seal, user.id, &user.email, &code) {
                Ok(proof) => {
                    throttle::attempt_succeeded(conn, &keys)?;
                    Ok(CodeOutcome::Ok(user, proof))
                }
                Err(TwoFactorError::WrongCode | TwoFactorError::NotEnrolling) => {
                    Ok(CodeOutcome::Wrong)
                }
                Err(e) => Err(AppError::Internal(e.into())),
            }
        })
        .await?;
    match outcome {
        CodeOutcome::Locked(secs) => {
            let error = page
                .t("twofactor.throttled")
                .replace("{wait}", &builtin(page.lang).seconds(secs.max(0) as u64));
            let body = CodePage {
                page,
                error: Some(error),
            }
            .render()?;
            Ok(HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, secs.to_string()))
                .content_type("text/html; charset=utf-8")
                .body(body))
        }
        CodeOutcome::Wrong => {
            tracing::warn!(user_id, "wrong second-factor code");
            let error = page.t("twofactor.wrong").to_string();
            Ok(html(
                actix_web::http::StatusCode::UNAUTHORIZED,
                CodePage {
                    page,
                    error: Some(error),
                }
                .render()?,
            ))
        }
        CodeOutcome::Ok(user, proof) => {
            start_session(&req, &state, &user).await?;
            tracing::info!(user_id = user.id, ?proof, "signed in with a second factor");
            if proof == two_factor::Proof::RecoveryCode {
                set_flash(&req, "ok", page.t("twofactor.recovery.used"));
            }
            Ok(redirect(LocalPath::or(Some(&next), "/cases").as_str()))
        }
    }
}

#[derive(Template)]
#[template(path = "auth/two_factor_setup.html")]
struct SettingsPage {
    page: Page,
    enrolled: bool,
    required: bool,
    enrolment: Option<Enrolment>,
    recovery_left: i64,
    new_codes: Vec<String>,
    error: Option<String>,
}

impl SettingsPage {
    /// The QR code, an SVG drawn by the server from the `otpauth://` URL (rectangles only).
    fn qr(&self) -> &str {
        self.enrolment
            .as_ref()
            .map(|e| e.qr_svg.as_str())
            .unwrap_or("")
    }
}

/// What the settings page shows for `user`: starts an enrolment when there is none.
async fn load_settings(
    state: &AppState,
    user: &CurrentUser,
) -> AppResult<(bool, bool, Option<Enrolment>, i64)> {
    let (id, email, role) = (user.id, user.email.clone(), user.role);
    let seal = SealKey::two_factor(&state.config);
    state
        .db(move |conn| {
            let enrolled = two_factor::is_enrolled(conn, id)?;
            let required = two_factor::required_roles(conn)?.contains(&role);
            let enrolment = if enrolled {
                None
            } else {
                let pending = two_factor::pending_enrolment(conn, &seal, id, &email)
                    .map_err(|e| AppError::Internal(e.into()))?;
                match pending {
                    Some(e) => Some(e),
                    None => Some(
                        two_factor::start_enrolment(conn, &seal, id, &email)
                            .map_err(|e| AppError::Internal(e.into()))?,
                    ),
                }
            };
            let left = two_factor::recovery_codes_left(conn, id)?;
            Ok((enrolled, required, enrolment, left))
        })
        .await
}

async fn settings(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let (enrolled, required, enrolment, recovery_left) = load_settings(&state, &user).await?;
    let body = SettingsPage {
        page,
        enrolled,
        required,
        enrolment,
        recovery_left,
        new_codes: Vec::new(),
        error: None,
    }
    .render()?;
    Ok(html(actix_web::http::StatusCode::OK, body))
}

async fn confirm(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    let (id, email) = (user.id, user.email.clone());
    let code = form.into_inner().code;
    let keys = vec![format!("2fa:{id}")];
    let seal = SealKey::two_factor(&state.config);
    let result = state
        .db(move |conn| {
            if let Some(secs) = throttle::begin_attempt(conn, &keys)? {
                return Ok(Err(Some(secs)));
            }
            match two_factor::confirm_enrolment(conn, &seal, id, &email, &code) {
                Ok(codes) => {
                    throttle::attempt_succeeded(conn, &keys)?;
                    Ok(Ok(codes))
                }
                Err(TwoFactorError::WrongCode | TwoFactorError::NotEnrolling) => Ok(Err(None)),
                Err(e) => Err(AppError::Internal(e.into())),
            }
        })
        .await?;
    match result {
        Ok(codes) => {
            tracing::info!(user_id = user.id, "two-factor sign-in turned on");
            let body = SettingsPage {
                page,
                enrolled: true,
                required: false,
                enrolment: None,
                recovery_left: codes.len() as i64,
                new_codes: codes,
                error: None,
            }
            .render()?;
            Ok(html(actix_web::http::StatusCode::OK, body))
        }
        Err(locked) => {
            let error = match locked {
                Some(secs) => page
                    .t("twofactor.throttled")
                    .replace("{wait}", &builtin(page.lang).seconds(secs.max(0) as u64)),
                None => page.t("twofactor.wrong").to_string(),
            };
            let (enrolled, required, enrolment, recovery_left) =
                load_settings(&state, &user).await?;
            let body = SettingsPage {
                page,
                enrolled,
                required,
                enrolment,
                recovery_left,
                new_codes: Vec::new(),
                error: Some(error),
            }
            .render()?;
            Ok(html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                body,
            ))
        }
    }
}
