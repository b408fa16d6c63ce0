//! Pages of outbound mail: the reply and note forms on a case, the credential check before a
//! reply is queued, canned responses (`/admin/canned`) and the outbox (`/admin/outbox`).
//!
//! Who may do what: admins and agents reply to customers; engineers work behind the support team,
//! so they may add internal notes but never mail a customer; managers read cases and write
//! nothing on them (`auth::permissions`). Canned responses and the outbox are admin pages.

use crate::auth::Operation;
use crate::web::routes::Access;
use crate::web::time::Stamp;
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;
use serde::Deserialize;

use super::canned::{self, CannedResponse};
use super::compose::{OutgoingAttachment, parse_address_list};
use super::credentials::Finding;
use super::note::{self, NoteCommand, NoteError};
use super::outbox::OutboxRow;
use super::reply::{self, Refusal, ReplyCommand, ReplyError};
use crate::cases::messages::Participant;
use crate::cases::{Case, CaseNumber};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::web::page::set_flash;
use crate::web::{AppState, CurrentUser, Page};

/// Participants offered under the Cc field (the rest are counted).
const CC_SUGGESTIONS: usize = 10;
/// Largest text field read from the reply form.
const MAX_TEXT_FIELD_BYTES: usize = 2 * 1024 * 1024;
/// Rows shown on the outbox page.
const OUTBOX_PAGE_ROWS: i64 = 200;

crate::route_table! {
    GET "/cases/{number}/reply" => reply_page, Access::Page(Operation::Reply);
    POST "/cases/{number}/reply" => reply_submit, Access::Page(Operation::Reply);
    POST "/cases/{number}/note" => note_submit, Access::Page(Operation::AddNote);
    GET "/admin/canned" => canned_list, Access::Page(Operation::Administer);
    POST "/admin/canned" => canned_create, Access::Page(Operation::Administer);
    GET "/admin/canned/{id}" => canned_edit, Access::Page(Operation::Administer);
    POST "/admin/canned/{id}" => canned_update, Access::Page(Operation::Administer);
    GET "/admin/outbox" => outbox_page, Access::Page(Operation::Administer);
    POST "/admin/outbox/{id}/retry" => outbox_retry, Access::Page(Operation::Administer);
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
    /// Cc addresses, comma-separated, editable; empty until the writer fills it in.
    pub cc: String,
    /// Others on the case the writer may want to copy (never the support team's own addresses,
    /// never staff), at most [`CC_SUGGESTIONS`]; shown under the Cc field, never pre-filled.
    pub cc_suggestions: Vec<String>,
    /// How many more such participants the case has.
    pub cc_more: usize,
    /// The customer's name as greetings use it (known from the thread), if any.
    pub customer_name: Option<String>,
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
    /// `max_reply_recipients`.
    pub max_recipients: u32,
}

impl ReplyForm {
    /// "Goes to the customer and 3 Cc (at most 50 recipients)": who receives the reply as the
    /// form stands, so an agent sees a long Cc list before sending to it.
    pub fn recipients_line(&self, page: &Page) -> String {
        let cc = parse_address_list(&self.cc).map(|l| l.len()).unwrap_or(0);
        page.t("reply.recipients")
            .replace("{cc}", &cc.to_string())
            .replace("{limit}", &self.max_recipients.to_string())
    }

    /// The empty form for `case` as `user` sees it. Cc starts empty: a reply goes to the customer
    /// unless the writer copies someone. The case's other participants are offered under the
    /// field — never the support team's own addresses (`mail_from`, `support_domains`, staff
    /// accounts), and a bounded number of them.
    pub fn load(
        conn: &mut crate::db::DbConn,
        cfg: &Config,
        case: &Case,
        user: &CurrentUser,
    ) -> diesel::QueryResult<ReplyForm> {
        let room = i64::from(cfg.max_reply_recipients.saturating_sub(1));
        let others: Vec<String> =
            Participant::cc_for_reply(conn, case.id, &case.customer_email, room + 100)?
                .into_iter()
                .filter(|email| !cfg.is_support_address(email))
                .take(room as usize)
                .collect();
        let cc_more = others.len().saturating_sub(CC_SUGGESTIONS);
        let cc_suggestions: Vec<String> = others.into_iter().take(CC_SUGGESTIONS).collect();
        let customer_name = super::canned::customer_name(conn, case)?;
        let mut all = CannedResponse::list(conn)?;
        all.sort_by_key(|c| c.lang != case.language);
        Ok(ReplyForm {
            number: case.number.clone(),
            can_reply: user.is(Operation::Reply),
            to: match &customer_name {
                Some(n) => format!("{n} <{}>", case.customer_email),
                None => case.customer_email.clone(),
            },
            cc: String::new(),
            cc_suggestions,
            cc_more,
            customer_name,
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
            seen: crate::cases::activity::seen_marker(conn, case.id)?,
            changes: Vec::new(),
            max_recipients: cfg.max_reply_recipients,
        })
    }

    /// Loads the form on the blocking pool (for the case page).
    pub async fn for_case(
        state: &AppState,
        user: &CurrentUser,
        case: &Case,
    ) -> AppResult<ReplyForm> {
        let (case, user, cfg) = (case.clone(), user.clone(), state.config.clone());
        state
            .db(move |conn| Ok(ReplyForm::load(conn, &cfg, &case, &user)?))
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
    user.require(Operation::Reply)?;
    let number = parse_number(&path.into_inner())?;
    let canned_id = q.into_inner().canned;
    let (u, cfg) = (user.clone(), state.config.clone());
    let (case, reply) = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound)?;
            let mut reply = ReplyForm::load(conn, &cfg, &case, &u)?;
            if let Some(id) = canned_id {
                let canned = CannedResponse::find(conn, id)?.ok_or(AppError::NotFound)?;
                reply.body = canned.render_for(&case, reply.customer_name.as_deref(), &u.name);
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
    user.require(Operation::Reply)?;
    let number = parse_number(&path.into_inner())?;
    let mut form = read_reply_form(
        payload,
        state.config.max_attachment_bytes,
        state.config.max_message_bytes,
        &page,
    )
    .await?;
    // The form's own syntax (a comma-separated list) is parsed here; every rule is the service's.
    let cc = match parse_address_list(&form.cc) {
        Ok(cc) => cc,
        Err(bad) => {
            let problem = format!("{} {bad}", page.t("reply.bad_cc"));
            return hold_back(
                &state,
                &user,
                page,
                &number,
                form,
                Vec::new(),
                Some(problem),
                Vec::new(),
            )
            .await;
        }
    };
    let cmd = ReplyCommand {
        case_number: number.as_str().to_string(),
        author_id: user.id,
        author_name: user.name.clone(),
        body: form.body.clone(),
        cc,
        attachments: std::mem::take(&mut form.attachments),
        seen: Some(form.seen.clone()).filter(|s| !s.is_empty() && !form.confirm_changes),
        confirm_credentials: form.send_anyway,
    };
    let (blobs, cfg) = (state.blobs.clone(), state.config.clone());
    let result = state
        .db(move |conn| Ok(reply::send(conn, &blobs, &cfg, &cmd)))
        .await?;
    let queued = match result {
        Ok(q) => q,
        Err(ReplyError::CaseNotFound) => return Err(AppError::NotFound),
        Err(ReplyError::Failed(e)) => return Err(AppError::Internal(e)),
        Err(ReplyError::Refused(refusal)) => {
            let (findings, problem, changes) = match refusal {
                Refusal::Empty => (
                    Vec::new(),
                    Some(page.t("reply.empty").to_string()),
                    Vec::new(),
                ),
                Refusal::BadAddress(bad) => (
                    Vec::new(),
                    Some(format!("{} {bad}", page.t("reply.bad_cc"))),
                    Vec::new(),
                ),
                Refusal::TooManyRecipients { count, limit } => (
                    Vec::new(),
                    Some(
                        page.t("reply.too_many_recipients")
                            .replace("{count}", &count.to_string())
                            .replace("{limit}", &limit.to_string()),
                    ),
                    Vec::new(),
                ),
                Refusal::Credentials(found) => (found, None, Vec::new()),
                Refusal::Changed(changes) => (Vec::new(), None, changes),
            };
            return hold_back(
                &state, &user, page, &number, form, findings, problem, changes,
            )
            .await;
        }
    };
    if form.send_anyway {
        tracing::warn!(case = %number, user_id = user.id, "reply queued with the credential warning confirmed");
    }
    tracing::info!(case = %number, user_id = user.id, outbox_id = queued.outbox_id, "reply queued");
    set_flash(&req, "ok", page.t("reply.queued"));
    Ok(see_other(&format!("/cases/{number}#thread")))
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
    let (u, cfg) = (user.clone(), state.config.clone());
    let n = number.clone();
    let (case, mut reply) = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, n.as_str())?.ok_or(AppError::NotFound)?;
            let reply = ReplyForm::load(conn, &cfg, &case, &u)?;
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
    /// What the writer had seen (see [`crate::cases::activity::seen_marker`]); absent from older forms.
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
    user.require(Operation::AddNote)?;
    let number = parse_number(&path.into_inner())?;
    let form = form.into_inner();
    let cmd = NoteCommand {
        case_number: number.as_str().to_string(),
        author_id: user.id,
        author_name: user.name.clone(),
        author_email: user.email.clone(),
        body: form.body,
        seen: Some(form.seen).filter(|s| !s.is_empty()),
    };
    let added = state.db(move |conn| Ok(note::add(conn, &cmd))).await?;
    let added = match added {
        Ok(added) => added,
        Err(NoteError::CaseNotFound) => return Err(AppError::NotFound),
        Err(NoteError::Empty) => {
            return Err(AppError::Unprocessable(page.t("note.empty").to_string()));
        }
        Err(NoteError::TooLong) => {
            return Err(AppError::Unprocessable(
                page.t("note.too_long")
                    .replace("{limit}", &note::MAX_NOTE_CHARS.to_string()),
            ));
        }
        Err(NoteError::Db(e)) => return Err(e.into()),
    };
    tracing::info!(case = %number, user_id = user.id, added = added.new, "note submitted");
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
    user.require(Operation::Administer)?;
    render_canned_list(page, &state, None).await
}

async fn canned_create(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<CannedForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::Administer)?;
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
    user.require(Operation::Administer)?;
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
    user.require(Operation::Administer)?;
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
    next_attempt_at: Stamp,
    created_at: Stamp,
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
    user.require(Operation::Administer)?;
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
    let times = page.times();
    let fmt = |t: chrono::NaiveDateTime| times.stamp(t);
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
    user.require(Operation::Administer)?;
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
