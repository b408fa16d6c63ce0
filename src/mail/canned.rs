//! Canned responses: reusable reply texts per language, kept in the database so staff can change
//! them (`/admin/canned`). Placeholders `{{case_number}}`, `{{customer_name}}` and
//! `{{agent_name}}` are filled in when an agent picks one.

use diesel::prelude::*;

use super::schema::canned_responses;
use crate::cases::Case;
use crate::db::{DbConn, now};

/// A stored canned response.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = canned_responses)]
pub struct CannedResponse {
    /// Row id.
    pub id: i64,
    /// Name shown in the picker.
    pub name: String,
    /// Language (`en` or `zh-CN`).
    pub lang: String,
    /// Text with placeholders.
    pub body: String,
    /// Created.
    pub created_at: chrono::NaiveDateTime,
    /// Last changed.
    pub updated_at: chrono::NaiveDateTime,
}

/// The languages a canned response may be written in.
pub const LANGS: [&str; 2] = ["zh-CN", "en"];

impl CannedResponse {
    /// All responses, by language then name.
    pub fn list(conn: &mut DbConn) -> QueryResult<Vec<CannedResponse>> {
        canned_responses::table
            .order((canned_responses::lang.asc(), canned_responses::name.asc()))
            .select(CannedResponse::as_select())
            .load(conn)
    }

    /// Finds one.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<CannedResponse>> {
        canned_responses::table
            .find(id)
            .select(CannedResponse::as_select())
            .first(conn)
            .optional()
    }

    /// Creates one; `false` when the name already exists in that language.
    pub fn create(conn: &mut DbConn, name: &str, lang: &str, body: &str) -> QueryResult<bool> {
        crate::db::write_transaction(conn, |conn| {
            if name_taken(conn, name, lang, None)? {
                return Ok(false);
            }
            let at = now();
            diesel::insert_into(canned_responses::table)
                .values((
                    canned_responses::name.eq(name),
                    canned_responses::lang.eq(lang),
                    canned_responses::body.eq(body),
                    canned_responses::created_at.eq(at),
                    canned_responses::updated_at.eq(at),
                ))
                .execute(conn)?;
            Ok(true)
        })
    }

    /// Changes one; `false` when the new name is taken by another response in that language.
    pub fn save(
        conn: &mut DbConn,
        id: i64,
        name: &str,
        lang: &str,
        body: &str,
    ) -> QueryResult<bool> {
        crate::db::write_transaction(conn, |conn| {
            if name_taken(conn, name, lang, Some(id))? {
                return Ok(false);
            }
            let n = diesel::update(canned_responses::table.find(id))
                .set((
                    canned_responses::name.eq(name),
                    canned_responses::lang.eq(lang),
                    canned_responses::body.eq(body),
                    canned_responses::updated_at.eq(now()),
                ))
                .execute(conn)?;
            if n == 0 {
                return Err(diesel::result::Error::NotFound);
            }
            Ok(true)
        })
    }

    /// Deletes one.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
        Ok(diesel::delete(canned_responses::table.find(id)).execute(conn)? > 0)
    }

    /// The text with the placeholders filled in for `case` and the agent.
    pub fn render(&self, case: &Case, agent_name: &str) -> String {
        fill(&self.body, case, agent_name)
    }
}

fn name_taken(conn: &mut DbConn, name: &str, lang: &str, except: Option<i64>) -> QueryResult<bool> {
    let ids: Vec<i64> = canned_responses::table
        .filter(canned_responses::name.eq(name))
        .filter(canned_responses::lang.eq(lang))
        .select(canned_responses::id)
        .load(conn)?;
    Ok(ids.into_iter().any(|id| Some(id) != except))
}

/// Replaces the placeholders; unknown `{{…}}` text is left as written.
pub fn fill(body: &str, case: &Case, agent_name: &str) -> String {
    let customer = case
        .customer_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&case.customer_email);
    body.replace("{{case_number}}", &case.number)
        .replace("{{customer_name}}", customer)
        .replace("{{agent_name}}", agent_name)
}
