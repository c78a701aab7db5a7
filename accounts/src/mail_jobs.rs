//! Every email goes out through the mail worker, so none is lost when the mail service
//! fails: the worker's failures are retried by the queue, and repeat failures land in its
//! dead-letter queue.
//!
//! An email a change causes is *owed*: an item written in the same transaction as the
//! change (or right after it, where the change is a single write), holding the job. A queue
//! message then runs it at once; should that message be lost, the item is on the EXPIRY
//! index, due two minutes later, and the expiry sweep queues it again. The worker leases
//! the item, runs the job, and deletes the item, so concurrent runs send once. No secret is
//! ever in a job: an activation or reset link is made by the worker when it sends.
//!
//! Routes whose answer must not reveal whether an account exists (resend, forgot) queue a
//! job directly: the same work for every address, the lookup in the worker.

use crate::notifications::{self, Template};
use marquee_core::app::App;
use marquee_core::expiry;
use marquee_core::http::problem::{Dependency, Problem};
use marquee_core::store::{Condition, Key, StoreError, Update, Write, entity_item, lease};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum MailJob {
    /// A sign-up's activation link (it keeps the password chosen at sign-up), if the
    /// account is still unproved.
    ActivateSignup { user_id: String },
    /// A new activation link that asks for a new password, if the account exists and is
    /// still unproved (a turned-off account is told why no link comes).
    ResendActivation { email: String },
    /// A sign-up with an address that has a proved account: its owner is told.
    SignupAttempt { email: String },
    /// A password reset link, if the account exists and is active.
    PasswordReset { email: String },
    /// An email rendered from `template` for `to`.
    Notice {
        template: String,
        to: String,
        context: Value,
    },
    /// The job owed in item `OWED_MAIL#<id>`.
    Owed { id: String },
}

/// How long after a change an owed email counts as lost in the queue: then the sweep
/// queues it again.
pub const RESCUE_AFTER_SECS: i64 = 120;
/// How long one run may take before another may try.
const LEASE_SECS: i64 = 60;

fn owed_key(id: &str) -> Key {
    Key::new(format!("OWED_MAIL#{id}"), "OWED_MAIL")
}

/// Whether an expiring item is an owed email (the sweep queues it instead of dropping it).
pub fn is_owed(key: &Key) -> bool {
    key.pk.starts_with("OWED_MAIL#")
}

/// An email owed by a change: the write to commit with it, and the message that runs it.
pub struct Owed {
    pub write: Write,
    id: String,
}

impl MailJob {
    pub fn notice(template: Template, to: &str, context: Value) -> Self {
        Self::Notice {
            template: template.name().to_string(),
            to: to.to_string(),
            context,
        }
    }

    /// Owes this job: commit `write` with the change, then [`send_owed`].
    pub fn owe(&self, now: i64) -> Owed {
        let id = ulid::Ulid::new().to_string();
        let mut item = entity_item(
            "owed_mail",
            &owed_key(&id),
            &serde_json::json!({ "job": self }),
        );
        expiry::stamp(&mut item, now + RESCUE_AFTER_SECS);
        Owed {
            write: Write::put(item).when(Condition::NotExists),
            id,
        }
    }
}

/// Queues the owed emails whose writes committed. A queue failure is only logged: the
/// sweep queues them again later.
pub async fn send_owed(app: &App, owed: impl IntoIterator<Item = Owed>) {
    let bodies: Vec<String> = owed
        .into_iter()
        .filter_map(|o| serde_json::to_string(&MailJob::Owed { id: o.id }).ok())
        .collect();
    if bodies.is_empty() {
        return;
    }
    if let Err(e) = app.mail_queue.send_batch(&bodies).await {
        tracing::warn!(error = %e, "queueing owed emails failed; the sweep will queue them");
    }
}

/// Owes `job` on its own (after a change that was one write) and queues it.
pub async fn owe_now(app: &App, job: MailJob) {
    let owed = job.owe(app.clock.now().unix_timestamp());
    match app.table.write(owed.write.clone()).await {
        Ok(_) => send_owed(app, [owed]).await,
        Err(e) => {
            tracing::error!(error = %e, job = ?job, "owing an email failed; queueing it directly");
            if let Err(problem) = enqueue(app, &job).await {
                tracing::error!(error = %problem, job = ?job, "an email is lost");
            }
        }
    }
}

/// The sweep found an owed email due: queue it again and give it more time.
pub async fn rescue(app: &App, key: &Key) -> Result<(), StoreError> {
    let Some(id) = key.pk.strip_prefix("OWED_MAIL#") else {
        return Ok(());
    };
    let now = app.clock.now().unix_timestamp();
    let mut later = Update::new();
    for (attr, value) in expiry::attributes(&key.pk, now + RESCUE_AFTER_SECS) {
        later = later.set(attr, value);
    }
    app.table
        .write(Write::update(key.clone(), later).when(Condition::Exists))
        .await?;
    let body = serde_json::to_string(&MailJob::Owed { id: id.to_string() })
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    app.mail_queue
        .send_batch(&[body])
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// Runs an owed job once: leased, run, then deleted; a failure releases it for a retry.
async fn run_owed(app: &App, id: &str) -> Result<(), String> {
    let key = owed_key(id);
    let Some(item) = app.table.get(&key).await.map_err(|e| e.to_string())? else {
        return Ok(()); // already sent
    };
    let now = app.clock.now().unix_timestamp();
    match app.table.write(lease(key.clone(), now, LEASE_SECS)).await {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => return Ok(()), // another run has it
        Err(e) => return Err(e.to_string()),
    }
    let job = item
        .get("job")
        .cloned()
        .and_then(|job| serde_json::from_value::<MailJob>(job).ok());
    let outcome = match &job {
        Some(MailJob::Owed { .. }) | None => {
            tracing::error!(id, "dropping an owed email whose job cannot be read");
            Ok(())
        }
        Some(job) => run(app, job).await,
    };
    match outcome {
        Ok(()) => app
            .table
            .write(Write::delete(key))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => {
            let _ = app
                .table
                .write(Write::update(key, Update::new().remove("lease_until")))
                .await;
            Err(e)
        }
    }
}

async fn run(app: &App, job: &MailJob) -> Result<(), String> {
    match job {
        MailJob::ActivateSignup { user_id } => {
            crate::accounts::signup::send_signup_activation(app, user_id).await
        }
        MailJob::ResendActivation { email } => {
            crate::accounts::signup::send_activation_again(app, email).await
        }
        MailJob::SignupAttempt { email } => {
            crate::accounts::signup::notify_signup_attempt(app, email).await
        }
        MailJob::PasswordReset { email } => {
            crate::auth::recovery::send_reset_link(app, email).await
        }
        MailJob::Notice {
            template,
            to,
            context,
        } => match Template::from_name(template) {
            Some(template) => notifications::send(app, template, to, context).await,
            None => {
                tracing::error!(template, "dropping an email with an unknown template");
                Ok(())
            }
        },
        MailJob::Owed { id } => Box::pin(run_owed(app, id)).await,
    }
}

pub async fn enqueue(app: &App, job: &MailJob) -> Result<(), Problem> {
    let body = serde_json::to_string(job).map_err(|_| Problem::internal())?;
    app.mail_queue.send_batch(&[body]).await.map_err(|e| {
        tracing::error!(error = %e, "queueing a mail job failed");
        Problem::unavailable().because_of(Dependency::MailQueue)
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
        let outcome = run(app, &job).await;
        if let Err(e) = outcome {
            tracing::error!(error = %e, job = ?job, "mail job failed; it will be retried");
            failed.push(position);
        }
    }
    failed
}
