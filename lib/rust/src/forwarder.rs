//! The writer: one task that owns the main Redis connection and performs every write of the
//! client in the order it was asked for. Log lines, statuses, flushes and the final close travel
//! through one unbounded channel, so
//! - logging never blocks or awaits (the tracing layer only sends on the channel),
//! - a status set after a log line reaches Redis after it (the orchestrator sees them in order),
//! - a flush is acknowledged only once every line queued before it was pushed.
//!
//! It also keeps the final status final: once SIGTERM handling or `restart()` has begun,
//! statuses that code still running sends are dropped, so `stopped` / `restarting` stays last.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, oneshot};
use tracing::Level;
use tracing_subscriber::filter::LevelFilter;

use crate::error::{Error, Result};
use crate::level::wire_level;

/// Most values sent in one `LPUSH`: big enough that 1,000 lines logged at once cost a handful
/// of round trips, small enough that one command stays far below Redis's argument limits.
const MAX_BATCH: usize = 512;

/// What the writer task is asked to do.
enum Job {
    /// One `level|message` entry for `<peer>_log`.
    Line(String),
    /// `SET <key> <value>`; the result goes back on the sender.
    Set(String, String, oneshot::Sender<redis::RedisResult<()>>),
    /// Acknowledge once every earlier job is done.
    Flush(oneshot::Sender<()>),
    /// Acknowledge like `Flush`, then stop.
    Close(oneshot::Sender<()>),
}

/// The sending side of the writer, shared by the client, its tracing layer and the SIGTERM
/// task. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub(crate) struct Forwarder {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::UnboundedSender<Job>,
    status_key: String,
    max_level: LevelFilter,
    echo: bool,
    /// Set once a final status is on its way.
    finishing: AtomicBool,
}

impl Forwarder {
    /// Spawns the writer task of peer `peer_name` on the current tokio runtime.
    pub(crate) fn spawn(
        connection: MultiplexedConnection,
        peer_name: &str,
        max_level: LevelFilter,
        echo: bool,
    ) -> Forwarder {
        let (jobs, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run_writer(connection, format!("{peer_name}_log"), receiver));
        let status_key = format!("{peer_name}_status");
        let finishing = AtomicBool::new(false);
        let inner = Inner {
            jobs,
            status_key,
            max_level,
            echo,
            finishing,
        };
        Forwarder {
            inner: Arc::new(inner),
        }
    }

    /// The most verbose level forwarded.
    pub(crate) fn max_level(&self) -> LevelFilter {
        self.inner.max_level
    }

    /// Queues one log line (and echoes it on stdout if asked), unless `level` is filtered out.
    /// Never blocks; a line emitted after `close` is echoed but not forwarded.
    pub(crate) fn emit(&self, level: Level, message: &str) {
        if level > self.inner.max_level {
            return;
        }
        let line = format!("{}|{message}", wire_level(level));
        if self.inner.echo {
            // One write per line so that lines of concurrent tasks do not interleave.
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
        let _ = self.inner.jobs.send(Job::Line(line));
    }

    /// Sets `<peer>_status` after every line queued so far; does nothing once a final status
    /// is on its way.
    pub(crate) async fn send_status(&self, status: &str) -> Result<()> {
        if self.inner.finishing.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.set_status(status).await
    }

    /// Marks the start of the end (SIGTERM, restart): later [`send_status`](Self::send_status)
    /// calls are dropped. Returns false if it was marked already.
    pub(crate) fn begin_finishing(&self) -> bool {
        !self.inner.finishing.swap(true, Ordering::SeqCst)
    }

    /// `SET <peer>_status <status>` after every line queued so far, finishing or not.
    pub(crate) async fn set_status(&self, status: &str) -> Result<()> {
        let (done, result) = oneshot::channel();
        let key = self.inner.status_key.clone();
        let action = format!("setting {key}");
        self.inner
            .jobs
            .send(Job::Set(key, status.to_owned(), done))
            .map_err(|_| Error::Closed)?;
        match result.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(Error::Redis { action, source }),
            Err(_) => Err(Error::Closed),
        }
    }

    /// Resolves once every line queued so far was pushed (or failed and was reported).
    pub(crate) async fn flush(&self) {
        let (done, acknowledged) = oneshot::channel();
        if self.inner.jobs.send(Job::Flush(done)).is_ok() {
            let _ = acknowledged.await;
        }
    }

    /// Flushes, then stops the writer; later lines are dropped. Idempotent.
    pub(crate) async fn close(&self) {
        let (done, acknowledged) = oneshot::channel();
        if self.inner.jobs.send(Job::Close(done)).is_ok() {
            let _ = acknowledged.await;
        }
    }
}

/// The writer task: takes jobs in order; consecutive lines go out as one `LPUSH`.
async fn run_writer(
    mut connection: MultiplexedConnection,
    log_key: String,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    let mut batch: Vec<String> = Vec::new();
    while let Some(first) = jobs.recv().await {
        let mut next = Some(first);
        while let Some(Job::Line(line)) = next {
            batch.push(line);
            next = if batch.len() < MAX_BATCH {
                jobs.try_recv().ok()
            } else {
                None
            };
        }
        if !batch.is_empty() {
            push_lines(&mut connection, &log_key, &batch).await;
            batch.clear();
        }
        match next {
            None | Some(Job::Line(_)) => {}
            Some(Job::Set(key, value, done)) => {
                let result = redis::cmd("SET")
                    .arg(&key)
                    .arg(&value)
                    .exec_async(&mut connection)
                    .await;
                let _ = done.send(result);
            }
            Some(Job::Flush(done)) => {
                let _ = done.send(());
            }
            Some(Job::Close(done)) => {
                // Dropping the receiver before acknowledging makes later sends fail at once.
                jobs.close();
                drop(connection);
                let _ = done.send(());
                return;
            }
        }
    }
}

/// `LPUSH key lines...`: Redis pushes them left one after the other, so `tm`, popping from the
/// right, reads them in the order they were logged. A failure is reported on stderr (there is
/// nobody else to tell) and the lines are dropped.
async fn push_lines(connection: &mut MultiplexedConnection, key: &str, lines: &[String]) {
    let result = redis::cmd("LPUSH")
        .arg(key)
        .arg(lines)
        .exec_async(connection)
        .await;
    if let Err(error) = result {
        eprintln!(
            "mule: could not forward {} log line(s) to {key}: {error}",
            lines.len()
        );
    }
}
