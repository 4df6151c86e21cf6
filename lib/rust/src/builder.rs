//! `MuleClientBuilder`: settings from the builder or the environment, then the connections.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use tokio::time::Instant;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

use crate::client::MuleClient;
use crate::error::{Error, Result};
use crate::forwarder::Forwarder;
use crate::level::{parse_log_level, rust_log_level};
use crate::redis_url::mask_password;
use crate::sigterm;

/// How long `build()` retries an unreachable Redis unless `MULE_CONNECT_TIMEOUT` says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the restart protocol writes the delay unless `TM_DELAY_FILE` says otherwise.
pub const DEFAULT_DELAY_FILE: &str = "/tmp/delay";

/// Longest wait for an answer on the main connection (statuses, log pushes). The redis crate's
/// default of 500 ms is too tight on a loaded CI machine; a Redis that does not answer for this
/// long is gone, and the write fails instead of hanging the peer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest single connection attempt while `build()` retries (it also stops at the deadline).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// Back-off between connection attempts: doubles from the first value up to the second.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(1));

/// Builds a [`MuleClient`]. Every setting not given here comes from the environment the
/// orchestrator sets:
///
/// | Setting | Method | Environment | Default |
/// | --- | --- | --- | --- |
/// | Redis URL (may carry `/<db>` and a password) | [`redis_url`](Self::redis_url) | `REDIS_URL` | required |
/// | peer name, prefix of its keys | [`peer_name`](Self::peer_name) | `PEER_NAME` | required |
/// | forwarding threshold | [`log_level`](Self::log_level) | `LOG_LEVEL`, else `RUST_LOG` | `info` |
/// | how long to retry an unreachable Redis | [`connect_timeout`](Self::connect_timeout) | `MULE_CONNECT_TIMEOUT` (seconds) | 10 s |
/// | restart delay file | — | `TM_DELAY_FILE` | `/tmp/delay` |
///
/// ```no_run
/// # async fn peer() -> the_mule::Result<()> {
/// let client = the_mule::MuleClientBuilder::new()
///     .redis_url("redis://127.0.0.1:6379/2")
///     .peer_name("alice")
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until build() is awaited"]
pub struct MuleClientBuilder {
    redis_url: Option<String>,
    peer_name: Option<String>,
    log_level: Option<LevelFilter>,
    connect_timeout: Option<Duration>,
    echo_logs: bool,
    install_tracing: bool,
    handle_sigterm: bool,
}

impl Default for MuleClientBuilder {
    fn default() -> Self {
        MuleClientBuilder {
            redis_url: None,
            peer_name: None,
            log_level: None,
            connect_timeout: None,
            echo_logs: false,
            install_tracing: true,
            handle_sigterm: true,
        }
    }
}

impl fmt::Debug for MuleClientBuilder {
    /// Shows the settings, the Redis URL with its password masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MuleClientBuilder")
            .field("redis_url", &self.redis_url.as_deref().map(mask_password))
            .field("peer_name", &self.peer_name)
            .field("log_level", &self.log_level)
            .field("connect_timeout", &self.connect_timeout)
            .field("echo_logs", &self.echo_logs)
            .field("install_tracing", &self.install_tracing)
            .field("handle_sigterm", &self.handle_sigterm)
            .finish()
    }
}

impl MuleClientBuilder {
    /// A builder that reads everything from the environment, installs the tracing layer and
    /// handles SIGTERM.
    pub fn new() -> Self {
        Self::default()
    }

    /// The Redis URL, instead of `REDIS_URL`: `redis://host:port`, optionally with a database
    /// (`redis://host:port/3`) and a password (`redis://:pw@host:port`, `redis://user:pw@...`).
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// The peer's name (the prefix of its Redis keys), instead of `PEER_NAME`.
    pub fn peer_name(mut self, name: impl Into<String>) -> Self {
        self.peer_name = Some(name.into());
        self
    }

    /// The most verbose level forwarded (and echoed), instead of `LOG_LEVEL` / `RUST_LOG`.
    pub fn log_level(mut self, level: LevelFilter) -> Self {
        self.log_level = Some(level);
        self
    }

    /// How long `build()` keeps retrying an unreachable Redis, instead of
    /// `MULE_CONNECT_TIMEOUT`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Also print every forwarded line on stdout as `level|message`, so that `docker logs`
    /// shows it (default: off).
    pub fn echo_logs(mut self, echo: bool) -> Self {
        self.echo_logs = echo;
        self
    }

    /// Whether `build()` sets a global tracing subscriber made of the client's layer (default:
    /// on). Turn it off to combine [`MuleClient::tracing_layer`] with layers of your own.
    pub fn install_tracing(mut self, install: bool) -> Self {
        self.install_tracing = install;
        self
    }

    /// Whether `build()` installs the SIGTERM handler (default: on). On SIGTERM it logs
    /// `received SIGTERM, stopping`, sets the status `stopped`, flushes the logs and exits the
    /// process with code 0. Turn it off to handle the signal yourself.
    pub fn handle_sigterm(mut self, handle: bool) -> Self {
        self.handle_sigterm = handle;
        self
    }

    /// Reads what was not set from the environment, connects to Redis (retrying with back-off
    /// for the connect timeout), starts the log writer and, as configured, installs the
    /// tracing subscriber and the SIGTERM handler. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// [`Error::MissingVariable`] without a Redis URL or peer name; [`Error::InvalidVariable`]
    /// for an unusable `LOG_LEVEL` or `MULE_CONNECT_TIMEOUT`; [`Error::InvalidUrl`];
    /// [`Error::Unreachable`] when Redis did not answer within the connect timeout;
    /// [`Error::Redis`] when it refused the connection (wrong password or database);
    /// [`Error::TracingAlreadyInstalled`].
    pub async fn build(self) -> Result<MuleClient> {
        let redis_url = self
            .redis_url
            .or_else(|| env("REDIS_URL"))
            .filter(|u| !u.is_empty());
        let redis_url = redis_url.ok_or(Error::MissingVariable("REDIS_URL"))?;
        let peer_name = self
            .peer_name
            .or_else(|| env("PEER_NAME"))
            .filter(|n| !n.is_empty());
        let peer_name = peer_name.ok_or(Error::MissingVariable("PEER_NAME"))?;
        let log_level = match self.log_level {
            Some(level) => level,
            None => log_level_from_env()?,
        };
        let connect_timeout = match self.connect_timeout {
            Some(timeout) => timeout,
            None => connect_timeout_from_env()?,
        };
        let delay_file =
            PathBuf::from(env("TM_DELAY_FILE").unwrap_or_else(|| DEFAULT_DELAY_FILE.into()));

        let masked_url = mask_password(&redis_url);
        let redis =
            redis::Client::open(redis_url.as_str()).map_err(|source| Error::InvalidUrl {
                url: masked_url.clone(),
                source,
            })?;
        let main_config = AsyncConnectionConfig::new().set_response_timeout(Some(RESPONSE_TIMEOUT));
        // BLPOP <key> 0 waits for as long as the orchestrator sends nothing.
        let command_config = AsyncConnectionConfig::new().set_response_timeout(None);
        let deadline = Instant::now() + connect_timeout;
        let main = connect(&redis, main_config, deadline, connect_timeout, &masked_url).await?;
        let commands = connect(
            &redis,
            command_config,
            deadline,
            connect_timeout,
            &masked_url,
        )
        .await?;

        let forwarder = Forwarder::spawn(main, &peer_name, log_level, self.echo_logs);
        let client = MuleClient::new(peer_name, delay_file, forwarder.clone(), commands);
        if self.install_tracing {
            let subscriber = tracing_subscriber::registry().with(client.tracing_layer());
            tracing::subscriber::set_global_default(subscriber)
                .map_err(|_| Error::TracingAlreadyInstalled)?;
        }
        if self.handle_sigterm {
            sigterm::install(forwarder)?;
        }
        Ok(client)
    }
}

/// A variable of the environment; unset, empty and non-UTF-8 values all count as unset.
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// `LOG_LEVEL` if set (it must be a level), else the global level of `RUST_LOG`, else info.
fn log_level_from_env() -> Result<LevelFilter> {
    if let Some(value) = env("LOG_LEVEL") {
        return parse_log_level(&value).ok_or(Error::InvalidVariable {
            name: "LOG_LEVEL",
            value,
            expected: "a log level (error, warn, info, debug, trace)",
        });
    }
    Ok(env("RUST_LOG")
        .and_then(|value| rust_log_level(&value))
        .unwrap_or(LevelFilter::INFO))
}

/// `MULE_CONNECT_TIMEOUT` in seconds (fractions allowed), else the default.
fn connect_timeout_from_env() -> Result<Duration> {
    let Some(value) = env("MULE_CONNECT_TIMEOUT") else {
        return Ok(DEFAULT_CONNECT_TIMEOUT);
    };
    value
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or(Error::InvalidVariable {
            name: "MULE_CONNECT_TIMEOUT",
            value,
            expected: "a number of seconds (e.g. 10 or 0.5)",
        })
}

/// Opens one connection, retrying connection failures with back-off until `deadline`.
/// Anything else (a wrong password, a database out of range) fails at once: waiting would not
/// change the answer.
async fn connect(
    redis: &redis::Client,
    config: AsyncConnectionConfig,
    deadline: Instant,
    timeout: Duration,
    masked_url: &str,
) -> Result<MultiplexedConnection> {
    let mut backoff = BACKOFF.0;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt = config
            .clone()
            .set_connection_timeout(Some(remaining.clamp(BACKOFF.0, ATTEMPT_TIMEOUT)));
        let source = match redis
            .get_multiplexed_async_connection_with_config(&attempt)
            .await
        {
            Ok(connection) => return Ok(connection),
            Err(error) => error,
        };
        if !is_connection_failure(&source) {
            return Err(Error::Redis {
                action: format!("connecting to Redis at {masked_url}"),
                source,
            });
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Error::Unreachable {
                url: masked_url.to_owned(),
                waited: timeout,
                source,
            });
        }
        tokio::time::sleep(backoff.min(remaining)).await;
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

/// True for errors that say the server could not be reached (yet), not that it said no.
fn is_connection_failure(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_refusal()
        || error.is_timeout()
        || error.is_connection_dropped()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_debug_masks_the_password() {
        let builder = MuleClientBuilder::new().redis_url("redis://:hunter2@127.0.0.1:6379/1");
        let shown = format!("{builder:?}");
        assert!(shown.contains("redis://:***@127.0.0.1:6379/1"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn mule_client_can_move_into_a_spawned_task() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<MuleClient>();
    }
}
