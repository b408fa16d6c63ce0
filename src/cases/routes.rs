//! Case pages.

use crate::auth::Operation;
use crate::web::routes::Access;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::messages::{Attachment, CaseEvent, Message, Participant};
use super::model::Case;
use crate::error::AppError;
use crate::error::AppResult;
use crate::web::{AppState, CurrentUser, Page};
use crate::workflow::merge::MergeCommand;
use crate::workflow::service::{ActorRef, SlaRules};

crate::route_table! {
    GET "/cases" => list, Access::Page(Operation::ReadCases);
    GET "/cases/{number}" => show, Access::Page(Operation::ReadCases);
    POST "/cases/{number}/merge" => merge, Access::Page(Operation::MergeCases);
    GET "/cases/{number}/attachments/{id}" => attachment, Access::Page(Operation::ReadCases);
    GET "/cases/{number}/attachments/{id}/inline" => inline_image, Access::Page(Operation::ReadCases);
}

/// Whether the case's state allows merging it into another (the merge form shows only then).
pub fn mergeable(case: &Case) -> bool {
    crate::workflow::transitions::MERGE_FROM.contains(&case.state)
}

const PAGE_SIZE: i64 = 50;

/// One row of the list.
struct Row {
    number: String,
    title: String,
    customer: String,
    state: String,
    priority: String,
    assignee: Option<String>,
    updated: String,
    // workflow: the next SLA deadline (absent when every clock is met or paused).
    sla: Option<crate::workflow::views::ClockView>,
    /// For a text search, where the case matched.
    hit: Option<super::search::Hit>,
}

/// The list's query string: filters, sort and page (every field optional).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct ListQuery {
    /// State.
    #[serde(default)]
    pub state: String,
    /// `mine`, `none`, or an account id.
    #[serde(default)]
    pub assignee: String,
    /// Priority.
    #[serde(default)]
    pub priority: String,
    /// `running` or `overdue`.
    #[serde(default)]
    pub sla: String,
    /// Customer address or name contains.
    #[serde(default)]
    pub customer: String,
    /// Full-text search: a case number, or words found anywhere in the case (`cases::search`).
    #[serde(default)]
    pub q: String,
    /// `updated` (default), `created`, `due`.
    #[serde(default)]
    pub sort: String,
    /// Customer mail domain (`cases::filters::parse_domain`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// `1`: open cases only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub open: String,
    /// How long open (`cases::filters::AgeBucket`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub age: String,
    /// What happened between `from` and `to` (`cases::filters::Activity`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub activity: String,
    /// First date of `activity`, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// Last date of `activity`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Page, from 1.
    #[serde(default)]
    pub page: Option<i64>,
}

/// The time filters of a list request (`domain`, `open`, `age`, `activity` with `from`/`to`), as
/// the dashboard's links set them; a bad value is a 400 naming it in the reader's language.
fn time_filters(
    query: &ListQuery,
    page: &Page,
    tz: chrono_tz::Tz,
) -> AppResult<(
    Option<String>,
    Option<super::filters::AgeBucket>,
    Option<super::filters::ActivityFilter>,
)> {
    use super::filters::{Activity, ActivityFilter, AgeBucket, DateRange, parse_domain};
    let bad =
        |what: &str| AppError::BadRequest(format!("{}: {what:?}", page.t("cases.bad_filter")));
    let domain = match query.domain.trim() {
        "" => None,
        d => Some(parse_domain(d).ok_or_else(|| bad(d))?),
    };
    let age = match query.age.trim() {
        "" => None,
        a => Some(AgeBucket::parse(a).ok_or_else(|| bad(a))?),
    };
    let activity = match query.activity.trim() {
        "" => None,
        a => Some(ActivityFilter {
            activity: Activity::parse(a).ok_or_else(|| bad(a))?,
            range: DateRange::parse(&query.from, &query.to, tz)
                .map_err(|e| AppError::BadRequest(page.t(e.message_key()).to_string()))?,
        }),
    };
    Ok((domain, age, activity))
}

/// "Clock breached (Resolution) between 2026-11-01 and 2026-11-30", for the list's heading.
fn activity_line(page: &Page, filter: &super::filters::ActivityFilter) -> String {
    let mut what = page.t(filter.activity.label_key()).to_string();
    if let Some(metric) = filter.activity.metric() {
        what = format!("{what} ({})", metric.label(page.lang));
    }
    page.t("cases.activity_line")
        .replace("{activity}", &what)
        .replace("{from}", &filter.range.from.to_string())
        .replace("{to}", &filter.range.to.to_string())
}

impl ListQuery {
    /// The query string for another page (filters kept).
    fn with_page(&self, page: i64) -> String {
        let mut q = self.clone();
        q.page = Some(page);
        serde_urlencoded::to_string(&q).unwrap_or_default()
    }
}

struct Assignable {
    id: i64,
    name: String,
}

#[derive(Template)]
#[template(path = "cases/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    counts: Vec<(String, i64)>,
    total: i64,
    matching: i64,
    query: ListQuery,
    page_no: i64,
    pages: i64,
    prev_link: Option<String>,
    next_link: Option<String>,
    users: Vec<Assignable>,
    states: Vec<&'static str>,
    priorities: Vec<&'static str>,
    /// What an `activity` filter shows, in words.
    activity_shown: Option<String>,
    /// The time filters the form has no field for, kept when it is sent again.
    hidden: Vec<(&'static str, String)>,
}

async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    use super::search::{AssigneeFilter, CaseQuery, SlaFilter, SortOrder};
    user.require(Operation::ReadCases)?;
    let query = query.into_inner();
    let page_no = query.page.unwrap_or(1).max(1);
    let assignee = match query.assignee.as_str() {
        "" => AssigneeFilter::Any,
        "mine" => AssigneeFilter::User(user.id),
        "none" => AssigneeFilter::Unassigned,
        id => AssigneeFilter::User(
            id.parse()
                .map_err(|_| AppError::BadRequest(format!("unknown assignee {id:?}")))?,
        ),
    };
    let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let (domain, age, activity) =
        time_filters(&query, &page, state.config.business_hours.timezone())?;
    let activity_shown = activity.as_ref().map(|a| activity_line(&page, a));
    let search = CaseQuery {
        state: non_empty(&query.state),
        assignee,
        text: non_empty(&query.q),
        page: page_no,
        per_page: PAGE_SIZE,
        priority: non_empty(&query.priority),
        customer: non_empty(&query.customer),
        sla: SlaFilter::parse(query.sla.trim()).unwrap_or_default(),
        sort: match query.sort.as_str() {
            "created" => SortOrder::Created,
            "due" => SortOrder::Due,
            _ => SortOrder::Updated,
        },
        domain,
        open: matches!(query.open.trim(), "1" | "true"),
        age,
        activity,
    };
    // workflow: SLA deadlines for the listed cases.
    let (config, lang) = (state.config.clone(), page.lang);
    let (found, details, counts, mut deadlines, users) = state
        .db(move |conn| {
            let found = super::search::list_cases(conn, &search)?;
            let numbers: Vec<String> = found.cases.iter().map(|c| c.number.clone()).collect();
            let details: Vec<Case> = numbers
                .iter()
                .filter_map(|n| Case::find_by_number(conn, n).transpose())
                .collect::<Result<_, _>>()?;
            let ids: Vec<i64> = details.iter().map(|c| c.id).collect();
            let deadlines = crate::workflow::routes::deadlines_for(conn, &ids, lang, &config)?;
            let users = crate::auth::User::list(conn)?;
            Ok((
                found,
                details,
                Case::count_by_state(conn)?,
                deadlines,
                users,
            ))
        })
        .await?;
    let names: std::collections::HashMap<i64, String> =
        users.iter().map(|u| (u.id, u.name.clone())).collect();
    let mut hits = found.hits;
    let rows = details
        .into_iter()
        .map(|c| Row {
            sla: deadlines.remove(&c.id),
            hit: hits.remove(&c.number),
            assignee: c.assignee_id.and_then(|id| names.get(&id).cloned()),
            customer: c
                .customer_name
                .clone()
                .unwrap_or_else(|| c.customer_email.clone()),
            number: c.number,
            title: c.title,
            state: c.state.as_str().to_string(),
            priority: c.priority.as_str().to_string(),
            updated: c.last_activity_at.format("%Y-%m-%d %H:%M").to_string(),
        })
        .collect();
    let total = counts.iter().map(|(_, n)| n).sum();
    let pages = ((found.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let prev_link = (page_no > 1).then(|| format!("/cases?{}", query.with_page(page_no - 1)));
    let next_link = (page_no < pages).then(|| format!("/cases?{}", query.with_page(page_no + 1)));
    let body = ListPage {
        page,
        rows,
        counts,
        total,
        matching: found.total,
        page_no,
        pages,
        prev_link,
        next_link,
        users: users
            .into_iter()
            .filter(|u| !u.disabled)
            .map(|u| Assignable {
                id: u.id,
                name: u.name,
            })
            .collect(),
        states: crate::workflow::state::CaseState::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        priorities: crate::workflow::state::Priority::ALL
            .iter()
            .map(|p| p.as_str())
            .collect(),
        activity_shown,
        hidden: [
            ("domain", &query.domain),
            ("open", &query.open),
            ("age", &query.age),
            ("activity", &query.activity),
            ("from", &query.from),
            ("to", &query.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .collect(),
        query,
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
    /// The agent who wrote it, when the sender line names someone else (replies go out under the
    /// team's name).
    author: Option<String>,
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
    kind: crate::workflow::events::EventKind,
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
    /// For a reviewer (a manager), the summary and milestones shown first
    /// (`templates/reports/case_review.html`).
    review: Option<crate::reports::summaries::views::SummaryView>,
    /// Older messages folded away on long threads (`?all=1` shows them).
    hidden_earlier: usize,
}

/// Long threads show only their newest messages until asked, so the page stays fast.
const THREAD_WINDOW: usize = 50;

/// `?all=1` unfolds a long thread.
#[derive(Debug, Default, serde::Deserialize)]
struct ShowQuery {
    #[serde(default)]
    all: Option<String>,
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
    query: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadCases)?;
    let number = super::CaseNumber::parse(&path.into_inner()).map_err(|_| AppError::NotFound)?;
    // workflow: the panel needs the reader, their language and the SLA configuration.
    let (reader, lang, config) = (user.clone(), page.lang, state.config.clone());
    let reviews = crate::reports::summaries::routes::reviews_cases(&user);
    let (case, participants, messages, attachments, events, workflow, review) = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound)?;
            let id = case.id;
            let workflow = crate::workflow::routes::panel_for(conn, &case, &reader, lang, &config)?;
            let review = if reviews {
                Some(crate::reports::summaries::routes::case_review(
                    conn,
                    &case,
                    lang,
                    &config.business_hours,
                )?)
            } else {
                None
            };
            Ok((
                case,
                Participant::for_case(conn, id)?,
                Message::for_case_with_authors(conn, id)?,
                Attachment::for_case(conn, id)?,
                CaseEvent::for_case(conn, id)?,
                workflow,
                review,
            ))
        })
        .await?;
    let diagnostics = crate::diagnostics::routes::case_panel(&state, &page, case.id).await?;
    let hidden_earlier = if query.all.is_some() {
        0
    } else {
        messages.len().saturating_sub(THREAD_WINDOW)
    };
    let thread = messages
        .into_iter()
        .skip(hidden_earlier)
        .map(|(m, author)| {
            let quoted = (m.body_text.trim() != m.new_text.trim()).then(|| m.body_text.clone());
            let own: Vec<&Attachment> = attachments
                .iter()
                .filter(|a| a.message_id == m.id)
                .collect();
            let html = m
                .body_html
                .as_deref()
                .map(|html| inline_images(html, &case.number, &own));
            ThreadItem {
                html,
                attachments: own
                    .iter()
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
                author: author.filter(|a| Some(a) != m.from_name.as_ref()),
                date: fmt_time(m.date()),
                direction: m.direction,
                from_email: m.from_email,
                subject: m.subject,
                new_text: m.new_text,
                quoted,
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
        review,
        hidden_earlier,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A message's sanitised HTML with its `cid:` images pointed at [`inline_image`] for the message's
/// own attachments; a Content-ID it does not have, or one naming something other than a raster
/// image, stays a `cid:` source (a broken image, never a request elsewhere).
fn inline_images(html: &str, number: &str, own: &[&Attachment]) -> String {
    crate::ingest::html::rewrite_cid_images(html, |cid| {
        let images = || own.iter().filter(|a| a.inline_image_type().is_some());
        images()
            .find(|a| a.content_id.as_deref() == Some(cid))
            .or_else(|| {
                images().find(|a| {
                    a.content_id
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(cid))
                })
            })
            .map(|a| inline_image_url(number, a.id))
    })
    .into_owned()
}

/// Attachments are downloaded, never rendered as pages: a customer's HTML file must not run in
/// Casebook's origin.
async fn attachment(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    let (att, bytes) = find_attachment(&user, &state, path.into_inner()).await?;
    Ok(download(&att, bytes))
}

/// An inline image of a message (what its `cid:` sources are pointed at when the page is drawn):
/// raster images under their own type, with a policy that lets the response, opened on its own, do
/// nothing but be an image. Anything else, SVG included, is served as a download.
async fn inline_image(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    let (att, bytes) = find_attachment(&user, &state, path.into_inner()).await?;
    let Some(content_type) = att.inline_image_type() else {
        return Ok(download(&att, bytes));
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(disposition(
            actix_web::http::header::DispositionType::Inline,
            &att,
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
        .insert_header(("Cache-Control", "private"))
        .body(bytes))
}

/// The URL [`inline_image`] serves an attachment at.
fn inline_image_url(number: &str, attachment_id: i64) -> String {
    format!("/cases/{number}/attachments/{attachment_id}/inline")
}

/// A case's attachment and its bytes, for a reader of cases; 404 when the attachment is not on
/// that case.
async fn find_attachment(
    user: &CurrentUser,
    state: &web::Data<AppState>,
    (number, id): (String, i64),
) -> AppResult<(Attachment, Vec<u8>)> {
    user.require(Operation::ReadCases)?;
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
    Ok((att, bytes))
}

fn disposition(
    kind: actix_web::http::header::DispositionType,
    att: &Attachment,
) -> actix_web::http::header::ContentDisposition {
    actix_web::http::header::ContentDisposition {
        disposition: kind,
        parameters: vec![actix_web::http::header::DispositionParam::FilenameExt(
            actix_web::http::header::ExtendedValue {
                charset: actix_web::http::header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: att.filename.clone().into_bytes(),
            },
        )],
    }
}

fn download(att: &Attachment, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(disposition(
            actix_web::http::header::DispositionType::Attachment,
            att,
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes)
}

#[derive(serde::Deserialize)]
struct MergeForm {
    into: String,
    /// The state the page showed; a case that moved on since is refused as stale.
    #[serde(default)]
    from: Option<String>,
}

/// Merges this case into another (admins and agents); duplicates and stray second cases
/// become one thread again. The rule and the writes are [`crate::workflow::merge::merge`]'s.
async fn merge(
    req: actix_web::HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<MergeForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::MergeCases)?;
    let source = super::CaseNumber::parse(&path.into_inner()).map_err(|_| AppError::NotFound)?;
    let target = super::CaseNumber::parse(&form.into).map_err(|_| {
        AppError::Unprocessable(format!("{} {:?}", page.t("merge.bad_number"), form.into))
    })?;
    let expected = match form.from.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => Some(
            f.parse::<crate::workflow::CaseState>()
                .map_err(|e| AppError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let cmd = MergeCommand {
        source: source.as_str().to_string(),
        target: target.as_str().to_string(),
        actor: ActorRef::User {
            id: user.id,
            name: user.name.clone(),
            role: user.role,
        },
        expected,
    };
    let config = state.config.clone();
    let merged = state
        .db(move |conn| {
            let rules = SlaRules::from_config(&config);
            Ok(crate::workflow::merge::merge(
                conn,
                &cmd,
                chrono::Utc::now(),
                &rules,
            ))
        })
        .await?
        .map_err(|e| crate::workflow::routes::refusal(e, &page))?;
    crate::web::page::set_flash(
        &req,
        "ok",
        format!("{} {}", page.t("merge.done"), merged.number),
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/cases/{}", merged.number),
        ))
        .finish())
}
