//! API doors of the diagnostics operations: attach a file, send the report, create, list and
//! revoke upload links. Each parses the request, calls [`crate::diagnostics::service`] (the same
//! functions the case page calls, so the same rows and events result) and answers JSON.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::extract::ApiUser;
use super::routes::find_case;
use crate::auth::Operation;
use crate::diagnostics::links::{DEFAULT_DAYS, UploadLink, ValidityDays};
use crate::diagnostics::service::{self, Engine, NewLink, ReportOutcome, Staff, Uploader};
use crate::diagnostics::store::{Via, rules_for, upload_limits};
use crate::diagnostics::upload::UploadedFile;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::AppState;

fn staff(user: &ApiUser) -> Staff {
    Staff {
        id: user.id,
        name: user.name.clone(),
    }
}

fn rules(state: &AppState) -> AppResult<std::sync::Arc<crate::diagnostics::Rules>> {
    rules_for(&state.config)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("diagnostics rules: {e}")))
}

/// Query of the diagnostics upload.
#[derive(Debug, Deserialize)]
pub struct DiagnosticsQuery {
    /// The file's name (decides the reader when the content is ambiguous).
    pub filename: Option<String>,
}

/// `POST /api/v1/cases/{number}/diagnostics?filename=NAME` with the file as the body → 201 with the
/// snapshot's verdict and findings; 422 with the reason when the engine refuses the file.
pub async fn attach(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DiagnosticsQuery>,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkDiagnostics)?;
    if bytes.len() as u64 > state.config.max_attachment_bytes {
        return Err(AppError::PayloadTooLarge(format!(
            "the file is larger than max_attachment_bytes ({} bytes)",
            state.config.max_attachment_bytes
        )));
    }
    if bytes.is_empty() {
        return Err(AppError::Unprocessable(
            "send the file as the request body".into(),
        ));
    }
    let filename = (query.into_inner().filename).unwrap_or_else(|| "upload.txt".into());
    let file = UploadedFile {
        field: "body".into(),
        filename,
        content_type: "application/octet-stream".into(),
        bytes: bytes.to_vec(),
    };
    let number = path.into_inner();
    let rules = rules(&state)?;
    let (blobs, limits) = (state.blobs.clone(), upload_limits(&state.config));
    let by = Uploader::Staff {
        staff: staff(&user),
        via: Via::Api,
    };
    let (case, attached) = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            let engine = Engine {
                blobs: &blobs,
                rules: &rules,
                limits: &limits,
            };
            let attached = service::attach_files(conn, &engine, case.id, &[file], &by)?;
            Ok((case, attached))
        })
        .await?;
    // A refused file is the client's problem (422, with the reason); it is on the timeline too.
    if let Some(refused) = attached.refused.first() {
        return Err(AppError::Unprocessable(refused.reason.clone()));
    }
    let stored = (attached.stored.first())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an upload stored nothing")))?;
    let snapshot: serde_json::Value = serde_json::from_str(&stored.analysis).unwrap_or_default();
    Ok(HttpResponse::Created().json(serde_json::json!({
        "case": case.number,
        "source": stored.source,
        "verdict": snapshot["verdict"],
        "fingerprint": snapshot["fingerprint"],
        "findings": snapshot["findings"],
    })))
}

/// `POST /api/v1/cases/{number}/diagnostics/report/send` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// `en` or `zh-CN`; default: the case's language.
    #[serde(default)]
    pub lang: Option<String>,
}

/// `POST /api/v1/cases/{number}/diagnostics/report/send` → 202 with the queued mail's
/// Message-ID; 422 when the case has no diagnostics.
pub async fn send_report(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Option<web::Json<SendBody>>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkDiagnostics)?;
    let lang = match body.and_then(|b| b.into_inner().lang) {
        None => None,
        Some(l) => Some(l.parse::<Lang>().map_err(|_| {
            AppError::Unprocessable(format!("unknown language {l:?} (en or zh-CN)"))
        })?),
    };
    let number = path.into_inner();
    let rules = rules(&state)?;
    let (blobs, config) = (state.blobs.clone(), state.config.clone());
    let staff = staff(&user);
    let (number, outcome) = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            let limits = upload_limits(&config);
            let engine = Engine {
                blobs: &blobs,
                rules: &rules,
                limits: &limits,
            };
            let outcome = service::send_report(conn, &config, &engine, &staff, &case, lang)?;
            Ok((case.number, outcome))
        })
        .await?;
    match outcome {
        ReportOutcome::Queued { message_id } => Ok(HttpResponse::Accepted()
            .json(serde_json::json!({"number": number, "message_id": message_id}))),
        ReportOutcome::NothingToSend => Err(AppError::Unprocessable(format!(
            "{number} has no diagnostics to report"
        ))),
    }
}

/// `POST /api/v1/cases/{number}/upload-links` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// Validity in days (default 7, at most 90).
    #[serde(default)]
    pub days: Option<u32>,
}

fn link_json(base_url: &str, link: &UploadLink, token: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": link.id,
        "status": link.status(crate::db::now()).as_str(),
        "created_at": link.created_at.and_utc().to_rfc3339(),
        "expires_at": link.expires_at.and_utc().to_rfc3339(),
        "uses": link.uses,
    });
    if let Some(token) = token {
        v["url"] = UploadLink::url(base_url, token).into();
    }
    v
}

/// `POST /api/v1/cases/{number}/upload-links` → 201 with the link's URL (returned this once).
pub async fn create_link(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Option<web::Json<LinkBody>>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkDiagnostics)?;
    let days = body
        .and_then(|b| b.into_inner().days)
        .unwrap_or(DEFAULT_DAYS);
    let validity = ValidityDays::parse(&days.to_string()).map_err(AppError::Unprocessable)?;
    let number = path.into_inner();
    let secret = state.config.secret().to_string();
    let staff = staff(&user);
    let made = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            service::create_upload_link(conn, &secret, &staff, case.id, validity)
        })
        .await?;
    let NewLink { link, token } = made.map_err(|e| AppError::Conflict(e.to_string()))?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(link_json(
            state.config.base_url_trimmed(),
            &link,
            Some(&token),
        )))
}

/// `GET /api/v1/cases/{number}/upload-links` → the case's links, newest first (no URLs: the
/// token is shown once, at creation).
pub async fn list_links(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadCases)?;
    let number = path.into_inner();
    let links = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            Ok(UploadLink::for_case(conn, case.id)?)
        })
        .await?;
    let base = state.config.base_url_trimmed();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "links": links.iter().map(|l| link_json(base, l, None)).collect::<Vec<_>>(),
    })))
}

/// `POST /api/v1/cases/{number}/upload-links/{id}/revoke` → 204; 404 when the case has no such
/// active link.
pub async fn revoke_link(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkDiagnostics)?;
    let (number, id) = path.into_inner();
    let staff = staff(&user);
    let revoked = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            service::revoke_upload_link(conn, &staff, case.id, id)
        })
        .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}
