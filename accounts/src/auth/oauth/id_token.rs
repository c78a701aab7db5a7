//! OpenID Connect ID tokens: verified with the provider's key named by `kid`, RS256 only,
//! for our client id, from the expected issuer, unexpired, issued now-ish, and carrying the
//! nonce this sign-in sent. Times are checked on the app's clock.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Seconds of clock difference allowed with the provider.
const LEEWAY_SECS: i64 = 60;

/// What a verified ID token says of the person.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct IdClaims {
    pub sub: String,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("the ID token is not a signed JWT")]
    Malformed,
    #[error("the ID token is not signed with RS256")]
    Algorithm,
    #[error("no key of the provider has the ID token's kid")]
    UnknownKey,
    #[error("the ID token does not verify: {0}")]
    Invalid(String),
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token was issued in the future")]
    NotYetValid,
    #[error("the ID token's nonce is not this sign-in's")]
    Nonce,
}

/// The key id an ID token names (to refresh the key set when it is unknown).
pub fn kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok()?.kid
}

pub fn verify(
    token: &str,
    keys: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: i64,
) -> Result<IdClaims, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(IdTokenError::Algorithm);
    }
    // A token names its key; one that names none can only be checked against a set of
    // one key.
    let jwk = match header.kid.as_deref() {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or(IdTokenError::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| IdTokenError::Invalid(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Checked below on the app's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map_err(|e| IdTokenError::Invalid(e.to_string()))?
        .claims;
    if claims.exp < now - LEEWAY_SECS {
        return Err(IdTokenError::Expired);
    }
    if claims.iat > now + LEEWAY_SECS {
        return Err(IdTokenError::NotYetValid);
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(IdTokenError::Nonce);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::super::simulated::SigningKey;
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://issuer.test";
    const NOW: i64 = 1_800_000_000;

    fn claims(changes: serde_json::Value) -> serde_json::Value {
        let mut claims = json!({
            "iss": ISSUER, "aud": "client-1", "sub": "s-1", "iat": NOW, "exp": NOW + 300,
            "nonce": "n-1", "email": "ana@example.com", "email_verified": true,
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    fn check(key: &SigningKey, token: &str) -> Result<IdClaims, IdTokenError> {
        verify(token, &key.jwks(), ISSUER, "client-1", "n-1", NOW)
    }

    #[test]
    fn a_token_verifies_only_with_every_claim_right() {
        let key = SigningKey::generate();
        let good = check(&key, &key.sign(&claims(json!({})))).unwrap();
        assert_eq!(
            (good.sub.as_str(), good.email_verified),
            ("s-1", Some(true))
        );
        let refused = |changes: serde_json::Value| check(&key, &key.sign(&claims(changes)));
        assert_eq!(refused(json!({"nonce": "other"})), Err(IdTokenError::Nonce));
        assert_eq!(refused(json!({"nonce": null})), Err(IdTokenError::Nonce));
        assert_eq!(
            refused(json!({"exp": NOW - 120})),
            Err(IdTokenError::Expired)
        );
        assert_eq!(
            refused(json!({"iat": NOW + 600})),
            Err(IdTokenError::NotYetValid)
        );
        assert!(matches!(
            refused(json!({"aud": "client-2"})),
            Err(IdTokenError::Invalid(_))
        ));
        assert!(matches!(
            refused(json!({"iss": "https://evil.test"})),
            Err(IdTokenError::Invalid(_))
        ));
        assert!(matches!(
            refused(json!({"sub": null})),
            Err(IdTokenError::Invalid(_))
        ));
    }

    #[test]
    fn foreign_keys_other_algorithms_and_tampering_are_refused() {
        let key = SigningKey::generate();
        let other = SigningKey::generate();
        // Signed by another key that claims our key's id.
        let forged = other.sign_as(&key.kid, &claims(json!({})));
        assert!(matches!(
            check(&key, &forged),
            Err(IdTokenError::Invalid(_))
        ));
        let unknown = other.sign(&claims(json!({})));
        assert_eq!(check(&key, &unknown), Err(IdTokenError::UnknownKey));
        let good = key.sign(&claims(json!({})));
        let parts: Vec<&str> = good.split('.').collect();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!(
            "{}.{}.",
            b64.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid)),
            parts[1]
        );
        assert!(check(&key, &none).is_err());
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header {
                kid: Some(key.kid.clone()),
                ..jsonwebtoken::Header::new(Algorithm::HS256)
            },
            &claims(json!({})),
            &jsonwebtoken::EncodingKey::from_secret(b"guess"),
        )
        .unwrap();
        assert_eq!(check(&key, &hs256), Err(IdTokenError::Algorithm));
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(claims(json!({"sub": "admin"})).to_string()),
            parts[2]
        );
        assert!(matches!(
            check(&key, &tampered),
            Err(IdTokenError::Invalid(_))
        ));
        assert_eq!(check(&key, "not a token"), Err(IdTokenError::Malformed));
    }
}
