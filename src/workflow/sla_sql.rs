//! The SQL twin of [`SlaClock::phase`](crate::workflow::sla::SlaClock::phase) and
//! [`SlaCondition::holds`]: one predicate over `sla_clocks` per condition, for the case list's SLA
//! filters (and anything else that selects clocks by condition).
//!
//! Each predicate compares `now` with the stored instants exactly as the Rust side does, clause for
//! clause (`met_at`, `paused_since`, `breached_at`, `due_at`, `near_breach_at`), so a case listed as
//! overdue or due soon carries that badge, and the reverse. No business-hours arithmetic happens in
//! SQL: the business calendar is applied in Rust when `due_at` and `near_breach_at` are stored. The
//! property test `tests/sla_definition.rs` checks the two agree on random clocks on both databases.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::DbConn;
use crate::db::conn::MultiBackend;
use crate::db::schema::cases;
use crate::workflow::schema::sla_clocks;
use crate::workflow::sla::SlaCondition;

/// `now` as the databases store instants (microseconds), so a comparison with a stored instant
/// gives the same answer as the Rust comparison of the stored values.
pub(crate) fn stored(now: DateTime<Utc>) -> NaiveDateTime {
    let naive = now.naive_utc();
    naive
        .with_nanosecond(now.timestamp_subsec_micros() * 1000)
        .unwrap_or(naive)
}

// The predicates are macros rather than functions returning boxed expressions: a boxed expression
// cannot sit inside the `cases … IN (SELECT … FROM sla_clocks WHERE …)` subquery on the
// multi-backend connection (it implements the query fragment only for the combined backend), while
// each expansion here has a concrete type that works on both.

/// Not met, not paused: the clock counts toward its deadline ([`SlaCondition::Running`]).
macro_rules! running {
    () => {
        $crate::workflow::schema::sla_clocks::met_at
            .is_null()
            .and($crate::workflow::schema::sla_clocks::paused_since.is_null())
    };
}
pub(crate) use running;

/// Running and past the deadline, or running again after a recorded breach ([`SlaCondition::Overdue`]).
macro_rules! overdue {
    ($now:expr) => {
        $crate::workflow::sla_sql::running!().and(
            $crate::workflow::schema::sla_clocks::breached_at
                .is_not_null()
                .or($crate::workflow::schema::sla_clocks::due_at.lt($now)),
        )
    };
}
pub(crate) use overdue;

/// Running, not overdue, and at or past the near-breach instant; a NULL instant never is
/// ([`SlaCondition::DueSoon`]).
macro_rules! due_soon {
    ($now:expr) => {
        $crate::workflow::sla_sql::running!()
            .and(sla_clocks::breached_at.is_null())
            .and(sla_clocks::due_at.ge($now))
            .and(sla_clocks::near_breach_at.is_not_null())
            .and(sla_clocks::near_breach_at.assume_not_null().le($now))
    };
}

/// A stored breach, an overdue clock the sweep has not recorded yet, or a clock met after its
/// deadline ([`SlaCondition::Breached`]). The dashboard counts breaches with it too
/// (`reports::dashboard`), with `$now` already truncated to microseconds.
macro_rules! breached {
    ($now:expr) => {
        $crate::workflow::schema::sla_clocks::breached_at
            .is_not_null()
            .or($crate::workflow::sla_sql::overdue!($now))
            .or($crate::workflow::schema::sla_clocks::met_at
                .is_not_null()
                .and(
                    $crate::workflow::schema::sla_clocks::met_at
                        .assume_not_null()
                        .gt($crate::workflow::schema::sla_clocks::due_at),
                ))
    };
}
pub(crate) use breached;

/// Paused and not met ([`SlaCondition::Paused`]).
macro_rules! paused {
    () => {
        sla_clocks::met_at
            .is_null()
            .and(sla_clocks::paused_since.is_not_null())
    };
}

/// Evaluates `$body` with `$p` bound to the predicate of `$condition` at `$now`.
macro_rules! with_predicate {
    ($condition:expr, $now:expr, |$p:ident| $body:expr) => {{
        let now = stored($now);
        match $condition {
            SlaCondition::Running => {
                let $p = running!();
                $body
            }
            SlaCondition::Overdue => {
                let $p = overdue!(now);
                $body
            }
            SlaCondition::DueSoon => {
                let $p = due_soon!(now);
                $body
            }
            SlaCondition::Breached => {
                let $p = breached!(now);
                $body
            }
            SlaCondition::Paused => {
                let $p = paused!();
                $body
            }
        }
    }};
}

/// A condition on `cases`: one of the case's clocks is in `condition` at `now` (for the case list).
pub type CasePredicate = Box<dyn BoxableExpression<cases::table, MultiBackend, SqlType = Bool>>;

/// The cases with a clock for which [`SlaCondition::holds`] at `now`.
pub fn case_has_clock(condition: SlaCondition, now: DateTime<Utc>) -> CasePredicate {
    with_predicate!(condition, now, |p| Box::new(
        cases::id.eq_any(sla_clocks::table.filter(p).select(sla_clocks::case_id))
    ))
}

/// The ids of the clocks for which [`SlaCondition::holds`] at `now`, in id order.
pub fn clock_ids(
    conn: &mut DbConn,
    condition: SlaCondition,
    now: DateTime<Utc>,
) -> QueryResult<Vec<i64>> {
    with_predicate!(condition, now, |p| sla_clocks::table
        .filter(p)
        .select(sla_clocks::id)
        .order(sla_clocks::id.asc())
        .load(conn))
}
