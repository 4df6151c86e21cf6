//! `MuleClient`: a connected peer. Statuses and logs go through the writer task; commands come
//! from a connection of their own that blocks in `BLPOP`.

use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use redis::aio::MultiplexedConnection;
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::registry::LookupSpan;

use crate::command::{Command, RestartDelay};
use crate::error::{Error, Result};
use crate::forwarder::Forwarder;
use crate::layer::MuleLayer;

/// Exit code that asks the entrypoint to run the peer again after the delay in the delay file.
pub const RESTART_EXIT_CODE: i32 = 42;

/// A pending `BLPOP <peer>_command 0`: `(key, value)`, or nothing if it timed out.
type PendingPop =
    Pin<Box<dyn Future<Output = redis::RedisResult<Option<(String, String)>>> + Send>>;

/// A peer connected to the orchestrator's Redis; build it with
/// [`MuleClientBuilder`](crate::MuleClientBuilder).
///
/// - Commands: the client is a [`Stream`] of [`Command`]s, in the order the orchestrator sent
///   them (`BLPOP <peer>_command 0` on a connection of its own: it blocks in Redis, it never
///   polls). The stream ends after [`close`](Self::close) or when Redis is gone
///   ([`take_error`](Self::take_error) says why). It is cancel-safe: a pending `BLPOP` lives in the client,
///   not in the `next()` future, so using it in `tokio::select!` loses no command.
/// - Statuses: [`send_status`](Self::send_status), [`fail`](Self::fail).
/// - Logs: tracing events (see [`tracing_layer`](Self::tracing_layer)), pushed in order by a
///   background task; [`close`](Self::close) pushes every queued line before it returns.
/// - Restart: [`restart`](Self::restart) runs the whole restart protocol and exits.
pub struct MuleClient {
    peer_name: String,
    command_key: String,
    delay_file: PathBuf,
    forwarder: Forwarder,
    /// The connection that blocks in `BLPOP`; `None` once closed or broken.
    commands: Option<MultiplexedConnection>,
    pending: Option<PendingPop>,
    error: Option<Error>,
}

impl MuleClient {
    pub(crate) fn new(
        peer_name: String,
        delay_file: PathBuf,
        forwarder: Forwarder,
        commands: MultiplexedConnection,
    ) -> MuleClient {
        MuleClient {
            command_key: format!("{peer_name}_command"),
            peer_name,
            delay_file,
            forwarder,
            commands: Some(commands),
            pending: None,
            error: None,
        }
    }

    /// This peer's name, the prefix of its Redis keys.
    pub fn peer_name(&self) -> &str {
        &self.peer_name
    }

    /// The most verbose level forwarded.
    pub fn log_level(&self) -> LevelFilter {
        self.forwarder.max_level()
    }

    /// The file the restart protocol writes the delay to (`TM_DELAY_FILE`, default
    /// `/tmp/delay`).
    pub fn delay_file(&self) -> &Path {
        &self.delay_file
    }

    /// Sets `<peer>_status`: `started` (or `started|<address info>`), `connected`, `stopped`, ...
    /// Log lines logged before the call reach Redis first. Once SIGTERM handling or
    /// [`restart`](Self::restart) has set the final status, the call does nothing, so that
    /// `stopped` / `restarting` stays the last status the orchestrator sees.
    ///
    /// # Errors
    /// [`Error::Redis`] if Redis failed the `SET`; [`Error::Closed`] after [`close`](Self::close).
    pub async fn send_status(&self, status: &str) -> Result<()> {
        self.forwarder.send_status(status).await
    }

    /// Reports a failure the peer detected itself: status `failed|<reason>`.
    ///
    /// # Errors
    /// As [`send_status`](Self::send_status).
    pub async fn fail(&self, reason: &str) -> Result<()> {
        self.send_status(&format!("failed|{reason}")).await
    }

    /// Runs the restart protocol: status `restarting`, the delay written to the delay file as
    /// given, an info line `restarting in <delay>s (delay written to <file>)`, every log line
    /// flushed, the client closed, and the process exits with code 42 so that the entrypoint
    /// runs it again after the delay. Returns only if a step fails.
    ///
    /// ```no_run
    /// # async fn on_command(client: &mut the_mule::MuleClient, command: the_mule::Command) -> the_mule::Result<()> {
    /// if let the_mule::Command::Restart { delay_secs } = command {
    ///     client.restart(delay_secs).await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Redis`] or [`Error::Closed`] setting the status, [`Error::DelayFile`].
    pub async fn restart(&mut self, delay: impl Into<RestartDelay>) -> Result<Infallible> {
        let delay = delay.into();
        self.forwarder.begin_finishing();
        self.forwarder.set_status("restarting").await?;
        tokio::fs::write(&self.delay_file, delay.as_str())
            .await
            .map_err(|source| Error::DelayFile {
                path: self.delay_file.clone(),
                source,
            })?;
        let line = format!(
            "restarting in {delay}s (delay written to {})",
            self.delay_file.display()
        );
        self.forwarder.emit(Level::INFO, &line);
        self.close().await;
        std::process::exit(RESTART_EXIT_CODE)
    }

    /// A tracing [`Layer`] forwarding events at or above the client's level as
    /// `LPUSH <peer>_log "level|message"` (levels on the wire: `error`, `warn`, `info`, `debug`;
    /// `TRACE` is sent as `debug`). The message is the event's message followed by its other
    /// fields as ` name=value`; spans are not recorded. Logging never blocks: lines are queued
    /// for a background task. The level filter is per layer, so other layers of the same
    /// subscriber still get what they ask for.
    ///
    /// [`MuleClientBuilder::build`](crate::MuleClientBuilder::build) installs it as the global
    /// subscriber unless told not to; to combine it with your own layers:
    ///
    /// ```no_run
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// # async fn peer() -> the_mule::Result<()> {
    /// let client = the_mule::MuleClientBuilder::new().install_tracing(false).build().await?;
    /// let subscriber = tracing_subscriber::registry().with(client.tracing_layer());
    /// tracing::subscriber::set_global_default(subscriber).expect("no subscriber set yet");
    /// # Ok(()) }
    /// ```
    pub fn tracing_layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        MuleLayer::new(self.forwarder.clone()).with_filter(self.forwarder.max_level())
    }

    /// Resolves once every log line logged so far has been pushed to Redis (a line whose push
    /// failed is reported on stderr). [`close`](Self::close) does this too.
    pub async fn flush(&self) {
        self.forwarder.flush().await;
    }

    /// Waits for the next command; `None` once the client is closed or Redis is gone (then
    /// [`take_error`](Self::take_error) says why). The same as `StreamExt::next` on the client, without
    /// importing a trait; cancel-safe.
    pub async fn next_command(&mut self) -> Option<Command> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Why the command stream ended, if Redis failed it (`None` after a plain
    /// [`close`](Self::close)); taking it leaves `None`.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    /// Pushes every queued log line to Redis, then closes both connections; the command stream
    /// ends and later statuses fail with [`Error::Closed`]. Idempotent. Call it before the
    /// process exits: lines still queued when the runtime stops are lost.
    pub async fn close(&mut self) {
        self.pending = None;
        self.commands = None;
        self.forwarder.close().await;
    }
}

impl Stream for MuleClient {
    type Item = Command;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Command>> {
        let this = self.get_mut();
        loop {
            let Some(connection) = &this.commands else {
                return Poll::Ready(None);
            };
            let pending = this.pending.get_or_insert_with(|| {
                let mut connection = connection.clone();
                let pop = redis::cmd("BLPOP").arg(&this.command_key).arg(0).clone();
                Box::pin(async move { pop.query_async(&mut connection).await })
            });
            let popped = ready!(pending.as_mut().poll(cx));
            this.pending = None;
            match popped {
                Ok(Some((_key, raw))) => return Poll::Ready(Some(Command::parse(&raw))),
                // A timeout, which `BLPOP <key> 0` does not have: wait again.
                Ok(None) => continue,
                Err(source) => {
                    let action = format!("waiting for a command on {}", this.command_key);
                    this.error = Some(Error::Redis { action, source });
                    this.commands = None;
                    return Poll::Ready(None);
                }
            }
        }
    }
}
