//! The one place the pages turn an instant into words: in the reader's time zone (their
//! preference, else the `timezone` configuration key), always labelled with the zone, and as a
//! relative time ("2 h ago", "2 小时前") whose absolute form is on hover.
//!
//! Instants are stored as naive UTC (`crate::db::now`); every page formats them through
//! [`Timekeeper`], which the page context hands out ([`super::Page::times`]), so a page never
//! shows a bare UTC time next to a local one.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::catalog::builtin;
use crate::i18n::Lang;

/// Formats instants for one reader: their zone, their language, and the instant the page is built
/// (so every relative time on one page is measured from the same "now").
#[derive(Debug, Clone, Copy)]
pub struct Timekeeper {
    tz: Tz,
    lang: Lang,
    now: DateTime<Utc>,
}

impl Timekeeper {
    /// A formatter for `tz` and `lang`, measuring relative times from `now`.
    pub fn new(tz: Tz, lang: Lang, now: DateTime<Utc>) -> Timekeeper {
        Timekeeper { tz, lang, now }
    }

    /// The reader's zone.
    pub fn zone(&self) -> Tz {
        self.tz
    }

    /// The reader's language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The zone's label at `t`: its abbreviation ("CST", "CET") where the zone has a lettered
    /// one, else the offset ("+08:00") — chrono-tz gives numeric abbreviations such as "+08" for
    /// many zones, which read worse than the full offset.
    fn zone_label(&self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&self.tz);
        let abbreviation = local.format("%Z").to_string();
        if abbreviation.starts_with(['+', '-']) || abbreviation.is_empty() {
            local.format("%:z").to_string()
        } else {
            abbreviation
        }
    }

    /// "2026-12-06 14:30 CST": date, time to the minute, zone.
    pub fn absolute(&self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&self.tz);
        format!("{} {}", local.format("%Y-%m-%d %H:%M"), self.zone_label(t))
    }

    /// [`Timekeeper::absolute`] of a stored (naive UTC) instant.
    pub fn absolute_naive(&self, t: NaiveDateTime) -> String {
        self.absolute(t.and_utc())
    }

    /// "Mon 09:20 CST" / "周一 09:20 CST" within the coming or past week, else the absolute
    /// form: how a deadline reads on a badge.
    pub fn wall_clock(&self, t: DateTime<Utc>) -> String {
        if (t - self.now).num_days().abs() >= 6 {
            return self.absolute(t);
        }
        let local = t.with_timezone(&self.tz);
        let text = builtin(self.lang);
        let day = match local.weekday() {
            chrono::Weekday::Mon => text.t("time.weekday.mon"),
            chrono::Weekday::Tue => text.t("time.weekday.tue"),
            chrono::Weekday::Wed => text.t("time.weekday.wed"),
            chrono::Weekday::Thu => text.t("time.weekday.thu"),
            chrono::Weekday::Fri => text.t("time.weekday.fri"),
            chrono::Weekday::Sat => text.t("time.weekday.sat"),
            chrono::Weekday::Sun => text.t("time.weekday.sun"),
        };
        format!("{day} {} {}", local.format("%H:%M"), self.zone_label(t))
    }

    /// "just now", "5 min ago", "2 h ago", "3 d ago", "in 2 h" (zh "刚刚", "5 分钟前", "2 小时前",
    /// "3 天前", "2 小时后"); from 30 days on, the local date.
    pub fn relative(&self, t: DateTime<Utc>) -> String {
        let text = builtin(self.lang);
        let delta = self.now - t;
        let past = delta >= chrono::Duration::zero();
        let span = delta.abs();
        if span < chrono::Duration::minutes(1) {
            return text.t("time.just_now").to_string();
        }
        if span >= chrono::Duration::days(30) {
            return t.with_timezone(&self.tz).format("%Y-%m-%d").to_string();
        }
        let (n, unit) = if span < chrono::Duration::hours(1) {
            (span.num_minutes(), 0)
        } else if span < chrono::Duration::days(1) {
            (span.num_hours(), 1)
        } else {
            (span.num_days(), 2)
        };
        let form = match (past, unit) {
            (true, 0) => text.t("time.ago.minutes"),
            (true, 1) => text.t("time.ago.hours"),
            (true, _) => text.t("time.ago.days"),
            (false, 0) => text.t("time.in.minutes"),
            (false, 1) => text.t("time.in.hours"),
            (false, _) => text.t("time.in.days"),
        };
        form.replace("{n}", &n.to_string())
    }

    /// A stored instant as the pages show it: relative, with the absolute time on hover.
    pub fn stamp(&self, t: NaiveDateTime) -> Stamp {
        let utc = t.and_utc();
        Stamp {
            iso: utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            absolute: self.absolute(utc),
            relative: self.relative(utc),
        }
    }

    /// [`Timekeeper::stamp`] of an optional instant.
    pub fn stamp_opt(&self, t: Option<NaiveDateTime>) -> Option<Stamp> {
        t.map(|t| self.stamp(t))
    }
}

/// An instant ready for a page: renders as
/// `<time datetime="2026-12-06T06:30:00Z" title="2026-12-06 14:30 CST">2 h ago</time>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// RFC 3339 in UTC, for the `datetime` attribute.
    pub iso: String,
    /// Absolute local time with its zone (the hover text).
    pub absolute: String,
    /// Relative time (the visible text).
    pub relative: String,
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every part is built above from digits, zone names and catalogue strings; escaped anyway
        // so the safety does not depend on the catalogue.
        write!(
            f,
            r#"<time datetime="{}" title="{}">{}</time>"#,
            escape(&self.iso),
            escape(&self.absolute),
            escape(&self.relative)
        )
    }
}

// The markup above is complete and escaped, so templates print it as it is.
impl askama::filters::HtmlSafe for Stamp {}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Parses a posted IANA zone name ("Asia/Shanghai"); `None` for anything else.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// Every zone name the preferences page offers, in IANA order.
pub fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn absolute_times_carry_the_readers_zone() {
        let now = at(2026, 12, 6, 8, 0);
        let shanghai = Timekeeper::new(chrono_tz::Asia::Shanghai, Lang::En, now);
        let berlin = Timekeeper::new(chrono_tz::Europe::Berlin, Lang::En, now);
        let dubai = Timekeeper::new(chrono_tz::Asia::Dubai, Lang::En, now);
        let t = at(2026, 12, 6, 6, 30);
        assert_eq!(shanghai.absolute(t), "2026-12-06 14:30 CST");
        assert_eq!(berlin.absolute(t), "2026-12-06 07:30 CET");
        assert_eq!(dubai.absolute(t), "2026-12-06 10:30 +04:00");
    }

    #[test]
    fn relative_times_in_both_languages() {
        let now = at(2026, 12, 6, 8, 0);
        let en = Timekeeper::new(chrono_tz::UTC, Lang::En, now);
        let zh = Timekeeper::new(chrono_tz::UTC, Lang::ZhCn, now);
        assert_eq!(en.relative(at(2026, 12, 6, 6, 0)), "2 h ago");
        assert_eq!(zh.relative(at(2026, 12, 6, 6, 0)), "2 小时前");
        assert_eq!(en.relative(at(2026, 12, 6, 7, 55)), "5 min ago");
        assert_eq!(en.relative(now), "just now");
        assert_eq!(en.relative(at(2026, 12, 3, 8, 0)), "3 d ago");
        assert_eq!(en.relative(at(2026, 12, 6, 10, 0)), "in 2 h");
        assert_eq!(en.relative(at(2026, 10, 1, 8, 0)), "2026-10-01");
    }

    #[test]
    fn stamps_render_a_time_element_with_the_absolute_time_on_hover() {
        let now = at(2026, 12, 6, 8, 30);
        let k = Timekeeper::new(chrono_tz::Asia::Shanghai, Lang::En, now);
        let html = k.stamp(at(2026, 12, 6, 6, 30).naive_utc()).to_string();
        assert_eq!(
            html,
            r#"<time datetime="2026-12-06T06:30:00Z" title="2026-12-06 14:30 CST">2 h ago</time>"#
        );
    }

    #[test]
    fn deadlines_within_the_week_read_as_weekday_and_wall_clock() {
        // Saturday 2026-12-05; Monday 09:20 in Shanghai is 01:20 UTC.
        let now = at(2026, 12, 5, 4, 0);
        let k = Timekeeper::new(chrono_tz::Asia::Shanghai, Lang::En, now);
        assert_eq!(k.wall_clock(at(2026, 12, 7, 1, 20)), "Mon 09:20 CST");
        let zh = Timekeeper::new(chrono_tz::Asia::Shanghai, Lang::ZhCn, now);
        assert_eq!(zh.wall_clock(at(2026, 12, 7, 1, 20)), "周一 09:20 CST");
        assert_eq!(
            k.wall_clock(at(2026, 12, 20, 1, 20)),
            "2026-12-20 09:20 CST"
        );
    }

    #[test]
    fn only_iana_names_parse() {
        assert_eq!(
            parse_zone(" Asia/Shanghai "),
            Some(chrono_tz::Asia::Shanghai)
        );
        assert_eq!(parse_zone("Mars/Olympus"), None);
        assert!(zone_names().any(|n| n == "Europe/Berlin"));
    }
}
