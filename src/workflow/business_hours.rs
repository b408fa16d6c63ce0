//! Business-hours arithmetic: when is something due, and how much working time lies between two instants.
//!
//! Working time is defined on the local wall clock of one time zone (working weekdays, a daily window,
//! holidays, and extra working dates such as China's make-up working weekends, 调休). All arithmetic is on
//! UTC instants: each working date is turned into one UTC window, and the functions walk whole dates, so the
//! cost grows with the number of calendar days spanned, never with minutes.
//!
//! Daylight-saving rules, stated once:
//! - a wall time that happens twice (autumn) means its *first* occurrence;
//! - a wall time that does not exist (spring, or a skipped day) means the first instant after the gap;
//! - so a day whose window falls inside a gap has no working time at all.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

/// Roughly four centuries of calendar days: far beyond any SLA, and a hard stop so a calendar that has
/// (almost) no working time cannot loop for ever.
const MAX_DAYS_WALKED: u32 = 146_097;

/// A wall-clock time of day with minute precision, from `00:00` to `24:00` (end of day, for round-the-clock
/// calendars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    /// Midnight at the start of the day.
    pub const MIDNIGHT: TimeOfDay = TimeOfDay { minutes: 0 };
    /// Midnight at the end of the day (`24:00`).
    pub const END_OF_DAY: TimeOfDay = TimeOfDay { minutes: 24 * 60 };

    /// `hour:minute`; `None` unless it lies within `00:00`–`24:00`.
    pub fn hm(hour: u16, minute: u16) -> Option<TimeOfDay> {
        let minutes = hour.checked_mul(60)?.checked_add(minute)?;
        (minute < 60 && minutes <= 24 * 60).then_some(TimeOfDay { minutes })
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        self.minutes
    }

    /// The wall-clock date-time this time of day names on `date` (`24:00` is the next midnight);
    /// `None` only past chrono's last representable date.
    fn on(self, date: NaiveDate) -> Option<NaiveDateTime> {
        date.and_time(NaiveTime::MIN)
            .checked_add_signed(Duration::minutes(i64::from(self.minutes)))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// The text is not a `HH:MM` time between `00:00` and `24:00`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time of day {0:?} (expected HH:MM between 00:00 and 24:00)")]
pub struct TimeOfDayError(pub String);

impl FromStr for TimeOfDay {
    type Err = TimeOfDayError;

    /// Accepts `HH:MM`, and `HH:MM:00` because TOML's own time values carry seconds.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || TimeOfDayError(s.to_string());
        let mut parts = s.trim().split(':');
        let (Some(hour), Some(minute)) = (parts.next(), parts.next()) else {
            return Err(invalid());
        };
        if let Some(seconds) = parts.next() {
            // Only whole minutes mean anything here, so seconds must be zero ("00" or "00.000").
            let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
            let zeros = |t: &str| !t.is_empty() && t.bytes().all(|b| b == b'0');
            if whole.len() != 2 || !zeros(whole) || !zeros(fraction) {
                return Err(invalid());
            }
        }
        if parts.next().is_some() || hour.len() > 2 || minute.len() != 2 {
            return Err(invalid());
        }
        let hour: u16 = hour.parse().map_err(|_| invalid())?;
        let minute: u16 = minute.parse().map_err(|_| invalid())?;
        TimeOfDay::hm(hour, minute).ok_or_else(invalid)
    }
}

/// A `[business_hours]` setting is invalid. Each message names the key to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessHoursError {
    /// `timezone` is not an IANA zone name.
    #[error(
        "business_hours.timezone: unknown time zone {0:?} (expected an IANA name such as \"Asia/Shanghai\")"
    )]
    Timezone(String),
    /// An entry of `days` is not a weekday.
    #[error(
        "business_hours.days: unknown weekday {0:?} (expected mon, tue, wed, thu, fri, sat or sun)"
    )]
    Day(String),
    /// `days` is empty.
    #[error("business_hours.days: at least one working day is needed")]
    NoWorkingDays,
    /// `start` or `end` is not a time of day.
    #[error(
        "business_hours.{key}: invalid time {value:?} (expected HH:MM between 00:00 and 24:00)"
    )]
    Time {
        /// `start` or `end`.
        key: &'static str,
        /// The text found.
        value: String,
    },
    /// The daily window is empty or reversed (overnight windows are not supported).
    #[error("business_hours.end ({end}) must be later than business_hours.start ({start})")]
    EmptyWindow {
        /// The configured start.
        start: TimeOfDay,
        /// The configured end.
        end: TimeOfDay,
    },
    /// An entry of `holidays` or `extra_workdays` is not a date.
    #[error("business_hours.{key}: invalid date {value:?} (expected YYYY-MM-DD)")]
    Date {
        /// `holidays` or `extra_workdays`.
        key: &'static str,
        /// The text found.
        value: String,
    },
    /// A date is listed both as a holiday and as an extra working day.
    #[error("business_hours: {0} is listed in both holidays and extra_workdays")]
    Conflict(NaiveDate),
}

/// When the support team works: validated, so every value of this type is a usable calendar.
///
/// TOML shape (every key optional; defaults shown, except the example dates):
///
/// ```toml
/// [business_hours]
/// timezone = "Asia/Shanghai"                    # IANA name, e.g. "Europe/Berlin"
/// days = ["mon", "tue", "wed", "thu", "fri"]
/// start = "09:00"                               # local wall-clock time
/// end = "18:00"                                 # "24:00" allowed; must be after start
/// holidays = ["2026-10-01"]                     # dates with no working time
/// extra_workdays = ["2026-09-27"]               # make-up working days (调休) on otherwise free days
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "RawBusinessHours")]
pub struct BusinessCalendar {
    timezone: Tz,
    /// Indexed by `Weekday::num_days_from_monday`.
    days: [bool; 7],
    start: TimeOfDay,
    end: TimeOfDay,
    holidays: BTreeSet<NaiveDate>,
    extra_workdays: BTreeSet<NaiveDate>,
}

impl Default for BusinessCalendar {
    /// Asia/Shanghai (the team in the motivating case; no DST), Monday to Friday, 09:00–18:00, no holidays.
    fn default() -> Self {
        BusinessCalendar {
            timezone: Tz::Asia__Shanghai,
            days: [true, true, true, true, true, false, false],
            start: TimeOfDay { minutes: 9 * 60 },
            end: TimeOfDay { minutes: 18 * 60 },
            holidays: BTreeSet::new(),
            extra_workdays: BTreeSet::new(),
        }
    }
}

impl BusinessCalendar {
    /// A calendar without holidays; see [`BusinessCalendar::with_holidays`].
    pub fn new(
        timezone: Tz,
        days: &[Weekday],
        start: TimeOfDay,
        end: TimeOfDay,
    ) -> Result<Self, BusinessHoursError> {
        if days.is_empty() {
            return Err(BusinessHoursError::NoWorkingDays);
        }
        if end <= start {
            return Err(BusinessHoursError::EmptyWindow { start, end });
        }
        let mut working = [false; 7];
        for day in days {
            working[day.num_days_from_monday() as usize] = true;
        }
        Ok(BusinessCalendar {
            timezone,
            days: working,
            start,
            end,
            holidays: BTreeSet::new(),
            extra_workdays: BTreeSet::new(),
        })
    }

    /// Adds holidays (no working time) and extra working days (working time on an otherwise free day).
    pub fn with_holidays(
        mut self,
        holidays: impl IntoIterator<Item = NaiveDate>,
        extra_workdays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, BusinessHoursError> {
        self.holidays.extend(holidays);
        self.extra_workdays.extend(extra_workdays);
        match self.holidays.intersection(&self.extra_workdays).next() {
            Some(&date) => Err(BusinessHoursError::Conflict(date)),
            None => Ok(self),
        }
    }

    /// The zone whose wall clock defines working time.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// Whether `date` (a local date) is a working day at all.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.extra_workdays.contains(&date) {
            return true;
        }
        self.days[date.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&date)
    }

    /// The due time: the instant at which `duration` of working time has passed since `start`.
    ///
    /// Time before opening, after closing, on free days and holidays does not count. A zero or negative
    /// duration returns `start` unchanged. Work that ends exactly at closing time is due at closing time,
    /// not at the next opening.
    pub fn add_business_duration(&self, start: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
        if duration <= Duration::zero() {
            return start;
        }
        let mut remaining = duration;
        let mut date = self.local_date(start).pred_opt().unwrap_or(NaiveDate::MIN);
        for _ in 0..MAX_DAYS_WALKED {
            if let Some((open, close)) = self.window(date)
                && close > start
            {
                let from = open.max(start);
                let available = close - from;
                if available >= remaining {
                    return from + remaining;
                }
                remaining -= available;
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// The working time between two instants; zero when `to` is not after `from`.
    pub fn business_duration_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        // Start a day early and end a day late: a window belongs to its local date, and the local dates of
        // `from` and `to` may differ from the dates whose windows overlap them around DST folds.
        let mut date = self.local_date(from).pred_opt().unwrap_or(NaiveDate::MIN);
        let last = self.local_date(to).succ_opt().unwrap_or(NaiveDate::MAX);
        while date <= last {
            if let Some((open, close)) = self.window(date) {
                let overlap = close.min(to) - open.max(from);
                if overlap > Duration::zero() {
                    total += overlap;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }

    fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.timezone).date_naive()
    }

    /// The working window of a local date as UTC instants; `None` on free days and on days whose window
    /// vanishes in a DST gap.
    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(date) {
            return None;
        }
        let open = self.first_instant_at_or_after(self.start.on(date)?);
        let close = self.first_instant_at_or_after(self.end.on(date)?);
        (close > open).then_some((open, close))
    }

    /// The first instant at which the local wall clock reads `wall` or later.
    fn first_instant_at_or_after(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        match self.timezone.from_local_datetime(&wall) {
            LocalResult::Single(instant) => instant.with_timezone(&Utc),
            LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
            LocalResult::None => self.end_of_gap(wall),
        }
    }

    /// Binary search for the first second whose wall time has reached `wall`, which lies in a DST gap.
    /// Within a day either side of a gap the wall clock only moves forward (no zone folds that close to a
    /// gap), which is what makes bisection sound. Offsets never exceed 26 hours, so the bounds bracket it.
    fn end_of_gap(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        let wall_at = |seconds: i64| {
            DateTime::from_timestamp(seconds, 0)
                .map(|t| t.with_timezone(&self.timezone).naive_local())
        };
        let guess = wall.and_utc().timestamp();
        let (mut before, mut after) = (guess - 26 * 3600, guess + 26 * 3600);
        while after - before > 1 {
            let mid = before + (after - before) / 2;
            match wall_at(mid) {
                Some(mid_wall) if mid_wall >= wall => after = mid,
                Some(_) => before = mid,
                // Outside chrono's range: only reachable for dates near year ±262000.
                None => return wall.and_utc(),
            }
        }
        DateTime::from_timestamp(after, 0).unwrap_or_else(|| wall.and_utc())
    }
}

/// Text as written in the config: a TOML string, or a bare TOML date/time (`2026-10-01`, `09:00:00`),
/// which the toml deserializer hands over as a one-entry map holding its text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ConfigText(String);

impl<'de> serde::Deserialize<'de> for ConfigText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ConfigText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, date or time")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConfigText, E> {
                Ok(ConfigText(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ConfigText, A::Error> {
                match map.next_entry::<String, String>()? {
                    Some((_, text)) => Ok(ConfigText(text)),
                    None => Err(serde::de::Error::custom("expected a date or time")),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawBusinessHours {
    timezone: String,
    days: Vec<String>,
    start: ConfigText,
    end: ConfigText,
    holidays: Vec<ConfigText>,
    extra_workdays: Vec<ConfigText>,
}

impl Default for RawBusinessHours {
    fn default() -> Self {
        RawBusinessHours {
            timezone: "Asia/Shanghai".into(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            start: ConfigText("09:00".into()),
            end: ConfigText("18:00".into()),
            holidays: Vec::new(),
            extra_workdays: Vec::new(),
        }
    }
}

impl TryFrom<RawBusinessHours> for BusinessCalendar {
    type Error = BusinessHoursError;

    fn try_from(raw: RawBusinessHours) -> Result<Self, Self::Error> {
        let timezone: Tz = raw
            .timezone
            .trim()
            .parse()
            .map_err(|_| BusinessHoursError::Timezone(raw.timezone.clone()))?;
        let days = raw
            .days
            .iter()
            .map(|d| {
                d.trim()
                    .parse::<Weekday>()
                    .map_err(|_| BusinessHoursError::Day(d.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let time = |key: &'static str, text: &ConfigText| {
            text.0
                .parse::<TimeOfDay>()
                .map_err(|_| BusinessHoursError::Time {
                    key,
                    value: text.0.clone(),
                })
        };
        let dates = |key: &'static str, texts: &[ConfigText]| {
            texts
                .iter()
                .map(|t| {
                    NaiveDate::parse_from_str(t.0.trim(), "%Y-%m-%d").map_err(|_| {
                        BusinessHoursError::Date {
                            key,
                            value: t.0.clone(),
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        BusinessCalendar::new(
            timezone,
            &days,
            time("start", &raw.start)?,
            time("end", &raw.end)?,
        )?
        .with_holidays(
            dates("holidays", &raw.holidays)?,
            dates("extra_workdays", &raw.extra_workdays)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(toml_text: &str) -> BusinessCalendar {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"))
    }

    /// A local wall time in the calendar's zone, as UTC (first occurrence when ambiguous).
    fn at(cal: &BusinessCalendar, text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        cal.timezone()
            .from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn utc(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    fn hours(h: i64) -> Duration {
        Duration::hours(h)
    }

    fn shanghai() -> BusinessCalendar {
        calendar(
            r#"timezone = "Asia/Shanghai"
               holidays = ["2026-10-01", "2026-10-02", "2026-10-05"]
               extra_workdays = ["2026-09-27"]"#,
        )
    }

    fn berlin() -> BusinessCalendar {
        calendar(r#"timezone = "Europe/Berlin""#)
    }

    #[test]
    fn adding_business_time_skips_nights_weekends_and_holidays_in_shanghai() {
        let cal = shanghai();
        // (start local, duration, due local) — 2026-09-25 is a Friday; 27 Sep (Sun) is a make-up working day;
        // 1–2 Oct and 5 Oct are holidays; 3–4 Oct are the weekend.
        let cases = [
            (
                "2026-09-21 10:00",
                Duration::minutes(90),
                "2026-09-21 11:30",
            ),
            ("2026-09-21 17:00", hours(2), "2026-09-22 10:00"),
            ("2026-09-21 17:00", hours(1), "2026-09-21 18:00"),
            ("2026-09-21 03:00", hours(1), "2026-09-21 10:00"),
            ("2026-09-21 22:00", hours(9), "2026-09-22 18:00"),
            ("2026-09-25 17:00", hours(2), "2026-09-27 10:00"),
            ("2026-09-26 12:00", hours(1), "2026-09-27 10:00"),
            ("2026-09-30 17:00", hours(2), "2026-10-06 10:00"),
            ("2026-10-01 09:00", hours(9), "2026-10-06 18:00"),
            ("2026-09-21 10:00", Duration::zero(), "2026-09-21 10:00"),
            ("2026-09-21 10:00", hours(-3), "2026-09-21 10:00"),
        ];
        for (start, duration, due) in cases {
            assert_eq!(
                cal.add_business_duration(at(&cal, start), duration),
                at(&cal, due),
                "{start} + {duration}"
            );
        }
    }

    #[test]
    fn shanghai_times_convert_to_utc_without_dst() {
        let cal = shanghai();
        assert_eq!(at(&cal, "2026-07-01 09:00"), utc("2026-07-01 01:00"));
        assert_eq!(at(&cal, "2026-01-05 09:00"), utc("2026-01-05 01:00"));
    }

    #[test]
    fn business_time_between_counts_only_working_windows() {
        let cal = shanghai();
        let cases = [
            (
                "2026-09-21 10:00",
                "2026-09-21 11:30",
                Duration::minutes(90),
            ),
            ("2026-09-21 20:00", "2026-09-22 08:00", Duration::zero()),
            ("2026-09-21 17:00", "2026-09-22 10:00", hours(2)),
            ("2026-09-25 09:00", "2026-09-28 09:00", hours(18)),
            ("2026-09-30 00:00", "2026-10-07 00:00", hours(18)),
            ("2026-09-22 10:00", "2026-09-21 10:00", Duration::zero()),
            ("2026-09-21 10:00", "2026-09-21 10:00", Duration::zero()),
        ];
        for (from, to, expected) in cases {
            assert_eq!(
                cal.business_duration_between(at(&cal, from), at(&cal, to)),
                expected,
                "{from} → {to}"
            );
        }
    }

    #[test]
    fn adding_then_measuring_gives_back_the_duration() {
        let cal = berlin();
        let starts = [
            "2026-03-27 16:00",
            "2026-03-28 11:00",
            "2026-10-23 17:59",
            "2026-12-31 23:00",
        ];
        for start in starts {
            for minutes in [1, 59, 60, 540, 541, 2700, 6000] {
                let duration = Duration::minutes(minutes);
                let from = at(&cal, start);
                let due = cal.add_business_duration(from, duration);
                assert_eq!(
                    cal.business_duration_between(from, due),
                    duration,
                    "{start} + {minutes}m"
                );
            }
        }
    }

    #[test]
    fn berlin_office_hours_keep_their_wall_clock_across_dst_switches() {
        let cal = berlin();
        // 2026-03-29 and 2026-10-25 are the switch Sundays: offsets +01 → +02 → +01.
        let cases = [
            ("2026-03-27 16:00", hours(2), "2026-03-30 08:00"),
            ("2026-03-27 08:00", hours(9), "2026-03-27 17:00"),
            ("2026-03-30 07:00", hours(9), "2026-03-30 16:00"),
            ("2026-10-23 15:00", hours(3), "2026-10-26 10:00"),
        ];
        for (start_utc, duration, due_utc) in cases {
            assert_eq!(
                cal.add_business_duration(utc(start_utc), duration),
                utc(due_utc),
                "{start_utc}"
            );
        }
        // A full week around each switch is still 45 working hours.
        assert_eq!(
            cal.business_duration_between(
                at(&cal, "2026-03-26 00:00"),
                at(&cal, "2026-04-02 00:00")
            ),
            hours(45)
        );
        assert_eq!(
            cal.business_duration_between(
                at(&cal, "2026-10-22 00:00"),
                at(&cal, "2026-10-29 00:00")
            ),
            hours(45)
        );
    }

    #[test]
    fn round_the_clock_calendars_count_the_real_length_of_dst_days() {
        let cases = [
            ("Europe/Berlin", "2026-03-29", hours(23)),
            ("Europe/Berlin", "2026-10-25", hours(25)),
            ("America/New_York", "2026-03-08", hours(23)),
            ("America/New_York", "2026-11-01", hours(25)),
            ("Asia/Shanghai", "2026-03-29", hours(24)),
        ];
        for (zone, date, expected) in cases {
            let cal = calendar(&format!(
                r#"timezone = "{zone}"
                   days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                   start = "00:00"
                   end = "24:00""#
            ));
            let day: NaiveDate = date.parse().unwrap();
            let next = day.succ_opt().unwrap();
            let (from, to) = (
                at(&cal, &format!("{day} 00:00")),
                at(&cal, &format!("{next} 00:00")),
            );
            assert_eq!(
                cal.business_duration_between(from, to),
                expected,
                "{zone} {date}"
            );
            assert_eq!(
                cal.add_business_duration(from, expected),
                to,
                "{zone} {date}"
            );
        }
    }

    #[test]
    fn windows_edged_by_missing_or_repeated_wall_times_use_the_first_real_instant() {
        let every_day = r#"days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]"#;
        // (zone, start, end, date, expected working time that day)
        let cases = [
            // 02:30 does not exist on the spring switch: work starts when the clock jumps to 03:00.
            ("Europe/Berlin", "02:30", "12:00", "2026-03-29", hours(9)),
            (
                "Europe/Berlin",
                "02:30",
                "12:00",
                "2026-03-30",
                Duration::minutes(570),
            ),
            // The whole window lies in the gap: a day with no working time.
            (
                "Europe/Berlin",
                "02:10",
                "02:50",
                "2026-03-29",
                Duration::zero(),
            ),
            (
                "America/New_York",
                "02:00",
                "02:59",
                "2026-03-08",
                Duration::zero(),
            ),
            // 01:30 happens twice on the autumn switch: the first occurrence counts.
            (
                "America/New_York",
                "01:30",
                "03:00",
                "2026-11-01",
                Duration::minutes(150),
            ),
            (
                "America/New_York",
                "01:30",
                "03:00",
                "2026-11-02",
                Duration::minutes(90),
            ),
        ];
        for (zone, start, end, date, expected) in cases {
            let cal = calendar(&format!(
                "timezone = \"{zone}\"\n{every_day}\nstart = \"{start}\"\nend = \"{end}\""
            ));
            let day: NaiveDate = date.parse().unwrap();
            let from = at(&cal, &format!("{day} 00:00"));
            let to = at(&cal, &format!("{} 00:00", day.succ_opt().unwrap()));
            assert_eq!(
                cal.business_duration_between(from, to),
                expected,
                "{zone} {start}-{end} on {date}"
            );
        }
        let cal = calendar(&format!(
            "timezone = \"Europe/Berlin\"\n{every_day}\nstart = \"02:30\"\nend = \"12:00\""
        ));
        assert_eq!(
            cal.add_business_duration(utc("2026-03-28 22:00"), hours(1)),
            utc("2026-03-29 02:00")
        );
    }

    #[test]
    fn a_skipped_calendar_day_has_no_working_time() {
        // Samoa skipped 30 December 2011 when it moved across the date line.
        let cal = calendar(
            r#"timezone = "Pacific/Apia"
               days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]"#,
        );
        let from = at(&cal, "2011-12-29 09:00");
        assert_eq!(
            cal.business_duration_between(from, at(&cal, "2011-12-31 18:00")),
            hours(18)
        );
        assert_eq!(
            cal.add_business_duration(from, hours(10)),
            at(&cal, "2011-12-31 10:00")
        );
    }

    #[test]
    fn long_spans_are_computed_by_whole_days() {
        let cal = calendar(r#"timezone = "Asia/Shanghai""#);
        let monday = at(&cal, "2026-01-05 09:00");
        // 52 weeks of 45 hours end at the close of the 52nd Friday.
        assert_eq!(
            cal.add_business_duration(monday, hours(52 * 45)),
            at(&cal, "2027-01-01 18:00")
        );
        let ten_years_later = at(&cal, "2036-01-07 09:00");
        let mut weekdays = 0;
        let mut day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        while day < NaiveDate::from_ymd_opt(2036, 1, 7).unwrap() {
            if day.weekday().num_days_from_monday() < 5 {
                weekdays += 1;
            }
            day = day.succ_opt().unwrap();
        }
        assert_eq!(
            cal.business_duration_between(monday, ten_years_later),
            hours(9 * weekdays)
        );
    }

    #[test]
    fn defaults_are_weekdays_nine_to_six_in_shanghai() {
        let cal = calendar("");
        assert_eq!(cal, BusinessCalendar::default());
        assert_eq!(cal.timezone(), Tz::Asia__Shanghai);
        // 09:00 Shanghai is 01:00 UTC; 18:00 Shanghai is 10:00 UTC.
        let monday = utc("2026-11-30 01:00");
        assert_eq!(
            cal.add_business_duration(monday, hours(45)),
            utc("2026-12-04 10:00")
        );
    }

    #[test]
    fn bare_toml_dates_and_times_are_accepted() {
        let cal = calendar(
            "timezone = \"Asia/Shanghai\"\nstart = 08:30:00\nend = 17:30:00\nholidays = [2026-10-01]",
        );
        let quoted = calendar(
            "timezone = \"Asia/Shanghai\"\nstart = \"08:30\"\nend = \"17:30\"\nholidays = [\"2026-10-01\"]",
        );
        assert_eq!(cal, quoted);
        assert!(!cal.is_working_day("2026-10-01".parse().unwrap()));
    }

    #[test]
    fn invalid_settings_are_rejected_naming_the_key() {
        let cases = [
            (
                r#"timezone = "Asia/Shanghia""#,
                "business_hours.timezone: unknown time zone \"Asia/Shanghia\"",
            ),
            (
                r#"days = ["mon", "funday"]"#,
                "business_hours.days: unknown weekday \"funday\"",
            ),
            (
                "days = []",
                "business_hours.days: at least one working day is needed",
            ),
            (
                r#"start = "9am""#,
                "business_hours.start: invalid time \"9am\"",
            ),
            (
                r#"end = "24:01""#,
                "business_hours.end: invalid time \"24:01\"",
            ),
            (
                r#"end = "18:61""#,
                "business_hours.end: invalid time \"18:61\"",
            ),
            (
                r#"start = "18:00""#,
                "business_hours.end (18:00) must be later than business_hours.start (18:00)",
            ),
            (
                r#"start = "20:00""#,
                "business_hours.end (18:00) must be later than business_hours.start (20:00)",
            ),
            (
                r#"holidays = ["2026-13-01"]"#,
                "business_hours.holidays: invalid date \"2026-13-01\"",
            ),
            (
                r#"extra_workdays = ["soon"]"#,
                "business_hours.extra_workdays: invalid date \"soon\"",
            ),
            (
                "holidays = [\"2026-10-01\"]\nextra_workdays = [\"2026-10-01\"]",
                "business_hours: 2026-10-01 is listed in both holidays and extra_workdays",
            ),
            (r#"timezon = "UTC""#, "unknown field `timezon`"),
        ];
        for (text, message) in cases {
            let err = toml::from_str::<BusinessCalendar>(text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn times_of_day_parse_only_real_clock_times() {
        let cases = [
            ("09:00", Some(540)),
            ("9:05", Some(545)),
            ("24:00", Some(1440)),
            ("00:00", Some(0)),
            ("08:30:00", Some(510)),
            ("08:30:00.000", Some(510)),
            ("08:30:15", None),
            ("24:30", None),
            ("0900", None),
            ("09:0", None),
            ("", None),
        ];
        for (text, minutes) in cases {
            assert_eq!(
                text.parse::<TimeOfDay>().ok().map(TimeOfDay::minutes),
                minutes,
                "{text:?}"
            );
        }
        assert_eq!(TimeOfDay::hm(9, 5).unwrap().to_string(), "09:05");
    }
}
