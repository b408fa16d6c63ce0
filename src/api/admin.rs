//! `/admin/tokens`: the API tokens of every account, issuing one (shown once) and revoking.

use crate::auth::Operation;
use crate::web::routes::Access;
use crate::web::time::Stamp;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::tokens::{ApiToken, TokenName};
use crate::auth::User;
use crate::error::{AppError, AppResult};
use crate::web::page::set_flash;
use crate::web::{AppState, CurrentUser, Page};

crate::route_table! {
    GET "/admin/tokens" => list, Access::Page(Operation::Administer);
    POST "/admin/tokens" => create, Access::Page(Operation::Administer);
    POST "/admin/tokens/{id}/revoke" => revoke, Access::Page(Operation::Administer);
}

struct TokenRow {
    id: i64,
    name: String,
    user: String,
    user_email: String,
    user_disabled: bool,
    created: Stamp,
    last_used: Option<Stamp>,
    revoked: Option<Stamp>,
}

struct AccountOption {
    id: i64,
    label: String,
}

/// A token just issued: the only time its secret is on a page.
struct NewToken {
    secret: String,
    name: String,
    user: String,
}

#[derive(Template)]
#[template(path = "api/admin_tokens.html")]
struct TokensPage {
    page: Page,
    tokens: Vec<TokenRow>,
    accounts: Vec<AccountOption>,
    new_token: Option<NewToken>,
    error: Option<String>,
}

async fn render(
    page: Page,
    state: &AppState,
    status: StatusCode,
    new_token: Option<NewToken>,
    error: Option<String>,
) -> AppResult<HttpResponse> {
    let (tokens, users) = state
        .db(|conn| Ok((ApiToken::list(conn)?, User::list(conn)?)))
        .await?;
    let times = page.times();
    let fmt_time = |t| times.stamp(t);
    let tokens = tokens
        .into_iter()
        .map(|t| TokenRow {
            id: t.token.id,
            name: t.token.name,
            user: t.user_name,
            user_email: t.user_email,
            user_disabled: t.user_disabled,
            created: fmt_time(t.token.created_at),
            last_used: t.token.last_used_at.map(fmt_time),
            revoked: t.token.revoked_at.map(fmt_time),
        })
        .collect();
    let accounts = users
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| AccountOption {
            id: u.id,
            label: format!("{} <{}> · {}", u.name, u.email, u.role().as_str()),
        })
        .collect();
    let body = TokensPage {
        page,
        tokens,
        accounts,
        new_token,
        error,
    }
    .render()?;
    // The page may carry a fresh secret: keep it out of every cache.
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    render(page, &state, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
struct CreateForm {
    user_id: i64,
    name: String,
}

/// Answers with the page itself (not a redirect), so the secret is shown once and never stored,
/// not even in the session's flash.
async fn create(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<CreateForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    let form = form.into_inner();
    let name = match TokenName::parse(&form.name) {
        Ok(n) => n,
        Err(e) => {
            return render(
                page,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(e),
            )
            .await;
        }
    };
    let owner_id = form.user_id;
    let created = state
        .db(move |conn| {
            let Some(owner) = User::find_by_id(conn, owner_id)?.filter(|u| !u.disabled) else {
                return Ok(None);
            };
            let (_, secret) = ApiToken::create(conn, owner.id, &name)?;
            Ok(Some(NewToken {
                secret,
                name: name.as_str().to_string(),
                user: format!("{} <{}>", owner.name, owner.email),
            }))
        })
        .await?;
    let Some(new_token) = created else {
        let msg = page.t("api.tokens.no_account").to_string();
        return render(
            page,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(msg),
        )
        .await;
    };
    tracing::info!(admin = user.id, owner = owner_id, "API token issued");
    render(page, &state, StatusCode::OK, Some(new_token), None).await
}

async fn revoke(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    let id = path.into_inner();
    let revoked = state
        .db(move |conn| {
            if ApiToken::find_by_id(conn, id)?.is_none() {
                return Err(AppError::NotFound);
            }
            Ok(ApiToken::revoke(conn, id)?)
        })
        .await?;
    if revoked {
        tracing::info!(admin = user.id, token = id, "API token revoked");
    }
    set_flash(&req, "ok", page.t("api.tokens.revoked_flash"));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/tokens"))
        .finish())
}
