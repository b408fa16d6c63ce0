//! How workflow data looks on the pages: presentation (badge classes, formatted deadlines) built from
//! what [`super::service`] returns, for `routes` and the case list (`cases::routes`). The service
//! returns data; CSS class names live here.

use chrono::{DateTime, Utc};

use super::service::SlaRules;
use super::sla::{ClockStatus, SlaClock, SlaMetric};
use crate::i18n::Lang;

/// A clock as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockView {
    /// What it measures.
    pub metric: SlaMetric,
    /// The metric's name in the reader's language.
    pub label: String,
    /// Its state now.
    pub status: ClockStatus,
    /// "due in 3h 20m", "overdue by 1h", …
    pub text: String,
    /// CSS classes for the badge.
    pub css: &'static str,
    /// The deadline in the business calendar's zone, `YYYY-MM-DD HH:MM`.
    pub due: String,
    /// Whether it breached (even if met later).
    pub breached: bool,
}

impl ClockView {
    /// How `clock` looks at `now`.
    pub fn of(clock: &SlaClock, now: DateTime<Utc>, rules: &SlaRules<'_>, lang: Lang) -> ClockView {
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
            text: status.label(lang),
            css,
            due: clock
                .due_at
                .with_timezone(&rules.calendar.timezone())
                .format("%Y-%m-%d %H:%M")
                .to_string(),
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
            (at(1), "sla-running", "due in 7h", false),
            (
                at(7),
                "sla-near state-waiting_on_customer",
                "due in 1h",
                true,
            ),
            (at(10), "sla-overdue prio-urgent", "overdue by 1h", true),
        ];
        for (now, css, text, urgent) in cases {
            let view = ClockView::of(&clock, now, &rules, Lang::En);
            assert_eq!(
                (view.css, view.text.as_str(), view.is_urgent()),
                (css, text, urgent)
            );
            assert_eq!(view.due, "2026-09-21 17:00");
            assert_eq!(view.label, "First response");
        }
        let mut met = clock.clone();
        met.mark_met(at(2), &calendar);
        assert_eq!(
            ClockView::of(&met, at(3), &rules, Lang::ZhCn).css,
            "sla-met state-resolved"
        );
        let mut paused = clock;
        paused.pause(at(2));
        assert_eq!(
            ClockView::of(&paused, at(3), &rules, Lang::En).text,
            "paused"
        );
    }
}
