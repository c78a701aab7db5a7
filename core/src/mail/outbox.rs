use super::{Email, MailError, Mailer, first_link};
use async_trait::async_trait;
use std::path::PathBuf;

/// Writes each message to a folder (`<ulid>.txt` and `<ulid>.html`) and logs a line with
/// its first link, so a developer can follow activation and reset links offline.
pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf, from: impl Into<String>) -> Self {
        Self {
            dir,
            from: from.into(),
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let id = ulid::Ulid::new().to_string();
        let text = format!(
            "From: {}\nTo: {}\nSubject: {}\n\n{}",
            self.from, email.to, email.subject, email.text
        );
        let dir = self.dir.clone();
        let html = email.html.clone();
        let name = id.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join(format!("{name}.html")), html)?;
            // The .txt lands last: a reader that sees it sees the whole message.
            std::fs::write(dir.join(format!("{name}.txt")), text)
        })
        .await
        .map_err(|e| MailError(e.to_string()))?
        .map_err(|e| MailError(e.to_string()))?;
        tracing::info!(
            to = %email.to,
            subject = %email.subject,
            link = first_link(&email.text).unwrap_or("-"),
            file = %self.dir.join(format!("{id}.txt")).display(),
            "email written to the local outbox"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_text_and_html_files() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path().join("outbox"), "Marquee <no-reply@m.test>");
        let email = Email {
            to: "viewer@example.com".into(),
            subject: "Hello".into(),
            text: "Go to http://x.test/a".into(),
            html: "<p>Go</p>".into(),
        };
        mailer.send(&email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(mailer.dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 2);
        let txt = files
            .iter()
            .find(|p| p.extension().unwrap() == "txt")
            .unwrap();
        let content = std::fs::read_to_string(txt).unwrap();
        assert!(content.contains("To: viewer@example.com"));
        assert!(content.contains("Subject: Hello"));
        assert!(content.ends_with("Go to http://x.test/a"));
    }
}
