//! Case pages.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::messages::{Attachment, CaseEvent, Message, Participant};
use super::model::{Case, CaseFilter};
use crate::auth::Role;
use crate::error::AppError;
use crate::error::AppResult;
use crate::web::{AppState, CurrentUser, Page};

/// Mounts this feature's routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/cases", web::get().to(list))
        .route("/cases/{number}", web::get().to(show))
        .route(
            "/cases/{number}/attachments/{id}",
            web::get().to(attachment),
        );
}

/// Every staff role may read cases.
const READERS: &[Role] = &[Role::Admin, Role::Manager, Role::Agent, Role::Engineer];
const PAGE_SIZE: i64 = 50;

/// One row of the list.
struct Row {
    number: String,
    title: String,
    customer: String,
    state: String,
    priority: String,
    updated: String,
    // workflow: the next SLA deadline (absent when every clock is met or paused).
    sla: Option<crate::workflow::service::ClockView>,
}

#[derive(Template)]
#[template(path = "cases/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    counts: Vec<(String, i64)>,
    total: i64,
    state_filter: String,
}

async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    filter: web::Query<CaseFilter>,
) -> AppResult<HttpResponse> {
    user.require(READERS)?;
    let filter = filter.into_inner();
    let f = filter.clone();
    // workflow: SLA deadlines for the listed cases.
    let (config, lang) = (state.config.clone(), page.lang);
    let (cases, counts, mut deadlines) = state
        .db(move |conn| {
            let cases = Case::list(conn, &f, PAGE_SIZE, 0)?;
            let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
            let deadlines = crate::workflow::routes::deadlines_for(conn, &ids, lang, &config)?;
            Ok((cases, Case::count_by_state(conn)?, deadlines))
        })
        .await?;
    let rows = cases
        .into_iter()
        .map(|c| Row {
            sla: deadlines.remove(&c.id),
            customer: c
                .customer_name
                .clone()
                .unwrap_or_else(|| c.customer_email.clone()),
            number: c.number,
            title: c.title,
            state: c.state,
            priority: c.priority,
            updated: c.last_activity_at.format("%Y-%m-%d %H:%M").to_string(),
        })
        .collect();
    let total = counts.iter().map(|(_, n)| n).sum();
    let body = ListPage {
        page,
        rows,
        counts,
        total,
        state_filter: filter.state.unwrap_or_default(),
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A message as the thread shows it.
struct ThreadItem {
    direction: String,
    from: String,
    from_email: String,
    date: String,
    subject: String,
    new_text: String,
    quoted: Option<String>,
    html: Option<String>,
    auto: bool,
    thread_method: String,
    attachments: Vec<AttachmentItem>,
}

struct AttachmentItem {
    id: i64,
    filename: String,
    content_type: String,
    size: String,
}

struct EventItem {
    at: String,
    actor: String,
    kind: String,
    from_state: Option<String>,
    to_state: Option<String>,
    note: Option<String>,
}

#[derive(Template)]
#[template(path = "cases/show.html")]
struct ShowPage {
    page: Page,
    case: Case,
    participants: Vec<Participant>,
    thread: Vec<ThreadItem>,
    /// Outbound mail: the reply and note forms (`templates/cases/reply_form.html`).
    reply: crate::mail::routes::ReplyForm,
    events: Vec<EventItem>,
    /// Diagnostics panel (`templates/diagnostics/case_panel.html`).
    diagnostics: crate::diagnostics::routes::CasePanel,
    // workflow: the actions panel (templates/workflow/actions.html).
    workflow: crate::workflow::routes::Panel,
}

/// Human-readable byte count.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes.max(0) as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn fmt_time(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn show(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(READERS)?;
    let number = super::CaseNumber::parse(&path.into_inner()).map_err(|_| AppError::NotFound)?;
    // workflow: the panel needs the reader, their language and the SLA configuration.
    let (reader, lang, config) = (user.clone(), page.lang, state.config.clone());
    let (case, participants, messages, attachments, events, workflow) = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound)?;
            let id = case.id;
            let workflow = crate::workflow::routes::panel_for(conn, &case, &reader, lang, &config)?;
            Ok((
                case,
                Participant::for_case(conn, id)?,
                Message::for_case(conn, id)?,
                Attachment::for_case(conn, id)?,
                CaseEvent::for_case(conn, id)?,
                workflow,
            ))
        })
        .await?;
    let diagnostics = crate::diagnostics::routes::case_panel(&state, &page, case.id).await?;
    let thread = messages
        .into_iter()
        .map(|m| {
            let quoted = (m.body_text.trim() != m.new_text.trim()).then(|| m.body_text.clone());
            ThreadItem {
                attachments: attachments
                    .iter()
                    .filter(|a| a.message_id == m.id)
                    .map(|a| AttachmentItem {
                        id: a.id,
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        size: human_size(a.size),
                    })
                    .collect(),
                from: m
                    .from_name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| m.from_email.clone()),
                date: fmt_time(m.date()),
                direction: m.direction,
                from_email: m.from_email,
                subject: m.subject,
                new_text: m.new_text,
                quoted,
                html: m.body_html,
                auto: m.auto,
                thread_method: m.thread_method,
            }
        })
        .collect();
    let events = events
        .into_iter()
        .map(|e| EventItem {
            at: fmt_time(e.created_at),
            actor: e.actor_label,
            kind: e.kind,
            from_state: e.from_state,
            to_state: e.to_state,
            note: e.note,
        })
        .collect();
    // Outbound mail: the reply and note forms (src/mail/routes.rs).
    let reply = crate::mail::routes::ReplyForm::for_case(&state, &user, &case).await?;
    let body = ShowPage {
        page,
        reply,
        case,
        participants,
        thread,
        events,
        diagnostics,
        workflow,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// Attachments are always downloaded, never rendered inline: a customer's HTML file must not run
/// in Casebook's origin.
async fn attachment(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    user.require(READERS)?;
    let (number, id) = path.into_inner();
    let number = super::CaseNumber::parse(&number).map_err(|_| AppError::NotFound)?;
    let att = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound)?;
            Attachment::for_case(conn, case.id)?
                .into_iter()
                .find(|a| a.id == id)
                .ok_or(AppError::NotFound)
        })
        .await?;
    let blobs = state.blobs.clone();
    let sha = att.sha256.clone();
    let bytes = web::block(move || blobs.get(&sha)).await??;
    let disposition = actix_web::http::header::ContentDisposition {
        disposition: actix_web::http::header::DispositionType::Attachment,
        parameters: vec![actix_web::http::header::DispositionParam::FilenameExt(
            actix_web::http::header::ExtendedValue {
                charset: actix_web::http::header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: att.filename.clone().into_bytes(),
            },
        )],
    };
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(disposition)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}
