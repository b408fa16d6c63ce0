//! The breach sweep: [`breach_sweep`] stores the breach of every running clock past its deadline, with
//! an `sla_breached` event; `casebook serve` runs it every [`BREACH_SWEEP_EVERY`]
//! ([`start_breach_sweeper`]).

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

/// How often `serve` sweeps for breaches: a minute is far below any SLA target and costs one indexed
/// query when nothing is overdue.
pub const BREACH_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Starts the periodic breach sweep for this pool ([`spawn_breach_sweeper`] every
/// [`BREACH_SWEEP_EVERY`]); the task runs until the runtime stops.
pub fn start_breach_sweeper(pool: &crate::db::DbPool) {
    // Detached on purpose: the sweep lives as long as the server's runtime.
    drop(spawn_breach_sweeper(pool.clone(), BREACH_SWEEP_EVERY));
}

/// Runs [`breach_sweep`] every `every` on the blocking pool until the runtime stops; failures are
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
            let result = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut conn = pool.get()?;
                Ok(breach_sweep(&mut conn, Utc::now())?)
            })
            .await;
            match result {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(breached = n, "SLA breach sweep"),
                Ok(Err(e)) => tracing::error!(error = ?e, "SLA breach sweep failed"),
                Err(e) => tracing::error!(error = %e, "SLA breach sweep task failed"),
            }
        }
    })
}
