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
use crate::workflow::state::{CaseState, Priority};
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
    let actor = actor_of(&user);
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

/// The workflow's actor for the token's account.
fn actor_of(user: &ApiUser) -> ActorRef {
    ActorRef::User {
        id: user.id,
        name: user.name.clone(),
        role: user.role,
    }
}

/// `POST /api/v1/cases/{number}/priority` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityBody {
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
}

/// `POST /api/v1/cases/{number}/priority` → 200 with the case's priority; the SLA deadlines of
/// running clocks follow it, as on the page.
pub async fn priority(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<PriorityBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let priority: Priority = body.priority.parse().map_err(|_| {
        AppError::Unprocessable(format!(
            "unknown priority {:?} (low, normal, high or urgent)",
            body.priority
        ))
    })?;
    let number = path.into_inner();
    let actor = actor_of(&user);
    let config = state.config.clone();
    let number = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            service::set_priority(
                conn,
                service::CaseKey::Id(case.id),
                &actor,
                priority,
                Utc::now(),
                &service::SlaRules::from_config(&config),
            )
            .map_err(api_refusal)?;
            Ok(case.number)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "number": number,
        "priority": priority.as_str(),
    })))
}

/// `POST /api/v1/cases/{number}/merge` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The case that keeps the thread.
    pub into: String,
    /// The state the client last saw this case in; refused with 409 if it moved on since.
    #[serde(default)]
    pub from: Option<String>,
}

/// `POST /api/v1/cases/{number}/merge` → 200 with the case that now holds the thread; the rules
/// (which states may merge, no merging into itself) are the workflow's, as on the page.
pub async fn merge(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<MergeBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::MergeCases)?;
    let body = body.into_inner();
    let parse = |n: &str| {
        crate::cases::CaseNumber::parse(n)
            .map(|n| n.as_str().to_string())
            .map_err(|_| AppError::Unprocessable(format!("{n:?} is not a case number")))
    };
    let source = crate::cases::CaseNumber::parse(&path.into_inner())
        .map_err(|_| AppError::NotFound)?
        .as_str()
        .to_string();
    let target = parse(&body.into)?;
    let expected = match body.from.as_deref() {
        None => None,
        Some(f) => Some(
            f.parse::<CaseState>()
                .map_err(|e| AppError::Unprocessable(e.to_string()))?,
        ),
    };
    let cmd = crate::workflow::merge::MergeCommand {
        source: source.clone(),
        target,
        actor: actor_of(&user),
        expected,
    };
    let config = state.config.clone();
    let merged = state
        .db(move |conn| {
            crate::workflow::merge::merge(
                conn,
                &cmd,
                Utc::now(),
                &service::SlaRules::from_config(&config),
            )
            .map_err(api_refusal)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "merged": source,
        "into": merged.number,
    })))
}

/// `POST /api/v1/cases/{number}/text` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    /// `definition` or `scope`.
    pub field: String,
    /// The corrected text (not blank).
    pub text: String,
}

/// `POST /api/v1/cases/{number}/text` → 200: corrects the problem definition or scope without
/// changing the state, as the case page's edit does.
pub async fn edit_text(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TextBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let body = body.into_inner();
    let field: service::CaseText = body.field.parse().map_err(api_refusal)?;
    let number = path.into_inner();
    let actor = actor_of(&user);
    let number = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            service::edit_text(conn, case.id, &actor, field, &body.text, Utc::now())
                .map_err(api_refusal)?;
            Ok(case.number)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"number": number, "field": field.as_str()})))
}

/// `POST /api/v1/cases/{number}/summary` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryBody {
    /// The summary text (problem definition, progress/resolution, next steps).
    pub summary: String,
}

/// `POST /api/v1/cases/{number}/summary` → 201 with the new summary version.
pub async fn summary(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SummaryBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let text = body.into_inner().summary;
    let number = path.into_inner();
    let actor = actor_of(&user);
    let (number, version) = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            let version = service::write_summary(conn, case.id, &actor, &text, Utc::now())
                .map_err(api_refusal)?;
            Ok((case.number, version))
        })
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"number": number, "version": version})))
}

/// `POST /api/v1/cases/{number}/split` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// The message (its id in the case JSON's `messages`).
    pub message: i64,
    /// Move the messages after it too.
    #[serde(default)]
    pub following: bool,
    /// The new case's title (default: the message's subject).
    #[serde(default)]
    pub title: Option<String>,
}

/// `POST /api/v1/cases/{number}/split` → 201 with the new case's number.
pub async fn split(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SplitBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let body = body.into_inner();
    let number =
        crate::cases::CaseNumber::parse(&path.into_inner()).map_err(|_| AppError::NotFound)?;
    let cmd = crate::workflow::split::SplitCommand {
        case: number.as_str().to_string(),
        message_id: body.message,
        following: body.following,
        title: body.title,
        actor: actor_of(&user),
    };
    let config = state.config.clone();
    let new = state
        .db(move |conn| {
            crate::workflow::split::split(
                conn,
                &cmd,
                Utc::now(),
                &service::SlaRules::from_config(&config),
            )
            .map_err(api_refusal)
        })
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "source": number.as_str(),
        "case": new.number,
        "title": new.title,
    })))
}

/// `POST /api/v1/cases/{number}/links` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// The other case's number.
    pub case: String,
    /// What the other case is to this one: `related`, `parent` or `child`.
    pub relation: String,
    /// Why they are linked.
    pub reason: String,
}

/// `POST /api/v1/cases/{number}/links` → 201 with the link's id.
pub async fn link(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<LinkBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let body = body.into_inner();
    let number =
        crate::cases::CaseNumber::parse(&path.into_inner()).map_err(|_| AppError::NotFound)?;
    let relation: crate::workflow::links::Relation = body.relation.parse().map_err(api_refusal)?;
    let cmd = crate::workflow::links::LinkCommand {
        case: number.as_str().to_string(),
        other: body.case.trim().to_uppercase(),
        relation,
        reason: body.reason,
        actor: actor_of(&user),
    };
    let id = state
        .db(move |conn| crate::workflow::links::link(conn, &cmd).map_err(api_refusal))
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"id": id})))
}

/// `POST /api/v1/cases/{number}/links/{id}/remove` → 204; 404 when the case has no such link.
pub async fn unlink(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let (number, id) = path.into_inner();
    let number = crate::cases::CaseNumber::parse(&number).map_err(|_| AppError::NotFound)?;
    let actor = actor_of(&user);
    let removed = state
        .db(move |conn| {
            crate::workflow::links::unlink(conn, number.as_str(), id, &actor).map_err(api_refusal)
        })
        .await?;
    if !removed {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}
