//! Pages of outbound mail: the reply and note forms on a case, the credential check before a
//! reply is queued, canned responses (`/admin/canned`) and the outbox (`/admin/outbox`).
//!
//! Who may do what: admins, managers and agents reply to customers; engineers work behind the
//! support team, so they may add internal notes but never mail a customer. Canned responses and
//! the outbox are admin pages.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;
use serde::Deserialize;

use super::canned::{self, CannedResponse};
use super::compose::{OutgoingAttachment, parse_address_list};
use super::credentials::{self, Finding};
use super::outbox::{self, Author, OutboxRow};
use crate::auth::Role;
use crate::cases::messages::Participant;
use crate::cases::{Case, CaseNumber};
use crate::error::{AppError, AppResult};
use crate::web::page::set_flash;
use crate::web::{AppState, CurrentUser, Page};

/// Roles that mail customers.
pub const REPLIERS: &[Role] = &[Role::Admin, Role::Manager, Role::Agent];
/// Roles that write internal notes (every staff role, engineers included).
pub const NOTE_WRITERS: &[Role] = &[Role::Admin, Role::Manager, Role::Agent, Role::Engineer];
/// Largest text field read from the reply form.
const MAX_TEXT_FIELD_BYTES: usize = 2 * 1024 * 1024;
/// Rows shown on the outbox page.
const OUTBOX_PAGE_ROWS: i64 = 200;

/// Mounts this feature's routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/cases/{number}/reply", web::get().to(reply_page))
        .route("/cases/{number}/reply", web::post().to(reply_submit))
        .route("/cases/{number}/note", web::post().to(note_submit))
        .route("/admin/canned", web::get().to(canned_list))
        .route("/admin/canned", web::post().to(canned_create))
        .route("/admin/canned/{id}", web::get().to(canned_edit))
        .route("/admin/canned/{id}", web::post().to(canned_update))
        .route("/admin/outbox", web::get().to(outbox_page))
        .route("/admin/outbox/{id}/retry", web::post().to(outbox_retry));
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

fn parse_number(raw: &str) -> AppResult<CaseNumber> {
    CaseNumber::parse(raw).map_err(|_| AppError::NotFound)
}

/// One entry of the canned-response picker.
pub struct CannedOption {
    /// Row id.
    pub id: i64,
    /// `[lang] name`.
    pub label: String,
}

/// What the reply/note partial (`templates/cases/reply_form.html`) shows.
pub struct ReplyForm {
    /// Case number (form actions).
    pub number: String,
    /// Whether the reader may mail the customer (else only the note form shows).
    pub can_reply: bool,
    /// The customer, as the To line shows it.
    pub to: String,
    /// Cc addresses, comma-separated, editable.
    pub cc: String,
    /// Pre-filled reply text.
    pub body: String,
    /// Canned responses, the case's language first.
    pub canned: Vec<CannedOption>,
    /// The canned response just inserted.
    pub selected_canned: Option<i64>,
    /// Credential-like passages found in the text (masked); non-empty means "confirm to send".
    pub warnings: Vec<Finding>,
    /// A problem with the last submission.
    pub error: Option<String>,
    /// What the writer has seen: the newest message and event ids when the form was shown.
    pub seen: String,
    /// What changed on the case since the form was shown (non-empty means "confirm to send").
    pub changes: Vec<String>,
}

/// The newest message and event ids of a case, as `"<message id>:<event id>"`: forms carry it so a
/// reply written while a colleague answered, or the customer wrote again, is not sent blindly.
pub fn seen_marker(conn: &mut crate::db::DbConn, case_id: i64) -> diesel::QueryResult<String> {
    use crate::db::schema::{case_events, messages};
    use diesel::prelude::*;
    let m: Option<i64> = messages::table
        .filter(messages::case_id.eq(case_id))
        .select(diesel::dsl::max(messages::id))
        .first(conn)?;
    let e: Option<i64> = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .select(diesel::dsl::max(case_events::id))
        .first(conn)?;
    Ok(format!("{}:{}", m.unwrap_or(0), e.unwrap_or(0)))
}

/// Human descriptions of what happened on a case after `seen` (a [`seen_marker`] value).
pub fn changes_since(
    conn: &mut crate::db::DbConn,
    case_id: i64,
    seen: &str,
) -> diesel::QueryResult<Vec<String>> {
    let (m, e) = seen.split_once(':').unwrap_or(("0", "0"));
    let (m, e): (i64, i64) = (m.parse().unwrap_or(0), e.parse().unwrap_or(0));
    let mut out = Vec::new();
    for msg in crate::cases::messages::Message::for_case(conn, case_id)?
        .into_iter()
        .filter(|x| x.id > m)
    {
        let who = msg
            .from_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(msg.from_email.clone());
        let text: String = msg.new_text.chars().take(120).collect();
        out.push(format!("{} · {who}: {text}", msg.direction));
    }
    // A clock passing its deadline (recorded by the background sweep) is not something anyone
    // said or did on the case: it does not hold a reply back.
    for ev in crate::cases::messages::CaseEvent::for_case(conn, case_id)?
        .into_iter()
        .filter(|x| x.id > e && x.kind != crate::workflow::service::kinds::SLA_BREACHED)
    {
        let change = match (&ev.from_state, &ev.to_state) {
            (Some(f), Some(t)) => format!(" {f} → {t}"),
            _ => String::new(),
        };
        out.push(format!("{} · {}{change}", ev.actor_label, ev.kind));
    }
    Ok(out)
}

impl ReplyForm {
    /// The empty form for `case` as `user` sees it.
    pub fn load(
        conn: &mut crate::db::DbConn,
        case: &Case,
        user: &CurrentUser,
    ) -> diesel::QueryResult<ReplyForm> {
        let cc: Vec<String> = Participant::for_case(conn, case.id)?
            .into_iter()
            .filter(|p| p.kind != "customer" && p.email != case.customer_email)
            .map(|p| p.email)
            .collect();
        let mut all = CannedResponse::list(conn)?;
        all.sort_by_key(|c| c.lang != case.language);
        Ok(ReplyForm {
            number: case.number.clone(),
            can_reply: user.is(REPLIERS),
            to: match &case.customer_name {
                Some(n) if !n.trim().is_empty() => format!("{n} <{}>", case.customer_email),
                _ => case.customer_email.clone(),
            },
            cc: cc.join(", "),
            body: String::new(),
            canned: all
                .into_iter()
                .map(|c| CannedOption {
                    id: c.id,
                    label: format!("[{}] {}", c.lang, c.name),
                })
                .collect(),
            selected_canned: None,
            warnings: Vec::new(),
            error: None,
            seen: seen_marker(conn, case.id)?,
            changes: Vec::new(),
        })
    }

    /// Loads the form on the blocking pool (for the case page).
    pub async fn for_case(
        state: &AppState,
        user: &CurrentUser,
        case: &Case,
    ) -> AppResult<ReplyForm> {
        let (case, user) = (case.clone(), user.clone());
        state
            .db(move |conn| Ok(ReplyForm::load(conn, &case, &user)?))
            .await
    }
}

#[derive(Template)]
#[template(path = "mail/reply_page.html")]
struct ReplyPage {
    page: Page,
    title: String,
    reply: ReplyForm,
}

#[derive(Deserialize)]
struct CannedQuery {
    canned: Option<i64>,
}

/// The reply form on its own page; `?canned=ID` pre-fills the text (works without JavaScript).
async fn reply_page(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<CannedQuery>,
) -> AppResult<HttpResponse> {
    user.require(REPLIERS)?;
    let number = parse_number(&path.into_inner())?;
    let canned_id = q.into_inner().canned;
    let u = user.clone();
    let (case, reply) = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound)?;
            let mut reply = ReplyForm::load(conn, &case, &u)?;
            if let Some(id) = canned_id {
                let canned = CannedResponse::find(conn, id)?.ok_or(AppError::NotFound)?;
                reply.body = canned.render(&case, &u.name);
                reply.selected_canned = Some(id);
            }
            Ok((case, reply))
        })
        .await?;
    let body = ReplyPage {
        page,
        title: case.title,
        reply,
    }
    .render()?;
    Ok(html(actix_web::http::StatusCode::OK, body))
}

/// The reply form as submitted.
#[derive(Default)]
struct ReplySubmission {
    cc: String,
    body: String,
    send_anyway: bool,
    seen: String,
    confirm_changes: bool,
    attachments: Vec<OutgoingAttachment>,
    /// Whether files came with the form (they are not kept when the form is shown again).
    had_attachments: bool,
}

async fn read_reply_form(
    mut payload: Multipart,
    max_attachment: u64,
    max_total: u64,
    page: &Page,
) -> AppResult<ReplySubmission> {
    let mut form = ReplySubmission::default();
    let mut total: u64 = 0;
    while let Some(field) = payload.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let content_type = field
            .content_type()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_else(|| "application/octet-stream".into());
        let limit = if filename.is_some() {
            max_attachment
        } else {
            MAX_TEXT_FIELD_BYTES as u64
        };
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
            total += chunk.len() as u64;
            if (data.len() + chunk.len()) as u64 > limit || total > max_total {
                return Err(AppError::PayloadTooLarge(format!(
                    "{} ({} MiB)",
                    page.t("reply.too_large"),
                    limit.min(max_total) / 1024 / 1024
                )));
            }
            data.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8_lossy(&data).into_owned();
        match name.as_str() {
            "cc" => form.cc = text(),
            "body" => form.body = text().replace("\r\n", "\n"),
            "send_anyway" => form.send_anyway = !data.is_empty(),
            "seen" => form.seen = text(),
            "confirm_changes" => form.confirm_changes = !data.is_empty(),
            "attachments" => {
                if let Some(filename) = filename.filter(|f| !f.trim().is_empty()) {
                    form.had_attachments = true;
                    form.attachments.push(OutgoingAttachment {
                        filename,
                        content_type,
                        bytes: data,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(form)
}

/// Queues a reply, unless the text looks like it carries a credential and the agent has not
/// confirmed sending it anyway.
async fn reply_submit(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: Multipart,
) -> AppResult<HttpResponse> {
    user.require(REPLIERS)?;
    let number = parse_number(&path.into_inner())?;
    let mut form = read_reply_form(
        payload,
        state.config.max_attachment_bytes,
        state.config.max_message_bytes,
        &page,
    )
    .await?;
    let findings = credentials::scan(&form.body);
    let cc = parse_address_list(&form.cc);
    let problem = if form.body.trim().is_empty() {
        Some(page.t("reply.empty").to_string())
    } else if let Err(bad) = &cc {
        Some(format!("{} {bad}", page.t("reply.bad_cc")))
    } else {
        None
    };
    // Collision detection: the form says what the writer had seen; anything newer is shown first.
    let (n, seen) = (number.clone(), form.seen.clone());
    let changes = if form.confirm_changes || seen.is_empty() {
        Vec::new()
    } else {
        state
            .db(move |conn| {
                let case = Case::find_by_number(conn, n.as_str())?.ok_or(AppError::NotFound)?;
                Ok(changes_since(conn, case.id, &seen)?)
            })
            .await?
    };
    if problem.is_some() || (!findings.is_empty() && !form.send_anyway) || !changes.is_empty() {
        return hold_back(
            &state, &user, page, &number, form, findings, problem, changes,
        )
        .await;
    }
    let cc = cc.unwrap_or_default();
    let blobs = state.blobs.clone();
    let cfg = state.config.clone();
    let (author_id, author_name) = (user.id, user.name.clone());
    let confirmed_kinds: Vec<&'static str> = findings.iter().map(|f| f.kind).collect();
    let n = number.clone();
    let (body, attachments) = (form.body.clone(), std::mem::take(&mut form.attachments));
    let (seen, confirmed) = (form.seen.clone(), form.confirm_changes);
    let queued = state
        .db(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let case = Case::find_by_number(conn, n.as_str())?.ok_or(AppError::NotFound)?;
                // Checked again under the case's write lock: of two submissions of the same form
                // (a double click, two tabs), the second sees the first's reply and is held back.
                Case::lock(conn, case.id)?;
                if !confirmed && !seen.is_empty() {
                    let changes = changes_since(conn, case.id, &seen)?;
                    if !changes.is_empty() {
                        return Ok(Err(changes));
                    }
                }
                let author = Author {
                    id: author_id,
                    name: &author_name,
                };
                Ok(Ok(outbox::queue_reply(
                    conn,
                    &blobs,
                    &cfg,
                    &case,
                    &author,
                    &body,
                    &cc,
                    &attachments,
                )?))
            })
        })
        .await?;
    let queued = match queued {
        Ok(q) => q,
        Err(changes) => {
            return hold_back(&state, &user, page, &number, form, findings, None, changes).await;
        }
    };
    if !confirmed_kinds.is_empty() {
        tracing::warn!(case = %number, user_id = user.id, kinds = ?confirmed_kinds, "reply queued despite the credential warning");
    }
    tracing::info!(case = %number, user_id = user.id, outbox_id = queued.outbox_id, "reply queued");
    set_flash(&req, "ok", page.t("reply.queued"));
    Ok(see_other(&format!("/cases/{number}#thread")))
}

/// Whether `author` added a note with exactly `body` to the case after the form's `seen` marker.
fn same_note_since(
    conn: &mut crate::db::DbConn,
    case_id: i64,
    seen: &str,
    author: i64,
    body: &str,
) -> diesel::QueryResult<bool> {
    use crate::db::schema::messages;
    use diesel::prelude::*;
    let after: i64 = seen
        .split_once(':')
        .and_then(|(m, _)| m.parse().ok())
        .unwrap_or(0);
    diesel::select(diesel::dsl::exists(
        messages::table
            .filter(messages::case_id.eq(case_id))
            .filter(messages::id.gt(after))
            .filter(messages::direction.eq(crate::cases::messages::NOTE))
            .filter(messages::author_id.eq(author))
            .filter(messages::body_text.eq(body)),
    ))
    .get_result(conn)
}

/// Shows the reply form again instead of sending: with the problem, the credential warnings or
/// the case's changes since the writer looked, and their text kept.
#[allow(clippy::too_many_arguments)]
async fn hold_back(
    state: &AppState,
    user: &CurrentUser,
    page: Page,
    number: &CaseNumber,
    form: ReplySubmission,
    findings: Vec<Finding>,
    problem: Option<String>,
    changes: Vec<String>,
) -> AppResult<HttpResponse> {
    let u = user.clone();
    let n = number.clone();
    let (case, mut reply) = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, n.as_str())?.ok_or(AppError::NotFound)?;
            let reply = ReplyForm::load(conn, &case, &u)?;
            Ok((case, reply))
        })
        .await?;
    let collided = !changes.is_empty() && problem.is_none();
    reply.changes = changes;
    reply.cc = form.cc;
    reply.body = form.body;
    reply.warnings = findings;
    reply.error = match (problem, form.had_attachments) {
        (Some(p), _) => Some(p),
        (None, true) => Some(page.t("reply.reattach").to_string()),
        (None, false) => None,
    };
    tracing::info!(
        case = %case.number,
        user_id = user.id,
        findings = reply.warnings.len(),
        changes = reply.changes.len(),
        "reply held back for confirmation"
    );
    let body = ReplyPage {
        page,
        title: case.title,
        reply,
    }
    .render()?;
    let status = if collided {
        actix_web::http::StatusCode::CONFLICT
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(status, body))
}

#[derive(Deserialize)]
struct NoteForm {
    body: String,
    /// What the writer had seen (see [`seen_marker`]); absent from older forms.
    #[serde(default)]
    seen: String,
}

/// Adds an internal note (never mailed).
async fn note_submit(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<NoteForm>,
) -> AppResult<HttpResponse> {
    user.require(NOTE_WRITERS)?;
    let number = parse_number(&path.into_inner())?;
    let form = form.into_inner();
    let body = form.body.replace("\r\n", "\n");
    if body.trim().is_empty() {
        return Err(AppError::Unprocessable(page.t("note.empty").to_string()));
    }
    let n = number.clone();
    let u = user.clone();
    let added = state
        .db(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let case = Case::find_by_number(conn, n.as_str())?.ok_or(AppError::NotFound)?;
                Case::lock(conn, case.id)?;
                // The same form sent twice (a double click): the note it added is already there.
                if !form.seen.is_empty() && same_note_since(conn, case.id, &form.seen, u.id, &body)?
                {
                    return Ok(false);
                }
                outbox::add_note(conn, &case, u.id, &u.name, &u.email, &body)?;
                Ok(true)
            })
        })
        .await?;
    tracing::info!(case = %number, user_id = user.id, added, "note submitted");
    set_flash(&req, "ok", page.t("note.added"));
    Ok(see_other(&format!("/cases/{number}#thread")))
}

// ---- canned responses (admin) ----

#[derive(Template)]
#[template(path = "mail/admin_canned.html")]
struct CannedListPage {
    page: Page,
    items: Vec<CannedResponse>,
    langs: [&'static str; 2],
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/admin_canned_edit.html")]
struct CannedEditPage {
    page: Page,
    item: CannedResponse,
    langs: [&'static str; 2],
    error: Option<String>,
}

#[derive(Deserialize)]
struct CannedForm {
    name: String,
    lang: String,
    body: String,
}

#[derive(Deserialize)]
struct CannedUpdateForm {
    action: String,
    name: Option<String>,
    lang: Option<String>,
    body: Option<String>,
}

fn check_canned(page: &Page, name: &str, lang: &str, body: &str) -> Result<(), String> {
    if name.trim().is_empty() || body.trim().is_empty() {
        return Err(page.t("canned.required").to_string());
    }
    if !canned::LANGS.contains(&lang) {
        return Err(format!("{} {lang}", page.t("canned.bad_lang")));
    }
    Ok(())
}

async fn render_canned_list(
    page: Page,
    state: &AppState,
    error: Option<String>,
) -> AppResult<HttpResponse> {
    let items = state.db(|conn| Ok(CannedResponse::list(conn)?)).await?;
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    let body = CannedListPage {
        page,
        items,
        langs: canned::LANGS,
        error,
    }
    .render()?;
    Ok(html(status, body))
}

async fn canned_list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    render_canned_list(page, &state, None).await
}

async fn canned_create(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<CannedForm>,
) -> AppResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let CannedForm { name, lang, body } = form.into_inner();
    let body = body.replace("\r\n", "\n");
    if let Err(e) = check_canned(&page, &name, &lang, &body) {
        return render_canned_list(page, &state, Some(e)).await;
    }
    let created = state
        .db(move |conn| Ok(CannedResponse::create(conn, name.trim(), &lang, &body)?))
        .await?;
    if !created {
        let msg = page.t("canned.exists").to_string();
        return render_canned_list(page, &state, Some(msg)).await;
    }
    tracing::info!(admin = user.id, "canned response created");
    set_flash(&req, "ok", page.t("canned.saved"));
    Ok(see_other("/admin/canned"))
}

async fn canned_edit(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let id = path.into_inner();
    let item = state
        .db(move |conn| CannedResponse::find(conn, id)?.ok_or(AppError::NotFound))
        .await?;
    let body = CannedEditPage {
        page,
        item,
        langs: canned::LANGS,
        error: None,
    }
    .render()?;
    Ok(html(actix_web::http::StatusCode::OK, body))
}

async fn canned_update(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<CannedUpdateForm>,
) -> AppResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let id = path.into_inner();
    let form = form.into_inner();
    match form.action.as_str() {
        "delete" => {
            let deleted = state
                .db(move |conn| Ok(CannedResponse::delete(conn, id)?))
                .await?;
            if !deleted {
                return Err(AppError::NotFound);
            }
            tracing::info!(admin = user.id, canned_id = id, "canned response deleted");
            set_flash(&req, "ok", page.t("canned.deleted"));
        }
        "save" => {
            let name = form.name.unwrap_or_default().trim().to_string();
            let lang = form.lang.unwrap_or_default();
            let body = form.body.unwrap_or_default().replace("\r\n", "\n");
            let problem = match check_canned(&page, &name, &lang, &body) {
                Err(e) => Some(e),
                Ok(()) => {
                    let (n, l, b) = (name.clone(), lang.clone(), body.clone());
                    let saved = state
                        .db(move |conn| Ok(CannedResponse::save(conn, id, &n, &l, &b)?))
                        .await?;
                    (!saved).then(|| page.t("canned.exists").to_string())
                }
            };
            if let Some(error) = problem {
                let at = crate::db::now();
                let body = CannedEditPage {
                    item: CannedResponse {
                        id,
                        name,
                        lang,
                        body,
                        created_at: at,
                        updated_at: at,
                    },
                    page,
                    langs: canned::LANGS,
                    error: Some(error),
                }
                .render()?;
                return Ok(html(
                    actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                    body,
                ));
            }
            tracing::info!(admin = user.id, canned_id = id, "canned response changed");
            set_flash(&req, "ok", page.t("canned.saved"));
        }
        other => return Err(AppError::BadRequest(format!("unknown action {other:?}"))),
    }
    Ok(see_other("/admin/canned"))
}

// ---- outbox (admin) ----

struct OutboxItem {
    id: i64,
    case_number: Option<String>,
    kind: String,
    to: String,
    subject: String,
    status: String,
    status_label: String,
    attempts: i32,
    next_attempt_at: String,
    created_at: String,
    last_error: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/admin_outbox.html")]
struct OutboxPage {
    page: Page,
    items: Vec<OutboxItem>,
    transport: String,
}

async fn outbox_page(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let rows = state
        .db(|conn| {
            let rows = OutboxRow::list_unsent(conn, OUTBOX_PAGE_ROWS)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let number = match r.case_id {
                    Some(id) => Case::find_by_id(conn, id)?.map(|c| c.number),
                    None => None,
                };
                out.push((r, number));
            }
            Ok(out)
        })
        .await?;
    let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let items = rows
        .into_iter()
        .map(|(r, case_number)| OutboxItem {
            id: r.id,
            case_number,
            kind: page.t(&format!("outbox.kind.{}", r.kind)).to_string(),
            status_label: page.t(&format!("outbox.status.{}", r.status)).to_string(),
            to: if r.cc_addrs.is_empty() {
                r.to_addrs
            } else {
                format!("{}; cc {}", r.to_addrs, r.cc_addrs)
            },
            subject: r.subject,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: fmt(r.next_attempt_at),
            created_at: fmt(r.created_at),
            last_error: r.last_error,
        })
        .collect();
    let transport = match &state.config.smtp {
        Some(s) => format!("SMTP {}:{}", s.host, s.port),
        None => format!(
            "{} {}",
            page.t("outbox.file_outbox"),
            state.config.data_dir.join("outbox").display()
        ),
    };
    let body = OutboxPage {
        page,
        items,
        transport,
    }
    .render()?;
    Ok(html(actix_web::http::StatusCode::OK, body))
}

async fn outbox_retry(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let id = path.into_inner();
    let changed = state
        .db(move |conn| Ok(OutboxRow::retry_now(conn, id)?))
        .await?;
    if !changed {
        return Err(AppError::Conflict(
            page.t("outbox.not_retryable").to_string(),
        ));
    }
    tracing::info!(admin = user.id, outbox_id = id, "mail retry requested");
    set_flash(&req, "ok", page.t("outbox.retry_queued"));
    Ok(see_other("/admin/outbox"))
}
