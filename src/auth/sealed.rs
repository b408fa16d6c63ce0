//! Secrets the server must read back — a two-factor key is one — are stored sealed: AES-256-GCM
//! under a key derived from the instance's `secret_key` with HKDF-SHA256 and a per-purpose label,
//! so a copy of the database alone (a backup, a dump) does not give them away. Stored form:
//! `sealed:v1:` + base64(12-byte nonce ‖ ciphertext and tag). Values written before sealing existed
//! (no prefix) are still read, and [`SealKey::open_or_legacy`] says so, so callers can seal them.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

/// A stored value could not be opened: damaged, or sealed under another `secret_key`.
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret cannot be opened (damaged, or the secret_key changed)")]
pub struct OpenError;

/// The key for one purpose.
#[derive(Clone)]
pub struct SealKey(Aes256Gcm);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey([redacted])")
    }
}

impl SealKey {
    /// Derives the key for `purpose` (e.g. `"two-factor"`) from the instance's secret.
    pub fn derive(instance_secret: &str, purpose: &str) -> SealKey {
        let hk = Hkdf::<Sha256>::new(Some(b"casebook sealed secrets"), instance_secret.as_bytes());
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 255 × 32; `expand` cannot fail here.
        hk.expand(purpose.as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        SealKey(Aes256Gcm::new(&key.into()))
    }

    /// The key two-factor secrets are sealed with.
    pub fn two_factor(config: &crate::config::Config) -> SealKey {
        SealKey::derive(config.secret(), "two-factor")
    }

    /// Seals `plain` with a fresh random nonce.
    pub fn seal(&self, plain: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // AES-GCM encryption fails only for inputs over 64 GiB.
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce), plain)
            .expect("a secret is far below AES-GCM's size limit");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// Opens a value [`seal`](Self::seal) made.
    pub fn open(&self, stored: &str) -> Result<Vec<u8>, OpenError> {
        let encoded = stored.strip_prefix(PREFIX).ok_or(OpenError)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| OpenError)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        self.0
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| OpenError)
    }

    /// Opens a sealed value, or returns a value stored before sealing as it is; the flag says
    /// which (`true`: it was stored in clear and should be sealed now).
    pub fn open_or_legacy(&self, stored: &str) -> Result<(Vec<u8>, bool), OpenError> {
        if is_sealed(stored) {
            self.open(stored).map(|plain| (plain, false))
        } else {
            Ok((stored.as_bytes().to_vec(), true))
        }
    }
}

/// Whether `stored` is in the sealed form.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only_and_never_show_the_secret() {
        let key = SealKey::derive("instance secret of forty characters.....", "two-factor");
        let stored = key.seal(b"JBSWY3DPEHPK3PXP");
        assert!(is_sealed(&stored));
        assert!(!stored.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            stored,
            key.seal(b"JBSWY3DPEHPK3PXP"),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&stored).unwrap(), b"JBSWY3DPEHPK3PXP");

        let other_instance =
            SealKey::derive("another instance's secret...............", "two-factor");
        assert!(other_instance.open(&stored).is_err());
        let other_purpose = SealKey::derive("instance secret of forty characters.....", "imap");
        assert!(other_purpose.open(&stored).is_err());

        let mut damaged = stored.clone();
        damaged.replace_range(stored.len() - 4.., "AAAA");
        assert!(key.open(&damaged).is_err());
        assert!(key.open("sealed:v1:!!").is_err());

        assert_eq!(
            key.open_or_legacy("JBSWY3DPEHPK3PXP").unwrap(),
            (b"JBSWY3DPEHPK3PXP".to_vec(), true)
        );
        assert_eq!(
            key.open_or_legacy(&stored).unwrap(),
            (b"JBSWY3DPEHPK3PXP".to_vec(), false)
        );
    }
}
