//! HTTP inbound (`POST /inbound/mail`, for MTAs and `casebook mailgate`) and the admin quarantine.

use crate::auth::Operation;
use crate::web::routes::Access;
use crate::web::time::Stamp;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;
use secrecy::ExposeSecret;

use super::pipeline::{Incoming, Ingestor};
use super::quarantine::{self, Quarantined};
use crate::auth::tokens::constant_time_eq;
use crate::error::{AppError, AppResult};
use crate::web::catalog::builtin;
use crate::web::page::set_flash;
use crate::web::rate_limit::too_many_requests;
use crate::web::{AppState, CurrentUser, Page};

crate::route_table! {
    POST "/inbound/mail" => inbound, Access::InboundToken;
    GET "/admin/quarantine" => quarantine_page, Access::Page(Operation::Administer);
    GET "/admin/quarantine/{id}/raw" => quarantine_raw, Access::Page(Operation::Administer);
    POST "/admin/quarantine/{id}/retry" => quarantine_retry, Access::Page(Operation::Administer);
}

/// Accepts one raw RFC 5322 message. 202 only once it is durably stored (placed on a case, or
/// kept in the quarantine); 401 without the right bearer token; 413 over `max_message_bytes`;
/// 400 for an empty body; 429 (with `Retry-After`) over `inbound_rate_per_minute` for the token;
/// 503 when inbound HTTP is not configured.
async fn inbound(
    req: HttpRequest,
    state: web::Data<AppState>,
    mut body: web::Payload,
) -> AppResult<HttpResponse> {
    let Some(expected) = state
        .config
        .inbound_token
        .as_ref()
        .map(|t| t.expose_secret().to_string())
    else {
        return Ok(HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "error": "disabled",
            "message": "inbound HTTP is disabled: set CASEBOOK_INBOUND_TOKEN (inbound_token) on the server"
        })));
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(given.trim(), &expected) {
        return Err(AppError::Unauthenticated);
    }
    // Counted after the token check, so requests without the token cannot use up its budget.
    if let Err(retry) = state.rate_limits.inbound.check(given.trim()) {
        tracing::warn!(retry_after = retry.0, "inbound mail rate-limited");
        return Ok(too_many_requests(retry, |lang| {
            builtin(lang).t("rate_limit.inbound")
        }));
    }
    let limit = state.config.max_message_bytes as usize;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("reading the message: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge(format!(
                "the message is larger than max_message_bytes ({} bytes)",
                limit
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(AppError::BadRequest(
            "the request body is empty: send the raw RFC 5322 message".into(),
        ));
    }
    let st = state.clone();
    let origin = format!(
        "http {}",
        req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    );
    let outcome = web::block(move || -> anyhow::Result<_> {
        let mut conn = st.pool.get()?;
        let ingestor = Ingestor::new(&mut conn, &st.config, &st.blobs)?.acknowledging_new_cases();
        let mut outcomes = ingestor.ingest_batch(
            &mut conn,
            vec![Incoming {
                origin,
                bytes: bytes.to_vec(),
            }],
        )?;
        outcomes.pop().ok_or_else(|| anyhow::anyhow!("no outcome"))
    })
    .await??;
    Ok(HttpResponse::Accepted().json(outcome))
}

struct Row {
    id: i64,
    source: String,
    error: String,
    status: String,
    attempts: i32,
    received: Stamp,
}

#[derive(Template)]
#[template(path = "ingest/quarantine.html")]
struct QuarantinePage {
    page: Page,
    rows: Vec<Row>,
}

async fn quarantine_page(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    let rows = state.db(|conn| Ok(Quarantined::list(conn, false)?)).await?;
    let rows = rows
        .into_iter()
        .map(|q| Row {
            id: q.id,
            source: q.source,
            error: q.error,
            status: q.status,
            attempts: q.attempts,
            received: page.stamp(q.received_at),
        })
        .collect();
    let body = QuarantinePage { page, rows }.render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// The raw bytes, as a download (never rendered: they may be anything).
async fn quarantine_raw(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    let id = path.into_inner();
    let q = state
        .db(move |conn| Quarantined::find(conn, id)?.ok_or(AppError::NotFound))
        .await?;
    let blobs = state.blobs.clone();
    let bytes = web::block(move || blobs.get(&q.raw_sha256)).await??;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"quarantine-{id}.eml\""),
        ))
        .body(bytes))
}

async fn quarantine_retry(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
    let id = path.into_inner();
    let st = state.clone();
    let results = web::block(move || -> anyhow::Result<_> {
        let mut conn = st.pool.get()?;
        let ingestor = Ingestor::new(&mut conn, &st.config, &st.blobs)?;
        quarantine::retry(&mut conn, &ingestor, &st.blobs, Some(&[id]))
    })
    .await??;
    let message = match results.first().map(|r| &r.outcome) {
        Some(super::pipeline::Outcome::Quarantined { reason, .. }) => {
            set_flash(
                &req,
                "error",
                format!("{} {reason}", page.t("quarantine.still_refused")),
            );
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/admin/quarantine"))
                .finish());
        }
        Some(o) => format!(
            "{} {}",
            page.t("quarantine.released"),
            o.case().unwrap_or("")
        ),
        None => page.t("quarantine.nothing").to_string(),
    };
    set_flash(&req, "ok", message);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/quarantine"))
        .finish())
}
