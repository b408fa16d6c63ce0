//! Per-person preferences that follow an account from browser to browser (kept in the database,
//! not the session): today, the order in which the case page shows a conversation.
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
