//! API write endpoints that drive the other features: replies (outbound mail), workflow
//! transitions and diagnostics uploads. Each reuses the same service the pages call, with the same
//! role rules and the same refusals, answered as JSON.

use crate::auth::Operation;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;

use super::extract::ApiUser;
use super::routes::find_case;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::mail::reply::{self, Refusal, ReplyCommand, ReplyError};
use crate::web::AppState;
use crate::workflow::service::{self, ActorRef, WorkflowError};
use crate::workflow::state::CaseState;
use crate::workflow::transitions::{TransitionError, TransitionInput};

/// `POST /api/v1/cases/{number}/replies` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// The reply text.
    pub body: String,
    /// Extra CC addresses.
    #[serde(default)]
    pub cc: Vec<String>,
    /// A canned response id whose text (placeholders filled) is used when `body` is empty.
    #[serde(default)]
    pub canned: Option<i64>,
    /// Send even though the text looks like it contains a credential.
    #[serde(default)]
    pub confirm_credentials: bool,
}

/// The marker an `If-Match` header names (the case's ETag, quotes and a weak prefix removed);
/// `None` without the header, or for `*` (any version).
fn if_match(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::BadRequest("If-Match is not readable text".into()))?
        .trim();
    if value == "*" {
        return Ok(None);
    }
    Ok(Some(
        value.trim_start_matches("W/").trim_matches('"').to_string(),
    ))
}

/// Queues a reply to the customer → 202 with the queued message. With `If-Match: <the case's
/// ETag>`, refused with 412 and what changed when the case moved on since (a retried request
/// whose first attempt went through, a colleague's answer, the customer writing again).
pub async fn reply(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ReplyBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let body = body.into_inner();
    let number = path.into_inner();
    let expected = if_match(&req)?;
    let (blobs, config) = (state.blobs.clone(), state.config.clone());
    let (author_id, author_name) = (user.id, user.name.clone());
    let queued = state
        .db(move |conn| {
            let mut text = body.body.trim().to_string();
            if text.is_empty()
                && let Some(id) = body.canned
            {
                let case = find_case(conn, &number)?;
                let canned = crate::mail::canned::CannedResponse::find(conn, id)?
                    .ok_or_else(|| AppError::Unprocessable(format!("no canned response {id}")))?;
                let customer = crate::mail::canned::customer_name(conn, &case)?;
                text = crate::mail::canned::fill_named(
                    &canned.body,
                    &case,
                    customer.as_deref(),
                    &author_name,
                );
            }
            let cmd = ReplyCommand {
                case_number: number.clone(),
                author_id,
                author_name,
                body: text,
                cc: body.cc,
                attachments: Vec::new(),
                seen: expected,
                confirm_credentials: body.confirm_credentials,
            };
            let queued = reply::send(conn, &blobs, &config, &cmd).map_err(reply_refusal)?;
            Ok(serde_json::json!({
                "case": number,
                "message_id": queued.message_id,
                "outbox_id": queued.outbox_id,
                "status": "queued",
            }))
        })
        .await?;
    Ok(HttpResponse::Accepted().json(queued))
}

/// The API's answer to a refused reply: 412 when the case moved on since the client's ETag, 422
/// for the text and addresses, 404 for an unknown case.
fn reply_refusal(err: ReplyError) -> AppError {
    match err {
        ReplyError::CaseNotFound => AppError::NotFound,
        ReplyError::Failed(e) => AppError::Internal(e),
        ReplyError::Refused(refusal) => match refusal {
            Refusal::Empty => AppError::Unprocessable("body must not be empty".into()),
            Refusal::BadAddress(bad) => {
                AppError::Unprocessable(format!("cc {bad:?} is not an email address"))
            }
            Refusal::TooManyRecipients { count, limit } => AppError::Unprocessable(format!(
                "the reply would go to {count} recipients; at most {limit} are allowed \
                 (setting max_reply_recipients)"
            )),
            Refusal::Credentials(found) => {
                let what: Vec<String> = found
                    .iter()
                    .map(|f| format!("{}: {}", f.kind, f.masked))
                    .collect();
                AppError::Unprocessable(format!(
                    "the reply looks like it contains a credential ({}); never mail passwords — \
                     send an upload link instead, or repeat with \"confirm_credentials\": true",
                    what.join(", ")
                ))
            }
            Refusal::Changed(changes) => AppError::PreconditionFailed(format!(
                "the case changed since the ETag you sent: {}; read it again and resend with its \
                 new ETag",
                changes.join("; ")
            )),
        },
    }
}

/// `POST /api/v1/cases/{number}/transitions` body: the target state and the texts it requires.
#[derive(Debug, Deserialize)]
pub struct TransitionBody {
    /// Target state (`defined`, `scoped`, `escalated`, …).
    pub to: String,
    /// The state the client believes the case is in; refused with 409 when it moved meanwhile.
    #[serde(default)]
    pub from: Option<String>,
    /// Texts the transition table requires (note, definition, scope, target, reason, tried, …).
    #[serde(flatten)]
    pub input: TransitionInput,
}

/// The API's answer to a refused workflow operation (transition, assignment).
pub(crate) fn api_refusal(err: WorkflowError) -> AppError {
    match err {
        WorkflowError::CaseNotFound => AppError::NotFound,
        WorkflowError::Refused(
            e @ (TransitionError::IllegalTransition { .. } | TransitionError::NotMergeable { .. }),
        ) => AppError::Conflict(e.message(Lang::En)),
        WorkflowError::Refused(
            TransitionError::NotAllowed { .. } | TransitionError::MergeNotAllowed { .. },
        )
        | WorkflowError::Forbidden => AppError::Forbidden,
        WorkflowError::Refused(e @ TransitionError::MissingRequirement { .. }) => {
            AppError::Unprocessable(e.message(Lang::En))
        }
        WorkflowError::Stale { expected, found } => AppError::Conflict(format!(
            "the case is {found}, not {expected}: someone changed it meanwhile"
        )),
        WorkflowError::Invalid { detail, .. } => AppError::Unprocessable(detail),
        WorkflowError::Db(e) => AppError::from(e),
        other => AppError::Internal(anyhow::anyhow!("{other}")),
    }
}

/// Applies a workflow transition → 200 `{"number","from","to"}`, 409 illegal or stale, 422 missing
/// text, 403 role. The mail the transition sends the customer (definition and scope, questions, the
/// resolution, the summary; `"mail_customer": false` switches the last two off) is queued in the
/// same transaction.
pub async fn transition(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TransitionBody>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let to: CaseState = body
        .to
        .parse()
        .map_err(|e: crate::workflow::state::CaseStateError| {
            AppError::Unprocessable(e.to_string())
        })?;
    let expected: Option<CaseState> = match body.from.as_deref() {
        Some(f) => Some(
            f.parse()
                .map_err(|e: crate::workflow::state::CaseStateError| {
                    AppError::Unprocessable(e.to_string())
                })?,
        ),
        None => None,
    };
    let number = path.into_inner();
    let actor = ActorRef::User {
        id: user.id,
        name: user.name.clone(),
        role: user.role,
    };
    let (blobs, config) = (state.blobs.clone(), state.config.clone());
    let applied = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            let cmd = service::TransitionCommand {
                case: service::CaseKey::Id(case.id),
                actor,
                how: service::Move::To {
                    to,
                    expected_from: expected,
                },
                input: body.input,
                at: Utc::now(),
            };
            service::take_transition(conn, &blobs, &config, &cmd).map_err(api_refusal)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "number": applied.number,
        "from": applied.from.as_str(),
        "to": applied.to.as_str(),
        "action": applied.action.as_str(),
    })))
}

/// `POST /api/v1/cases/{number}/diagnostics?filename=NAME` with the file as the body → 201 with the
/// snapshot's verdict and findings.
pub async fn diagnostics(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DiagnosticsQuery>,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
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
    let filename = query
        .into_inner()
        .filename
        .unwrap_or_else(|| "upload.txt".into());
    let number = path.into_inner();
    let (blobs, config) = (state.blobs.clone(), state.config.clone());
    let row = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            let rules = crate::diagnostics::store::rules_for(&config)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("diagnostics rules: {e}")))?;
            let limits = crate::diagnostics::store::upload_limits(&config);
            let origin = crate::diagnostics::store::Origin {
                via: crate::diagnostics::store::Via::Api,
                uploaded_by: Some(user.id),
                attachment_id: None,
                upload_link_id: None,
            };
            // A refused file is the client's problem (422, with the reason); a database or blob
            // store failure is ours (500, its cause logged), as on the case page.
            let row = crate::diagnostics::store::attach(
                conn, &blobs, &rules, &limits, case.id, &filename, &bytes, &origin,
            )?;
            let snapshot: serde_json::Value =
                serde_json::from_str(&row.analysis).unwrap_or_default();
            Ok(serde_json::json!({
                "case": case.number,
                "source": filename,
                "verdict": snapshot["verdict"],
                "fingerprint": snapshot["fingerprint"],
                "findings": snapshot["findings"],
            }))
        })
        .await?;
    Ok(HttpResponse::Created().json(row))
}

/// Query of the diagnostics upload.
#[derive(Debug, Deserialize)]
pub struct DiagnosticsQuery {
    /// The file's name (decides the reader when the content is ambiguous).
    pub filename: Option<String>,
}
