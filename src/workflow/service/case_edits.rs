//! Changes to a case outside the transition table, by staff who work cases: the owner ([`assign`]), the
//! priority ([`set_priority`], which re-targets the open SLA clocks) and corrections to the problem
//! definition or scope ([`edit_text`]), and the title ([`edit_title`]). Each records its own event.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::clocks::{clocks, save_clock};
use super::{ActorRef, CaseKey, SlaRules, WorkflowError, find_case, invalid, priority_of, stamp};
use crate::auth::User;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::workflow::events::{Assigned, EventData, EventKind, PriorityChanged, TitleChanged};
use crate::workflow::state::Priority;

/// Makes `assignee` (an active account) the owner of the case, or nobody with `None`. Records an
/// `assigned` event and notifies the new owner (not when they assigned themselves). Returns `false`
/// (and records nothing) when the owner is unchanged.
pub fn assign<'a>(
    conn: &mut DbConn,
    case: impl Into<CaseKey<'a>>,
    actor: &ActorRef,
    assignee: Option<i64>,
    at: DateTime<Utc>,
) -> Result<bool, WorkflowError> {
    if !actor.works_cases() {
        return Err(WorkflowError::Forbidden);
    }
    let key = case.into();
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, key)?;
        if case.assignee_id == assignee {
            return Ok(false);
        }
        let name = match assignee {
            None => None,
            Some(id) => match User::find_by_id(conn, id)? {
                Some(u) if !u.disabled => Some(u.name),
                _ => {
                    return Err(invalid(
                        "workflow.error.unknown_user",
                        format!("no active account {id}"),
                    ));
                }
            },
        };
        let when = stamp(at);
        diesel::update(cases::table.find(case.id))
            .set((
                cases::assignee_id.eq(assignee),
                cases::updated_at.eq(crate::db::now()),
                cases::last_activity_at.eq(when),
            ))
            .execute(conn)?;
        CaseEvent::record(
            conn,
            case.id,
            &NewEvent {
                actor_id: actor.id(),
                actor_label: actor.label(),
                kind: EventKind::Assigned,
                note: name.as_deref(),
                data: Some(
                    Assigned {
                        from: case.assignee_id,
                        to: assignee,
                    }
                    .to_data(),
                ),
                at: Some(when),
                ..Default::default()
            },
        )?;
        // The new owner hears of it (unless they took the case themselves).
        crate::notifications::notify(
            conn,
            &crate::notifications::Event {
                kind: crate::notifications::Kind::Assigned,
                case_id: Some(case.id),
                actor_id: actor.id(),
                actor_label: actor.label(),
                detail: None,
                excerpt: None,
                at: when,
            },
            &assignee.into_iter().collect::<Vec<_>>(),
        )?;
        Ok(true)
    })
}

/// Changes the priority and re-targets the open SLA clocks: an open clock's deadline becomes its start
/// plus the new target plus the time it spent paused, so raising the priority tightens it at once. A
/// breach already stored stays. Returns `false` when the priority is unchanged.
pub fn set_priority<'a>(
    conn: &mut DbConn,
    case: impl Into<CaseKey<'a>>,
    actor: &ActorRef,
    priority: Priority,
    at: DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<bool, WorkflowError> {
    if !actor.works_cases() {
        return Err(WorkflowError::Forbidden);
    }
    let key = case.into();
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, key)?;
        let old = priority_of(&case)?;
        if old == priority {
            return Ok(false);
        }
        let when = stamp(at);
        diesel::update(cases::table.find(case.id))
            .set((
                cases::priority.eq(priority.as_str()),
                cases::updated_at.eq(crate::db::now()),
                cases::last_activity_at.eq(when),
            ))
            .execute(conn)?;
        let targets = rules.sla.targets(priority);
        for mut stored in clocks(conn, case.id)? {
            if stored.clock.met_at.is_some() {
                continue;
            }
            let metric = stored.clock.metric;
            stored.clock.retarget(
                targets.get(metric),
                rules.sla.near_breach_percent(),
                at,
                rules.calendar,
            );
            save_clock(conn, &stored)?;
        }
        let note = format!("{old} → {priority}");
        CaseEvent::record(
            conn,
            case.id,
            &NewEvent {
                actor_id: actor.id(),
                actor_label: actor.label(),
                kind: EventKind::PriorityChanged,
                note: Some(&note),
                data: Some(
                    PriorityChanged {
                        from: old,
                        to: priority,
                    }
                    .to_data(),
                ),
                at: Some(when),
                ..Default::default()
            },
        )?;
        Ok(true)
    })
}

/// Which recorded text [`edit_text`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseText {
    /// 问题定义.
    Definition,
    /// 问题范围.
    Scope,
}

impl CaseText {
    /// The form and API name (`definition`, `scope`).
    pub fn as_str(self) -> &'static str {
        match self {
            CaseText::Definition => "definition",
            CaseText::Scope => "scope",
        }
    }
}

impl std::str::FromStr for CaseText {
    type Err = WorkflowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "definition" => Ok(CaseText::Definition),
            "scope" => Ok(CaseText::Scope),
            other => Err(invalid(
                "workflow.error.bad_field",
                format!("unknown field {other:?}"),
            )),
        }
    }
}

/// Corrects the problem definition or scope without changing the state; records
/// `definition_changed` / `scope_changed` with the new text. Blank text is refused.
pub fn edit_text<'a>(
    conn: &mut DbConn,
    case: impl Into<CaseKey<'a>>,
    actor: &ActorRef,
    field: CaseText,
    text: &str,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    if !actor.works_cases() {
        return Err(WorkflowError::Forbidden);
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("workflow.error.blank", "blank text"));
    }
    let key = case.into();
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, key)?;
        let when = stamp(at);
        let this = cases::table.find(case.id);
        let kind = match field {
            CaseText::Definition => {
                diesel::update(this)
                    .set(cases::problem_definition.eq(text))
                    .execute(conn)?;
                EventKind::DefinitionChanged
            }
            CaseText::Scope => {
                diesel::update(this)
                    .set(cases::scope.eq(text))
                    .execute(conn)?;
                EventKind::ScopeChanged
            }
        };
        diesel::update(this)
            .set((
                cases::updated_at.eq(crate::db::now()),
                cases::last_activity_at.eq(when),
            ))
            .execute(conn)?;
        CaseEvent::record(
            conn,
            case.id,
            &NewEvent {
                actor_id: actor.id(),
                actor_label: actor.label(),
                kind,
                note: Some(text),
                at: Some(when),
                ..Default::default()
            },
        )?;
        Ok(())
    })
}

/// Longest title [`edit_title`] accepts, in characters: a title is one line of a list; the
/// subject a mail opened the case with may be longer and is kept on its message.
pub const MAX_TITLE_CHARS: usize = 300;

/// A title as typed, made one line: runs of whitespace (line breaks and tabs included) become one
/// space, and control characters go. `None` when nothing is left.
pub fn clean_title(raw: &str) -> Option<String> {
    let one_line = raw
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!one_line.is_empty()).then_some(one_line)
}

/// Renames the case: the title shown in lists, on the case page and in the subject of new mail.
/// Blank and over-long titles are refused; returns `false` (and records nothing) when the title
/// is unchanged. Records `title_changed` with the old and new title.
pub fn edit_title<'a>(
    conn: &mut DbConn,
    case: impl Into<CaseKey<'a>>,
    actor: &ActorRef,
    title: &str,
    at: DateTime<Utc>,
) -> Result<bool, WorkflowError> {
    if !actor.works_cases() {
        return Err(WorkflowError::Forbidden);
    }
    let title = clean_title(title).ok_or_else(|| invalid("workflow.error.blank", "blank title"))?;
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(invalid(
            "workflow.error.title_too_long",
            format!("title of {} characters", title.chars().count()),
        ));
    }
    let key = case.into();
    crate::db::write_transaction(conn, |conn| {
        let case = find_case(conn, key)?;
        if case.title == title {
            return Ok(false);
        }
        let when = stamp(at);
        diesel::update(cases::table.find(case.id))
            .set((
                cases::title.eq(&title),
                cases::updated_at.eq(crate::db::now()),
                cases::last_activity_at.eq(when),
            ))
            .execute(conn)?;
        CaseEvent::record(
            conn,
            case.id,
            &NewEvent {
                actor_id: actor.id(),
                actor_label: actor.label(),
                kind: EventKind::TitleChanged,
                note: Some(&title),
                data: Some(
                    TitleChanged {
                        from: case.title.clone(),
                        to: title.clone(),
                    }
                    .to_data(),
                ),
                at: Some(when),
                ..Default::default()
            },
        )?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_made_one_line_and_blank_ones_are_nothing() {
        assert_eq!(
            clean_title("  离线激活\n失败\t(SN)  ").as_deref(),
            Some("离线激活 失败 (SN)")
        );
        assert_eq!(clean_title(" \n\t "), None);
        assert_eq!(clean_title("a\u{7}b").as_deref(), Some("ab"));
    }

    #[test]
    fn editable_texts_parse_from_the_form() {
        assert_eq!(
            "definition".parse::<CaseText>().unwrap(),
            CaseText::Definition
        );
        assert_eq!(" scope ".parse::<CaseText>().unwrap(), CaseText::Scope);
        assert!(matches!(
            "resolution".parse::<CaseText>(),
            Err(WorkflowError::Invalid {
                key: "workflow.error.bad_field",
                ..
            })
        ));
    }
}
