//! Sign-in throttling per account and client address.
//!
//! Two kinds of key count failures within [`WINDOW_MINUTES`]:
//! - **account + address** (`pair:`): after [`FREE_FAILURES`] failures each further failure locks
//!   that account *from that address* for an exponentially growing delay (2 s, 4 s, 8 s … capped at
//!   [`MAX_DELAY_SECS`]). Someone guessing at an account from elsewhere does not lock its owner
//!   out, and failures against made-up accounts do not lock real ones.
//! - **address** (`ip:`): the same, after [`ADDRESS_FREE_FAILURES`] failures over any accounts, so
//!   one address cannot spray guesses across every account.
//!
//! Keys exist for unknown accounts too, so the answer never reveals whether an account exists.
//!
//! An attempt is checked *and* counted in one write transaction ([`begin_attempt`]) before the
//! password is verified, and un-counted if it succeeds ([`attempt_succeeded`]); so 50 wrong
//! passwords sent at once are verified at most [`FREE_FAILURES`] times, not once each.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::{DbConn, now, schema::login_throttle};

/// Failures allowed per account and address before delays start.
pub const FREE_FAILURES: i32 = 5;
/// Failures allowed per address (over all accounts) before delays start.
pub const ADDRESS_FREE_FAILURES: i32 = 100;
/// Failures older than this are forgotten.
pub const WINDOW_MINUTES: i64 = 15;
/// The longest lock.
pub const MAX_DELAY_SECS: i64 = 15 * 60;
/// The PostgreSQL advisory lock key that serialises throttle updates ("THROTTL" in ASCII).
const THROTTLE_LOCK: i64 = 0x54_4852_4f54_544c;

/// The keys one sign-in attempt counts against: the account (as typed) from this address, and
/// the address.
pub fn keys(email: &str, ip: &str) -> Vec<String> {
    vec![
        format!("pair:{}|{ip}", email.trim().to_lowercase()),
        format!("ip:{ip}"),
    ]
}

fn free_failures(key: &str) -> i32 {
    if key.starts_with("ip:") {
        ADDRESS_FREE_FAILURES
    } else {
        FREE_FAILURES
    }
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

/// Delay after the `failures`-th failure of a key that allows `free` failures.
pub fn delay_after(failures: i32, free: i32) -> Option<Duration> {
    if failures < free {
        return None;
    }
    let exp = (failures - free + 1).min(20) as u32;
    Some(Duration::seconds(
        2i64.saturating_pow(exp).min(MAX_DELAY_SECS),
    ))
}

/// Checks that none of `keys` is locked and counts this attempt as a failure, atomically.
/// Returns the seconds to wait when locked (nothing is counted then).
pub fn begin_attempt(conn: &mut DbConn, keys: &[String]) -> QueryResult<Option<i64>> {
    crate::db::write_transaction(conn, |conn| {
        if let DbConn::Postgres(pg) = conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(THROTTLE_LOCK)
                .execute(pg)?;
        }
        if let Some(secs) = locked_for(conn, keys)? {
            return Ok(Some(secs));
        }
        record_failure(conn, keys)?;
        Ok(None)
    })
}

/// After a successful sign-in: forgets the account's failures from this address and takes back
/// the address's count for this attempt.
pub fn attempt_succeeded(conn: &mut DbConn, keys: &[String]) -> QueryResult<()> {
    let (ip_keys, pair_keys): (Vec<&String>, Vec<&String>) =
        keys.iter().partition(|k| k.starts_with("ip:"));
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(
            login_throttle::table.filter(login_throttle::throttle_key.eq_any(pair_keys)),
        )
        .execute(conn)?;
        diesel::update(
            login_throttle::table
                .filter(login_throttle::throttle_key.eq_any(ip_keys))
                .filter(login_throttle::failures.gt(0)),
        )
        .set(login_throttle::failures.eq(login_throttle::failures - 1))
        .execute(conn)?;
        Ok(())
    })
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
            let locked_until = delay_after(failures, free_failures(key)).map(|d| at + d);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_five_failures_and_double() {
        let secs: Vec<Option<i64>> = (1..=8)
            .map(|n| delay_after(n, FREE_FAILURES).map(|d| d.num_seconds()))
            .collect();
        assert_eq!(
            secs,
            vec![None, None, None, None, Some(2), Some(4), Some(8), Some(16)]
        );
        assert_eq!(
            delay_after(100, FREE_FAILURES).unwrap().num_seconds(),
            MAX_DELAY_SECS
        );
        assert_eq!(delay_after(99, ADDRESS_FREE_FAILURES), None);
    }
}
