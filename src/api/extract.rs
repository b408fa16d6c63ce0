//! [`ApiUser`]: the account behind the request's bearer token.
//!
//! Only `Authorization: Bearer …` is read. The session cookie is ignored on purpose: a page open in
//! a browser must not be able to drive the API with the visitor's session (and the API has no CSRF
//! check, which is safe only because of this).

use crate::auth::Operation;
use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};

use super::tokens::ApiToken;
use crate::auth::Role;
use crate::error::{AppError, ErrorInfo};
use crate::web::AppState;

/// The account a valid API token acts as. Taking it as a handler argument makes the route require
/// a token; [`ApiUser::require`] then checks the role, exactly as [`crate::web::CurrentUser`] does
/// for pages.
#[derive(Debug, Clone)]
pub struct ApiUser {
    /// Account id.
    pub id: i64,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

impl ApiUser {
    /// Refuses with 403 unless the account has one of `roles`.
    pub fn require(&self, op: Operation) -> Result<(), AppError> {
        if op.allows(self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Why a request was not authenticated; always 401 with `WWW-Authenticate: Bearer` (RFC 6750).
#[derive(Debug, thiserror::Error)]
pub enum ApiAuthError {
    /// No `Authorization: Bearer` header.
    #[error(
        "an API token is required: send `Authorization: Bearer <token>` (session cookies are not accepted here)"
    )]
    Missing,
    /// The token is unknown, revoked, or its account is disabled.
    #[error("the API token is not valid (unknown, revoked, or its account is disabled)")]
    Invalid,
    /// The lookup itself failed.
    #[error(transparent)]
    App(#[from] AppError),
}

impl ResponseError for ApiAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiAuthError::App(e) => e.status_code(),
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiAuthError::App(e) = self {
            return e.error_response();
        }
        let message = self.to_string();
        let kind = AppError::Unauthenticated.kind();
        let mut resp = HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"casebook\""))
            .json(serde_json::json!({"error": kind, "message": message}));
        // The same extension AppError attaches, so the error middleware treats it alike.
        resp.extensions_mut().insert(ErrorInfo {
            kind,
            message_en: message.clone(),
            message_zh: message,
        });
        resp
    }
}

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive, per RFC 7235).
fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

impl FromRequest for ApiUser {
    type Error = ApiAuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Already resolved for this request (by `web::authorize`): one token lookup per request.
        if let Some(user) = req.extensions().get::<ApiUser>().cloned() {
            return Box::pin(async move { Ok(user) });
        }
        let token = bearer_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let token = token.ok_or(ApiAuthError::Missing)?;
            let state = state
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?;
            let user = state
                .db(move |conn| Ok(ApiToken::authenticate(conn, &token)?))
                .await?
                .ok_or(ApiAuthError::Invalid)?;
            let user = ApiUser {
                id: user.id,
                role: user.role(),
                email: user.email,
                name: user.name,
            };
            req.extensions_mut().insert(user.clone());
            Ok(user)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header_only() {
        let read = |v: &str| {
            bearer_token(
                &TestRequest::default()
                    .insert_header((header::AUTHORIZATION, v))
                    .to_http_request(),
            )
        };
        assert_eq!(read("Bearer cb_abc").as_deref(), Some("cb_abc"));
        assert_eq!(read("bearer  cb_abc ").as_deref(), Some("cb_abc"));
        assert_eq!(read("Basic dXNlcjpwdw=="), None);
        assert_eq!(read("Bearer "), None);
        assert_eq!(
            bearer_token(&TestRequest::default().to_http_request()),
            None
        );
    }
}
