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
///
/// `Display` is the English text (for the command line and logs); pages show
/// [`PasswordPolicyError::message`] in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Too short.
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    /// Too long.
    #[error("the password must be at most {MAX_PASSWORD_CHARS} characters long")]
    TooLong,
    /// One character, or one short run of characters, repeated (`aaaaaaaaaa`, `abcabcabcabc`).
    #[error("the password repeats the same characters over and over; choose one that does not")]
    Repetitive,
    /// One of the most used passwords, or a small change of one (`password123`).
    #[error("the password is one of the most commonly used passwords (or a small change of one)")]
    Common,
    /// Guessed within a million tries: a sequence, a keyboard row, a date, a single word, a name,
    /// the account's own name or email.
    #[error(
        "the password is too easy to guess (a sequence, keyboard pattern, date, single word or \
         name, or the account's own name or email); a few unrelated words make a good password"
    )]
    Guessable,
}

impl PasswordPolicyError {
    /// The interface string explaining the refusal (`src/web/messages.toml`).
    pub fn message_key(&self) -> &'static str {
        match self {
            PasswordPolicyError::TooShort => "password.too_short",
            PasswordPolicyError::TooLong => "password.too_long",
            PasswordPolicyError::Repetitive => "password.repetitive",
            PasswordPolicyError::Common => "password.common",
            PasswordPolicyError::Guessable => "password.guessable",
        }
    }

    /// The refusal in the page's language.
    pub fn message(&self, page: &crate::web::Page) -> String {
        page.t(self.message_key())
            .replace("{min}", &MIN_PASSWORD_CHARS.to_string())
            .replace("{max}", &MAX_PASSWORD_CHARS.to_string())
    }
}

/// zxcvbn's own advice: its matching grows faster than linearly with length, and a password whose
/// first 100 characters are hard to guess is hard to guess.
const STRENGTH_CHARS: usize = 100;

/// Checks a new password against NIST SP 800-63B §5.1.1.2 before hashing: long enough, not
/// absurdly long, not a repetition of a short run of characters, and not guessable within a million
/// tries (zxcvbn score ≤ 1) — which covers the common-password list compiled into the binary
/// (zxcvbn's frequency lists of leaked passwords, English words, names), sequences, keyboard rows,
/// dates, and `context`: the account's own name and email (empty strings are ignored).
pub fn check_policy(password: &SecretString, context: &[&str]) -> Result<(), PasswordPolicyError> {
    let password = password.expose_secret();
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooShort);
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooLong);
    }
    if is_repetition(password) {
        return Err(PasswordPolicyError::Repetitive);
    }
    let head: String = password.chars().take(STRENGTH_CHARS).collect();
    let mut inputs: Vec<&str> = vec!["casebook"];
    let mut joined: Vec<String> = Vec::new();
    for item in context.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        inputs.push(item);
        // A name's words, an email's local part and domain are guessed on their own too, and a
        // name is often typed without its spaces.
        inputs.extend(
            item.split(|c: char| c == '@' || c == '.' || c.is_whitespace())
                .filter(|part| part.chars().count() >= 3),
        );
        joined.push(item.split_whitespace().collect::<String>());
    }
    inputs.extend(joined.iter().map(String::as_str));
    let estimate = zxcvbn::zxcvbn(&head, &inputs);
    if estimate.score() > zxcvbn::Score::One {
        return Ok(());
    }
    use zxcvbn::feedback::Warning;
    let warning = estimate.feedback().and_then(|f| f.warning());
    Err(match warning {
        Some(
            Warning::ThisIsATop10Password
            | Warning::ThisIsATop100Password
            | Warning::ThisIsACommonPassword
            | Warning::ThisIsSimilarToACommonlyUsedPassword,
        ) => PasswordPolicyError::Common,
        Some(
            Warning::RepeatsLikeAaaAreEasyToGuess
            | Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
        ) => PasswordPolicyError::Repetitive,
        _ => PasswordPolicyError::Guessable,
    })
}

/// Whether the whole password is one run of characters repeated (`aaaaaaaaaa`, `abababababab`,
/// `passwordpassword`), ignoring case: as many guesses as the run alone.
fn is_repetition(password: &str) -> bool {
    let chars: Vec<char> = password.chars().flat_map(char::to_lowercase).collect();
    let n = chars.len();
    (1..=n / 2)
        .any(|unit| n.is_multiple_of(unit) && chars.chunks(unit).all(|c| c == &chars[..unit]))
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
        assert_eq!(check("short"), Err(PasswordPolicyError::TooShort));
        assert_eq!(check(&"x".repeat(2000)), Err(PasswordPolicyError::TooLong));
        assert_eq!(
            check("名字名字名字名字名"),
            Err(PasswordPolicyError::TooShort),
            "counted in characters, not bytes"
        );
    }

    fn check(pw: &str) -> Result<(), PasswordPolicyError> {
        check_policy(&SecretString::from(pw), &[])
    }

    #[test]
    fn policy_refuses_repeated_characters_and_runs() {
        for pw in [
            "aaaaaaaaaa",
            "1111111111",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "abababababab",
            "xyzXYZxyzXYZ",
            "passwordpassword",
            "          ",
        ] {
            assert_eq!(check(pw), Err(PasswordPolicyError::Repetitive), "{pw}");
        }
        // A repeat past the first 100 characters is still a repeat.
        assert_eq!(
            check(&"q7".repeat(300)),
            Err(PasswordPolicyError::Repetitive)
        );
    }

    #[test]
    fn policy_refuses_common_passwords_and_small_changes_of_them() {
        for pw in [
            "password123",
            "1234567890",
            "qwertyuiop",
            "iloveyou12",
            "Password1!",
            "P@ssw0rd123",
            "football2020",
        ] {
            assert!(
                matches!(
                    check(pw),
                    Err(PasswordPolicyError::Common | PasswordPolicyError::Guessable)
                ),
                "{pw}: {:?}",
                check(pw)
            );
        }
        assert_eq!(check("password123"), Err(PasswordPolicyError::Common));
    }

    #[test]
    fn policy_refuses_the_accounts_own_name_and_email() {
        let pw = SecretString::from("wangbinbin2024");
        assert!(check_policy(&pw, &["Wang Binbin", "wangbinbin@cmgos.com"]).is_err());
        let pw = SecretString::from("casebook123");
        assert!(check_policy(&pw, &[]).is_err(), "the product's own name");
    }

    #[test]
    fn policy_accepts_passphrases_and_random_passwords() {
        for pw in [
            "correct horse battery staple",
            "a long enough password",
            "Tr0ub4dor&3-xk",
            "v8#Lq2!mZp9w",
            "我的密码是一匹奔跑的马",
            "the quick brown fox jumps over the lazy dog while seven tired engineers argue about \
             semicolons, tabs and the colour of the bike shed in the basement",
        ] {
            assert_eq!(check(pw), Ok(()), "{pw}");
        }
    }

    #[test]
    fn every_refusal_has_an_interface_string_with_both_languages() {
        let catalog = crate::web::Catalog::builtin().unwrap();
        for e in [
            PasswordPolicyError::TooShort,
            PasswordPolicyError::TooLong,
            PasswordPolicyError::Repetitive,
            PasswordPolicyError::Common,
            PasswordPolicyError::Guessable,
        ] {
            assert!(catalog.contains(e.message_key()), "{e:?}");
        }
    }
}
