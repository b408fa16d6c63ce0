//! The transition operation behind the workflow form (`POST /cases/{number}/transition`) and the
//! API (`POST /api/v1/cases/{number}/transitions`): [`take_transition`] takes a
//! [`TransitionCommand`], checks it against the transition table, writes the transition
//! ([`super::transition`]), queues the mail the row sends the customer (definition and scope, a
//! question, the resolution, the summary — the last two unless switched off), meets the response
//! clocks that mail answers, and returns what happened or a typed refusal.
//!
//! Like `mail::reply::send`, the slow part — composing the mail and storing its blob — runs before
//! the write transaction; inside it, under the case's write lock, the same checks run again and the
//! rows are written. If the customer wrote meanwhile (the mail would answer an older message) or
//! the texts the mail is made from changed, it is composed again, at most three times.

use crate::workflow::events::EventData;
use chrono::{DateTime, Utc};

use super::clocks::meet_clocks;
use super::pending_mail::{PendingMail, subject_kind};
use super::summaries::recount_latest_summary;
use super::transition::{Applied, Move, apply, choose};
use super::{ActorRef, CaseKey, SlaRules, WorkflowError, find_case, stamp};
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::config::Config;
use crate::db::DbConn;
use crate::db::blobs::BlobStore;
use crate::mail::outbox;
use crate::workflow::sla::SlaMetric;
use crate::workflow::transitions::{Transition, TransitionInput};

/// How often composing is repeated when the case changed while the mail was composed.
const COMPOSE_ATTEMPTS: usize = 3;

/// What a door asks for: who moves which case, how, with which texts, when.
#[derive(Debug, Clone)]
pub struct TransitionCommand<'a> {
    /// The case.
    pub case: CaseKey<'a>,
    /// Who acts.
    pub actor: ActorRef,
    /// The action pressed, or the target state.
    pub how: Move,
    /// The texts, and whether to send the optional customer mail.
    pub input: TransitionInput,
    /// When.
    pub at: DateTime<Utc>,
}

/// The mail `transition` sends the customer of `case` with `input`, if any.
fn mail_for(
    transition: &Transition,
    case: &Case,
    input: &TransitionInput,
) -> Result<Option<PendingMail>, WorkflowError> {
    transition
        .customer_mail(input)
        .map(|kind| PendingMail::new(kind, case, input))
        .transpose()
}

/// Takes the transition with its customer mail; see the module documentation. A refusal changes
/// nothing.
pub fn take_transition(
    conn: &mut DbConn,
    blobs: &BlobStore,
    cfg: &Config,
    cmd: &TransitionCommand<'_>,
) -> Result<Applied, WorkflowError> {
    let rules = SlaRules::from_config(cfg);
    for _ in 0..COMPOSE_ATTEMPTS {
        // Outside the write transaction: refuse early, and compose the mail.
        let case = find_case(conn, cmd.case)?;
        let transition = choose(&case, cmd.how, &cmd.actor, &cmd.input)?;
        let mail = mail_for(transition, &case, &cmd.input)?;
        let prepared = match &mail {
            Some(m) => Some(
                outbox::prepare_customer_mail(
                    conn,
                    blobs,
                    cfg,
                    &case,
                    subject_kind(&m.kind),
                    &m.text,
                )
                .map_err(WorkflowError::Mail)?,
            ),
            None => None,
        };
        let outcome = crate::db::write_transaction(conn, |conn| {
            let case = find_case(conn, cmd.case)?;
            // Of two submissions of one form (a double click), the second waits here and is then
            // refused as stale.
            Case::lock(conn, case.id)?;
            let transition = choose(&case, cmd.how, &cmd.actor, &cmd.input)?;
            if mail_for(transition, &case, &cmd.input)? != mail {
                return Ok(None);
            }
            if let Some(p) = &prepared {
                let (anchor, _) = outbox::thread_anchor(conn, case.id)?;
                if anchor.as_deref() != p.in_reply_to() {
                    return Ok(None);
                }
            }
            let applied = apply(
                conn, &case, transition, &cmd.actor, &cmd.input, cmd.at, &rules,
            )?;
            if let (Some(p), Some(m)) = (&prepared, &mail) {
                let queued = outbox::record_prepared(conn, cfg, Some(&case), p)
                    .map_err(WorkflowError::Mail)?;
                CaseEvent::record(
                    conn,
                    case.id,
                    &NewEvent {
                        actor_label: "casebook",
                        kind: crate::workflow::events::EventKind::CustomerMailQueued,
                        note: Some(&m.kind),
                        // The transition that asked for this mail recorded its request just now.
                        data: Some(
                            crate::workflow::events::CustomerMailQueued {
                                event_id: applied.customer_mail_event.unwrap_or_default(),
                                message_id: queued.message_id.clone(),
                            }
                            .to_data(),
                        ),
                        at: Some(stamp(cmd.at)),
                        ..NewEvent::default()
                    },
                )?;
                if m.kind == "summary" {
                    recount_latest_summary(conn, case.id)?;
                }
                // A mail to the customer answers them, whatever it is: the definition and scope
                // (in the seed thread, the first reply), a question, the resolution, the summary.
                meet_clocks(
                    conn,
                    case.id,
                    &[SlaMetric::FirstResponse, SlaMetric::NextResponse],
                    cmd.at,
                    &rules,
                )?;
            }
            Ok::<_, WorkflowError>(Some(applied))
        })?;
        if let Some(applied) = outcome {
            return Ok(applied);
        }
    }
    Err(WorkflowError::Mail(anyhow::anyhow!(
        "the case kept changing while its mail was composed; try again"
    )))
}
