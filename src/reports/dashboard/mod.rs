//! The managers' dashboard: for a period (local dates in the business calendar's zone, the last 30
//! days unless chosen) and a scope (owner, priority, customer mail domain), the figures of
//! [`Dashboard`], computed by one service function, [`summary`], that the page (`GET /reports`) and
//! the API (`GET /api/v1/reports/summary`) both call ([`routes`]).
//!
//! Every figure is read from what the workflow stores — SLA clocks (`sla_clocks`, including the
//! business time each met clock ran, `elapsed_seconds`) and `transition` events — never from the
//! mail threads (the chaser count reads only the stored new text of short customer messages, see
//! [`crate::reports::chasers`]). Everything is aggregated in SQL over indexed ranges: counts,
//! per-bucket counts in one grouped query, medians and 90th percentiles with window functions
//! ([`queries`]); lists are bounded (agents, date buckets). Case counts are made by the case list's
//! own filters ([`crate::cases::search::count_cases`]), so a figure and the list it links to
//! ([`Figure::cases_url`]) cannot disagree.

mod queries;
pub mod routes;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::cases::filters::{
    Activity, ActivityFilter, AgeBucket, CaseScope, DateRange, Owner, RangeError, local_midnight,
    parse_domain,
};
use crate::cases::search::{self, AssigneeFilter, CaseQuery, SlaFilter};
use crate::db::DbConn;
use crate::workflow::sla::SlaMetric;
use crate::workflow::state::{CaseState, Priority};

/// The period shown unless one is chosen: the last 30 days, today included.
pub const DEFAULT_DAYS: i64 = 30;

/// Periods up to this many days are charted per day; longer ones per week.
pub const MAX_DAILY_BUCKETS: i64 = 62;

/// Agents listed in the response-time tables (the busiest first).
pub const MAX_AGENTS: usize = 50;

/// The query string of the page and the API (every field optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// First date, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: String,
    /// Last date (inclusive), `YYYY-MM-DD`.
    #[serde(default)]
    pub to: String,
    /// Owner: an account id, or `none`.
    #[serde(default)]
    pub agent: String,
    /// Priority (`urgent`, `high`, `normal`, `low`).
    #[serde(default)]
    pub priority: String,
    /// Customer mail domain (`centerm.com`).
    #[serde(default)]
    pub domain: String,
}

/// Why a request cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A date or the range is wrong.
    #[error("{0}")]
    Range(#[from] RangeError),
    /// The agent is neither an account id nor `none`.
    #[error("agent must be an account id or \"none\"")]
    Agent,
    /// Not a priority.
    #[error("priority must be one of urgent, high, normal, low")]
    Priority,
    /// Not a mail domain.
    #[error("domain must be a mail domain such as example.com")]
    Domain,
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl ReportError {
    /// The `messages.toml` key explaining an input error to people (`None` for a database error).
    pub fn message_key(&self) -> Option<&'static str> {
        match self {
            ReportError::Range(e) => Some(e.message_key()),
            ReportError::Agent => Some("reports.error.agent"),
            ReportError::Priority => Some("reports.error.priority"),
            ReportError::Domain => Some("reports.error.domain"),
            ReportError::Db(_) => None,
        }
    }
}

/// A parsed request: the period and the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    /// The period.
    pub range: DateRange,
    /// Which cases.
    pub scope: CaseScope,
}

impl ReportRequest {
    /// Parses the query string; an empty period is the last [`DEFAULT_DAYS`] days up to `today`
    /// (a local date in `tz`).
    pub fn parse(
        params: &ReportParams,
        today: NaiveDate,
        tz: Tz,
    ) -> Result<ReportRequest, ReportError> {
        let (from, to) = (params.from.trim(), params.to.trim());
        let range = match (from.is_empty(), to.is_empty()) {
            (true, true) => DateRange::new(today - Duration::days(DEFAULT_DAYS - 1), today, tz)?,
            (false, true) => DateRange::parse(from, &today.to_string(), tz)?,
            (true, false) => {
                let to =
                    NaiveDate::parse_from_str(to, "%Y-%m-%d").map_err(|_| RangeError::BadDate)?;
                DateRange::new(to - Duration::days(DEFAULT_DAYS - 1), to, tz)?
            }
            (false, false) => DateRange::parse(from, to, tz)?,
        };
        let assignee = match params.agent.trim() {
            "" => None,
            "none" => Some(Owner::Nobody),
            id => Some(Owner::User(id.parse().map_err(|_| ReportError::Agent)?)),
        };
        let priority = match params.priority.trim() {
            "" => None,
            p => Some(p.parse::<Priority>().map_err(|_| ReportError::Priority)?),
        };
        let domain = match params.domain.trim() {
            "" => None,
            d => Some(parse_domain(d).ok_or(ReportError::Domain)?),
        };
        Ok(ReportRequest {
            range,
            scope: CaseScope {
                assignee,
                priority,
                domain,
            },
        })
    }

    /// The query string that asks for this report again (for the form and links).
    pub fn params(&self) -> ReportParams {
        ReportParams {
            from: self.range.from.to_string(),
            to: self.range.to.to_string(),
            agent: self.scope.assignee.map(Owner::as_param).unwrap_or_default(),
            priority: self
                .scope
                .priority
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            domain: self.scope.domain.clone().unwrap_or_default(),
        }
    }

    /// The case list of this scope plus `extra` parameters (`activity` takes the period along).
    fn cases_url(&self, extra: &[(&str, String)]) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(owner) = self.scope.assignee {
            pairs.push(("assignee", owner.as_param()));
        }
        if let Some(p) = self.scope.priority {
            pairs.push(("priority", p.as_str().to_string()));
        }
        if let Some(d) = &self.scope.domain {
            pairs.push(("domain", d.clone()));
        }
        for (k, v) in extra {
            // A row of the per-agent table names its own owner.
            pairs.retain(|(key, _)| key != k);
            pairs.push((k, v.clone()));
        }
        if extra.iter().any(|(k, _)| *k == "activity") {
            pairs.push(("from", self.range.from.to_string()));
            pairs.push(("to", self.range.to.to_string()));
        }
        format!(
            "/cases?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }

    /// The case-list query counting the cases behind a figure.
    fn case_query(&self) -> CaseQuery {
        CaseQuery {
            assignee: match self.scope.assignee {
                None => AssigneeFilter::Any,
                Some(Owner::User(id)) => AssigneeFilter::User(id),
                Some(Owner::Nobody) => AssigneeFilter::Unassigned,
            },
            priority: self.scope.priority.map(|p| p.as_str().to_string()),
            domain: self.scope.domain.clone(),
            ..Default::default()
        }
    }

    fn activity(&self, activity: Activity) -> CaseQuery {
        CaseQuery {
            activity: Some(ActivityFilter {
                activity,
                range: self.range,
            }),
            ..self.case_query()
        }
    }
}

/// A number of cases and the case list that shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    /// How many cases.
    pub value: i64,
    /// The case list behind it (`/cases?…`).
    pub cases_url: String,
}

/// The period as answered.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodView {
    /// First date.
    pub from: String,
    /// Last date (inclusive).
    pub to: String,
    /// The business calendar's zone the dates are in.
    pub timezone: String,
    /// How many dates.
    pub days: i64,
}

/// The scope as answered.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeView {
    /// Owner's account id, `none`, or absent.
    pub agent: Option<String>,
    /// Priority.
    pub priority: Option<String>,
    /// Customer mail domain.
    pub domain: Option<String>,
}

/// Open cases now (the period does not apply).
#[derive(Debug, Clone, Serialize)]
pub struct Backlog {
    /// Every open case of the scope.
    pub total: Figure,
    /// Per open state, in workflow order.
    pub by_state: Vec<StateFigure>,
    /// Per age (wall-clock time since opened), youngest first.
    pub by_age: Vec<AgeFigure>,
}

/// Open cases in one state.
#[derive(Debug, Clone, Serialize)]
pub struct StateFigure {
    /// The state.
    pub state: String,
    /// Its cases.
    #[serde(flatten)]
    pub cases: Figure,
}

/// Open cases of one age.
#[derive(Debug, Clone, Serialize)]
pub struct AgeFigure {
    /// `under_1d`, `1_3d`, `3_7d`, `7_30d`, `over_30d`.
    pub bucket: String,
    /// Its cases.
    #[serde(flatten)]
    pub cases: Figure,
}

/// Cases opened and closed in the period.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    /// `day` or `week` (periods longer than [`MAX_DAILY_BUCKETS`] days).
    pub bucket: &'static str,
    /// Opened in the period.
    pub opened: Figure,
    /// Closed in the period (resolved, or archived without being resolved).
    pub closed: Figure,
    /// Per day or week.
    pub series: Vec<FlowBucket>,
}

/// One day or week of [`Flow`].
#[derive(Debug, Clone, Serialize)]
pub struct FlowBucket {
    /// First date.
    pub from: String,
    /// Last date.
    pub to: String,
    /// Opened.
    pub opened: Figure,
    /// Closed.
    pub closed: Figure,
}

/// A distribution of durations in seconds (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Distribution {
    /// How many durations.
    pub count: i64,
    /// The median.
    pub median_seconds: Option<i64>,
    /// The 90th percentile.
    pub p90_seconds: Option<i64>,
}

/// A duration figure for one agent.
#[derive(Debug, Clone, Serialize)]
pub struct AgentTimes {
    /// The owner's account id (`None`: unassigned cases).
    pub agent_id: Option<i64>,
    /// The owner's name.
    pub agent: Option<String>,
    /// The durations.
    #[serde(flatten)]
    pub times: Distribution,
    /// The cases whose clocks were met in the period.
    pub cases_url: String,
}

/// First-response time or time to resolve, for the clocks met in the period.
#[derive(Debug, Clone, Serialize)]
pub struct TimeFigures {
    /// `first_response` or `resolution`.
    pub metric: String,
    /// Every met clock of the scope.
    pub overall: Distribution,
    /// The cases behind `overall`.
    pub cases: Figure,
    /// Per owner (the case's current owner), busiest first, at most [`MAX_AGENTS`].
    pub by_agent: Vec<AgentTimes>,
}

/// Response and resolution times.
#[derive(Debug, Clone, Serialize)]
pub struct Times {
    /// Always `business_seconds`: working time of the business calendar, pauses (waiting on the
    /// customer, resolved) left out, as the SLA counts it.
    pub unit: &'static str,
    /// Time to the first reply.
    pub first_response: TimeFigures,
    /// Time to resolve (each resolution clock; a reopened case starts a new one).
    pub resolution: TimeFigures,
}

/// SLA results of one metric in the period: each clock counted once, when it was settled — met on
/// time (at `met_at`), or breached (at its deadline, whether met late or still open).
#[derive(Debug, Clone, Serialize)]
pub struct SlaFigures {
    /// The metric.
    pub metric: String,
    /// Clocks met on time.
    pub met: i64,
    /// Clocks breached.
    pub breached: i64,
    /// `met / (met + breached)` in percent (`None` when neither).
    pub percent_met: Option<f64>,
    /// The cases of the clocks met on time.
    pub met_cases: Figure,
    /// The cases of the breached clocks.
    pub breached_cases: Figure,
}

/// SLA results and what is at risk now.
#[derive(Debug, Clone, Serialize)]
pub struct Sla {
    /// Per metric.
    pub metrics: Vec<SlaFigures>,
    /// Open cases with a running clock near breach now (the case list's `sla=due_soon`).
    pub due_soon: Figure,
    /// Open cases with an overdue clock now (`sla=overdue`).
    pub overdue: Figure,
}

/// Escalations.
#[derive(Debug, Clone, Serialize)]
pub struct Escalation {
    /// Cases opened in the period.
    pub opened: Figure,
    /// Of those, the ones escalated since.
    pub escalated: Figure,
    /// `escalated / opened` in percent.
    pub rate_percent: Option<f64>,
    /// Time spent in escalation (wall-clock seconds, from entering the escalated state to leaving
    /// it) of the escalations that ended in the period.
    pub time_in_escalation: Distribution,
    /// Total of those times, in seconds.
    pub total_seconds: i64,
    /// The cases whose escalation ended in the period.
    pub ended: Figure,
}

/// Customers chasing.
#[derive(Debug, Clone, Serialize)]
pub struct ChaserFigures {
    /// Customer messages that only asked for progress while the team owed an answer.
    pub messages: i64,
    /// The cases they were sent on.
    pub cases: Figure,
    /// Short customer messages read to find them.
    pub candidates: usize,
    /// Whether the period had more short messages than are read
    /// ([`crate::reports::chasers::MAX_CANDIDATES`]).
    pub capped: bool,
}

/// Reopened cases.
#[derive(Debug, Clone, Serialize)]
pub struct Reopen {
    /// Cases closed in the period.
    pub closed: Figure,
    /// Of those, the ones reopened after that closing.
    pub reopened: Figure,
    /// `reopened / closed` in percent.
    pub rate_percent: Option<f64>,
}

/// Every figure of the dashboard: the JSON of `GET /api/v1/reports/summary` and what the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// The period.
    pub period: PeriodView,
    /// The scope.
    pub scope: ScopeView,
    /// When computed (the instant "now" figures are judged at).
    pub generated_at: String,
    /// Open cases now.
    pub backlog: Backlog,
    /// Opened and closed.
    pub flow: Flow,
    /// Response and resolution times.
    pub times: Times,
    /// SLA.
    pub sla: Sla,
    /// Escalations.
    pub escalation: Escalation,
    /// Chasers.
    pub chasers: ChaserFigures,
    /// Reopens.
    pub reopen: Reopen,
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The date buckets of a period: days, or weeks from Monday (cut to the period) when it is longer
/// than [`MAX_DAILY_BUCKETS`] days; each with its first and last date and its first instant.
fn buckets(range: &DateRange, tz: Tz) -> Vec<(NaiveDate, NaiveDate, chrono::NaiveDateTime)> {
    let mut out = Vec::new();
    let mut day = range.from;
    while day <= range.to {
        let last = if range.days() <= MAX_DAILY_BUCKETS {
            day
        } else {
            let to_sunday = 6 - i64::from(day.weekday().num_days_from_monday());
            (day + Duration::days(to_sunday)).min(range.to)
        };
        out.push((day, last, local_midnight(day, tz).naive_utc()));
        day = last + Duration::days(1);
    }
    out
}

/// Every figure for `request` as of `now`; `tz` is the business calendar's zone (the period's dates
/// and the buckets are its local days).
pub fn summary(
    conn: &mut DbConn,
    request: &ReportRequest,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Dashboard, ReportError> {
    let r = request;
    let count = |conn: &mut DbConn, q: CaseQuery| search::count_cases(conn, &q, now);
    let figure = |value: i64, extra: &[(&str, String)]| Figure {
        value,
        cases_url: r.cases_url(extra),
    };
    let activity_param = |a: Activity| ("activity", a.as_str());

    // Backlog: open cases now, by state and by age.
    let open = CaseQuery {
        open: true,
        ..r.case_query()
    };
    let mut by_state = Vec::new();
    for state in CaseState::ALL
        .into_iter()
        .filter(|s| !matches!(s, CaseState::Resolved | CaseState::Archived))
    {
        let n = count(
            conn,
            CaseQuery {
                state: Some(state.as_str().to_string()),
                ..open.clone()
            },
        )?;
        by_state.push(StateFigure {
            state: state.as_str().to_string(),
            cases: figure(n, &[("state", state.as_str().to_string())]),
        });
    }
    let mut by_age = Vec::new();
    for bucket in AgeBucket::ALL {
        let n = count(
            conn,
            CaseQuery {
                age: Some(bucket),
                ..open.clone()
            },
        )?;
        by_age.push(AgeFigure {
            bucket: bucket.as_str().to_string(),
            cases: figure(
                n,
                &[("open", "1".into()), ("age", bucket.as_str().to_string())],
            ),
        });
    }
    let backlog = Backlog {
        total: figure(
            by_state.iter().map(|s| s.cases.value).sum(),
            &[("open", "1".into())],
        ),
        by_state,
        by_age,
    };

    // Flow: opened and closed, in total and per day (or week).
    let opened_n = count(conn, r.activity(Activity::Opened))?;
    let closed_n = count(conn, r.activity(Activity::Closed))?;
    let days = buckets(&r.range, tz);
    let starts: Vec<_> = days.iter().map(|(_, _, start)| *start).collect();
    let opened_series = queries::opened_per_bucket(conn, r, &starts)?;
    let closed_series = queries::closed_per_bucket(conn, r, &starts)?;
    let series = days
        .iter()
        .enumerate()
        .map(|(i, (first, last, _))| {
            let sub = ReportRequest {
                range: DateRange::new(*first, *last, tz).unwrap_or(r.range),
                scope: r.scope.clone(),
            };
            let link = |a: Activity, n: i64| Figure {
                value: n,
                cases_url: sub.cases_url(&[activity_param(a)]),
            };
            FlowBucket {
                from: first.to_string(),
                to: last.to_string(),
                opened: link(Activity::Opened, opened_series.get(i).copied().unwrap_or(0)),
                closed: link(Activity::Closed, closed_series.get(i).copied().unwrap_or(0)),
            }
        })
        .collect();
    let flow = Flow {
        bucket: if r.range.days() <= MAX_DAILY_BUCKETS {
            "day"
        } else {
            "week"
        },
        opened: figure(opened_n, &[activity_param(Activity::Opened)]),
        closed: figure(closed_n, &[activity_param(Activity::Closed)]),
        series,
    };

    // Response and resolution times (business time stored on the met clocks).
    let names: std::collections::HashMap<i64, String> = crate::auth::User::list(conn)?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let times_of = |conn: &mut DbConn, metric: SlaMetric| -> Result<TimeFigures, ReportError> {
        let met = Activity::Met(metric);
        let overall = queries::elapsed(conn, r, metric, false)?
            .into_iter()
            .next()
            .map(|(_, d)| d)
            .unwrap_or_default();
        let mut per_agent = queries::elapsed(conn, r, metric, true)?;
        per_agent.sort_by_key(|(agent, d)| (-d.count, *agent));
        per_agent.truncate(MAX_AGENTS);
        Ok(TimeFigures {
            metric: metric.as_str().to_string(),
            overall,
            cases: figure(count(conn, r.activity(met))?, &[activity_param(met)]),
            by_agent: per_agent
                .into_iter()
                .map(|(agent, times)| AgentTimes {
                    agent_id: agent,
                    agent: agent.and_then(|id| names.get(&id).cloned()),
                    times,
                    cases_url: r.cases_url(&[
                        activity_param(met),
                        (
                            "assignee",
                            agent.map(Owner::User).unwrap_or(Owner::Nobody).as_param(),
                        ),
                    ]),
                })
                .collect(),
        })
    };
    let times = Times {
        unit: "business_seconds",
        first_response: times_of(conn, SlaMetric::FirstResponse)?,
        resolution: times_of(conn, SlaMetric::Resolution)?,
    };

    // SLA per metric, and what is at risk now.
    let mut metrics = Vec::new();
    for metric in SlaMetric::ALL {
        let (met, breached) = queries::sla_clocks(conn, r, metric, now)?;
        let on_time = Activity::OnTime(metric);
        let late = Activity::Breached(metric);
        metrics.push(SlaFigures {
            metric: metric.as_str().to_string(),
            met,
            breached,
            percent_met: percent(met, met + breached),
            met_cases: figure(
                count(conn, r.activity(on_time))?,
                &[activity_param(on_time)],
            ),
            breached_cases: figure(count(conn, r.activity(late))?, &[activity_param(late)]),
        });
    }
    let at_risk = |conn: &mut DbConn, sla: SlaFilter, param: &str| -> Result<Figure, ReportError> {
        let n = count(
            conn,
            CaseQuery {
                sla,
                ..r.case_query()
            },
        )?;
        Ok(figure(n, &[("sla", param.to_string())]))
    };
    let sla = Sla {
        metrics,
        due_soon: at_risk(conn, SlaFilter::DueSoon, "due_soon")?,
        overdue: at_risk(conn, SlaFilter::Overdue, "overdue")?,
    };

    // Escalation: the share of the period's new cases escalated, and time spent escalated.
    let escalated_n = count(conn, r.activity(Activity::Escalated))?;
    let (time_in_escalation, total_seconds) = queries::escalation_spans(conn, r)?;
    let escalation = Escalation {
        opened: figure(opened_n, &[activity_param(Activity::Opened)]),
        escalated: figure(escalated_n, &[activity_param(Activity::Escalated)]),
        rate_percent: percent(escalated_n, opened_n),
        time_in_escalation,
        total_seconds,
        ended: figure(
            count(conn, r.activity(Activity::EscalationEnded))?,
            &[activity_param(Activity::EscalationEnded)],
        ),
    };

    // Customers chasing, and reopens.
    let found = crate::reports::chasers::chased_cases(conn, &r.range, &r.scope)?;
    let chasers = ChaserFigures {
        messages: found.messages.len() as i64,
        cases: figure(
            found.case_ids().len() as i64,
            &[activity_param(Activity::Chased)],
        ),
        candidates: found.candidates,
        capped: found.capped,
    };
    let reopened_n = count(conn, r.activity(Activity::Reopened))?;
    let reopen = Reopen {
        closed: figure(closed_n, &[activity_param(Activity::Closed)]),
        reopened: figure(reopened_n, &[activity_param(Activity::Reopened)]),
        rate_percent: percent(reopened_n, closed_n),
    };

    Ok(Dashboard {
        period: PeriodView {
            from: r.range.from.to_string(),
            to: r.range.to.to_string(),
            timezone: tz.name().to_string(),
            days: r.range.days(),
        },
        scope: ScopeView {
            agent: r.scope.assignee.map(Owner::as_param),
            priority: r.scope.priority.map(|p| p.as_str().to_string()),
            domain: r.scope.domain.clone(),
        },
        generated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        backlog,
        flow,
        times,
        sla,
        escalation,
        chasers,
        reopen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn the_default_period_is_the_last_thirty_days_and_filters_are_parsed() {
        let tz = chrono_tz::Asia::Shanghai;
        let r = ReportRequest::parse(&ReportParams::default(), today(), tz).unwrap();
        assert_eq!(
            (r.range.from.to_string(), r.range.to.to_string()),
            ("2026-11-01".into(), "2026-11-30".into())
        );
        assert_eq!(r.scope, CaseScope::default());
        let params = ReportParams {
            from: "2026-10-01".into(),
            to: "2026-10-31".into(),
            agent: "7".into(),
            priority: "high".into(),
            domain: "@Centerm.com".into(),
        };
        let r = ReportRequest::parse(&params, today(), tz).unwrap();
        assert_eq!(r.scope.assignee, Some(Owner::User(7)));
        assert_eq!(r.scope.priority, Some(Priority::High));
        assert_eq!(r.scope.domain.as_deref(), Some("centerm.com"));
        assert_eq!(
            r.cases_url(&[("activity", "opened".into())]),
            "/cases?assignee=7&priority=high&domain=centerm.com&activity=opened&from=2026-10-01&to=2026-10-31"
        );
        assert_eq!(
            r.cases_url(&[("assignee", "none".into()), ("state", "new".into())]),
            "/cases?priority=high&domain=centerm.com&assignee=none&state=new"
        );
        for (bad, key) in [
            (
                ReportParams {
                    agent: "Wang".into(),
                    ..Default::default()
                },
                "reports.error.agent",
            ),
            (
                ReportParams {
                    priority: "p1".into(),
                    ..Default::default()
                },
                "reports.error.priority",
            ),
            (
                ReportParams {
                    domain: "a b".into(),
                    ..Default::default()
                },
                "reports.error.domain",
            ),
            (
                ReportParams {
                    from: "2026-12-01".into(),
                    to: "2026-11-01".into(),
                    ..Default::default()
                },
                "range.error.reversed",
            ),
        ] {
            let err = ReportRequest::parse(&bad, today(), tz).unwrap_err();
            assert_eq!(err.message_key(), Some(key), "{bad:?}");
        }
    }

    #[test]
    fn long_periods_are_charted_per_week_and_short_ones_per_day() {
        let tz = chrono_tz::Asia::Shanghai;
        let month = DateRange::parse("2026-11-01", "2026-11-30", tz).unwrap();
        assert_eq!(buckets(&month, tz).len(), 30);
        let year = DateRange::parse("2026-01-01", "2026-12-31", tz).unwrap();
        let weeks = buckets(&year, tz);
        // 2026-01-01 is a Thursday: a short first week, then Mondays to Sundays.
        assert_eq!(weeks[0].0.to_string(), "2026-01-01");
        assert_eq!(weeks[0].1.to_string(), "2026-01-04");
        assert_eq!(weeks[1].0.to_string(), "2026-01-05");
        assert_eq!(weeks.last().unwrap().1, year.to);
        assert_eq!(weeks.len(), 53);
    }
}
