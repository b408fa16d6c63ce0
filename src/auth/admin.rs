//! Admin pages for accounts: list, create, change role, disable/enable.

use crate::auth::Operation;
use crate::web::routes::Access;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::role::Role;
use super::users::{User, validate_email};
use super::{password, sessions, two_factor};
use crate::api::tokens::ApiToken;
use crate::error::{AppError, AppResult};
use crate::web::page::set_flash;
use crate::web::{AppState, CurrentUser, Page};

crate::route_table! {
    GET "/admin/users" => list, Access::Page(Operation::Administer);
    POST "/admin/users" => create, Access::Page(Operation::Administer);
    POST "/admin/users/{id}" => update, Access::Page(Operation::Administer);
    POST "/admin/two-factor" => two_factor_policy, Access::Page(Operation::Administer);
}

/// `POST /admin/two-factor`: the roles that must sign in with a second factor (`role` repeated).
async fn two_factor_policy(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    let mut roles: Vec<Role> = Vec::new();
    for (k, v) in form.into_inner() {
        if k == "role" {
            let role: Role = v
                .parse()
                .map_err(|e: super::role::RoleError| AppError::BadRequest(e.to_string()))?;
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
    }
    let saved = roles.clone();
    state
        .db(move |conn| Ok(two_factor::set_required_roles(conn, &saved)?))
        .await?;
    tracing::info!(admin = user.id, roles = ?roles, "two-factor policy changed");
    set_flash(&req, "ok", page.t("admin.twofactor.saved"));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/users"))
        .finish())
}

struct UserRow {
    two_factor: bool,
    id: i64,
    name: String,
    email: String,
    role: String,
    disabled: bool,
    is_self: bool,
}

#[derive(Template)]
#[template(path = "auth/admin_users.html")]
struct UsersPage {
    page: Page,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    /// Roles that must sign in with a second factor.
    required: Vec<&'static str>,
    error: Option<String>,
}

async fn render_list(
    page: Page,
    me: &CurrentUser,
    state: &AppState,
    error: Option<String>,
) -> AppResult<HttpResponse> {
    let (users, enrolled, required) = state
        .db(|conn| {
            let users = User::list(conn)?;
            let enrolled = two_factor::enrolled_accounts(conn)?;
            Ok((users, enrolled, two_factor::required_roles(conn)?))
        })
        .await?;
    let rows = users
        .into_iter()
        .map(|u| UserRow {
            two_factor: enrolled.contains(&u.id),
            is_self: u.id == me.id,
            id: u.id,
            role: u.role().as_str().to_string(),
            name: u.name,
            email: u.email,
            disabled: u.disabled,
        })
        .collect();
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    let body = UsersPage {
        page,
        users: rows,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        required: required.iter().map(|r| r.as_str()).collect(),
        error,
    }
    .render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    render_list(page, &user, &state, None).await
}

#[derive(Deserialize)]
struct CreateForm {
    name: String,
    email: String,
    role: String,
    password: String,
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<CreateForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    let form = form.into_inner();
    let pw = SecretString::from(form.password);
    let checked: Result<(Role, String), String> = (|| {
        let role: Role = form
            .role
            .parse()
            .map_err(|e: super::role::RoleError| e.to_string())?;
        let email = validate_email(&form.email)?;
        if form.name.trim().is_empty() {
            return Err(page.t("setup.name_required").to_string());
        }
        password::check_policy(&pw, &[&form.name, &email]).map_err(|e| e.message(&page))?;
        Ok((role, email))
    })();
    let (role, email) = match checked {
        Ok(v) => v,
        Err(error) => return render_list(page, &user, &state, Some(error)).await,
    };
    let hash = web::block(move || password::hash_password(&pw)).await??;
    let name = form.name;
    let e2 = email.clone();
    let created = state
        .db(move |conn| {
            if User::find_by_email(conn, &e2)?.is_some() {
                return Ok(false);
            }
            User::create(conn, &e2, &name, role, &hash)?;
            Ok(true)
        })
        .await?;
    if !created {
        let msg = format!("{} {email}", page.t("admin.users.exists"));
        return render_list(page, &user, &state, Some(msg)).await;
    }
    tracing::info!(admin = user.id, role = role.as_str(), "account created");
    set_flash(
        &req,
        "ok",
        format!("{} {email}", page.t("admin.users.created")),
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/users"))
        .finish())
}

#[derive(Deserialize)]
struct UpdateForm {
    action: String,
    role: Option<String>,
    password: Option<String>,
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<UpdateForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    let id = path.into_inner();
    let form = form.into_inner();
    if id == user.id && form.action != "password" {
        return Err(AppError::Conflict(
            page.t("admin.users.not_self").to_string(),
        ));
    }
    match form.action.as_str() {
        "disable" | "enable" => {
            let disabled = form.action == "disable";
            state
                .db(move |conn| {
                    User::set_disabled(conn, id, disabled)?;
                    if disabled {
                        sessions::destroy_all_for(conn, id)?;
                    }
                    Ok(())
                })
                .await?;
        }
        "role" => {
            let role: Role = form
                .role
                .unwrap_or_default()
                .parse()
                .map_err(|e: super::role::RoleError| AppError::BadRequest(e.to_string()))?;
            state
                .db(move |conn| Ok(User::set_role(conn, id, role)?))
                .await?;
        }
        "password" => {
            let pw = SecretString::from(form.password.unwrap_or_default());
            let target = state
                .db(move |conn| User::find_by_id(conn, id)?.ok_or(AppError::NotFound))
                .await?;
            password::check_policy(&pw, &[&target.name, &target.email])
                .map_err(|e| AppError::Unprocessable(e.message(&page)))?;
            let hash = web::block(move || password::hash_password(&pw)).await??;
            let keep_current = id == user.id;
            // A reset is how an admin answers "this account may be compromised": every credential
            // the old password could have obtained ends with it — the account's other sessions and
            // all its API tokens (the admin's own current session is kept).
            let revoked = state
                .db(move |conn| {
                    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
                        User::set_password_hash(conn, id, &hash)?;
                        if !keep_current {
                            sessions::destroy_all_for(conn, id)?;
                        }
                        Ok(ApiToken::revoke_all_for(conn, id)?)
                    })
                })
                .await?;
            if revoked > 0 {
                tracing::info!(
                    admin = user.id,
                    target = id,
                    revoked,
                    "API tokens revoked by a password reset"
                );
            }
        }
        "reset_two_factor" => {
            let admin_id = user.id;
            // A lost phone: the second factor and its recovery codes go, and so do the account's
            // sessions; the person enrols again at the next sign-in.
            state
                .db(move |conn| {
                    crate::db::write_transaction::<_, AppError, _>(conn, |conn| {
                        two_factor::reset(conn, id)?;
                        if id != admin_id {
                            sessions::destroy_all_for(conn, id)?;
                        }
                        Ok(())
                    })
                })
                .await?;
            tracing::info!(admin = user.id, target = id, "second factor reset");
            set_flash(&req, "ok", page.t("admin.users.two_factor_reset"));
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/admin/users"))
                .finish());
        }
        other => return Err(AppError::BadRequest(format!("unknown action {other:?}"))),
    }
    tracing::info!(admin = user.id, target = id, action = %form.action, "account changed");
    set_flash(&req, "ok", page.t("admin.users.updated"));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/users"))
        .finish())
}
