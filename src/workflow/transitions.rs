//! The one table of everything that can happen to a case.
//!
//! Each row says: from which state, to which state, by which action, who may do it, what they must write,
//! and whether the customer is mailed by default. [`check`] is pure: it either names the row that allows
//! the move or says why not, and the caller persists the change. Exactly one row exists per
//! `(from, to)` pair and per `(from, action)` pair, so a button, a form post and a stored history entry all
//! identify the same row.

use std::fmt;
use std::str::FromStr;

use crate::auth::role::Role;
use crate::i18n::Lang;
use crate::web::catalog::builtin;
use crate::workflow::state::CaseState;

/// Who asks for a transition: a logged-in staff member, or Casebook itself reacting to mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A staff member with this role.
    User(Role),
    /// An automatic transition, e.g. an inbound customer message reopening a case.
    System,
}

impl Actor {
    /// Every actor, for exhaustive tests and permission matrices.
    pub const ALL: [Actor; 5] = [
        Actor::User(Role::Admin),
        Actor::User(Role::Manager),
        Actor::User(Role::Agent),
        Actor::User(Role::Engineer),
        Actor::System,
    ];

    /// The actor's name as people read it, with an article in English so it can start a sentence.
    fn described(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            Actor::User(Role::Admin) => text.t("actor.admin"),
            Actor::User(Role::Manager) => text.t("actor.manager"),
            Actor::User(Role::Agent) => text.t("actor.agent"),
            Actor::User(Role::Engineer) => text.t("actor.engineer"),
            Actor::System => text.t("actor.system"),
        }
    }
}

impl fmt::Display for Actor {
    /// The stored form: the role name, or `system`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(role) => f.write_str(role.as_str()),
            Actor::System => f.write_str("system"),
        }
    }
}

impl FromStr for Actor {
    type Err = crate::auth::role::RoleError;

    /// Parses the stored form written by `Display`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("system") {
            Ok(Actor::System)
        } else {
            s.parse().map(Actor::User)
        }
    }
}

/// The named step a person (or the system) takes; one button per action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Record the problem definition.
    Define,
    /// Record the scope; mails definition and scope to the customer by default.
    Scope,
    /// Start working the case.
    Investigate,
    /// Mail the customer a question and wait.
    AskCustomer,
    /// The customer answered (automatic on inbound mail, or by hand).
    CustomerReplied,
    /// Hand the case to engineering.
    Escalate,
    /// Engineering returns the case with findings.
    HandBack,
    /// Record the resolution.
    Resolve,
    /// Close the case with a case summary.
    Archive,
    /// The problem came back.
    Reopen,
}

/// The text is not an action name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown workflow action {0:?}")]
pub struct ActionError(pub String);

impl Action {
    /// Every action, in table order.
    pub const ALL: [Action; 10] = [
        Action::Define,
        Action::Scope,
        Action::Investigate,
        Action::AskCustomer,
        Action::CustomerReplied,
        Action::Escalate,
        Action::HandBack,
        Action::Resolve,
        Action::Archive,
        Action::Reopen,
    ];

    /// The stored and form-field form, e.g. `ask_customer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Define => "define",
            Action::Scope => "scope",
            Action::Investigate => "investigate",
            Action::AskCustomer => "ask_customer",
            Action::CustomerReplied => "customer_replied",
            Action::Escalate => "escalate",
            Action::HandBack => "hand_back",
            Action::Resolve => "resolve",
            Action::Archive => "archive",
            Action::Reopen => "reopen",
        }
    }

    /// The button text.
    pub fn label(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            Action::Define => text.t("action.define"),
            Action::Scope => text.t("action.scope"),
            Action::Investigate => text.t("action.investigate"),
            Action::AskCustomer => text.t("action.ask_customer"),
            Action::CustomerReplied => text.t("action.customer_replied"),
            Action::Escalate => text.t("action.escalate"),
            Action::HandBack => text.t("action.hand_back"),
            Action::Resolve => text.t("action.resolve"),
            Action::Archive => text.t("action.archive"),
            Action::Reopen => text.t("action.reopen"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = ActionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == wanted)
            .ok_or_else(|| ActionError(s.to_string()))
    }
}

/// A text the actor must supply for a transition; each names one field of [`TransitionInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// 问题定义.
    Definition,
    /// 问题范围.
    Scope,
    /// The question mailed to the customer.
    Question,
    /// The engineering team or named engineer escalated to.
    Target,
    /// Why (escalating, reopening).
    Reason,
    /// What support already tried before escalating.
    Tried,
    /// What engineering found.
    Findings,
    /// How the problem was solved.
    Resolution,
    /// 案例总结: definition, progress, outcome, next steps.
    Summary,
}

impl Requirement {
    /// Every text a transition may carry.
    pub const ALL: [Requirement; 9] = [
        Requirement::Definition,
        Requirement::Scope,
        Requirement::Question,
        Requirement::Target,
        Requirement::Reason,
        Requirement::Tried,
        Requirement::Findings,
        Requirement::Resolution,
        Requirement::Summary,
    ];

    /// The [`TransitionInput`] field (and form field) name, e.g. `findings`.
    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::Definition => "definition",
            Requirement::Scope => "scope",
            Requirement::Question => "question",
            Requirement::Target => "target",
            Requirement::Reason => "reason",
            Requirement::Tried => "tried",
            Requirement::Findings => "findings",
            Requirement::Resolution => "resolution",
            Requirement::Summary => "summary",
        }
    }

    /// The form label.
    pub fn label(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            Requirement::Definition => text.t("requirement.definition"),
            Requirement::Scope => text.t("requirement.scope"),
            Requirement::Question => text.t("requirement.question"),
            Requirement::Target => text.t("requirement.target"),
            Requirement::Reason => text.t("requirement.reason"),
            Requirement::Tried => text.t("requirement.tried"),
            Requirement::Findings => text.t("requirement.findings"),
            Requirement::Resolution => text.t("requirement.resolution"),
            Requirement::Summary => text.t("requirement.summary"),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the actor typed with the transition. Every field is optional here; the row says which are required.
/// Deserializes straight from the transition form.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TransitionInput {
    /// A free comment logged with the transition; never required.
    pub note: Option<String>,
    /// 问题定义.
    pub definition: Option<String>,
    /// 问题范围.
    pub scope: Option<String>,
    /// Team name or engineer's username; the caller resolves it.
    pub target: Option<String>,
    /// Why the case is escalated or reopened.
    pub reason: Option<String>,
    /// What was tried before escalating.
    pub tried: Option<String>,
    /// What engineering found.
    pub findings: Option<String>,
    /// How the problem was solved.
    pub resolution: Option<String>,
    /// 案例总结.
    pub summary: Option<String>,
    /// The question mailed to the customer.
    pub question: Option<String>,
    /// Whether to send the customer the mail an optional row sends ([`CustomerMail::is_optional`]:
    /// the resolution, the summary); absent means yes. The page's checkbox posts `true`, the API
    /// takes a JSON boolean; both arrive here (a form value is text, hence the lenient reader).
    #[serde(deserialize_with = "lenient_bool")]
    pub mail_customer: Option<bool>,
}

/// Reads a switch given as a JSON boolean or as form text (`true`/`false`, `on`/`off`, `1`/`0`,
/// `yes`/`no`); anything else is an error naming the value.
fn lenient_bool<'de, D>(deserializer: D) -> Result<Option<bool>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Switch {
        Bool(bool),
        Text(String),
    }
    let value: Option<Switch> = serde::Deserialize::deserialize(deserializer)?;
    match value {
        None => Ok(None),
        Some(Switch::Bool(b)) => Ok(Some(b)),
        Some(Switch::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => Ok(Some(true)),
            "false" | "off" | "0" | "no" => Ok(Some(false)),
            other => Err(serde::de::Error::custom(format!(
                "mail_customer must be true or false, not {other:?}"
            ))),
        },
    }
}

impl TransitionInput {
    /// The trimmed text for a requirement; `None` when absent or only whitespace, because a blank form
    /// field is not an answer.
    pub fn get(&self, requirement: Requirement) -> Option<&str> {
        let field = match requirement {
            Requirement::Definition => &self.definition,
            Requirement::Scope => &self.scope,
            Requirement::Question => &self.question,
            Requirement::Target => &self.target,
            Requirement::Reason => &self.reason,
            Requirement::Tried => &self.tried,
            Requirement::Findings => &self.findings,
            Requirement::Resolution => &self.resolution,
            Requirement::Summary => &self.summary,
        };
        field
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }
}

/// What is mailed to the customer when the transition happens. The definition-and-scope mail and the
/// question *are* what those actions do, so they always go; the resolution and the summary go unless
/// the agent switches them off for this case at the action ([`TransitionInput::mail_customer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerMail {
    /// The problem definition and scope, for the customer to confirm (as in the seed thread's first reply).
    DefinitionAndScope,
    /// The question from [`TransitionInput::question`].
    Question,
    /// The resolution, telling the customer that replying reopens the case.
    Resolution,
    /// The case summary written at archiving.
    Summary,
}

impl CustomerMail {
    /// Whether the agent may switch this mail off at the action (on by default).
    pub fn is_optional(self) -> bool {
        matches!(self, CustomerMail::Resolution | CustomerMail::Summary)
    }
}

/// Who may take a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who {
    roles: &'static [Role],
    system: bool,
}

impl Who {
    /// Whether this actor is admitted.
    pub fn admits(self, actor: Actor) -> bool {
        match actor {
            Actor::User(role) => self.roles.contains(&role),
            Actor::System => self.system,
        }
    }

    /// The staff roles admitted.
    pub const fn roles(self) -> &'static [Role] {
        self.roles
    }

    /// Whether Casebook itself may take the transition (on inbound mail).
    pub fn system(self) -> bool {
        self.system
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    from: CaseState,
    to: CaseState,
    action: Action,
    who: Who,
    requires: &'static [Requirement],
    mail: Option<CustomerMail>,
}

impl Transition {
    /// The state the case leaves.
    pub fn from(&self) -> CaseState {
        self.from
    }

    /// The state the case enters.
    pub fn to(&self) -> CaseState {
        self.to
    }

    /// The action's name.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Who may take it.
    pub fn who(&self) -> Who {
        self.who
    }

    /// Whether this actor may take it.
    pub fn permits(&self, actor: Actor) -> bool {
        self.who.admits(actor)
    }

    /// The texts that must be supplied, in form order.
    pub fn requires(&self) -> &'static [Requirement] {
        self.requires
    }

    /// The required texts this input lacks, in form order, so a form can mark every one at once.
    pub fn missing(&self, input: &TransitionInput) -> Vec<Requirement> {
        self.requires
            .iter()
            .copied()
            .filter(|&requirement| input.get(requirement).is_none())
            .collect()
    }

    /// What is mailed to the customer by default; `None` when the transition is internal.
    pub fn mails_customer(&self) -> Option<CustomerMail> {
        self.mail
    }

    /// What is mailed to the customer with this input: the row's mail, unless it is optional and
    /// the input switches it off.
    pub fn customer_mail(&self, input: &TransitionInput) -> Option<CustomerMail> {
        self.mail
            .filter(|m| !m.is_optional() || input.mail_customer.unwrap_or(true))
    }
}

use Action::{
    Archive, AskCustomer, CustomerReplied, Define, Escalate, HandBack, Investigate, Reopen,
    Resolve, Scope,
};
use CaseState::{
    Archived, Defined, Escalated, Investigating, New, Resolved, Scoped, WaitingOnCustomer,
};
use Requirement as R;

/// Admin and agent: the roles that work the customer side of a case (managers read cases but do
/// not move them).
const AGENTS: Who = Who {
    roles: &[Role::Admin, Role::Agent],
    system: false,
};
/// As [`AGENTS`], plus Casebook itself when a customer message arrives.
const AGENTS_OR_SYSTEM: Who = Who {
    roles: &[Role::Admin, Role::Agent],
    system: true,
};
/// As [`AGENTS`], plus the engineer the case was escalated to.
const AGENTS_OR_ENGINEER: Who = Who {
    roles: &[Role::Admin, Role::Agent, Role::Engineer],
    system: false,
};

const ESCALATION: &[Requirement] = &[R::Target, R::Reason, R::Tried];

const fn row(
    from: CaseState,
    to: CaseState,
    action: Action,
    who: Who,
    requires: &'static [Requirement],
    mail: Option<CustomerMail>,
) -> Transition {
    Transition {
        from,
        to,
        action,
        who,
        requires,
        mail,
    }
}

/// Every allowed transition, in the order of the support method. Anything not listed is refused.
///
/// Reopening by the system still needs a reason: the caller writes one, e.g. "customer wrote again
/// (message `<id>`)", so the history always says why a case came back.
#[rustfmt::skip]
pub static TRANSITIONS: &[Transition] = &[
    //  from               to                 action           who                 requires             mails the customer
    row(New,               Defined,           Define,          AGENTS,             &[R::Definition],    None),
    row(Defined,           Scoped,            Scope,           AGENTS,             &[R::Scope],         Some(CustomerMail::DefinitionAndScope)),
    row(Scoped,            Investigating,     Investigate,     AGENTS,             &[],                 None),
    row(Scoped,            WaitingOnCustomer, AskCustomer,     AGENTS,             &[R::Question],      Some(CustomerMail::Question)),
    row(Investigating,     WaitingOnCustomer, AskCustomer,     AGENTS,             &[R::Question],      Some(CustomerMail::Question)),
    row(WaitingOnCustomer, Investigating,     CustomerReplied, AGENTS_OR_SYSTEM,   &[],                 None),
    row(Investigating,     Escalated,         Escalate,        AGENTS,             ESCALATION,          None),
    row(WaitingOnCustomer, Escalated,         Escalate,        AGENTS,             ESCALATION,          None),
    row(Escalated,         Investigating,     HandBack,        AGENTS_OR_ENGINEER, &[R::Findings],      None),
    row(Defined,           Resolved,          Resolve,         AGENTS,             &[R::Resolution],    Some(CustomerMail::Resolution)),
    row(Scoped,            Resolved,          Resolve,         AGENTS,             &[R::Resolution],    Some(CustomerMail::Resolution)),
    row(Investigating,     Resolved,          Resolve,         AGENTS,             &[R::Resolution],    Some(CustomerMail::Resolution)),
    row(WaitingOnCustomer, Resolved,          Resolve,         AGENTS,             &[R::Resolution],    Some(CustomerMail::Resolution)),
    row(Escalated,         Resolved,          Resolve,         AGENTS,             &[R::Resolution],    Some(CustomerMail::Resolution)),
    row(Defined,           Archived,          Archive,         AGENTS,             &[R::Summary],       Some(CustomerMail::Summary)),
    row(Scoped,            Archived,          Archive,         AGENTS,             &[R::Summary],       Some(CustomerMail::Summary)),
    row(Investigating,     Archived,          Archive,         AGENTS,             &[R::Summary],       Some(CustomerMail::Summary)),
    row(WaitingOnCustomer, Archived,          Archive,         AGENTS,             &[R::Summary],       Some(CustomerMail::Summary)),
    row(Escalated,         Archived,          Archive,         AGENTS,             &[R::Summary],       Some(CustomerMail::Summary)),
    row(Resolved,          Archived,          Archive,         AGENTS,             &[R::Summary],       Some(CustomerMail::Summary)),
    row(Resolved,          Investigating,     Reopen,          AGENTS_OR_SYSTEM,   &[R::Reason],        None),
    row(Archived,          Investigating,     Reopen,          AGENTS_OR_SYSTEM,   &[R::Reason],        None),
];

/// The states a case may be merged *from* into another case, and who may do it. Merging archives
/// the case (it forwards to the other one), so it sits beside the table rather than in it: its
/// `(from, archived)` pairs would repeat Archive's rows, and it needs a target case rather than a
/// text. An archived case is closed; reopen it first.
pub static MERGE_FROM: &[CaseState] = &[
    New,
    Defined,
    Scoped,
    Investigating,
    WaitingOnCustomer,
    Escalated,
    Resolved,
];

/// Who may merge a case into another.
pub const MERGERS: Who = AGENTS;

/// Decides whether `actor` may merge a case that is in state `from` into another case.
pub fn check_merge(from: CaseState, actor: Actor) -> Result<(), TransitionError> {
    if !MERGE_FROM.contains(&from) {
        return Err(TransitionError::NotMergeable { from });
    }
    if !MERGERS.admits(actor) {
        return Err(TransitionError::MergeNotAllowed { actor });
    }
    Ok(())
}

/// Why a transition was refused. Nothing has changed when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// No row leads from `from` to `to`.
    #[error("a case cannot go from {from} to {to}")]
    IllegalTransition {
        /// The current state.
        from: CaseState,
        /// The requested state.
        to: CaseState,
    },
    /// The row exists but this actor may not take it.
    #[error("{actor} may not {action}")]
    NotAllowed {
        /// Who asked.
        actor: Actor,
        /// What they asked for.
        action: Action,
    },
    /// A case in this state cannot be merged into another ([`MERGE_FROM`]).
    #[error("a case that is {from} cannot be merged")]
    NotMergeable {
        /// The current state.
        from: CaseState,
    },
    /// This actor may not merge cases ([`MERGERS`]).
    #[error("{actor} may not merge cases")]
    MergeNotAllowed {
        /// Who asked.
        actor: Actor,
    },
    /// A required text is missing or blank.
    #[error("{action} requires {field}")]
    MissingRequirement {
        /// The first missing field in form order.
        field: Requirement,
        /// The action that needs it.
        action: Action,
    },
}

impl TransitionError {
    /// A message safe to show the user, in their language.
    pub fn message(&self, lang: Lang) -> String {
        // The actor starts the English sentences; capitalising leaves Chinese unchanged.
        let text = builtin(lang);
        match self {
            TransitionError::IllegalTransition { from, to } => text
                .t("transition.error.illegal")
                .replace("{from}", from.label(lang))
                .replace("{to}", to.label(lang)),
            TransitionError::NotAllowed { actor, action } => text
                .t("transition.error.not_allowed")
                .replace("{actor}", &sentence_start(actor.described(lang)))
                .replace("{action}", action.label(lang)),
            TransitionError::NotMergeable { from } => text
                .t("transition.error.not_mergeable")
                .replace("{from}", from.label(lang)),
            TransitionError::MergeNotAllowed { actor } => text
                .t("transition.error.merge_not_allowed")
                .replace("{actor}", &sentence_start(actor.described(lang))),
            TransitionError::MissingRequirement { field, action } => text
                .t("transition.error.missing")
                .replace("{action}", action.label(lang))
                .replace("{field}", field.label(lang)),
        }
    }
}

/// `text` with its first letter capitalised (plain ASCII prose starting a sentence).
fn sentence_start(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Decides whether `actor` may move a case from `from` to `to` with this input, and returns the row that
/// allows it. Checks in order: the move exists, the actor may take it, every required text is present.
pub fn check(
    from: CaseState,
    to: CaseState,
    actor: Actor,
    input: &TransitionInput,
) -> Result<&'static Transition, TransitionError> {
    let transition = TRANSITIONS
        .iter()
        .find(|t| t.from == from && t.to == to)
        .ok_or(TransitionError::IllegalTransition { from, to })?;
    if !transition.permits(actor) {
        return Err(TransitionError::NotAllowed {
            actor,
            action: transition.action,
        });
    }
    if let Some(&field) = transition.missing(input).first() {
        return Err(TransitionError::MissingRequirement {
            field,
            action: transition.action,
        });
    }
    Ok(transition)
}

/// The transitions this actor may take from `from`, in table order: the buttons to render.
pub fn allowed_from(from: CaseState, actor: Actor) -> Vec<&'static Transition> {
    TRANSITIONS
        .iter()
        .filter(|t| t.from == from && t.permits(actor))
        .collect()
}

/// The row for pressing `action` in state `from`, whoever presses it; `None` when that action does not
/// apply in that state. Use [`check`] with the row's target state to enforce permissions.
pub fn find_by_action(from: CaseState, action: Action) -> Option<&'static Transition> {
    TRANSITIONS
        .iter()
        .find(|t| t.from == from && t.action == action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Input with every field filled, so only the table and permissions decide.
    fn full_input() -> TransitionInput {
        TransitionInput {
            note: Some("n".into()),
            definition: Some("d".into()),
            scope: Some("s".into()),
            target: Some("t".into()),
            reason: Some("r".into()),
            tried: Some("tr".into()),
            findings: Some("f".into()),
            resolution: Some("res".into()),
            summary: Some("sum".into()),
            question: Some("q".into()),
            mail_customer: None,
        }
    }

    const ADMIN: Actor = Actor::User(Role::Admin);
    const MANAGER: Actor = Actor::User(Role::Manager);
    const AGENT: Actor = Actor::User(Role::Agent);
    const ENGINEER: Actor = Actor::User(Role::Engineer);
    const SYSTEM: Actor = Actor::System;
    const STAFF: &[Actor] = &[ADMIN, AGENT];
    const STAFF_AND_SYSTEM: &[Actor] = &[ADMIN, AGENT, SYSTEM];
    const STAFF_AND_ENGINEER: &[Actor] = &[ADMIN, AGENT, ENGINEER];

    /// (from, to, action, who may, requires).
    type ExpectedRow = (
        CaseState,
        CaseState,
        Action,
        &'static [Actor],
        &'static [Requirement],
    );

    /// The expected table, written independently of `TRANSITIONS`.
    fn expected() -> Vec<ExpectedRow> {
        vec![
            (New, Defined, Define, STAFF, &[R::Definition]),
            (Defined, Scoped, Scope, STAFF, &[R::Scope]),
            (Scoped, Investigating, Investigate, STAFF, &[]),
            (
                Scoped,
                WaitingOnCustomer,
                AskCustomer,
                STAFF,
                &[R::Question],
            ),
            (
                Investigating,
                WaitingOnCustomer,
                AskCustomer,
                STAFF,
                &[R::Question],
            ),
            (
                WaitingOnCustomer,
                Investigating,
                CustomerReplied,
                STAFF_AND_SYSTEM,
                &[],
            ),
            (
                Investigating,
                Escalated,
                Escalate,
                STAFF,
                &[R::Target, R::Reason, R::Tried],
            ),
            (
                WaitingOnCustomer,
                Escalated,
                Escalate,
                STAFF,
                &[R::Target, R::Reason, R::Tried],
            ),
            (
                Escalated,
                Investigating,
                HandBack,
                STAFF_AND_ENGINEER,
                &[R::Findings],
            ),
            (Defined, Resolved, Resolve, STAFF, &[R::Resolution]),
            (Scoped, Resolved, Resolve, STAFF, &[R::Resolution]),
            (Investigating, Resolved, Resolve, STAFF, &[R::Resolution]),
            (
                WaitingOnCustomer,
                Resolved,
                Resolve,
                STAFF,
                &[R::Resolution],
            ),
            (Escalated, Resolved, Resolve, STAFF, &[R::Resolution]),
            (Defined, Archived, Archive, STAFF, &[R::Summary]),
            (Scoped, Archived, Archive, STAFF, &[R::Summary]),
            (Investigating, Archived, Archive, STAFF, &[R::Summary]),
            (WaitingOnCustomer, Archived, Archive, STAFF, &[R::Summary]),
            (Escalated, Archived, Archive, STAFF, &[R::Summary]),
            (Resolved, Archived, Archive, STAFF, &[R::Summary]),
            (
                Resolved,
                Investigating,
                Reopen,
                STAFF_AND_SYSTEM,
                &[R::Reason],
            ),
            (
                Archived,
                Investigating,
                Reopen,
                STAFF_AND_SYSTEM,
                &[R::Reason],
            ),
        ]
    }

    #[test]
    fn every_state_pair_and_actor_is_allowed_or_refused_exactly_as_expected() {
        let expected = expected();
        let input = full_input();
        for from in CaseState::ALL {
            for to in CaseState::ALL {
                let row = expected.iter().find(|(f, t, ..)| *f == from && *t == to);
                for actor in Actor::ALL {
                    let result = check(from, to, actor, &input);
                    match row {
                        None => assert_eq!(
                            result,
                            Err(TransitionError::IllegalTransition { from, to }),
                            "{from} → {to} by {actor}"
                        ),
                        Some((_, _, action, who, requires)) if who.contains(&actor) => {
                            let transition =
                                result.unwrap_or_else(|e| panic!("{from} → {to} by {actor}: {e}"));
                            assert_eq!(transition.action(), *action);
                            assert_eq!(transition.from(), from);
                            assert_eq!(transition.to(), to);
                            assert_eq!(transition.requires(), *requires, "{from} → {to}");
                        }
                        Some((_, _, action, _, _)) => assert_eq!(
                            result,
                            Err(TransitionError::NotAllowed {
                                actor,
                                action: *action
                            }),
                            "{from} → {to} by {actor}"
                        ),
                    }
                }
            }
        }
        assert_eq!(
            TRANSITIONS.len(),
            expected.len(),
            "the table has rows the test does not expect"
        );
    }

    #[test]
    fn each_state_pair_and_each_state_action_pair_has_at_most_one_row() {
        let mut pairs = HashSet::new();
        let mut actions = HashSet::new();
        for t in TRANSITIONS {
            assert!(
                pairs.insert((t.from, t.to)),
                "duplicate row {} → {}",
                t.from,
                t.to
            );
            assert!(
                actions.insert((t.from, t.action)),
                "duplicate action {} in {}",
                t.action,
                t.from
            );
            assert_ne!(t.from, t.to, "a transition must change the state");
        }
    }

    #[test]
    fn missing_or_blank_requirements_are_refused_naming_the_first_missing_field() {
        let cases: Vec<(CaseState, CaseState, TransitionInput, Requirement)> = vec![
            (New, Defined, TransitionInput::default(), R::Definition),
            (
                New,
                Defined,
                TransitionInput {
                    definition: Some("  \n ".into()),
                    ..Default::default()
                },
                R::Definition,
            ),
            (
                Defined,
                Scoped,
                TransitionInput {
                    definition: Some("d".into()),
                    ..Default::default()
                },
                R::Scope,
            ),
            (
                Investigating,
                WaitingOnCustomer,
                TransitionInput {
                    note: Some("n".into()),
                    ..Default::default()
                },
                R::Question,
            ),
            (
                Investigating,
                Escalated,
                TransitionInput::default(),
                R::Target,
            ),
            (
                Investigating,
                Escalated,
                TransitionInput {
                    target: Some("R&D".into()),
                    ..Default::default()
                },
                R::Reason,
            ),
            (
                WaitingOnCustomer,
                Escalated,
                TransitionInput {
                    target: Some("R&D".into()),
                    reason: Some("SN bound".into()),
                    ..Default::default()
                },
                R::Tried,
            ),
            (
                Escalated,
                Investigating,
                TransitionInput::default(),
                R::Findings,
            ),
            (
                Escalated,
                Resolved,
                TransitionInput::default(),
                R::Resolution,
            ),
            (
                Resolved,
                Archived,
                TransitionInput {
                    resolution: Some("r".into()),
                    ..Default::default()
                },
                R::Summary,
            ),
            (
                Archived,
                Investigating,
                TransitionInput::default(),
                R::Reason,
            ),
        ];
        for (from, to, input, field) in cases {
            let action = check(from, to, AGENT, &full_input()).unwrap().action();
            assert_eq!(
                check(from, to, AGENT, &input),
                Err(TransitionError::MissingRequirement { field, action }),
                "{from} → {to}"
            );
        }
    }

    #[test]
    fn missing_lists_every_absent_field_in_form_order() {
        let escalate = find_by_action(Investigating, Escalate).unwrap();
        let input = TransitionInput {
            reason: Some("stuck".into()),
            ..Default::default()
        };
        assert_eq!(escalate.missing(&input), vec![R::Target, R::Tried]);
        assert!(escalate.missing(&full_input()).is_empty());
    }

    #[test]
    fn transitions_without_requirements_pass_with_empty_input() {
        assert!(check(Scoped, Investigating, AGENT, &TransitionInput::default()).is_ok());
        assert!(
            check(
                WaitingOnCustomer,
                Investigating,
                SYSTEM,
                &TransitionInput::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn permission_is_checked_before_requirements() {
        assert_eq!(
            check(New, Defined, ENGINEER, &TransitionInput::default()),
            Err(TransitionError::NotAllowed {
                actor: ENGINEER,
                action: Define
            })
        );
    }

    #[test]
    fn allowed_from_lists_exactly_the_permitted_rows_in_table_order() {
        let cases: Vec<(CaseState, Actor, Vec<Action>)> = vec![
            (New, AGENT, vec![Define]),
            (New, ENGINEER, vec![]),
            (New, SYSTEM, vec![]),
            (
                Investigating,
                AGENT,
                vec![AskCustomer, Escalate, Resolve, Archive],
            ),
            (Investigating, MANAGER, vec![]),
            (Investigating, ENGINEER, vec![]),
            (
                WaitingOnCustomer,
                AGENT,
                vec![CustomerReplied, Escalate, Resolve, Archive],
            ),
            (WaitingOnCustomer, SYSTEM, vec![CustomerReplied]),
            (Escalated, ENGINEER, vec![HandBack]),
            (Escalated, ADMIN, vec![HandBack, Resolve, Archive]),
            (Resolved, AGENT, vec![Archive, Reopen]),
            (Resolved, SYSTEM, vec![Reopen]),
            (Archived, SYSTEM, vec![Reopen]),
            (Archived, ENGINEER, vec![]),
        ];
        for (from, actor, actions) in cases {
            let got: Vec<Action> = allowed_from(from, actor)
                .iter()
                .map(|t| t.action())
                .collect();
            assert_eq!(got, actions, "{from} by {actor}");
        }
    }

    #[test]
    fn find_by_action_returns_the_row_for_that_state_only() {
        let cases = [
            (Scoped, AskCustomer, Some(WaitingOnCustomer)),
            (Investigating, AskCustomer, Some(WaitingOnCustomer)),
            (WaitingOnCustomer, AskCustomer, None),
            (Resolved, Reopen, Some(Investigating)),
            (Investigating, Reopen, None),
            (New, Archive, None),
            (Escalated, HandBack, Some(Investigating)),
        ];
        for (from, action, to) in cases {
            assert_eq!(
                find_by_action(from, action).map(|t| t.to()),
                to,
                "{action} in {from}"
            );
        }
    }

    #[test]
    fn scope_questions_resolution_and_summary_mail_the_customer_by_default() {
        for t in TRANSITIONS {
            let expected = match t.action() {
                Scope => Some(CustomerMail::DefinitionAndScope),
                AskCustomer => Some(CustomerMail::Question),
                Resolve => Some(CustomerMail::Resolution),
                Archive => Some(CustomerMail::Summary),
                _ => None,
            };
            assert_eq!(t.mails_customer(), expected, "{}", t.action());
            assert_eq!(
                t.customer_mail(&TransitionInput::default()),
                expected,
                "on unless switched off: {}",
                t.action()
            );
        }
    }

    #[test]
    fn only_the_resolution_and_summary_mails_can_be_switched_off() {
        let off = TransitionInput {
            mail_customer: Some(false),
            ..Default::default()
        };
        let on = TransitionInput {
            mail_customer: Some(true),
            ..Default::default()
        };
        let row = |from, action| find_by_action(from, action).unwrap();
        assert_eq!(row(Investigating, Resolve).customer_mail(&off), None);
        assert_eq!(row(Resolved, Archive).customer_mail(&off), None);
        assert_eq!(
            row(Resolved, Archive).customer_mail(&on),
            Some(CustomerMail::Summary)
        );
        assert_eq!(
            row(Defined, Scope).customer_mail(&off),
            Some(CustomerMail::DefinitionAndScope),
            "the scope mail is what scoping does"
        );
        assert_eq!(
            row(Investigating, AskCustomer).customer_mail(&off),
            Some(CustomerMail::Question)
        );
    }

    #[test]
    fn the_mail_switch_reads_form_text_and_json_booleans() {
        #[derive(serde::Deserialize)]
        struct Form {
            #[allow(dead_code)]
            action: String,
            #[serde(flatten)]
            input: TransitionInput,
        }
        let form = |body: &str| serde_urlencoded::from_str::<Form>(body).map(|f| f.input);
        assert_eq!(
            form("action=resolve&mail_customer=true")
                .unwrap()
                .mail_customer,
            Some(true)
        );
        assert_eq!(
            form("action=resolve&mail_customer=off")
                .unwrap()
                .mail_customer,
            Some(false)
        );
        assert_eq!(form("action=resolve").unwrap().mail_customer, None);
        assert!(form("action=resolve&mail_customer=maybe").is_err());
        let json = |body: &str| serde_json::from_str::<Form>(body).map(|f| f.input);
        assert_eq!(
            json(r#"{"action":"resolve","mail_customer":false}"#)
                .unwrap()
                .mail_customer,
            Some(false)
        );
        assert_eq!(json(r#"{"action":"resolve"}"#).unwrap().mail_customer, None);
    }

    #[test]
    fn errors_read_clearly_in_both_languages() {
        let cases = [
            (
                TransitionError::IllegalTransition {
                    from: Resolved,
                    to: Escalated,
                },
                "A case cannot go from “Resolved” to “Escalated”.",
                "案例不能从“已解决”变为“已升级”。",
                "a case cannot go from resolved to escalated",
            ),
            (
                TransitionError::NotAllowed {
                    actor: ENGINEER,
                    action: Escalate,
                },
                "An engineer may not use “Escalate”.",
                "工程师无权执行“升级处理”。",
                "engineer may not escalate",
            ),
            (
                TransitionError::NotAllowed {
                    actor: SYSTEM,
                    action: Define,
                },
                "The system may not use “Define problem”.",
                "系统无权执行“定义问题”。",
                "system may not define",
            ),
            (
                TransitionError::MissingRequirement {
                    field: R::Tried,
                    action: Escalate,
                },
                "“Escalate” requires “what was tried”.",
                "“升级处理”需要填写“已尝试的操作”。",
                "escalate requires tried",
            ),
        ];
        for (error, en, zh, log) in cases {
            assert_eq!(error.message(Lang::En), en);
            assert_eq!(error.message(Lang::ZhCn), zh);
            assert_eq!(error.to_string(), log);
        }
    }

    #[test]
    fn actors_round_trip_through_their_stored_form() {
        for actor in Actor::ALL {
            assert_eq!(actor.to_string().parse::<Actor>().unwrap(), actor);
        }
        assert!("customer".parse::<Actor>().is_err());
    }

    #[test]
    fn actions_and_requirements_round_trip_and_have_labels() {
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>().unwrap(), action);
            assert!(!action.label(Lang::En).is_empty() && !action.label(Lang::ZhCn).is_empty());
        }
        assert!("close".parse::<Action>().is_err());
        for t in TRANSITIONS {
            for r in t.requires() {
                assert!(!r.label(Lang::En).is_empty() && !r.label(Lang::ZhCn).is_empty());
            }
        }
    }

    #[test]
    fn transition_input_deserializes_from_a_partial_form() {
        let input: TransitionInput =
            serde_json::from_str(r#"{"question":"请提供日志","note":null}"#).unwrap();
        assert_eq!(input.get(R::Question), Some("请提供日志"));
        assert_eq!(input.get(R::Summary), None);
    }
}
