//! Emails whose sending must not reveal whether an account exists: the route only queues a
//! job (the same work for every address), and the mail worker looks the account up and
//! sends. A failed send is retried by the queue, and repeat failures land in its
//! dead-letter queue.

use crate::app::App;
use crate::http::problem::Problem;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum MailJob {
    /// A new activation link, if the account exists and is still inactive.
    ResendActivation { email: String },
    /// A password reset link, if the account exists and is active.
    PasswordReset { email: String },
}

pub async fn enqueue(app: &App, job: &MailJob) -> Result<(), Problem> {
    let body = serde_json::to_string(job).map_err(|_| Problem::internal())?;
    app.mail_queue.send_batch(&[body]).await.map_err(|e| {
        tracing::error!(error = %e, "queueing a mail job failed");
        Problem::unavailable().because_of(crate::http::problem::Dependency::MailQueue)
    })
}

/// Runs each job; returns the positions of those to retry (a malformed one is dropped).
pub async fn handle_batch(app: &App, bodies: &[String]) -> Vec<usize> {
    let mut failed = Vec::new();
    for (position, body) in bodies.iter().enumerate() {
        let Ok(job) = serde_json::from_str::<MailJob>(body) else {
            tracing::warn!(body = %body, "dropping a malformed mail job");
            continue;
        };
        let outcome = match &job {
            MailJob::ResendActivation { email } => {
                crate::accounts::signup::send_activation_again(app, email).await
            }
            MailJob::PasswordReset { email } => {
                crate::auth::recovery::send_reset_link(app, email).await
            }
        };
        if let Err(e) = outcome {
            tracing::error!(error = %e, job = ?job, "mail job failed; it will be retried");
            failed.push(position);
        }
    }
    failed
}
