//! What mail does to a case's workflow: a customer message arriving ([`customer_wrote`]: back to
//! `investigating` or reopened, and a next-response clock) and a reply handed to the outbox
//! ([`reply_sent`]: response clocks met). Called by ingest and by the outbound module.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::clocks::{insert_clock, meet_clocks};
use super::transition::apply;
use super::{
    ActorRef, Applied, CaseKey, SlaRules, WorkflowError, find_case, priority_of, state_of, texts,
};
use crate::db::DbConn;
use crate::i18n::Lang;
use crate::workflow::schema::sla_clocks;
use crate::workflow::sla::SlaMetric;
use crate::workflow::state::CaseState;
use crate::workflow::transitions::{Actor, TransitionInput, check};

/// A reply reached the customer at `at` (call when the outbound module hands it to the outbox): meets
/// the open first-response and next-response clocks. Internal notes and mail to engineering must not
/// call this. Returns how many clocks were met.
pub fn reply_sent(
    conn: &mut DbConn,
    case_id: i64,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<usize, WorkflowError> {
    crate::db::write_transaction(conn, |conn| {
        meet_clocks(
            conn,
            case_id,
            &[SlaMetric::FirstResponse, SlaMetric::NextResponse],
            at,
            rules,
        )
    })
}

/// What [`customer_wrote`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerWrote {
    /// The transition taken (customer replied, or reopen), if the state changed.
    pub transition: Option<Applied>,
    /// Whether a next-response clock was started.
    pub next_response_started: bool,
}

/// A customer message (not an automatic reply) arrived at `at`. As the System actor: a case waiting on
/// the customer goes back to `investigating`; a resolved or archived case is reopened (the note says
/// the customer wrote again). Then a next-response clock starts unless a response clock is already
/// open — the oldest unanswered message sets the deadline. The case's owner (and the engineer it is
/// escalated to by name) is notified.
pub fn customer_wrote(
    conn: &mut DbConn,
    case_id: i64,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<CustomerWrote, WorkflowError> {
    crate::db::write_transaction(conn, |conn| customer_wrote_in(conn, case_id, at, rules))
}

/// [`customer_wrote`] inside the caller's transaction, without a savepoint of its own: for bulk
/// ingest, whose batch transaction rolls back whole when this fails.
pub fn customer_wrote_in(
    conn: &mut DbConn,
    case_id: i64,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<CustomerWrote, WorkflowError> {
    let case = find_case(conn, CaseKey::Id(case_id))?;
    let lang: Lang = case.language.parse().unwrap_or_default();
    let t = texts(lang)?;
    let input = TransitionInput {
        reason: Some(t("workflow.note.customer_wrote_again").to_string()),
        ..Default::default()
    };
    let transition = match state_of(&case)? {
        from @ (CaseState::WaitingOnCustomer | CaseState::Resolved | CaseState::Archived) => {
            let t = check(from, CaseState::Investigating, Actor::System, &input)?;
            Some(apply(conn, &case, t, &ActorRef::System, &input, at, rules)?)
        }
        _ => None,
    };
    notify_customer_wrote(conn, &case, at)?;
    let open_response: bool = crate::db::conn::on_backend!(conn, c => diesel::select(
        diesel::dsl::exists(
            sla_clocks::table
                .filter(sla_clocks::case_id.eq(case_id))
                .filter(sla_clocks::met_at.is_null())
                .filter(
                    sla_clocks::metric
                        .eq(SlaMetric::FirstResponse.as_str())
                        .or(sla_clocks::metric.eq(SlaMetric::NextResponse.as_str())),
                ),
        )
    )
    .get_result(c))?;
    let next_response_started = !open_response;
    if next_response_started {
        let state = match &transition {
            Some(applied) => applied.to,
            None => state_of(&case)?,
        };
        let mut clock = rules.sla.start_clock(
            SlaMetric::NextResponse,
            priority_of(&case)?,
            at,
            rules.calendar,
        );
        clock.sync_with_state(state, at, rules.calendar);
        insert_clock(conn, case_id, &clock)?;
    }
    Ok(CustomerWrote {
        transition,
        next_response_started,
    })
}

/// Tells the case's owner, and the engineer it is escalated to by name, that the customer wrote,
/// quoting the start of the newest customer message. Costs nothing on a case nobody owns.
fn notify_customer_wrote(
    conn: &mut DbConn,
    case: &crate::cases::Case,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    use crate::db::schema::messages;
    use crate::workflow::schema::escalations;
    let mut recipients: Vec<i64> = case.assignee_id.into_iter().collect();
    if case.state == CaseState::Escalated {
        let engineers: Vec<Option<i64>> = escalations::table
            .filter(escalations::case_id.eq(case.id))
            .filter(escalations::closed_at.is_null())
            .select(escalations::target_user_id)
            .load(conn)?;
        recipients.extend(engineers.into_iter().flatten());
    }
    if recipients.is_empty() {
        return Ok(());
    }
    let words: Option<String> = messages::table
        .filter(messages::case_id.eq(case.id))
        .filter(messages::direction.eq(crate::cases::messages::INBOUND))
        .filter(messages::auto.eq(false))
        .order(messages::id.desc())
        .select(messages::new_text)
        .first(conn)
        .optional()?;
    let customer = case
        .customer_name
        .as_deref()
        .unwrap_or(&case.customer_email);
    crate::notifications::notify(
        conn,
        &crate::notifications::Event {
            kind: crate::notifications::Kind::CustomerReplied,
            case_id: Some(case.id),
            actor_id: None,
            actor_label: customer,
            detail: None,
            excerpt: words.as_deref(),
            at: super::stamp(at),
        },
        &recipients,
    )?;
    Ok(())
}
