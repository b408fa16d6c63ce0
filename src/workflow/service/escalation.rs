//! Escalations to engineering and the engineering queue: where an escalation goes (`resolve_target`),
//! opening and ending one (for the escalate and hand-back transitions and for imported history), the
//! escalations of a case, and [`engineering_queue`], the cases waiting on an engineer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{ENGINEERING_TEAM, WorkflowError, invalid};
use crate::auth::{Role, User};
use crate::cases::Case;
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::workflow::schema::escalations;
use crate::workflow::state::CaseState;
use crate::workflow::transitions::{Requirement, TransitionInput};

/// Where an escalation goes, resolved from the form's `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// The team or engineer as shown.
    pub(super) label: String,
    /// The team whose queue shows it.
    pub(super) team: Option<String>,
    /// The named engineer, if any.
    pub(super) user_id: Option<i64>,
}

/// Accepts `team:NAME`, `user:ID`, an engineer's email address, or a bare team name (`engineering`).
pub(super) fn resolve_target(conn: &mut DbConn, text: &str) -> Result<Target, WorkflowError> {
    let text = text.trim();
    let engineer = |user: Option<User>, asked: &str| match user {
        Some(u) if u.role() == Role::Engineer && !u.disabled => Ok(Target {
            label: u.name.clone(),
            team: Some(u.team.clone().unwrap_or_else(|| ENGINEERING_TEAM.into())),
            user_id: Some(u.id),
        }),
        _ => Err(invalid(
            "workflow.error.unknown_engineer",
            format!("no active engineer {asked:?}"),
        )),
    };
    if let Some(id) = text.strip_prefix("user:") {
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| invalid("workflow.error.unknown_engineer", text))?;
        let user = User::find_by_id(conn, id)?;
        return engineer(user, text);
    }
    if text.contains('@') {
        let user = User::find_by_email(conn, text)?;
        return engineer(user, text);
    }
    let team = text.strip_prefix("team:").unwrap_or(text).trim();
    if team.is_empty() {
        return Err(invalid("workflow.error.unknown_engineer", text));
    }
    Ok(Target {
        label: team.to_string(),
        team: Some(team.to_string()),
        user_id: None,
    })
}

/// Opens an escalation of the case to the target `input` names, with its reason and what support
/// tried, and hands the case to the target's team. `created_by` is `None` for imported history (the
/// transcript names no account). Returns where it went.
pub(super) fn open_escalation(
    conn: &mut DbConn,
    case_id: i64,
    input: &TransitionInput,
    created_by: Option<i64>,
    when: NaiveDateTime,
) -> Result<Target, WorkflowError> {
    let target = resolve_target(conn, input.get(Requirement::Target).unwrap_or(""))?;
    diesel::insert_into(escalations::table)
        .values((
            escalations::case_id.eq(case_id),
            escalations::target.eq(&target.label),
            escalations::target_team.eq(&target.team),
            escalations::target_user_id.eq(target.user_id),
            escalations::reason.eq(input.get(Requirement::Reason).unwrap_or("")),
            escalations::tried.eq(input.get(Requirement::Tried).unwrap_or("")),
            escalations::created_by.eq(created_by),
            escalations::created_at.eq(when),
        ))
        .execute(conn)?;
    diesel::update(cases::table.find(case_id))
        .set(cases::team.eq(&target.team))
        .execute(conn)?;
    Ok(target)
}

/// Who an escalation to `target` is for: the named engineer, else the active engineers of its team
/// (engineers without a team are in [`ENGINEERING_TEAM`]), at most
/// [`crate::notifications::service::MAX_RECIPIENTS`], oldest account first.
pub(super) fn engineers_for(conn: &mut DbConn, target: &Target) -> Result<Vec<i64>, WorkflowError> {
    use crate::db::schema::users;
    if let Some(id) = target.user_id {
        return Ok(vec![id]);
    }
    let Some(team) = target.team.as_deref() else {
        return Ok(Vec::new());
    };
    let mut query = users::table
        .filter(users::role.eq(Role::Engineer.as_str()))
        .filter(users::disabled.eq(false))
        .order(users::id.asc())
        .limit(crate::notifications::service::MAX_RECIPIENTS as i64)
        .select(users::id)
        .into_boxed();
    query = if team == ENGINEERING_TEAM {
        query.filter(users::team.eq(team).or(users::team.is_null()))
    } else {
        query.filter(users::team.eq(team))
    };
    Ok(query.load(conn)?)
}

/// Ends the case's open escalation without findings (the case left `escalated` some other way than a
/// hand-back: resolved, archived, or so imported) and takes the case off the team: it leaves the
/// engineers' queue.
pub(super) fn end_open_escalation(
    conn: &mut DbConn,
    case_id: i64,
    when: NaiveDateTime,
) -> Result<(), WorkflowError> {
    diesel::update(
        escalations::table
            .filter(escalations::case_id.eq(case_id))
            .filter(escalations::closed_at.is_null()),
    )
    .set(escalations::closed_at.eq(Some(when)))
    .execute(conn)?;
    diesel::update(cases::table.find(case_id))
        .set(cases::team.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

/// One escalation of a case to engineering.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = escalations)]
pub struct Escalation {
    /// Row id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Team name or engineer's name, as shown.
    pub target: String,
    /// The team whose queue shows it.
    pub target_team: Option<String>,
    /// The named engineer, if any.
    pub target_user_id: Option<i64>,
    /// Why it was escalated.
    pub reason: String,
    /// What support tried first.
    pub tried: String,
    /// What engineering found (set on hand-back).
    pub findings: Option<String>,
    /// Who escalated.
    pub created_by: Option<i64>,
    /// When.
    pub created_at: NaiveDateTime,
    /// When engineering handed it back.
    pub handed_back_at: Option<NaiveDateTime>,
    /// Who handed it back.
    pub handed_back_by: Option<i64>,
    /// When it left the queue (hand-back, or the case was resolved or archived while escalated).
    pub closed_at: Option<NaiveDateTime>,
}

/// Escalations of a case, oldest first.
pub fn escalations_of(conn: &mut DbConn, case_id: i64) -> Result<Vec<Escalation>, WorkflowError> {
    Ok(escalations::table
        .filter(escalations::case_id.eq(case_id))
        .order(escalations::id.asc())
        .select(Escalation::as_select())
        .load(conn)?)
}

/// A case in the engineering queue with its open escalation.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// The case.
    pub case: Case,
    /// Why and by whom it was escalated.
    pub escalation: Escalation,
}

/// Escalated cases waiting on engineering, oldest escalation first. An engineer sees those escalated to
/// them by name and those escalated to their team (engineers without a team belong to
/// [`ENGINEERING_TEAM`]); managers and admins see every open escalation; agents see none.
pub fn engineering_queue(conn: &mut DbConn, user: &User) -> Result<Vec<QueueItem>, WorkflowError> {
    let mut query = escalations::table
        .inner_join(cases::table)
        .filter(escalations::closed_at.is_null())
        .filter(cases::state.eq(CaseState::Escalated.as_str()))
        .select((Escalation::as_select(), Case::as_select()))
        .order(escalations::created_at.asc())
        .into_boxed();
    match user.role() {
        Role::Admin | Role::Manager => {}
        Role::Engineer => {
            let team = user
                .team
                .clone()
                .unwrap_or_else(|| ENGINEERING_TEAM.to_string());
            query = query.filter(
                escalations::target_user_id
                    .eq(user.id)
                    .or(escalations::target_user_id
                        .is_null()
                        .and(escalations::target_team.eq(team))),
            );
        }
        Role::Agent => return Ok(Vec::new()),
    }
    let rows: Vec<(Escalation, Case)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(escalation, case)| QueueItem { case, escalation })
        .collect())
}
