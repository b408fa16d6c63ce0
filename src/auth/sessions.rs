//! Server-side sessions. The (encrypted, signed) session cookie holds only a random session id;
//! the row here says whose it is and until when, so signing out really ends the session and an
//! admin can disable an account with immediate effect.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::tokens::{random_token, token_hash};
use super::users::User;
use crate::db::{DbConn, now, schema::sessions, schema::users};

/// How long a session lives without use.
pub const IDLE_TIMEOUT_HOURS: i64 = 12;
/// How often `last_seen_at` is refreshed (avoid a write per request).
const TOUCH_EVERY_MINUTES: i64 = 5;

/// Starts a session for `user_id`; returns the id to put in the cookie.
pub fn create(conn: &mut DbConn, user_id: i64) -> QueryResult<String> {
    let id = random_token();
    let at = now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(token_hash(&id)),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(at),
            sessions::last_seen_at.eq(at),
            sessions::expires_at.eq(at + Duration::hours(IDLE_TIMEOUT_HOURS)),
        ))
        .execute(conn)?;
    Ok(id)
}

/// The enabled user a live session belongs to, sliding its expiry forward.
pub fn resolve(conn: &mut DbConn, session_id: &str) -> QueryResult<Option<User>> {
    let hash = token_hash(session_id);
    let at = now();
    let found: Option<(NaiveDateTime, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id_hash.eq(&hash))
        .filter(sessions::expires_at.gt(at))
        .filter(users::disabled.eq(false))
        .select((sessions::last_seen_at, User::as_select()))
        .first(conn)
        .optional()?;
    if let Some((last_seen, _)) = &found
        && at - *last_seen > Duration::minutes(TOUCH_EVERY_MINUTES)
    {
        diesel::update(sessions::table.find(&hash))
            .set((
                sessions::last_seen_at.eq(at),
                sessions::expires_at.eq(at + Duration::hours(IDLE_TIMEOUT_HOURS)),
            ))
            .execute(conn)?;
    }
    Ok(found.map(|(_, u)| u))
}

/// Ends one session.
pub fn destroy(conn: &mut DbConn, session_id: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(token_hash(session_id))).execute(conn)
}

/// Ends every session of a user (password reset, account disabled).
pub fn destroy_all_for(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Removes expired rows.
pub fn purge_expired(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now()))).execute(conn)
}
