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

    /// The text with the placeholders filled in for `case` and the agent, greeting the case's
    /// customer by the name on the case record (see [`CannedResponse::render_for`]).
    pub fn render(&self, case: &Case, agent_name: &str) -> String {
        fill(&self.body, case, agent_name)
    }

    /// Like [`CannedResponse::render`], greeting the customer as `customer_name` (from
    /// [`customer_name`]: the name known from the thread).
    pub fn render_for(&self, case: &Case, customer_name: Option<&str>, agent_name: &str) -> String {
        fill_named(&self.body, case, customer_name, agent_name)
    }
}

/// The customer's name as a greeting should use it: the case's customer name, else the name the
/// customer's address signed a mail to the case with (or was listed with), else none — never the
/// address, which is what "chenhui.zd@centerm.com，您好" came from.
pub fn customer_name(conn: &mut DbConn, case: &Case) -> QueryResult<Option<String>> {
    if let Some(n) = case
        .customer_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.contains('@'))
    {
        return Ok(Some(n.to_string()));
    }
    crate::cases::messages::Participant::known_name(conn, case.id, &case.customer_email)
}

fn name_taken(conn: &mut DbConn, name: &str, lang: &str, except: Option<i64>) -> QueryResult<bool> {
    let ids: Vec<i64> = canned_responses::table
        .filter(canned_responses::name.eq(name))
        .filter(canned_responses::lang.eq(lang))
        .select(canned_responses::id)
        .load(conn)?;
    Ok(ids.into_iter().any(|id| Some(id) != except))
}

/// Replaces the placeholders with the case record's customer name; unknown `{{…}}` text is left
/// as written.
pub fn fill(body: &str, case: &Case, agent_name: &str) -> String {
    let name = case
        .customer_name
        .as_deref()
        .filter(|n| !n.trim().is_empty() && !n.contains('@'));
    fill_named(body, case, name, agent_name)
}

/// Replaces the placeholders, greeting `customer_name`. Without a name the greeting is written
/// without one ("您好：", "Hello,") rather than with the address.
pub fn fill_named(
    body: &str,
    case: &Case,
    customer_name: Option<&str>,
    agent_name: &str,
) -> String {
    let body = match customer_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => body.replace("{{customer_name}}", name),
        None => body
            .replace("{{customer_name}}，", "")
            .replace("{{customer_name}}, ", "")
            .replace(" {{customer_name}}", "")
            .replace("{{customer_name}}", ""),
    };
    body.replace("{{case_number}}", &case.number)
        .replace("{{agent_name}}", agent_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: Option<&str>) -> Case {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        Case {
            id: 1,
            number: "CAS-06004-S8K5X3".into(),
            seq: 6004,
            title: "t".into(),
            state: crate::workflow::state::CaseState::New,
            priority: crate::workflow::state::Priority::Normal,
            customer_email: "chenhui.zd@centerm.com".into(),
            customer_name: name.map(str::to_string),
            assignee_id: None,
            team: None,
            language: "zh-CN".into(),
            problem_definition: None,
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
    fn the_greeting_uses_the_name_and_never_the_address() {
        let zh = "{{customer_name}}，您好：\n案例 {{case_number}}\n{{agent_name}}";
        let en = "Hello {{customer_name}},\nRegards, {{agent_name}}";
        let c = case(None);
        assert_eq!(
            fill_named(zh, &c, Some("陈辉"), "王彬彬"),
            "陈辉，您好：\n案例 CAS-06004-S8K5X3\n王彬彬"
        );
        assert_eq!(
            fill_named(zh, &c, None, "王彬彬"),
            "您好：\n案例 CAS-06004-S8K5X3\n王彬彬"
        );
        assert_eq!(fill_named(en, &c, None, "A"), "Hello,\nRegards, A");
        assert_eq!(
            fill(en, &c, "A"),
            "Hello,\nRegards, A",
            "no address in a greeting"
        );
        assert_eq!(
            fill(en, &case(Some("Chen Hui")), "A"),
            "Hello Chen Hui,\nRegards, A"
        );
    }
}
