//! Case pages.

use crate::auth::Operation;
use crate::web::routes::Access;
use crate::web::time::{Stamp, Timekeeper};
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
    GET "/cases/{number}/messages/{id}" => message_page, Access::Page(Operation::ReadCases);
    POST "/preferences/thread-order" => set_thread_order, Access::Page(Operation::ReadCases);
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
    updated: Stamp,
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

/// Why the list shows no case, in words: the filters that are on, and the ways out.
struct EmptyList {
    /// "No cases in state “Escalated”.", "No cases match “kms”.", "No cases match these filters:".
    heading: String,
    /// Each filter that is on, as "Owner: Mine" (only when several are).
    filters: Vec<String>,
    /// `/cases?q=…`: the same search without the other filters.
    search_everywhere: Option<(String, String)>,
    /// The first page, when a page past the last one was asked for.
    first_page: Option<String>,
}

/// The empty state for `query` (`matching` cases exist in all, `page_no` was asked for).
fn empty_list(page: &Page, query: &ListQuery, users: &[Assignable], matching: i64) -> EmptyList {
    let trimmed = |s: &str| s.trim().to_string();
    let q = trimmed(&query.q);
    if matching > 0 {
        // The filters match cases, but not on this page (an old link to a later page).
        let mut first = query.clone();
        first.page = None;
        return EmptyList {
            heading: page.t("cases.past_last_page").to_string(),
            filters: Vec::new(),
            search_everywhere: None,
            first_page: Some(format!(
                "/cases?{}",
                serde_urlencoded::to_string(&first).unwrap_or_default()
            )),
        };
    }
    let mut filters = Vec::new();
    let state = trimmed(&query.state);
    if !state.is_empty() {
        filters.push(format!("{}: {}", page.t("case.state"), page.t(&state)));
    }
    match query.assignee.trim() {
        "" => {}
        "mine" => filters.push(format!(
            "{}: {}",
            page.t("case.assignee"),
            page.t("cases.mine")
        )),
        "none" => filters.push(format!(
            "{}: {}",
            page.t("case.assignee"),
            page.t("cases.unassigned")
        )),
        id => {
            let name = users
                .iter()
                .find(|u| u.id.to_string() == id)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| id.to_string());
            filters.push(format!("{}: {name}", page.t("case.assignee")));
        }
    }
    let priority = trimmed(&query.priority);
    if !priority.is_empty() {
        filters.push(format!(
            "{}: {}",
            page.t("case.priority"),
            page.t(&priority)
        ));
    }
    let sla = match query.sla.trim() {
        "running" => Some(page.t("cases.sla_running")),
        "overdue" => Some(page.t("cases.sla_overdue")),
        "due_soon" => Some(page.t("cases.sla_due_soon")),
        "breached" => Some(page.t("cases.sla_breached")),
        _ => None,
    };
    if let Some(sla) = sla {
        filters.push(format!("SLA: {sla}"));
    }
    let customer = trimmed(&query.customer);
    if !customer.is_empty() {
        filters.push(format!("{}: “{customer}”", page.t("case.customer")));
    }
    if !q.is_empty() {
        filters.push(format!("{}: “{q}”", page.t("cases.search")));
    }
    let heading = match filters.len() {
        0 => page.t("cases.no_filter_match").to_string(),
        1 if !state.is_empty() => page
            .t("cases.none_match")
            .replace("{state}", page.t(&state)),
        1 if !q.is_empty() => page.t("cases.no_search_match").replace("{q}", &q),
        _ => page.t("cases.no_filter_match").to_string(),
    };
    let search_everywhere = (!q.is_empty() && filters.len() > 1).then(|| {
        (
            format!(
                "/cases?{}",
                serde_urlencoded::to_string([("q", &q)]).unwrap_or_default()
            ),
            page.t("cases.search_everywhere").replace("{q}", &q),
        )
    });
    EmptyList {
        heading,
        filters: if filters.len() > 1 {
            filters
        } else {
            Vec::new()
        },
        search_everywhere,
        first_page: None,
    }
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
    /// Why no case is listed (when none is).
    empty: Option<EmptyList>,
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
    let (config, times) = (state.config.clone(), page.times());
    let (found, details, counts, mut deadlines, users) = state
        .db(move |conn| {
            let found = super::search::list_cases(conn, &search)?;
            let numbers: Vec<String> = found.cases.iter().map(|c| c.number.clone()).collect();
            let details: Vec<Case> = numbers
                .iter()
                .filter_map(|n| Case::find_by_number(conn, n).transpose())
                .collect::<Result<_, _>>()?;
            let ids: Vec<i64> = details.iter().map(|c| c.id).collect();
            let deadlines = crate::workflow::routes::deadlines_for(conn, &ids, times, &config)?;
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
    let rows: Vec<Row> = details
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
            updated: times.stamp(c.last_activity_at),
        })
        .collect();
    let total = counts.iter().map(|(_, n)| n).sum();
    let pages = ((found.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let prev_link = (page_no > 1).then(|| format!("/cases?{}", query.with_page(page_no - 1)));
    let next_link = (page_no < pages).then(|| format!("/cases?{}", query.with_page(page_no + 1)));
    let users: Vec<Assignable> = users
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| Assignable {
            id: u.id,
            name: u.name,
        })
        .collect();
    let empty = rows
        .is_empty()
        .then(|| empty_list(&page, &query, &users, found.total));
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
        users,
        empty,
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

/// A message as the thread shows it: open (its text, quoted history, HTML view and attachments) or
/// collapsed to one line (sender, time, first line) that expands to its new text.
struct ThreadItem {
    id: i64,
    direction: String,
    from: String,
    /// The agent who wrote it, when the sender line names someone else (replies go out under the
    /// team's name).
    author: Option<String>,
    from_email: String,
    date: Stamp,
    /// The subject, only when it says something new after the message before.
    subject: Option<String>,
    /// One line for the collapsed view.
    first_line: String,
    new_text: String,
    /// Shown open (else one line until expanded).
    open: bool,
    quoted: Option<String>,
    html: Option<String>,
    auto: bool,
    /// Which threading rule placed it (stored code) and its catalogue key.
    thread_method: String,
    method_key: &'static str,
    attachments: Vec<AttachmentItem>,
}

struct AttachmentItem {
    id: i64,
    filename: String,
    content_type: String,
    size: String,
}

struct EventItem {
    at: Stamp,
    actor: String,
    kind: crate::workflow::events::EventKind,
    from_state: Option<String>,
    to_state: Option<String>,
    note: Option<String>,
}

/// The conversation part of the case page.
struct Conversation {
    /// Messages in the reader's order.
    items: Vec<ThreadItem>,
    /// Every message of the case.
    total: i64,
    /// Messages older than those shown, and the link to the page before them.
    earlier: i64,
    earlier_link: Option<String>,
    /// Messages newer than those shown (when paging back).
    newer: i64,
    /// The reader's order.
    newest_first: bool,
}

#[derive(Template)]
#[template(path = "cases/show.html")]
struct ShowPage {
    page: Page,
    case: Case,
    participants: Vec<Participant>,
    conversation: Conversation,
    /// Outbound mail: the reply and note forms (`templates/cases/reply_form.html`).
    reply: crate::mail::routes::ReplyForm,
    events: Vec<EventItem>,
    /// "The newest 100 of 340 events" when the timeline is cut at [`TIMELINE_LIMIT`].
    timeline_note: Option<String>,
    /// Diagnostics panel (`templates/diagnostics/case_panel.html`).
    diagnostics: crate::diagnostics::routes::CasePanel,
    // workflow: the actions panel (templates/workflow/actions.html).
    workflow: crate::workflow::routes::Panel,
    /// For a reviewer (a manager), the summary and milestones shown first
    /// (`templates/reports/case_review.html`).
    review: Option<crate::reports::summaries::views::SummaryView>,
}

/// Events shown on the case page's timeline (the newest; the API and CLI give all).
const TIMELINE_LIMIT: i64 = 100;
/// Characters of a collapsed message's first line.
const FIRST_LINE_CHARS: usize = 160;

/// `?before=<message id>`: the page of the conversation before that message.
#[derive(Debug, Default, serde::Deserialize)]
struct ShowQuery {
    #[serde(default)]
    before: Option<i64>,
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

/// The catalogue key explaining a stored `thread_method`.
fn method_key(method: &str) -> &'static str {
    match method {
        "signed_message_id" => "thread_method.signed_message_id",
        "known_message_id" => "thread_method.known_message_id",
        "subject_token" => "thread_method.subject_token",
        "new_case_foreign_token" => "thread_method.new_case_foreign_token",
        "new_case" => "thread_method.new_case",
        "transcript" => "thread_method.transcript",
        "composed" => "thread_method.composed",
        _ => "thread_method.other",
    }
}

/// One message for the page, from its light columns and, when open, its body.
fn thread_item(
    number: &str,
    head: super::conversation::MessageHead,
    body: Option<super::conversation::MessageBody>,
    subject_changed: bool,
    own: &[&Attachment],
    author: Option<String>,
    times: &Timekeeper,
) -> ThreadItem {
    let open = body.is_some();
    let (quoted, html) = match body {
        Some(b) => (
            (b.body_text.trim() != head.new_text.trim()).then_some(b.body_text),
            b.body_html
                .as_deref()
                .map(|h| inline_images(h, number, own)),
        ),
        None => (None, None),
    };
    let first_line = {
        let line = super::conversation::first_line(&head.new_text, FIRST_LINE_CHARS);
        if line.is_empty() {
            super::conversation::first_line(&head.subject, FIRST_LINE_CHARS)
        } else {
            line
        }
    };
    ThreadItem {
        id: head.id,
        date: times.stamp(head.date()),
        from: head
            .from_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| head.from_email.clone()),
        author: author.filter(|a| Some(a) != head.from_name.as_ref()),
        attachments: own
            .iter()
            .map(|a| AttachmentItem {
                id: a.id,
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: human_size(a.size),
            })
            .collect(),
        subject: subject_changed.then_some(head.subject),
        first_line,
        open,
        quoted,
        html,
        auto: head.auto,
        method_key: method_key(&head.thread_method),
        thread_method: head.thread_method,
        direction: head.direction,
        from_email: head.from_email,
        new_text: head.new_text,
    }
}

/// The window of the conversation as the page shows it, in the reader's order.
fn conversation(
    case: &Case,
    window: super::conversation::Window,
    order: crate::auth::preferences::ThreadOrder,
    times: &Timekeeper,
) -> Conversation {
    let super::conversation::Window {
        heads,
        previous_subject,
        earlier,
        newer,
        total,
        open,
        mut bodies,
        attachments,
        authors,
    } = window;
    let earlier_link = heads
        .first()
        .filter(|_| earlier > 0)
        .map(|oldest| format!("/cases/{}?before={}#thread", case.number, oldest.id));
    // The subject before the case's first message is the case title: a first mail says nothing
    // new by repeating it.
    let mut previous = previous_subject.or_else(|| Some(case.title.clone()));
    let mut items = Vec::with_capacity(heads.len());
    for head in heads {
        let changed = super::conversation::subject_changed(previous.as_deref(), &head.subject);
        previous = Some(head.subject.clone());
        let own: Vec<&Attachment> = attachments
            .iter()
            .filter(|a| a.message_id == head.id)
            .collect();
        let body = if open.contains(&head.id) {
            bodies.remove(&head.id)
        } else {
            None
        };
        let author = head.author_id.and_then(|id| authors.get(&id).cloned());
        items.push(thread_item(
            &case.number,
            head,
            body,
            changed,
            &own,
            author,
            times,
        ));
    }
    let newest_first = order == crate::auth::preferences::ThreadOrder::NewestFirst;
    if newest_first {
        items.reverse();
    }
    Conversation {
        items,
        total,
        earlier,
        earlier_link,
        newer,
        newest_first,
    }
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
    let before = query.before;
    // workflow: the panel needs the reader, their language and the SLA configuration.
    let (reader, lang, times, config) =
        (user.clone(), page.lang, page.times(), state.config.clone());
    let reviews = crate::reports::summaries::routes::reviews_cases(&user);
    let (case, participants, window, order, (events, events_total), workflow, review) = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound)?;
            let id = case.id;
            let workflow =
                crate::workflow::routes::panel_for(conn, &case, &reader, times, &config)?;
            let review = if reviews {
                Some(crate::reports::summaries::routes::case_review(
                    conn,
                    &case,
                    lang,
                    &config.business_hours,
                    times.zone(),
                )?)
            } else {
                None
            };
            Ok((
                case,
                Participant::for_case(conn, id)?,
                super::conversation::window(conn, id, before)?,
                crate::auth::preferences::thread_order(conn, reader.id)?,
                CaseEvent::recent_for_case(conn, id, TIMELINE_LIMIT)?,
                workflow,
                review,
            ))
        })
        .await?;
    let diagnostics = crate::diagnostics::routes::case_panel(&state, &page, case.id).await?;
    let times = page.times();
    let conversation = conversation(&case, window, order, &times);
    let timeline_note = (events_total > events.len() as i64).then(|| {
        page.t("case.timeline_newest")
            .replace("{shown}", &events.len().to_string())
            .replace("{total}", &events_total.to_string())
    });
    let events = events
        .into_iter()
        .map(|e| EventItem {
            at: times.stamp(e.created_at),
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
        conversation,
        events,
        timeline_note,
        diagnostics,
        workflow,
        review,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(Template)]
#[template(path = "cases/message.html")]
struct MessagePage {
    page: Page,
    case: Case,
    m: ThreadItem,
}

/// `GET /cases/{number}/messages/{id}`: one message whole (its quoted history, HTML view and
/// attachments), for a message the case page shows collapsed or on an earlier page.
async fn message_page(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadCases)?;
    let (number, id) = path.into_inner();
    let number = super::CaseNumber::parse(&number).map_err(|_| AppError::NotFound)?;
    let (case, message, attachments, author) = state
        .db(move |conn| {
            let case = Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound)?;
            let message = Message::find(conn, id)?
                .filter(|m| m.case_id == case.id)
                .ok_or(AppError::NotFound)?;
            let attachments = Attachment::for_message(conn, message.id)?;
            let author = match message.author_id {
                Some(a) => crate::auth::User::find_by_id(conn, a)?.map(|u| u.name),
                None => None,
            };
            Ok((case, message, attachments, author))
        })
        .await?;
    let own: Vec<&Attachment> = attachments.iter().collect();
    let head = super::conversation::MessageHead {
        id: message.id,
        direction: message.direction,
        from_email: message.from_email,
        from_name: message.from_name,
        subject: message.subject,
        sent_at: message.sent_at,
        received_at: message.received_at,
        new_text: message.new_text,
        auto: message.auto,
        thread_method: message.thread_method,
        author_id: message.author_id,
    };
    let body = super::conversation::MessageBody {
        body_text: message.body_text,
        body_html: message.body_html,
    };
    let m = thread_item(
        &case.number,
        head,
        Some(body),
        true,
        &own,
        author,
        &page.times(),
    );
    let body = MessagePage { page, case, m }.render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(serde::Deserialize)]
struct ThreadOrderForm {
    order: String,
    /// The case page to return to.
    #[serde(default)]
    back: String,
}

/// `POST /preferences/thread-order`: remembers the reader's conversation order (for every case,
/// on every device) and returns to the case.
async fn set_thread_order(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<ThreadOrderForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadCases)?;
    let form = form.into_inner();
    let order = crate::auth::preferences::ThreadOrder::parse(&form.order)
        .ok_or_else(|| AppError::BadRequest(format!("unknown order {:?}", form.order)))?;
    let user_id = user.id;
    state
        .db(move |conn| {
            Ok(crate::auth::preferences::set_thread_order(
                conn, user_id, order,
            )?)
        })
        .await?;
    let back = match super::CaseNumber::parse(&form.back) {
        Ok(n) => format!("/cases/{}#thread", n.as_str()),
        Err(_) => "/cases".to_string(),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, back))
        .finish())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::thread::ThreadMethod;

    #[test]
    fn every_thread_method_has_words_in_both_languages() {
        let catalog = crate::web::Catalog::builtin().unwrap();
        for m in [
            ThreadMethod::SignedMessageId,
            ThreadMethod::KnownMessageId,
            ThreadMethod::SubjectToken,
            ThreadMethod::NewCaseFromForeignToken,
            ThreadMethod::NewCase,
            ThreadMethod::Transcript,
            ThreadMethod::Composed,
        ] {
            let key = method_key(m.as_str());
            assert_ne!(key, "thread_method.other", "{m:?} is explained");
            assert!(catalog.contains(key), "{key}");
        }
        assert!(catalog.contains(method_key("something-new")));
    }
}
