//! A case's timeline compressed to its milestones — created, first response, defined, scoped,
//! escalated, handed back, resolved, archived, reopened — with the time between each and the one
//! before, on the clock and in business time.
//!
//! Pure: the service reads the instants (the case's creation, the first-response SLA clock, the
//! `transition` events) and [`compress`] orders them and measures the gaps. A milestone is a
//! change of state, so it is recognised by its states, never by the free text of an event: a
//! hand-back is the only way from `escalated` to `investigating`, a reopen the only way from
//! `resolved` or `archived` to it (see the transition table in `workflow::transitions`).

use chrono::{DateTime, Duration, Utc};

use crate::workflow::business_hours::BusinessCalendar;
use crate::workflow::state::CaseState;

/// The kinds of milestone, in the order they are shown when two share an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MilestoneKind {
    /// The case was opened (its first message).
    Created,
    /// The first reply to the customer: the first-response SLA clock met.
    FirstResponse,
    /// The problem definition was written (`new` → `defined`).
    Defined,
    /// The scope was agreed (`defined` → `scoped`).
    Scoped,
    /// Handed to engineering.
    Escalated,
    /// Engineering handed it back with findings.
    HandedBack,
    /// A resolution was recorded.
    Resolved,
    /// Archived with a summary.
    Archived,
    /// Opened again after it was resolved or archived.
    Reopened,
}

impl MilestoneKind {
    /// Every kind, in display order.
    pub const ALL: [MilestoneKind; 9] = [
        MilestoneKind::Created,
        MilestoneKind::FirstResponse,
        MilestoneKind::Defined,
        MilestoneKind::Scoped,
        MilestoneKind::Escalated,
        MilestoneKind::HandedBack,
        MilestoneKind::Resolved,
        MilestoneKind::Archived,
        MilestoneKind::Reopened,
    ];

    /// A stable name (CSS classes, tests).
    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneKind::Created => "created",
            MilestoneKind::FirstResponse => "first_response",
            MilestoneKind::Defined => "defined",
            MilestoneKind::Scoped => "scoped",
            MilestoneKind::Escalated => "escalated",
            MilestoneKind::HandedBack => "handed_back",
            MilestoneKind::Resolved => "resolved",
            MilestoneKind::Archived => "archived",
            MilestoneKind::Reopened => "reopened",
        }
    }

    /// The message-catalogue key of its label.
    pub fn label_key(self) -> &'static str {
        match self {
            MilestoneKind::Created => "summaries.milestone.created",
            MilestoneKind::FirstResponse => "summaries.milestone.first_response",
            MilestoneKind::Defined => "summaries.milestone.defined",
            MilestoneKind::Scoped => "summaries.milestone.scoped",
            MilestoneKind::Escalated => "summaries.milestone.escalated",
            MilestoneKind::HandedBack => "summaries.milestone.handed_back",
            MilestoneKind::Resolved => "summaries.milestone.resolved",
            MilestoneKind::Archived => "summaries.milestone.archived",
            MilestoneKind::Reopened => "summaries.milestone.reopened",
        }
    }

    /// The milestone a state change is, if any. Moves between the working states (investigate,
    /// ask the customer, the customer replied) are the work itself, not milestones.
    pub fn of_transition(from: Option<CaseState>, to: CaseState) -> Option<MilestoneKind> {
        use CaseState::*;
        Some(match (from, to) {
            (_, Defined) => MilestoneKind::Defined,
            (_, Scoped) => MilestoneKind::Scoped,
            (_, Escalated) => MilestoneKind::Escalated,
            (Some(Escalated), Investigating) => MilestoneKind::HandedBack,
            (_, Resolved) => MilestoneKind::Resolved,
            (_, Archived) => MilestoneKind::Archived,
            (Some(Resolved | Archived), Investigating) => MilestoneKind::Reopened,
            _ => return None,
        })
    }
}

/// A recorded state change, as the service reads it from a `transition` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    /// The state before (absent on events that did not record it).
    pub from: Option<CaseState>,
    /// The state after.
    pub to: CaseState,
    /// When.
    pub at: DateTime<Utc>,
}

/// One milestone and the time since the one before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    /// What happened.
    pub kind: MilestoneKind,
    /// When.
    pub at: DateTime<Utc>,
    /// Wall-clock time since the previous milestone (`None` for the first).
    pub since_previous: Option<Duration>,
    /// Business time (the SLA calendar's working hours) since the previous milestone.
    pub business_since_previous: Option<Duration>,
}

/// A case's milestones in time order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timeline {
    /// The milestones, oldest first.
    pub milestones: Vec<Milestone>,
    /// More state changes were recorded than the page shows ([`super::MAX_MILESTONES`]).
    pub truncated: bool,
}

impl Timeline {
    /// The first milestone of `kind`.
    pub fn first(&self, kind: MilestoneKind) -> Option<&Milestone> {
        self.milestones.iter().find(|m| m.kind == kind)
    }

    /// The last milestone of `kind`.
    pub fn last(&self, kind: MilestoneKind) -> Option<&Milestone> {
        self.milestones.iter().rev().find(|m| m.kind == kind)
    }

    /// How many milestones of `kind` there are.
    pub fn count(&self, kind: MilestoneKind) -> usize {
        self.milestones.iter().filter(|m| m.kind == kind).count()
    }

    /// Business time from the case's creation to its first response.
    pub fn business_to_first_response(&self, calendar: &BusinessCalendar) -> Option<Duration> {
        self.business_from_creation(MilestoneKind::FirstResponse, calendar)
    }

    /// Business time from the case's creation to its first resolution — or to its archiving, for a
    /// case archived without being resolved first.
    pub fn business_to_resolution(&self, calendar: &BusinessCalendar) -> Option<Duration> {
        let end = self
            .milestones
            .iter()
            .find(|m| matches!(m.kind, MilestoneKind::Resolved | MilestoneKind::Archived))?;
        let created = self.first(MilestoneKind::Created)?;
        Some(calendar.business_duration_between(created.at, end.at))
    }

    fn business_from_creation(
        &self,
        kind: MilestoneKind,
        calendar: &BusinessCalendar,
    ) -> Option<Duration> {
        let created = self.first(MilestoneKind::Created)?;
        let end = self.first(kind)?;
        Some(calendar.business_duration_between(created.at, end.at))
    }
}

/// Orders a case's milestones and measures the gaps between them.
///
/// `changes` are the case's recorded state changes, any order; those that are no milestone
/// ([`MilestoneKind::of_transition`]) are left out. Milestones at the same instant keep the order
/// of [`MilestoneKind`] (a case created and answered in the same second reads "created, first
/// response"), so the result does not depend on the order of the input.
pub fn compress(
    created: DateTime<Utc>,
    first_response: Option<DateTime<Utc>>,
    changes: &[StateChange],
    calendar: &BusinessCalendar,
) -> Vec<Milestone> {
    let mut points: Vec<(DateTime<Utc>, MilestoneKind)> = vec![(created, MilestoneKind::Created)];
    if let Some(at) = first_response {
        points.push((at, MilestoneKind::FirstResponse));
    }
    points.extend(
        changes
            .iter()
            .filter_map(|c| MilestoneKind::of_transition(c.from, c.to).map(|k| (c.at, k))),
    );
    points.sort();
    let mut out: Vec<Milestone> = Vec::with_capacity(points.len());
    for (at, kind) in points {
        let previous = out.last().map(|m| m.at);
        out.push(Milestone {
            kind,
            at,
            since_previous: previous.map(|p| (at - p).max(Duration::zero())),
            business_since_previous: previous.map(|p| calendar.business_duration_between(p, at)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseState::*;
    use chrono::TimeZone;

    /// The default calendar: Asia/Shanghai, Monday to Friday, 09:00–18:00.
    fn calendar() -> BusinessCalendar {
        BusinessCalendar::default()
    }

    /// A Shanghai wall-clock time as UTC (2026-11-02 is a Monday).
    fn sh(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 11, day, hour, minute, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A milestone as compared: kind, instant, gap on the clock, gap in business time.
    type Row = (
        MilestoneKind,
        DateTime<Utc>,
        Option<Duration>,
        Option<Duration>,
    );

    fn change(from: CaseState, to: CaseState, at: DateTime<Utc>) -> StateChange {
        StateChange {
            from: Some(from),
            to,
            at,
        }
    }

    #[test]
    fn each_state_change_is_named_by_its_states() {
        let cases = [
            (Some(New), Defined, Some(MilestoneKind::Defined)),
            (Some(Defined), Scoped, Some(MilestoneKind::Scoped)),
            (Some(Scoped), Investigating, None),
            (Some(Investigating), WaitingOnCustomer, None),
            (Some(WaitingOnCustomer), Investigating, None),
            (
                Some(Investigating),
                Escalated,
                Some(MilestoneKind::Escalated),
            ),
            (
                Some(Escalated),
                Investigating,
                Some(MilestoneKind::HandedBack),
            ),
            (Some(Escalated), Resolved, Some(MilestoneKind::Resolved)),
            (Some(Resolved), Archived, Some(MilestoneKind::Archived)),
            (Some(Resolved), Investigating, Some(MilestoneKind::Reopened)),
            (Some(Archived), Investigating, Some(MilestoneKind::Reopened)),
            (None, Investigating, None),
            (None, Archived, Some(MilestoneKind::Archived)),
        ];
        for (from, to, expected) in cases {
            assert_eq!(
                MilestoneKind::of_transition(from, to),
                expected,
                "{from:?} → {to}"
            );
        }
    }

    #[test]
    fn milestones_are_ordered_and_the_gaps_measured_on_the_clock_and_in_business_time() {
        // Monday 09:00 opened; answered 11:30; defined 14:00; scoped Tuesday 10:00; investigating
        // (no milestone); escalated Tuesday 17:00; handed back Wednesday 10:00; resolved Friday
        // 18:00; archived the Monday after at 09:30; reopened Monday 12:00.
        let changes = [
            change(New, Defined, sh(2, 14, 0)),
            change(Scoped, Investigating, sh(3, 10, 5)),
            change(Defined, Scoped, sh(3, 10, 0)),
            change(Investigating, Escalated, sh(3, 17, 0)),
            change(Escalated, Investigating, sh(4, 10, 0)),
            change(Investigating, Resolved, sh(6, 18, 0)),
            change(Resolved, Archived, sh(9, 9, 30)),
            change(Archived, Investigating, sh(9, 12, 0)),
        ];
        let got = compress(sh(2, 9, 0), Some(sh(2, 11, 30)), &changes, &calendar());
        let h = Duration::hours;
        let m = Duration::minutes;
        let expected: Vec<Row> = vec![
            (MilestoneKind::Created, sh(2, 9, 0), None, None),
            (
                MilestoneKind::FirstResponse,
                sh(2, 11, 30),
                Some(h(2) + m(30)),
                Some(h(2) + m(30)),
            ),
            (
                MilestoneKind::Defined,
                sh(2, 14, 0),
                Some(h(2) + m(30)),
                Some(h(2) + m(30)),
            ),
            // Monday 14:00 → Tuesday 10:00: 20 hours on the clock, 4 + 1 working hours.
            (MilestoneKind::Scoped, sh(3, 10, 0), Some(h(20)), Some(h(5))),
            (
                MilestoneKind::Escalated,
                sh(3, 17, 0),
                Some(h(7)),
                Some(h(7)),
            ),
            (
                MilestoneKind::HandedBack,
                sh(4, 10, 0),
                Some(h(17)),
                Some(h(2)),
            ),
            // Wednesday 10:00 → Friday 18:00: 8 + 9 + 9 working hours.
            (
                MilestoneKind::Resolved,
                sh(6, 18, 0),
                Some(h(56)),
                Some(h(26)),
            ),
            // Over the weekend: 63.5 hours on the clock, half an hour of work.
            (
                MilestoneKind::Archived,
                sh(9, 9, 30),
                Some(h(63) + m(30)),
                Some(m(30)),
            ),
            (
                MilestoneKind::Reopened,
                sh(9, 12, 0),
                Some(h(2) + m(30)),
                Some(h(2) + m(30)),
            ),
        ];
        let got: Vec<_> = got
            .into_iter()
            .map(|m| (m.kind, m.at, m.since_previous, m.business_since_previous))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn same_instant_milestones_keep_the_method_order_whatever_the_input_order() {
        let at = sh(2, 10, 0);
        let changes = [change(Defined, Scoped, at), change(New, Defined, at)];
        let got: Vec<MilestoneKind> = compress(at, Some(at), &changes, &calendar())
            .into_iter()
            .map(|m| m.kind)
            .collect();
        assert_eq!(
            got,
            vec![
                MilestoneKind::Created,
                MilestoneKind::FirstResponse,
                MilestoneKind::Defined,
                MilestoneKind::Scoped
            ]
        );
    }

    #[test]
    fn time_to_resolution_ends_at_the_first_resolution_or_the_archive() {
        let cal = calendar();
        let resolved_then_reopened = Timeline {
            milestones: compress(
                sh(2, 9, 0),
                None,
                &[
                    change(Investigating, Resolved, sh(2, 12, 0)),
                    change(Resolved, Investigating, sh(3, 9, 0)),
                    change(Investigating, Resolved, sh(4, 9, 0)),
                ],
                &cal,
            ),
            truncated: false,
        };
        assert_eq!(
            resolved_then_reopened.business_to_resolution(&cal),
            Some(Duration::hours(3))
        );
        assert_eq!(resolved_then_reopened.count(MilestoneKind::Resolved), 2);
        assert_eq!(
            resolved_then_reopened.business_to_first_response(&cal),
            None
        );
        let archived_directly = Timeline {
            milestones: compress(
                sh(2, 9, 0),
                Some(sh(2, 9, 45)),
                &[change(Investigating, Archived, sh(3, 10, 0))],
                &cal,
            ),
            truncated: false,
        };
        assert_eq!(
            archived_directly.business_to_resolution(&cal),
            Some(Duration::hours(10))
        );
        assert_eq!(
            archived_directly.business_to_first_response(&cal),
            Some(Duration::minutes(45))
        );
    }

    #[test]
    fn every_milestone_has_a_label_in_both_languages() {
        let catalog = crate::web::Catalog::builtin().unwrap();
        for kind in MilestoneKind::ALL {
            assert!(catalog.contains(kind.label_key()), "{}", kind.label_key());
        }
    }
}
