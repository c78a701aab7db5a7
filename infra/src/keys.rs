//! `marquee-keys DIR`: makes (or reuses) the Ed25519 key pair that signs access tokens in
//! DIR, writes its public half beside it and prints it; also makes (or reuses) the data
//! key that seals TOTP seeds, and the ECDSA P-256 pair that signs CloudFront feature URLs.
//! For a deployment: `JwtPrivateKey` is `DIR/jwt-ed25519.pem`, `JwtPublicKey` is
//! `DIR/jwt-ed25519.pub.pem`, `MfaDataKey` is `DIR/mfa-data-key`, `MediaPrivateKey` is
//! `DIR/media-cdn.pem` and `MediaPublicKey` is `DIR/media-cdn.pub.pem`.

use marquee::keys::SigningKeys;
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
    if let Err(e) = marquee::data_key::DataKey::load_or_create(&dir) {
        eprintln!("marquee-keys: {e}");
        return ExitCode::FAILURE;
    }
    let media = dir.join("media-cdn.pem");
    if !media.exists() {
        let (private, public) = marquee::watching::signing::new_cdn_key_pair();
        let written = write_private(&media, &private)
            .and_then(|()| std::fs::write(dir.join("media-cdn.pub.pem"), public));
        if let Err(e) = written {
            eprintln!("marquee-keys: {e}");
            return ExitCode::FAILURE;
        }
    }
    let public = keys.public_pem();
    if let Err(e) = std::fs::write(dir.join("jwt-ed25519.pub.pem"), &public) {
        eprintln!("marquee-keys: {e}");
        return ExitCode::FAILURE;
    }
    print!("{public}");
    ExitCode::SUCCESS
}

/// A file only its owner reads.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}
