//! The dashboard's two doors: the page `GET /reports` and `GET /api/v1/reports/summary` (mounted in
//! the API's scope, `api::routes`). Each parses the query string into a [`ReportRequest`], calls
//! [`summary`], and maps the [`Dashboard`]: to JSON, or to panels of an SVG chart (geometry from
//! [`crate::reports::charts`]) beside a table of the same numbers, every number linking to its cases.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Duration, NaiveDate, Utc};

use super::{Dashboard, Distribution, Figure, ReportError, ReportParams, ReportRequest, summary};
use crate::api::ApiUser;
use crate::auth::Operation;
use crate::cases::filters::AgeBucket;
use crate::error::{AppError, AppResult};
use crate::reports::charts::{self, Chart, Group, Point};
use crate::web::routes::Access;
use crate::web::{AppState, CurrentUser, Page};
use crate::workflow::sla::{SlaMetric, format_business_duration};
use crate::workflow::state::Priority;

crate::route_table! {
    GET "/reports" => page, Access::Page(Operation::ViewReports);
    GET "/reports/reports.css" => stylesheet, Access::SignedIn;
}

const STYLESHEET: &str = include_str!("reports.css");

/// `GET /reports/reports.css`: the dashboard's layout and chart colours (pages allow only
/// same-origin style sheets).
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}

/// Computes the figures for `params` now, in the business calendar's zone.
async fn compute(
    state: &web::Data<AppState>,
    params: &ReportParams,
) -> AppResult<Result<Dashboard, ReportError>> {
    let tz = state.config.business_hours.timezone();
    let now = Utc::now();
    let request = match ReportRequest::parse(params, now.with_timezone(&tz).date_naive(), tz) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    state
        .db(move |conn| match summary(conn, &request, now, tz) {
            Ok(d) => Ok(Ok(d)),
            Err(ReportError::Db(e)) => Err(AppError::Internal(
                anyhow::Error::new(e).context("computing the dashboard"),
            )),
            Err(e) => Ok(Err(e)),
        })
        .await
}

/// `GET /api/v1/reports/summary?from=&to=&agent=&priority=&domain=`: the dashboard's figures as
/// JSON ([`Dashboard`]); 422 naming the bad parameter.
#[tracing::instrument(skip_all, fields(user = user.id))]
pub async fn api_summary(
    user: ApiUser,
    state: web::Data<AppState>,
    params: web::Query<ReportParams>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ViewReports)?;
    match compute(&state, &params.into_inner()).await? {
        Ok(dashboard) => Ok(HttpResponse::Ok().json(dashboard)),
        Err(e) => Err(AppError::Unprocessable(e.to_string())),
    }
}

/// A table cell: its text and, for a case count, the case list behind it.
struct Cell {
    text: String,
    href: Option<String>,
}

impl Cell {
    fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            href: None,
        }
    }

    fn figure(f: &Figure) -> Cell {
        Cell {
            text: f.value.to_string(),
            href: Some(f.cases_url.clone()),
        }
    }
}

/// A chart beside the table of its numbers.
struct Panel {
    id: &'static str,
    heading: String,
    note: Option<String>,
    chart: Chart,
    head: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

/// A single figure with its label.
struct Tile {
    label: String,
    value: String,
    href: Option<String>,
    note: Option<String>,
}

/// A group of tiles.
struct TileGroup {
    heading: String,
    tiles: Vec<Tile>,
}

struct Agent {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "reports/dashboard.html")]
struct DashboardPage {
    page: Page,
    params: ReportParams,
    agents: Vec<Agent>,
    priorities: Vec<&'static str>,
    error: Option<String>,
    period: String,
    panels: Vec<Panel>,
    tiles: Vec<TileGroup>,
    api_query: String,
}

async fn page(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    params: web::Query<ReportParams>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ViewReports)?;
    let params = params.into_inner();
    let result = compute(&state, &params).await?;
    let agents = state
        .db(|conn| Ok(crate::auth::User::list(conn)?))
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| Agent {
            id: u.id.to_string(),
            name: u.name,
        })
        .collect();
    let (status, error, period, panels, tiles) = match &result {
        Ok(d) => (
            actix_web::http::StatusCode::OK,
            None,
            page.t("reports.period_line")
                .replace("{from}", &d.period.from)
                .replace("{to}", &d.period.to)
                .replace("{timezone}", &d.period.timezone),
            panels(&page, d),
            tiles(&page, d),
        ),
        Err(e) => (
            actix_web::http::StatusCode::BAD_REQUEST,
            Some(
                e.message_key()
                    .map(|k| page.t(k).to_string())
                    .unwrap_or_else(|| e.to_string()),
            ),
            String::new(),
            Vec::new(),
            Vec::new(),
        ),
    };
    let shown = match &result {
        Ok(d) => ReportParams {
            from: d.period.from.clone(),
            to: d.period.to.clone(),
            ..params.clone()
        },
        Err(_) => params.clone(),
    };
    let api_query = serde_urlencoded::to_string(&shown).unwrap_or_default();
    let body = DashboardPage {
        page,
        params: shown,
        agents,
        priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
        error,
        period,
        panels,
        tiles,
        api_query,
    }
    .render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

fn duration(page: &Page, seconds: Option<i64>) -> String {
    match seconds {
        Some(s) => format_business_duration(Duration::seconds(s), page.lang),
        None => "—".into(),
    }
}

fn percent(value: Option<f64>) -> String {
    value.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into())
}

fn point(f: &Figure) -> Point {
    Point {
        value: f.value as f64,
        text: f.value.to_string(),
        href: Some(f.cases_url.clone()),
    }
}

/// Hours, for drawing a duration.
fn hours_point(page: &Page, seconds: Option<i64>, href: &str) -> Point {
    Point {
        value: seconds.unwrap_or(0) as f64 / 3600.0,
        text: duration(page, seconds),
        href: Some(href.to_string()),
    }
}

fn short_date(date: &str) -> String {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| d.format("%m-%d").to_string())
        .unwrap_or_else(|_| date.to_string())
}

fn metric_label(page: &Page, metric: &str) -> String {
    SlaMetric::ALL
        .into_iter()
        .find(|m| m.as_str() == metric)
        .map(|m| m.label(page.lang).to_string())
        .unwrap_or_else(|| metric.to_string())
}

fn panels(page: &Page, d: &Dashboard) -> Vec<Panel> {
    let t = |key: &'static str| page.t(key).to_string();
    let mut out = Vec::new();

    let states: Vec<Group> = d
        .backlog
        .by_state
        .iter()
        .map(|s| Group {
            label: page.t(&s.state).to_string(),
            points: vec![point(&s.cases)],
        })
        .collect();
    out.push(Panel {
        id: "backlog-state",
        heading: t("reports.backlog.by_state"),
        note: Some(format!(
            "{}: {}",
            t("reports.backlog.total"),
            d.backlog.total.value
        )),
        chart: charts::rows(
            "backlog-state",
            &t("reports.backlog.by_state"),
            vec![],
            states,
        ),
        head: vec![t("reports.col.state"), t("reports.col.cases")],
        rows: d
            .backlog
            .by_state
            .iter()
            .map(|s| vec![Cell::text(page.t(&s.state)), Cell::figure(&s.cases)])
            .collect(),
    });

    let age_label = |bucket: &str| {
        AgeBucket::parse(bucket)
            .map(|b| page.t(b.label_key()).to_string())
            .unwrap_or_else(|| bucket.to_string())
    };
    out.push(Panel {
        id: "backlog-age",
        heading: t("reports.backlog.by_age"),
        note: Some(t("reports.backlog.age_note")),
        chart: charts::rows(
            "backlog-age",
            &t("reports.backlog.by_age"),
            vec![],
            d.backlog
                .by_age
                .iter()
                .map(|a| Group {
                    label: age_label(&a.bucket),
                    points: vec![point(&a.cases)],
                })
                .collect(),
        ),
        head: vec![t("reports.col.age"), t("reports.col.cases")],
        rows: d
            .backlog
            .by_age
            .iter()
            .map(|a| vec![Cell::text(age_label(&a.bucket)), Cell::figure(&a.cases)])
            .collect(),
    });

    let bucket_label = |from: &str, to: &str| {
        if from == to {
            short_date(from)
        } else {
            format!("{}–{}", short_date(from), short_date(to))
        }
    };
    let flow_legend = vec![t("reports.col.opened"), t("reports.col.closed")];
    out.push(Panel {
        id: "flow",
        heading: t("reports.flow.title"),
        note: Some(format!(
            "{} {} · {} {} · {}",
            t("reports.col.opened"),
            d.flow.opened.value,
            t("reports.col.closed"),
            d.flow.closed.value,
            if d.flow.bucket == "day" {
                t("reports.flow.per_day")
            } else {
                t("reports.flow.per_week")
            }
        )),
        chart: charts::columns(
            "flow",
            &t("reports.flow.title"),
            flow_legend,
            d.flow
                .series
                .iter()
                .map(|b| Group {
                    label: bucket_label(&b.from, &b.to),
                    points: vec![point(&b.opened), point(&b.closed)],
                })
                .collect(),
        ),
        head: vec![
            t("reports.col.date"),
            t("reports.col.opened"),
            t("reports.col.closed"),
        ],
        rows: d
            .flow
            .series
            .iter()
            .map(|b| {
                vec![
                    Cell::text(bucket_label(&b.from, &b.to)),
                    Cell::figure(&b.opened),
                    Cell::figure(&b.closed),
                ]
            })
            .collect(),
    });

    for (id, heading, figures) in [
        (
            "first-response",
            t("reports.times.first_response"),
            &d.times.first_response,
        ),
        (
            "resolution",
            t("reports.times.resolution"),
            &d.times.resolution,
        ),
    ] {
        let name = |agent: &super::AgentTimes| match (&agent.agent, agent.agent_id) {
            (Some(name), _) => name.clone(),
            (None, Some(id)) => format!("#{id}"),
            (None, None) => t("reports.unassigned"),
        };
        let mut groups = vec![Group {
            label: t("reports.times.all"),
            points: vec![
                hours_point(
                    page,
                    figures.overall.median_seconds,
                    &figures.cases.cases_url,
                ),
                hours_point(page, figures.overall.p90_seconds, &figures.cases.cases_url),
            ],
        }];
        let mut rows = vec![times_row(
            page,
            t("reports.times.all"),
            &figures.overall,
            &figures.cases.cases_url,
        )];
        for agent in &figures.by_agent {
            groups.push(Group {
                label: name(agent),
                points: vec![
                    hours_point(page, agent.times.median_seconds, &agent.cases_url),
                    hours_point(page, agent.times.p90_seconds, &agent.cases_url),
                ],
            });
            rows.push(times_row(page, name(agent), &agent.times, &agent.cases_url));
        }
        out.push(Panel {
            id,
            chart: charts::rows(
                id,
                &heading,
                vec![t("reports.col.median"), t("reports.col.p90")],
                groups,
            ),
            heading,
            note: Some(t("reports.times.note")),
            head: vec![
                t("reports.col.agent"),
                t("reports.col.clocks"),
                t("reports.col.median"),
                t("reports.col.p90"),
            ],
            rows,
        });
    }

    out.push(Panel {
        id: "sla",
        heading: t("reports.sla.title"),
        note: Some(t("reports.sla.note")),
        chart: charts::rows(
            "sla",
            &t("reports.sla.title"),
            vec![t("reports.col.met"), t("reports.col.breached")],
            d.sla
                .metrics
                .iter()
                .map(|m| Group {
                    label: metric_label(page, &m.metric),
                    points: vec![
                        Point {
                            value: m.met as f64,
                            text: m.met.to_string(),
                            href: Some(m.met_cases.cases_url.clone()),
                        },
                        Point {
                            value: m.breached as f64,
                            text: m.breached.to_string(),
                            href: Some(m.breached_cases.cases_url.clone()),
                        },
                    ],
                })
                .collect(),
        ),
        head: vec![
            t("reports.col.metric"),
            t("reports.col.met"),
            t("reports.col.breached"),
            t("reports.col.percent_met"),
        ],
        rows: d
            .sla
            .metrics
            .iter()
            .map(|m| {
                let clocks = |n: i64, f: &Figure| Cell {
                    text: if n == f.value {
                        n.to_string()
                    } else {
                        page.t("reports.sla.clocks_in_cases")
                            .replace("{clocks}", &n.to_string())
                            .replace("{cases}", &f.value.to_string())
                    },
                    href: Some(f.cases_url.clone()),
                };
                vec![
                    Cell::text(metric_label(page, &m.metric)),
                    clocks(m.met, &m.met_cases),
                    clocks(m.breached, &m.breached_cases),
                    Cell::text(percent(m.percent_met)),
                ]
            })
            .collect(),
    });
    out
}

fn times_row(page: &Page, label: String, d: &Distribution, href: &str) -> Vec<Cell> {
    vec![
        Cell::text(label),
        Cell {
            text: d.count.to_string(),
            href: Some(href.to_string()),
        },
        Cell::text(duration(page, d.median_seconds)),
        Cell::text(duration(page, d.p90_seconds)),
    ]
}

fn tiles(page: &Page, d: &Dashboard) -> Vec<TileGroup> {
    let t = |key: &'static str| page.t(key).to_string();
    let tile = |label: String, f: &Figure, note: Option<String>| Tile {
        label,
        value: f.value.to_string(),
        href: Some(f.cases_url.clone()),
        note,
    };
    let e = &d.escalation;
    vec![
        TileGroup {
            heading: t("reports.risk.title"),
            tiles: vec![
                tile(t("reports.sla.due_soon"), &d.sla.due_soon, None),
                tile(t("reports.sla.overdue"), &d.sla.overdue, None),
            ],
        },
        TileGroup {
            heading: t("reports.escalation.title"),
            tiles: vec![
                tile(
                    t("reports.escalation.escalated"),
                    &e.escalated,
                    Some(
                        page.t("reports.escalation.rate")
                            .replace("{rate}", &percent(e.rate_percent))
                            .replace("{opened}", &e.opened.value.to_string()),
                    ),
                ),
                Tile {
                    label: t("reports.escalation.time"),
                    value: format!(
                        "{} / {}",
                        duration(page, e.time_in_escalation.median_seconds),
                        duration(page, e.time_in_escalation.p90_seconds)
                    ),
                    href: Some(e.ended.cases_url.clone()),
                    note: Some(
                        page.t("reports.escalation.time_note")
                            .replace("{n}", &e.time_in_escalation.count.to_string())
                            .replace("{total}", &duration(page, Some(e.total_seconds))),
                    ),
                },
            ],
        },
        TileGroup {
            heading: t("reports.chasers.title"),
            tiles: vec![
                Tile {
                    label: t("reports.chasers.messages"),
                    value: d.chasers.messages.to_string(),
                    href: Some(d.chasers.cases.cases_url.clone()),
                    note: Some(if d.chasers.capped {
                        page.t("reports.chasers.capped")
                            .replace("{n}", &crate::reports::chasers::MAX_CANDIDATES.to_string())
                    } else {
                        t("reports.chasers.note")
                    }),
                },
                tile(t("reports.chasers.cases"), &d.chasers.cases, None),
            ],
        },
        TileGroup {
            heading: t("reports.reopen.title"),
            tiles: vec![tile(
                t("reports.reopen.reopened"),
                &d.reopen.reopened,
                Some(
                    page.t("reports.reopen.rate")
                        .replace("{rate}", &percent(d.reopen.rate_percent))
                        .replace("{closed}", &d.reopen.closed.value.to_string()),
                ),
            )],
        },
    ]
}
