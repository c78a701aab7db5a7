//! Password hashing (argon2id, OWASP parameters) and the strength policy.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use marquee_core::http::problem::FieldError;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// OWASP: argon2id, m = 19 MiB, t = 2, p = 1.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string of a password nobody knows, with the same parameters: verifying against
/// it costs what a real verification costs, so unknown emails take as long as known ones.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bWFycXVlZS1kdW1teS1zYWx0$2pFsdD3Nv2LdQwZ0n6y8k1x8cLwQm1uQ3m4Gm0n5H8Q";

/// Hashes on a blocking thread: argon2 takes tens of milliseconds by design.
pub async fn hash(password: &str) -> Result<String, String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| "no randomness".to_string())?;
        hasher()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// True when `password` matches `phc`; `None` verifies against the dummy and is false.
pub async fn verify(password: &str, phc: Option<&str>) -> bool {
    let password = password.to_string();
    let (phc, real) = match phc {
        Some(phc) => (phc.to_string(), true),
        None => (DUMMY_HASH.to_string(), false),
    };
    tokio::task::spawn_blocking(move || {
        let matches = hasher()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok();
        matches && real
    })
    .await
    .unwrap_or(false)
}

/// Every reason `password` is refused for the account `email`, with zxcvbn's advice.
pub fn check_strength(field: &str, password: &str, email: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let error = |message: String| FieldError {
        field: field.to_string(),
        message,
    };
    let length = password.chars().count();
    if length < MIN_LENGTH {
        errors.push(error(format!("must be at least {MIN_LENGTH} characters")));
    }
    if length > MAX_LENGTH {
        errors.push(error(format!("must be at most {MAX_LENGTH} characters")));
        return errors;
    }
    let local_part = email.split('@').next().unwrap_or_default().to_lowercase();
    if local_part.chars().count() >= 3 && password.to_lowercase().contains(&local_part) {
        errors.push(error("must not contain your email address".into()));
    }
    let domain = email.split('@').nth(1).unwrap_or_default();
    let inputs = [email, local_part.as_str(), domain, "marquee", "cinema"];
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < 3 {
        let mut message = String::from("is too easy to guess");
        if let Some(feedback) = estimate.feedback() {
            if let Some(warning) = feedback.warning() {
                message.push_str(&format!(": {warning}"));
            }
            let advice: Vec<String> = feedback
                .suggestions()
                .iter()
                .map(|s| s.to_string())
                .collect();
            if !advice.is_empty() {
                message.push_str(&format!(". {}", advice.join(" ")));
            }
        } else {
            message.push_str(". Add more words or characters that are hard to guess.");
        }
        errors.push(error(message));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery staple").await.unwrap();
        let b = hash("correct horse battery staple").await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse battery staple", Some(&a)).await);
        assert!(!verify("correct horse battery stapler", Some(&a)).await);
        assert!(!verify("anything", None).await);
    }

    #[test]
    fn the_dummy_hash_is_a_valid_phc_string_with_the_same_cost() {
        let parsed = argon2::PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19 * 1024, 2, 1)
        );
    }

    #[test]
    fn weak_short_long_and_personal_passwords_are_refused_with_reasons() {
        assert!(
            check_strength("password", "Tr0ub4dour-velvet-Lantern", "ana@example.com").is_empty()
        );
        let short = check_strength("password", "aB3$x", "ana@example.com");
        assert!(short.iter().any(|e| e.message.contains("at least 10")));
        let long = check_strength("password", &"x".repeat(129), "ana@example.com");
        assert!(long[0].message.contains("at most 128"));
        let common = check_strength("password", "password123", "ana@example.com");
        assert!(
            common
                .iter()
                .any(|e| e.message.starts_with("is too easy to guess")),
            "{common:?}"
        );
        let personal = check_strength(
            "new_password",
            "anabelle-Velvet-9-Lantern",
            "anabelle@example.com",
        );
        assert!(
            personal.iter().any(|e| e.message.contains("email")),
            "{personal:?}"
        );
        assert!(personal.iter().all(|e| e.field == "new_password"));
    }
}
