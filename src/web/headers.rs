//! Response headers that depend on the request or the configuration, so `DefaultHeaders` in
//! [`crate::startup`] cannot set them:
//!
//! - `Cache-Control: no-store` on every response that does not choose its own caching. Pages,
//!   downloads and API answers carry case data, tokens and CSRF tokens; neither the browser's disk
//!   cache (a shared or stolen computer, the back button after signing out) nor a proxy may keep
//!   them. Compiled-in assets (`/static/…`, the diagnostics stylesheet) set `public, max-age` and
//!   are left alone.
//! - `Strict-Transport-Security` when `base_url` is `https://`: browsers then refuse plain HTTP to
//!   this host for a year, so a network attacker cannot strip TLS from a later visit. Not sent for
//!   `http://` (it would mean nothing there, and a test or LAN setup must not be pinned to HTTPS).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::web::AppState;

/// `max-age` of one year, the value browsers' preload lists ask for.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The middleware (`.wrap(from_fn(web::headers::apply))`).
pub async fn apply(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.is_https());
    match next.call(req).await {
        Ok(mut res) => {
            add(res.headers_mut(), https);
            Ok(res.map_into_boxed_body())
        }
        // An error that escaped the inner middleware keeps its response, with the headers added.
        // (The request cannot be kept to build a response here: routing needs it unshared.)
        Err(e) => {
            let mut response = e.error_response();
            add(response.headers_mut(), https);
            Err(InternalError::from_response(e, response).into())
        }
    }
}

fn add(headers: &mut HeaderMap, https: bool) {
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}
