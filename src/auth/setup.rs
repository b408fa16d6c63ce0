//! First run: while no account exists, `serve` prints a one-time link where the first admin
//! chooses a name, email and password. Only the token's hash is stored; it works until used.

use diesel::prelude::*;

use super::tokens::{random_token, token_hash};
use super::users::User;
use crate::db::{DbConn, now, schema::setup_tokens};

/// Issues a fresh setup token when there are no accounts yet; `None` once someone exists.
///
/// Older unused tokens stay valid until the first admin is created, so a link printed by an
/// earlier start still works.
pub fn issue_if_needed(conn: &mut DbConn) -> QueryResult<Option<String>> {
    if User::count(conn)? > 0 {
        return Ok(None);
    }
    let token = random_token();
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_hash.eq(token_hash(&token)),
            setup_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(Some(token))
}

/// Whether `token` may still be used: unused, and no account exists yet.
pub fn is_valid(conn: &mut DbConn, token: &str) -> QueryResult<bool> {
    if User::count(conn)? > 0 {
        return Ok(false);
    }
    let found: Option<Option<chrono::NaiveDateTime>> = setup_tokens::table
        .find(token_hash(token))
        .select(setup_tokens::used_at)
        .first(conn)
        .optional()?;
    Ok(matches!(found, Some(None)))
}

/// Marks `token` used and every other token void (setup happens once).
pub fn consume_all(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::update(setup_tokens::table.filter(setup_tokens::used_at.is_null()))
        .set(setup_tokens::used_at.eq(now()))
        .execute(conn)
}
