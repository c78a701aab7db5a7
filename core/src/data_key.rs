//! The data key that seals the secrets the server must read back (TOTP seeds): AES-256-GCM
//! with a random nonce per seal, and the owner bound in as associated data, so a sealed
//! seed copied onto another account does not open.
//!
//! In AWS the key comes from configuration (`MARQUEE_MFA_KEY`, a NoEcho parameter given
//! only to the functions that set or verify codes); on the embedded backend it is made on
//! first start and kept in the data folder.

use super::keys::{KeyError, local_secret_file};
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::path::Path;

const KEY_LEN: usize = 32;
/// Marks the format of a sealed value, so a later one can be told apart.
const VERSION: &str = "v1.";

pub struct DataKey(RandomizedNonceKey);

impl DataKey {
    /// From 32 bytes in standard base64 (`openssl rand -base64 32`).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError("MARQUEE_MFA_KEY is not base64".into()))?;
        if bytes.len() != KEY_LEN {
            return Err(KeyError(format!(
                "MARQUEE_MFA_KEY must be {KEY_LEN} bytes, not {}",
                bytes.len()
            )));
        }
        RandomizedNonceKey::new(&AES_256_GCM, &bytes)
            .map(Self)
            .map_err(|_| KeyError("MARQUEE_MFA_KEY is not an AES-256 key".into()))
    }

    /// The local key in `dir`, made on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let text = local_secret_file(dir, "mfa-data-key", || Ok(new_key_base64()))?;
        Self::from_base64(&text)
    }

    /// Seals `plaintext` for `owner`: `v1.` and base64 of nonce, ciphertext and tag.
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> String {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(owner.as_bytes()), &mut in_out)
            .expect("sealing with a valid key does not fail");
        let mut sealed = nonce.as_ref().to_vec();
        sealed.extend_from_slice(&in_out);
        format!("{VERSION}{}", STANDARD.encode(sealed))
    }

    /// The plaintext, if `sealed` was sealed for `owner` with this key and is unaltered.
    pub fn open(&self, owner: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = STANDARD.decode(sealed.strip_prefix(VERSION)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut in_out)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// A fresh random key, as `MARQUEE_MFA_KEY` takes it.
pub fn new_key_base64() -> String {
    let mut bytes = [0u8; KEY_LEN];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_owner_key_and_unaltered() {
        let key = DataKey::from_base64(&new_key_base64()).unwrap();
        let sealed = key.seal("user-1", b"seed bytes");
        assert!(!sealed.contains("seed"));
        assert_ne!(
            sealed,
            key.seal("user-1", b"seed bytes"),
            "nonces are random"
        );
        assert_eq!(key.open("user-1", &sealed).unwrap(), b"seed bytes");
        assert!(key.open("user-2", &sealed).is_none());
        let other = DataKey::from_base64(&new_key_base64()).unwrap();
        assert!(other.open("user-1", &sealed).is_none());
        let mut bytes = STANDARD.decode(&sealed[VERSION.len()..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{VERSION}{}", STANDARD.encode(bytes));
        assert!(key.open("user-1", &tampered).is_none());
        assert!(key.open("user-1", "garbage").is_none());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(DataKey::from_base64("not base64!").is_err());
        assert!(DataKey::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        let dir = tempfile::tempdir().unwrap();
        let a = DataKey::load_or_create(dir.path()).unwrap();
        let b = DataKey::load_or_create(dir.path()).unwrap();
        assert_eq!(b.open("u", &a.seal("u", b"x")).unwrap(), b"x");
    }
}
