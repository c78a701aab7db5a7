//! Emails, rendered from templates (text and HTML) compiled into the binary.

use marquee_core::mail::Email;
use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;

/// A kind of email; each has `<name>.subject.txt`, `<name>.txt` and `<name>.html`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    AccountActivation,
    PasswordReset,
    PasswordChanged,
    CommentReply,
    MovieWithdrawn,
    OrderReceipt,
    OrderRefunded,
    /// A change to how the account signs in (two-step sign-in, recovery codes).
    SecurityNotice,
}

impl Template {
    const ALL: [Self; 8] = [
        Self::AccountActivation,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::CommentReply,
        Self::MovieWithdrawn,
        Self::OrderReceipt,
        Self::OrderRefunded,
        Self::SecurityNotice,
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::AccountActivation => "account_activation",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::CommentReply => "comment_reply",
            Self::MovieWithdrawn => "movie_withdrawn",
            Self::OrderReceipt => "order_receipt",
            Self::OrderRefunded => "order_refunded",
            Self::SecurityNotice => "security_notice",
        }
    }
}

macro_rules! templates {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("templates/", $file)))),*]
    };
}

const SOURCES: &[(&str, &str)] = templates![
    "layout.html",
    "account_activation.subject.txt",
    "account_activation.txt",
    "account_activation.html",
    "password_reset.subject.txt",
    "password_reset.txt",
    "password_reset.html",
    "password_changed.subject.txt",
    "password_changed.txt",
    "password_changed.html",
    "comment_reply.subject.txt",
    "comment_reply.txt",
    "comment_reply.html",
    "movie_withdrawn.subject.txt",
    "movie_withdrawn.txt",
    "movie_withdrawn.html",
    "order_receipt.subject.txt",
    "order_receipt.txt",
    "order_receipt.html",
    "order_refunded.subject.txt",
    "order_refunded.txt",
    "order_refunded.html",
    "security_notice.subject.txt",
    "security_notice.txt",
    "security_notice.html",
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in SOURCES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("email template {name} does not parse: {e}"));
        }
        env
    })
}

#[derive(Debug, thiserror::Error)]
#[error("rendering email {template}: {source}")]
pub struct RenderError {
    template: &'static str,
    source: minijinja::Error,
}

/// Renders one email for `to`. HTML escapes every value; text does not.
pub fn render(template: Template, to: &str, context: impl Serialize) -> Result<Email, RenderError> {
    let env = environment();
    let name = template.name();
    let ctx = minijinja::Value::from(minijinja::value::Serde(context));
    let part = |suffix: &str| {
        env.get_template(&format!("{name}.{suffix}"))
            .and_then(|t| t.render(&ctx))
            .map_err(|source| RenderError {
                template: name,
                source,
            })
    };
    Ok(Email {
        to: to.to_string(),
        subject: part("subject.txt")?.trim().to_string(),
        text: part("txt")?,
        html: part("html")?,
    })
}

/// Renders and sends; a failure is logged and reported, never swallowed silently.
pub async fn send(
    app: &marquee_core::App,
    template: Template,
    to: &str,
    context: impl Serialize,
) -> Result<(), String> {
    use marquee_core::metrics::{Metric, count};
    let email = render(template, to, context).map_err(|e| {
        count(Metric::EmailsFailed);
        e.to_string()
    })?;
    match app.mailer.send(&email).await {
        Ok(()) => {
            count(Metric::EmailsSent);
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, template = ?template, "email not sent");
            count(Metric::EmailsFailed);
            Err(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn activation_email_has_the_link_in_both_parts_and_escapes_html() {
        let link = "http://127.0.0.1:3000/activate?token=a&b";
        let email = render(
            Template::AccountActivation,
            "v@example.com",
            json!({"link": link, "email": "<v>@example.com", "valid_hours": 24}),
        )
        .unwrap();
        assert_eq!(email.subject, "Activate your Marquee account");
        assert!(email.text.contains(link));
        assert!(email.text.contains("24 hours"));
        assert!(email.html.contains("token=a&amp;b"));
        assert!(email.html.contains("&lt;v&gt;@example.com"));
        assert!(email.html.starts_with("<!doctype html>"));
    }

    #[test]
    fn every_template_parses() {
        for (name, _) in SOURCES {
            environment().get_template(name).unwrap();
        }
    }
}
