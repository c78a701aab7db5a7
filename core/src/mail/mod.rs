//! The `Mailer` port: SES v2 in AWS, a local outbox folder otherwise.

mod outbox;
mod ses;

pub use outbox::OutboxMailer;
pub use ses::SesMailer;

use async_trait::async_trait;

/// A rendered message, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
#[error("sending mail failed: {0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

/// The first http(s) link in a text, for the local log line.
pub fn first_link(text: &str) -> Option<&str> {
    let start = text.find("https://").or_else(|| text.find("http://"))?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::first_link;

    #[test]
    fn finds_the_first_link() {
        assert_eq!(
            first_link("Open http://127.0.0.1:3000/activate?token=abc now."),
            Some("http://127.0.0.1:3000/activate?token=abc")
        );
        assert_eq!(first_link("no link here"), None);
    }
}
