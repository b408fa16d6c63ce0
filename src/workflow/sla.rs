//! SLA clocks: how long support may take to answer and to resolve, counted in business time.
//!
//! Three clocks, per case:
//! - **first response** (初次响应): starts when the case is created; met by the first outbound reply to the
//!   customer.
//! - **next response**: starts when a customer message arrives and no next-response clock is running
//!   (the oldest unanswered message sets the deadline); met by the next outbound reply.
//! - **resolution**: starts when the case is created; met when the case is resolved (or archived without
//!   passing through resolved). On reopen the caller starts a fresh resolution clock; the old one keeps its
//!   result.
//!
//! Internal notes, state changes and mail to engineering never meet a clock; only mail that reaches the
//! customer does. The caller decides which event is which and calls [`SlaClock::mark_met`].
//!
//! Clocks run only while the case is `new` or active and not `waiting_on_customer`
//! ([`clocks_run_in`]); the caller calls [`SlaClock::sync_with_state`] after every transition. A pause is
//! data (`paused_since`, `paused_total`), and resuming pushes `due_at` out by the business time spent
//! paused. Everything here is pure: each function changes only the clock it is given and reports whether
//! it did, so the caller knows when to save.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::i18n::Lang;
use crate::web::catalog::builtin;
use crate::workflow::business_hours::BusinessCalendar;
use crate::workflow::state::{CaseState, Priority};

/// What an SLA clock measures.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    /// Time to the first reply to the customer.
    FirstResponse,
    /// Time from a customer message to the next reply.
    NextResponse,
    /// Time to resolution.
    Resolution,
}

impl SlaMetric {
    /// Every metric.
    pub const ALL: [SlaMetric; 3] = [
        SlaMetric::FirstResponse,
        SlaMetric::NextResponse,
        SlaMetric::Resolution,
    ];

    /// The stored form and config key: `first_response`, `next_response`, `resolution`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaMetric::FirstResponse => "first_response",
            SlaMetric::NextResponse => "next_response",
            SlaMetric::Resolution => "resolution",
        }
    }

    /// The name shown to staff.
    pub fn label(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            SlaMetric::FirstResponse => text.t("sla.first_response"),
            SlaMetric::NextResponse => text.t("sla.next_response"),
            SlaMetric::Resolution => text.t("sla.resolution"),
        }
    }
}

impl fmt::Display for SlaMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether SLA clocks run in this state: yes for `new` and the active states, except while waiting on
/// the customer; no once the case is resolved or archived.
pub fn clocks_run_in(state: CaseState) -> bool {
    (state.is_initial() || state.is_active()) && state != CaseState::WaitingOnCustomer
}

/// Business-time targets for one priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaTargets {
    /// Until the first reply.
    pub first_response: Duration,
    /// From a customer message to the next reply.
    pub next_response: Duration,
    /// Until resolution.
    pub resolution: Duration,
}

impl SlaTargets {
    /// The target for one metric.
    pub fn get(&self, metric: SlaMetric) -> Duration {
        match metric {
            SlaMetric::FirstResponse => self.first_response,
            SlaMetric::NextResponse => self.next_response,
            SlaMetric::Resolution => self.resolution,
        }
    }

    const fn hours(first_response: i64, next_response: i64, resolution: i64) -> SlaTargets {
        SlaTargets {
            first_response: Duration::hours(first_response),
            next_response: Duration::hours(next_response),
            resolution: Duration::hours(resolution),
        }
    }

    /// The default for a priority, in business hours (a business day is 9 h with the default calendar):
    ///
    /// | priority | first response | next response | resolution        |
    /// |----------|----------------|---------------|-------------------|
    /// | urgent   | 1h             | 2h            | 9h (1 day)        |
    /// | high     | 4h             | 4h            | 27h (3 days)      |
    /// | normal   | 8h             | 8h            | 45h (5 days)      |
    /// | low      | 16h            | 16h           | 90h (10 days)     |
    pub const fn default_for(priority: Priority) -> SlaTargets {
        match priority {
            Priority::Urgent => SlaTargets::hours(1, 2, 9),
            Priority::High => SlaTargets::hours(4, 4, 27),
            Priority::Normal => SlaTargets::hours(8, 8, 45),
            Priority::Low => SlaTargets::hours(16, 16, 90),
        }
    }
}

/// A setting under `[sla]` is invalid. Each message names the key to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaConfigError {
    /// A target is not a positive business duration.
    #[error(
        "{key}: invalid duration {value:?} (expected positive business hours and minutes such as \"8h\", \"90m\" or \"1h30m\"; days are not accepted because a business day's length depends on the calendar)"
    )]
    Duration {
        /// The full key, e.g. `sla.normal.first_response`.
        key: String,
        /// The text found.
        value: String,
    },
    /// `near_breach_percent` is outside 1–100.
    #[error("sla.near_breach_percent: {0} is out of range (expected 1 to 100)")]
    NearBreach(i64),
}

/// Parses a business duration: hours and/or minutes, e.g. `8h`, `90m`, `1h30m`, `1h 30m`.
pub fn parse_business_duration(text: &str) -> Option<Duration> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (hours, rest) = match compact.split_once('h') {
        Some((h, rest)) => (Some(h), rest),
        None => (None, compact.as_str()),
    };
    let minutes = match rest {
        "" => None,
        m => Some(m.strip_suffix('m')?),
    };
    if hours.is_none() && minutes.is_none() {
        return None;
    }
    let number = |t: Option<&str>| match t {
        None => Some(0),
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i64>().ok()
        }
        Some(_) => None,
    };
    let total = number(hours)?
        .checked_mul(60)?
        .checked_add(number(minutes)?)?;
    // Ten thousand hours keeps far inside chrono's range and far beyond any sensible SLA.
    (total > 0 && total <= 600_000).then(|| Duration::minutes(total))
}

/// Per-priority SLA targets and the near-breach threshold.
///
/// TOML shape (every key optional; a missing key keeps the default from [`SlaTargets::default_for`]):
///
/// ```toml
/// [sla]
/// near_breach_percent = 80      # "near breach" once this share of the target has elapsed
///
/// [sla.normal]
/// first_response = "8h"
/// next_response = "8h"
/// resolution = "45h"
/// # likewise [sla.urgent], [sla.high], [sla.low]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "RawSlaConfig")]
pub struct SlaConfig {
    targets: BTreeMap<Priority, SlaTargets>,
    near_breach_percent: u8,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            targets: Priority::ALL
                .into_iter()
                .map(|p| (p, SlaTargets::default_for(p)))
                .collect(),
            near_breach_percent: 80,
        }
    }
}

impl SlaConfig {
    /// The targets for a priority.
    pub fn targets(&self, priority: Priority) -> SlaTargets {
        self.targets
            .get(&priority)
            .copied()
            .unwrap_or(SlaTargets::default_for(priority))
    }

    /// The share of a target (in percent) after which a running clock counts as near breach.
    pub fn near_breach_percent(&self) -> u8 {
        self.near_breach_percent
    }

    /// Starts a clock for `metric` at `at` with this priority's target.
    pub fn start_clock(
        &self,
        metric: SlaMetric,
        priority: Priority,
        at: DateTime<Utc>,
        calendar: &BusinessCalendar,
    ) -> SlaClock {
        SlaClock::start(
            metric,
            self.targets(priority).get(metric),
            self.near_breach_percent,
            at,
            calendar,
        )
    }
}

#[derive(Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawSlaConfig {
    near_breach_percent: Option<i64>,
    urgent: RawTargets,
    high: RawTargets,
    normal: RawTargets,
    low: RawTargets,
}

#[derive(Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawTargets {
    first_response: Option<String>,
    next_response: Option<String>,
    resolution: Option<String>,
}

impl TryFrom<RawSlaConfig> for SlaConfig {
    type Error = SlaConfigError;

    fn try_from(raw: RawSlaConfig) -> Result<Self, Self::Error> {
        let near_breach_percent = match raw.near_breach_percent {
            None => 80,
            Some(p) => u8::try_from(p)
                .ok()
                .filter(|p| (1..=100).contains(p))
                .ok_or(SlaConfigError::NearBreach(p))?,
        };
        let mut targets = BTreeMap::new();
        for (priority, raw_targets) in [
            (Priority::Urgent, &raw.urgent),
            (Priority::High, &raw.high),
            (Priority::Normal, &raw.normal),
            (Priority::Low, &raw.low),
        ] {
            let defaults = SlaTargets::default_for(priority);
            let target = |metric: SlaMetric, text: &Option<String>| match text {
                None => Ok(defaults.get(metric)),
                Some(text) => {
                    parse_business_duration(text).ok_or_else(|| SlaConfigError::Duration {
                        key: format!("sla.{priority}.{metric}"),
                        value: text.clone(),
                    })
                }
            };
            targets.insert(
                priority,
                SlaTargets {
                    first_response: target(SlaMetric::FirstResponse, &raw_targets.first_response)?,
                    next_response: target(SlaMetric::NextResponse, &raw_targets.next_response)?,
                    resolution: target(SlaMetric::Resolution, &raw_targets.resolution)?,
                },
            );
        }
        Ok(SlaConfig {
            targets,
            near_breach_percent,
        })
    }
}

/// Durations stored as whole seconds, so the clock round-trips through JSON and integer columns.
mod seconds {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_seconds())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = i64::deserialize(d)?;
        Duration::try_seconds(secs).ok_or_else(|| {
            serde::de::Error::custom(format!("duration of {secs} s is out of range"))
        })
    }
}

/// One SLA clock of one case. Fields are public so the caller can store and reload them; change them only
/// through the methods, which keep `due_at`, `paused_total` and `breached_at` consistent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlaClock {
    /// What it measures.
    pub metric: SlaMetric,
    /// The business-time target it started with (kept, so later config changes do not move old clocks).
    /// Serialized as whole seconds.
    #[serde(with = "seconds")]
    pub target: Duration,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The deadline, already pushed out by every finished pause.
    pub due_at: DateTime<Utc>,
    /// The first instant at which the near-breach share of the target has elapsed (the business time
    /// left until `due_at` is at most the rest of the target), fixed like `target` when the clock
    /// starts or is re-targeted and pushed out with `due_at` by every pause. `None` only for clocks
    /// stored before it existed and not yet filled in: such a clock is never near breach.
    #[serde(default)]
    pub near_breach_at: Option<DateTime<Utc>>,
    /// When it was met; `None` while open.
    pub met_at: Option<DateTime<Utc>>,
    /// Set to `due_at` (at that moment) once the deadline passed unmet; never cleared.
    pub breached_at: Option<DateTime<Utc>>,
    /// Since when it is paused; `None` while running.
    pub paused_since: Option<DateTime<Utc>>,
    /// Business time spent in finished pauses. Serialized as whole seconds.
    #[serde(with = "seconds")]
    pub paused_total: Duration,
}

/// What a clock looks like at some instant, for badges and sorting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockStatus {
    /// Running with this much business time left.
    Running {
        /// Business time until `due_at`.
        remaining: Duration,
    },
    /// Running, and the near-breach share of the target has elapsed.
    NearBreach {
        /// Business time until `due_at`.
        remaining: Duration,
    },
    /// Past the deadline and not met.
    Overdue {
        /// Business time since `due_at` (zero outside business hours right after the deadline).
        by: Duration,
    },
    /// Met; `on_time` is false when it was met after breaching.
    Met {
        /// Whether it was met by the deadline.
        on_time: bool,
    },
    /// Paused while the case waits on the customer or is inactive (even if it breached before the
    /// pause; `breached_at` keeps that fact).
    Paused,
}

/// [`ClockStatus`] without the amounts: what a clock is at some instant, decided from its stored
/// instants (`met_at`, `paused_since`, `breached_at`, `due_at`, `near_breach_at`) alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockPhase {
    /// Running, before the near-breach instant.
    Running,
    /// Running, at or after the near-breach instant, not past the deadline.
    NearBreach,
    /// Running (or breached and resumed) past the deadline, not met.
    Overdue,
    /// Met.
    Met {
        /// Whether it was met without a breach.
        on_time: bool,
    },
    /// Paused, not met.
    Paused,
}

impl ClockPhase {
    /// The name integrations read (the `status` of a clock in the case JSON): `running`,
    /// `near_breach`, `overdue`, `met`, `met_late` or `paused` — the badge's meaning without its words.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockPhase::Running => "running",
            ClockPhase::NearBreach => "near_breach",
            ClockPhase::Overdue => "overdue",
            ClockPhase::Met { on_time: true } => "met",
            ClockPhase::Met { on_time: false } => "met_late",
            ClockPhase::Paused => "paused",
        }
    }
}

/// The SLA conditions a case list can ask for. A case matches when one of its clocks does. Defined
/// once, in Rust by [`SlaCondition::holds`] and in SQL by [`crate::workflow::sla_sql::condition`];
/// a property test runs both over random clocks on both databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlaCondition {
    /// Counting toward its deadline: not met, not paused (near breach and overdue included).
    Running,
    /// [`ClockPhase::Overdue`].
    Overdue,
    /// [`ClockPhase::NearBreach`]: the case list's "due soon".
    DueSoon,
    /// [`SlaClock::has_breached`], whether or not met later (for reviewing the month).
    Breached,
    /// [`ClockPhase::Paused`].
    Paused,
}

impl SlaCondition {
    /// Every condition.
    pub const ALL: [SlaCondition; 5] = [
        SlaCondition::Running,
        SlaCondition::Overdue,
        SlaCondition::DueSoon,
        SlaCondition::Breached,
        SlaCondition::Paused,
    ];

    /// Whether `clock` is in this condition at `now`.
    pub fn holds(self, clock: &SlaClock, now: DateTime<Utc>) -> bool {
        let phase = clock.phase(now);
        match self {
            SlaCondition::Running => matches!(
                phase,
                ClockPhase::Running | ClockPhase::NearBreach | ClockPhase::Overdue
            ),
            SlaCondition::Overdue => phase == ClockPhase::Overdue,
            SlaCondition::DueSoon => phase == ClockPhase::NearBreach,
            SlaCondition::Breached => clock.has_breached(now),
            SlaCondition::Paused => phase == ClockPhase::Paused,
        }
    }
}

impl ClockStatus {
    /// A short text for the pages, e.g. "due in 3h 20m", "overdue by 1h", "3小时20分钟后到期".
    /// Amounts are business time in hours and minutes; whole days are not used because a business
    /// day's length depends on the calendar.
    pub fn label(&self, lang: Lang) -> String {
        let under_a_minute = |d: Duration| d < Duration::minutes(1);
        let text = builtin(lang);
        match *self {
            ClockStatus::Running { remaining } | ClockStatus::NearBreach { remaining } => {
                if under_a_minute(remaining) {
                    text.t("sla.due_now").to_string()
                } else {
                    text.t("sla.due_in")
                        .replace("{duration}", &format_business_duration(remaining, lang))
                }
            }
            ClockStatus::Overdue { by } => {
                if under_a_minute(by) {
                    text.t("sla.overdue").to_string()
                } else {
                    text.t("sla.overdue_by")
                        .replace("{duration}", &format_business_duration(by, lang))
                }
            }
            ClockStatus::Met { on_time: true } => text.t("sla.met").to_string(),
            ClockStatus::Met { on_time: false } => text.t("sla.met_late").to_string(),
            ClockStatus::Paused => text.t("sla.paused").to_string(),
        }
    }
}

/// Hours and minutes, rounded down to the minute: "3h 20m", "1h", "45m" / "3小时20分钟", "1小时", "45分钟".
/// From a day's worth of hours on, minutes are left out and thousands grouped ("10,894h"): a
/// case imported from years ago is overdue by a number nobody reads to the minute.
pub fn format_business_duration(duration: Duration, lang: Lang) -> String {
    let minutes = duration.num_minutes().max(0);
    let (h, m) = (minutes / 60, minutes % 60);
    let text = builtin(lang);
    if h >= 24 {
        let digits = h.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        return text.t("sla.duration.hours").replace("{hours}", &grouped);
    }
    match (h, m) {
        (0, m) => text
            .t("sla.duration.minutes")
            .replace("{minutes}", &m.to_string()),
        (h, 0) => text
            .t("sla.duration.hours")
            .replace("{hours}", &h.to_string()),
        (h, m) => text
            .t("sla.duration.hours_minutes")
            .replace("{hours}", &h.to_string())
            .replace("{minutes}", &m.to_string()),
    }
}

impl SlaClock {
    /// A running clock started at `at`, due once `target` of business time has passed, near breach
    /// once `near_breach_percent` of it has.
    pub fn start(
        metric: SlaMetric,
        target: Duration,
        near_breach_percent: u8,
        at: DateTime<Utc>,
        calendar: &BusinessCalendar,
    ) -> SlaClock {
        let mut clock = SlaClock {
            metric,
            target,
            started_at: at,
            due_at: calendar.add_business_duration(at, target),
            near_breach_at: None,
            met_at: None,
            breached_at: None,
            paused_since: None,
            paused_total: Duration::zero(),
        };
        clock.near_breach_at = Some(clock.near_breach_instant(near_breach_percent, calendar));
        clock
    }

    /// The instant from which the business time left until `due_at` is at most `100 −
    /// near_breach_percent` % of the target (whole seconds, rounded down): the earliest instant at
    /// which that much business time has run since the start, counting the finished pauses already
    /// added to `due_at`. Used when the clock starts or is re-targeted and by the fix-up of rows
    /// stored before the column existed ([`crate::workflow::service::fill_near_breach`]).
    pub fn near_breach_instant(
        &self,
        near_breach_percent: u8,
        calendar: &BusinessCalendar,
    ) -> DateTime<Utc> {
        let rest_percent = 100 - i128::from(near_breach_percent.min(100));
        // i128: a reloaded clock's target is not bounded by config validation.
        let rest_seconds = i128::from(self.target.num_seconds()) * rest_percent / 100;
        let rest = Duration::try_seconds(i64::try_from(rest_seconds).unwrap_or(i64::MAX))
            .unwrap_or(Duration::MAX);
        let total = calendar.business_duration_between(self.started_at, self.due_at);
        if total <= rest {
            return self.started_at;
        }
        calendar.add_business_duration(self.started_at, total - rest)
    }

    /// Gives an open clock a new target (a priority change): the deadline becomes its start plus the
    /// new target plus the time already spent paused, and the near-breach instant follows. A stored
    /// breach stays (checked against `at`).
    pub fn retarget(
        &mut self,
        target: Duration,
        near_breach_percent: u8,
        at: DateTime<Utc>,
        calendar: &BusinessCalendar,
    ) {
        self.target = target;
        self.due_at = calendar.add_business_duration(self.started_at, target + self.paused_total);
        self.near_breach_at = Some(self.near_breach_instant(near_breach_percent, calendar));
        self.check_breach(at);
    }

    /// Whether the clock is still counting toward its deadline (not met, not paused).
    pub fn is_running(&self) -> bool {
        self.met_at.is_none() && self.paused_since.is_none()
    }

    /// Stops the clock at `at`. A deadline that had already passed is recorded as breached first, so a
    /// pause never hides a breach. Returns whether anything changed (not if met or already paused).
    pub fn pause(&mut self, at: DateTime<Utc>) -> bool {
        if !self.is_running() {
            return false;
        }
        self.check_breach(at);
        self.paused_since = Some(at);
        true
    }

    /// Restarts a paused clock at `at`, pushing `due_at` out by the business time spent paused.
    /// Returns whether anything changed (not if it was not paused).
    pub fn resume(&mut self, at: DateTime<Utc>, calendar: &BusinessCalendar) -> bool {
        let Some(since) = self.paused_since.take() else {
            return false;
        };
        let spent = calendar.business_duration_between(since, at);
        self.paused_total += spent;
        self.due_at = calendar.add_business_duration(self.due_at, spent);
        // Shifting by the same business time keeps the same business time between the two instants,
        // so the threshold needs no config here.
        self.near_breach_at = self
            .near_breach_at
            .map(|near| calendar.add_business_duration(near, spent));
        true
    }

    /// Pauses or resumes the clock to match the case's new state ([`clocks_run_in`]). Call after every
    /// transition. Returns whether anything changed.
    pub fn sync_with_state(
        &mut self,
        state: CaseState,
        at: DateTime<Utc>,
        calendar: &BusinessCalendar,
    ) -> bool {
        if clocks_run_in(state) {
            self.resume(at, calendar)
        } else {
            self.pause(at)
        }
    }

    /// Records that the clock's goal was reached at `at` (an outbound reply to the customer for the
    /// response clocks; resolving for the resolution clock). A paused clock is resumed at `at` first, so
    /// its pause is not counted. Late replies are recorded as breached. Returns whether anything changed
    /// (not if already met: the first reply is the one that counts).
    pub fn mark_met(&mut self, at: DateTime<Utc>, calendar: &BusinessCalendar) -> bool {
        if self.met_at.is_some() {
            return false;
        }
        self.resume(at, calendar);
        self.check_breach(at);
        self.met_at = Some(at);
        true
    }

    /// Records a breach (`breached_at = due_at`) if `now` is past the deadline of a running clock.
    /// Call it from a periodic sweep and before showing or saving a clock. Returns whether it changed.
    pub fn check_breach(&mut self, now: DateTime<Utc>) -> bool {
        if self.is_running() && self.breached_at.is_none() && now > self.due_at {
            self.breached_at = Some(self.due_at);
            return true;
        }
        false
    }

    /// The clock's phase at `now`, from the stored instants only: the one definition behind both the
    /// badge ([`SlaClock::status`]) and the case list's SLA filters ([`SlaCondition`], whose SQL twin
    /// is [`crate::workflow::sla_sql`]).
    pub fn phase(&self, now: DateTime<Utc>) -> ClockPhase {
        if self.met_at.is_some() {
            return ClockPhase::Met {
                on_time: self.breached_at.is_none(),
            };
        }
        if self.paused_since.is_some() {
            return ClockPhase::Paused;
        }
        if self.breached_at.is_some() || now > self.due_at {
            return ClockPhase::Overdue;
        }
        if self.near_breach_at.is_some_and(|near| now >= near) {
            ClockPhase::NearBreach
        } else {
            ClockPhase::Running
        }
    }

    /// The business time a met clock ran: from its start until it was met, the finished pauses
    /// (`paused_total`) left out; `None` while it is open. This is the number the dashboard's
    /// response and resolution times are made of, stored with the clock when it is met
    /// (`sla_clocks.elapsed_seconds`), so reports aggregate it in SQL.
    pub fn business_time_used(&self, calendar: &BusinessCalendar) -> Option<Duration> {
        let met = self.met_at?;
        let ran = calendar.business_duration_between(self.started_at, met) - self.paused_total;
        Some(ran.max(Duration::zero()))
    }

    /// Whether the clock breached by `now`: a stored breach, a running clock past its deadline (the
    /// sweep has not recorded it yet), or met after its deadline. A paused clock whose deadline passed
    /// during the pause has not breached: resuming pushes the deadline out.
    pub fn has_breached(&self, now: DateTime<Utc>) -> bool {
        self.breached_at.is_some()
            || self.phase(now) == ClockPhase::Overdue
            || self.met_at.is_some_and(|met| met > self.due_at)
    }

    /// The clock's status at `now` ([`SlaClock::phase`] with the business time left or over).
    pub fn status(&self, now: DateTime<Utc>, calendar: &BusinessCalendar) -> ClockStatus {
        match self.phase(now) {
            ClockPhase::Met { on_time } => ClockStatus::Met { on_time },
            ClockPhase::Paused => ClockStatus::Paused,
            ClockPhase::Overdue => ClockStatus::Overdue {
                by: calendar.business_duration_between(self.due_at, now),
            },
            ClockPhase::NearBreach => ClockStatus::NearBreach {
                remaining: calendar.business_duration_between(now, self.due_at),
            },
            ClockPhase::Running => ClockStatus::Running {
                remaining: calendar.business_duration_between(now, self.due_at),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDateTime, TimeZone};

    /// Asia/Shanghai, weekdays 09:00–18:00, with the National Day holidays.
    fn calendar() -> BusinessCalendar {
        toml::from_str(
            r#"timezone = "Asia/Shanghai"
               holidays = ["2026-10-01", "2026-10-02"]"#,
        )
        .unwrap()
    }

    /// Local Shanghai wall time as UTC.
    fn at(text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&naive)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    fn m(minutes: i64) -> Duration {
        Duration::minutes(minutes)
    }

    #[test]
    fn business_time_used_counts_working_hours_and_leaves_out_pauses() {
        let cal = calendar();
        let start = |t| SlaClock::start(SlaMetric::Resolution, h(45), 80, at(t), &cal);
        // Friday 17:00 → Monday 10:00: one hour on Friday, one on Monday; the weekend is not work.
        let mut clock = start("2026-09-18 17:00");
        assert_eq!(
            clock.business_time_used(&cal),
            None,
            "open clocks have none"
        );
        clock.mark_met(at("2026-09-21 10:00"), &cal);
        assert_eq!(clock.business_time_used(&cal), Some(h(2)));
        // Monday 09:00, waiting on the customer 11:00–15:00, met Tuesday 10:00: 9 + 1 − 4 hours.
        let mut clock = start("2026-09-21 09:00");
        clock.pause(at("2026-09-21 11:00"));
        clock.resume(at("2026-09-21 15:00"), &cal);
        clock.mark_met(at("2026-09-22 10:00"), &cal);
        assert_eq!(clock.business_time_used(&cal), Some(h(6)));
        // Met while paused: the pause up to the meeting is left out too.
        let mut clock = start("2026-09-21 09:00");
        clock.pause(at("2026-09-21 10:30"));
        clock.mark_met(at("2026-09-21 17:00"), &cal);
        assert_eq!(clock.business_time_used(&cal), Some(m(90)));
    }

    #[test]
    fn default_targets_follow_the_documented_table() {
        let config = SlaConfig::default();
        let cases = [
            (Priority::Urgent, h(1), h(2), h(9)),
            (Priority::High, h(4), h(4), h(27)),
            (Priority::Normal, h(8), h(8), h(45)),
            (Priority::Low, h(16), h(16), h(90)),
        ];
        for (priority, first, next, resolution) in cases {
            let t = config.targets(priority);
            assert_eq!(
                (t.first_response, t.next_response, t.resolution),
                (first, next, resolution),
                "{priority}"
            );
        }
        assert_eq!(config.near_breach_percent(), 80);
        assert_eq!(toml::from_str::<SlaConfig>("").unwrap(), config);
    }

    #[test]
    fn config_overrides_only_the_keys_given() {
        let config: SlaConfig = toml::from_str(
            r#"near_breach_percent = 75
               [normal]
               first_response = "4h"
               [urgent]
               resolution = "1h 30m""#,
        )
        .unwrap();
        assert_eq!(config.near_breach_percent(), 75);
        assert_eq!(config.targets(Priority::Normal).first_response, h(4));
        assert_eq!(config.targets(Priority::Normal).next_response, h(8));
        assert_eq!(config.targets(Priority::Urgent).resolution, m(90));
        assert_eq!(
            config.targets(Priority::Low),
            SlaTargets::default_for(Priority::Low)
        );
    }

    #[test]
    fn invalid_sla_settings_are_rejected_naming_the_key() {
        let cases = [
            (
                "[normal]\nfirst_response = \"8 hours\"",
                "sla.normal.first_response: invalid duration \"8 hours\"",
            ),
            (
                "[low]\nresolution = \"10d\"",
                "sla.low.resolution: invalid duration \"10d\"",
            ),
            (
                "[high]\nnext_response = \"0h\"",
                "sla.high.next_response: invalid duration \"0h\"",
            ),
            (
                "near_breach_percent = 0",
                "sla.near_breach_percent: 0 is out of range",
            ),
            (
                "near_breach_percent = 300",
                "sla.near_breach_percent: 300 is out of range",
            ),
            (
                "[normal]\nfirst_respons = \"8h\"",
                "unknown field `first_respons`",
            ),
            (
                "[critical]\nfirst_response = \"8h\"",
                "unknown field `critical`",
            ),
        ];
        for (text, message) in cases {
            let err = toml::from_str::<SlaConfig>(text).unwrap_err().to_string();
            assert!(err.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn business_durations_parse_hours_and_minutes_only() {
        let cases = [
            ("8h", Some(h(8))),
            ("45h", Some(h(45))),
            ("90m", Some(m(90))),
            ("1h30m", Some(m(90))),
            (" 1h 30m ", Some(m(90))),
            ("0h", None),
            ("", None),
            ("h", None),
            ("8", None),
            ("2d", None),
            ("1.5h", None),
            ("-1h", None),
            ("30m1h", None),
            ("99999999999999999h", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_business_duration(text), expected, "{text:?}");
        }
    }

    #[test]
    fn clocks_run_only_in_new_and_active_states_except_waiting_on_customer() {
        let cases = [
            (CaseState::New, true),
            (CaseState::Defined, true),
            (CaseState::Scoped, true),
            (CaseState::Investigating, true),
            (CaseState::WaitingOnCustomer, false),
            (CaseState::Escalated, true),
            (CaseState::Resolved, false),
            (CaseState::Archived, false),
        ];
        for (state, runs) in cases {
            assert_eq!(clocks_run_in(state), runs, "{state}");
        }
    }

    #[test]
    fn a_clock_started_out_of_hours_is_due_from_the_next_opening() {
        let cal = calendar();
        let config = SlaConfig::default();
        let cases = [
            (
                SlaMetric::FirstResponse,
                Priority::Normal,
                "2026-09-21 10:00",
                "2026-09-21 18:00",
            ),
            (
                SlaMetric::FirstResponse,
                Priority::Urgent,
                "2026-09-25 22:30",
                "2026-09-28 10:00",
            ),
            (
                SlaMetric::NextResponse,
                Priority::Urgent,
                "2026-09-21 17:00",
                "2026-09-22 10:00",
            ),
            (
                SlaMetric::Resolution,
                Priority::High,
                "2026-09-29 09:00",
                "2026-10-05 18:00",
            ),
        ];
        for (metric, priority, start, due) in cases {
            let clock = config.start_clock(metric, priority, at(start), &cal);
            assert_eq!(clock.due_at, at(due), "{metric} {priority} from {start}");
            assert_eq!(clock.target, config.targets(priority).get(metric));
        }
    }

    #[test]
    fn pauses_push_the_deadline_by_the_business_time_spent_paused() {
        let cal = calendar();
        // (pause, resume, expected due, expected paused_total) for an 8h clock started Monday 09:00, due 17:00.
        let cases = [
            (
                "2026-09-21 11:00",
                "2026-09-21 13:00",
                "2026-09-22 10:00",
                h(2),
            ),
            (
                "2026-09-21 16:00",
                "2026-09-22 10:00",
                "2026-09-22 11:00",
                h(3),
            ),
            (
                "2026-09-21 16:30",
                "2026-09-21 21:00",
                "2026-09-22 09:30",
                m(90),
            ),
            (
                "2026-09-21 17:00",
                "2026-09-22 09:00",
                "2026-09-21 18:00",
                h(1),
            ),
            (
                "2026-09-21 12:00",
                "2026-09-25 12:00",
                "2026-09-25 17:00",
                h(36),
            ),
        ];
        for (pause, resume, due, spent) in cases {
            let mut clock = SlaClock::start(
                SlaMetric::FirstResponse,
                h(8),
                80,
                at("2026-09-21 09:00"),
                &cal,
            );
            let pause_at = at(pause);
            assert!(clock.pause(pause_at));
            assert!(!clock.pause(pause_at), "pausing twice changes nothing");
            assert!(clock.resume(at(resume), &cal));
            assert!(
                !clock.resume(at(resume), &cal),
                "resuming twice changes nothing"
            );
            assert_eq!(
                (clock.due_at, clock.paused_total),
                (at(due), spent),
                "paused {pause} → {resume}"
            );
        }
    }

    #[test]
    fn a_pause_across_a_holiday_weekend_costs_nothing_while_the_office_is_closed() {
        let cal = calendar();
        let mut clock = SlaClock::start(
            SlaMetric::NextResponse,
            h(8),
            80,
            at("2026-09-30 14:00"),
            &cal,
        );
        assert_eq!(clock.due_at, at("2026-10-05 13:00"));
        clock.pause(at("2026-09-30 18:00"));
        clock.resume(at("2026-10-05 09:00"), &cal);
        assert_eq!(
            (clock.due_at, clock.paused_total),
            (at("2026-10-05 13:00"), Duration::zero())
        );
    }

    #[test]
    fn state_changes_pause_and_resume_the_clock() {
        let cal = calendar();
        let mut clock = SlaClock::start(
            SlaMetric::Resolution,
            h(45),
            80,
            at("2026-09-21 09:00"),
            &cal,
        );
        let steps = [
            (CaseState::Defined, "2026-09-21 10:00", false, false),
            (CaseState::WaitingOnCustomer, "2026-09-21 11:00", true, true),
            (
                CaseState::WaitingOnCustomer,
                "2026-09-21 11:30",
                false,
                true,
            ),
            (CaseState::Investigating, "2026-09-21 15:00", true, false),
            (CaseState::Resolved, "2026-09-22 09:00", true, true),
            (CaseState::Archived, "2026-09-22 10:00", false, true),
            (CaseState::Investigating, "2026-09-23 09:00", true, false),
        ];
        for (state, when, changed, paused) in steps {
            assert_eq!(
                clock.sync_with_state(state, at(when), &cal),
                changed,
                "{state} at {when}"
            );
            assert_eq!(clock.paused_since.is_some(), paused, "{state} at {when}");
        }
        // Paused 4h on the first day and 9h (a full day) between resolved and the reopen.
        assert_eq!(clock.paused_total, h(13));
        assert_eq!(clock.due_at, at("2026-09-29 13:00"));
    }

    #[test]
    fn replies_meet_clocks_and_late_replies_are_recorded_as_breaches() {
        let cal = calendar();
        let start = at("2026-09-21 09:00");
        let cases = [
            ("2026-09-21 12:00", true, None),
            ("2026-09-21 13:00", true, None),
            ("2026-09-21 14:30", false, Some("2026-09-21 13:00")),
        ];
        for (reply, on_time, breached) in cases {
            let mut clock = SlaClock::start(SlaMetric::FirstResponse, h(4), 80, start, &cal);
            assert!(clock.mark_met(at(reply), &cal));
            assert!(
                !clock.mark_met(at("2026-09-22 09:00"), &cal),
                "only the first reply counts"
            );
            assert_eq!(clock.met_at, Some(at(reply)));
            assert_eq!(clock.breached_at, breached.map(at), "reply at {reply}");
            assert_eq!(
                clock.status(at("2026-09-23 09:00"), &cal),
                ClockStatus::Met { on_time }
            );
        }
    }

    #[test]
    fn replying_while_paused_ends_the_pause_first() {
        let cal = calendar();
        let mut clock = SlaClock::start(
            SlaMetric::FirstResponse,
            h(4),
            80,
            at("2026-09-21 09:00"),
            &cal,
        );
        clock.pause(at("2026-09-21 10:00"));
        assert!(clock.mark_met(at("2026-09-21 16:00"), &cal));
        assert_eq!(
            (clock.paused_since, clock.paused_total, clock.breached_at),
            (None, h(6), None)
        );
    }

    #[test]
    fn breaches_are_recorded_at_the_deadline_only_for_running_unmet_clocks() {
        let cal = calendar();
        let start = at("2026-09-21 09:00");
        let due = at("2026-09-21 10:00");
        let fresh = || SlaClock::start(SlaMetric::FirstResponse, h(1), 80, start, &cal);
        let mut met = fresh();
        met.mark_met(at("2026-09-21 09:30"), &cal);
        let mut paused = fresh();
        paused.pause(at("2026-09-21 09:30"));
        let cases = [
            ("before the deadline", fresh(), "2026-09-21 09:59", None),
            ("exactly at the deadline", fresh(), "2026-09-21 10:00", None),
            ("after the deadline", fresh(), "2026-09-21 10:01", Some(due)),
            ("already met", met, "2026-09-21 12:00", None),
            ("paused", paused, "2026-09-21 12:00", None),
        ];
        for (what, mut clock, now, breached) in cases {
            assert_eq!(clock.check_breach(at(now)), breached.is_some(), "{what}");
            assert_eq!(clock.breached_at, breached, "{what}");
            assert!(
                !clock.check_breach(at(now)),
                "{what}: a breach is recorded once"
            );
        }
    }

    #[test]
    fn pausing_after_the_deadline_keeps_the_breach() {
        let cal = calendar();
        let mut clock = SlaClock::start(
            SlaMetric::FirstResponse,
            h(1),
            80,
            at("2026-09-21 09:00"),
            &cal,
        );
        clock.pause(at("2026-09-21 11:00"));
        assert_eq!(clock.breached_at, Some(at("2026-09-21 10:00")));
        clock.resume(at("2026-09-21 14:00"), &cal);
        // Overdue time counts only running time: 1h before the pause, 30 minutes after it.
        let status = clock.status(at("2026-09-21 14:30"), &cal);
        assert_eq!(status, ClockStatus::Overdue { by: m(90) });
    }

    #[test]
    fn status_reports_running_near_breach_overdue_and_paused() {
        let cal = calendar();
        // 9h clock from Monday 09:00, due Monday 18:00; near breach once 80% (7h12m) has elapsed, 1h48m left.
        let clock = SlaClock::start(
            SlaMetric::FirstResponse,
            h(9),
            80,
            at("2026-09-21 09:00"),
            &cal,
        );
        let mut paused = clock.clone();
        paused.pause(at("2026-09-21 12:00"));
        let cases = [
            (
                &clock,
                "2026-09-21 09:00",
                ClockStatus::Running { remaining: h(9) },
            ),
            (
                &clock,
                "2026-09-21 14:40",
                ClockStatus::Running { remaining: m(200) },
            ),
            (
                &clock,
                "2026-09-21 16:11",
                ClockStatus::Running { remaining: m(109) },
            ),
            (
                &clock,
                "2026-09-21 16:12",
                ClockStatus::NearBreach { remaining: m(108) },
            ),
            (
                &clock,
                "2026-09-21 17:59",
                ClockStatus::NearBreach { remaining: m(1) },
            ),
            (
                &clock,
                "2026-09-21 18:00",
                ClockStatus::NearBreach {
                    remaining: Duration::zero(),
                },
            ),
            (
                &clock,
                "2026-09-21 20:00",
                ClockStatus::Overdue {
                    by: Duration::zero(),
                },
            ),
            (
                &clock,
                "2026-09-22 10:00",
                ClockStatus::Overdue { by: h(1) },
            ),
            (&paused, "2026-09-23 10:00", ClockStatus::Paused),
        ];
        for (clock, now, expected) in cases {
            assert_eq!(clock.status(at(now), &cal), expected, "at {now}");
        }
        let strict: SlaConfig = toml::from_str("near_breach_percent = 50").unwrap();
        let clock = strict.start_clock(
            SlaMetric::FirstResponse,
            Priority::Urgent,
            at("2026-09-21 09:00"),
            &cal,
        );
        // A 1h urgent first response: near breach after 30 minutes.
        assert_eq!(
            clock.status(at("2026-09-21 09:30"), &cal),
            ClockStatus::NearBreach { remaining: m(30) }
        );
        assert_eq!(
            clock.status(at("2026-09-21 09:29"), &cal),
            ClockStatus::Running { remaining: m(31) }
        );
    }

    #[test]
    fn the_near_breach_instant_counts_business_time_and_moves_with_pauses_and_new_targets() {
        let cal = calendar();
        // 1h clock from Friday 17:50: due Monday 09:50, near breach 12 minutes before (80%).
        let mut clock = SlaClock::start(
            SlaMetric::FirstResponse,
            h(1),
            80,
            at("2026-09-25 17:50"),
            &cal,
        );
        assert_eq!(clock.due_at, at("2026-09-28 09:50"));
        assert_eq!(clock.near_breach_at, Some(at("2026-09-28 09:38")));
        assert_eq!(clock.phase(at("2026-09-28 09:37")), ClockPhase::Running);
        assert_eq!(clock.phase(at("2026-09-28 09:38")), ClockPhase::NearBreach);
        // Left exactly at closing time: the instant is the closing, not the next opening.
        let evening = SlaClock::start(
            SlaMetric::FirstResponse,
            h(5),
            80,
            at("2026-09-21 14:00"),
            &cal,
        );
        assert_eq!(evening.near_breach_at, Some(at("2026-09-21 18:00")));
        assert_eq!(
            evening.status(at("2026-09-22 08:00"), &cal),
            ClockStatus::NearBreach { remaining: h(1) }
        );
        // A pause of 30 business minutes moves both instants by 30 business minutes.
        clock.pause(at("2026-09-28 09:10"));
        clock.resume(at("2026-09-28 09:40"), &cal);
        assert_eq!(clock.due_at, at("2026-09-28 10:20"));
        assert_eq!(clock.near_breach_at, Some(at("2026-09-28 10:08")));
        assert_eq!(
            clock.near_breach_at,
            Some(clock.near_breach_instant(80, &cal)),
            "shifting agrees with computing afresh"
        );
        // A new target of 2h (priority lowered): due 30 minutes of pause later than start + 2h.
        clock.retarget(h(2), 80, at("2026-09-28 09:45"), &cal);
        assert_eq!(clock.due_at, at("2026-09-28 11:20"));
        assert_eq!(clock.near_breach_at, Some(at("2026-09-28 10:56")));
        // A clock stored before the instant existed is never near breach, only overdue.
        let legacy = SlaClock {
            near_breach_at: None,
            ..clock.clone()
        };
        assert_eq!(legacy.phase(at("2026-09-28 11:19")), ClockPhase::Running);
        assert_eq!(legacy.phase(at("2026-09-28 11:21")), ClockPhase::Overdue);
    }

    #[test]
    fn conditions_follow_the_phase_and_paused_clocks_are_never_overdue() {
        let cal = calendar();
        let fresh = || {
            SlaClock::start(
                SlaMetric::FirstResponse,
                h(1),
                80,
                at("2026-09-21 09:00"),
                &cal,
            )
        };
        let mut paused = fresh();
        paused.pause(at("2026-09-21 09:30"));
        let mut met_late = fresh();
        met_late.mark_met(at("2026-09-21 11:00"), &cal);
        let mut paused_after_breach = fresh();
        paused_after_breach.pause(at("2026-09-21 11:00"));
        use SlaCondition::*;
        let cases: [(&str, SlaClock, &str, &[SlaCondition]); 6] = [
            ("fresh", fresh(), "2026-09-21 09:10", &[Running]),
            ("near", fresh(), "2026-09-21 09:50", &[Running, DueSoon]),
            (
                "late",
                fresh(),
                "2026-09-21 10:01",
                &[Running, Overdue, Breached],
            ),
            (
                "paused past its due time",
                paused,
                "2026-09-22 09:00",
                &[Paused],
            ),
            ("met late", met_late, "2026-09-22 09:00", &[Breached]),
            (
                "paused after a breach",
                paused_after_breach,
                "2026-09-22 09:00",
                &[Breached, Paused],
            ),
        ];
        for (what, clock, now, expected) in cases {
            let held: Vec<SlaCondition> = SlaCondition::ALL
                .into_iter()
                .filter(|c| c.holds(&clock, at(now)))
                .collect();
            assert_eq!(held, expected, "{what}");
        }
    }

    #[test]
    fn status_labels_read_naturally_in_both_languages() {
        let cases = [
            (
                ClockStatus::Running { remaining: m(200) },
                "due in 3h 20m",
                "3小时20分钟后到期",
            ),
            (
                ClockStatus::NearBreach { remaining: m(45) },
                "due in 45m",
                "45分钟后到期",
            ),
            (
                ClockStatus::NearBreach {
                    remaining: Duration::seconds(30),
                },
                "due now",
                "即将到期",
            ),
            (
                ClockStatus::Running { remaining: h(27) },
                "due in 27h",
                "27小时后到期",
            ),
            (
                ClockStatus::Overdue { by: h(1) },
                "overdue by 1h",
                "已超时1小时",
            ),
            (
                ClockStatus::Overdue { by: h(25) + m(10) },
                "overdue by 25h",
                "已超时25小时",
            ),
            (
                ClockStatus::Overdue {
                    by: h(10_894) + m(29),
                },
                "overdue by 10,894h",
                "已超时10,894小时",
            ),
            (
                ClockStatus::Overdue {
                    by: Duration::zero(),
                },
                "overdue",
                "已超时",
            ),
            (ClockStatus::Met { on_time: true }, "met", "已达成"),
            (
                ClockStatus::Met { on_time: false },
                "met late",
                "已达成（超时）",
            ),
            (ClockStatus::Paused, "paused", "已暂停"),
        ];
        for (status, en, zh) in cases {
            assert_eq!(status.label(Lang::En), en);
            assert_eq!(status.label(Lang::ZhCn), zh);
        }
    }

    #[test]
    fn config_sections_parse_as_part_of_the_application_config() {
        #[derive(serde::Deserialize)]
        struct AppConfig {
            #[serde(default)]
            business_hours: BusinessCalendar,
            #[serde(default)]
            sla: SlaConfig,
        }
        let config: AppConfig = toml::from_str(
            r#"
            [business_hours]
            timezone = "Asia/Shanghai"
            days = ["mon", "tue", "wed", "thu", "fri"]
            start = "09:00"
            end = "18:00"
            holidays = ["2026-10-01"]

            [sla.normal]
            first_response = "8h"
            next_response = "8h"
            resolution = "45h"
            "#,
        )
        .unwrap();
        assert_eq!(config.business_hours.timezone(), chrono_tz::Asia::Shanghai);
        assert_eq!(config.sla, SlaConfig::default());
        let empty: AppConfig = toml::from_str("").unwrap();
        assert_eq!(empty.business_hours, BusinessCalendar::default());
        let err = toml::from_str::<AppConfig>("[business_hours]\ntimezone = \"Mars/Olympus\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("business_hours.timezone: unknown time zone"),
            "{err}"
        );
    }

    #[test]
    fn clocks_round_trip_through_json_with_durations_in_seconds() {
        let cal = calendar();
        let mut clock = SlaClock::start(
            SlaMetric::NextResponse,
            h(8),
            80,
            at("2026-09-21 09:00"),
            &cal,
        );
        clock.pause(at("2026-09-21 10:00"));
        clock.resume(at("2026-09-21 11:30"), &cal);
        let json = serde_json::to_value(&clock).unwrap();
        assert_eq!(json["metric"], "next_response");
        assert_eq!(json["target"], 28_800);
        assert_eq!(json["paused_total"], 5_400);
        assert_eq!(serde_json::from_value::<SlaClock>(json).unwrap(), clock);
    }
}
