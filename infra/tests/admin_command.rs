//! `marquee-admin`: creates the first admin, or promotes an existing account.

use std::process::Command;

fn run(data: &std::path::Path, email: &str, password: Option<&str>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_marquee-admin"));
    command
        .arg(email)
        .env("MARQUEE_DATA_DIR", data)
        .env_remove("MARQUEE_BACKEND")
        .env_remove("MARQUEE_ADMIN_PASSWORD");
    if let Some(password) = password {
        command.env("MARQUEE_ADMIN_PASSWORD", password);
    }
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn creates_then_recognises_an_admin_and_refuses_weak_passwords() {
    let data = tempfile::tempdir().unwrap();
    let (ok, text) = run(data.path(), "boss@example.com", None);
    assert!(ok, "{text}");
    assert!(text.starts_with("created admin boss@example.com"), "{text}");
    assert!(
        text.contains("with password "),
        "a generated password is printed: {text}"
    );

    let (ok, text) = run(data.path(), "BOSS@example.com", None);
    assert!(ok && text.contains("already is an active admin"), "{text}");

    let (ok, text) = run(data.path(), "second@example.com", Some("password"));
    assert!(!ok, "a weak password is refused: {text}");
    assert!(text.contains("password"), "{text}");

    let (ok, text) = run(
        data.path(),
        "second@example.com",
        Some("Copper-Meadow-Harbor-77"),
    );
    assert!(
        ok && text.starts_with("created admin second@example.com"),
        "{text}"
    );
    assert!(
        !text.contains("Copper-Meadow"),
        "a given password is never echoed"
    );
}
