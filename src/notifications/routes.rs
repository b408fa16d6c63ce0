//! The notification pages: the list (`/notifications`, newest first, a page at a time, with "mark
//! read" per notification and for all) and each person's switches (`/account/notifications`).
//! Every signed-in person has both; nobody sees anyone else's. Handlers only parse, call
//! [`super::service`] and render.

use crate::web::time::Stamp;
use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::service::{self, Kind, Listed, Setting};
use crate::error::{AppError, AppResult};
use crate::web::page::set_flash;
use crate::web::routes::Access;
use crate::web::{AppState, CurrentUser, Page};

crate::route_table! {
    GET "/notifications" => list, Access::SignedIn;
    POST "/notifications/read-all" => read_all, Access::SignedIn;
    POST "/notifications/{id}/read" => read_one, Access::SignedIn;
    GET "/account/notifications" => settings, Access::SignedIn;
    POST "/account/notifications" => save_settings, Access::SignedIn;
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// A notification as the list template shows it.
struct Row {
    id: i64,
    sentence: String,
    case_number: Option<String>,
    case_title: Option<String>,
    excerpt: Option<String>,
    at: Stamp,
    read: bool,
}

#[derive(Template)]
#[template(path = "notifications/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    any_unread: bool,
    page_no: i64,
    more: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    page: Option<i64>,
}

async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let page_no = query.page.unwrap_or(1).clamp(1, 10_000);
    let user_id = user.id;
    let (listed, more): (Vec<Listed>, bool) = state
        .db(move |conn| Ok(service::list(conn, user_id, page_no)?))
        .await?;
    let rows = listed
        .into_iter()
        .map(|n| Row {
            sentence: n.sentence(page.lang),
            id: n.id,
            at: page.stamp(n.created_at),
            read: n.read,
            case_number: n.case_number,
            case_title: n.case_title,
            excerpt: n.excerpt,
        })
        .collect::<Vec<Row>>();
    Ok(html(
        ListPage {
            page,
            any_unread: rows.iter().any(|r| !r.read),
            rows,
            page_no,
            more,
        }
        .render()?,
    ))
}

async fn read_one(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    // Another person's or an unknown notification changes nothing and says so the same way, so
    // ids cannot be probed.
    let id: i64 = path.into_inner().parse().map_err(|_| AppError::NotFound)?;
    let user_id = user.id;
    let changed = state
        .db(move |conn| Ok(service::mark_read(conn, user_id, id, crate::db::now())?))
        .await?;
    if !changed {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/notifications"))
}

async fn read_all(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let user_id = user.id;
    state
        .db(move |conn| Ok(service::mark_all_read(conn, user_id, crate::db::now())?))
        .await?;
    set_flash(&req, "ok", page.t("notify.flash.all_read"));
    Ok(see_other("/notifications"))
}

/// One row of the settings form.
struct SwitchRow {
    kind: &'static str,
    label: &'static str,
    in_app: bool,
    by_mail: bool,
}

#[derive(Template)]
#[template(path = "notifications/settings.html")]
struct SettingsPage {
    page: Page,
    switches: Vec<SwitchRow>,
}

async fn settings(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let user_id = user.id;
    let current = state
        .db(move |conn| Ok(service::settings(conn, user_id)?))
        .await?;
    let switches = current
        .into_iter()
        .map(|s| SwitchRow {
            kind: s.kind.as_str(),
            label: s.kind.label(page.lang),
            in_app: s.in_app,
            by_mail: s.by_mail,
        })
        .collect();
    Ok(html(SettingsPage { page, switches }.render()?))
}

/// The settings form: a checkbox `in_app.KIND` and `by_mail.KIND` per kind; an unticked box is
/// absent, which is how a switch is turned off.
async fn save_settings(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let chosen: Vec<Setting> = Kind::ALL
        .into_iter()
        .map(|kind| Setting {
            kind,
            in_app: form.contains_key(&format!("in_app.{}", kind.as_str())),
            by_mail: form.contains_key(&format!("by_mail.{}", kind.as_str())),
        })
        .collect();
    let user_id = user.id;
    state
        .db(move |conn| Ok(service::save_settings(conn, user_id, &chosen)?))
        .await?;
    set_flash(&req, "ok", page.t("notify.flash.saved"));
    Ok(see_other("/account/notifications"))
}
