//! The summaries pages: `GET /summaries` (filters, key-paged list, `?print=1` for printing) and
//! `GET /summaries.csv` (the same filters, every match up to [`EXPORT_LIMIT`]). Each handler
//! parses the query, calls the service ([`super::list`], [`super::export`]) and renders; the
//! manager's case page takes its block from [`case_review`].

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::views::{SummaryView, csv_export};
use super::{Cursor, EXPORT_LIMIT, FilterError, FilterParams, MAX_PAGE_SIZE, PAGE_SIZE};
use crate::auth::Operation;
use crate::cases::Case;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::routes::Access;
use crate::web::{AppState, CurrentUser, Page};
use crate::workflow::business_hours::BusinessCalendar;
use crate::workflow::state::{CaseState, Priority};

crate::route_table! {
    GET "/summaries" => index, Access::Page(Operation::ReadSummaries);
    GET "/summaries.csv" => export_csv, Access::Page(Operation::ReadSummaries);
}

/// The page's query string: the filters, where the page starts, its size, and the print view.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct SummariesQuery {
    /// The filters (shared with the CSV link).
    #[serde(flatten)]
    pub filter: FilterParams,
    /// [`Cursor`] of the last case of the page before.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub after: String,
    /// Cases per page, 1 ..= [`MAX_PAGE_SIZE`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub per_page: String,
    /// `1` for the printable view.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub print: String,
}

impl SummariesQuery {
    /// This query as a query string (the parts that are set).
    fn to_query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    /// The same filters from the newest case.
    fn first_page(&self) -> SummariesQuery {
        SummariesQuery {
            after: String::new(),
            ..self.clone()
        }
    }
}

/// Whether `user` reads cases as a reviewer — may read summaries but works no case (managers):
/// their case page opens on the summary and milestones, and has no reply, note or workflow form.
pub fn reviews_cases(user: &CurrentUser) -> bool {
    user.is(Operation::ReadSummaries) && !user.is(Operation::WorkCase)
}

/// The summary and milestones of `case` as its page shows them to a reviewer ([`reviews_cases`]).
pub fn case_review(
    conn: &mut DbConn,
    case: &Case,
    lang: Lang,
    calendar: &BusinessCalendar,
    zone: chrono_tz::Tz,
) -> AppResult<SummaryView> {
    let row = super::review(conn, case, calendar)?;
    Ok(SummaryView::of(&row, lang, calendar, zone))
}

fn refused(e: FilterError, page: &Page) -> AppError {
    AppError::BadRequest(format!(
        "{} {}={:?}",
        page.t("summaries.bad_filter"),
        e.field,
        e.value
    ))
}

struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "reports/summaries.html")]
struct SummariesPage {
    page: Page,
    query: SummariesQuery,
    rows: Vec<SummaryView>,
    agents: Vec<Choice>,
    priorities: Vec<&'static str>,
    states: Vec<&'static str>,
    zone_note: String,
    print: bool,
    per_page: i64,
    next_link: Option<String>,
    first_link: Option<String>,
    csv_link: String,
    print_link: String,
    screen_link: String,
}

async fn index(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<SummariesQuery>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadSummaries)?;
    let query = query.into_inner();
    let filter = query.filter.parse().map_err(|e| refused(e, &page))?;
    let after = match query.after.trim() {
        "" => None,
        text => Some(
            Cursor::parse(text)
                .ok_or_else(|| AppError::BadRequest(page.t("summaries.bad_cursor").to_string()))?,
        ),
    };
    let print = query.print == "1";
    let per_page = if print {
        MAX_PAGE_SIZE
    } else {
        match query.per_page.trim() {
            "" => PAGE_SIZE,
            n => n
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    refused(
                        FilterError {
                            field: "per_page",
                            value: n.to_string(),
                        },
                        &page,
                    )
                })?,
        }
    };
    let (config, lang) = (state.config.clone(), page.lang);
    let (found, users) = state
        .db(move |conn| {
            let found = super::list(conn, &filter, after, per_page, &config.business_hours)?;
            Ok((found, crate::auth::User::list(conn)?))
        })
        .await?;
    let calendar = &state.config.business_hours;
    let rows = found
        .rows
        .iter()
        .map(|r| SummaryView::of(r, lang, calendar, page.times().zone()))
        .collect();
    let next_link = found.next.map(|c| {
        let mut q = query.clone();
        q.after = c.to_string();
        format!("/summaries?{}", q.to_query_string())
    });
    let first_link = after.map(|_| format!("/summaries?{}", query.first_page().to_query_string()));
    let filters_only = SummariesQuery {
        filter: query.filter.clone(),
        ..Default::default()
    };
    let csv_link = format!("/summaries.csv?{}", filters_only.to_query_string());
    let print_link = format!(
        "/summaries?{}",
        SummariesQuery {
            print: "1".into(),
            ..query.clone()
        }
        .to_query_string()
    );
    let screen_link = format!(
        "/summaries?{}",
        SummariesQuery {
            print: String::new(),
            ..query.clone()
        }
        .to_query_string()
    );
    let body = SummariesPage {
        zone_note: page
            .t("summaries.times_in")
            .replace("{zone}", page.times().zone().name()),
        // Everyone: a closed case may belong to someone whose account is disabled since.
        agents: users
            .into_iter()
            .map(|u| Choice {
                value: u.id.to_string(),
                label: u.name,
            })
            .collect(),
        priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
        states: [CaseState::Resolved, CaseState::Archived]
            .iter()
            .map(|s| s.as_str())
            .collect(),
        page,
        query,
        rows,
        print,
        per_page,
        next_link,
        first_link,
        csv_link,
        print_link,
        screen_link,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// The response header that says an export stopped at [`EXPORT_LIMIT`] cases (its value is the
/// limit); the file's last line says the same to whoever opens it.
pub const TRUNCATED_HEADER: &str = "X-Casebook-Export-Truncated";

async fn export_csv(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<FilterParams>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadSummaries)?;
    let filter = query.parse().map_err(|e| refused(e, &page))?;
    let (config, lang) = (state.config.clone(), page.lang);
    let calendar = config.business_hours.clone();
    let (rows, more) = state
        .db(move |conn| {
            Ok(super::export(
                conn,
                &filter,
                EXPORT_LIMIT,
                &config.business_hours,
            )?)
        })
        .await?;
    let truncated = more.then_some(EXPORT_LIMIT);
    // Formatting thousands of rows (business time per milestone) is work for the blocking pool,
    // done after the connection went back.
    let zone = page.times().zone();
    let body = web::block(move || csv_export(&rows, truncated, lang, &calendar, zone)).await?;
    let name = format!(
        "case-summaries-{}.csv",
        chrono::Utc::now()
            .with_timezone(&state.config.business_hours.timezone())
            .format("%Y%m%d")
    );
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/csv; charset=utf-8")
        .insert_header(header::ContentDisposition {
            disposition: header::DispositionType::Attachment,
            parameters: vec![header::DispositionParam::Filename(name)],
        });
    if let Some(limit) = truncated {
        response.insert_header((TRUNCATED_HEADER, limit.to_string()));
    }
    Ok(response.body(body))
}
