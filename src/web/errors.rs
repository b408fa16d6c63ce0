//! Turns error responses into something a person can read: an HTML page in their language for
//! browsers, a redirect to the sign-in form when a page needs a session, and JSON under `/api`.

use actix_session::SessionExt;
use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use askama::Template;

use super::Page;
use super::extract::request_lang;
use crate::error::ErrorInfo;
use crate::i18n::Lang;

/// The error page: inside the normal layout (navigation bar, language switch), with the ways back
/// that fit the request — the case it was about, the case list, a search box.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    title: String,
    message: String,
    /// The case the failed request was about (its page exists as far as this request knows).
    case_number: Option<String>,
    /// Pre-filled search text (the case number that was not found).
    search: String,
}

/// The minimal page when even the layout cannot be drawn (no application state).
#[derive(Template)]
#[template(path = "error_plain.html")]
struct PlainErrorPage<'a> {
    lang: &'a str,
    status: u16,
    message: &'a str,
}

/// What a failed path under `/cases/` says about the way back.
struct CasePath {
    /// The path's case segment as written (at most 100 characters).
    asked: String,
    /// That segment as a case number, when it is one.
    number: Option<String>,
    /// Whether the request was for the case's own page (`/cases/{number}`), so a 404 means there
    /// is no such case.
    own_page: bool,
}

fn case_in_path(path: &str) -> Option<CasePath> {
    let rest = path.strip_prefix("/cases/")?;
    let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if segment.is_empty() {
        return None;
    }
    let asked = percent_decode(segment).chars().take(100).collect();
    Some(CasePath {
        number: crate::cases::CaseNumber::parse(segment)
            .ok()
            .map(|n| n.as_str().to_string()),
        asked,
        own_page: tail.is_empty(),
    })
}

/// A path segment as the person typed it (`%20` → space), for the search box.
fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(segment.replace('+', "%2B").as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/inbound/") || path == "/healthz"
}

/// The middleware.
pub async fn render(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Everything needed later is read now: the request cannot be cloned across routing.
    let path = req.path().to_string();
    let query = req.query_string().to_string();
    let lang = request_lang(req.request(), &req.get_session());
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if status.as_u16() < 400 || is_machine_path(&path) {
        return Ok(res);
    }
    if status == StatusCode::UNAUTHORIZED
        && res.response().extensions().get::<ErrorInfo>().is_some()
    {
        let target = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let location = format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
        );
        return Ok(res.into_response(
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish(),
        ));
    }
    let info = res.response().extensions().get::<ErrorInfo>().cloned();
    if info.is_none()
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
    {
        // The handler rendered its own page (e.g. the sign-in form with an error).
        return Ok(res);
    }
    let message = match &info {
        Some(i) => match lang {
            Lang::En => i.message_en.clone(),
            Lang::ZhCn => i.message_zh.clone(),
        },
        None => status.canonical_reason().unwrap_or("Error").to_string(),
    };
    let body = match Page::for_error(res.request()).await {
        Some(page) => error_page(page, status, &path, message),
        None => PlainErrorPage {
            lang: lang.code(),
            status: status.as_u16(),
            message: &message,
        }
        .render()
        .unwrap_or(message),
    };
    let mut resp = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    if let Some(v) = res.headers().get(header::RETRY_AFTER) {
        resp.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    Ok(res.into_response(resp))
}

/// The error page for `status` on `path`, in the page's language.
fn error_page(page: Page, status: StatusCode, path: &str, message: String) -> String {
    let code = status.as_u16();
    let in_path = case_in_path(path);
    let unknown_case = code == 404 && in_path.as_ref().is_some_and(|c| c.own_page);
    let (title, message, search) = match &in_path {
        Some(c) if unknown_case => (
            page.t("error.case_not_found").to_string(),
            page.t("error.case_not_found.message")
                .replace("{number}", &c.asked),
            c.asked.clone(),
        ),
        _ => {
            let title = match code {
                403 => page.t("error.forbidden"),
                404 => page.t("error.not_found"),
                409 => page.t("error.conflict"),
                410 => page.t("error.gone"),
                413 => page.t("error.too_large"),
                422 => page.t("error.unprocessable"),
                429 => page.t("error.too_many"),
                500..=599 => page.t("error.server"),
                _ => page.t("error.request"),
            };
            (title.to_string(), message, String::new())
        }
    };
    let case_number = in_path.filter(|_| !unknown_case).and_then(|c| c.number);
    let rendered = ErrorPage {
        page,
        status: code,
        title,
        message: message.clone(),
        case_number,
        search,
    }
    .render();
    rendered.unwrap_or_else(|e| {
        tracing::error!(error = %e, "the error page could not be rendered");
        message
    })
}

/// The default service: every unknown path is a 404 page.
pub async fn not_found() -> Result<HttpResponse, crate::error::AppError> {
    Err(crate::error::AppError::NotFound)
}
