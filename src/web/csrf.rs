//! CSRF protection for every state-changing request made with a session cookie.
//!
//! Each browser session holds a random token; every form posts it back as `csrf_token` (or a
//! multipart form names it in the query string, or a script sends `X-CSRF-Token`). The check runs
//! as middleware in front of all routes, so a new form cannot forget it. Bearer-token routes
//! (`/api/…`, `/inbound/…`) carry no cookies and are exempt.

use actix_session::{Session, SessionExt};
use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use crate::auth::tokens::{constant_time_eq, random_token};
use crate::error::AppError;

const SESSION_KEY: &str = "csrf";
/// Field name in forms.
pub const FIELD: &str = "csrf_token";
/// Header name for scripts.
pub const HEADER: &str = "x-csrf-token";
/// Largest url-encoded form read by the check (long replies fit comfortably).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// The session's token, created on first use.
pub fn session_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(SESSION_KEY) {
        return t;
    }
    let t = random_token();
    let _ = session.insert(SESSION_KEY, &t);
    t
}

fn is_exempt(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/inbound/") || path == "/healthz"
}

fn find_field(urlencoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(urlencoded)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

/// The middleware: refuses unsafe requests whose token is missing or wrong with 403.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !is_exempt(req.path()) {
        let expected: Option<String> = req.get_session().get(SESSION_KEY).unwrap_or(None);
        let mut provided = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| find_field(req.query_string().as_bytes()));
        let is_urlencoded = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if provided.is_none() && is_urlencoded {
            let too_large = || {
                AppError::PayloadTooLarge(format!(
                    "form larger than {} MiB",
                    MAX_FORM_BYTES / 1024 / 1024
                ))
            };
            let body: Bytes = match req.extract::<Bytes>().await {
                Ok(b) if b.len() <= MAX_FORM_BYTES => b,
                _ => {
                    return Ok(req
                        .into_response(too_large().error_response())
                        .map_into_right_body());
                }
            };
            provided = find_field(&body);
            req.set_payload(actix_http::Payload::from(body));
        }
        let ok = matches!((&expected, &provided), (Some(e), Some(p)) if constant_time_eq(e, p));
        if !ok {
            return Ok(req
                .into_response(AppError::Csrf.error_response())
                .map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
