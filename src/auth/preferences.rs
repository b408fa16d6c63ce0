//! Per-person preferences that follow an account from browser to browser (kept in the database,
//! not the session): the order in which the case page shows a conversation, and the time zone
//! the pages show times in.
//!
//! A person without a row has the defaults; the first change writes the row. Changing it is one
//! upsert, so two tabs changing it at once leave the last choice.

use diesel::prelude::*;

use super::schema::user_preferences;
use crate::db::{DbConn, now};

/// The order of a conversation on the case page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThreadOrder {
    /// The newest message first, right under the reply box (the default: the message an agent
    /// answers is the newest one).
    #[default]
    NewestFirst,
    /// The oldest first, read like a mail thread from its beginning.
    OldestFirst,
}

impl ThreadOrder {
    /// Stored and form value.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadOrder::NewestFirst => "newest_first",
            ThreadOrder::OldestFirst => "oldest_first",
        }
    }

    /// Parses a stored or posted value.
    pub fn parse(s: &str) -> Option<ThreadOrder> {
        match s.trim() {
            "newest_first" => Some(ThreadOrder::NewestFirst),
            "oldest_first" => Some(ThreadOrder::OldestFirst),
            _ => None,
        }
    }
}

/// The order `user_id` reads conversations in (the default when never chosen).
pub fn thread_order(conn: &mut DbConn, user_id: i64) -> QueryResult<ThreadOrder> {
    let stored: Option<String> = user_preferences::table
        .find(user_id)
        .select(user_preferences::thread_order)
        .first(conn)
        .optional()?;
    Ok(stored
        .as_deref()
        .and_then(ThreadOrder::parse)
        .unwrap_or_default())
}

/// Remembers `order` for `user_id`.
pub fn set_thread_order(conn: &mut DbConn, user_id: i64, order: ThreadOrder) -> QueryResult<()> {
    let at = now();
    crate::db::conn::on_backend!(conn, c => diesel::insert_into(user_preferences::table)
        .values((
            user_preferences::user_id.eq(user_id),
            user_preferences::thread_order.eq(order.as_str()),
            user_preferences::updated_at.eq(at),
        ))
        .on_conflict(user_preferences::user_id)
        .do_update()
        .set((
            user_preferences::thread_order.eq(order.as_str()),
            user_preferences::updated_at.eq(at),
        ))
        .execute(c))?;
    Ok(())
}

/// The time zone `user_id` chose, `None` when never chosen (the configured default applies). A
/// stored name that no longer parses (a zone removed from the database) counts as not chosen.
pub fn timezone(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<chrono_tz::Tz>> {
    let stored: Option<Option<String>> = user_preferences::table
        .find(user_id)
        .select(user_preferences::timezone)
        .first(conn)
        .optional()?;
    Ok(stored.flatten().and_then(|name| name.parse().ok()))
}

/// Remembers `zone` for `user_id`; `None` returns to the configured default.
pub fn set_timezone(
    conn: &mut DbConn,
    user_id: i64,
    zone: Option<chrono_tz::Tz>,
) -> QueryResult<()> {
    let at = now();
    let name = zone.map(|z| z.name().to_string());
    crate::db::conn::on_backend!(conn, c => diesel::insert_into(user_preferences::table)
        .values((
            user_preferences::user_id.eq(user_id),
            user_preferences::timezone.eq(name.clone()),
            user_preferences::updated_at.eq(at),
        ))
        .on_conflict(user_preferences::user_id)
        .do_update()
        .set((
            user_preferences::timezone.eq(name.clone()),
            user_preferences::updated_at.eq(at),
        ))
        .execute(c))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_read_back_as_written_and_nothing_else_parses() {
        for o in [ThreadOrder::NewestFirst, ThreadOrder::OldestFirst] {
            assert_eq!(ThreadOrder::parse(o.as_str()), Some(o));
        }
        assert_eq!(ThreadOrder::parse("sideways"), None);
        assert_eq!(ThreadOrder::default(), ThreadOrder::NewestFirst);
    }
}
