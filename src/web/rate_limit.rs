//! Request rate limits for the doors that need no account: `POST /inbound/mail` (per bearer
//! token) and the customer upload link (per link). A token bucket per key, in this process's
//! memory: each bucket holds up to `per_minute` requests and refills at `per_minute / 60` per
//! second, so a client may burst up to the limit and then goes at the steady rate.
//!
//! Why in memory and not in the database like the sign-in throttle (`auth::throttle`): these doors
//! take many requests a second from machines (an MTA's queue run), and a write per request would
//! cost more than the limit saves. The price is that each instance counts on its own: behind a
//! load balancer over N instances a client gets up to N times the limit (README says so).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::HttpResponse;
use actix_web::http::header;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::ErrorInfo;
use crate::i18n::Lang;

/// Keys kept before idle ones (full buckets, which carry no information) are dropped; a flood of
/// made-up upload tokens cannot grow the map past about this many entries.
const MAX_KEYS: usize = 10_000;

/// Refused: the number of whole seconds after which one more request will be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One limit over many keys.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<[u8; 32], Bucket>>,
}

impl RateLimiter {
    /// `per_minute` requests per key and minute; `0` turns the limit off.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key` now.
    pub fn check(&self, key: &str) -> Result<(), RetryAfter> {
        self.check_at(key, Instant::now())
    }

    /// Takes one request for `key` at `now` (tests pass their own clock).
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        // Keys are hashed: a token is a secret, and a hash is a fixed 32 bytes however long the
        // path segment a client sends.
        let id: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        // A poisoned lock only means another request panicked mid-update; the counts stay usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(&id) {
            buckets.retain(|_, b| refilled(b, now, per_second, capacity) < capacity);
        }
        let bucket = buckets.entry(id).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens = refilled(bucket, now, per_second, capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(RetryAfter(wait.ceil().max(1.0) as u64))
        }
    }
}

fn refilled(bucket: &Bucket, now: Instant, per_second: f64, capacity: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at);
    (bucket.tokens + elapsed.as_secs_f64() * per_second).min(capacity)
}

/// The limits of one running app (in [`super::AppState`]).
#[derive(Debug)]
pub struct RateLimits {
    /// `POST /inbound/mail`, per bearer token (`inbound_rate_per_minute`).
    pub inbound: RateLimiter,
    /// `/upload/{token}`, GET and POST together, per link (`upload_rate_per_minute`).
    pub upload: RateLimiter,
}

impl RateLimits {
    /// The limits `config` asks for.
    pub fn from_config(config: &Config) -> RateLimits {
        RateLimits {
            inbound: RateLimiter::new(config.inbound_rate_per_minute),
            upload: RateLimiter::new(config.upload_rate_per_minute),
        }
    }
}

/// The 429 answer: `Retry-After` in seconds, and `message(lang)` (a catalogue string with a
/// `{seconds}` placeholder) as JSON for machines and, through the error-page middleware, as a page
/// in the reader's language for people.
pub fn too_many_requests(retry: RetryAfter, message: fn(Lang) -> &'static str) -> HttpResponse {
    let seconds = retry.0.to_string();
    let wait = |lang| crate::web::catalog::builtin(lang).seconds(retry.0);
    let info = ErrorInfo {
        kind: "too_many_requests",
        message_en: message(Lang::En).replace("{wait}", &wait(Lang::En)),
        message_zh: message(Lang::ZhCn).replace("{wait}", &wait(Lang::ZhCn)),
    };
    let mut response = HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, seconds))
        .json(serde_json::json!({"error": info.kind, "message": info.message_en}));
    response.extensions_mut().insert(info);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_key_gets_its_burst_then_waits_for_the_refill() {
        let limiter = RateLimiter::new(6); // one token every 10 s
        let t0 = Instant::now();
        for _ in 0..6 {
            assert_eq!(limiter.check_at("a", t0), Ok(()));
        }
        assert_eq!(limiter.check_at("a", t0), Err(RetryAfter(10)));
        assert_eq!(
            limiter.check_at("a", t0 + Duration::from_secs(4)),
            Err(RetryAfter(6))
        );
        assert_eq!(limiter.check_at("a", t0 + Duration::from_secs(10)), Ok(()));
        assert!(limiter.check_at("a", t0 + Duration::from_secs(10)).is_err());
    }

    #[test]
    fn keys_are_counted_apart() {
        let limiter = RateLimiter::new(1);
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("a", t0), Ok(()));
        assert!(limiter.check_at("a", t0).is_err());
        assert_eq!(limiter.check_at("b", t0), Ok(()));
    }

    #[test]
    fn zero_means_no_limit() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limiter.check_at("a", t0), Ok(()));
        }
    }

    #[test]
    fn idle_keys_are_dropped_when_the_map_is_full() {
        let limiter = RateLimiter::new(60);
        let t0 = Instant::now();
        for i in 0..MAX_KEYS {
            limiter.check_at(&i.to_string(), t0).unwrap();
        }
        // A second later every bucket has refilled; the next new key clears them out.
        limiter
            .check_at("new", t0 + Duration::from_secs(2))
            .unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
