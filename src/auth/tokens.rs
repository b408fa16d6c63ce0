//! Random bearer secrets (session ids, setup links, API tokens) and how they are stored: only a
//! sha256 of each token is kept, so a database leak does not hand out working tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;

/// 32 random bytes from the OS CSPRNG, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    crate::db::blobs::sha256_hex(token.as_bytes())
}

/// Compares two secrets in constant time (no early exit on the first differing byte; only the
/// lengths, which are not secret, may end it early), with the `subtle` crate's audited comparison.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(
            !constant_time_eq("abcd", "abce"),
            "differs only in the last byte"
        );
        assert!(!constant_time_eq("", "a"));
        assert!(constant_time_eq("", ""));
    }
}
