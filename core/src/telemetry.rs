//! Logs as JSON lines: the level, the time, the message and its fields at the top, and the
//! span they were written in (`span`): for a request, its id, method, path and route, the
//! function and version serving it, whether it started cold, Lambda's request id, the
//! X-Ray trace id, and the caller's user id once known. Never a secret or a token: handlers
//! log ids, not credentials.

use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber once; later calls are ignored (tests call it freely).
/// `filter` is a level, or comma-separated `target=level` directives (`info,marquee=debug`);
/// anything else logs at `info`. A per-target filter, not `EnvFilter`, whose span and field
/// matching needs the regex engine in every function.
pub fn init(filter: &str) {
    let _ = install(filter, std::io::stdout);
}

/// Installs the global subscriber writing to `writer` (tests read the lines back), and
/// the metrics' EMF lines to the same writer; an error when one is installed already.
pub fn install<W>(filter: &str, writer: W) -> Result<(), tracing_subscriber::util::TryInitError>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    crate::metrics::install(writer.clone());
    let filter: Targets = filter
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .with_filter(filter);
    tracing_subscriber::registry().with(json).try_init()
}

/// What the platform tells a function about one invocation (set by the Lambda glue as a
/// request extension, or passed to a job's span).
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Lambda's id of the invocation (not the HTTP request id).
    pub aws_request_id: String,
    /// The X-Ray trace header's root, e.g. `1-5759e988-bd862e3fe1be46a994272793`.
    pub trace_id: Option<String>,
    /// Whether this is the first invocation of the process.
    pub cold_start: bool,
}

static WARM: AtomicBool = AtomicBool::new(false);

impl Invocation {
    /// An invocation by its Lambda request id and X-Ray header (`Root=...;Parent=...`):
    /// the first one of the process is the cold start.
    pub fn new(aws_request_id: String, xray_header: Option<&str>) -> Self {
        Self {
            aws_request_id,
            trace_id: xray_header.and_then(trace_root),
            cold_start: !WARM.swap(true, Ordering::Relaxed),
        }
    }
}

/// The trace id in an X-Ray trace header (`Root=1-...;Parent=...;Sampled=1`).
pub fn trace_root(header: &str) -> Option<String> {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
        .map(str::to_string)
}

/// The function serving (Lambda's name and version, or `marquee-local` on a workstation).
pub fn function() -> (&'static str, &'static str) {
    static FUNCTION: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (name, version) = FUNCTION.get_or_init(|| {
        (
            std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "marquee-local".into()),
            std::env::var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|_| "-".into()),
        )
    });
    (name, version)
}

/// The span of one background run (a sweep or a queue batch).
pub fn job_span(invocation: &Invocation) -> tracing::Span {
    let (function, version) = function();
    tracing::info_span!(
        "job",
        function,
        version,
        cold_start = invocation.cold_start,
        aws_request_id = %invocation.aws_request_id,
        trace_id = invocation.trace_id.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::filter::Targets;

    #[test]
    fn the_trace_id_is_the_header_s_root_and_only_the_first_invocation_is_cold() {
        assert_eq!(
            trace_root(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            )
            .as_deref(),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(trace_root("Parent=1"), None);
        let first = Invocation::new("a".into(), None);
        let second = Invocation::new("b".into(), None);
        assert!(first.cold_start);
        assert!(!second.cold_start);
    }

    #[test]
    fn filters_read_levels_and_targets() {
        let filter: Targets = "warn,marquee_core=debug".parse().unwrap();
        assert!(filter.would_enable("marquee_core::store", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime", &tracing::Level::INFO));
        assert!(filter.would_enable("aws_smithy_runtime", &tracing::Level::WARN));
    }
}
