//! The one application error type and its single mapping to HTTP.
//!
//! Handlers return `Result<_, AppError>`. The response carries the error's kind and a safe message;
//! the page middleware ([`crate::web::errors`]) turns it into an HTML page in the reader's language,
//! or into `{"error","message"}` JSON under `/api`. The full cause chain goes to the log only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// What went wrong, at the level a user or client can act on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in (pages redirect to the login form; the API answers 401).
    #[error("sign-in required")]
    Unauthenticated,
    /// Signed in, but the role does not allow this.
    #[error("your role does not allow this")]
    Forbidden,
    /// The form's CSRF token is missing or wrong.
    #[error("the form has expired or was not sent by Casebook")]
    Csrf,
    /// No such page or record.
    #[error("not found")]
    NotFound,
    /// The request is malformed or a field is invalid; the message says which.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state (illegal transition, stale form).
    #[error("{0}")]
    Conflict(String),
    /// An `If-Match` precondition failed: the resource changed since the client read it.
    #[error("{0}")]
    PreconditionFailed(String),
    /// Valid request, but a requirement is missing (e.g. a transition needs a note).
    #[error("{0}")]
    Unprocessable(String),
    /// Too many attempts; the message says when to try again.
    #[error("{0}")]
    TooManyRequests(String),
    /// The request body exceeds a configured limit; the message names the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Anything unexpected: logged in full, shown as a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// Machine-readable kind, used in API errors.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::NotFound => "not_found",
            AppError::BadRequest(_) => "bad_request",
            AppError::Conflict(_) => "conflict",
            AppError::PreconditionFailed(_) => "precondition_failed",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message shown to people, in `lang` for the fixed kinds (others carry their own text).
    pub fn public_message(&self, lang: Lang) -> String {
        let text = builtin(lang);
        match self {
            AppError::Unauthenticated => text.t("error.message.unauthenticated").into(),
            AppError::Forbidden => text.t("error.message.forbidden").into(),
            AppError::Csrf => text.t("error.message.csrf").into(),
            AppError::NotFound => text.t("error.message.not_found").into(),
            AppError::Internal(_) => text.t("error.message.internal").into(),
            other => other.to_string(),
        }
    }
}

/// Attached to error responses so the page middleware can render them in the right language.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// [`AppError::kind`].
    pub kind: &'static str,
    /// English message (API and fallback).
    pub message_en: String,
    /// Chinese message.
    pub message_zh: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        let info = ErrorInfo {
            kind: self.kind(),
            message_en: self.public_message(Lang::En),
            message_zh: self.public_message(Lang::ZhCn),
        };
        let body = serde_json::json!({"error": info.kind, "message": info.message_en}).to_string();
        let mut resp = HttpResponse::build(self.status_code())
            .content_type("application/json")
            .body(body);
        resp.extensions_mut().insert(info);
        resp
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            other => AppError::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("no database connection available"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("rendering a page"))
    }
}

/// Result alias for handlers and services.
pub type AppResult<T> = Result<T, AppError>;
