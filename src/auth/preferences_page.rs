//! A person's own preferences page (`/account/preferences`): today, the time zone every page shows
//! times in. Handlers only parse, call [`super::preferences`] and render.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::web::page::set_flash;
use crate::web::routes::Access;
use crate::web::time::{parse_zone, zone_names};
use crate::web::{AppState, CurrentUser, Page};

crate::route_table! {
    GET "/account/preferences" => show, Access::SignedIn;
    POST "/account/preferences" => save, Access::SignedIn;
}

#[derive(Template)]
#[template(path = "auth/preferences.html")]
struct PreferencesPage {
    page: Page,
    /// The zone chosen, empty for the default.
    chosen: String,
    /// "Default (Asia/Shanghai)".
    default_label: String,
    zones: Vec<&'static str>,
    /// An example of how times read now, in the zone in force.
    example: String,
}

async fn show(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let chosen = user
        .timezone
        .map(|z| z.name().to_string())
        .unwrap_or_default();
    let default_label = page
        .t("prefs.timezone_default")
        .replace("{zone}", state.config.default_timezone().name());
    let example = page.times().absolute(chrono::Utc::now());
    let body = PreferencesPage {
        page,
        chosen,
        default_label,
        zones: zone_names().collect(),
        example,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(Deserialize)]
struct PreferencesForm {
    /// An IANA zone name, or empty for the configured default.
    #[serde(default)]
    timezone: String,
}

async fn save(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<PreferencesForm>,
) -> AppResult<HttpResponse> {
    let zone = match form.timezone.trim() {
        "" => None,
        name => Some(
            parse_zone(name)
                .ok_or_else(|| AppError::BadRequest(page.t("prefs.bad_zone").to_string()))?,
        ),
    };
    let user_id = user.id;
    state
        .db(move |conn| Ok(super::preferences::set_timezone(conn, user_id, zone)?))
        .await?;
    set_flash(&req, "ok", page.t("prefs.saved"));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/account/preferences"))
        .finish())
}
