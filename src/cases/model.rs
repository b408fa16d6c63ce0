//! The case record and its queries.

use diesel::prelude::*;

use crate::db::{DbConn, schema::cases};
use crate::workflow::state::{CaseState, Priority};

/// A stored case.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = cases)]
pub struct Case {
    /// Row id.
    pub id: i64,
    /// `CAS-NNNNN-` plus six base32 characters, e.g. `CAS-06004-S8K5X3`.
    pub number: String,
    /// Sequence part of the number.
    pub seq: i64,
    /// Title (subject without prefixes and tokens).
    pub title: String,
    /// Workflow state (stored as its `as_str` form; a value this version does not know fails
    /// the read rather than becoming a string nobody checks).
    #[diesel(deserialize_as = String)]
    pub state: CaseState,
    /// Priority (stored as its `as_str` form).
    #[diesel(deserialize_as = String)]
    pub priority: Priority,
    /// Customer's address.
    pub customer_email: String,
    /// Customer's display name.
    pub customer_name: Option<String>,
    /// Owner.
    pub assignee_id: Option<i64>,
    /// Team working the case (engineering queue).
    pub team: Option<String>,
    /// Language the customer writes in (`en`, `zh-CN`).
    pub language: String,
    /// Recorded problem definition.
    pub problem_definition: Option<String>,
    /// Recorded scope.
    pub scope: Option<String>,
    /// Resolution text.
    pub resolution: Option<String>,
    /// Set when opened with a token of another case by someone outside it.
    pub duplicate_of_id: Option<i64>,
    /// Set when merged into another case.
    pub merged_into_id: Option<i64>,
    /// Opened.
    pub created_at: chrono::NaiveDateTime,
    /// Last changed.
    pub updated_at: chrono::NaiveDateTime,
    /// Last message or event.
    pub last_activity_at: chrono::NaiveDateTime,
    /// Resolved or archived.
    pub closed_at: Option<chrono::NaiveDateTime>,
}

/// Filters for the case list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CaseFilter {
    /// Only this state.
    pub state: Option<String>,
}

impl Case {
    /// Number of cases per state.
    pub fn count_by_state(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
        cases::table
            .group_by(cases::state)
            .select((cases::state, diesel::dsl::count_star()))
            .load(conn)
    }

    /// Finds a case by its number.
    pub fn find_by_number(conn: &mut DbConn, number: &str) -> QueryResult<Option<Case>> {
        cases::table
            .filter(cases::number.eq(number))
            .select(Case::as_select())
            .first(conn)
            .optional()
    }
}

/// What is needed to open a case.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    /// A number to keep (imports); `None` allocates the next one.
    pub number: Option<&'a super::CaseNumber>,
    /// Title.
    pub title: &'a str,
    /// Initial state.
    pub state: CaseState,
    /// Priority.
    pub priority: Priority,
    /// Customer address.
    pub customer_email: &'a str,
    /// Customer name.
    pub customer_name: Option<&'a str>,
    /// Customer's language.
    pub language: &'a str,
    /// Linked as a possible duplicate of this case.
    pub duplicate_of_id: Option<i64>,
    /// When the case began (the first message's time).
    pub at: chrono::NaiveDateTime,
}

/// The PostgreSQL advisory lock key that serialises case-number allocation ("CASENUM" in ASCII).
pub const CASE_NUMBER_LOCK: i64 = 0x43_4153_454e_554d;

impl Case {
    /// Opens a case, allocating the next sequence number unless one is given.
    ///
    /// Call inside a write transaction (`db::write_transaction`). Writers that allocate numbers
    /// take turns: SQLite's write transactions exclude each other, and on PostgreSQL a
    /// transaction-scoped advisory lock ([`CASE_NUMBER_LOCK`]) is taken first, so two connections
    /// (or instances) opening cases at the same moment never pick the same sequence.
    pub fn create(conn: &mut DbConn, new: &NewCase<'_>) -> QueryResult<Case> {
        let number = match new.number {
            Some(n) => n.clone(),
            None => {
                if let DbConn::Postgres(pg) = conn {
                    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                        .bind::<diesel::sql_types::BigInt, _>(CASE_NUMBER_LOCK)
                        .execute(pg)?;
                }
                let max: Option<i64> = cases::table
                    .select(diesel::dsl::max(cases::seq))
                    .first(conn)?;
                super::CaseNumber::generate(max.unwrap_or(0).max(0) as u64 + 1)
            }
        };
        let seq = number.sequence().min(i64::MAX as u64) as i64;
        let values = (
            cases::number.eq(number.as_str()),
            cases::seq.eq(seq),
            cases::title.eq(super::messages::strip_nul(new.title)),
            cases::state.eq(new.state.as_str()),
            cases::priority.eq(new.priority.as_str()),
            cases::customer_email.eq(super::messages::strip_nul(new.customer_email)),
            cases::customer_name.eq(new.customer_name.map(super::messages::strip_nul)),
            cases::language.eq(new.language),
            cases::duplicate_of_id.eq(new.duplicate_of_id),
            cases::created_at.eq(new.at),
            cases::updated_at.eq(new.at),
            cases::last_activity_at.eq(new.at),
        );
        // The row comes back with the insert (`RETURNING`, per backend: the multi-backend wrapper
        // cannot return a whole row).
        crate::db::conn::on_backend!(conn, c => diesel::insert_into(cases::table)
            .values(values)
            .returning(Case::as_returning())
            .get_result(c))
    }

    /// Serialises writers of one case for the rest of the transaction: PostgreSQL locks the case
    /// row; SQLite's write transactions (`BEGIN IMMEDIATE`) already exclude each other. For checks
    /// that must hold until the write (nothing new since the form was drawn, the next summary
    /// version).
    pub fn lock(conn: &mut DbConn, id: i64) -> QueryResult<()> {
        if let DbConn::Postgres(pg) = conn {
            cases::table
                .find(id)
                .select(cases::id)
                .for_update()
                .first::<i64>(pg)?;
        }
        Ok(())
    }

    /// Finds a case by id.
    pub fn find_by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<Case>> {
        // Runs for every ingested message (the workflow's SLA hooks read the case).
        crate::db::conn::on_backend!(conn, c => cases::table
            .find(id)
            .select(Case::as_select())
            .first(c)
            .optional())
    }

    /// Records activity (a message or event) at `at`.
    pub fn touch(conn: &mut DbConn, id: i64, at: chrono::NaiveDateTime) -> QueryResult<usize> {
        let touch = TouchCase {
            id,
            updated_at: crate::db::now(),
            last_activity_at: at,
        };
        crate::db::conn::on_backend!(conn, c => touch.execute(c))
    }

    /// Changes the state.
    pub fn set_state(conn: &mut DbConn, id: i64, state: CaseState) -> QueryResult<usize> {
        diesel::update(cases::table.find(id))
            .set((
                cases::state.eq(state.as_str()),
                cases::updated_at.eq(crate::db::now()),
            ))
            .execute(conn)
    }
}

/// `UPDATE cases SET updated_at = ?, last_activity_at = ? WHERE id = ?`, written out so that it has
/// a fixed type: diesel never keeps its own UPDATE statements prepared, and this one runs for every
/// stored message (measured by `cargo bench --bench ingest`).
#[derive(Debug, Clone, Copy)]
struct TouchCase {
    id: i64,
    updated_at: chrono::NaiveDateTime,
    last_activity_at: chrono::NaiveDateTime,
}

impl diesel::query_builder::QueryId for TouchCase {
    type QueryId = TouchCase;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> diesel::query_builder::QueryFragment<DB> for TouchCase
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<diesel::sql_types::Timestamp>
        + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>,
    chrono::NaiveDateTime: diesel::serialize::ToSql<diesel::sql_types::Timestamp, DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Timestamp};
        out.push_sql("UPDATE cases SET updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.updated_at)?;
        out.push_sql(", last_activity_at = ");
        out.push_bind_param::<Timestamp, _>(&self.last_activity_at)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        Ok(())
    }
}

impl<C> RunQueryDsl<C> for TouchCase {}
