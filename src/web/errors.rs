//! Turns error responses into something a person can read: an HTML page in their language for
//! browsers, a redirect to the sign-in form when a page needs a session, and JSON under `/api`.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::AppState;
use super::extract::request_lang;
use crate::error::ErrorInfo;
use crate::i18n::Lang;

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: &'a str,
    status: u16,
    title: &'a str,
    message: &'a str,
    home: &'a str,
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
    let catalog = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.catalog.clone());
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
    let t = |key: &'static str| -> String {
        catalog
            .as_ref()
            .map(|c| c.get(lang, key).to_string())
            .unwrap_or_else(|| key.to_string())
    };
    let message = match &info {
        Some(i) => match lang {
            Lang::En => i.message_en.clone(),
            Lang::ZhCn => i.message_zh.clone(),
        },
        None => status.canonical_reason().unwrap_or("Error").to_string(),
    };
    let title = match status.as_u16() {
        403 => t("error.forbidden"),
        404 => t("error.not_found"),
        500..=599 => t("error.server"),
        _ => t("error.request"),
    };
    let page = ErrorPage {
        lang: lang.code(),
        status: status.as_u16(),
        title: &title,
        message: &message,
        home: &t("error.home"),
    };
    let body = page.render().unwrap_or_else(|_| message.clone());
    let mut resp = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    if let Some(v) = res.headers().get(header::RETRY_AFTER) {
        resp.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    Ok(res.into_response(resp))
}

/// The default service: every unknown path is a 404 page.
pub async fn not_found() -> Result<HttpResponse, crate::error::AppError> {
    Err(crate::error::AppError::NotFound)
}
