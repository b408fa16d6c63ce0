//! How a [`SummaryRow`] reads: times in the reader's zone, durations in words of the
//! reader's language, the summary's sections with the case record as fallback — for the list
//! page, the manager's case page and the CSV alike.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::SummaryRow;
use super::csv::CsvWriter;
use super::milestones::{Milestone, MilestoneKind};
use crate::i18n::Lang;
use crate::web::Catalog;
use crate::web::catalog::builtin;
use crate::workflow::business_hours::BusinessCalendar;
use crate::workflow::sla::format_business_duration;
use chrono_tz::Tz;

/// One milestone as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneView {
    /// Stable name, for the CSS class.
    pub kind: &'static str,
    /// Its label in the reader's language.
    pub label: &'static str,
    /// `YYYY-MM-DD HH:MM` in the calendar's zone.
    pub at: String,
    /// Wall-clock time since the milestone before ("2d 4h").
    pub gap: Option<String>,
    /// Business time since the milestone before, as a phrase ("11h business").
    pub business_gap: Option<String>,
}

/// A closed case as the summaries page and the case page show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryView {
    /// Case number.
    pub number: String,
    /// Title.
    pub title: String,
    /// The customer's name, or address when it has none.
    pub customer: String,
    /// The customer's address.
    pub customer_email: String,
    /// State (stored form; the template translates it).
    pub state: &'static str,
    /// Priority (stored form).
    pub priority: &'static str,
    /// The owner's name.
    pub agent: Option<String>,
    /// Whether it was escalated to engineering.
    pub escalated: bool,
    /// When it was closed (resolved or archived last), in the calendar's zone.
    pub closed: Option<String>,
    /// The summary's version, author and time ("v2 · Li Na · 2026-11-06 17:40").
    pub summary_line: Option<String>,
    /// Problem definition: the summary's section, else the case's recorded definition.
    pub definition: Option<String>,
    /// Progress and resolution: the summary's section, else the case's recorded resolution.
    pub progress: Option<String>,
    /// Next steps from the summary.
    pub next_steps: Option<String>,
    /// Summary text outside the known sections (a summary written without headings).
    pub other: Option<String>,
    /// The milestones, oldest first.
    pub milestones: Vec<MilestoneView>,
    /// More state changes were recorded than are shown.
    pub truncated: bool,
    /// Business time to the first response.
    pub to_first_response: Option<String>,
    /// Business time to the (first) resolution.
    pub to_resolution: Option<String>,
    /// The zone its times are in (the reader's).
    pub zone: &'static str,
}

/// An instant in the reader's zone, to the minute.
pub fn local_time(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

fn local_naive(at: NaiveDateTime, zone: Tz) -> String {
    local_time(at.and_utc(), zone)
}

/// Wall-clock time in days, hours and minutes, rounded down to the minute: "45m", "3h 20m",
/// "2d 4h" (minutes are left out from a day on) / "45分钟", "3小时20分钟", "2天4小时".
pub fn format_elapsed(duration: Duration, lang: Lang) -> String {
    let minutes = duration.num_minutes().max(0);
    let (days, hours) = (minutes / (24 * 60), (minutes / 60) % 24);
    if days == 0 {
        return format_business_duration(duration, lang);
    }
    let text = builtin(lang);
    if hours == 0 {
        text.t("summaries.duration.days")
            .replace("{days}", &days.to_string())
    } else {
        text.t("summaries.duration.days_hours")
            .replace("{days}", &days.to_string())
            .replace("{hours}", &hours.to_string())
    }
}

fn milestone_view(m: &Milestone, lang: Lang, zone: Tz) -> MilestoneView {
    MilestoneView {
        kind: m.kind.as_str(),
        label: Catalog::builtin_static().get(lang, m.kind.label_key()),
        at: local_time(m.at, zone),
        gap: m.since_previous.map(|d| format_elapsed(d, lang)),
        business_gap: m.business_since_previous.map(|d| {
            builtin(lang)
                .t("summaries.business")
                .replace("{duration}", &format_business_duration(d, lang))
        }),
    }
}

fn non_blank(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

impl SummaryView {
    /// How `row` reads in `lang`.
    /// How `row` reads in `lang`: times in `zone` (the reader's), business durations by `calendar`.
    pub fn of(row: &SummaryRow, lang: Lang, calendar: &BusinessCalendar, zone: Tz) -> SummaryView {
        let case = &row.case;
        let s = &row.sections;
        SummaryView {
            number: case.number.clone(),
            title: case.title.clone(),
            customer: case
                .customer_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| case.customer_email.clone()),
            customer_email: case.customer_email.clone(),
            state: case.state.as_str(),
            priority: case.priority.as_str(),
            agent: row.agent.clone(),
            escalated: row.escalated,
            closed: case.closed_at.map(|t| local_naive(t, zone)),
            summary_line: row.summary.as_ref().map(|v| {
                format!(
                    "v{} · {} · {}",
                    v.version,
                    v.author_label,
                    local_naive(v.created_at, zone)
                )
            }),
            definition: s
                .definition
                .clone()
                .or_else(|| non_blank(case.problem_definition.as_deref())),
            progress: s
                .progress
                .clone()
                .or_else(|| non_blank(case.resolution.as_deref())),
            next_steps: s.next_steps.clone(),
            other: s.other.clone(),
            milestones: row
                .timeline
                .milestones
                .iter()
                .map(|m| milestone_view(m, lang, zone))
                .collect(),
            truncated: row.timeline.truncated,
            to_first_response: row
                .timeline
                .business_to_first_response(calendar)
                .map(|d| format_business_duration(d, lang)),
            to_resolution: row
                .timeline
                .business_to_resolution(calendar)
                .map(|d| format_business_duration(d, lang)),
            zone: zone.name(),
        }
    }
}

/// Hours with two decimals, for spreadsheets to sum and average.
fn hours(duration: Duration) -> String {
    format!("{:.2}", duration.num_seconds() as f64 / 3600.0)
}

/// The CSV of `rows` in `lang`: a byte-order mark, a header row, one row per case; when the
/// export stopped at `cap` cases, a last row says so.
pub fn csv_export(
    rows: &[SummaryRow],
    truncated_at: Option<usize>,
    lang: Lang,
    calendar: &BusinessCalendar,
    zone: Tz,
) -> String {
    let text = builtin(lang);
    let zone_name = zone.name();
    let at_zone = |key: &'static str| format!("{} ({zone_name})", text.t(key));
    let mut w = CsvWriter::with_bom();
    w.record([
        text.t("case.number").to_string(),
        text.t("case.title").to_string(),
        text.t("case.customer").to_string(),
        text.t("summaries.customer_email").to_string(),
        text.t("case.state").to_string(),
        text.t("case.priority").to_string(),
        text.t("summaries.agent").to_string(),
        text.t("summaries.escalated").to_string(),
        at_zone("summaries.milestone.created"),
        at_zone("summaries.milestone.first_response"),
        at_zone("summaries.milestone.resolved"),
        at_zone("summaries.milestone.archived"),
        text.t("summaries.csv.reopened_times").to_string(),
        text.t("summaries.csv.first_response_hours").to_string(),
        text.t("summaries.csv.resolution_hours").to_string(),
        text.t("summaries.milestones").to_string(),
        text.t("summary.definition")
            .trim_end_matches([':', '：'])
            .to_string(),
        text.t("summaries.progress").to_string(),
        text.t("summary.next_steps")
            .trim_end_matches([':', '：'])
            .to_string(),
        text.t("summaries.summary_other").to_string(),
        text.t("summaries.summary_version").to_string(),
    ]);
    for row in rows {
        let v = SummaryView::of(row, lang, calendar, zone);
        let t = &row.timeline;
        let when = |m: Option<&Milestone>| m.map(|m| local_time(m.at, zone)).unwrap_or_default();
        let milestones = v
            .milestones
            .iter()
            .map(|m| match (&m.gap, &m.business_gap) {
                (Some(gap), Some(business)) => {
                    format!("{} {} (+{gap}; {business})", m.label, m.at)
                }
                _ => format!("{} {}", m.label, m.at),
            })
            .collect::<Vec<_>>()
            .join("\n");
        w.record([
            v.number.clone(),
            v.title.clone(),
            row.case.customer_name.clone().unwrap_or_default(),
            v.customer_email.clone(),
            row.case.state.label(lang).to_string(),
            row.case.priority.label(lang).to_string(),
            v.agent.clone().unwrap_or_default(),
            if v.escalated {
                text.t("summaries.yes")
            } else {
                text.t("summaries.no")
            }
            .to_string(),
            when(t.first(MilestoneKind::Created)),
            when(t.first(MilestoneKind::FirstResponse)),
            when(t.last(MilestoneKind::Resolved)),
            when(t.last(MilestoneKind::Archived)),
            t.count(MilestoneKind::Reopened).to_string(),
            t.business_to_first_response(calendar)
                .map(hours)
                .unwrap_or_default(),
            t.business_to_resolution(calendar)
                .map(hours)
                .unwrap_or_default(),
            milestones,
            v.definition.clone().unwrap_or_default(),
            v.progress.clone().unwrap_or_default(),
            v.next_steps.clone().unwrap_or_default(),
            v.other.clone().unwrap_or_default(),
            row.summary
                .as_ref()
                .map(|s| s.version.to_string())
                .unwrap_or_default(),
        ]);
    }
    if let Some(cap) = truncated_at {
        w.record([text
            .t("summaries.csv.truncated")
            .replace("{limit}", &cap.to_string())]);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_reads_in_days_hours_and_minutes() {
        let cases = [
            (Duration::minutes(45), "45m", "45分钟"),
            (Duration::minutes(200), "3h 20m", "3小时20分钟"),
            (
                Duration::hours(52) + Duration::minutes(59),
                "2d 4h",
                "2天4小时",
            ),
            (Duration::hours(48), "2d", "2天"),
            (Duration::seconds(-5), "0m", "0分钟"),
        ];
        for (d, en, zh) in cases {
            assert_eq!(format_elapsed(d, Lang::En), en);
            assert_eq!(format_elapsed(d, Lang::ZhCn), zh);
        }
    }
}
