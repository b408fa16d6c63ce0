//! How workflow data looks on the pages: presentation (badge classes, formatted deadlines) built from
//! what [`super::service`] returns, for `routes` and the case list (`cases::routes`). The service
//! returns data; CSS class names live here.

use chrono::{DateTime, Utc};

use super::service::SlaRules;
use super::sla::{ClockStatus, SlaClock, SlaMetric};
use crate::web::catalog::builtin;
use crate::web::time::Timekeeper;

/// A clock as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockView {
    /// What it measures.
    pub metric: SlaMetric,
    /// The metric's name in the reader's language.
    pub label: String,
    /// Its state now.
    pub status: ClockStatus,
    /// "due in 3h 20m (business time) — Mon 09:20 CST", "overdue by 1h (business time) — …",
    /// "met", …: the amount is business time, the deadline is the reader's wall clock.
    pub text: String,
    /// CSS classes for the badge.
    pub css: &'static str,
    /// The deadline in the reader's zone, labelled (`2026-12-07 09:20 CST`).
    pub due: String,
    /// Whether it breached (even if met later).
    pub breached: bool,
}

impl ClockView {
    /// How `clock` looks at `now` to the reader `times` formats for.
    pub fn of(
        clock: &SlaClock,
        now: DateTime<Utc>,
        rules: &SlaRules<'_>,
        times: &Timekeeper,
    ) -> ClockView {
        let lang = times.lang();
        let status = clock.status(now, rules.calendar);
        // Each badge also carries an existing colour class of the stylesheet (red, amber, green) so it
        // reads at a glance; the `sla-*` class names the meaning.
        let css = match status {
            ClockStatus::Running { .. } => "sla-running",
            ClockStatus::NearBreach { .. } => "sla-near state-waiting_on_customer",
            ClockStatus::Overdue { .. } => "sla-overdue prio-urgent",
            ClockStatus::Met { on_time: true } => "sla-met state-resolved",
            ClockStatus::Met { on_time: false } => "sla-met-late prio-high",
            ClockStatus::Paused => "sla-paused",
        };
        ClockView {
            metric: clock.metric,
            label: clock.metric.label(lang).to_string(),
            status,
            text: match status {
                // A running or overdue clock counts business time, which a Saturday's "due in
                // 20m" hides: say so, and when that is on the wall clock.
                ClockStatus::Running { .. }
                | ClockStatus::NearBreach { .. }
                | ClockStatus::Overdue { .. } => builtin(lang)
                    .t("sla.business_due")
                    .replace("{status}", &status.label(lang))
                    .replace("{due}", &times.wall_clock(clock.due_at)),
                _ => status.label(lang),
            },
            css,
            due: times.absolute(clock.due_at),
            breached: clock.breached_at.is_some(),
        }
    }

    /// Whether the clock needs attention (near breach or overdue).
    pub fn is_urgent(&self) -> bool {
        matches!(
            self.status,
            ClockStatus::NearBreach { .. } | ClockStatus::Overdue { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::workflow::business_hours::BusinessCalendar;
    use crate::workflow::sla::SlaConfig;
    use chrono::Duration;

    #[test]
    fn clock_badges_name_their_meaning_and_colour() {
        let calendar = BusinessCalendar::default();
        let sla = SlaConfig::default();
        let rules = SlaRules {
            calendar: &calendar,
            sla: &sla,
        };
        // Monday 2026-09-21 09:00 in Shanghai.
        let start = chrono::DateTime::parse_from_rfc3339("2026-09-21T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = SlaClock::start(
            SlaMetric::FirstResponse,
            Duration::hours(8),
            sla.near_breach_percent(),
            start,
            &calendar,
        );
        let at = |h: i64| start + Duration::hours(h);
        let cases = [
            (
                at(1),
                "sla-running",
                "due in 7h (business time) — Mon 17:00 CST",
                false,
            ),
            (
                at(7),
                "sla-near state-waiting_on_customer",
                "due in 1h (business time) — Mon 17:00 CST",
                true,
            ),
            (
                at(10),
                "sla-overdue prio-urgent",
                "overdue by 1h (business time) — Mon 17:00 CST",
                true,
            ),
        ];
        let reader = |now, lang| Timekeeper::new(chrono_tz::Asia::Shanghai, lang, now);
        for (now, css, text, urgent) in cases {
            let view = ClockView::of(&clock, now, &rules, &reader(now, Lang::En));
            assert_eq!(
                (view.css, view.text.as_str(), view.is_urgent()),
                (css, text, urgent)
            );
            assert_eq!(view.due, "2026-09-21 17:00 CST");
            assert_eq!(view.label, "First response");
        }
        let mut met = clock.clone();
        met.mark_met(at(2), &calendar);
        assert_eq!(
            ClockView::of(&met, at(3), &rules, &reader(at(3), Lang::ZhCn)).css,
            "sla-met state-resolved"
        );
        let mut paused = clock;
        paused.pause(at(2));
        assert_eq!(
            ClockView::of(&paused, at(3), &rules, &reader(at(3), Lang::En)).text,
            "paused"
        );
    }
}
