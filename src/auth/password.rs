//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane).
//!
//! Hashing is deliberately slow, so callers run it off the async runtime (`web::block`).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (bounds hashing work per request).
pub const MAX_PASSWORD_CHARS: usize = 1024;

fn hasher() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Too short.
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    /// Too long.
    #[error("the password must be at most {MAX_PASSWORD_CHARS} characters long")]
    TooLong,
}

/// Checks length rules before hashing.
pub fn check_policy(password: &SecretString) -> Result<(), PasswordPolicyError> {
    let n = password.expose_secret().chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(PasswordPolicyError::TooShort)
    } else if n > MAX_PASSWORD_CHARS {
        Err(PasswordPolicyError::TooLong)
    } else {
        Ok(())
    }
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Checks a password against a stored PHC hash. A malformed stored hash counts as a mismatch.
pub fn verify_password(password: &SecretString, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist, so that a wrong email takes as long
/// as a wrong password and response times do not reveal which accounts exist.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_password(&SecretString::from("casebook-dummy-password-for-timing")).unwrap_or_default()
});

/// Spends the same work as a real verification, always failing.
pub fn verify_against_dummy(password: &SecretString) {
    let _ = verify_password(password, &DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let pw = SecretString::from("correct horse battery staple");
        let h = hash_password(&pw).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&pw, &h));
        assert!(!verify_password(&SecretString::from("wrong password!"), &h));
        assert!(!verify_password(&pw, "not a hash"));
        assert_ne!(h, hash_password(&pw).unwrap(), "salted");
    }

    #[test]
    fn policy_refuses_short_and_huge_passwords() {
        assert_eq!(
            check_policy(&SecretString::from("short")),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_policy(&SecretString::from("x".repeat(2000))),
            Err(PasswordPolicyError::TooLong)
        );
        assert!(check_policy(&SecretString::from("long enough pw")).is_ok());
    }
}
