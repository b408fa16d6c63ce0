//! Mail to the customer that a transition calls for (definition and scope, a question): composed in
//! the case's language ([`PendingMail`]), recorded as a `customer_mail_pending` event in the
//! transition's transaction, and read back by the outbound module ([`pending_customer_mail`]), which
//! composes and queues it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{ActorRef, WorkflowError, texts};
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::db::DbConn;
use crate::db::schema::case_events;
use crate::i18n::Lang;
use crate::workflow::events::{EventData, EventKind};
use crate::workflow::transitions::{CustomerMail, Requirement, TransitionInput};

/// A mail to the customer that a transition calls for: the `customer_mail_pending` event's payload,
/// defined with the others in [`crate::workflow::events`].
pub use crate::workflow::events::PendingMail;

impl PendingMail {
    /// The mail `kind` for `case`, in the case's language, from the texts of the transition.
    pub(super) fn new(
        kind: CustomerMail,
        case: &Case,
        input: &TransitionInput,
    ) -> Result<PendingMail, WorkflowError> {
        let lang: Lang = case.language.parse().unwrap_or_default();
        let t = texts(lang)?;
        let (kind, text) = match kind {
            CustomerMail::DefinitionAndScope => (
                "definition_and_scope",
                format!(
                    "{}\n{}\n\n{}\n{}\n",
                    t("workflow.customer_mail.definition"),
                    case.problem_definition.as_deref().unwrap_or("").trim(),
                    t("workflow.customer_mail.scope"),
                    input.get(Requirement::Scope).unwrap_or(""),
                ),
            ),
            CustomerMail::Question => (
                "question",
                format!("{}\n", input.get(Requirement::Question).unwrap_or("")),
            ),
            CustomerMail::Resolution => (
                "resolution",
                fill(
                    t("workflow.customer_mail.resolution"),
                    case,
                    "{resolution}",
                    input.get(Requirement::Resolution).unwrap_or(""),
                ),
            ),
            CustomerMail::Summary => (
                "summary",
                fill(
                    t("workflow.customer_mail.summary"),
                    case,
                    "{summary}",
                    input.get(Requirement::Summary).unwrap_or(""),
                ),
            ),
        };
        Ok(PendingMail {
            kind: kind.to_string(),
            text,
            language: lang.code().to_string(),
        })
    }
}

/// A mail template from `messages.toml` with the case's number and title and one text filled in,
/// in one pass over the template, so braces in the title or the agent's text are never read as
/// placeholders.
fn fill(template: &str, case: &Case, placeholder: &str, text: &str) -> String {
    let values = [
        ("{number}", case.number.as_str()),
        ("{title}", case.title.as_str()),
        (placeholder, text),
    ];
    let mut out = String::with_capacity(template.len() + text.len() + case.title.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match values.iter().find(|(key, _)| rest.starts_with(key)) {
            Some((key, value)) => {
                out.push_str(value);
                rest = &rest[key.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The subject a workflow mail of this stored kind is sent under.
pub fn subject_kind(kind: &str) -> crate::mail::compose::SubjectKind {
    use crate::mail::compose::SubjectKind;
    match kind {
        "question" => SubjectKind::Question,
        "resolution" => SubjectKind::Resolution,
        "summary" => SubjectKind::Summary,
        _ => SubjectKind::Scope,
    }
}

/// Records the `customer_mail_pending` event that carries `mail`; runs inside the caller's transaction.
/// Returns the event's id.
pub(super) fn record_pending_mail(
    conn: &mut DbConn,
    case_id: i64,
    actor: &ActorRef,
    mail: &PendingMail,
    when: NaiveDateTime,
) -> Result<i64, WorkflowError> {
    CaseEvent::record(
        conn,
        case_id,
        &NewEvent {
            actor_id: actor.id(),
            actor_label: actor.label(),
            kind: EventKind::CustomerMailPending,
            note: Some(&mail.text),
            data: Some(mail.to_data()),
            at: Some(when),
            ..Default::default()
        },
    )?;
    // The newest request of this case: the row just written (the caller holds the case's write lock).
    Ok(case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq(EventKind::CustomerMailPending))
        .select(diesel::dsl::max(case_events::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or_default())
}

/// A `customer_mail_pending` event: the event id (so the outbound module can remember which it has
/// queued) and the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMailEvent {
    /// `case_events.id`.
    pub event_id: i64,
    /// When the transition asked for it.
    pub at: NaiveDateTime,
    /// What to send.
    pub mail: PendingMail,
}

/// Every mail to the customer the workflow has asked for on this case, oldest first.
pub fn pending_customer_mail(
    conn: &mut DbConn,
    case_id: i64,
) -> Result<Vec<PendingMailEvent>, WorkflowError> {
    let rows: Vec<(i64, NaiveDateTime, Option<String>)> = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq(EventKind::CustomerMailPending))
        .order(case_events::id.asc())
        .select((case_events::id, case_events::created_at, case_events::data))
        .load(conn)?;
    rows.into_iter()
        .map(|(event_id, at, data)| {
            let mail = PendingMail::read(data.as_deref()).map_err(|e| {
                WorkflowError::Corrupt(format!("pending mail event {event_id}: {e}"))
            })?;
            Ok(PendingMailEvent { event_id, at, mail })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_in(language: &str, definition: Option<&str>) -> Case {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 9, 21)
            .and_then(|d| d.and_hms_opt(1, 0, 0))
            .unwrap();
        Case {
            id: 1,
            number: "CAS-06004-S8K5X3".into(),
            seq: 6004,
            title: "激活失败".into(),
            state: crate::workflow::state::CaseState::Defined,
            priority: crate::workflow::state::Priority::Normal,
            customer_email: "c@example.com".into(),
            customer_name: None,
            assignee_id: None,
            team: None,
            language: language.into(),
            problem_definition: definition.map(str::to_string),
            scope: None,
            resolution: None,
            duplicate_of_id: None,
            merged_into_id: None,
            created_at: at,
            updated_at: at,
            last_activity_at: at,
            closed_at: None,
        }
    }

    #[test]
    fn customer_mail_is_written_in_the_customers_language() {
        let input = TransitionInput {
            scope: Some("协助用户分析。".into()),
            question: Some(" 请提供日志。 ".into()),
            ..Default::default()
        };
        let zh = PendingMail::new(
            CustomerMail::DefinitionAndScope,
            &case_in("zh-CN", Some("离线激活失败。")),
            &input,
        )
        .unwrap();
        assert_eq!(zh.kind, "definition_and_scope");
        assert_eq!(zh.language, "zh-CN");
        assert_eq!(
            zh.text,
            "问题定义：\n离线激活失败。\n\n问题范围：\n协助用户分析。\n"
        );
        let en = PendingMail::new(
            CustomerMail::DefinitionAndScope,
            &case_in("en", None),
            &input,
        )
        .unwrap();
        assert_eq!(en.text, "Problem definition:\n\n\nScope:\n协助用户分析。\n");
        let resolved = TransitionInput {
            resolution: Some("解绑后激活成功 {summary}".into()),
            summary: Some("Problem definition:\n…".into()),
            ..Default::default()
        };
        let mail =
            PendingMail::new(CustomerMail::Resolution, &case_in("zh-CN", None), &resolved).unwrap();
        assert_eq!(mail.kind, "resolution");
        assert!(
            mail.text.contains("CAS-06004-S8K5X3")
                && mail.text.contains("激活失败")
                && mail.text.contains("解绑后激活成功 {summary}")
                && mail.text.contains("直接回复此邮件"),
            "{}",
            mail.text
        );
        let mail =
            PendingMail::new(CustomerMail::Resolution, &case_in("en", None), &resolved).unwrap();
        assert!(mail.text.contains("reply to this mail"), "{}", mail.text);
        let mail =
            PendingMail::new(CustomerMail::Summary, &case_in("en", None), &resolved).unwrap();
        assert_eq!(mail.kind, "summary");
        assert!(
            mail.text.contains("Problem definition:\n…"),
            "{}",
            mail.text
        );
        let question =
            PendingMail::new(CustomerMail::Question, &case_in("en", None), &input).unwrap();
        assert_eq!(
            (question.kind.as_str(), question.text.as_str()),
            ("question", "请提供日志。\n")
        );
    }
}
