//! The context every page template receives: language, translations, the signed-in user, the CSRF
//! token for forms, and a one-time flash message.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use super::extract::{CurrentUser, optional_user, request_lang};
use super::time::{Stamp, Timekeeper};
use super::{AppState, Catalog, csrf};
use crate::error::AppError;
use crate::i18n::Lang;

const FLASH_KEY: &str = "flash";

/// A one-time notice shown at the top of the next page.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    /// `ok` or `error`, for styling.
    pub level: String,
    /// The text, already in the reader's language.
    pub text: String,
}

/// Everything the base layout needs.
#[derive(Clone)]
pub struct Page {
    /// Reading language.
    pub lang: Lang,
    /// Signed-in user, if any.
    pub user: Option<CurrentUser>,
    /// Token every form posts back.
    pub csrf: String,
    /// One-time notice.
    pub flash: Option<Flash>,
    /// The path of this request (language switch returns here).
    pub path: String,
    /// Unread notifications of the signed-in user (the navigation bar's count), capped.
    pub unread_notifications: i64,
    /// The zone this reader sees times in (their choice, else the configured default).
    pub tz: chrono_tz::Tz,
    catalog: Arc<Catalog>,
}

impl Page {
    /// The interface string `key` in the page's language.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.catalog.get(self.lang, key)
    }

    /// The unread count as the navigation bar shows it: `None` for none, `99+` past the cap.
    pub fn unread_label(&self) -> Option<String> {
        let cap = crate::notifications::service::UNREAD_CAP;
        match self.unread_notifications {
            n if n <= 0 => None,
            n if n >= cap => Some(format!("{}+", cap - 1)),
            n => Some(n.to_string()),
        }
    }

    /// The formatter of every time on this page: the reader's zone and language, "now" as of
    /// this call.
    pub fn times(&self) -> Timekeeper {
        Timekeeper::new(self.tz, self.lang, chrono::Utc::now())
    }

    /// A stored instant as a `<time>` element: relative, absolute on hover.
    pub fn stamp(&self, t: chrono::NaiveDateTime) -> Stamp {
        self.times().stamp(t)
    }

    /// A stored instant in the reader's zone, labelled ("2026-12-06 14:30 CST").
    pub fn absolute(&self, t: chrono::NaiveDateTime) -> String {
        self.times().absolute_naive(t)
    }

    /// Whether the nav shows the Admin section.
    pub fn is_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.is(crate::auth::Operation::Administer))
    }

    /// Whether the signed-in user has one of `roles`.
    pub fn user_is(&self, op: crate::auth::Operation) -> bool {
        self.user.as_ref().is_some_and(|u| u.is(op))
    }

    /// The `lang` attribute value.
    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    /// The other language, for the switch.
    pub fn other_lang(&self) -> Lang {
        match self.lang {
            Lang::En => Lang::ZhCn,
            Lang::ZhCn => Lang::En,
        }
    }

    /// Label of the other language in its own script.
    pub fn other_lang_label(&self) -> &'static str {
        match self.other_lang() {
            Lang::En => "English",
            Lang::ZhCn => "中文",
        }
    }
}

/// Stores a flash message for the next page.
pub fn set_flash(req: &HttpRequest, level: &str, text: impl Into<String>) {
    let _ = req.get_session().insert(
        FLASH_KEY,
        Flash {
            level: level.into(),
            text: text.into(),
        },
    );
}

impl Page {
    /// The context of `req` for `user` (consumes the flash, creates the CSRF token if needed).
    fn build(req: &HttpRequest, user: Option<CurrentUser>) -> Result<Page, AppError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?;
        let session = req.get_session();
        let lang = request_lang(req, &session);
        let csrf = csrf::session_token(&session);
        let flash = session.remove_as::<Flash>(FLASH_KEY).and_then(Result::ok);
        let unread_notifications = req
            .extensions()
            .get::<super::extract::UnreadNotifications>()
            .map_or(0, |u| u.0);
        let tz = user
            .as_ref()
            .and_then(|u| u.timezone)
            .unwrap_or_else(|| state.config.default_timezone());
        Ok(Page {
            tz,
            lang,
            user,
            csrf,
            flash,
            path: req.path().to_string(),
            unread_notifications,
            catalog: state.catalog.clone(),
        })
    }

    /// The context for the error page of `req` (`web::errors`): like a handler's, except that a
    /// user who cannot be looked up (the database is what failed) is left out instead of failing
    /// the error page too. `None` only without application state.
    pub async fn for_error(req: &HttpRequest) -> Option<Page> {
        let user = optional_user(req).await.unwrap_or(None);
        Page::build(req, user).ok()
    }
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = optional_user(&req).await?;
            Page::build(&req, user)
        })
    }
}
