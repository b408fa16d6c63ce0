//! CSRF protection for every state-changing request made with a session cookie.
//!
//! Each browser session holds a random token; every form posts it back as the field `csrf_token`
//! (or a script sends `X-CSRF-Token`). The check runs as middleware in front of all routes, so a
//! new form cannot forget it. Bearer-token routes (`/api/…`, `/inbound/…`) carry no cookies and are
//! exempt.
//!
//! The token is never read from the URL: a URL ends up in the browser's history, in proxy and
//! server logs and in `Referer` headers, where a session secret has no business. A url-encoded form
//! is read whole (it is small) and put back for the handler. A multipart form (a reply with
//! attachments, a diagnostics upload) may be as large as a mail, so only its beginning is read: the
//! token must be one of the fields before the first file and within the first
//! [`MAX_MULTIPART_PREFIX`] bytes — forms put it first, and browsers send fields in page order. The
//! bytes read are handed back in front of the rest of the stream, so the handler reads the body as
//! sent, with its own size limits.

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, ResponseError};
use futures_util::StreamExt;

use crate::auth::tokens::{constant_time_eq, random_token};
use crate::error::AppError;

const SESSION_KEY: &str = "csrf";
/// Field name in forms.
pub const FIELD: &str = "csrf_token";
/// Header name for scripts.
pub const HEADER: &str = "x-csrf-token";
/// Largest url-encoded form read by the check (long replies fit comfortably).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;
/// How much of a multipart body is read to find the token: the fields before the first file.
pub const MAX_MULTIPART_PREFIX: usize = 64 * 1024;

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

/// What the beginning of a multipart body says about its `csrf_token` field.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// The field's value.
    Found(String),
    /// Not among the fields before the first file (or the body is not a form).
    Absent,
    /// The bytes so far end inside the fields before the first file: read on.
    NeedMore,
}

/// Finds `needle` in `haystack` from `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The `name` parameter of a `Content-Disposition` header (quoted or bare).
fn disposition_param(value: &str, param: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(param)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Reads the parts of a multipart body's beginning, in order, until the `csrf_token` field, a file
/// part (the token comes before files) or the end of what has arrived.
fn scan_multipart(body: &[u8], boundary: &str) -> Scan {
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    let Some(first) = find(body, &delimiter, 0) else {
        return Scan::NeedMore;
    };
    let mut pos = first + delimiter.len();
    loop {
        let Some(after) = body.get(pos..pos + 2) else {
            return Scan::NeedMore;
        };
        if after == b"--" {
            return Scan::Absent;
        }
        let Some(headers_end) = find(body, b"\r\n\r\n", pos) else {
            return Scan::NeedMore;
        };
        let headers = String::from_utf8_lossy(&body[pos..headers_end]);
        let disposition = headers.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then(|| value.trim().to_string())
        });
        let Some(disposition) = disposition else {
            return Scan::Absent;
        };
        if disposition_param(&disposition, "filename").is_some() {
            return Scan::Absent;
        }
        let content_start = headers_end + 4;
        let Some(content_end) = find(body, &next_delimiter, content_start) else {
            return Scan::NeedMore;
        };
        if disposition_param(&disposition, "name").as_deref() == Some(FIELD) {
            return match std::str::from_utf8(&body[content_start..content_end]) {
                Ok(v) => Scan::Found(v.to_string()),
                Err(_) => Scan::Absent,
            };
        }
        pos = content_end + next_delimiter.len();
    }
}

/// The token of a multipart form, read from the first bytes of its body; those bytes are put back
/// in front of the rest, so the handler reads the whole body.
async fn multipart_token(
    req: &mut ServiceRequest,
    boundary: &str,
) -> Result<Option<String>, actix_web::error::PayloadError> {
    let mut payload = req.take_payload();
    let mut prefix = BytesMut::new();
    let mut result = Ok(None);
    loop {
        match scan_multipart(&prefix, boundary) {
            Scan::Found(token) => {
                result = Ok(Some(token));
                break;
            }
            Scan::Absent => break,
            Scan::NeedMore if prefix.len() >= MAX_MULTIPART_PREFIX => break,
            Scan::NeedMore => {}
        }
        match payload.next().await {
            Some(Ok(chunk)) => prefix.extend_from_slice(&chunk),
            Some(Err(e)) => {
                result = Err(e);
                break;
            }
            None => break,
        }
    }
    let head = prefix.freeze();
    let body = futures_util::stream::once(async move { Ok(head) }).chain(payload);
    let body: actix_http::BoxedPayloadStream = Box::pin(body);
    req.set_payload(actix_http::Payload::from(body));
    result
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
            .map(str::to_string);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if provided.is_none() && essence == "application/x-www-form-urlencoded" {
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
        } else if provided.is_none() && essence == "multipart/form-data" {
            let boundary = disposition_param(&content_type, "boundary").unwrap_or_default();
            if !boundary.is_empty() {
                provided = match multipart_token(&mut req, &boundary).await {
                    Ok(token) => token,
                    Err(e) => {
                        let refusal =
                            AppError::BadRequest(format!("the form could not be read: {e}"));
                        return Ok(req
                            .into_response(refusal.error_response())
                            .map_into_right_body());
                    }
                };
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &str = "----WebKitFormBoundaryX1";

    fn part(name: &str, filename: Option<&str>, content: &str) -> String {
        let file = filename
            .map(|f| format!("; filename=\"{f}\"\r\nContent-Type: text/plain"))
            .unwrap_or_default();
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{content}\r\n"
        )
    }

    fn end() -> String {
        format!("--{BOUNDARY}--\r\n")
    }

    #[test]
    fn the_token_field_is_found_among_the_fields_before_the_files() {
        let body = [
            part("seen", None, "m1:e2"),
            part("csrf_token", None, "tok-EN_123"),
            part("attachments", Some("a.txt"), "hello"),
            end(),
        ]
        .concat();
        assert_eq!(
            scan_multipart(body.as_bytes(), BOUNDARY),
            Scan::Found("tok-EN_123".into())
        );
    }

    #[test]
    fn a_token_after_a_file_or_missing_is_absent() {
        let after_file = [
            part("attachments", Some("a.txt"), "csrf_token"),
            part("csrf_token", None, "tok"),
            end(),
        ]
        .concat();
        assert_eq!(
            scan_multipart(after_file.as_bytes(), BOUNDARY),
            Scan::Absent
        );
        let none = [part("body", None, "hi"), end()].concat();
        assert_eq!(scan_multipart(none.as_bytes(), BOUNDARY), Scan::Absent);
    }

    #[test]
    fn a_body_cut_before_the_token_is_complete_asks_for_more() {
        let body = [
            part("body", None, "hi"),
            part("csrf_token", None, "tok-123"),
        ]
        .concat();
        // Every cut before the end of the token's part (its closing CRLF and the next delimiter).
        for cut in 0..body.len() {
            assert_eq!(
                scan_multipart(&body.as_bytes()[..cut], BOUNDARY),
                Scan::NeedMore,
                "cut at {cut}"
            );
        }
        let whole = format!("{body}--{BOUNDARY}");
        assert_eq!(
            scan_multipart(whole.as_bytes(), BOUNDARY),
            Scan::Found("tok-123".into())
        );
    }

    #[test]
    fn the_boundary_is_read_quoted_or_bare() {
        assert_eq!(
            disposition_param("multipart/form-data; boundary=\"a b\"", "boundary").as_deref(),
            Some("a b")
        );
        assert_eq!(
            disposition_param("multipart/form-data;boundary=xyz", "boundary").as_deref(),
            Some("xyz")
        );
    }
}
