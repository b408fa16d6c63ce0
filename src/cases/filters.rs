//! The case list's filters on time: how old an open case is ([`AgeBucket`]) and what happened to a
//! case within a range of dates ([`Activity`] over a [`DateRange`]). The dashboard
//! (`reports::dashboard`) counts with the very same filters, so every figure links to the case list
//! that produced it (`/cases?activity=breached_resolution&from=2026-11-01&to=2026-11-30`).
//!
//! The events a filter reads are `transition` events (`case_events.kind`); their SQL is written once
//! here ([`EventSql`]) with the kind and states as literals from their constants, so the partial
//! indexes of migration `2026-12-10-000100_reports` (`… WHERE kind = 'transition'`) apply.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::workflow::events::EventKind;
use crate::workflow::sla::SlaMetric;
use crate::workflow::state::CaseState;

/// The longest range a list or report may span (a leap year).
pub const MAX_RANGE_DAYS: i64 = 366;

/// A range of whole local dates, `from` to `to` inclusive, in the business calendar's zone, and the
/// instants it covers: `[start, end)` in UTC as the databases store them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First date.
    pub from: NaiveDate,
    /// Last date (inclusive).
    pub to: NaiveDate,
    /// The first instant of `from` (local midnight), as stored UTC.
    pub start: NaiveDateTime,
    /// The first instant after `to` (the next local midnight), as stored UTC.
    pub end: NaiveDateTime,
}

/// Why a range cannot be used; each names its interface string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A date is not `YYYY-MM-DD`.
    #[error("dates are written YYYY-MM-DD")]
    BadDate,
    /// `to` is before `from`.
    #[error("the range ends before it starts")]
    Reversed,
    /// Longer than [`MAX_RANGE_DAYS`].
    #[error("a range spans at most 366 days")]
    TooLong,
}

impl RangeError {
    /// The `messages.toml` key explaining it.
    pub fn message_key(self) -> &'static str {
        match self {
            RangeError::BadDate => "range.error.bad_date",
            RangeError::Reversed => "range.error.reversed",
            RangeError::TooLong => "range.error.too_long",
        }
    }
}

/// The UTC instant of local midnight at the start of `date` (the first instant after a gap when
/// midnight does not exist that day).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A zone that skips midnight (a DST change at 00:00) starts the day at the first valid minute.
    for _ in 0..(24 * 60) {
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
        naive += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&naive)
}

impl DateRange {
    /// The range `from`–`to` (inclusive) in `tz`.
    pub fn new(from: NaiveDate, to: NaiveDate, tz: Tz) -> Result<DateRange, RangeError> {
        if to < from {
            return Err(RangeError::Reversed);
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS {
            return Err(RangeError::TooLong);
        }
        let next = to.succ_opt().ok_or(RangeError::BadDate)?;
        Ok(DateRange {
            from,
            to,
            start: local_midnight(from, tz).naive_utc(),
            end: local_midnight(next, tz).naive_utc(),
        })
    }

    /// Parses `YYYY-MM-DD` dates as typed in a URL.
    pub fn parse(from: &str, to: &str, tz: Tz) -> Result<DateRange, RangeError> {
        let date = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| RangeError::BadDate)
        };
        DateRange::new(date(from)?, date(to)?, tz)
    }

    /// How many dates it spans.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// How long an open case has been open (wall-clock time since it was opened), for the backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgeBucket {
    /// Opened within the last day.
    UnderOneDay,
    /// One to three days.
    OneToThreeDays,
    /// Three to seven days.
    ThreeToSevenDays,
    /// Seven to thirty days.
    SevenToThirtyDays,
    /// More than thirty days.
    OverThirtyDays,
}

impl AgeBucket {
    /// Youngest first.
    pub const ALL: [AgeBucket; 5] = [
        AgeBucket::UnderOneDay,
        AgeBucket::OneToThreeDays,
        AgeBucket::ThreeToSevenDays,
        AgeBucket::SevenToThirtyDays,
        AgeBucket::OverThirtyDays,
    ];

    /// The URL and JSON form: `under_1d`, `1_3d`, `3_7d`, `7_30d`, `over_30d`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgeBucket::UnderOneDay => "under_1d",
            AgeBucket::OneToThreeDays => "1_3d",
            AgeBucket::ThreeToSevenDays => "3_7d",
            AgeBucket::SevenToThirtyDays => "7_30d",
            AgeBucket::OverThirtyDays => "over_30d",
        }
    }

    /// The bucket a URL names.
    pub fn parse(text: &str) -> Option<AgeBucket> {
        AgeBucket::ALL.into_iter().find(|b| b.as_str() == text)
    }

    /// The `messages.toml` key of its label.
    pub fn label_key(self) -> &'static str {
        match self {
            AgeBucket::UnderOneDay => "reports.age.under_1d",
            AgeBucket::OneToThreeDays => "reports.age.1_3d",
            AgeBucket::ThreeToSevenDays => "reports.age.3_7d",
            AgeBucket::SevenToThirtyDays => "reports.age.7_30d",
            AgeBucket::OverThirtyDays => "reports.age.over_30d",
        }
    }

    /// Its ages in whole days: at least the first, less than the second (`None`: no upper end).
    fn days(self) -> (i64, Option<i64>) {
        match self {
            AgeBucket::UnderOneDay => (0, Some(1)),
            AgeBucket::OneToThreeDays => (1, Some(3)),
            AgeBucket::ThreeToSevenDays => (3, Some(7)),
            AgeBucket::SevenToThirtyDays => (7, Some(30)),
            AgeBucket::OverThirtyDays => (30, None),
        }
    }

    /// The `created_at` of its cases at `now`: after the first instant (if any), at or before the
    /// second.
    pub fn created_between(self, now: DateTime<Utc>) -> (Option<NaiveDateTime>, NaiveDateTime) {
        let (younger, older) = self.days();
        let now = crate::workflow::sla_sql::stored(now);
        (
            older.map(|d| now - Duration::days(d)),
            now - Duration::days(younger),
        )
    }
}

/// What happened to a case within a date range, as the case list filters it and the dashboard
/// counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Opened in the range.
    Opened,
    /// Closed in the range: resolved, or archived without being resolved first.
    Closed,
    /// Closed in the range and reopened afterwards (at any time since).
    Reopened,
    /// Opened in the range and escalated (at any time since).
    Escalated,
    /// Handed back from escalation (or resolved while escalated) in the range.
    EscalationEnded,
    /// A customer wrote only to ask for progress in the range, while waiting on the team
    /// (`reports::chasers`).
    Chased,
    /// A clock of this metric was met in the range.
    Met(SlaMetric),
    /// A clock of this metric was met in the range, on time.
    OnTime(SlaMetric),
    /// A clock of this metric breached in the range (its deadline, the breach instant, lies in it) —
    /// whether met late or still open, as the one SLA definition says (`workflow::sla_sql`).
    Breached(SlaMetric),
}

impl Activity {
    /// Every activity.
    pub fn all() -> Vec<Activity> {
        let mut all = vec![
            Activity::Opened,
            Activity::Closed,
            Activity::Reopened,
            Activity::Escalated,
            Activity::EscalationEnded,
            Activity::Chased,
        ];
        for m in SlaMetric::ALL {
            all.extend([Activity::Met(m), Activity::OnTime(m), Activity::Breached(m)]);
        }
        all
    }

    /// The URL form: `opened`, `closed`, `reopened`, `escalated`, `escalation_ended`, `chased`,
    /// `met_<metric>`, `on_time_<metric>`, `breached_<metric>`.
    pub fn as_str(self) -> String {
        match self {
            Activity::Opened => "opened".into(),
            Activity::Closed => "closed".into(),
            Activity::Reopened => "reopened".into(),
            Activity::Escalated => "escalated".into(),
            Activity::EscalationEnded => "escalation_ended".into(),
            Activity::Chased => "chased".into(),
            Activity::Met(m) => format!("met_{m}"),
            Activity::OnTime(m) => format!("on_time_{m}"),
            Activity::Breached(m) => format!("breached_{m}"),
        }
    }

    /// The activity a URL names.
    pub fn parse(text: &str) -> Option<Activity> {
        Activity::all().into_iter().find(|a| a.as_str() == text)
    }

    /// The `messages.toml` key of its label (the metric's name is added by the caller).
    pub fn label_key(self) -> &'static str {
        match self {
            Activity::Opened => "activity.opened",
            Activity::Closed => "activity.closed",
            Activity::Reopened => "activity.reopened",
            Activity::Escalated => "activity.escalated",
            Activity::EscalationEnded => "activity.escalation_ended",
            Activity::Chased => "activity.chased",
            Activity::Met(_) => "activity.met",
            Activity::OnTime(_) => "activity.on_time",
            Activity::Breached(_) => "activity.breached",
        }
    }

    /// The metric, for the clock activities.
    pub fn metric(self) -> Option<SlaMetric> {
        match self {
            Activity::Met(m) | Activity::OnTime(m) | Activity::Breached(m) => Some(m),
            _ => None,
        }
    }
}

/// An activity within a range: one case-list filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityFilter {
    /// What happened.
    pub activity: Activity,
    /// When.
    pub range: DateRange,
}

/// Which cases a report looks at: an owner, a priority, a customer mail domain (each optional).
/// The case list has the same three filters (`assignee`, `priority`, `domain`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseScope {
    /// Owned by this account, or by nobody.
    pub assignee: Option<Owner>,
    /// Of this priority.
    pub priority: Option<crate::workflow::state::Priority>,
    /// Customers of this mail domain (lower case, without `@`).
    pub domain: Option<String>,
}

/// The owner a scope asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// This account.
    User(i64),
    /// Nobody.
    Nobody,
}

impl Owner {
    /// The case list's `assignee` parameter: the account id, or `none`.
    pub fn as_param(self) -> String {
        match self {
            Owner::User(id) => id.to_string(),
            Owner::Nobody => "none".into(),
        }
    }
}

/// A customer mail domain as typed (`@Centerm.com` → `centerm.com`); `None` unless it looks like one.
pub fn parse_domain(text: &str) -> Option<String> {
    let domain = text.trim().trim_start_matches('@').to_lowercase();
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        && !domain.starts_with('.')
        && !domain.ends_with('.');
    ok.then_some(domain)
}

/// SQL text of the `transition` events the filters and the dashboard read, for a `case_events` row
/// named `e`. Kind and states are literals taken from their constants (never input), so the
/// partial indexes on transition events apply on both engines.
pub struct EventSql;

impl EventSql {
    /// A transition into `to`.
    pub fn into_state(e: &str, to: CaseState) -> String {
        format!(
            "{e}.kind = '{}' AND {e}.to_state = '{}'",
            EventKind::Transition,
            to.as_str()
        )
    }

    /// A transition out of `from`.
    pub fn out_of(e: &str, from: CaseState) -> String {
        format!(
            "{e}.kind = '{}' AND {e}.from_state = '{}'",
            EventKind::Transition,
            from.as_str()
        )
    }

    /// A transition that closes a case: into resolved, or into archived from anything but resolved
    /// (archiving a resolved case closes it only once). A merge archives with a `merged` event, not
    /// a transition, and is not a closure.
    pub fn closing(e: &str) -> String {
        let (resolved, archived) = (CaseState::Resolved.as_str(), CaseState::Archived.as_str());
        format!(
            "{e}.kind = '{}' AND {e}.to_state IN ('{resolved}', '{archived}') \
             AND ({e}.from_state IS NULL OR {e}.from_state <> '{resolved}')",
            EventKind::Transition
        )
    }

    /// A transition that reopens a case: out of resolved or archived.
    pub fn reopening(e: &str) -> String {
        let (resolved, archived) = (CaseState::Resolved.as_str(), CaseState::Archived.as_str());
        format!(
            "{e}.kind = '{}' AND {e}.from_state IN ('{resolved}', '{archived}') \
             AND {e}.to_state IS NOT NULL AND {e}.to_state NOT IN ('{resolved}', '{archived}')",
            EventKind::Transition
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_covers_whole_local_days() {
        let tz = chrono_tz::Asia::Shanghai;
        let r = DateRange::parse("2026-11-01", "2026-11-30", tz).unwrap();
        assert_eq!(r.start.to_string(), "2026-10-31 16:00:00");
        assert_eq!(r.end.to_string(), "2026-11-30 16:00:00");
        assert_eq!(r.days(), 30);
        assert_eq!(
            DateRange::parse("2026-11-02", "2026-11-01", tz),
            Err(RangeError::Reversed)
        );
        assert_eq!(
            DateRange::parse("2026-1-1x", "2026-11-01", tz),
            Err(RangeError::BadDate)
        );
        assert_eq!(
            DateRange::parse("2025-01-01", "2026-01-02", tz),
            Err(RangeError::TooLong)
        );
        assert!(DateRange::parse("2024-01-01", "2024-12-31", tz).is_ok());
        // A day of 23 hours (spring forward in Berlin) still ends at the next midnight.
        let berlin =
            DateRange::parse("2026-03-29", "2026-03-29", chrono_tz::Europe::Berlin).unwrap();
        assert_eq!(berlin.end - berlin.start, Duration::hours(23));
    }

    #[test]
    fn activities_and_age_buckets_round_trip_through_their_url_form() {
        for a in Activity::all() {
            assert_eq!(Activity::parse(&a.as_str()), Some(a), "{}", a.as_str());
        }
        assert_eq!(
            Activity::parse("breached_first_response"),
            Some(Activity::Breached(SlaMetric::FirstResponse))
        );
        assert_eq!(Activity::parse("breached"), None);
        for b in AgeBucket::ALL {
            assert_eq!(AgeBucket::parse(b.as_str()), Some(b));
        }
    }

    #[test]
    fn a_domain_is_read_as_typed_and_anything_else_refused() {
        assert_eq!(parse_domain(" @Centerm.COM "), Some("centerm.com".into()));
        assert_eq!(parse_domain("公司.cn"), Some("公司.cn".into()));
        for bad in ["", "@", "a b.com", "%.com", "x_y.com", ".com", "a.com."] {
            assert_eq!(parse_domain(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn age_buckets_tile_the_past_without_gaps() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let mut newer = None;
        for b in AgeBucket::ALL {
            let (after, at_or_before) = b.created_between(now);
            if let Some(previous_after) = newer {
                assert_eq!(at_or_before, previous_after, "{b:?}");
            } else {
                assert_eq!(at_or_before, now.naive_utc());
            }
            newer = after;
        }
        assert_eq!(newer, None, "the oldest bucket has no lower end");
    }
}
