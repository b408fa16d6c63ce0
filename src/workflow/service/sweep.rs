//! The breach sweep: [`breach_sweep`] stores the breach of every running clock past its deadline, with
//! an `sla_breached` event; [`warn_near_breach`] notifies the owner of a case whose running clock is
//! due within [`NEAR_BREACH_WARNING`], once per clock. `casebook serve` runs both ([`sweep`]) every
//! [`BREACH_SWEEP_EVERY`] ([`start_breach_sweeper`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::clocks::{ClockRow, StoredClock};
use super::{ActorRef, WorkflowError, stamp};
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::i18n::Lang;
use crate::workflow::events::{EventData, EventKind, SlaBreached};
use crate::workflow::schema::sla_clocks;

/// Stores `breached_at` on every running clock whose deadline passed before `now`, with an
/// `sla_breached` event per clock, in one transaction. Returns how many breached.
pub fn breach_sweep(conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize, WorkflowError> {
    crate::db::write_transaction(conn, |conn| {
        let rows: Vec<ClockRow> = sla_clocks::table
            .filter(sla_clocks::met_at.is_null())
            .filter(sla_clocks::paused_since.is_null())
            .filter(sla_clocks::breached_at.is_null())
            .filter(sla_clocks::due_at.lt(stamp(now)))
            .select(ClockRow::as_select())
            .load(conn)?;
        let mut breached = 0;
        for row in rows {
            let mut stored = StoredClock::try_from(row)?;
            if !stored.clock.check_breach(now) {
                continue;
            }
            // Conditional, so that of two sweeps (several instances, or a slow tick) only one records
            // the breach: the loser's update finds `breached_at` already set and changes nothing.
            let claimed = diesel::update(
                sla_clocks::table
                    .find(stored.id)
                    .filter(sla_clocks::breached_at.is_null())
                    .filter(sla_clocks::met_at.is_null())
                    .filter(sla_clocks::paused_since.is_null()),
            )
            .set(sla_clocks::breached_at.eq(stored.clock.breached_at.map(stamp)))
            .execute(conn)?;
            if claimed != 1 {
                continue;
            }
            // The note is read in the timeline next to the customer's mail, so it uses their language.
            let lang: Lang = cases::table
                .find(stored.case_id)
                .select(cases::language)
                .first::<String>(conn)?
                .parse()
                .unwrap_or_default();
            let note = stored.clock.metric.label(lang);
            let data = SlaBreached {
                clock_id: stored.id,
                metric: stored.clock.metric,
                due_at: stored.clock.due_at,
            };
            CaseEvent::record(
                conn,
                stored.case_id,
                &NewEvent {
                    actor_label: ActorRef::System.label(),
                    kind: EventKind::SlaBreached,
                    note: Some(note),
                    data: Some(data.to_data()),
                    at: Some(stamp(stored.clock.due_at)),
                    ..Default::default()
                },
            )?;
            breached += 1;
        }
        Ok(breached)
    })
}

/// How long before a running clock's deadline its case's owner is warned: wall-clock time, so the
/// warning comes when there is still an hour to act, even over a weekend.
pub const NEAR_BREACH_WARNING: chrono::Duration = chrono::Duration::hours(1);

/// Most clocks one sweep warns about; the rest wait for the next tick.
pub const WARNINGS_PER_SWEEP: i64 = 500;

/// What one [`sweep`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Clocks warned about (within the hour of their deadline).
    pub warned: usize,
    /// Breaches stored.
    pub breached: usize,
}

/// One tick of the sweeper: [`warn_near_breach`], then [`breach_sweep`].
pub fn sweep(conn: &mut DbConn, now: DateTime<Utc>) -> Result<SweepReport, WorkflowError> {
    let warned = warn_near_breach(conn, now)?;
    let breached = breach_sweep(conn, now)?;
    Ok(SweepReport { warned, breached })
}

/// Notifies the owner — or, on a case nobody owns, the managers — of every running clock due within
/// [`NEAR_BREACH_WARNING`] of `now` (not yet past it) that has not been warned about, and marks the
/// clock warned (`warned_at`), in one transaction: at most once per clock, whatever the priority
/// does to the deadline later. Returns how many clocks were warned about.
pub fn warn_near_breach(conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize, WorkflowError> {
    crate::db::write_transaction(conn, |conn| {
        let due: Vec<(i64, i64, String)> = sla_clocks::table
            .filter(sla_clocks::met_at.is_null())
            .filter(sla_clocks::paused_since.is_null())
            .filter(sla_clocks::breached_at.is_null())
            .filter(sla_clocks::warned_at.is_null())
            .filter(sla_clocks::due_at.ge(stamp(now)))
            .filter(sla_clocks::due_at.le(stamp(now + NEAR_BREACH_WARNING)))
            .order(sla_clocks::due_at.asc())
            .limit(WARNINGS_PER_SWEEP)
            .select((sla_clocks::id, sla_clocks::case_id, sla_clocks::metric))
            .load(conn)?;
        let mut warned = 0;
        for (clock_id, case_id, metric) in due {
            // Conditional, so of two sweeps (several instances) only one warns.
            let claimed = diesel::update(
                sla_clocks::table
                    .find(clock_id)
                    .filter(sla_clocks::warned_at.is_null()),
            )
            .set(sla_clocks::warned_at.eq(Some(stamp(now))))
            .execute(conn)?;
            if claimed != 1 {
                continue;
            }
            let owner: Option<i64> = cases::table
                .find(case_id)
                .select(cases::assignee_id)
                .first(conn)?;
            let recipients = match owner {
                Some(id) => vec![id],
                None => crate::notifications::service::managers(conn)?,
            };
            crate::notifications::notify(
                conn,
                &crate::notifications::Event {
                    kind: crate::notifications::Kind::SlaNearBreach,
                    case_id: Some(case_id),
                    actor_id: None,
                    actor_label: ActorRef::System.label(),
                    detail: Some(&metric),
                    excerpt: None,
                    at: stamp(now),
                },
                &recipients,
            )?;
            warned += 1;
        }
        Ok(warned)
    })
}

/// How often `serve` sweeps for breaches: a minute is far below any SLA target and costs one indexed
/// query when nothing is overdue.
pub const BREACH_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Starts the periodic SLA sweep for this pool ([`spawn_breach_sweeper`] every
/// [`BREACH_SWEEP_EVERY`]); the task runs until the runtime stops.
pub fn start_breach_sweeper(pool: &crate::db::DbPool) {
    // Detached on purpose: the sweep lives as long as the server's runtime.
    drop(spawn_breach_sweeper(pool.clone(), BREACH_SWEEP_EVERY));
}

/// Runs [`sweep`] (near-breach warnings, then breaches) every `every` on the blocking pool until the runtime stops; failures are
/// logged and retried on the next tick. Started once by `casebook serve` (`cli::serve`); needs a Tokio
/// runtime.
pub fn spawn_breach_sweeper(
    pool: crate::db::DbPool,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let pool = pool.clone();
            let result = tokio::task::spawn_blocking(move || -> anyhow::Result<SweepReport> {
                let mut conn = pool.get()?;
                Ok(sweep(&mut conn, Utc::now())?)
            })
            .await;
            match result {
                Ok(Ok(report)) if report == SweepReport::default() => {}
                Ok(Ok(report)) => tracing::info!(
                    warned = report.warned,
                    breached = report.breached,
                    "SLA sweep"
                ),
                Ok(Err(e)) => tracing::error!(error = ?e, "SLA breach sweep failed"),
                Err(e) => tracing::error!(error = %e, "SLA breach sweep task failed"),
            }
        }
    })
}
