//! Sign-in throttling per account and per client address.
//!
//! After [`FREE_FAILURES`] failures within [`WINDOW_MINUTES`], each further failure locks the key
//! for an exponentially growing delay (2 s, 4 s, 8 s … capped at [`MAX_DELAY_SECS`]). Keys exist
//! for unknown accounts too, so the response never reveals whether an account exists.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::{DbConn, now, schema::login_throttle};

/// Failures allowed before delays start.
pub const FREE_FAILURES: i32 = 5;
/// Failures older than this are forgotten.
pub const WINDOW_MINUTES: i64 = 15;
/// The longest lock.
pub const MAX_DELAY_SECS: i64 = 15 * 60;

/// The throttle key for an account name as typed.
pub fn account_key(email: &str) -> String {
    format!("acct:{}", email.trim().to_lowercase())
}

/// The throttle key for a client address.
pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Seconds until any of `keys` may try again; `None` when none is locked.
pub fn locked_for(conn: &mut DbConn, keys: &[String]) -> QueryResult<Option<i64>> {
    let at = now();
    let until: Vec<Option<chrono::NaiveDateTime>> = login_throttle::table
        .filter(login_throttle::throttle_key.eq_any(keys))
        .select(login_throttle::locked_until)
        .load(conn)?;
    Ok(until
        .into_iter()
        .flatten()
        .filter(|u| *u > at)
        .map(|u| (u - at).num_seconds().max(1))
        .max())
}

/// Delay after the `failures`-th failure.
pub fn delay_after(failures: i32) -> Option<Duration> {
    if failures < FREE_FAILURES {
        return None;
    }
    let exp = (failures - FREE_FAILURES + 1).min(20) as u32;
    Some(Duration::seconds(
        2i64.saturating_pow(exp).min(MAX_DELAY_SECS),
    ))
}

/// Records one failure against each key.
pub fn record_failure(conn: &mut DbConn, keys: &[String]) -> QueryResult<()> {
    let at = now();
    crate::db::write_transaction(conn, |conn| {
        for key in keys {
            let existing: Option<(i32, chrono::NaiveDateTime)> = login_throttle::table
                .find(key)
                .select((login_throttle::failures, login_throttle::last_failure_at))
                .first(conn)
                .optional()?;
            let failures = match existing {
                Some((n, last)) if at - last < Duration::minutes(WINDOW_MINUTES) => n + 1,
                _ => 1,
            };
            let locked_until = delay_after(failures).map(|d| at + d);
            if existing.is_some() {
                diesel::update(login_throttle::table.find(key))
                    .set((
                        login_throttle::failures.eq(failures),
                        login_throttle::last_failure_at.eq(at),
                        login_throttle::locked_until.eq(locked_until),
                    ))
                    .execute(conn)?;
            } else {
                diesel::insert_into(login_throttle::table)
                    .values((
                        login_throttle::throttle_key.eq(key),
                        login_throttle::failures.eq(failures),
                        login_throttle::last_failure_at.eq(at),
                        login_throttle::locked_until.eq(locked_until),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}

/// Forgets failures after a successful sign-in.
pub fn clear(conn: &mut DbConn, keys: &[String]) -> QueryResult<usize> {
    diesel::delete(login_throttle::table.filter(login_throttle::throttle_key.eq_any(keys)))
        .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_five_failures_and_double() {
        let secs: Vec<Option<i64>> = (1..=8)
            .map(|n| delay_after(n).map(|d| d.num_seconds()))
            .collect();
        assert_eq!(
            secs,
            vec![None, None, None, None, Some(2), Some(4), Some(8), Some(16)]
        );
        assert_eq!(delay_after(100).unwrap().num_seconds(), MAX_DELAY_SECS);
    }
}
