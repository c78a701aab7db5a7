//! `marquee-keys DIR`: makes (or reuses) the Ed25519 key pair that signs access tokens in
//! DIR, writes its public half beside it and prints it; also makes (or reuses) the data
//! key that seals TOTP seeds. For a deployment: `JwtPrivateKey` is `DIR/jwt-ed25519.pem`,
//! `JwtPublicKey` is `DIR/jwt-ed25519.pub.pem`, `MfaDataKey` is `DIR/mfa-data-key`.

use marquee::auth::keys::SigningKeys;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: marquee-keys DIR");
        return ExitCode::FAILURE;
    };
    let keys = match SigningKeys::load_or_create(&dir) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("marquee-keys: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = marquee::auth::data_key::DataKey::load_or_create(&dir) {
        eprintln!("marquee-keys: {e}");
        return ExitCode::FAILURE;
    }
    let public = keys.public_pem();
    if let Err(e) = std::fs::write(dir.join("jwt-ed25519.pub.pem"), &public) {
        eprintln!("marquee-keys: {e}");
        return ExitCode::FAILURE;
    }
    print!("{public}");
    ExitCode::SUCCESS
}
