//! Log levels: how `LOG_LEVEL` / `RUST_LOG` are read and how a tracing level is written on the
//! wire (`debug`, `info`, `warn`, `error`: the four levels `tm` knows).

use tracing::Level;
use tracing_subscriber::filter::LevelFilter;

/// The level name `tm` expects in `<peer>_log` entries for a tracing level; `TRACE`, which the
/// protocol lacks, is sent as `debug`.
///
/// ```
/// assert_eq!(the_mule::wire_level(tracing::Level::TRACE), "debug");
/// assert_eq!(the_mule::wire_level(tracing::Level::WARN), "warn");
/// ```
pub fn wire_level(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG | Level::TRACE => "debug",
    }
}

/// Parses a `LOG_LEVEL` value, case-insensitively: `error`, `warn`, `warning`, `info`, `debug`,
/// `trace`, and Python's `critical` / `fatal` (as `error`), so that one configuration serves
/// peers in every language. Only the first comma-separated directive counts
/// (`info,my_crate=debug` is `info`). Returns `None` for anything else.
///
/// ```
/// use tracing_subscriber::filter::LevelFilter;
/// assert_eq!(the_mule::parse_log_level("WARNING"), Some(LevelFilter::WARN));
/// assert_eq!(the_mule::parse_log_level("loud"), None);
/// ```
pub fn parse_log_level(value: &str) -> Option<LevelFilter> {
    let first = value.split(',').next().unwrap_or_default().trim();
    match first.to_ascii_lowercase().as_str() {
        "error" | "critical" | "fatal" => Some(LevelFilter::ERROR),
        "warn" | "warning" => Some(LevelFilter::WARN),
        "info" => Some(LevelFilter::INFO),
        "debug" => Some(LevelFilter::DEBUG),
        "trace" => Some(LevelFilter::TRACE),
        _ => None,
    }
}

/// The level a `RUST_LOG` value sets for everything: its first directive without a target
/// (`warn,hyper=debug` is `warn`; `off` is accepted, as tracing does). `None` when it names no
/// such level, so per-crate directives alone leave the default in force.
pub(crate) fn rust_log_level(value: &str) -> Option<LevelFilter> {
    let directive = value
        .split(',')
        .map(str::trim)
        .find(|d| !d.is_empty() && !d.contains('='))?;
    if directive.eq_ignore_ascii_case("off") {
        return Some(LevelFilter::OFF);
    }
    parse_log_level(directive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_log_level_accepts_every_spelling_of_the_contract() {
        let table = [
            ("error", LevelFilter::ERROR),
            ("CRITICAL", LevelFilter::ERROR),
            ("fatal", LevelFilter::ERROR),
            ("warn", LevelFilter::WARN),
            ("Warning", LevelFilter::WARN),
            ("info", LevelFilter::INFO),
            (" INFO ", LevelFilter::INFO),
            ("debug", LevelFilter::DEBUG),
            ("trace", LevelFilter::TRACE),
            ("info,my_crate=debug", LevelFilter::INFO),
        ];
        for (input, expected) in table {
            assert_eq!(
                parse_log_level(input),
                Some(expected),
                "LOG_LEVEL={input:?}"
            );
        }
    }

    #[test]
    fn parse_log_level_rejects_unknown_words() {
        for input in ["", "loud", "off", "my_crate=debug", "5"] {
            assert_eq!(parse_log_level(input), None, "LOG_LEVEL={input:?}");
        }
    }

    #[test]
    fn rust_log_level_takes_the_first_directive_without_a_target() {
        assert_eq!(rust_log_level("hyper=debug,warn"), Some(LevelFilter::WARN));
        assert_eq!(rust_log_level("off"), Some(LevelFilter::OFF));
        assert_eq!(rust_log_level("hyper=debug"), None);
        assert_eq!(rust_log_level(""), None);
    }

    #[test]
    fn wire_level_maps_trace_to_debug() {
        assert_eq!(wire_level(Level::TRACE), "debug");
        assert_eq!(wire_level(Level::DEBUG), "debug");
        assert_eq!(wire_level(Level::INFO), "info");
        assert_eq!(wire_level(Level::WARN), "warn");
        assert_eq!(wire_level(Level::ERROR), "error");
    }
}
