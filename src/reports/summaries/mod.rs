//! Case summaries for managers (and agents, read-only): resolved and archived cases with their
//! latest summary (problem definition, progress and resolution, next steps) and their timeline
//! compressed to milestones, filtered, paged by key and exported as CSV.
//!
//! - [`list`] — one page of closed cases, newest closure first, after a [`Cursor`] (keyset
//!   pagination on `(closed_at, id)`, index `cases_closed`, so a deep page costs what the first
//!   does). A page costs six queries whatever its size: the cases, their latest summaries, their
//!   milestone state changes, their first-response clocks, their first replies and whether they
//!   were escalated — never one per case.
//! - [`review`] — the same for one case (the manager's read-only case page).
//! - [`export`] — every match up to a cap, page by page, for the CSV ([`csv_export`]).
//!
//! Which cases: state `resolved` or `archived` with a `closed_at` (every writer that resolves or
//! archives sets it), not merged into another case (a merged case's story is the target's).
//! Dates are days of the business calendar's zone (`[business_hours] timezone`), the zone the
//! team works in, and the date filter applies to the day the case was closed.
//!
//! Milestones come from what the workflow stored, never from the thread: the case's creation, the
//! first-response SLA clock's `met_at` (or, for imported history that has no clocks, the first
//! reply in the thread) and the `transition` events ([`milestones`]).

pub mod csv;
pub mod milestones;
pub mod routes;
pub mod sections;
pub mod views;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::cases::Case;
use crate::cases::messages::OUTBOUND;
use crate::cases::search::AssigneeFilter;
use crate::db::DbConn;
use crate::db::conn::MultiBackend;
use crate::db::schema::{case_events, cases, messages};
use crate::workflow::business_hours::BusinessCalendar;
use crate::workflow::events::EventKind;
use crate::workflow::schema::{case_summaries, escalations, sla_clocks};
use crate::workflow::service::CaseSummary;
use crate::workflow::sla::SlaMetric;
use crate::workflow::state::{CaseState, Priority};

use milestones::{StateChange, Timeline};
use sections::SummarySections;

/// Cases on a page unless the request asks for another size.
pub const PAGE_SIZE: i64 = 25;
/// The most cases one page may ask for (the printable view uses it).
pub const MAX_PAGE_SIZE: i64 = 100;
/// The most cases one CSV export holds; the export says so when it stops there.
pub const EXPORT_LIMIT: usize = 5_000;
/// State changes read per case; a case reopened and resolved dozens of times shows its first ones
/// and says there are more.
pub const MAX_MILESTONES: usize = 40;
/// Cases read per query while exporting.
const EXPORT_CHUNK: i64 = 200;

diesel::define_sql_function! {
    /// SQL `lower()`, alike on SQLite and PostgreSQL.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Whose cases: a customer organisation by its mail domain, or any part of a name or address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerFilter {
    /// Addresses at this domain or its subdomains (`centerm.com` also takes `cn.centerm.com`).
    Domain(String),
    /// Part of the customer's name or address.
    Text(String),
}

impl CustomerFilter {
    /// `centerm.com` or `@centerm.com` is a domain; anything else is text. `None` when blank.
    pub fn parse(text: &str) -> Option<CustomerFilter> {
        let text = text.trim();
        let domain = text.strip_prefix('@').unwrap_or(text).to_lowercase();
        let is_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if text.is_empty() {
            None
        } else if is_domain {
            Some(CustomerFilter::Domain(domain))
        } else {
            Some(CustomerFilter::Text(text.to_lowercase()))
        }
    }
}

/// Which closed cases to list. Every field is optional; the default lists them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryFilter {
    /// Closed on or after this day (the calendar's zone).
    pub from: Option<NaiveDate>,
    /// Closed on or before this day (the calendar's zone).
    pub to: Option<NaiveDate>,
    /// The customer.
    pub customer: Option<CustomerFilter>,
    /// The case's owner.
    pub agent: Option<AssigneeFilter>,
    /// The priority.
    pub priority: Option<Priority>,
    /// `resolved` or `archived` (both when absent).
    pub state: Option<CaseState>,
    /// Only cases that were (`true`) or were never (`false`) escalated to engineering.
    pub escalated: Option<bool>,
}

/// A filter the request could not be read as; the message key says which field, in the reader's
/// language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {value:?}")]
pub struct FilterError {
    /// The query parameter.
    pub field: &'static str,
    /// What it held.
    pub value: String,
}

/// The query string's filter fields as typed, before parsing (shared by the page and the CSV).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct FilterParams {
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// A domain (`centerm.com`) or part of a name or address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub customer: String,
    /// An account id, or `none` for cases nobody owned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent: String,
    /// A priority's stored form.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub priority: String,
    /// `resolved` or `archived`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    /// `yes` or `no`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub escalated: String,
}

impl FilterParams {
    /// The typed filter, or the first field that is not understood.
    pub fn parse(&self) -> Result<SummaryFilter, FilterError> {
        let bad = |field: &'static str, value: &str| FilterError {
            field,
            value: value.to_string(),
        };
        let date = |field: &'static str, value: &str| -> Result<Option<NaiveDate>, FilterError> {
            match value.trim() {
                "" => Ok(None),
                v => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| bad(field, value)),
            }
        };
        let agent = match self.agent.trim() {
            "" => None,
            "none" => Some(AssigneeFilter::Unassigned),
            id => Some(AssigneeFilter::User(
                id.parse().map_err(|_| bad("agent", &self.agent))?,
            )),
        };
        let priority = match self.priority.trim() {
            "" => None,
            p => Some(p.parse().map_err(|_| bad("priority", &self.priority))?),
        };
        let state = match self.state.trim() {
            "" => None,
            s => match s.parse() {
                Ok(state @ (CaseState::Resolved | CaseState::Archived)) => Some(state),
                _ => return Err(bad("state", &self.state)),
            },
        };
        let escalated = match self.escalated.trim() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            _ => return Err(bad("escalated", &self.escalated)),
        };
        Ok(SummaryFilter {
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            customer: CustomerFilter::parse(&self.customer),
            agent,
            priority,
            state,
            escalated,
        })
    }
}

/// Where the next page starts: just after this `(closed_at, id)`, in the list's order
/// (newest closure first, then highest id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last listed case's closing instant.
    pub closed_at: NaiveDateTime,
    /// The last listed case's id.
    pub id: i64,
}

impl Cursor {
    /// Reads the `after=` parameter: microseconds since the epoch, `_`, the case id.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (micros, id) = text.trim().split_once('_')?;
        let closed_at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        Some(Cursor {
            closed_at,
            id: id.parse().ok()?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}_{}",
            self.closed_at.and_utc().timestamp_micros(),
            self.id
        )
    }
}

/// One closed case as the summaries show it.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// The case.
    pub case: Case,
    /// Its owner's name.
    pub agent: Option<String>,
    /// Whether it was ever escalated to engineering.
    pub escalated: bool,
    /// Its latest summary version, if one was written.
    pub summary: Option<CaseSummary>,
    /// That summary split at its headings (empty without a summary).
    pub sections: SummarySections,
    /// Its milestones.
    pub timeline: Timeline,
}

/// One page of the list.
#[derive(Debug, Clone)]
pub struct SummaryPage {
    /// The cases, newest closure first.
    pub rows: Vec<SummaryRow>,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

/// The first instant of a local day of the calendar, as stored (naive UTC). A zone that skips
/// midnight for daylight saving starts that day at the first hour it has.
fn day_start(date: NaiveDate, calendar: &BusinessCalendar) -> NaiveDateTime {
    let tz = calendar.timezone();
    (0..=3)
        .filter_map(|hour| date.and_hms_opt(hour, 0, 0))
        .find_map(|local| tz.from_local_datetime(&local).earliest())
        .map(|t| t.naive_utc())
        .unwrap_or_else(|| date.and_time(chrono::NaiveTime::MIN))
}

/// `%` and `_` typed by the reader are literal.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn filtered(
    filter: &SummaryFilter,
    calendar: &BusinessCalendar,
) -> cases::BoxedQuery<'static, MultiBackend> {
    let states: Vec<&'static str> = match filter.state {
        Some(state) => vec![state.as_str()],
        None => vec![CaseState::Resolved.as_str(), CaseState::Archived.as_str()],
    };
    let mut query = cases::table
        .into_boxed()
        .filter(cases::state.eq_any(states))
        .filter(cases::closed_at.is_not_null())
        .filter(cases::merged_into_id.is_null());
    if let Some(from) = filter.from {
        query = query.filter(cases::closed_at.ge(day_start(from, calendar)));
    }
    if let Some(to) = filter.to.and_then(|d| d.succ_opt()) {
        query = query.filter(cases::closed_at.lt(day_start(to, calendar)));
    }
    match &filter.customer {
        None => {}
        Some(CustomerFilter::Domain(domain)) => {
            let domain = like_escape(domain);
            query = query.filter(
                lower(cases::customer_email)
                    .like(format!("%@{domain}"))
                    .escape('\\')
                    .or(lower(cases::customer_email)
                        .like(format!("%.{domain}"))
                        .escape('\\')),
            );
        }
        Some(CustomerFilter::Text(text)) => {
            let pattern = format!("%{}%", like_escape(text));
            query = query.filter(
                lower(cases::customer_email)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(cases::customer_name.assume_not_null())
                        .like(pattern)
                        .escape('\\')),
            );
        }
    }
    match filter.agent {
        None | Some(AssigneeFilter::Any) => {}
        Some(AssigneeFilter::Unassigned) => query = query.filter(cases::assignee_id.is_null()),
        Some(AssigneeFilter::User(id)) => query = query.filter(cases::assignee_id.eq(id)),
    }
    if let Some(priority) = filter.priority {
        query = query.filter(cases::priority.eq(priority.as_str()));
    }
    let was_escalated =
        diesel::dsl::exists(escalations::table.filter(escalations::case_id.eq(cases::id)));
    match filter.escalated {
        None => {}
        Some(true) => query = query.filter(was_escalated),
        Some(false) => query = query.filter(diesel::dsl::not(was_escalated)),
    }
    query
}

/// One page of closed cases matching `filter`, after `after` (from the newest when `None`), at
/// most `limit` (1 ..= [`MAX_PAGE_SIZE`]) of them.
pub fn list(
    conn: &mut DbConn,
    filter: &SummaryFilter,
    after: Option<Cursor>,
    limit: i64,
    calendar: &BusinessCalendar,
) -> QueryResult<SummaryPage> {
    let limit = limit.clamp(1, MAX_PAGE_SIZE.max(EXPORT_CHUNK));
    let mut query = filtered(filter, calendar);
    if let Some(c) = after {
        // `closed_at <= t` as a condition of its own gives the planner a bound to start the index
        // range at; with only the OR, SQLite walked the index from the newest case.
        query = query
            .filter(cases::closed_at.le(c.closed_at))
            .filter(cases::closed_at.lt(c.closed_at).or(cases::id.lt(c.id)));
    }
    let mut found: Vec<Case> = query
        .select(Case::as_select())
        .order((cases::closed_at.desc(), cases::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let next = if more {
        found.last().and_then(|c| {
            c.closed_at.map(|closed_at| Cursor {
                closed_at,
                id: c.id,
            })
        })
    } else {
        None
    };
    Ok(SummaryPage {
        rows: rows_for(conn, found, calendar)?,
        next,
    })
}

/// One case with its summary and milestones, whatever its state (the case page shows it to
/// managers first).
pub fn review(
    conn: &mut DbConn,
    case: &Case,
    calendar: &BusinessCalendar,
) -> QueryResult<SummaryRow> {
    let mut rows = rows_for(conn, vec![case.clone()], calendar)?;
    rows.pop().ok_or(diesel::result::Error::NotFound)
}

/// Every match of `filter`, newest closure first, up to `cap`; `true` when more matched.
pub fn export(
    conn: &mut DbConn,
    filter: &SummaryFilter,
    cap: usize,
    calendar: &BusinessCalendar,
) -> QueryResult<(Vec<SummaryRow>, bool)> {
    // One more than the cap is read, to know whether the export stops short.
    let wanted = cap.saturating_add(1);
    let mut rows: Vec<SummaryRow> = Vec::new();
    let mut after = None;
    while rows.len() < wanted {
        let room = (wanted - rows.len()).min(EXPORT_CHUNK as usize) as i64;
        let page = list(conn, filter, after, room, calendar)?;
        rows.extend(page.rows);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let more = rows.len() > cap;
    rows.truncate(cap);
    Ok((rows, more))
}

/// The summaries, milestones, owners and escalation flags of `found`, in its order: six queries
/// for the whole set.
fn rows_for(
    conn: &mut DbConn,
    found: Vec<Case>,
    calendar: &BusinessCalendar,
) -> QueryResult<Vec<SummaryRow>> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();

    // The latest version of each case's summary.
    let mut summaries: HashMap<i64, CaseSummary> = case_summaries::table
        .filter(case_summaries::case_id.eq_any(&ids))
        .filter(diesel::dsl::sql::<Bool>(
            "case_summaries.version = (SELECT max(latest.version) FROM case_summaries latest \
             WHERE latest.case_id = case_summaries.case_id)",
        ))
        .select(CaseSummary::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.case_id, s))
        .collect();

    let mut changes = milestone_changes(conn, &ids)?;

    let clock_met: HashMap<i64, NaiveDateTime> = sla_clocks::table
        .filter(sla_clocks::case_id.eq_any(&ids))
        .filter(sla_clocks::metric.eq(SlaMetric::FirstResponse.as_str()))
        .filter(sla_clocks::met_at.is_not_null())
        .group_by(sla_clocks::case_id)
        .select((sla_clocks::case_id, diesel::dsl::min(sla_clocks::met_at)))
        .load::<(i64, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .filter_map(|(id, at)| at.map(|at| (id, at)))
        .collect();
    let first_reply: HashMap<i64, NaiveDateTime> = messages::table
        .filter(messages::case_id.eq_any(&ids))
        .filter(messages::direction.eq(OUTBOUND))
        .filter(messages::auto.eq(false))
        .group_by(messages::case_id)
        .select((messages::case_id, diesel::dsl::min(messages::received_at)))
        .load::<(i64, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .filter_map(|(id, at)| at.map(|at| (id, at)))
        .collect();

    let escalated: HashSet<i64> = escalations::table
        .filter(escalations::case_id.eq_any(&ids))
        .select(escalations::case_id)
        .distinct()
        .load::<i64>(conn)?
        .into_iter()
        .collect();

    let owners: Vec<i64> = found.iter().filter_map(|c| c.assignee_id).collect();
    let names: HashMap<i64, String> = crate::db::schema::users::table
        .filter(crate::db::schema::users::id.eq_any(&owners))
        .select((crate::db::schema::users::id, crate::db::schema::users::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();

    Ok(found
        .into_iter()
        .map(|case| {
            let (mut case_changes, truncated) = changes.remove(&case.id).unwrap_or_default();
            case_changes.sort_by_key(|c| c.at);
            let first_response = clock_met
                .get(&case.id)
                .or_else(|| first_reply.get(&case.id))
                .map(|at| at.and_utc());
            let timeline = Timeline {
                milestones: milestones::compress(
                    case.created_at.and_utc(),
                    first_response,
                    &case_changes,
                    calendar,
                ),
                truncated,
            };
            let summary = summaries.remove(&case.id);
            let sections = summary
                .as_ref()
                .map(|s| SummarySections::parse(&s.body))
                .unwrap_or_default();
            SummaryRow {
                agent: case.assignee_id.and_then(|id| names.get(&id).cloned()),
                escalated: escalated.contains(&case.id),
                summary,
                sections,
                timeline,
                case,
            }
        })
        .collect())
}

/// The state changes of `ids` that are milestones, at most [`MAX_MILESTONES`] per case (the
/// oldest), in one query; with each case, whether it had more.
fn milestone_changes(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<HashMap<i64, (Vec<StateChange>, bool)>> {
    // The milestone changes (see `MilestoneKind::of_transition`) as SQL, numbered per case so
    // one busy case cannot crowd out the others. SQL text because diesel has no window
    // functions; the ids are integers and the names constants, so nothing typed by anyone is in it.
    let id_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let state = |s: CaseState| format!("'{}'", s.as_str());
    let milestone = format!(
        "(e.to_state IN ({}, {}, {}, {}, {}) OR (e.to_state = {} AND e.from_state IN ({}, {}, {})))",
        state(CaseState::Defined),
        state(CaseState::Scoped),
        state(CaseState::Escalated),
        state(CaseState::Resolved),
        state(CaseState::Archived),
        state(CaseState::Investigating),
        state(CaseState::Escalated),
        state(CaseState::Resolved),
        state(CaseState::Archived),
    );
    let ranked = format!(
        "case_events.id IN (SELECT ranked.id FROM (SELECT e.id, ROW_NUMBER() OVER \
         (PARTITION BY e.case_id ORDER BY e.created_at, e.id) AS n FROM case_events e \
         WHERE e.case_id IN ({id_list}) AND e.kind = '{kind}' AND {milestone}) ranked \
         WHERE ranked.n <= {limit})",
        kind = EventKind::Transition.as_str(),
        limit = MAX_MILESTONES + 1,
    );
    let rows: Vec<(i64, Option<String>, Option<String>, NaiveDateTime)> = case_events::table
        .filter(case_events::case_id.eq_any(ids))
        .filter(diesel::dsl::sql::<Bool>(&ranked))
        .order((
            case_events::case_id.asc(),
            case_events::created_at.asc(),
            case_events::id.asc(),
        ))
        .select((
            case_events::case_id,
            case_events::from_state,
            case_events::to_state,
            case_events::created_at,
        ))
        .load(conn)?;
    let mut out: HashMap<i64, (Vec<StateChange>, bool)> = HashMap::new();
    for (case_id, from, to, at) in rows {
        let entry = out.entry(case_id).or_default();
        if entry.0.len() == MAX_MILESTONES {
            entry.1 = true;
            continue;
        }
        // A state this version does not know is no milestone of this version's.
        let Some(to) = to.and_then(|t| t.parse::<CaseState>().ok()) else {
            continue;
        };
        entry.0.push(StateChange {
            from: from.and_then(|f| f.parse().ok()),
            to,
            at: at.and_utc(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_filter_is_a_domain_or_text() {
        assert_eq!(
            CustomerFilter::parse(" @Centerm.COM "),
            Some(CustomerFilter::Domain("centerm.com".into()))
        );
        assert_eq!(
            CustomerFilter::parse("cn.centerm.com"),
            Some(CustomerFilter::Domain("cn.centerm.com".into()))
        );
        assert_eq!(
            CustomerFilter::parse("陈慧"),
            Some(CustomerFilter::Text("陈慧".into()))
        );
        assert_eq!(
            CustomerFilter::parse("chen hui"),
            Some(CustomerFilter::Text("chen hui".into()))
        );
        assert_eq!(
            CustomerFilter::parse("chenhui@centerm.com"),
            Some(CustomerFilter::Text("chenhui@centerm.com".into()))
        );
        assert_eq!(CustomerFilter::parse("  "), None);
    }

    #[test]
    fn filter_parameters_are_parsed_or_refused_by_name() {
        let params = FilterParams {
            from: "2026-11-01".into(),
            to: "2026-11-30".into(),
            customer: "centerm.com".into(),
            agent: "7".into(),
            priority: "urgent".into(),
            state: "archived".into(),
            escalated: "no".into(),
        };
        assert_eq!(
            params.parse().unwrap(),
            SummaryFilter {
                from: NaiveDate::from_ymd_opt(2026, 11, 1),
                to: NaiveDate::from_ymd_opt(2026, 11, 30),
                customer: Some(CustomerFilter::Domain("centerm.com".into())),
                agent: Some(AssigneeFilter::User(7)),
                priority: Some(Priority::Urgent),
                state: Some(CaseState::Archived),
                escalated: Some(false),
            }
        );
        assert_eq!(
            FilterParams::default().parse().unwrap(),
            SummaryFilter::default()
        );
        for (field, value) in [
            ("from", "01/11/2026"),
            ("agent", "li"),
            ("priority", "p1"),
            ("state", "investigating"),
            ("escalated", "maybe"),
        ] {
            let mut p = FilterParams::default();
            match field {
                "from" => p.from = value.into(),
                "agent" => p.agent = value.into(),
                "priority" => p.priority = value.into(),
                "state" => p.state = value.into(),
                _ => p.escalated = value.into(),
            }
            assert_eq!(p.parse().unwrap_err().field, field);
        }
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        let c = Cursor {
            closed_at: NaiveDate::from_ymd_opt(2026, 11, 2)
                .unwrap()
                .and_hms_micro_opt(9, 30, 1, 123_456)
                .unwrap(),
            id: 42,
        };
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        assert_eq!(Cursor::parse("x_1"), None);
        assert_eq!(Cursor::parse("12"), None);
    }

    #[test]
    fn a_day_starts_at_midnight_in_the_calendars_zone() {
        let calendar = BusinessCalendar::default();
        assert_eq!(
            day_start(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(), &calendar),
            NaiveDate::from_ymd_opt(2026, 11, 1)
                .unwrap()
                .and_hms_opt(16, 0, 0)
                .unwrap(),
            "00:00 in Shanghai is 16:00 UTC the day before"
        );
    }
}
