//! Logs as JSON lines, each carrying the request id of the span it was written in.

use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber once; later calls are ignored (tests call it freely).
/// `filter` is a level, or comma-separated `target=level` directives (`info,marquee=debug`);
/// anything else logs at `info`. A per-target filter, not `EnvFilter`, whose span and field
/// matching needs the regex engine in every function.
pub fn init(filter: &str) {
    let filter: Targets = filter
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(json).try_init();
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::filter::Targets;

    #[test]
    fn filters_read_levels_and_targets() {
        let filter: Targets = "warn,marquee_core=debug".parse().unwrap();
        assert!(filter.would_enable("marquee_core::store", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime", &tracing::Level::INFO));
        assert!(filter.would_enable("aws_smithy_runtime", &tracing::Level::WARN));
    }
}
