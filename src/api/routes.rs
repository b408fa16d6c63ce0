//! The `/api/v1` endpoints, and the pieces every endpoint shares.
//!
//! Adding an endpoint is one `.route(…)` line in [`config`] plus a handler that takes
//! [`ApiUser`], checks a role set with [`ApiUser::require`], finds its case with [`find_case`]
//! (404 for unknown or malformed numbers) and takes its body as `web::Json<T>` — malformed JSON,
//! a wrong field type or an unknown field (use `#[serde(deny_unknown_fields)]`) is already a 422
//! JSON error through [`json_config`]. Every error is an [`AppError`], which answers
//! `{"error": kind, "message": …}` with its status.

use crate::auth::Operation;
use crate::web::routes::Access;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Deserializer, Serialize};

use super::ApiUser;
use crate::auth::User;
use crate::cases::messages::Message;
use crate::cases::search::{self as queries, AssigneeFilter, CaseQuery, SlaFilter, SortOrder};
use crate::cases::views::{self, MessageJson};
use crate::cases::{Case, CaseNumber};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ErrorInfo};
use crate::mail::note::{self, NoteCommand, NoteError};
use crate::web::AppState;

/// Rows per page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: i64 = 50;
/// Largest `per_page`.
pub const MAX_PER_PAGE: i64 = 200;
/// Largest JSON body (notes are text; uploads will have their own multipart limits).
const MAX_JSON_BYTES: usize = 1024 * 1024;

/// Mounts the API and its admin page. Session cookies play no part in the API: handlers take
/// [`ApiUser`].
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .wrap(from_fn(json_errors))
            .app_data(json_config())
            .app_data(query_config())
            .configure(register),
    );
}

crate::route_table! {
    @prefix "/api/v1";
    GET "/cases" => list_cases, Access::Api(Operation::ReadCases);
    GET "/cases/{number}" => show_case, Access::Api(Operation::ReadCases);
    PATCH "/cases/{number}" => edit_case, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/notes" => add_note, Access::Api(Operation::AddNote);
    POST "/cases/{number}/assign" => assign, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/replies" => super::write::reply, Access::Api(Operation::Reply);
    POST "/cases/{number}/transitions" => super::write::transition, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/priority" => super::write::priority, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/merge" => super::write::merge, Access::Api(Operation::MergeCases);
    POST "/cases/{number}/text" => super::write::edit_text, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/summary" => super::write::summary, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/split" => super::write::split, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/links" => super::write::link, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/links/{id}/remove" => super::write::unlink, Access::Api(Operation::WorkCase);
    POST "/cases/{number}/diagnostics" => super::diagnostics::attach, Access::Api(Operation::WorkDiagnostics);
    POST "/cases/{number}/diagnostics/report/send" => super::diagnostics::send_report, Access::Api(Operation::WorkDiagnostics);
    GET "/cases/{number}/upload-links" => super::diagnostics::list_links, Access::Api(Operation::ReadCases);
    POST "/cases/{number}/upload-links" => super::diagnostics::create_link, Access::Api(Operation::WorkDiagnostics);
    POST "/cases/{number}/upload-links/{id}/revoke" => super::diagnostics::revoke_link, Access::Api(Operation::WorkDiagnostics);
    GET "/reports/summary" => crate::reports::dashboard::routes::api_summary, Access::Api(Operation::ViewReports);
}

/// Errors that did not come from an [`AppError`] (405 from the router, a bad path segment) get
/// the same `{"error","message"}` body, so a client never has to parse anything else.
async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if status.as_u16() < 400 || res.response().extensions().get::<ErrorInfo>().is_some() {
        return Ok(res);
    }
    let kind = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = status.canonical_reason().unwrap_or("error").to_string();
    let body =
        HttpResponse::build(status).json(serde_json::json!({"error": kind, "message": message}));
    Ok(res.into_response(body))
}

/// JSON bodies: any content type is read as JSON (scripts often forget the header, and bearer
/// requests need no CSRF defence), and every parse error is a 422 `AppError`.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_JSON_BYTES)
        .content_type_required(false)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError;
            let app = match &err {
                JsonPayloadError::Overflow { limit }
                | JsonPayloadError::OverflowKnownLength { limit, .. } => {
                    AppError::PayloadTooLarge(format!("the JSON body is larger than {limit} bytes"))
                }
                JsonPayloadError::Deserialize(e) => {
                    AppError::Unprocessable(format!("the JSON body is not valid: {e}"))
                }
                other => {
                    AppError::Unprocessable(format!("the JSON body could not be read: {other}"))
                }
            };
            app.into()
        })
}

/// Query strings: a bad parameter (`page=two`) is a 422 `AppError`.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        AppError::Unprocessable(format!("bad query parameter: {err}")).into()
    })
}

/// The case a path names; 404 when the number is malformed or unknown.
pub fn find_case(conn: &mut DbConn, number: &str) -> AppResult<Case> {
    let number = CaseNumber::parse(number).map_err(|_| AppError::NotFound)?;
    Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound)
}

/// An account named by a client: `me`, a numeric id, or an email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRef {
    /// The caller.
    Me,
    /// By id.
    Id(i64),
    /// By email.
    Email(String),
}

impl AccountRef {
    /// Parses the text form.
    pub fn parse(text: &str) -> Result<AccountRef, AppError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("me") {
            Ok(AccountRef::Me)
        } else if let Ok(id) = text.parse::<i64>() {
            Ok(AccountRef::Id(id))
        } else if text.contains('@') {
            Ok(AccountRef::Email(text.to_string()))
        } else {
            Err(AppError::Unprocessable(format!(
                "{text:?} is not an account: use an email address, an account id or \"me\""
            )))
        }
    }

    /// The account; 422 when there is none.
    pub fn resolve(&self, conn: &mut DbConn, me: &ApiUser) -> AppResult<User> {
        let found = match self {
            AccountRef::Me => User::find_by_id(conn, me.id)?,
            AccountRef::Id(id) => User::find_by_id(conn, *id)?,
            AccountRef::Email(e) => User::find_by_email(conn, e)?,
        };
        found.ok_or_else(|| AppError::Unprocessable(format!("no account {self}")))
    }
}

impl std::fmt::Display for AccountRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountRef::Me => f.write_str("me"),
            AccountRef::Id(id) => write!(f, "with id {id}"),
            AccountRef::Email(e) => write!(f, "{e}"),
        }
    }
}

/// `GET /api/v1/cases` parameters.
#[derive(Debug, Deserialize)]
struct ListParams {
    state: Option<String>,
    assignee: Option<String>,
    q: Option<String>,
    sla: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /api/v1/cases` answer: the `casebook cases list --json` shape plus paging.
#[derive(Debug, Serialize)]
struct ListResponse {
    cases: Vec<views::CaseListItem>,
    page: i64,
    per_page: i64,
    total: i64,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[tracing::instrument(skip_all, fields(user = user.id))]
async fn list_cases(
    user: ApiUser,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadCases)?;
    let p = params.into_inner();
    let page = p.page.unwrap_or(1);
    if page < 1 {
        return Err(AppError::Unprocessable("page starts at 1".into()));
    }
    let per_page = p.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(AppError::Unprocessable(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}"
        )));
    }
    let case_state = match non_empty(p.state) {
        None => None,
        Some(s) => Some(
            s.parse::<crate::workflow::state::CaseState>()
                .map_err(|e| AppError::Unprocessable(e.to_string()))?
                .as_str()
                .to_string(),
        ),
    };
    let assignee = match non_empty(p.assignee) {
        None => None,
        Some(a) if a.eq_ignore_ascii_case("none") => Some(None),
        Some(a) => Some(Some(AccountRef::parse(&a)?)),
    };
    let text = non_empty(p.q);
    let sla = SlaFilter::parse(p.sla.as_deref().unwrap_or("").trim()).ok_or_else(|| {
        AppError::Unprocessable(
            "sla must be one of running, overdue, due_soon, breached".to_string(),
        )
    })?;
    let me = user.clone();
    let found = state
        .db(move |conn| {
            let assignee = match assignee {
                None => AssigneeFilter::Any,
                Some(None) => AssigneeFilter::Unassigned,
                Some(Some(r)) => AssigneeFilter::User(r.resolve(conn, &me)?.id),
            };
            let query = CaseQuery {
                state: case_state,
                assignee,
                text,
                page,
                per_page,
                priority: None,
                customer: None,
                sla,
                sort: SortOrder::Updated,
                ..Default::default()
            };
            Ok(queries::list_cases(conn, &query)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        cases: found.cases,
        page,
        per_page,
        total: found.total,
    }))
}

#[tracing::instrument(skip_all, fields(user = user.id))]
async fn show_case(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadCases)?;
    let number = path.into_inner();
    let (detail, seen) = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            let seen = crate::cases::activity::seen_marker(conn, case.id)?;
            let detail = views::detail(conn, &case.number)?.ok_or(AppError::NotFound)?;
            Ok((detail, seen))
        })
        .await?;
    // The ETag names the newest message and event: a reply sent with `If-Match` is refused (412)
    // when the case changed since, e.g. a retry after a timeout, or a colleague's answer.
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{seen}\"")))
        .json(detail))
}

/// `POST /api/v1/cases/{number}/notes` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    body: String,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tracing::instrument(skip_all, fields(user = user.id))]
async fn add_note(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<NoteBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::AddNote)?;
    let cmd = NoteCommand {
        case_number: path.into_inner(),
        author_id: user.id,
        author_name: user.name.clone(),
        author_email: user.email.clone(),
        body: body.into_inner().body,
        seen: None,
    };
    let (case_number, note) = state
        .db(move |conn| {
            let added = note::add(conn, &cmd).map_err(|e| match e {
                NoteError::CaseNotFound => AppError::NotFound,
                NoteError::Empty => AppError::Unprocessable("body must not be empty".into()),
                NoteError::TooLong => AppError::Unprocessable(format!(
                    "body must be at most {} characters",
                    note::MAX_NOTE_CHARS
                )),
                NoteError::Db(e) => e.into(),
            })?;
            let message = Message::find(conn, added.message_row_id)?.ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("the note just added is gone"))
            })?;
            Ok((added.case_number, message))
        })
        .await?;
    tracing::info!(case = %case_number, "note added through the API");
    let json = MessageJson {
        id: note.id,
        message_id: note.message_id,
        direction: note.direction,
        from: note.from_email,
        from_name: note.from_name,
        to: Vec::new(),
        cc: Vec::new(),
        subject: note.subject,
        date: rfc3339(note.received_at),
        body_text: note.body_text,
        new_text: note.new_text,
        auto: note.auto,
        thread_method: note.thread_method,
        attachments: Vec::new(),
    };
    Ok(HttpResponse::Created().json(json))
}

/// `POST /api/v1/cases/{number}/assign` body: `{"assignee": "a@b.c" | 7 | "me" | null}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// Missing is an error; `null` unassigns.
    #[serde(default, deserialize_with = "present")]
    assignee: Option<Option<AssigneeValue>>,
}

/// Tells a missing field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AssigneeValue {
    Id(i64),
    Text(String),
}

/// An account as the API shows it.
#[derive(Debug, Serialize)]
struct AccountJson {
    id: i64,
    email: String,
    name: String,
}

#[derive(Debug, Serialize)]
struct AssignResponse {
    number: String,
    assignee: Option<AccountJson>,
    changed: bool,
}

#[tracing::instrument(skip_all, fields(user = user.id))]
async fn assign(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AssignBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let target = match body.into_inner().assignee {
        None => {
            return Err(AppError::Unprocessable(
                "assignee is required (an email, an account id, \"me\", or null to unassign)"
                    .into(),
            ));
        }
        Some(None) => None,
        Some(Some(AssigneeValue::Id(id))) => Some(AccountRef::Id(id)),
        Some(Some(AssigneeValue::Text(t))) => Some(AccountRef::parse(&t)?),
    };
    let number = path.into_inner();
    let actor = user.clone();
    let response = state
        .db(move |conn| {
            // The door resolves "me", an id or an address to an account; the rules (who may
            // assign, to whom) and the writes are the workflow service's, as for the page.
            let new = match &target {
                None => None,
                Some(r) => Some(r.resolve(conn, &actor)?),
            };
            let case = find_case(conn, &number)?;
            let by = crate::workflow::service::ActorRef::User {
                id: actor.id,
                name: actor.name.clone(),
                role: actor.role,
            };
            let changed = crate::workflow::service::assign(
                conn,
                crate::workflow::service::CaseKey::Id(case.id),
                &by,
                new.as_ref().map(|u| u.id),
                chrono::Utc::now(),
            )
            .map_err(super::write::api_refusal)?;
            Ok(AssignResponse {
                number: case.number,
                assignee: new.map(|u| AccountJson {
                    id: u.id,
                    email: u.email,
                    name: u.name,
                }),
                changed,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

/// `PATCH /api/v1/cases/{number}`: the fields a client may change directly; today the title.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditCaseBody {
    title: Option<String>,
}

#[derive(Debug, Serialize)]
struct EditCaseResponse {
    number: String,
    title: String,
    changed: bool,
}

/// Renames a case through [`crate::workflow::service::edit_title`], as the case page does.
#[tracing::instrument(skip_all, fields(user = user.id))]
async fn edit_case(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<EditCaseBody>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let Some(title) = body.into_inner().title else {
        return Err(AppError::Unprocessable(
            "nothing to change: send {\"title\": \"…\"}".into(),
        ));
    };
    let number = path.into_inner();
    let actor = user.clone();
    let response = state
        .db(move |conn| {
            let case = find_case(conn, &number)?;
            let by = crate::workflow::service::ActorRef::User {
                id: actor.id,
                name: actor.name.clone(),
                role: actor.role,
            };
            let changed = crate::workflow::service::edit_title(
                conn,
                crate::workflow::service::CaseKey::Id(case.id),
                &by,
                &title,
                chrono::Utc::now(),
            )
            .map_err(super::write::api_refusal)?;
            let title = Case::find_by_id(conn, case.id)?
                .map(|c| c.title)
                .unwrap_or(case.title);
            Ok(EditCaseResponse {
                number: case.number,
                title,
                changed,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_named_by_me_id_or_email() {
        assert_eq!(AccountRef::parse("me").unwrap(), AccountRef::Me);
        assert_eq!(AccountRef::parse(" 42 ").unwrap(), AccountRef::Id(42));
        assert_eq!(
            AccountRef::parse("a@b.example").unwrap(),
            AccountRef::Email("a@b.example".into())
        );
        assert!(AccountRef::parse("bob").is_err());
    }

    #[test]
    fn assign_bodies_tell_missing_from_null() {
        let b: AssignBody = serde_json::from_str("{}").unwrap();
        assert!(b.assignee.is_none());
        let b: AssignBody = serde_json::from_str(r#"{"assignee":null}"#).unwrap();
        assert!(matches!(b.assignee, Some(None)));
        let b: AssignBody = serde_json::from_str(r#"{"assignee":7}"#).unwrap();
        assert!(matches!(b.assignee, Some(Some(AssigneeValue::Id(7)))));
        assert!(serde_json::from_str::<AssignBody>(r#"{"asignee":7}"#).is_err());
    }
}
