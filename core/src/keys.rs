//! The Ed25519 key pair behind access tokens, and its public half as a JWK set.
//!
//! In AWS the keys come from configuration (only token-issuing functions get the private
//! key). On the embedded backend a key pair is made on first start and kept in the data
//! folder, so every local process (one per function under `cargo lambda watch`) shares it.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

#[derive(Debug, thiserror::Error)]
#[error("signing keys: {0}")]
pub struct KeyError(pub String);

pub struct SigningKeys {
    kid: String,
    public: [u8; 32],
    private_pkcs8: Option<Vec<u8>>,
}

/// One public key as RFC 8037 describes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// The DER inside a PEM block labelled `label` (`PRIVATE KEY`, `PUBLIC KEY`).
pub fn pem_decode(pem: &str, label: &str) -> Result<Vec<u8>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem
        .trim()
        .strip_prefix(&begin)
        .and_then(|rest| rest.strip_suffix(&end))
        .ok_or_else(|| KeyError(format!("expected a PEM {label}")))?;
    let joined: String = body.split_whitespace().collect();
    STANDARD
        .decode(joined)
        .map_err(|_| KeyError(format!("the PEM {label} is not valid base64")))
}

/// DER as a PEM block labelled `label`, 64 characters a line.
pub fn pem_encode(der: &[u8], label: &str) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl SigningKeys {
    fn from_parts(public: [u8; 32], private_pkcs8: Option<Vec<u8>>) -> Self {
        // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
        let x = URL_SAFE_NO_PAD.encode(public);
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Self {
            kid,
            public,
            private_pkcs8,
        }
    }

    /// From a PKCS#8 PEM private key: can sign and verify.
    pub fn from_private_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_decode(pem, "PRIVATE KEY")?;
        // Accepts PKCS#8 v1 (what `openssl genpkey -algorithm ed25519` writes) and v2.
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map_err(|_| KeyError("not an Ed25519 PKCS#8 private key".into()))?;
        let public: [u8; 32] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| KeyError("unexpected public key length".into()))?;
        Ok(Self::from_parts(public, Some(der)))
    }

    /// From an SPKI PEM public key: can only verify.
    pub fn from_public_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_decode(pem, "PUBLIC KEY")?;
        let public = der
            .strip_prefix(&ED25519_SPKI_PREFIX[..])
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .ok_or_else(|| KeyError("not an Ed25519 public key".into()))?;
        Ok(Self::from_parts(public, None))
    }

    /// The local key pair in `dir`, made on first use. Safe when several processes race.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let pem = local_secret_file(dir, "jwt-ed25519.pem", || {
            // PKCS#8 v1, so that OpenSSL and other tools read the file too.
            let pkcs8 = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new())
                .map_err(|_| KeyError("could not generate a key".into()))?;
            Ok(pem_encode(pkcs8.as_ref(), "PRIVATE KEY"))
        })?;
        Self::from_private_pem(&pem)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// The public key as SPKI PEM (for configuring functions that only verify).
    pub fn public_pem(&self) -> String {
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.public);
        pem_encode(&der, "PUBLIC KEY")
    }

    /// The PKCS#8 private key, when this process may issue tokens.
    pub fn private_pkcs8(&self) -> Option<&[u8]> {
        self.private_pkcs8.as_deref()
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![Jwk {
                kty: "OKP",
                crv: "Ed25519",
                x: URL_SAFE_NO_PAD.encode(self.public),
                kid: self.kid.clone(),
                alg: "EdDSA",
                use_: "sig",
            }],
        }
    }
}

/// The contents of a private file in `dir` (mode 0600), written by `make` on first use.
/// Several processes may race (one per function under `cargo lambda watch`): each writes
/// a temporary file and links it in place, so the first wins and every other reads it.
pub fn local_secret_file(
    dir: &Path,
    name: &str,
    make: impl FnOnce() -> Result<String, KeyError>,
) -> Result<String, KeyError> {
    let path = dir.join(name);
    let io = |e: std::io::Error| KeyError(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    if let Ok(contents) = std::fs::read_to_string(&path) {
        return Ok(contents);
    }
    let contents = make()?;
    let tmp = dir.join(format!("{name}.{}.tmp", ulid::Ulid::new()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(contents),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(&path).map_err(io)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_key_is_made_once_and_shared() {
        let dir = tempfile::tempdir().unwrap();
        let first = SigningKeys::load_or_create(dir.path()).unwrap();
        let second = SigningKeys::load_or_create(dir.path()).unwrap();
        assert_eq!(first.public_key(), second.public_key());
        assert!(first.private_pkcs8().is_some());
        assert_eq!(first.kid().len(), 43, "base64url SHA-256");
    }

    #[test]
    fn public_pem_round_trips_and_cannot_sign() {
        let dir = tempfile::tempdir().unwrap();
        let pair = SigningKeys::load_or_create(dir.path()).unwrap();
        let public = SigningKeys::from_public_pem(&pair.public_pem()).unwrap();
        assert_eq!(public.public_key(), pair.public_key());
        assert_eq!(public.kid(), pair.kid());
        assert!(public.private_pkcs8().is_none());
        let jwk = &public.jwks().keys[0];
        assert_eq!((jwk.kty, jwk.crv, jwk.alg), ("OKP", "Ed25519", "EdDSA"));
        assert_eq!(URL_SAFE_NO_PAD.decode(&jwk.x).unwrap(), pair.public_key());
    }

    #[test]
    fn reads_pkcs8_v1_and_v2_private_keys() {
        let rng = SystemRandom::new();
        for der in [
            Ed25519KeyPair::generate_pkcs8v1(&rng).unwrap(),
            Ed25519KeyPair::generate_pkcs8(&rng).unwrap(),
        ] {
            let keys =
                SigningKeys::from_private_pem(&pem_encode(der.as_ref(), "PRIVATE KEY")).unwrap();
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.as_ref()).unwrap();
            assert_eq!(keys.public_key().as_slice(), pair.public_key().as_ref());
        }
    }

    #[test]
    fn rejects_keys_that_are_not_ed25519() {
        assert!(SigningKeys::from_public_pem("not a pem").is_err());
        let wrong = pem_encode(&[0u8; 44], "PUBLIC KEY");
        assert!(SigningKeys::from_public_pem(&wrong).is_err());
        let garbage = pem_encode(&[1u8; 48], "PRIVATE KEY");
        assert!(SigningKeys::from_private_pem(&garbage).is_err());
    }
}
