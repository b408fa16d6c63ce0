//! Request extractors: the signed-in user ([`CurrentUser`]) and the reader's language.

use crate::auth::Operation;
use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use super::AppState;
use crate::auth::role::Role;
use crate::auth::sessions;
use crate::error::AppError;
use crate::i18n::Lang;

/// Session key holding the random session id.
pub const SESSION_ID_KEY: &str = "sid";
/// Session key holding the chosen interface language.
pub const SESSION_LANG_KEY: &str = "lang";

/// The signed-in staff member. Taking it as a handler argument makes the route require sign-in;
/// [`CurrentUser::require`] then checks the role.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Account id.
    pub id: i64,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Preferred language, if set.
    pub locale: Option<Lang>,
    /// Chosen time zone, if any (`auth::preferences`); pages fall back to the configured default.
    pub timezone: Option<chrono_tz::Tz>,
}

impl CurrentUser {
    /// Refuses with 403 unless the user has one of `roles`.
    pub fn require(&self, op: Operation) -> Result<(), AppError> {
        if op.allows(self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Whether the user has one of `roles` (for showing links).
    pub fn is(&self, op: Operation) -> bool {
        op.allows(self.role)
    }
}

/// Cached per request so several extractors share one lookup.
#[derive(Clone)]
struct ResolvedUser(Option<CurrentUser>);

/// How many unread notifications the signed-in user has (capped, see
/// [`crate::notifications::service::unread_count`]), read with the session in one trip to the
/// database and kept for the page's navigation bar.
#[derive(Clone, Copy)]
pub struct UnreadNotifications(pub i64);

/// Looks up the signed-in user (if any) once per request.
pub async fn optional_user(req: &HttpRequest) -> Result<Option<CurrentUser>, AppError> {
    if let Some(r) = req.extensions().get::<ResolvedUser>() {
        return Ok(r.0.clone());
    }
    let session = req.get_session();
    let sid: Option<String> = session.get(SESSION_ID_KEY).unwrap_or(None);
    let user = match sid {
        None => None,
        Some(sid) => {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?
                .clone();
            let found = state
                .db(move |conn| {
                    let Some(user) = sessions::resolve(conn, &sid)? else {
                        return Ok(None);
                    };
                    let unread = crate::notifications::service::unread_count(conn, user.id)?;
                    let zone = crate::auth::preferences::timezone(conn, user.id)?;
                    Ok(Some((user, unread, zone)))
                })
                .await?;
            if let Some((_, unread, _)) = &found {
                req.extensions_mut().insert(UnreadNotifications(*unread));
            }
            found.map(|(u, _, timezone)| CurrentUser {
                timezone,
                id: u.id,
                role: u.role(),
                locale: u.locale.as_deref().and_then(|l| l.parse().ok()),
                email: u.email,
                name: u.name,
            })
        }
    };
    req.extensions_mut().insert(ResolvedUser(user.clone()));
    Ok(user)
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { optional_user(&req).await?.ok_or(AppError::Unauthenticated) })
    }
}

/// The reader's language: the session's choice, else the browser's `Accept-Language`, else English.
pub fn request_lang(req: &HttpRequest, session: &Session) -> Lang {
    if let Ok(Some(code)) = session.get::<String>(SESSION_LANG_KEY)
        && let Ok(lang) = code.parse()
    {
        return lang;
    }
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or_default()
}
