//! The TOTP factor of an account: its sealed seed, the last time step a code was accepted
//! for, and the digests of its recovery codes, in one item whose every change is
//! conditional on its `version` (so two uses of one code, or of one recovery code, cannot
//! both win). A factor being set up waits in a pending item for 15 minutes.

use marquee_core::data_key::DataKey;
use marquee_core::expiry;
use marquee_core::http::problem::Problem;
use marquee_core::secret;
use marquee_core::store::{Condition, Item, Key, Update, Write, entity_item, from_entity_item};
use serde::{Deserialize, Serialize};
use totp_rs::{Secret, Totp};

/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "Marquee";
/// How long a factor being set up waits for its first code.
pub const PENDING_LIFETIME_SECS: i64 = 15 * 60;
/// Recovery codes in a set.
pub const RECOVERY_CODES: usize = 10;
/// Seconds per code (RFC 6238's default, which every authenticator uses).
const STEP_SECS: i64 = 30;
/// Seed bytes: 160 bits, as RFC 4226 recommends.
const SEED_LEN: usize = 20;
/// Recovery code characters (RFC 4648's base32 alphabet, lower case): 5 bits each.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// 12 characters: 60 bits, shown as `xxxx-xxxx-xxxx`.
const RECOVERY_LEN: usize = 12;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Factor {
    pub user_id: String,
    /// The seed, sealed with the data key for this user.
    pub sealed_seed: String,
    pub enabled_at: i64,
    /// No code of this time step or an earlier one is accepted again.
    pub last_step: i64,
    pub recovery_digests: Vec<String>,
    pub version: i64,
}

/// A factor being set up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pending {
    pub user_id: String,
    pub sealed_seed: String,
    pub created_at: i64,
}

pub fn factor_key(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "MFA#TOTP")
}

pub fn pending_key(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "MFA#PENDING")
}

/// What a second step proved: a fresh code (of this time step) or one recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    Code { step: i64 },
    Recovery { digest: String },
}

/// A new random seed.
pub fn new_seed() -> Vec<u8> {
    let mut seed = vec![0u8; SEED_LEN];
    aws_lc_rs::rand::fill(&mut seed).expect("the system random source works");
    seed
}

/// The TOTP generator of a seed, labelled for `email` (RFC 6238: SHA-1, 6 digits, 30 s,
/// one step of drift either way).
pub fn totp(seed: &[u8], email: &str) -> Result<Totp, Problem> {
    totp_rs::Builder::new()
        .with_secret(Secret::from(seed))
        .with_issuer(Some(ISSUER))
        // A colon would end the label early in the otpauth URI.
        .with_account_name(email.replace(':', ""))
        .build()
        .map_err(|e| {
            tracing::error!(error = %e, "building a TOTP generator failed");
            Problem::internal()
        })
}

/// The base32 seed, for typing into an authenticator.
pub fn seed_base32(seed: &[u8]) -> String {
    Secret::from(seed).to_base32()
}

/// The time step of `code` if it is valid at `now` (one step of drift allowed) and later
/// than `after`.
pub fn code_step(totp: &Totp, code: &str, now: i64, after: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now).ok()?;
    let step = i64::try_from(totp.check(&code, now)?).ok()?;
    (step > after).then_some(step)
}

/// The time step of an instant (tests and the benchmark make codes with it).
pub fn step_at(now: i64) -> i64 {
    now.div_euclid(STEP_SECS)
}

/// A new set of recovery codes: what to show once, and what to store.
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_LEN];
            aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
            let chars: Vec<char> = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b % 32)] as char)
                .collect();
            chars
                .chunks(4)
                .map(|chunk| chunk.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect();
    let digests = codes.iter().map(|c| recovery_digest(c)).collect();
    (codes, digests)
}

/// A recovery code as typed, to what it stands for: case, spaces and dashes do not matter.
fn normal(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Stored recovery digests of this form are salted: `hmac-sha256$<salt>$<mac>`, the MAC
/// of the code under a random salt of its own, so equal codes never store alike and no
/// table computed once serves for every account.
const SALTED: &str = "hmac-sha256$";

fn mac(salt: &[u8], code: &str) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, salt);
    aws_lc_rs::hmac::sign(&key, normal(code).as_bytes())
        .as_ref()
        .to_vec()
}

/// What is stored for a new recovery code: its salted digest.
pub fn recovery_digest(code: &str) -> String {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).expect("the system random source works");
    format!(
        "{SALTED}{}${}",
        secret::hex(&salt),
        secret::hex(&mac(&salt, code))
    )
}

/// Whether `code` is the one `stored` was made from: a salted digest, or (sets made before
/// salting, kept until replaced) the plain SHA-256 of the code.
pub fn recovery_matches(stored: &str, code: &str) -> bool {
    let Some(rest) = stored.strip_prefix(SALTED) else {
        let plain = secret::digest(&normal(code));
        return aws_lc_rs::constant_time::verify_slices_are_equal(
            plain.as_bytes(),
            stored.as_bytes(),
        )
        .is_ok();
    };
    let Some((salt, expected)) = rest.split_once('$') else {
        return false;
    };
    let Some(salt) = secret::unhex(salt) else {
        return false;
    };
    let actual = secret::hex(&mac(&salt, code));
    aws_lc_rs::constant_time::verify_slices_are_equal(actual.as_bytes(), expected.as_bytes())
        .is_ok()
}

impl Factor {
    pub fn new(
        user_id: &str,
        sealed_seed: String,
        step: i64,
        digests: Vec<String>,
        now: i64,
    ) -> Self {
        Self {
            user_id: user_id.to_string(),
            sealed_seed,
            enabled_at: now,
            last_step: step,
            recovery_digests: digests,
            version: 1,
        }
    }

    pub fn to_item(&self) -> Item {
        entity_item("mfa_factor", &factor_key(&self.user_id), self)
    }

    pub fn from_item(item: Item) -> Result<Self, marquee_core::store::StoreError> {
        from_entity_item("mfa_factor", item)
    }

    /// The seed, opened with the data key.
    pub fn seed(&self, key: &DataKey) -> Result<Vec<u8>, Problem> {
        open_seed(key, &self.user_id, &self.sealed_seed)
    }

    /// What `code` or `recovery_code` proves, if anything.
    pub fn check(
        &self,
        totp: &Totp,
        code: Option<&str>,
        recovery_code: Option<&str>,
        now: i64,
    ) -> Option<Proof> {
        if let Some(code) = code {
            return code_step(totp, code, now, self.last_step).map(|step| Proof::Code { step });
        }
        let code = recovery_code?;
        self.recovery_digests
            .iter()
            .find(|stored| recovery_matches(stored, code))
            .map(|stored| Proof::Recovery {
                digest: stored.clone(),
            })
    }

    /// Recovery codes left after `proof` is spent.
    pub fn remaining_after(&self, proof: &Proof) -> usize {
        match proof {
            Proof::Code { .. } => self.recovery_digests.len(),
            Proof::Recovery { .. } => self.recovery_digests.len().saturating_sub(1),
        }
    }

    /// The write that spends `proof` (and, with `new_digests`, replaces the recovery set),
    /// if nothing else changed the factor since it was read.
    pub fn spend(&self, proof: &Proof, new_digests: Option<Vec<String>>) -> Write {
        let mut update = Update::new().set("version", self.version + 1);
        match proof {
            Proof::Code { step } => update = update.set("last_step", *step),
            Proof::Recovery { digest } => {
                let left: Vec<&String> = self
                    .recovery_digests
                    .iter()
                    .filter(|d| *d != digest)
                    .collect();
                if new_digests.is_none() {
                    update = update.set("recovery_digests", serde_json::json!(left));
                }
            }
        }
        if let Some(digests) = new_digests {
            update = update.set("recovery_digests", serde_json::json!(digests));
        }
        Write::update(factor_key(&self.user_id), update).when(self.unchanged())
    }

    /// Guards a write on the factor being as it was read.
    pub fn unchanged(&self) -> Condition {
        Condition::eq("version", self.version)
    }
}

impl Pending {
    pub fn to_item(&self) -> Item {
        let mut item = entity_item("mfa_pending", &pending_key(&self.user_id), self);
        expiry::stamp(&mut item, self.created_at + PENDING_LIFETIME_SECS);
        item
    }
}

pub fn open_seed(key: &DataKey, user_id: &str, sealed: &str) -> Result<Vec<u8>, Problem> {
    key.open(user_id, sealed).ok_or_else(|| {
        tracing::error!(user = %user_id, "a TOTP seed does not open with the data key");
        Problem::internal()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(totp: &Totp, at: i64) -> String {
        totp.generate(at as u64).to_string()
    }

    #[test]
    fn codes_count_within_one_step_of_drift_and_only_after_the_last_used_step() {
        let seed = new_seed();
        let totp = totp(&seed, "ana@example.com").unwrap();
        let now = 1_800_000_015;
        let step = step_at(now);
        assert_eq!(code_step(&totp, &code(&totp, now), now, 0), Some(step));
        assert_eq!(
            code_step(&totp, &code(&totp, now - 30), now, 0),
            Some(step - 1)
        );
        assert_eq!(
            code_step(&totp, &code(&totp, now + 30), now, 0),
            Some(step + 1)
        );
        assert_eq!(code_step(&totp, &code(&totp, now - 60), now, 0), None);
        assert_eq!(code_step(&totp, &code(&totp, now + 60), now, 0), None);
        // Replays: the step already used, and earlier ones, are refused.
        assert_eq!(code_step(&totp, &code(&totp, now), now, step), None);
        assert_eq!(
            code_step(&totp, &code(&totp, now - 30), now, step - 1),
            None
        );
        let spaced = code(&totp, now);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(code_step(&totp, &spaced, now, 0), Some(step));
        assert_eq!(code_step(&totp, "12345", now, 0), None);
        assert_eq!(code_step(&totp, "abcdef", now, 0), None);
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_seed() {
        let seed = new_seed();
        let uri = totp(&seed, "ana@example.com").unwrap().to_url().unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Marquee:ana%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={}", seed_base32(&seed))));
        assert!(uri.contains("issuer=Marquee"));
    }

    #[test]
    fn recovery_codes_are_distinct_high_entropy_and_forgiving_to_type() {
        let (codes, digests) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for (code, digest) in codes.iter().zip(&digests) {
            assert_eq!(code.len(), 14, "{code}");
            assert!(!digest.contains(&normal(code)), "{digest}");
            assert!(recovery_matches(
                digest,
                &code.to_uppercase().replace('-', " ")
            ));
        }
        assert!(!recovery_matches(&digests[0], &codes[1]));
    }

    #[test]
    fn recovery_digests_are_salted_and_earlier_plain_ones_still_match() {
        let code = "abcd-efgh-2345";
        let (one, two) = (recovery_digest(code), recovery_digest(code));
        assert!(one.starts_with(SALTED), "{one}");
        assert_ne!(one, two, "each digest has its own salt");
        assert!(recovery_matches(&one, code) && recovery_matches(&two, "ABCDEFGH2345"));
        assert!(!recovery_matches(&one, "abcd-efgh-2346"));
        // A set stored before salting: the plain SHA-256 of the code.
        let plain = secret::digest("abcdefgh2345");
        assert!(recovery_matches(&plain, code));
        assert!(!recovery_matches(&plain, "abcd-efgh-2346"));
        assert!(!recovery_matches("hmac-sha256$zz$00", code));
        let factor = Factor::new("u", "sealed".into(), 5, vec![plain.clone(), one], 0);
        let totp = totp(&new_seed(), "a@b.c").unwrap();
        assert_eq!(
            factor.check(&totp, None, Some("ABCD EFGH 2345"), 0),
            Some(Proof::Recovery { digest: plain })
        );
    }

    #[test]
    fn spending_a_recovery_code_removes_only_it() {
        let (_, digests) = new_recovery_codes();
        let factor = Factor::new("u", "sealed".into(), 5, digests.clone(), 0);
        let proof = Proof::Recovery {
            digest: digests[3].clone(),
        };
        assert_eq!(factor.remaining_after(&proof), RECOVERY_CODES - 1);
        let Write::Update {
            update, condition, ..
        } = factor.spend(&proof, None)
        else {
            panic!("an update");
        };
        assert_eq!(condition, Some(Condition::eq("version", 1)));
        let left = &update
            .set
            .iter()
            .find(|(a, _)| a == "recovery_digests")
            .unwrap()
            .1;
        assert_eq!(left.as_array().unwrap().len(), RECOVERY_CODES - 1);
        assert!(
            !left
                .as_array()
                .unwrap()
                .contains(&digests[3].clone().into())
        );
    }
}
