//! Access tokens: EdDSA (Ed25519) JWTs, 15 minutes, naming the session they belong to.
//! Verification accepts only EdDSA and checks issuer, audience, expiry and not-before.

use super::session::{AuthMethod, Session};
use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use marquee_core::http::problem::Problem;
use marquee_core::keys::SigningKeys;
use marquee_core::role::Role;
use serde::{Deserialize, Serialize};

pub const ACCESS_LIFETIME_SECS: i64 = 15 * 60;
pub const ISSUER: &str = "marquee";
pub const AUDIENCE: &str = "marquee-api";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub sub: String,
    pub role: Role,
    /// The session; revoking it stops this token at once.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// How the session signed in.
    #[serde(default)]
    pub amr: Vec<AuthMethod>,
    /// When the session signed in (epoch seconds).
    #[serde(default)]
    pub auth_time: i64,
}

/// What sign-in, refresh and MFA verification answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// An access token for `session`, issued at `now`.
pub fn issue(keys: &SigningKeys, session: &Session, now: i64) -> Result<String, Problem> {
    let Some(private) = keys.private_pkcs8() else {
        tracing::error!("this function has no signing key but tried to issue a token");
        return Err(Problem::internal());
    };
    let claims = AccessClaims {
        sub: session.user_id.clone(),
        role: session.role,
        sid: session.id.clone(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now,
        nbf: now,
        exp: now + ACCESS_LIFETIME_SECS,
        jti: ulid::Ulid::new().to_string(),
        amr: session.amr.clone(),
        auth_time: session.auth_time(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(keys.kid().to_string());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(private)).map_err(|e| {
        tracing::error!(error = %e, "signing an access token failed");
        Problem::internal()
    })
}

pub fn pair(
    keys: &SigningKeys,
    session: &Session,
    refresh_token: String,
    now: i64,
) -> Result<TokenPair, Problem> {
    Ok(TokenPair {
        access_token: issue(keys, session, now)?,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: ACCESS_LIFETIME_SECS,
    })
}

fn invalid_token() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "The access token is not valid",
    )
}

/// Seconds of clock skew allowed around `nbf` and `exp`.
const LEEWAY_SECS: i64 = 5;

/// Verifies a token at `now` (epoch seconds, from the app's clock: the one that issued it).
pub fn verify(keys: &SigningKeys, token: &str, now: i64) -> Result<AccessClaims, Problem> {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    // Times are checked below against the app's clock, not the library's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_token())?;
    if header.kid.as_deref() != Some(keys.kid()) {
        return Err(invalid_token());
    }
    let key = DecodingKey::from_ed_der(keys.public_key());
    let claims = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| invalid_token())?;
    if claims.nbf > now + LEEWAY_SECS {
        return Err(invalid_token());
    }
    if claims.exp < now - LEEWAY_SECS {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "The access token has expired",
        )
        .detail("Refresh it with your refresh token"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> (SigningKeys, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (SigningKeys::load_or_create(dir.path()).unwrap(), dir)
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn session(role: Role, amr: &[AuthMethod], at: i64) -> Session {
        let origin = super::super::session::Origin::default();
        super::super::session::open("u1", role, 0, amr, &origin, at).0
    }

    #[test]
    fn issued_tokens_verify_with_every_claim() {
        let (keys, _dir) = keys();
        let signed_in = session(Role::Moderator, &[AuthMethod::Pwd, AuthMethod::Otp], now());
        let token = issue(&keys, &signed_in, now() + 60).unwrap();
        let claims = verify(&keys, &token, now() + 60).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.role, claims.sid.as_str()),
            ("u1", Role::Moderator, signed_in.id.as_str())
        );
        assert_eq!(claims.amr, vec![AuthMethod::Pwd, AuthMethod::Otp]);
        assert_eq!(claims.auth_time, signed_in.auth_time());
        assert_eq!(claims.iat, signed_in.auth_time() + 60);
        assert_eq!(claims.exp - claims.iat, ACCESS_LIFETIME_SECS);
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(keys.kid()));
    }

    #[test]
    fn expired_future_and_foreign_tokens_are_refused() {
        let (keys, _dir) = keys();
        let old = issue(
            &keys,
            &session(Role::User, &[AuthMethod::Pwd], now()),
            now() - 3600,
        )
        .unwrap();
        assert_eq!(
            verify(&keys, &old, now()).unwrap_err().code,
            "token_expired"
        );
        let future = issue(
            &keys,
            &session(Role::User, &[AuthMethod::Pwd], now()),
            now() + 3600,
        )
        .unwrap();
        assert_eq!(
            verify(&keys, &future, now()).unwrap_err().code,
            "invalid_token"
        );
        let (other, _dir2) = self::keys();
        let foreign = issue(
            &other,
            &session(Role::User, &[AuthMethod::Pwd], now()),
            now(),
        )
        .unwrap();
        assert_eq!(
            verify(&keys, &foreign, now()).unwrap_err().code,
            "invalid_token"
        );
        assert_eq!(
            verify(&keys, "not.a.jwt", now()).unwrap_err().code,
            "invalid_token"
        );
    }

    #[test]
    fn a_token_with_another_algorithm_or_tampered_claims_is_refused() {
        let (keys, _dir) = keys();
        let token = issue(
            &keys,
            &session(Role::User, &[AuthMethod::Pwd], now()),
            now(),
        )
        .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        // Same claims, header switched to HS256 and signed with the public key as secret.
        let header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#,
            keys.kid()
        ));
        let forged = jsonwebtoken::encode(
            &Header {
                kid: Some(keys.kid().into()),
                ..Header::new(Algorithm::HS256)
            },
            &verify(&keys, &token, now()).unwrap(),
            &EncodingKey::from_secret(keys.public_key()),
        )
        .unwrap();
        assert!(verify(&keys, &forged, now()).is_err());
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        );
        assert_eq!(
            verify(&keys, &tampered, now()).unwrap_err().code,
            "invalid_token"
        );
        let unsigned = format!("{header}.{}.", parts[1]);
        assert!(verify(&keys, &unsigned, now()).is_err());
    }
}
