//! Stripe's webhook signature: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`,
//! each v1 an HMAC-SHA256 of `"<t>.<raw body>"` under the endpoint's secret. Any one v1 may
//! match (Stripe sends several while a secret is being rolled), and the timestamp must be
//! within the tolerance of now, so an old delivery cannot be replayed.

use aws_lc_rs::hmac;

/// Stripe's default tolerance.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

fn key(secret: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())
}

fn signed_payload(timestamp: i64, payload: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(payload);
    message
}

/// The header value Stripe would send for `payload` at `timestamp` (the simulated gateway
/// and tests sign with it).
pub fn header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let tag = hmac::sign(&key(secret), &signed_payload(timestamp, payload));
    format!(
        "t={timestamp},v1={}",
        marquee_core::secret::hex(tag.as_ref())
    )
}

pub fn verify(secret: &str, header: &str, payload: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => {
                timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", sig)) => candidates.extend(marquee_core::secret::unhex(sig)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let key = key(secret);
    let message = signed_payload(timestamp, payload);
    // hmac::verify compares in constant time.
    if candidates
        .iter()
        .any(|sig| hmac::verify(&key, &message, sig).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;

    #[test]
    fn a_signature_made_now_verifies_and_any_v1_may_match() {
        let good = header(SECRET, 1_000, BODY);
        assert_eq!(verify(SECRET, &good, BODY, 1_000), Ok(()));
        let other = header("whsec_old", 1_000, BODY);
        let v1_other = other.split(',').nth(1).unwrap();
        let v1_good = good.split(',').nth(1).unwrap();
        // The matching signature last, then first: Stripe's own verifier kept only one.
        let both = format!("t=1000,{v1_other},{v1_good}");
        assert_eq!(verify(SECRET, &both, BODY, 1_100), Ok(()));
        let both = format!("t=1000,{v1_good},{v1_other}");
        assert_eq!(verify(SECRET, &both, BODY, 1_100), Ok(()));
    }

    #[test]
    fn tampered_stale_wrong_secret_and_malformed_are_refused() {
        let good = header(SECRET, 1_000, BODY);
        assert_eq!(
            verify(SECRET, &good, b"{\"id\":\"evt_2\"}", 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_other", &good, BODY, 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &good, BODY, 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(SECRET, &good, BODY, 699), Err(SignatureError::Stale));
        assert_eq!(verify(SECRET, &good, BODY, 1_300), Ok(()));
        // Same timestamp, signature for another moment: the timestamp is signed too.
        let moved = good.replacen("t=1000", "t=1001", 1);
        assert_eq!(
            verify(SECRET, &moved, BODY, 1_000),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "t=1000", "v1=abcd", "t=soon,v1=00", "t=1000,v1=zz"] {
            assert_eq!(
                verify(SECRET, bad, BODY, 1_000),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
