//! The case list behind the case list page and `GET /api/v1/cases`: filters by state, assignee,
//! priority, SLA status, customer, customer mail domain, open only, age and what happened in a date
//! range ([`crate::cases::filters`], which the dashboard counts with: [`count_cases`]) and full
//! text, counts the matches, and pages through them in a stable order (ties broken by id, so a page
//! never repeats or skips a case).
//!
//! The rows have exactly the shape of `casebook cases list --json`
//! ([`crate::cases::views::CaseListItem`]).
//!
//! **Full text.** The `search_docs` table (migration `2026-12-05-000020_full_text_search`) holds one
//! document per message (subject and whole body: new and quoted text; notes are messages), case
//! (number, title, customer, definition, scope, resolution), summary and attachment name, kept by
//! triggers in the writer's own transaction. A query ([`SearchText`]) is a case number — that case,
//! exactly — or words, each of which must occur somewhere in the case (in any of its documents):
//! - three or more characters, any script: a substring match the trigram index answers (SQLite
//!   FTS5 `trigram`; PostgreSQL `pg_trgm` GIN with `ILIKE`);
//! - two CJK characters (激活, 序列): no trigram contains them alone, so each document also keeps
//!   every two-character pair of its CJK runs, spaced (" 激活 活码 "): on SQLite as the words of a
//!   second FTS5 table, `search_pairs` (one token per pair), on PostgreSQL in the column `grams`,
//!   where the word is the trigram-indexed pattern `% 激活 %`. Latin text needs no pairs: its words
//!   are spaced and rarely that short;
//! - anything shorter (one character, two Latin letters): `LIKE` over the documents, a scan.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use crate::cases::Case;
use crate::cases::filters::{Activity, ActivityFilter, AgeBucket, EventSql};
use crate::cases::views::CaseListItem;
use crate::config::Backend;
use crate::db::DbConn;
use crate::db::conn::MultiBackend;
use crate::db::schema::{cases, messages, search_docs};
use crate::workflow::schema::sla_clocks;
use crate::workflow::sla::SlaCondition;
use crate::workflow::sla_sql;
use crate::workflow::state::CaseState;

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive search that behaves alike on SQLite and PostgreSQL.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// [`cjk_bigrams`] as an SQL function: the search index's triggers call it on SQLite (on
    /// PostgreSQL the migration defines it in SQL).
    fn casebook_cjk_bigrams(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Registers the functions the search index's triggers call; every SQLite connection needs them
/// before it writes a message, case, summary or attachment (`db::conn::establish` calls this).
pub fn register_sqlite_functions(conn: &mut diesel::SqliteConnection) -> QueryResult<()> {
    casebook_cjk_bigrams_utils::register_impl(conn, |text: String| cjk_bigrams(&text))
}

/// SQLite: the documents the triggers queued, indexed in one statement per table (see the
/// migration `2026-12-05-000020_full_text_search` for why not row by row).
const INDEX_QUEUED: &str = "\
INSERT INTO search_docs (rowid, body, case_id)\n\
SELECT q.rowid, s.subject || char(10) || s.body_text, s.case_id FROM search_queue q JOIN messages s ON s.id = q.rowid / 4 WHERE q.rowid % 4 = 0\n\
UNION ALL SELECT q.rowid, s.number || char(10) || s.title || char(10) || s.customer_email || ' ' || coalesce(s.customer_name, '') || char(10) || coalesce(s.problem_definition, '') || char(10) || coalesce(s.scope, '') || char(10) || coalesce(s.resolution, ''), s.id FROM search_queue q JOIN cases s ON s.id = q.rowid / 4 WHERE q.rowid % 4 = 1\n\
UNION ALL SELECT q.rowid, s.body, s.case_id FROM search_queue q JOIN case_summaries s ON s.id = q.rowid / 4 WHERE q.rowid % 4 = 2\n\
UNION ALL SELECT q.rowid, s.filename, s.case_id FROM search_queue q JOIN attachments s ON s.id = q.rowid / 4 WHERE q.rowid % 4 = 3;\n\
INSERT INTO search_pairs (rowid, grams, case_id)\n\
SELECT rowid, casebook_cjk_bigrams(body), case_id FROM search_docs WHERE rowid IN (SELECT rowid FROM search_queue);\n\
DELETE FROM search_queue;\n\
";

/// SQLite: indexes the rows written since the last call (a no-op when none were). Runs inside the
/// writer's transaction: `db::write_transaction` calls it before committing, and a search calls it
/// first when something is still queued, so a search never misses a committed row.
pub fn index_queued(conn: &mut diesel::SqliteConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(INDEX_QUEUED)
}

/// SQLite: whether rows wait in the search queue.
fn queued(conn: &mut diesel::SqliteConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::sql::<Bool>(
        "EXISTS (SELECT 1 FROM search_queue)",
    ))
    .get_result(conn)
}

/// Whether `c` is written without spaces between words: Japanese kana, CJK ideographs (with
/// extension A and the compatibility block), Korean syllables. The PostgreSQL function
/// `casebook_cjk_bigrams` in the migration uses the same ranges.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{4e00}'..='\u{9fff}'
        | '\u{ac00}'..='\u{d7af}'
        | '\u{f900}'..='\u{faff}')
}

/// Every two-character pair inside runs of CJK characters, once each, as " 激活 活码 " (a space
/// before each pair and after the last), or "" when there is none. The spaces make each pair a word
/// (SQLite) or a pattern of four characters a trigram index can find (PostgreSQL).
pub fn cjk_bigrams(text: &str) -> String {
    let mut seen = HashSet::new();
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if !is_cjk(c) {
            prev = None;
            continue;
        }
        if let Some(p) = prev
            && seen.insert((p, c))
        {
            out.push(' ');
            out.push(p);
            out.push(c);
        }
        prev = Some(c);
    }
    if !out.is_empty() {
        out.push(' ');
    }
    out
}

/// Words of a query beyond this many are ignored (each is one subquery).
const MAX_TERMS: usize = 8;

/// A search as typed, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchText {
    /// The whole query is a case number: that case, exactly.
    Number(String),
    /// Words (split at whitespace) each matching case contains somewhere.
    Terms(Vec<Term>),
}

/// One word of a query, by the index that can find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Three or more characters: the trigram index.
    Substring(String),
    /// Two CJK characters: the pairs column.
    CjkPair(String),
    /// One character, or two that are not both CJK: a scan of the documents.
    Short(String),
}

impl Term {
    fn text(&self) -> &str {
        match self {
            Term::Substring(t) | Term::CjkPair(t) | Term::Short(t) => t,
        }
    }
}

impl SearchText {
    /// Parses a query; `None` when it holds no word.
    pub fn parse(text: &str) -> Option<SearchText> {
        if let Ok(number) = crate::cases::CaseNumber::parse(text) {
            return Some(SearchText::Number(number.as_str().to_string()));
        }
        let mut seen = HashSet::new();
        let terms: Vec<Term> = text
            .split_whitespace()
            .filter(|w| seen.insert(w.to_lowercase()))
            .take(MAX_TERMS)
            .map(|w| {
                let chars: Vec<char> = w.chars().collect();
                match chars.len() {
                    0..=1 => Term::Short(w.to_string()),
                    2 if chars.iter().all(|c| is_cjk(*c)) => Term::CjkPair(w.to_string()),
                    2 => Term::Short(w.to_string()),
                    _ => Term::Substring(w.to_string()),
                }
            })
            .collect();
        (!terms.is_empty()).then_some(SearchText::Terms(terms))
    }

    /// The words to highlight.
    fn words(&self) -> Vec<String> {
        match self {
            SearchText::Number(n) => vec![n.clone()],
            SearchText::Terms(terms) => terms.iter().map(|t| t.text().to_string()).collect(),
        }
    }
}

/// An SQL condition with one bound text value.
type WordCondition = diesel::expression::SqlLiteral<
    Bool,
    diesel::expression::UncheckedBind<
        diesel::expression::SqlLiteral<Bool>,
        diesel::dsl::AsExprOf<String, Text>,
    >,
>;

/// The SQL condition for one word: rows of `table` where `before`, the bound `value`, `after`.
struct TermSql {
    /// `search_docs`, or `search_pairs` (SQLite's table of CJK pairs).
    table: &'static str,
    before: &'static str,
    value: String,
    after: &'static str,
}

impl TermSql {
    /// The word in the backend's index language.
    fn new(term: &Term, backend: Backend) -> TermSql {
        // An FTS5 string: double quotes doubled; a phrase is a substring for the trigram tokenizer.
        let fts_string = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
        let (table, before, value, after) = match (backend, term) {
            (Backend::Sqlite, Term::Substring(t)) => {
                ("search_docs", "search_docs MATCH ", fts_string(t), "")
            }
            // One token of the pairs table (unicode61 keeps a run of letters as one token).
            (Backend::Sqlite, Term::CjkPair(t)) => {
                ("search_pairs", "search_pairs MATCH ", fts_string(t), "")
            }
            (Backend::Sqlite, Term::Short(t)) => (
                "search_docs",
                "search_docs.body LIKE ",
                like_pattern(t),
                " ESCAPE '\\'",
            ),
            // PostgreSQL's LIKE and ILIKE escape with the backslash by default.
            (Backend::Postgres, Term::Substring(t) | Term::Short(t)) => (
                "search_docs",
                "search_docs.body ILIKE ",
                like_pattern(t),
                "",
            ),
            (Backend::Postgres, Term::CjkPair(t)) => (
                "search_docs",
                "search_docs.grams LIKE ",
                like_pattern(&format!(" {t} ")),
                "",
            ),
        };
        TermSql {
            table,
            before,
            value,
            after,
        }
    }

    /// The condition on `search_docs` rows.
    fn on_docs(&self) -> WordCondition {
        let before = if self.table == "search_docs" {
            self.before.to_string()
        } else {
            format!(
                "search_docs.rowid IN (SELECT {0}.rowid FROM {0} WHERE {1}",
                self.table, self.before
            )
        };
        let after = if self.table == "search_docs" {
            self.after.to_string()
        } else {
            format!("{})", self.after)
        };
        diesel::dsl::sql::<Bool>(&before)
            .bind::<Text, _>(self.value.clone())
            .sql(&after)
    }

    /// The condition on `cases` rows: a document of the case holds the word. (SQL text, because a
    /// boxed subquery cannot sit in `IN (…)` on the multi-backend connection.)
    fn on_cases(&self) -> WordCondition {
        diesel::dsl::sql::<Bool>(&format!(
            "cases.id IN (SELECT {0}.case_id FROM {0} WHERE {1}",
            self.table, self.before
        ))
        .bind::<Text, _>(self.value.clone())
        .sql(&format!("{})", self.after))
    }
}

/// Who the cases must be assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Any or no assignee.
    Any,
    /// Nobody.
    Unassigned,
    /// This account.
    User(i64),
}

/// The SLA condition a list asks for: a case matches when one of its clocks is in that condition, as
/// defined once by [`SlaCondition`] (the badge's definition; the SQL comes from
/// [`crate::workflow::sla_sql`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlaFilter {
    /// No SLA condition.
    #[default]
    Any,
    /// A clock is running (not met, not paused).
    Running,
    /// A clock is overdue and not met (never a paused one).
    Overdue,
    /// A running clock is near breach (the badge's "near breach": the configured share of its target's
    /// business time has elapsed) and not yet overdue: the cases to answer next.
    DueSoon,
    /// A clock was breached, whether or not it was met later (for reviewing the month).
    Breached,
}

impl SlaFilter {
    /// The filter named in a URL (`running`, `overdue`, `due_soon`, `breached`; empty for none).
    pub fn parse(s: &str) -> Option<SlaFilter> {
        Some(match s {
            "" => SlaFilter::Any,
            "running" => SlaFilter::Running,
            "overdue" => SlaFilter::Overdue,
            "due_soon" => SlaFilter::DueSoon,
            "breached" => SlaFilter::Breached,
            _ => return None,
        })
    }

    /// The clock condition it asks for; `None` for no condition.
    pub fn condition(self) -> Option<SlaCondition> {
        match self {
            SlaFilter::Any => None,
            SlaFilter::Running => Some(SlaCondition::Running),
            SlaFilter::Overdue => Some(SlaCondition::Overdue),
            SlaFilter::DueSoon => Some(SlaCondition::DueSoon),
            SlaFilter::Breached => Some(SlaCondition::Breached),
        }
    }
}

/// Sort order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Most recent activity first.
    #[default]
    Updated,
    /// Newest cases first.
    Created,
    /// The nearest SLA deadline first (cases without a running clock last).
    Due,
}

/// Cases with at most this many matches are sorted by deadline in memory.
const MAX_DUE_SORT: i64 = 10_000;

/// A case-list request: filters, order and page.
#[derive(Debug, Clone)]
pub struct CaseQuery {
    /// Only this state (stored form).
    pub state: Option<String>,
    /// Assignee filter.
    pub assignee: AssigneeFilter,
    /// Full-text search ([`SearchText`]): a case number, or words each somewhere in the case.
    pub text: Option<String>,
    /// 1-based page.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// Only this priority.
    pub priority: Option<String>,
    /// Customer address or name contains this.
    pub customer: Option<String>,
    /// SLA condition.
    pub sla: SlaFilter,
    /// Order.
    pub sort: SortOrder,
    /// Only customers of this mail domain (`centerm.com`: the part after `@`, exactly).
    pub domain: Option<String>,
    /// Only open cases (neither resolved nor archived): the backlog.
    pub open: bool,
    /// Only cases opened this long ago ([`AgeBucket`], judged at the list's `now`).
    pub age: Option<AgeBucket>,
    /// Only cases to which this happened within its range ([`ActivityFilter`]).
    pub activity: Option<ActivityFilter>,
}

impl Default for CaseQuery {
    /// Every case, most recently active first, the first page of 50.
    fn default() -> Self {
        CaseQuery {
            state: None,
            assignee: AssigneeFilter::Any,
            text: None,
            page: 1,
            per_page: 50,
            priority: None,
            customer: None,
            sla: SlaFilter::Any,
            sort: SortOrder::Updated,
            domain: None,
            open: false,
            age: None,
            activity: None,
        }
    }
}

/// One page of matches and how many there are in all.
#[derive(Debug, Clone)]
pub struct CasePage {
    /// The rows, most recently active first (ties by id, so pages never overlap or skip).
    pub cases: Vec<CaseListItem>,
    /// Matches over all pages.
    pub total: i64,
    /// For a text search, where each listed case matched, by case number.
    pub hits: HashMap<String, Hit>,
}

/// Where a case matched a text search: the document and a snippet of it around the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// What kind of document matched.
    pub kind: HitKind,
    /// For a message or note, its sender's name or address.
    pub from: Option<String>,
    /// The snippet as plain-text pieces, each `true` when it is a searched word. Templates escape
    /// every piece and wrap the words in `<mark>`, so no markup from the mail can get through.
    pub parts: Vec<(String, bool)>,
}

/// The kinds of searchable documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    /// Customer mail or a reply.
    Message,
    /// An internal note.
    Note,
    /// The case's own text (number, title, customer, definition, scope, resolution).
    Case,
    /// A case summary.
    Summary,
    /// An attachment's file name.
    Attachment,
}

impl HitKind {
    /// The message-catalogue key of its label.
    pub fn label_key(self) -> &'static str {
        match self {
            HitKind::Message => "search.hit.message",
            HitKind::Note => "search.hit.note",
            HitKind::Case => "search.hit.case",
            HitKind::Summary => "search.hit.summary",
            HitKind::Attachment => "search.hit.attachment",
        }
    }
}

/// `%` and `_` in the search text are literal, not wildcards.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// `%@domain` for `LIKE`, the domain lower-cased and its wildcards literal.
pub(crate) fn domain_pattern(domain: &str) -> String {
    let mut p = like_pattern(domain.trim().trim_start_matches('@'));
    p.pop();
    p.replace_range(0..1, "%@");
    p
}

/// The condition of an [`ActivityFilter`] on `cases` rows. `chased` holds the cases
/// [`crate::reports::chasers::chased_cases`] found (that one is classified in Rust).
fn activity_condition(
    filter: &ActivityFilter,
    chased: &[i64],
    now: DateTime<Utc>,
) -> Box<dyn BoxableExpression<cases::table, MultiBackend, SqlType = Bool>> {
    use diesel::sql_types::Timestamp;
    let (start, end) = (filter.range.start, filter.range.end);
    // `cases.id IN (SELECT e.case_id FROM case_events e WHERE <events> AND e.created_at in range …)`
    // in SQL text: the partial indexes on transition events need the kind as a literal, and a
    // boxed subquery cannot sit in `IN` on the multi-backend connection.
    let events = |condition: String,
                  after: String|
     -> Box<dyn BoxableExpression<cases::table, MultiBackend, SqlType = Bool>> {
        Box::new(
            diesel::dsl::sql::<Bool>(&format!(
                "cases.id IN (SELECT e.case_id FROM case_events e WHERE {condition} AND e.created_at >= "
            ))
            .bind::<Timestamp, _>(start)
            .sql(" AND e.created_at < ")
            .bind::<Timestamp, _>(end)
            .sql(&format!("{after})")),
        )
    };
    match filter.activity {
        Activity::Opened => Box::new(cases::created_at.ge(start).and(cases::created_at.lt(end))),
        Activity::Closed => events(EventSql::closing("e"), String::new()),
        Activity::Reopened => events(
            EventSql::closing("e"),
            format!(
                " AND EXISTS (SELECT 1 FROM case_events r WHERE r.case_id = e.case_id AND {} \
                 AND r.created_at > e.created_at)",
                EventSql::reopening("r")
            ),
        ),
        Activity::Escalated => Box::new(
            cases::created_at
                .ge(start)
                .and(cases::created_at.lt(end))
                .and(diesel::dsl::sql::<Bool>(&format!(
                    "cases.id IN (SELECT e.case_id FROM case_events e WHERE {})",
                    EventSql::into_state("e", CaseState::Escalated)
                ))),
        ),
        Activity::EscalationEnded => {
            events(EventSql::out_of("e", CaseState::Escalated), String::new())
        }
        Activity::Chased => Box::new(cases::id.eq_any(chased.to_vec())),
        Activity::Met(metric) => Box::new(
            cases::id.eq_any(
                sla_clocks::table
                    .filter(sla_clocks::metric.eq(metric.as_str()))
                    .filter(sla_clocks::met_at.ge(start))
                    .filter(sla_clocks::met_at.lt(end))
                    .select(sla_clocks::case_id),
            ),
        ),
        Activity::OnTime(metric) => Box::new(
            cases::id.eq_any(
                sla_clocks::table
                    .filter(sla_clocks::metric.eq(metric.as_str()))
                    .filter(sla_clocks::met_at.ge(start))
                    .filter(sla_clocks::met_at.lt(end))
                    .filter(sla_clocks::breached_at.is_null())
                    .filter(sla_clocks::met_at.assume_not_null().le(sla_clocks::due_at))
                    .select(sla_clocks::case_id),
            ),
        ),
        Activity::Breached(metric) => {
            let now = sla_sql::stored(now);
            Box::new(
                cases::id.eq_any(
                    sla_clocks::table
                        .filter(sla_clocks::metric.eq(metric.as_str()))
                        .filter(sla_clocks::due_at.ge(start))
                        .filter(sla_clocks::due_at.lt(end))
                        .filter(sla_sql::breached!(now))
                        .select(sla_clocks::case_id),
                ),
            )
        }
    }
}

fn filtered(
    q: &CaseQuery,
    search: Option<&SearchText>,
    backend: Backend,
    now: DateTime<Utc>,
    chased: &[i64],
) -> cases::BoxedQuery<'static, MultiBackend> {
    let mut query = cases::table.into_boxed();
    if let Some(domain) = &q.domain {
        query = query.filter(
            lower(cases::customer_email)
                .like(domain_pattern(domain))
                .escape('\\'),
        );
    }
    if q.open {
        query = query.filter(
            cases::state
                .ne(CaseState::Resolved.as_str())
                .and(cases::state.ne(CaseState::Archived.as_str())),
        );
    }
    if let Some(age) = q.age {
        let (after, at_or_before) = age.created_between(now);
        query = query.filter(cases::created_at.le(at_or_before));
        if let Some(after) = after {
            query = query.filter(cases::created_at.gt(after));
        }
    }
    if let Some(activity) = &q.activity {
        query = query.filter(activity_condition(activity, chased, now));
    }
    if let Some(state) = &q.state {
        query = query.filter(cases::state.eq(state.clone()));
    }
    match q.assignee {
        AssigneeFilter::Any => {}
        AssigneeFilter::Unassigned => query = query.filter(cases::assignee_id.is_null()),
        AssigneeFilter::User(id) => query = query.filter(cases::assignee_id.eq(id)),
    }
    if let Some(p) = &q.priority {
        query = query.filter(cases::priority.eq(p.clone()));
    }
    if let Some(c) = &q.customer {
        let pattern = like_pattern(c);
        query = query.filter(
            lower(cases::customer_email)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(cases::customer_name.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    if let Some(condition) = q.sla.condition() {
        query = query.filter(sla_sql::case_has_clock(condition, now));
    }
    match search {
        None => {}
        Some(SearchText::Number(number)) => query = query.filter(cases::number.eq(number.clone())),
        Some(SearchText::Terms(terms)) => {
            for term in terms {
                query = query.filter(TermSql::new(term, backend).on_cases());
            }
        }
    }
    query
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// For an [`Activity::Chased`] filter, the cases a customer chased in its range (classified in Rust,
/// at most [`crate::reports::chasers::MAX_CANDIDATES`] messages read); otherwise none are needed.
fn chased_cases(conn: &mut DbConn, q: &CaseQuery) -> QueryResult<Vec<i64>> {
    match &q.activity {
        Some(ActivityFilter {
            activity: Activity::Chased,
            range,
        }) => {
            Ok(crate::reports::chasers::chased_cases(conn, range, &Default::default())?.case_ids())
        }
        _ => Ok(Vec::new()),
    }
}

/// How many cases a list request matches as of `now` (the dashboard's case counts: the same
/// filters as the list its figures link to).
pub fn count_cases(conn: &mut DbConn, q: &CaseQuery, now: DateTime<Utc>) -> QueryResult<i64> {
    let search = q.text.as_deref().and_then(SearchText::parse);
    let chased = chased_cases(conn, q)?;
    filtered(q, search.as_ref(), conn.backend(), now, &chased)
        .count()
        .get_result(conn)
}

/// Runs a list request now.
pub fn list_cases(conn: &mut DbConn, q: &CaseQuery) -> QueryResult<CasePage> {
    list_cases_at(conn, q, Utc::now())
}

/// Runs a list request as of `now` (the instant SLA conditions are judged at).
pub fn list_cases_at(
    conn: &mut DbConn,
    q: &CaseQuery,
    now: DateTime<Utc>,
) -> QueryResult<CasePage> {
    let search = q.text.as_deref().and_then(SearchText::parse);
    if let (Some(_), DbConn::Sqlite(sqlite)) = (&search, &mut *conn)
        && queued(sqlite)?
    {
        crate::db::write_transaction(conn, |conn| match conn {
            DbConn::Sqlite(sqlite) => index_queued(sqlite),
            DbConn::Postgres(_) => Ok(()),
        })?;
    }
    let backend = conn.backend();
    let chased = chased_cases(conn, q)?;
    let filtered = |q: &CaseQuery, now| filtered(q, search.as_ref(), backend, now, &chased);
    let total: i64 = filtered(q, now).count().get_result(conn)?;
    let offset = (q.page - 1).saturating_mul(q.per_page);
    let found: Vec<Case> = match q.sort {
        SortOrder::Updated => filtered(q, now)
            .select(Case::as_select())
            .order((cases::last_activity_at.desc(), cases::id.desc()))
            .limit(q.per_page)
            .offset(offset)
            .load(conn)?,
        SortOrder::Created => filtered(q, now)
            .select(Case::as_select())
            .order((cases::created_at.desc(), cases::id.desc()))
            .limit(q.per_page)
            .offset(offset)
            .load(conn)?,
        SortOrder::Due => {
            // The deadline is the earliest running clock; sorting by it needs a per-case minimum,
            // taken from one grouped query and applied in memory over the (bounded) matches.
            let mut all: Vec<Case> = filtered(q, now)
                .select(Case::as_select())
                .order(cases::id.asc())
                .limit(MAX_DUE_SORT)
                .load(conn)?;
            let ids: Vec<i64> = all.iter().map(|c| c.id).collect();
            let due: HashMap<i64, Option<chrono::NaiveDateTime>> = sla_clocks::table
                .filter(sla_clocks::case_id.eq_any(&ids))
                .filter(sla_sql::running!())
                .group_by(sla_clocks::case_id)
                .select((sla_clocks::case_id, diesel::dsl::min(sla_clocks::due_at)))
                .load::<(i64, Option<chrono::NaiveDateTime>)>(conn)?
                .into_iter()
                .collect();
            all.sort_by_key(|c| {
                (
                    due.get(&c.id).copied().flatten().is_none(),
                    due.get(&c.id).copied().flatten(),
                    c.id,
                )
            });
            all.into_iter()
                .skip(offset.max(0) as usize)
                .take(q.per_page.max(0) as usize)
                .collect()
        }
    };
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    let counts: HashMap<i64, i64> = messages::table
        .filter(messages::case_id.eq_any(&ids))
        .group_by(messages::case_id)
        .select((messages::case_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let hits = match &search {
        Some(text @ SearchText::Terms(terms)) => hits(conn, backend, text, terms, &found)?,
        _ => HashMap::new(),
    };
    let cases = found
        .into_iter()
        .map(|c| CaseListItem {
            messages: counts.get(&c.id).copied().unwrap_or(0),
            updated_at: rfc3339(c.last_activity_at),
            number: c.number,
            title: c.title,
            state: c.state.as_str().to_string(),
            priority: c.priority.as_str().to_string(),
            customer: c.customer_email,
        })
        .collect();
    Ok(CasePage { cases, total, hits })
}

/// Where each of `found` matched: among the documents of those cases containing the query's most
/// selective word, a message is preferred, then the document holding the most of the words.
fn hits(
    conn: &mut DbConn,
    backend: Backend,
    text: &SearchText,
    terms: &[Term],
    found: &[Case],
) -> QueryResult<HashMap<String, Hit>> {
    let Some(anchor) = terms
        .iter()
        .max_by_key(|t| (!matches!(t, Term::Short(_)), t.text().chars().count()))
    else {
        return Ok(HashMap::new());
    };
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    let docs: Vec<(i64, i64, String)> = search_docs::table
        .filter(TermSql::new(anchor, backend).on_docs())
        .filter(search_docs::case_id.eq_any(ids))
        .select((search_docs::rowid, search_docs::case_id, search_docs::body))
        .load(conn)?;
    let words = text.words();
    let folded: Vec<Vec<char>> = words.iter().map(|w| fold(w)).collect();
    let mut best: HashMap<i64, (bool, usize, i64, &str)> = HashMap::new();
    for (rowid, case_id, body) in &docs {
        let haystack = fold(body);
        let present = folded
            .iter()
            .filter(|w| find(&haystack, w, 0).is_some())
            .count();
        let rank = (rowid % 4 == 0, present, -rowid);
        let better = best
            .get(case_id)
            .is_none_or(|(m, p, r, _)| rank > (*m, *p, *r));
        if better {
            best.insert(*case_id, (rank.0, rank.1, rank.2, body.as_str()));
        }
    }
    let message_ids: Vec<i64> = best
        .values()
        .filter(|(is_message, ..)| *is_message)
        .map(|(_, _, neg_rowid, _)| -neg_rowid / 4)
        .collect();
    let senders: HashMap<i64, (String, String, Option<String>)> = messages::table
        .filter(messages::id.eq_any(message_ids))
        .select((
            messages::id,
            messages::direction,
            messages::from_email,
            messages::from_name,
        ))
        .load::<(i64, String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, direction, email, name)| (id, (direction, email, name)))
        .collect();
    let numbers: HashMap<i64, &str> = found.iter().map(|c| (c.id, c.number.as_str())).collect();
    Ok(best
        .into_iter()
        .filter_map(|(case_id, (_, _, neg_rowid, body))| {
            let rowid = -neg_rowid;
            let (kind, from) = match rowid % 4 {
                0 => match senders.get(&(rowid / 4)) {
                    Some((direction, email, name)) => (
                        if direction == "note" {
                            HitKind::Note
                        } else {
                            HitKind::Message
                        },
                        Some(
                            name.clone()
                                .filter(|n| !n.is_empty())
                                .unwrap_or(email.clone()),
                        ),
                    ),
                    None => (HitKind::Message, None),
                },
                1 => (HitKind::Case, None),
                2 => (HitKind::Summary, None),
                _ => (HitKind::Attachment, None),
            };
            let hit = Hit {
                kind,
                from,
                parts: snippet(body, &words),
            };
            numbers.get(&case_id).map(|n| (n.to_string(), hit))
        })
        .collect())
}

/// Characters a snippet shows before the first word, and at most in all.
const SNIPPET_BEFORE: usize = 40;
const SNIPPET_LEN: usize = 180;

/// One character per character, lower-cased (the first of its lower-case mapping, so positions in
/// the folded text are positions in the original).
fn fold(text: &str) -> Vec<char> {
    text.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

fn find(haystack: &[char], needle: &[char], from: usize) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| haystack[i..i + needle.len()] == *needle)
}

/// A window of `text` (whitespace runs shown as one space) around the first of `words`, cut into
/// pieces marked `true` where a word occurs (case-insensitively).
pub fn snippet(text: &str, words: &[String]) -> Vec<(String, bool)> {
    let chars: Vec<char> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    let folded: Vec<char> = chars
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let needles: Vec<Vec<char>> = words.iter().map(|w| fold(w)).collect();
    let first = needles
        .iter()
        .filter_map(|n| find(&folded, n, 0))
        .min()
        .unwrap_or(0);
    let start = first.saturating_sub(SNIPPET_BEFORE);
    let end = (start + SNIPPET_LEN).min(chars.len());
    let mut marked = vec![false; end - start];
    for needle in &needles {
        let mut at = start;
        while let Some(i) = find(&folded[..end], needle, at) {
            marked[i - start..i - start + needle.len()].fill(true);
            at = i + 1;
        }
    }
    let mut parts: Vec<(String, bool)> = Vec::new();
    for (c, m) in chars[start..end].iter().zip(marked) {
        match parts.last_mut() {
            Some((piece, hit)) if *hit == m => piece.push(*c),
            _ => parts.push((c.to_string(), m)),
        }
    }
    if start > 0 {
        parts.insert(0, ("…".to_string(), false));
    }
    if end < chars.len() {
        parts.push(("…".to_string(), false));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_literal_and_lower_cased() {
        assert_eq!(like_pattern("Win"), "%win%");
        assert_eq!(like_pattern("100%_x\\"), "%100\\%\\_x\\\\%");
        assert_eq!(like_pattern("激活"), "%激活%");
    }

    #[test]
    fn cjk_pairs_are_taken_within_runs_once_each() {
        assert_eq!(cjk_bigrams("离线激活失败"), " 离线 线激 激活 活失 失败 ");
        assert_eq!(cjk_bigrams("激活，激活 abc 码"), " 激活 ");
        assert_eq!(cjk_bigrams("ひらがなカナ"), " ひら らが がな なカ カナ ");
        assert_eq!(cjk_bigrams("Device marker 激"), "");
    }

    #[test]
    fn a_query_is_a_case_number_or_words_by_the_index_that_finds_them() {
        assert_eq!(
            SearchText::parse(" cas-06004-s8k5x3 "),
            Some(SearchText::Number("CAS-06004-S8K5X3".into()))
        );
        assert_eq!(
            SearchText::parse("激活 ZZ02 SN已被 a zz 激"),
            Some(SearchText::Terms(vec![
                Term::CjkPair("激活".into()),
                Term::Substring("ZZ02".into()),
                Term::Substring("SN已被".into()),
                Term::Short("a".into()),
                Term::Short("zz".into()),
                Term::Short("激".into()),
            ]))
        );
        assert_eq!(
            SearchText::parse("Device device"),
            Some(SearchText::Terms(vec![Term::Substring("Device".into())]))
        );
        assert_eq!(SearchText::parse("   "), None);
    }

    #[test]
    fn a_snippet_marks_every_word_around_the_first() {
        let words = vec!["zz02".to_string(), "激活".to_string()];
        assert_eq!(
            snippet("Serial:\n> ZZ02-4471 激活 and zz02", &words),
            vec![
                ("Serial: > ".to_string(), false),
                ("ZZ02".to_string(), true),
                ("-4471 ".to_string(), false),
                ("激活".to_string(), true),
                (" and ".to_string(), false),
                ("zz02".to_string(), true),
            ]
        );
        let long = format!("{} ZZ02 {}", "a".repeat(100), "b".repeat(300));
        let parts = snippet(&long, &words);
        assert_eq!(parts.first().unwrap().0, "…");
        assert_eq!(parts.last().unwrap().0, "…");
        assert!(parts.iter().any(|(t, m)| *m && t == "ZZ02"));
    }
}
