//! Playback URLs. A trailer's URL is public; a feature's is signed and lives until
//! `expires_at`, so the URL itself is the permission: it names no user and carries no
//! token. Deployed, CloudFront checks a canned-policy signature made with the private
//! half of a key in the distribution's trusted key group ([`CloudFrontSigner`]); locally,
//! the local server checks an HMAC of the path and expiry ([`LocalKey`]).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use marquee_core::keys::{pem_decode, pem_encode};
use std::path::Path;

pub trait PlaybackSigner: Send + Sync {
    /// A URL that plays `object` until `expires_at` (epoch seconds), then is refused.
    fn signed_url(&self, object: &str, expires_at: i64) -> String;
    /// The URL of a public object (a trailer).
    fn public_url(&self, object: &str) -> String;
}

/// The local media key: HMAC-SHA256, 32 random bytes kept in the data folder.
pub struct LocalKey(aws_lc_rs::hmac::Key);

impl LocalKey {
    const FILE: &str = "media-url.key";

    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            bytes,
        ))
    }

    /// The data folder's key, made on first use.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join(Self::FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = URL_SAFE_NO_PAD
                    .decode(text.trim())
                    .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                aws_lc_rs::rand::fill(&mut bytes)
                    .map_err(|_| std::io::Error::other("no randomness"))?;
                std::fs::create_dir_all(data_dir)?;
                write_private(&path, &URL_SAFE_NO_PAD.encode(bytes))?;
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) => Err(e),
        }
    }

    pub fn sign(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&self.0, message.as_bytes()))
    }

    pub fn verify(&self, message: &str, signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            // Constant-time comparison.
            Ok(tag) => aws_lc_rs::hmac::verify(&self.0, message.as_bytes(), &tag).is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// The local server's media route: `GET /media/{object}` (`?expires&sig` for features).
pub const MEDIA_ROUTE: &str = "/media";

/// URLs of the local server's media route.
pub struct LocalSigner {
    base_url: String,
    key: std::sync::Arc<LocalKey>,
}

impl LocalSigner {
    pub fn new(base_url: &str, key: std::sync::Arc<LocalKey>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
        }
    }

    fn message(object: &str, expires: i64) -> String {
        format!("media\n{object}\n{expires}")
    }

    /// Whether a media route request for `object` may be served at `now`.
    pub fn allows(&self, object: &str, expires: Option<i64>, sig: Option<&str>, now: i64) -> bool {
        match (expires, sig) {
            (Some(expires), Some(sig)) => {
                expires > now && self.key.verify(&Self::message(object, expires), sig)
            }
            _ => crate::media::is_public_object(object),
        }
    }
}

impl PlaybackSigner for LocalSigner {
    fn signed_url(&self, object: &str, expires_at: i64) -> String {
        let sig = self.key.sign(&Self::message(object, expires_at));
        format!(
            "{}{MEDIA_ROUTE}/{object}?expires={expires_at}&sig={sig}",
            self.base_url
        )
    }

    fn public_url(&self, object: &str) -> String {
        format!("{}{MEDIA_ROUTE}/{object}", self.base_url)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the CloudFront signing key: {0}")]
pub struct KeyError(String);

enum CdnKey {
    Ecdsa(aws_lc_rs::signature::EcdsaKeyPair),
    Rsa(aws_lc_rs::signature::RsaKeyPair),
}

/// CloudFront signed URLs (canned policy, SHA-256) for a trusted key group.
pub struct CloudFrontSigner {
    base_url: String,
    key_id: String,
    key: CdnKey,
}

impl CloudFrontSigner {
    /// `private_key_pem`: PKCS#8 PEM of an ECDSA P-256 or RSA-2048 key.
    pub fn new(base_url: &str, key_id: &str, private_key_pem: &str) -> Result<Self, KeyError> {
        let der =
            pem_decode(private_key_pem, "PRIVATE KEY").map_err(|e| KeyError(e.to_string()))?;
        let key = match aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &der,
        ) {
            Ok(key) => CdnKey::Ecdsa(key),
            Err(_) => CdnKey::Rsa(
                aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der)
                    .map_err(|_| KeyError("neither an ECDSA P-256 nor an RSA PKCS#8 key".into()))?,
            ),
        };
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            key_id: key_id.to_string(),
            key,
        })
    }

    /// The canned policy CloudFront rebuilds from the URL and checks the signature against.
    pub fn canned_policy(resource: &str, expires_at: i64) -> String {
        format!(
            r#"{{"Statement":[{{"Resource":"{resource}","Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires_at}}}}}}}]}}"#
        )
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.key {
            CdnKey::Ecdsa(key) => key
                .sign(&rng, message)
                .expect("signing with a loaded key")
                .as_ref()
                .to_vec(),
            CdnKey::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message,
                    &mut signature,
                )
                .expect("signing with a loaded key");
                signature
            }
        }
    }
}

/// CloudFront's URL-safe base64: `+` `=` `/` become `-` `_` `~`.
pub fn cloudfront_base64(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            c => c,
        })
        .collect()
}

impl PlaybackSigner for CloudFrontSigner {
    fn signed_url(&self, object: &str, expires_at: i64) -> String {
        let resource = format!("{}/{object}", self.base_url);
        let signature = self.sign(Self::canned_policy(&resource, expires_at).as_bytes());
        format!(
            "{resource}?Expires={expires_at}&Signature={}&Key-Pair-Id={}&Hash-Algorithm=SHA256",
            cloudfront_base64(&signature),
            self.key_id
        )
    }

    fn public_url(&self, object: &str) -> String {
        format!("{}/{object}", self.base_url)
    }
}

/// A new ECDSA P-256 pair for CloudFront: (private key as PKCS#8 PEM, public key as SPKI
/// PEM, what CloudFront's public key takes).
pub fn new_cdn_key_pair() -> (String, String) {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .expect("the system random source works");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
        .expect("a key just made parses");
    let public = pair
        .public_key()
        .as_der()
        .expect("a P-256 public key encodes");
    (
        pem_encode(pkcs8.as_ref(), "PRIVATE KEY"),
        pem_encode(public.as_ref(), "PUBLIC KEY"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p256_pem() -> (String, Vec<u8>) {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let public = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        (pem, public)
    }

    /// The URL's signature, from CloudFront's base64 back to bytes.
    fn signature_of(url: &str) -> Vec<u8> {
        let standard: String = query(url, "Signature")
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '=',
                '~' => '/',
                c => c,
            })
            .collect();
        STANDARD.decode(standard).unwrap()
    }

    fn query<'a>(url: &'a str, name: &str) -> &'a str {
        url.split(['?', '&'])
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap()
    }

    #[test]
    fn a_cloudfront_url_carries_a_p256_signature_of_its_canned_policy() {
        let (pem, public) = p256_pem();
        let signer =
            CloudFrontSigner::new("https://d111.cloudfront.net/", "K2JCJMDEHXQW5F", &pem).unwrap();
        let url = signer.signed_url("features/M1/U1.mp4", 1_767_290_400);
        assert!(
            url.starts_with(
                "https://d111.cloudfront.net/features/M1/U1.mp4?Expires=1767290400&Signature="
            ),
            "{url}"
        );
        assert_eq!(query(&url, "Key-Pair-Id"), "K2JCJMDEHXQW5F");
        assert_eq!(query(&url, "Hash-Algorithm"), "SHA256");
        let signature = signature_of(&url);
        let policy = CloudFrontSigner::canned_policy(
            "https://d111.cloudfront.net/features/M1/U1.mp4",
            1_767_290_400,
        );
        let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            &public,
        );
        assert!(verifier.verify(policy.as_bytes(), &signature).is_ok());
        // Another expiry is another policy: the signature does not carry over.
        let later = CloudFrontSigner::canned_policy(
            "https://d111.cloudfront.net/features/M1/U1.mp4",
            1_767_290_401,
        );
        assert!(verifier.verify(later.as_bytes(), &signature).is_err());
    }

    #[test]
    fn the_canned_policy_is_cloudfronts_compact_json() {
        assert_eq!(
            CloudFrontSigner::canned_policy("https://d.example/a.mp4", 5),
            r#"{"Statement":[{"Resource":"https://d.example/a.mp4","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}"#
        );
        assert_eq!(cloudfront_base64(&[0xfb, 0xff, 0xfe]), "-~~-");
    }

    #[test]
    fn a_new_pair_signs_urls_its_public_half_verifies() {
        let (private, public) = new_cdn_key_pair();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let signer = CloudFrontSigner::new("https://d", "K", &private).unwrap();
        let url = signer.signed_url("features/M/U.mp4", 7);
        let signature = signature_of(&url);
        // The SPKI of a P-256 key ends with its 65-byte point.
        let spki = pem_decode(&public, "PUBLIC KEY").unwrap();
        let point = &spki[spki.len() - 65..];
        let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            point,
        );
        let policy = CloudFrontSigner::canned_policy("https://d/features/M/U.mp4", 7);
        assert!(verifier.verify(policy.as_bytes(), &signature).is_ok());
    }

    #[test]
    fn a_key_that_is_not_one_is_refused() {
        assert!(
            CloudFrontSigner::new(
                "https://d",
                "K",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
            )
            .is_err()
        );
    }

    #[test]
    fn a_local_url_holds_only_until_it_expires_and_only_as_signed() {
        let signer = LocalSigner::new(
            "http://127.0.0.1:3000",
            std::sync::Arc::new(LocalKey::from_bytes(b"k")),
        );
        let url = signer.signed_url("features/M1/U1.mp4", 1_000);
        let sig = query(&url, "sig");
        assert!(signer.allows("features/M1/U1.mp4", Some(1_000), Some(sig), 999));
        assert!(!signer.allows("features/M1/U1.mp4", Some(1_000), Some(sig), 1_000));
        assert!(!signer.allows("features/M1/U1.mp4", Some(1_001), Some(sig), 999));
        assert!(!signer.allows("features/M2/U1.mp4", Some(1_000), Some(sig), 999));
        assert!(!signer.allows("features/M1/U1.mp4", None, None, 999));
        assert!(signer.allows("trailers/M1/U1.mp4", None, None, 999));
    }
}
