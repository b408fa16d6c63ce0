//! Personal API tokens: issued once, stored only as a sha256 (like session ids, see
//! [`crate::auth::tokens`]), revocable, and tied to an account whose role they carry.

use anyhow::Context;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::tokens::{random_token, token_hash};
use crate::auth::users::User;
use crate::db::schema::{api_tokens, users};
use crate::db::{DbConn, now};

/// Every token starts with this, so a leaked one is recognisable (log scrubbers, secret scanners).
pub const PREFIX: &str = "cb_";
/// `last_used_at` is written at most this often per token (avoid a write per request).
const TOUCH_EVERY_SECONDS: i64 = 60;
/// Longest token name accepted.
const MAX_NAME_CHARS: usize = 100;

/// A stored token (without its secret, which is never stored).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    /// Row id (what `casebook token revoke` takes).
    pub id: i64,
    /// Account the token acts as.
    pub user_id: i64,
    /// What the token is for, as its creator described it.
    pub name: String,
    /// sha256 of the secret.
    pub token_hash: String,
    /// Issued.
    pub created_at: NaiveDateTime,
    /// Last accepted request (to the minute).
    pub last_used_at: Option<NaiveDateTime>,
    /// Revoked tokens are kept for the record but never accepted.
    pub revoked_at: Option<NaiveDateTime>,
}

/// A token with the account it belongs to, for lists.
#[derive(Debug, Clone)]
pub struct TokenListing {
    /// The token.
    pub token: ApiToken,
    /// Owner's email.
    pub user_email: String,
    /// Owner's name.
    pub user_name: String,
    /// Owner's account is disabled (the token does not work).
    pub user_disabled: bool,
}

/// A token name that is present and not absurdly long (parse, don't validate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    /// Trims `name`; refuses empty names and names over 100 characters.
    pub fn parse(name: &str) -> Result<TokenName, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("the token name must not be empty".into());
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(format!(
                "the token name must be at most {MAX_NAME_CHARS} characters"
            ));
        }
        Ok(TokenName(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ApiToken {
    /// Issues a token for `user_id`; returns the row and the secret, which exists only here.
    pub fn create(
        conn: &mut DbConn,
        user_id: i64,
        name: &TokenName,
    ) -> anyhow::Result<(ApiToken, String)> {
        let secret = format!("{PREFIX}{}", random_token());
        let hash = token_hash(&secret);
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(user_id),
                api_tokens::name.eq(name.as_str()),
                api_tokens::token_hash.eq(&hash),
                api_tokens::created_at.eq(now()),
            ))
            .execute(conn)
            .context("storing the new API token")?;
        let row = api_tokens::table
            .filter(api_tokens::token_hash.eq(&hash))
            .select(ApiToken::as_select())
            .first(conn)
            .context("reading back the new API token")?;
        Ok((row, secret))
    }

    /// Every token with its owner, newest first.
    pub fn list(conn: &mut DbConn) -> QueryResult<Vec<TokenListing>> {
        let rows: Vec<(ApiToken, String, String, bool)> = api_tokens::table
            .inner_join(users::table)
            .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
            .select((
                ApiToken::as_select(),
                users::email,
                users::name,
                users::disabled,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(
                |(token, user_email, user_name, user_disabled)| TokenListing {
                    token,
                    user_email,
                    user_name,
                    user_disabled,
                },
            )
            .collect())
    }

    /// Finds a token by id.
    pub fn find_by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<ApiToken>> {
        api_tokens::table
            .find(id)
            .select(ApiToken::as_select())
            .first(conn)
            .optional()
    }

    /// Revokes a token. `Ok(false)` when there is no such token or it was already revoked.
    pub fn revoke(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
        let changed = diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(now()))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Revokes every live token of `user_id` (a password reset does); returns how many.
    pub fn revoke_all_for(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
        diesel::update(
            api_tokens::table
                .filter(api_tokens::user_id.eq(user_id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(now()))
        .execute(conn)
    }

    /// The enabled account a live token belongs to, recording the use (at most once a minute).
    ///
    /// Unknown, revoked and disabled-account tokens all answer `None`: the caller learns only
    /// that the token does not work.
    pub fn authenticate(conn: &mut DbConn, secret: &str) -> QueryResult<Option<User>> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let found: Option<(i64, Option<NaiveDateTime>, User)> = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(token_hash(secret)))
            .filter(api_tokens::revoked_at.is_null())
            .filter(users::disabled.eq(false))
            .select((api_tokens::id, api_tokens::last_used_at, User::as_select()))
            .first(conn)
            .optional()?;
        let Some((id, last_used, user)) = found else {
            return Ok(None);
        };
        let at = now();
        if last_used.is_none_or(|t| at - t >= Duration::seconds(TOUCH_EVERY_SECONDS)) {
            diesel::update(api_tokens::table.find(id))
                .set(api_tokens::last_used_at.eq(at))
                .execute(conn)?;
        }
        Ok(Some(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names_are_trimmed_and_bounded() {
        assert_eq!(TokenName::parse("  ci bot ").unwrap().as_str(), "ci bot");
        assert!(TokenName::parse("   ").is_err());
        assert!(TokenName::parse(&"x".repeat(100)).is_ok());
        assert!(TokenName::parse(&"x".repeat(101)).is_err());
        assert!(
            TokenName::parse(&"名".repeat(100)).is_ok(),
            "counted in characters"
        );
    }
}
