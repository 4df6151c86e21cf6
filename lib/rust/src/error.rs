//! The one error type of the crate. Messages are single lines that name the variable or the
//! server at fault and, where there is one, the fix; URLs in them never show a password.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong building or using a [`MuleClient`](crate::MuleClient).
///
/// ```
/// let error = the_mule::Error::MissingVariable("PEER_NAME");
/// assert!(error.to_string().starts_with("PEER_NAME is not set"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A required environment variable (`REDIS_URL`, `PEER_NAME`) is unset or empty and the
    /// builder was given no value.
    MissingVariable(&'static str),
    /// An environment variable holds a value the library cannot use.
    InvalidVariable {
        /// The variable, e.g. `LOG_LEVEL`.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// The Redis URL could not be parsed.
    InvalidUrl {
        /// The URL, password masked.
        url: String,
        /// Why the redis crate rejected it.
        source: redis::RedisError,
    },
    /// Redis did not answer within the connect timeout (`MULE_CONNECT_TIMEOUT`).
    Unreachable {
        /// The URL, password masked.
        url: String,
        /// How long `build()` kept trying.
        waited: Duration,
        /// The last connection error.
        source: redis::RedisError,
    },
    /// Redis answered a command with an error (wrong password, wrong database, connection lost).
    Redis {
        /// What the client was doing, e.g. `setting alice_status`.
        action: String,
        /// The redis crate's error.
        source: redis::RedisError,
    },
    /// Writing the restart delay file failed.
    DelayFile {
        /// The file (`TM_DELAY_FILE`, default `/tmp/delay`).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The SIGTERM handler could not be registered.
    Signal(std::io::Error),
    /// A global tracing subscriber was set before `build()` tried to install its own.
    TracingAlreadyInstalled,
    /// The client was used after [`MuleClient::close`](crate::MuleClient::close).
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingVariable(name) => {
                let (example, method) = match *name {
                    "REDIS_URL" => (" (e.g. redis://127.0.0.1:6379)", ".redis_url()"),
                    "PEER_NAME" => ("", ".peer_name()"),
                    _ => ("", "the builder"),
                };
                write!(
                    f,
                    "{name} is not set: the orchestrator sets it; set it yourself{example} or call {method}"
                )
            }
            Error::InvalidVariable {
                name,
                value,
                expected,
            } => {
                write!(f, "{name}={value:?} is not {expected}")
            }
            Error::InvalidUrl { url, source } => write!(
                f,
                "{url:?} is not a Redis URL (redis://[user:password@]host:port[/db]): {source}"
            ),
            Error::Unreachable {
                url,
                waited,
                source,
            } => {
                write!(
                    f,
                    "cannot reach Redis at {url} after {}s: {source}",
                    waited.as_secs_f64()
                )
            }
            Error::Redis { action, source } => write!(f, "{action} failed: {source}"),
            Error::DelayFile { path, source } => {
                write!(
                    f,
                    "cannot write the restart delay to {}: {source}",
                    path.display()
                )
            }
            Error::Signal(source) => write!(f, "cannot listen for SIGTERM: {source}"),
            Error::TracingAlreadyInstalled => f.write_str(
                "a global tracing subscriber is already set: build with .install_tracing(false) \
                 and add client.tracing_layer() to your subscriber",
            ),
            Error::Closed => f.write_str("the client is closed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidUrl { source, .. }
            | Error::Unreachable { source, .. }
            | Error::Redis { source, .. } => Some(source),
            Error::DelayFile { source, .. } | Error::Signal(source) => Some(source),
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The original library's name of [`Error`]: a peer written for it compiles unchanged.
pub type MuleError = Error;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variable_names_the_variable_and_the_fix() {
        assert_eq!(
            Error::MissingVariable("REDIS_URL").to_string(),
            "REDIS_URL is not set: the orchestrator sets it; set it yourself \
             (e.g. redis://127.0.0.1:6379) or call .redis_url()"
        );
        assert_eq!(
            Error::MissingVariable("PEER_NAME").to_string(),
            "PEER_NAME is not set: the orchestrator sets it; set it yourself or call .peer_name()"
        );
    }

    #[test]
    fn unreachable_says_how_long_it_tried() {
        let source =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let error = Error::Unreachable {
            url: "redis://:***@10.0.0.5:6399/3".into(),
            waited: Duration::from_millis(500),
            source,
        };
        assert!(
            error
                .to_string()
                .starts_with("cannot reach Redis at redis://:***@10.0.0.5:6399/3 after 0.5s: "),
            "{error}"
        );
    }
}
