//! SLA clocks as stored: reading and writing `sla_clocks` rows, pausing and resuming them with the
//! case's state ([`sync_clocks`]), meeting them, starting the clocks of a new case
//! ([`start_clocks_for_new_case`]), each listed case's next deadline ([`next_deadlines`]) and the
//! one-off fills of old rows ([`fill_near_breach`], [`fill_elapsed`]). What a clock *is* — deadlines in
//! business time, pauses, breach — is decided by the pure [`crate::workflow::sla`].

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{CaseKey, SlaRules, WorkflowError, find_case, stamp, state_of};
use crate::cases::Case;
use crate::db::DbConn;
use crate::workflow::schema::sla_clocks;
use crate::workflow::sla::{SlaClock, SlaMetric};
use crate::workflow::state::{CaseState, Priority};

/// A `sla_clocks` row as read; [`StoredClock`] is its checked form.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sla_clocks)]
pub(super) struct ClockRow {
    id: i64,
    case_id: i64,
    metric: String,
    target_seconds: i64,
    started_at: NaiveDateTime,
    due_at: NaiveDateTime,
    near_breach_at: Option<NaiveDateTime>,
    met_at: Option<NaiveDateTime>,
    breached_at: Option<NaiveDateTime>,
    paused_since: Option<NaiveDateTime>,
    paused_seconds: i64,
}

/// A clock as stored: its row, its case and the clock itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClock {
    /// `sla_clocks.id`.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// The clock.
    pub clock: SlaClock,
}

fn seconds(value: i64, what: &str, id: i64) -> Result<Duration, WorkflowError> {
    Duration::try_seconds(value)
        .ok_or_else(|| WorkflowError::Corrupt(format!("clock {id}: {what} {value} s out of range")))
}

impl TryFrom<ClockRow> for StoredClock {
    type Error = WorkflowError;
    fn try_from(row: ClockRow) -> Result<Self, Self::Error> {
        let metric = SlaMetric::ALL
            .into_iter()
            .find(|m| m.as_str() == row.metric)
            .ok_or_else(|| {
                WorkflowError::Corrupt(format!("clock {}: unknown metric {:?}", row.id, row.metric))
            })?;
        Ok(StoredClock {
            id: row.id,
            case_id: row.case_id,
            clock: SlaClock {
                metric,
                target: seconds(row.target_seconds, "target", row.id)?,
                started_at: row.started_at.and_utc(),
                due_at: row.due_at.and_utc(),
                near_breach_at: row.near_breach_at.map(|t| t.and_utc()),
                met_at: row.met_at.map(|t| t.and_utc()),
                breached_at: row.breached_at.map(|t| t.and_utc()),
                paused_since: row.paused_since.map(|t| t.and_utc()),
                paused_total: seconds(row.paused_seconds, "paused time", row.id)?,
            },
        })
    }
}

pub(super) fn insert_clock(
    conn: &mut DbConn,
    case_id: i64,
    clock: &SlaClock,
) -> Result<(), WorkflowError> {
    crate::db::conn::on_backend!(conn, c => diesel::insert_into(sla_clocks::table)
        .values((
            sla_clocks::case_id.eq(case_id),
            sla_clocks::metric.eq(clock.metric.as_str()),
            sla_clocks::target_seconds.eq(clock.target.num_seconds()),
            sla_clocks::started_at.eq(stamp(clock.started_at)),
            sla_clocks::due_at.eq(stamp(clock.due_at)),
            sla_clocks::near_breach_at.eq(clock.near_breach_at.map(stamp)),
            sla_clocks::met_at.eq(clock.met_at.map(stamp)),
            sla_clocks::breached_at.eq(clock.breached_at.map(stamp)),
            sla_clocks::paused_since.eq(clock.paused_since.map(stamp)),
            sla_clocks::paused_seconds.eq(clock.paused_total.num_seconds()),
            sla_clocks::created_at.eq(crate::db::now()),
        ))
        .execute(c))?;
    Ok(())
}

pub(super) fn save_clock(conn: &mut DbConn, stored: &StoredClock) -> Result<(), WorkflowError> {
    let clock = &stored.clock;
    let row = sla_clocks::table.find(stored.id);
    diesel::update(row)
        .set((
            sla_clocks::target_seconds.eq(clock.target.num_seconds()),
            sla_clocks::due_at.eq(stamp(clock.due_at)),
            sla_clocks::near_breach_at.eq(clock.near_breach_at.map(stamp)),
            sla_clocks::met_at.eq(clock.met_at.map(stamp)),
            sla_clocks::paused_since.eq(clock.paused_since.map(stamp)),
            sla_clocks::paused_seconds.eq(clock.paused_total.num_seconds()),
        ))
        .execute(conn)?;
    // A breach is never cleared: writing only a new one keeps a breach stored meanwhile by the sweep
    // (another instance, another transaction) from being overwritten with "not breached".
    if let Some(breached_at) = clock.breached_at {
        diesel::update(row.filter(sla_clocks::breached_at.is_null()))
            .set(sla_clocks::breached_at.eq(stamp(breached_at)))
            .execute(conn)?;
    }
    Ok(())
}

/// Every clock of a case, oldest first.
pub fn clocks(conn: &mut DbConn, case_id: i64) -> Result<Vec<StoredClock>, WorkflowError> {
    let rows: Vec<ClockRow> = sla_clocks::table
        .filter(sla_clocks::case_id.eq(case_id))
        .order((sla_clocks::started_at.asc(), sla_clocks::id.asc()))
        .select(ClockRow::as_select())
        .load(conn)?;
    rows.into_iter().map(StoredClock::try_from).collect()
}

/// Pauses or resumes every open clock of the case to match `state`; returns how many changed.
pub(crate) fn sync_clocks(
    conn: &mut DbConn,
    case_id: i64,
    state: CaseState,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<usize, WorkflowError> {
    let mut changed = 0;
    for mut stored in clocks(conn, case_id)? {
        if stored.clock.met_at.is_none() && stored.clock.sync_with_state(state, at, rules.calendar)
        {
            save_clock(conn, &stored)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Marks the open clocks of these metrics met at `at`; returns how many.
pub(super) fn meet_clocks(
    conn: &mut DbConn,
    case_id: i64,
    metrics: &[SlaMetric],
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<usize, WorkflowError> {
    let mut met = 0;
    for mut stored in clocks(conn, case_id)? {
        if metrics.contains(&stored.clock.metric) && stored.clock.mark_met(at, rules.calendar) {
            save_clock(conn, &stored)?;
            save_elapsed(conn, &stored, rules)?;
            met += 1;
        }
    }
    Ok(met)
}

/// Stores the business time a met clock ran ([`SlaClock::business_time_used`]), the number the
/// dashboard's response and resolution times aggregate.
fn save_elapsed(
    conn: &mut DbConn,
    stored: &StoredClock,
    rules: &SlaRules<'_>,
) -> Result<(), WorkflowError> {
    if let Some(used) = stored.clock.business_time_used(rules.calendar) {
        diesel::update(sla_clocks::table.find(stored.id))
            .set(sla_clocks::elapsed_seconds.eq(used.num_seconds()))
            .execute(conn)?;
    }
    Ok(())
}

/// Starts the first-response and resolution clocks of a case just opened at `at` (the first message's
/// time), paused at once if the case was opened in a state where clocks do not run. Does nothing and
/// returns `false` if the case already has clocks, so a retried ingest cannot double them.
pub fn start_clocks_for_new_case(
    conn: &mut DbConn,
    case_id: i64,
    priority: Priority,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<bool, WorkflowError> {
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, CaseKey::Id(case_id))?;
        let existing: i64 = sla_clocks::table
            .filter(sla_clocks::case_id.eq(case_id))
            .count()
            .get_result(conn)?;
        if existing > 0 {
            return Ok(false);
        }
        start_clocks_for_new_case_in(conn, &case, priority, at, rules)?;
        Ok(true)
    })
}

/// [`start_clocks_for_new_case`] for a case its caller opened in the same transaction (so it has
/// no clocks yet), without a savepoint of its own: for bulk ingest, whose batch transaction rolls
/// back whole when this fails.
pub fn start_clocks_for_new_case_in(
    conn: &mut DbConn,
    case: &Case,
    priority: Priority,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<(), WorkflowError> {
    let state = state_of(case)?;
    for metric in [SlaMetric::FirstResponse, SlaMetric::Resolution] {
        let mut clock = rules.sla.start_clock(metric, priority, at, rules.calendar);
        clock.sync_with_state(state, at, rules.calendar);
        insert_clock(conn, case.id, &clock)?;
    }
    Ok(())
}

/// The next running deadline of each listed case: of its open, unpaused clocks, the one with the
/// earliest `due_at` (for the case list and the engineering queue). Cases whose clocks are all met or
/// paused are absent.
pub fn next_deadlines(
    conn: &mut DbConn,
    case_ids: &[i64],
) -> Result<HashMap<i64, SlaClock>, WorkflowError> {
    if case_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<ClockRow> = sla_clocks::table
        .filter(sla_clocks::case_id.eq_any(case_ids))
        .filter(crate::workflow::sla_sql::running!())
        .order((sla_clocks::due_at.asc(), sla_clocks::id.asc()))
        .select(ClockRow::as_select())
        .load(conn)?;
    let mut next = HashMap::new();
    for row in rows {
        let stored = StoredClock::try_from(row)?;
        // Rows come earliest first, so the first clock seen for a case is its next deadline.
        next.entry(stored.case_id).or_insert(stored.clock);
    }
    Ok(next)
}

/// How many clocks [`fill_near_breach`] fixes per transaction.
pub const NEAR_BREACH_FILL_BATCH: i64 = 500;

/// Fills `near_breach_at` on open clocks stored before the column existed (migration
/// `2026-12-05-000001_sla_near_breach`), with the configured calendar and threshold, in batches of
/// [`NEAR_BREACH_FILL_BATCH`] (one short transaction each, so a large database does not hold the
/// write lock for long). Met clocks are left alone: they are never near breach. Until a clock is
/// filled, the badge and the list both treat it as never near breach. `casebook serve` and
/// `casebook migrate` run it at start; it returns how many clocks it filled (0 once done).
pub fn fill_near_breach(conn: &mut DbConn, rules: &SlaRules<'_>) -> Result<usize, WorkflowError> {
    let mut filled = 0;
    loop {
        let batch = crate::db::write_transaction(conn, |conn| -> Result<usize, WorkflowError> {
            let rows: Vec<ClockRow> = sla_clocks::table
                .filter(sla_clocks::near_breach_at.is_null())
                .filter(sla_clocks::met_at.is_null())
                .order(sla_clocks::id.asc())
                .limit(NEAR_BREACH_FILL_BATCH)
                .select(ClockRow::as_select())
                .load(conn)?;
            for row in &rows {
                let stored = StoredClock::try_from(row.clone())?;
                let near = stored
                    .clock
                    .near_breach_instant(rules.sla.near_breach_percent(), rules.calendar);
                diesel::update(
                    sla_clocks::table
                        .find(stored.id)
                        .filter(sla_clocks::near_breach_at.is_null()),
                )
                .set(sla_clocks::near_breach_at.eq(stamp(near)))
                .execute(conn)?;
            }
            Ok(rows.len())
        })?;
        filled += batch;
        if batch < NEAR_BREACH_FILL_BATCH as usize {
            return Ok(filled);
        }
    }
}

/// Fills `elapsed_seconds` on met clocks stored before the column existed (migration
/// `2026-12-10-000100_reports`), with the configured calendar, [`NEAR_BREACH_FILL_BATCH`] clocks per
/// transaction. Until a clock is filled the dashboard leaves it out of its medians. `casebook serve`
/// and `casebook migrate` run it at start; it returns how many clocks it filled (0 once done).
pub fn fill_elapsed(conn: &mut DbConn, rules: &SlaRules<'_>) -> Result<usize, WorkflowError> {
    let mut filled = 0;
    loop {
        let batch = crate::db::write_transaction(conn, |conn| -> Result<usize, WorkflowError> {
            let rows: Vec<ClockRow> = sla_clocks::table
                .filter(sla_clocks::elapsed_seconds.is_null())
                .filter(sla_clocks::met_at.is_not_null())
                .order(sla_clocks::id.asc())
                .limit(NEAR_BREACH_FILL_BATCH)
                .select(ClockRow::as_select())
                .load(conn)?;
            for row in &rows {
                save_elapsed(conn, &StoredClock::try_from(row.clone())?, rules)?;
            }
            Ok(rows.len())
        })?;
        filled += batch;
        if batch < NEAR_BREACH_FILL_BATCH as usize {
            return Ok(filled);
        }
    }
}
