//! What each function actually does in AWS, recorded so that a test can hold its IAM policy
//! to it: a grant it never uses fails the check, and so does a use it lacks a grant for.
//!
//! Recording is off unless `MARQUEE_USAGE_LOG` names a file. Then every app that serves
//! routes ([`observe`]) reports each call it makes through its table, mailer and queues as
//! the IAM action the AWS adapter performs for it, under the name of the function running
//! ([`as_function`]), and each new pair is appended to that file as `function action`.
//! Every process of a test run may append to the same file.

use crate::app::App;
use crate::mail::{Email, MailError, Mailer};
use crate::queue::{Queue, QueueError};
use crate::store::{Item, Key, Page, Query, StoreError, Table, Write, Written};
use async_trait::async_trait;
use std::collections::HashSet;
use std::future::Future;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

/// What a query on one of the table's indexes is recorded as: IAM grants it on the index's
/// ARN, apart from queries on the table itself (`dynamodb:Query`).
pub const QUERY_ON_INDEX: &str = "dynamodb:Query@index";

/// The environment variable that turns recording on: the file to append to.
pub const LOG_VARIABLE: &str = "MARQUEE_USAGE_LOG";

tokio::task_local! {
    static FUNCTION: &'static str;
}

struct Recorder {
    path: std::path::PathBuf,
    seen: Mutex<HashSet<(&'static str, &'static str)>>,
}

fn recorder() -> Option<&'static Recorder> {
    static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let path = std::env::var_os(LOG_VARIABLE).filter(|p| !p.is_empty())?;
            Some(Recorder {
                path: path.into(),
                seen: Mutex::default(),
            })
        })
        .as_ref()
}

/// Whether this process records what its functions do.
pub fn recording() -> bool {
    recorder().is_some()
}

/// Runs `work` as the function `name`: what it does is recorded under that name.
pub async fn as_function<F: Future>(name: &'static str, work: F) -> F::Output {
    FUNCTION.scope(name, work).await
}

/// The pseudo-action a route's successful answer is recorded as, per backend: the log then
/// also shows which routes were seen to succeed on each (see [`answered`]).
pub const ANSWERED_EMBEDDED: &str = "answered:embedded";
pub const ANSWERED_AWS: &str = "answered:aws";

/// Records that the route running answered `status` on `backend`, when that is a success
/// (2xx, or a redirect a route is made to answer): a check then holds every route of the
/// table to at least one success on each backend, so a route no test reaches fails the
/// run instead of silently keeping grants nobody checked.
pub fn answered(backend: &crate::config::Backend, status: axum::http::StatusCode) {
    if status.is_success() || status.is_redirection() {
        note(match backend {
            crate::config::Backend::Embedded => ANSWERED_EMBEDDED,
            crate::config::Backend::Aws => ANSWERED_AWS,
        });
    }
}

/// Records `action` (an IAM action, e.g. `s3:GetObject`) for the function running: for
/// adapters that features hold themselves (the media store).
pub fn record(action: &'static str) {
    note(action);
}

/// Records `action` for the function running, if any (setup work outside a function is
/// not recorded).
fn note(action: &'static str) {
    let Some(recorder) = recorder() else { return };
    let Ok(function) = FUNCTION.try_with(|name| *name) else {
        return;
    };
    let mut seen = recorder.seen.lock().unwrap_or_else(|p| p.into_inner());
    if !seen.insert((function, action)) {
        return;
    }
    // One short append per line: lines from several processes do not interleave.
    let line = format!("{function} {action}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&recorder.path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(error) = written {
        // A record lost would make the check fail on a grant that is in fact used.
        panic!(
            "{LOG_VARIABLE}: cannot append to {:?}: {error}",
            recorder.path
        );
    }
}

/// `app` with its table, mailer and queues reporting what they do, when recording is on;
/// otherwise `app` as it is.
pub fn observe(app: App) -> App {
    if !recording() {
        return app;
    }
    let mut app = app;
    app.table = Arc::new(ObservedTable(app.table));
    app.mailer = Arc::new(ObservedMailer(app.mailer));
    app.expiry_queue = Arc::new(ObservedQueue {
        inner: app.expiry_queue,
        action: "sqs:SendMessage@ExpiryQueue",
    });
    app.mail_queue = Arc::new(ObservedQueue {
        inner: app.mail_queue,
        action: "sqs:SendMessage@MailQueue",
    });
    app
}

/// The IAM action DynamoDB authorises a write under, alone or in a transaction.
fn write_action(write: &Write) -> &'static str {
    match write {
        Write::Put { .. } => "dynamodb:PutItem",
        Write::Update { .. } => "dynamodb:UpdateItem",
        Write::Delete { .. } => "dynamodb:DeleteItem",
        Write::Check { .. } => "dynamodb:ConditionCheckItem",
    }
}

struct ObservedTable(Arc<dyn Table>);

#[async_trait]
impl Table for ObservedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        note("dynamodb:GetItem");
        self.0.get(key).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        // The adapter makes no call for no keys.
        if !keys.is_empty() {
            note("dynamodb:BatchGetItem");
        }
        self.0.batch_get(keys).await
    }

    async fn get_eventual(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        note("dynamodb:GetItem");
        self.0.get_eventual(key).await
    }

    async fn batch_get_eventual(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        if !keys.is_empty() {
            note("dynamodb:BatchGetItem");
        }
        self.0.batch_get_eventual(keys).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        note(match query.index {
            None => "dynamodb:Query",
            Some(_) => QUERY_ON_INDEX,
        });
        self.0.query(query).await
    }

    fn changes(&self) -> Option<crate::store::ChangeFeed> {
        self.0.changes()
    }

    fn commits(&self) -> Option<u64> {
        self.0.commits()
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        note(write_action(&write));
        self.0.write(write).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        // TransactWriteItems has no action of its own: each write is authorised as itself.
        for write in &writes {
            note(write_action(write));
        }
        self.0.transact(writes).await
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if !writes.is_empty() {
            note("dynamodb:BatchWriteItem");
        }
        self.0.batch_write(writes).await
    }
}

struct ObservedMailer(Arc<dyn Mailer>);

#[async_trait]
impl Mailer for ObservedMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        note("ses:SendEmail");
        self.0.send(email).await
    }
}

struct ObservedQueue {
    inner: Arc<dyn Queue>,
    /// SendMessageBatch is authorised as `sqs:SendMessage`, on the queue it sends to.
    action: &'static str,
}

#[async_trait]
impl Queue for ObservedQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<(), QueueError> {
        if !bodies.is_empty() {
            note(self.action);
        }
        self.inner.send_batch(bodies).await
    }
}
