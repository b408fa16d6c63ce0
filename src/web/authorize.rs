//! Authorisation from the route table, before any handler or extractor runs.
//!
//! Every route declares who may reach it ([`super::routes::Access`]); this middleware finds the
//! request's route in [`super::routes::all`] and refuses what the table refuses — 401 (which
//! pages turn into the sign-in redirect) without an account or token, 403 for a role the
//! operation does not allow — before the handler reads a form, a JSON body or an upload. So a
//! refused role gets the same 403 whatever it sent, and a route cannot be mounted without saying
//! who may use it. Handlers still name their operation (`user.require(…)`); this is the same
//! rule applied once more, at the door.

use std::sync::LazyLock;

use actix_web::FromRequest;
use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use super::routes::{Access, all};
use crate::error::AppError;

static TABLE: LazyLock<Vec<(&'static str, ResourceDef, Access)>> = LazyLock::new(|| {
    all()
        .map(|r| (r.method, ResourceDef::new(r.path), r.access))
        .collect()
});

/// Who may reach `method path`, or `None` for a request no route serves (the 404 page).
pub fn access_of(method: &str, path: &str) -> Option<Access> {
    TABLE
        .iter()
        .find(|(m, def, _)| *m == method && def.is_match(path))
        .map(|(_, _, access)| *access)
}

/// The middleware; see the module documentation.
pub async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let refusal = match access_of(req.method().as_str(), req.path()) {
        None | Some(Access::Public) | Some(Access::InboundToken) => None,
        Some(Access::SignedIn) => match super::extract::optional_user(req.request()).await {
            Ok(Some(_)) => None,
            Ok(None) => Some(AppError::Unauthenticated.error_response()),
            Err(e) => Some(e.error_response()),
        },
        Some(Access::Page(op)) => match super::extract::optional_user(req.request()).await {
            Ok(Some(user)) if op.allows(user.role) => None,
            Ok(Some(_)) => Some(AppError::Forbidden.error_response()),
            Ok(None) => Some(AppError::Unauthenticated.error_response()),
            Err(e) => Some(e.error_response()),
        },
        Some(Access::Api(op)) => match crate::api::ApiUser::extract(req.request()).await {
            Ok(user) if op.allows(user.role) => None,
            Ok(_) => Some(AppError::Forbidden.error_response()),
            Err(e) => Some(e.error_response()),
        },
    };
    match refusal {
        Some(response) => Ok(req.into_response(response)),
        None => next.call(req).await.map(|r| r.map_into_boxed_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Operation;

    #[test]
    fn requests_find_their_routes_access() {
        assert_eq!(
            access_of("GET", "/cases/CAS-06004-S8K5X3"),
            Some(Access::Page(Operation::ReadCases))
        );
        assert_eq!(
            access_of("POST", "/cases/CAS-06004-S8K5X3/reply"),
            Some(Access::Page(Operation::Reply))
        );
        assert_eq!(
            access_of("POST", "/api/v1/cases/CAS-06004-S8K5X3/replies"),
            Some(Access::Api(Operation::Reply))
        );
        assert_eq!(access_of("GET", "/upload/abc"), Some(Access::Public));
        assert_eq!(access_of("DELETE", "/cases"), None);
        assert_eq!(access_of("GET", "/no/such/page"), None);
    }
}
