//! Case numbers: `CAS-NNNNN-` plus six characters, e.g. `CAS-06004-S8K5X3`.
//!
//! The numeric part is a zero-padded sequence (at least five digits, it simply grows past 99999);
//! the suffix is six characters of Crockford base32 drawn from a CSPRNG, so a number cannot be
//! guessed from its neighbour. Parsing is lenient about case and surrounding whitespace, and keeps
//! imported numbers (e.g. `CAS-06004-S8K5X3`) exactly as they were written.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

/// Crockford's base32 alphabet: no I, L, O or U, so numbers survive being read aloud or retyped.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SUFFIX_LEN: usize = 6;
const MIN_SEQUENCE_DIGITS: usize = 5;

/// A validated case number such as `CAS-06004-S8K5X3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNumber(String);

/// Why a string is not a case number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a case number (expected CAS- five or more digits - six letters or digits, e.g. CAS-06004-S8K5X3): {0:?}"
)]
pub struct CaseNumberError(pub String);

impl CaseNumber {
    /// A new number for sequence `seq` with a random suffix from the OS CSPRNG.
    pub fn generate(seq: u64) -> Self {
        let mut rng = rand::rngs::OsRng;
        let suffix: String = (0..SUFFIX_LEN)
            .map(|_| CROCKFORD[rng.gen_range(0..CROCKFORD.len())] as char)
            .collect();
        CaseNumber(format!(
            "CAS-{seq:0width$}-{suffix}",
            width = MIN_SEQUENCE_DIGITS
        ))
    }

    /// Parses `s`, accepting lower case and surrounding whitespace.
    pub fn parse(s: &str) -> Result<Self, CaseNumberError> {
        let upper = s.trim().to_ascii_uppercase();
        let err = || CaseNumberError(s.to_string());
        let rest = upper.strip_prefix("CAS-").ok_or_else(err)?;
        let (seq, suffix) = rest.split_once('-').ok_or_else(err)?;
        let seq_ok = seq.len() >= MIN_SEQUENCE_DIGITS && seq.bytes().all(|b| b.is_ascii_digit());
        // Imported numbers may carry letters outside Crockford's alphabet; keep them as written.
        let suffix_ok =
            suffix.len() == SUFFIX_LEN && suffix.bytes().all(|b| b.is_ascii_alphanumeric());
        if seq_ok && suffix_ok {
            Ok(CaseNumber(upper))
        } else {
            Err(err())
        }
    }

    /// The sequence part (`6004` for `CAS-06004-S8K5X3`).
    pub fn sequence(&self) -> u64 {
        // The parse/generate constructors guarantee digits between the dashes; saturate on overflow.
        self.0[4..]
            .split('-')
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(u64::MAX)
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CaseNumber {
    type Err = CaseNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseNumber::parse(s)
    }
}

impl TryFrom<String> for CaseNumber {
    type Error = CaseNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CaseNumber::parse(&s)
    }
}

impl AsRef<str> for CaseNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for CaseNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_have_the_documented_shape() {
        for seq in [1, 6004, 99_999] {
            let n = CaseNumber::generate(seq);
            let s = n.as_str();
            assert_eq!(s.len(), "CAS-06004-S8K5X3".len(), "{s}");
            assert!(s.starts_with("CAS-"));
            assert!(s[10..].bytes().all(|b| CROCKFORD.contains(&b)), "{s}");
            assert_eq!(n.sequence(), seq);
            assert_eq!(CaseNumber::parse(s).unwrap(), n);
        }
        assert!(CaseNumber::generate(7).as_str().starts_with("CAS-00007-"));
    }

    #[test]
    fn sequence_grows_past_five_digits() {
        let n = CaseNumber::generate(123_456);
        assert!(n.as_str().starts_with("CAS-123456-"));
        assert_eq!(n.sequence(), 123_456);
        assert_eq!(CaseNumber::parse(n.as_str()).unwrap(), n);
    }

    #[test]
    fn suffixes_are_random() {
        let a = CaseNumber::generate(1);
        let b = CaseNumber::generate(1);
        let c = CaseNumber::generate(1);
        assert!(a != b || b != c, "three identical random suffixes");
    }

    #[test]
    fn parse_accepts_lower_case_and_whitespace_and_keeps_imported_numbers() {
        let n = CaseNumber::parse("  cas-06004-s8k5x3 \n").unwrap();
        assert_eq!(n.as_str(), "CAS-06004-S8K5X3");
        assert_eq!(n.sequence(), 6004);
        assert_eq!(n.to_string(), "CAS-06004-S8K5X3");
    }

    #[test]
    fn parse_rejects_malformed_numbers() {
        for bad in [
            "",
            "CAS-",
            "CAS-0600-S8K5X3",
            "CAS-06004-S8K5X",
            "CAS-06004-S8K5X34",
            "CAS-06A04-S8K5X3",
            "CASE-06004-S8K5X3",
            "CAS 06004 S8K5X3",
            "CAS-06004-S8K5-3",
        ] {
            assert!(CaseNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
