//! The case list behind the case list page and `GET /api/v1/cases`: filters by state, assignee,
//! priority, SLA status, customer and text, counts the matches, and pages through them in a stable
//! order (ties broken by id, so a page never repeats or skips a case).
//!
//! The rows have exactly the shape of `casebook cases list --json`
//! ([`crate::cases::views::CaseListItem`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::cases::Case;
use crate::cases::views::CaseListItem;
use crate::db::DbConn;
use crate::db::conn::MultiBackend;
use crate::db::schema::{cases, messages};
use crate::workflow::schema::sla_clocks;
use crate::workflow::sla::SlaCondition;
use crate::workflow::sla_sql;

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive search that behaves alike on SQLite and PostgreSQL.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Who the cases must be assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Any or no assignee.
    Any,
    /// Nobody.
    Unassigned,
    /// This account.
    User(i64),
}

/// The SLA condition a list asks for: a case matches when one of its clocks is in that condition, as
/// defined once by [`SlaCondition`] (the badge's definition; the SQL comes from
/// [`crate::workflow::sla_sql`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlaFilter {
    /// No SLA condition.
    #[default]
    Any,
    /// A clock is running (not met, not paused).
    Running,
    /// A clock is overdue and not met (never a paused one).
    Overdue,
    /// A running clock is near breach (the badge's "near breach": the configured share of its target's
    /// business time has elapsed) and not yet overdue: the cases to answer next.
    DueSoon,
    /// A clock was breached, whether or not it was met later (for reviewing the month).
    Breached,
}

impl SlaFilter {
    /// The filter named in a URL (`running`, `overdue`, `due_soon`, `breached`; empty for none).
    pub fn parse(s: &str) -> Option<SlaFilter> {
        Some(match s {
            "" => SlaFilter::Any,
            "running" => SlaFilter::Running,
            "overdue" => SlaFilter::Overdue,
            "due_soon" => SlaFilter::DueSoon,
            "breached" => SlaFilter::Breached,
            _ => return None,
        })
    }

    /// The clock condition it asks for; `None` for no condition.
    pub fn condition(self) -> Option<SlaCondition> {
        match self {
            SlaFilter::Any => None,
            SlaFilter::Running => Some(SlaCondition::Running),
            SlaFilter::Overdue => Some(SlaCondition::Overdue),
            SlaFilter::DueSoon => Some(SlaCondition::DueSoon),
            SlaFilter::Breached => Some(SlaCondition::Breached),
        }
    }
}

/// Sort order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Most recent activity first.
    #[default]
    Updated,
    /// Newest cases first.
    Created,
    /// The nearest SLA deadline first (cases without a running clock last).
    Due,
}

/// Cases with at most this many matches are sorted by deadline in memory.
const MAX_DUE_SORT: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct CaseQuery {
    /// Only this state (stored form).
    pub state: Option<String>,
    /// Assignee filter.
    pub assignee: AssigneeFilter,
    /// Text that must appear (case-insensitively) in the number, title, customer address or name.
    pub text: Option<String>,
    /// 1-based page.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// Only this priority.
    pub priority: Option<String>,
    /// Customer address or name contains this.
    pub customer: Option<String>,
    /// SLA condition.
    pub sla: SlaFilter,
    /// Order.
    pub sort: SortOrder,
}

/// One page of matches and how many there are in all.
#[derive(Debug, Clone)]
pub struct CasePage {
    /// The rows, most recently active first (ties by id, so pages never overlap or skip).
    pub cases: Vec<CaseListItem>,
    /// Matches over all pages.
    pub total: i64,
}

/// `%` and `_` in the search text are literal, not wildcards.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn filtered(q: &CaseQuery, now: DateTime<Utc>) -> cases::BoxedQuery<'static, MultiBackend> {
    let mut query = cases::table.into_boxed();
    if let Some(state) = &q.state {
        query = query.filter(cases::state.eq(state.clone()));
    }
    match q.assignee {
        AssigneeFilter::Any => {}
        AssigneeFilter::Unassigned => query = query.filter(cases::assignee_id.is_null()),
        AssigneeFilter::User(id) => query = query.filter(cases::assignee_id.eq(id)),
    }
    if let Some(p) = &q.priority {
        query = query.filter(cases::priority.eq(p.clone()));
    }
    if let Some(c) = &q.customer {
        let pattern = like_pattern(c);
        query = query.filter(
            lower(cases::customer_email)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(cases::customer_name.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    if let Some(condition) = q.sla.condition() {
        query = query.filter(sla_sql::case_has_clock(condition, now));
    }
    if let Some(text) = &q.text {
        let pattern = like_pattern(text);
        query = query.filter(
            lower(cases::number)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(cases::title).like(pattern.clone()).escape('\\'))
                .or(lower(cases::customer_email)
                    .like(pattern.clone())
                    .escape('\\'))
                .or(lower(cases::customer_name.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    query
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs a list request now.
pub fn list_cases(conn: &mut DbConn, q: &CaseQuery) -> QueryResult<CasePage> {
    list_cases_at(conn, q, Utc::now())
}

/// Runs a list request as of `now` (the instant SLA conditions are judged at).
pub fn list_cases_at(
    conn: &mut DbConn,
    q: &CaseQuery,
    now: DateTime<Utc>,
) -> QueryResult<CasePage> {
    let total: i64 = filtered(q, now).count().get_result(conn)?;
    let offset = (q.page - 1).saturating_mul(q.per_page);
    let found: Vec<Case> = match q.sort {
        SortOrder::Updated => filtered(q, now)
            .select(Case::as_select())
            .order((cases::last_activity_at.desc(), cases::id.desc()))
            .limit(q.per_page)
            .offset(offset)
            .load(conn)?,
        SortOrder::Created => filtered(q, now)
            .select(Case::as_select())
            .order((cases::created_at.desc(), cases::id.desc()))
            .limit(q.per_page)
            .offset(offset)
            .load(conn)?,
        SortOrder::Due => {
            // The deadline is the earliest running clock; sorting by it needs a per-case minimum,
            // taken from one grouped query and applied in memory over the (bounded) matches.
            let mut all: Vec<Case> = filtered(q, now)
                .select(Case::as_select())
                .order(cases::id.asc())
                .limit(MAX_DUE_SORT)
                .load(conn)?;
            let ids: Vec<i64> = all.iter().map(|c| c.id).collect();
            let due: HashMap<i64, Option<chrono::NaiveDateTime>> = sla_clocks::table
                .filter(sla_clocks::case_id.eq_any(&ids))
                .filter(sla_sql::running!())
                .group_by(sla_clocks::case_id)
                .select((sla_clocks::case_id, diesel::dsl::min(sla_clocks::due_at)))
                .load::<(i64, Option<chrono::NaiveDateTime>)>(conn)?
                .into_iter()
                .collect();
            all.sort_by_key(|c| {
                (
                    due.get(&c.id).copied().flatten().is_none(),
                    due.get(&c.id).copied().flatten(),
                    c.id,
                )
            });
            all.into_iter()
                .skip(offset.max(0) as usize)
                .take(q.per_page.max(0) as usize)
                .collect()
        }
    };
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    let counts: HashMap<i64, i64> = messages::table
        .filter(messages::case_id.eq_any(&ids))
        .group_by(messages::case_id)
        .select((messages::case_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let cases = found
        .into_iter()
        .map(|c| CaseListItem {
            messages: counts.get(&c.id).copied().unwrap_or(0),
            updated_at: rfc3339(c.last_activity_at),
            number: c.number,
            title: c.title,
            state: c.state.as_str().to_string(),
            priority: c.priority.as_str().to_string(),
            customer: c.customer_email,
        })
        .collect();
    Ok(CasePage { cases, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_literal_and_lower_cased() {
        assert_eq!(like_pattern("Win"), "%win%");
        assert_eq!(like_pattern("100%_x\\"), "%100\\%\\_x\\\\%");
        assert_eq!(like_pattern("激活"), "%激活%");
    }
}
