//! Case states and priorities: the stored forms, the labels people read, and the state groups that decide
//! which cases count as open and when SLA clocks run.

use std::fmt;
use std::str::FromStr;

use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// Where a case stands in the support method: define, scope, investigate (with the customer and with
/// engineering), resolve, archive.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Created from the customer's first message; nobody has written the problem definition yet.
    New,
    /// The problem definition is written.
    Defined,
    /// The scope is agreed and (by default) mailed to the customer with the definition.
    Scoped,
    /// Support is working on it.
    Investigating,
    /// Support asked the customer something and waits for the answer; SLA clocks pause.
    WaitingOnCustomer,
    /// Handed to engineering (a team or a named engineer).
    Escalated,
    /// A resolution is recorded; the case may still be reopened.
    Resolved,
    /// Closed with a case summary; reopened if the problem returns.
    Archived,
}

impl TryFrom<String> for CaseState {
    type Error = CaseStateError;

    /// Reads the stored form (the `cases.state` column).
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        stored.parse()
    }
}

impl PartialEq<&str> for CaseState {
    /// Compares with a stored form, e.g. `case.state == "archived"` in tests and templates.
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The three groups of states, for list filters and SLA rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateGroup {
    /// Not yet looked at (`new`).
    Initial,
    /// Being worked (`defined` … `escalated`).
    Active,
    /// Finished for now (`resolved`, `archived`).
    Inactive,
}

/// The text is not a stored case state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown case state {0:?} (expected one of: new, defined, scoped, investigating, waiting_on_customer, escalated, resolved, archived)"
)]
pub struct CaseStateError(pub String);

impl CaseState {
    /// Every state, in the order a case normally passes through them.
    pub const ALL: [CaseState; 8] = [
        CaseState::New,
        CaseState::Defined,
        CaseState::Scoped,
        CaseState::Investigating,
        CaseState::WaitingOnCustomer,
        CaseState::Escalated,
        CaseState::Resolved,
        CaseState::Archived,
    ];

    /// The stored snake_case form, e.g. `waiting_on_customer`.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::New => "new",
            CaseState::Defined => "defined",
            CaseState::Scoped => "scoped",
            CaseState::Investigating => "investigating",
            CaseState::WaitingOnCustomer => "waiting_on_customer",
            CaseState::Escalated => "escalated",
            CaseState::Resolved => "resolved",
            CaseState::Archived => "archived",
        }
    }

    /// The name shown to staff.
    pub fn label(self, lang: Lang) -> &'static str {
        // The keys are the stored names, which templates also look up (`page.t(state.as_str())`).
        let text = builtin(lang);
        match self {
            CaseState::New => text.t("new"),
            CaseState::Defined => text.t("defined"),
            CaseState::Scoped => text.t("scoped"),
            CaseState::Investigating => text.t("investigating"),
            CaseState::WaitingOnCustomer => text.t("waiting_on_customer"),
            CaseState::Escalated => text.t("escalated"),
            CaseState::Resolved => text.t("resolved"),
            CaseState::Archived => text.t("archived"),
        }
    }

    /// The group this state belongs to.
    pub fn group(self) -> StateGroup {
        match self {
            CaseState::New => StateGroup::Initial,
            CaseState::Defined
            | CaseState::Scoped
            | CaseState::Investigating
            | CaseState::WaitingOnCustomer
            | CaseState::Escalated => StateGroup::Active,
            CaseState::Resolved | CaseState::Archived => StateGroup::Inactive,
        }
    }

    /// `new` — nobody has started on the case.
    pub fn is_initial(self) -> bool {
        self.group() == StateGroup::Initial
    }

    /// `defined` … `escalated` — the case is being worked.
    pub fn is_active(self) -> bool {
        self.group() == StateGroup::Active
    }

    /// `resolved` or `archived` — the case is finished for now.
    pub fn is_inactive(self) -> bool {
        self.group() == StateGroup::Inactive
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseState {
    type Err = CaseStateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        CaseState::ALL
            .into_iter()
            .find(|state| state.as_str() == wanted)
            .ok_or_else(|| CaseStateError(s.to_string()))
    }
}

/// How urgent a case is; picks the SLA targets.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// 紧急事件: production down or a deadline at risk.
    Urgent,
    /// Serious impact, no workaround.
    High,
    /// 普通事件: the usual case.
    #[default]
    Normal,
    /// Questions and minor issues.
    Low,
}

impl TryFrom<String> for Priority {
    type Error = PriorityError;

    /// Reads the stored form (the `cases.priority` column).
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        stored.parse()
    }
}

impl PartialEq<&str> for Priority {
    /// Compares with a stored form, e.g. `case.priority == "urgent"`.
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The text is not a stored priority.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority {0:?} (expected urgent, high, normal or low)")]
pub struct PriorityError(pub String);

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    /// The stored form: `urgent`, `high`, `normal`, `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    /// The name shown to staff; the Chinese names follow the subject lines customers already see
    /// (`|普通事件|`).
    pub fn label(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            Priority::Urgent => text.t("urgent"),
            Priority::High => text.t("high"),
            Priority::Normal => text.t("normal"),
            Priority::Low => text.t("low"),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = PriorityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == wanted)
            .ok_or_else(|| PriorityError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_stored_form() {
        for state in CaseState::ALL {
            assert_eq!(state.as_str().parse::<CaseState>().unwrap(), state);
            assert_eq!(state.to_string(), state.as_str());
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }

    #[test]
    fn unknown_or_differently_spelled_states_are_rejected() {
        for text in [
            "",
            "open",
            "Waiting On Customer",
            "waiting-on-customer",
            "closed",
        ] {
            let err = text.parse::<CaseState>().unwrap_err();
            assert!(err.to_string().contains("waiting_on_customer"), "{err}");
        }
    }

    #[test]
    fn states_fall_into_the_documented_groups() {
        let cases = [
            (CaseState::New, StateGroup::Initial),
            (CaseState::Defined, StateGroup::Active),
            (CaseState::Scoped, StateGroup::Active),
            (CaseState::Investigating, StateGroup::Active),
            (CaseState::WaitingOnCustomer, StateGroup::Active),
            (CaseState::Escalated, StateGroup::Active),
            (CaseState::Resolved, StateGroup::Inactive),
            (CaseState::Archived, StateGroup::Inactive),
        ];
        for (state, group) in cases {
            assert_eq!(state.group(), group, "{state}");
            assert_eq!(state.is_initial(), group == StateGroup::Initial);
            assert_eq!(state.is_active(), group == StateGroup::Active);
            assert_eq!(state.is_inactive(), group == StateGroup::Inactive);
        }
    }

    #[test]
    fn state_labels_exist_in_both_languages() {
        let cases = [
            (CaseState::New, "New", "新建"),
            (CaseState::Defined, "Defined", "已定义"),
            (CaseState::Scoped, "Scoped", "已界定范围"),
            (CaseState::Investigating, "Investigating", "排查中"),
            (
                CaseState::WaitingOnCustomer,
                "Waiting on customer",
                "等待客户",
            ),
            (CaseState::Escalated, "Escalated", "已升级"),
            (CaseState::Resolved, "Resolved", "已解决"),
            (CaseState::Archived, "Archived", "已归档"),
        ];
        for (state, en, zh) in cases {
            assert_eq!(state.label(Lang::En), en);
            assert_eq!(state.label(Lang::ZhCn), zh);
        }
    }

    #[test]
    fn priorities_round_trip_and_label_in_both_languages() {
        let cases = [
            (Priority::Urgent, "urgent", "Urgent", "紧急事件"),
            (Priority::High, "high", "High", "高"),
            (Priority::Normal, "normal", "Normal", "普通事件"),
            (Priority::Low, "low", "Low", "低"),
        ];
        for (priority, stored, en, zh) in cases {
            assert_eq!(priority.as_str(), stored);
            assert_eq!(stored.parse::<Priority>().unwrap(), priority);
            assert_eq!(stored.to_uppercase().parse::<Priority>().unwrap(), priority);
            assert_eq!(priority.label(Lang::En), en);
            assert_eq!(priority.label(Lang::ZhCn), zh);
        }
        assert!("critical".parse::<Priority>().is_err());
    }

    #[test]
    fn priority_defaults_to_normal() {
        assert_eq!(Priority::default(), Priority::Normal);
    }
}
