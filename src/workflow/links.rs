//! Links between cases (related; parent and child) and merge suggestions.
//!
//! A link is one `case_links` row read from both sides: `relation` is stored from `from_case_id`'s
//! side (`related` or `parent_of`), and each side sees what the *other* case is to it (related,
//! parent, child). Linking and unlinking record `linked` / `unlinked` on both timelines with the
//! [`CaseLink`] payload from each side's view. A case has at most [`MAX_LINKS`] links.
//!
//! Merge suggestions: open cases of the same customer, opened within [`SUGGEST_WINDOW_DAYS`] of
//! this one, whose title shares most of its words with this one's — read from at most
//! [`SUGGEST_CANDIDATES`] candidates, compared in Rust.

use std::collections::BTreeSet;

use chrono::Duration;
use diesel::prelude::*;

use super::events::{CaseLink, EventData, EventKind};
use super::service::{ActorRef, WorkflowError};
use super::state::CaseState;
use crate::cases::Case;
use crate::cases::messages::{CaseEvent, NewEvent};
use crate::db::schema::cases;
use crate::db::{DbConn, now};
use crate::workflow::schema::case_links;

/// Links one case may have.
pub const MAX_LINKS: i64 = 50;
/// How far apart two cases may be opened to be suggested as duplicates.
pub const SUGGEST_WINDOW_DAYS: i64 = 7;
/// Candidates read for suggestions (same customer, in the window), newest first.
pub const SUGGEST_CANDIDATES: i64 = 20;
/// Suggestions shown.
pub const MAX_SUGGESTIONS: usize = 5;

/// What the other case is to this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Related.
    Related,
    /// The other case is this one's parent.
    Parent,
    /// The other case is this one's child.
    Child,
}

impl Relation {
    /// The form and payload name (`related`, `parent`, `child`).
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Related => "related",
            Relation::Parent => "parent",
            Relation::Child => "child",
        }
    }

    /// The interface string naming it.
    pub fn label_key(self) -> &'static str {
        match self {
            Relation::Related => "links.related",
            Relation::Parent => "links.parent",
            Relation::Child => "links.child",
        }
    }

    /// The stored `relation` of a row whose `from` side sees the other as `self`... stored from
    /// the parent's side: `related`, or `parent_of` (from is the parent of to).
    pub fn stored(self) -> &'static str {
        match self {
            Relation::Related => "related",
            Relation::Parent | Relation::Child => "parent_of",
        }
    }

    /// The same link seen from the other case.
    pub fn reverse(self) -> Relation {
        match self {
            Relation::Related => Relation::Related,
            Relation::Parent => Relation::Child,
            Relation::Child => Relation::Parent,
        }
    }
}

impl std::str::FromStr for Relation {
    type Err = WorkflowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "related" => Ok(Relation::Related),
            "parent" => Ok(Relation::Parent),
            "child" => Ok(Relation::Child),
            other => Err(invalid(
                "links.error.relation",
                format!("unknown relation {other:?} (related, parent or child)"),
            )),
        }
    }
}

fn invalid(key: &'static str, detail: impl Into<String>) -> WorkflowError {
    WorkflowError::Invalid {
        key,
        detail: detail.into(),
    }
}

/// One link as a case sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    /// `case_links.id`.
    pub id: i64,
    /// The other case's number.
    pub number: String,
    /// Its title.
    pub title: String,
    /// Its state.
    pub state: CaseState,
    /// What it is to this case.
    pub relation: Relation,
    /// Why they are linked.
    pub reason: String,
}

#[derive(Queryable)]
struct LinkRow {
    id: i64,
    from_case_id: i64,
    to_case_id: i64,
    relation: String,
    reason: String,
}

/// What the other case of `row` is to `case_id`.
fn seen_from(row: &LinkRow, case_id: i64) -> Relation {
    match (row.relation.as_str(), row.from_case_id == case_id) {
        ("parent_of", true) => Relation::Child,
        ("parent_of", false) => Relation::Parent,
        _ => Relation::Related,
    }
}

fn rows_of(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<LinkRow>> {
    case_links::table
        .filter(
            case_links::from_case_id
                .eq(case_id)
                .or(case_links::to_case_id.eq(case_id)),
        )
        .order(case_links::id.asc())
        .limit(MAX_LINKS)
        .select((
            case_links::id,
            case_links::from_case_id,
            case_links::to_case_id,
            case_links::relation,
            case_links::reason,
        ))
        .load(conn)
}

/// The case's links, oldest first, at most [`MAX_LINKS`].
pub fn links_of(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<LinkView>> {
    let rows = rows_of(conn, case_id)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let other_id = if row.from_case_id == case_id {
            row.to_case_id
        } else {
            row.from_case_id
        };
        if let Some(other) = Case::find_by_id(conn, other_id)? {
            out.push(LinkView {
                id: row.id,
                relation: seen_from(&row, case_id),
                number: other.number,
                title: other.title,
                state: other.state,
                reason: row.reason,
            });
        }
    }
    Ok(out)
}

/// What a person asks for: link `case` to `other`, which is `relation` to it.
#[derive(Debug, Clone)]
pub struct LinkCommand {
    /// This case's number.
    pub case: String,
    /// The other case's number.
    pub other: String,
    /// What the other case is to this one.
    pub relation: Relation,
    /// Why.
    pub reason: String,
    /// Who links.
    pub actor: ActorRef,
}

fn record(
    conn: &mut DbConn,
    kind: EventKind,
    actor: &ActorRef,
    (a, b): (&Case, &Case),
    a_sees_b: Relation,
    reason: &str,
) -> Result<(), WorkflowError> {
    let when = now();
    for (this, other, relation) in [(a, b, a_sees_b), (b, a, a_sees_b.reverse())] {
        CaseEvent::record(
            conn,
            this.id,
            &NewEvent {
                actor_id: actor.id(),
                actor_label: actor.label(),
                kind,
                note: Some(&format!(
                    "{} ({}): {reason}",
                    other.number,
                    relation.as_str()
                )),
                data: Some(
                    CaseLink {
                        other: other.number.clone(),
                        relation: relation.as_str().into(),
                        reason: reason.to_string(),
                    }
                    .to_data(),
                ),
                at: Some(when),
                ..Default::default()
            },
        )?;
    }
    Ok(())
}

/// Links two cases; returns the new link's id.
pub fn link(conn: &mut DbConn, cmd: &LinkCommand) -> Result<i64, WorkflowError> {
    if !cmd.actor.works_cases() {
        return Err(WorkflowError::Forbidden);
    }
    let reason = cmd.reason.trim();
    if reason.is_empty() {
        return Err(invalid("links.error.reason", "a link needs a reason"));
    }
    crate::db::write_transaction(conn, |conn| {
        let this = Case::find_by_number(conn, &cmd.case)?.ok_or(WorkflowError::CaseNotFound)?;
        let other = Case::find_by_number(conn, cmd.other.trim())?.ok_or_else(|| {
            invalid(
                "links.error.unknown",
                format!("no case {}", cmd.other.trim()),
            )
        })?;
        if this.id == other.id {
            return Err(invalid("links.error.self", "a case cannot link to itself"));
        }
        Case::lock(conn, this.id)?;
        let existing: i64 = case_links::table
            .filter(
                (case_links::from_case_id
                    .eq(this.id)
                    .and(case_links::to_case_id.eq(other.id)))
                .or(case_links::from_case_id
                    .eq(other.id)
                    .and(case_links::to_case_id.eq(this.id))),
            )
            .count()
            .get_result(conn)?;
        if existing > 0 {
            return Err(invalid(
                "links.error.exists",
                format!("{} and {} are already linked", this.number, other.number),
            ));
        }
        for case in [&this, &other] {
            let n: i64 = case_links::table
                .filter(
                    case_links::from_case_id
                        .eq(case.id)
                        .or(case_links::to_case_id.eq(case.id)),
                )
                .count()
                .get_result(conn)?;
            if n >= MAX_LINKS {
                return Err(invalid(
                    "links.error.too_many",
                    format!("{} has {MAX_LINKS} links", case.number),
                ));
            }
        }
        // Stored from the parent's side for parent/child links.
        let (from, to) = match cmd.relation {
            Relation::Parent => (other.id, this.id),
            Relation::Related | Relation::Child => (this.id, other.id),
        };
        diesel::insert_into(case_links::table)
            .values((
                case_links::from_case_id.eq(from),
                case_links::to_case_id.eq(to),
                case_links::relation.eq(cmd.relation.stored()),
                case_links::reason.eq(reason),
                case_links::created_by.eq(cmd.actor.id()),
                case_links::created_at.eq(now()),
            ))
            .execute(conn)?;
        let id: i64 = case_links::table
            .filter(case_links::from_case_id.eq(from))
            .filter(case_links::to_case_id.eq(to))
            .select(case_links::id)
            .first(conn)?;
        record(
            conn,
            EventKind::Linked,
            &cmd.actor,
            (&this, &other),
            cmd.relation,
            reason,
        )?;
        Ok(id)
    })
}

/// Removes link `link_id` of case `number`; `false` when the case has no such link.
pub fn unlink(
    conn: &mut DbConn,
    number: &str,
    link_id: i64,
    actor: &ActorRef,
) -> Result<bool, WorkflowError> {
    if !actor.works_cases() {
        return Err(WorkflowError::Forbidden);
    }
    crate::db::write_transaction(conn, |conn| {
        let this = Case::find_by_number(conn, number)?.ok_or(WorkflowError::CaseNotFound)?;
        let Some(row) = rows_of(conn, this.id)?
            .into_iter()
            .find(|r| r.id == link_id)
        else {
            return Ok(false);
        };
        let other_id = if row.from_case_id == this.id {
            row.to_case_id
        } else {
            row.from_case_id
        };
        let other = Case::find_by_id(conn, other_id)?.ok_or(WorkflowError::CaseNotFound)?;
        diesel::delete(case_links::table.find(link_id)).execute(conn)?;
        record(
            conn,
            EventKind::Unlinked,
            actor,
            (&this, &other),
            seen_from(&row, this.id),
            &row.reason,
        )?;
        Ok(true)
    })
}

/// The words of a title, for comparing subjects: lowercase, reply prefixes and case tokens gone,
/// CJK runs as overlapping two-character pairs (Chinese has no spaces).
fn words(title: &str) -> BTreeSet<String> {
    let cleaned = crate::ingest::subject::clean_title(title).to_lowercase();
    let mut out = BTreeSet::new();
    let mut cjk: Vec<char> = Vec::new();
    let flush = |cjk: &mut Vec<char>, out: &mut BTreeSet<String>| {
        if cjk.len() == 1 {
            out.insert(cjk[0].to_string());
        }
        for pair in cjk.windows(2) {
            out.insert(pair.iter().collect());
        }
        cjk.clear();
    };
    let mut word = String::new();
    for c in cleaned.chars() {
        let is_cjk =
            ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c);
        if is_cjk {
            if !word.is_empty() {
                out.insert(std::mem::take(&mut word));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush(&mut cjk, &mut out);
            word.push(c);
        } else {
            flush(&mut cjk, &mut out);
            if word.chars().count() > 1 {
                out.insert(std::mem::take(&mut word));
            } else {
                word.clear();
            }
        }
    }
    flush(&mut cjk, &mut out);
    if word.chars().count() > 1 {
        out.insert(word);
    }
    out
}

/// How alike two titles are: shared words over the smaller title's words (0..=1).
pub fn title_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (words(a), words(b));
    let smaller = a.len().min(b.len());
    if smaller == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / smaller as f64
}

/// Cases this one may duplicate: open (not archived, not merged), same customer address, opened
/// within [`SUGGEST_WINDOW_DAYS`] days, title similarity at least 0.5, not already linked; most
/// similar first, at most [`MAX_SUGGESTIONS`].
pub fn merge_suggestions(conn: &mut DbConn, case: &Case) -> QueryResult<Vec<(Case, f64)>> {
    if case.merged_into_id.is_some() {
        return Ok(Vec::new());
    }
    let window = Duration::days(SUGGEST_WINDOW_DAYS);
    let candidates: Vec<Case> = cases::table
        .filter(cases::customer_email.eq(&case.customer_email))
        .filter(cases::id.ne(case.id))
        .filter(cases::merged_into_id.is_null())
        .filter(cases::state.ne(CaseState::Archived.as_str()))
        .filter(cases::created_at.ge(case.created_at - window))
        .filter(cases::created_at.le(case.created_at + window))
        .order(cases::created_at.desc())
        .limit(SUGGEST_CANDIDATES)
        .select(Case::as_select())
        .load(conn)?;
    let linked: BTreeSet<String> = links_of(conn, case.id)?
        .into_iter()
        .map(|l| l.number)
        .collect();
    let mut out: Vec<(Case, f64)> = candidates
        .into_iter()
        .filter(|c| !linked.contains(&c.number))
        .map(|c| {
            let s = title_similarity(&case.title, &c.title);
            (c, s)
        })
        .filter(|(_, s)| *s >= 0.5)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.id.cmp(&a.0.id)));
    out.truncate(MAX_SUGGESTIONS);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_titles_share_most_words_in_any_script() {
        assert!(
            title_similarity(
                "Re: 离线激活失败 Device marker binding is Invalid",
                "离线激活失败"
            ) >= 0.99
        );
        assert!(
            title_similarity(
                "Activation fails on 12 thin clients",
                "RE: activation fails on thin clients"
            ) >= 0.8
        );
        assert!(title_similarity("KMS host not found", "Invoice for October") < 0.5);
        assert!(title_similarity("激活失败", "发票问题") < 0.5);
        assert_eq!(title_similarity("", "anything"), 0.0);
    }

    #[test]
    fn a_link_reads_the_other_way_from_the_other_side() {
        for r in [Relation::Related, Relation::Parent, Relation::Child] {
            assert_eq!(r.reverse().reverse(), r);
            assert_eq!(r.as_str().parse::<Relation>().unwrap(), r);
        }
        let row = LinkRow {
            id: 1,
            from_case_id: 10,
            to_case_id: 20,
            relation: "parent_of".into(),
            reason: String::new(),
        };
        assert_eq!(seen_from(&row, 10), Relation::Child, "10 sees its child");
        assert_eq!(seen_from(&row, 20), Relation::Parent, "20 sees its parent");
    }
}
