//! Notifications as stored: [`notify`] writes one row per recipient inside the transaction of the
//! event that causes it (an assignment, an escalation, a hand-back, a customer's mail, an SLA
//! warning of the sweep), so a notification exists exactly when its event does. Everything here
//! is bounded: at most [`MAX_RECIPIENTS`] rows per event, lists of [`PAGE_SIZE`], an unread count
//! that stops at [`UNREAD_CAP`].
//!
//! The rules, in [`notify`]: never to the person who caused the event, never to a disabled
//! account, each recipient once, and only on the channels the recipient left on
//! ([`Setting`]: in Casebook and by mail, per kind, both on by default). The mail itself is
//! composed later, outside the event's transaction ([`super::mail`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{notification_settings, notifications};
use crate::auth::Role;
use crate::db::DbConn;
use crate::db::schema::{cases, users};
use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// Most people one event notifies (a team of engineers, the managers); the rest are not told.
pub const MAX_RECIPIENTS: usize = 20;
/// Notifications per page of the list.
pub const PAGE_SIZE: i64 = 50;
/// The unread count stops here (the navigation bar shows "99+").
pub const UNREAD_CAP: i64 = 100;
/// Longest quote kept from the text behind a notification (a reason, findings, the customer's words).
pub const EXCERPT_CHARS: usize = 200;

/// `mail_state`: the recipient switched mail off for this kind.
pub const MAIL_NONE: &str = "none";
/// `mail_state`: waiting for the outbox sender to compose and queue it.
pub const MAIL_PENDING: &str = "pending";
/// `mail_state`: in the outbox.
pub const MAIL_QUEUED: &str = "queued";

/// What a notification tells someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A case was assigned to you.
    Assigned,
    /// A case was escalated to you, or to your team.
    Escalated,
    /// Engineering handed a case you escalated or own back to support.
    HandedBack,
    /// The customer wrote on a case you own (or one escalated to you).
    CustomerReplied,
    /// An SLA clock of a case you own is within the hour of its deadline.
    SlaNearBreach,
}

impl Kind {
    /// Every kind, in the order the settings page lists them.
    pub const ALL: [Kind; 5] = [
        Kind::Assigned,
        Kind::Escalated,
        Kind::HandedBack,
        Kind::CustomerReplied,
        Kind::SlaNearBreach,
    ];

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Assigned => "assigned",
            Kind::Escalated => "escalated",
            Kind::HandedBack => "handed_back",
            Kind::CustomerReplied => "customer_replied",
            Kind::SlaNearBreach => "sla_near_breach",
        }
    }

    /// The kind stored as `s`, if this version knows it.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The switch's label on the settings page.
    pub fn label(self, lang: Lang) -> &'static str {
        let t = builtin(lang);
        match self {
            Kind::Assigned => t.t("notify.kind.assigned"),
            Kind::Escalated => t.t("notify.kind.escalated"),
            Kind::HandedBack => t.t("notify.kind.handed_back"),
            Kind::CustomerReplied => t.t("notify.kind.customer_replied"),
            Kind::SlaNearBreach => t.t("notify.kind.sla_near_breach"),
        }
    }

    fn sentence_template(self, lang: Lang) -> &'static str {
        let t = builtin(lang);
        match self {
            Kind::Assigned => t.t("notify.text.assigned"),
            Kind::Escalated => t.t("notify.text.escalated"),
            Kind::HandedBack => t.t("notify.text.handed_back"),
            Kind::CustomerReplied => t.t("notify.text.customer_replied"),
            Kind::SlaNearBreach => t.t("notify.text.sla_near_breach"),
        }
    }
}

/// The event behind notifications, as [`notify`] records it.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What happened.
    pub kind: Kind,
    /// The case it happened on.
    pub case_id: Option<i64>,
    /// The account that caused it (never notified); `None` for Casebook itself or a customer.
    pub actor_id: Option<i64>,
    /// Who caused it, as shown (`system` for Casebook).
    pub actor_label: &'a str,
    /// The short fact the sentence names: the escalation's target, the SLA clock's metric.
    pub detail: Option<&'a str>,
    /// Words behind it, quoted under the sentence (shortened to [`EXCERPT_CHARS`]).
    pub excerpt: Option<&'a str>,
    /// When.
    pub at: NaiveDateTime,
}

/// One person's switches for one kind. Without a stored row both are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The kind.
    pub kind: Kind,
    /// Shown in the list and counted in the navigation bar.
    pub in_app: bool,
    /// Mailed.
    pub by_mail: bool,
}

/// Records `event` for each of `recipients` (in order, each once, at most [`MAX_RECIPIENTS`]),
/// leaving out the actor, disabled or unknown accounts, and people who switched both channels
/// off for this kind. Run it inside the event's transaction. Returns who was notified.
pub fn notify(conn: &mut DbConn, event: &Event<'_>, recipients: &[i64]) -> QueryResult<Vec<i64>> {
    let mut chosen: Vec<i64> = Vec::new();
    for &id in recipients {
        if Some(id) == event.actor_id || chosen.contains(&id) {
            continue;
        }
        if chosen.len() == MAX_RECIPIENTS {
            tracing::info!(
                kind = event.kind.as_str(),
                case_id = event.case_id,
                "notification recipients capped at {MAX_RECIPIENTS}"
            );
            break;
        }
        chosen.push(id);
    }
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let active: Vec<i64> = users::table
        .filter(users::id.eq_any(&chosen))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .load(conn)?;
    let switches: Vec<(i64, bool, bool)> = notification_settings::table
        .filter(notification_settings::user_id.eq_any(&chosen))
        .filter(notification_settings::kind.eq(event.kind.as_str()))
        .select((
            notification_settings::user_id,
            notification_settings::in_app,
            notification_settings::by_mail,
        ))
        .load(conn)?;
    let excerpt = event.excerpt.map(shorten).filter(|e| !e.is_empty());
    let mut notified = Vec::new();
    for id in chosen.into_iter().filter(|id| active.contains(id)) {
        let (in_app, by_mail) = switches
            .iter()
            .find(|(user, _, _)| *user == id)
            .map(|&(_, in_app, by_mail)| (in_app, by_mail))
            .unwrap_or((true, true));
        if !in_app && !by_mail {
            continue;
        }
        diesel::insert_into(notifications::table)
            .values((
                notifications::user_id.eq(id),
                notifications::kind.eq(event.kind.as_str()),
                notifications::case_id.eq(event.case_id),
                notifications::actor_label.eq(event.actor_label),
                notifications::detail.eq(event.detail),
                notifications::excerpt.eq(excerpt.as_deref()),
                notifications::in_app.eq(in_app),
                notifications::mail_state.eq(if by_mail { MAIL_PENDING } else { MAIL_NONE }),
                notifications::created_at.eq(event.at),
            ))
            .execute(conn)?;
        notified.push(id);
    }
    Ok(notified)
}

/// The first [`EXCERPT_CHARS`] characters of `text` on one line (runs of white space become one
/// space), with `…` when cut.
pub fn shorten(text: &str) -> String {
    let mut out = String::new();
    let mut words = text.split_whitespace();
    let mut count = 0;
    let mut cut = false;
    if let Some(first) = words.next() {
        for (i, word) in std::iter::once(first).chain(words).enumerate() {
            if i > 0 {
                if count + 1 > EXCERPT_CHARS {
                    cut = true;
                    break;
                }
                out.push(' ');
                count += 1;
            }
            for c in word.chars() {
                if count == EXCERPT_CHARS {
                    cut = true;
                    break;
                }
                out.push(c);
                count += 1;
            }
            if cut {
                break;
            }
        }
    }
    if cut {
        out.push('…');
    }
    out
}

/// The active managers, oldest account first, at most [`MAX_RECIPIENTS`]: who is warned about a
/// case nobody owns.
pub fn managers(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    users::table
        .filter(users::role.eq(Role::Manager.as_str()))
        .filter(users::disabled.eq(false))
        .order(users::id.asc())
        .limit(MAX_RECIPIENTS as i64)
        .select(users::id)
        .load(conn)
}

/// A notification as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Row id.
    pub id: i64,
    /// What it says.
    pub kind: Kind,
    /// The case's number, if it is about one.
    pub case_number: Option<String>,
    /// The case's title.
    pub case_title: Option<String>,
    /// Who caused it.
    pub actor_label: String,
    /// The fact the sentence names (target, clock).
    pub detail: Option<String>,
    /// The quoted words.
    pub excerpt: Option<String>,
    /// When.
    pub created_at: NaiveDateTime,
    /// Whether it was marked read.
    pub read: bool,
}

impl Listed {
    /// The notification as one sentence in `lang`, e.g. "Wang Binbin assigned CAS-06004-S8K5X3 to you."
    pub fn sentence(&self, lang: Lang) -> String {
        sentence(
            self.kind,
            &self.actor_label,
            self.case_number.as_deref().unwrap_or(""),
            self.detail.as_deref(),
            lang,
        )
    }
}

/// One notification's sentence in `lang`. The SLA warning's detail is the clock's stored metric
/// and is shown by its name in `lang`.
pub fn sentence(kind: Kind, actor: &str, number: &str, detail: Option<&str>, lang: Lang) -> String {
    let detail = detail.unwrap_or("");
    let detail = match kind {
        Kind::SlaNearBreach => crate::workflow::sla::SlaMetric::ALL
            .into_iter()
            .find(|m| m.as_str() == detail)
            .map_or(detail, |m| m.label(lang)),
        _ => detail,
    };
    fill(
        kind.sentence_template(lang),
        &[
            ("{actor}", actor),
            ("{number}", number),
            ("{detail}", detail),
        ],
    )
}

/// Fills `{name}` placeholders in one pass, so a value that contains a placeholder stays as written.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
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
    out
}

type ListedRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// Page `page` (from 1) of `user_id`'s notifications, newest first, and whether older ones exist.
pub fn list(conn: &mut DbConn, user_id: i64, page: i64) -> QueryResult<(Vec<Listed>, bool)> {
    let page = page.max(1);
    let rows: Vec<ListedRow> = notifications::table
        .left_join(cases::table)
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::in_app.eq(true))
        .order(notifications::id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1).saturating_mul(PAGE_SIZE))
        .select((
            notifications::id,
            notifications::kind,
            cases::number.nullable(),
            cases::title.nullable(),
            notifications::actor_label,
            notifications::detail,
            notifications::excerpt,
            notifications::created_at,
            notifications::read_at,
        ))
        .load(conn)?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let listed = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .filter_map(
            |(id, kind, number, title, actor, detail, excerpt, at, read_at)| {
                // A kind a newer version wrote is skipped rather than shown wrongly.
                Some(Listed {
                    id,
                    kind: Kind::parse(&kind)?,
                    case_number: number,
                    case_title: title,
                    actor_label: actor,
                    detail,
                    excerpt,
                    created_at: at,
                    read: read_at.is_some(),
                })
            },
        )
        .collect();
    Ok((listed, more))
}

/// How many notifications `user_id` has not read, up to [`UNREAD_CAP`].
pub fn unread_count(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    let ids: Vec<i64> = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .filter(notifications::in_app.eq(true))
        .select(notifications::id)
        .limit(UNREAD_CAP)
        .load(conn)?;
    Ok(ids.len() as i64)
}

/// Marks one of `user_id`'s notifications read; `false` when it is not theirs, unknown or
/// already read.
pub fn mark_read(conn: &mut DbConn, user_id: i64, id: i64, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        notifications::table
            .filter(notifications::id.eq(id))
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(Some(at)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Marks every notification of `user_id` read; returns how many changed.
pub fn mark_all_read(conn: &mut DbConn, user_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(Some(at)))
    .execute(conn)
}

/// `user_id`'s switches for every kind (stored ones, else both on), in [`Kind::ALL`] order.
pub fn settings(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Setting>> {
    let stored: Vec<(String, bool, bool)> = notification_settings::table
        .filter(notification_settings::user_id.eq(user_id))
        .select((
            notification_settings::kind,
            notification_settings::in_app,
            notification_settings::by_mail,
        ))
        .load(conn)?;
    Ok(Kind::ALL
        .into_iter()
        .map(|kind| {
            let (in_app, by_mail) = stored
                .iter()
                .find(|(k, _, _)| k == kind.as_str())
                .map_or((true, true), |&(_, a, m)| (a, m));
            Setting {
                kind,
                in_app,
                by_mail,
            }
        })
        .collect())
}

/// Stores `user_id`'s switches (one row per kind given), replacing earlier ones, in one transaction.
pub fn save_settings(conn: &mut DbConn, user_id: i64, settings: &[Setting]) -> QueryResult<()> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(
            notification_settings::table.filter(notification_settings::user_id.eq(user_id)),
        )
        .execute(conn)?;
        for s in settings {
            diesel::insert_into(notification_settings::table)
                .values((
                    notification_settings::user_id.eq(user_id),
                    notification_settings::kind.eq(s.kind.as_str()),
                    notification_settings::in_app.eq(s.in_app),
                    notification_settings::by_mail.eq(s.by_mail),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_stored_form() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("mentioned"), None);
    }

    #[test]
    fn sentences_name_the_actor_case_and_detail_in_the_readers_language() {
        assert_eq!(
            sentence(Kind::Assigned, "王斌斌", "CAS-06004-S8K5X3", None, Lang::En),
            "王斌斌 assigned CAS-06004-S8K5X3 to you."
        );
        assert_eq!(
            sentence(
                Kind::Escalated,
                "Li Na",
                "CAS-06004-S8K5X3",
                Some("engineering"),
                Lang::ZhCn
            ),
            "Li Na 将案例 CAS-06004-S8K5X3 升级至 engineering。"
        );
        assert_eq!(
            sentence(
                Kind::SlaNearBreach,
                "system",
                "CAS-06004-S8K5X3",
                Some("first_response"),
                Lang::En
            ),
            "First response on CAS-06004-S8K5X3 is due within the hour."
        );
        // A name with braces is shown as written, not read as a placeholder.
        assert_eq!(
            sentence(Kind::Assigned, "{number}", "CAS-1", None, Lang::En),
            "{number} assigned CAS-1 to you."
        );
    }

    #[test]
    fn excerpts_are_one_line_and_bounded() {
        assert_eq!(shorten("  请提供\n\n日志   文件 "), "请提供 日志 文件");
        let long = "字".repeat(EXCERPT_CHARS + 5);
        let cut = shorten(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(
            shorten(&"字".repeat(EXCERPT_CHARS)),
            "字".repeat(EXCERPT_CHARS)
        );
        assert_eq!(shorten(" \n "), "");
    }
}
