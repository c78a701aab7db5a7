//! Business and safety metrics, as CloudWatch Embedded Metric Format lines (metrique's EMF
//! format) on standard output, next to the logs: CloudWatch turns each line into a data
//! point, with no call to make. One namespace, no dimensions (per route requests, errors
//! and latency come from API Gateway and Lambda); each line counts one event, written as
//! it happens, before the invocation ends.

use metrique::emf::Emf;
use metrique::flex::Flex;
use metrique::unit_of_work::metrics;
use metrique::writer::sink::{AttachHandle, global_entry_sink};
use metrique::writer::{AttachGlobalEntrySinkExt, FormatExt, GlobalEntrySink};
use std::sync::OnceLock;
use std::time::SystemTime;

global_entry_sink! {
    /// Where every point goes: nowhere until [`install`] attaches the output.
    Points
}

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Marquee";

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// An account was made (by sign-up).
    SignUps,
    /// A session was opened (a password, a second step, or a provider).
    SignIns,
    /// A wrong password at sign-in, or a sign-in to an unknown email.
    SignInFailures,
    /// A wrong authenticator or recovery code.
    MfaFailures,
    OrdersPlaced,
    /// A checkout page was opened for an order.
    CheckoutsStarted,
    /// A Stripe event whose signature did not verify.
    WebhookSignatureFailures,
    /// A paid session settled its order.
    PaymentsSettled,
    /// A paid session that did not match its order: refunded in full.
    PaymentsRejected,
    /// An order was refunded.
    Refunds,
    EmailsSent,
    EmailsFailed,
    /// A stream slot taken to play a feature.
    PlaybackGrants,
    /// Movies found waiting for the index by a sweep.
    IndexBacklog,
    /// How long a movie's index was behind its record when a projection caught up
    /// (seconds since the first change it had not projected).
    ProjectionLagSeconds,
}

impl Metric {
    pub const ALL: [Metric; 15] = [
        Self::SignUps,
        Self::SignIns,
        Self::SignInFailures,
        Self::MfaFailures,
        Self::OrdersPlaced,
        Self::CheckoutsStarted,
        Self::WebhookSignatureFailures,
        Self::PaymentsSettled,
        Self::PaymentsRejected,
        Self::Refunds,
        Self::EmailsSent,
        Self::EmailsFailed,
        Self::PlaybackGrants,
        Self::IndexBacklog,
        Self::ProjectionLagSeconds,
    ];

    /// Its name in CloudWatch.
    pub const fn name(self) -> &'static str {
        match self {
            Self::SignUps => "SignUps",
            Self::SignIns => "SignIns",
            Self::SignInFailures => "SignInFailures",
            Self::MfaFailures => "MfaFailures",
            Self::OrdersPlaced => "OrdersPlaced",
            Self::CheckoutsStarted => "CheckoutsStarted",
            Self::WebhookSignatureFailures => "WebhookSignatureFailures",
            Self::PaymentsSettled => "PaymentsSettled",
            Self::PaymentsRejected => "PaymentsRejected",
            Self::Refunds => "Refunds",
            Self::EmailsSent => "EmailsSent",
            Self::EmailsFailed => "EmailsFailed",
            Self::PlaybackGrants => "PlaybackGrants",
            Self::IndexBacklog => "IndexBacklog",
            Self::ProjectionLagSeconds => "ProjectionLagSeconds",
        }
    }
}

/// One data point.
#[metrics(rename_all = "PascalCase")]
struct Point {
    #[metrics(timestamp)]
    timestamp: SystemTime,
    #[metrics(flatten)]
    value: Flex<u64>,
}

/// Counts one event.
pub fn count(metric: Metric) {
    record(metric, 1);
}

/// The output, once [`install`]ed.
static ATTACHED: OnceLock<AttachHandle> = OnceLock::new();

/// Records `value` for `metric` (nothing is written before [`install`]: tools and tests
/// that install no output count nothing).
pub fn record(metric: Metric, value: u64) {
    if ATTACHED.get().is_none() {
        return;
    }
    let point = Point {
        timestamp: SystemTime::now(),
        value: Flex::new(metric.name()).with_value(value),
    };
    // Written (and flushed) as the guard drops, here.
    drop(point.append_on_drop(Points::sink()));
}

/// Sends every point, as an EMF line, to `writer`, flushed as it is written (a Lambda
/// sandbox may freeze as soon as an invocation answers). Once per process; later calls
/// are ignored.
pub fn install<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    ATTACHED.get_or_init(|| {
        Points::write_directly_to(
            Emf::builder(NAMESPACE.to_string(), vec![vec![]])
                .build()
                .output_to_makewriter(writer),
        )
    });
}
