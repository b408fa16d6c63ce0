//! Casebook's own Message-IDs, signed so that a reply's `In-Reply-To` can be trusted to name its
//! case (threading rule a) while a forged ID naming another case is recognised as forged.
//!
//! Form: `cb.<case number>.<nonce>.<mac>@<host>` where `mac` is the first 20 bytes of
//! HMAC-SHA256(secret, "<case number>.<nonce>") in lower-case hex.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::cases::CaseNumber;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "cb.";
const MAC_HEX_LEN: usize = 40;

/// The HMAC of `<case number>.<nonce>`, ready to finalize or verify.
fn mac(secret: &[u8], number: &str, nonce: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(number.as_bytes());
    m.update(b".");
    m.update(nonce.as_bytes());
    m
}

/// A new signed Message-ID (without angle brackets) for a mail about `number`.
pub fn generate(secret: &[u8], number: &CaseNumber, host: &str) -> String {
    let nonce: String = crate::auth::tokens::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    format!(
        "{PREFIX}{number}.{nonce}.{}@{host}",
        &hex::encode(mac(secret, number.as_str(), &nonce).finalize().into_bytes())[..MAC_HEX_LEN]
    )
}

/// The case a Message-ID names, if it is one of ours with a valid signature.
pub fn verify(secret: &[u8], message_id: &str) -> Option<CaseNumber> {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let local = id.split('@').next()?;
    let rest = local.strip_prefix(PREFIX)?;
    let mut parts = rest.rsplitn(3, '.');
    let given_mac = parts.next()?;
    let nonce = parts.next()?;
    let number = parts.next()?;
    // Lower-case hex only, as generated: one spelling per signature.
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if given_mac.len() != MAC_HEX_LEN || nonce.is_empty() || !given_mac.bytes().all(lower_hex) {
        return None;
    }
    let given_mac = hex::decode(given_mac).ok()?;
    let number = CaseNumber::parse(number).ok()?;
    // The signature is the HMAC's first 20 bytes, so the truncated form of the hmac crate's
    // constant-time check (`verify_slice` wants all 32).
    mac(secret, number.as_str(), nonce)
        .verify_truncated_left(&given_mac)
        .ok()?;
    Some(number)
}

/// The host part for generated IDs, taken from the base URL (`help.example.com`).
pub fn host_from_base_url(base_url: &str) -> String {
    url::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "casebook.invalid".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_verify_and_name_their_case() {
        let n = CaseNumber::parse("CAS-06004-S8K5X3").unwrap();
        let id = generate(b"secret", &n, "help.example.com");
        assert!(id.starts_with("cb.CAS-06004-S8K5X3."));
        assert!(id.ends_with("@help.example.com"));
        assert_eq!(verify(b"secret", &id), Some(n.clone()));
        assert_eq!(verify(b"secret", &format!("<{id}>")), Some(n));
    }

    #[test]
    fn forged_or_foreign_ids_do_not_verify() {
        let n = CaseNumber::parse("CAS-06004-S8K5X3").unwrap();
        let id = generate(b"secret", &n, "h");
        assert_eq!(
            verify(b"other secret", &id),
            None,
            "another installation's key"
        );
        let forged = id.replace("CAS-06004-S8K5X3", "CAS-00001-AAAAAA");
        assert_eq!(
            verify(b"secret", &forged),
            None,
            "case swapped, signature kept"
        );
        for junk in [
            "",
            "abc@example.com",
            "cb.@x",
            "cb.CAS-06004-S8K5X3.x.y@h",
            "<CAFEBABE@mail.gmail.com>",
        ] {
            assert_eq!(verify(b"secret", junk), None, "{junk}");
        }
    }

    #[test]
    fn a_tampered_signature_is_refused() {
        let n = CaseNumber::parse("CAS-06004-S8K5X3").unwrap();
        let id = generate(b"secret", &n, "h");
        let (local, host) = id.split_once('@').unwrap();
        let (signed, signature) = local.rsplit_once('.').unwrap();
        assert_eq!(signature.len(), MAC_HEX_LEN);
        for position in [0, MAC_HEX_LEN / 2, MAC_HEX_LEN - 1] {
            let mut tampered = signature.as_bytes().to_vec();
            tampered[position] = if tampered[position] == b'0' {
                b'1'
            } else {
                b'0'
            };
            let tampered = String::from_utf8(tampered).unwrap();
            let forged = format!("{signed}.{tampered}@{host}");
            assert_eq!(verify(b"secret", &forged), None, "digit {position} changed");
        }
        let shouting = format!("{signed}.{}@{host}", signature.to_uppercase());
        if shouting != id {
            assert_eq!(verify(b"secret", &shouting), None, "upper-case hex");
        }
        let (prefix, nonce) = signed.rsplit_once('.').unwrap();
        let nonce_changed = format!("{prefix}.{nonce}x.{signature}@{host}");
        assert_eq!(verify(b"secret", &nonce_changed), None, "nonce changed");
    }
}
