//! Client library for peers run by The Mule (`tm`), the distributed integration-test
//! orchestrator.
//!
//! A peer talks to the orchestrator through Redis only (the protocol is in the repository's
//! `docs/protocol.md`): it sets its status in `<peer>_status`, pops commands from
//! `<peer>_command`, and pushes log lines `level|message` to `<peer>_log`. This crate does all
//! three over two connections:
//!
//! - [`MuleClientBuilder`] reads `REDIS_URL`, `PEER_NAME` and `LOG_LEVEL` (or `RUST_LOG`),
//!   connects (retrying an unreachable Redis for `MULE_CONNECT_TIMEOUT` seconds), installs a
//!   `tracing` subscriber that forwards your `tracing::info!` & co., and handles SIGTERM
//!   (status `stopped`, exit 0).
//! - [`MuleClient`] is a [`Stream`](futures_core::Stream) of [`Command`]s (blocking `BLPOP`, no
//!   polling), sends statuses, runs the restart protocol ([`MuleClient::restart`]: status
//!   `restarting`, delay file, exit 42) and, on [`close`](MuleClient::close), flushes every
//!   queued log line.
//!
//! # A minimal peer
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use the_mule::{Command, MuleClientBuilder};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), the_mule::Error> {
//!     let mut client = MuleClientBuilder::new().build().await?;
//!     // "started|<address info>" if other peers need an address to bootstrap from.
//!     client.send_status("started").await?;
//!     while let Some(command) = client.next().await {
//!         tracing::info!("received: {command}");
//!         match command {
//!             Command::Connect => client.send_status("connected").await?,
//!             Command::Disconnect => client.send_status("disconnected").await?,
//!             Command::Peer { multiaddr } => tracing::info!("adding bootstrap peer {multiaddr}"),
//!             Command::Restart { delay_secs } => {
//!                 client.restart(delay_secs).await?; // exits with code 42
//!             }
//!             Command::Shutdown => break,
//!             Command::Other(raw) => tracing::warn!("unknown command: {raw}"),
//!         }
//!     }
//!     client.send_status("stopped").await?;
//!     client.close().await;
//!     Ok(())
//! }
//! ```
//!
//! Run it under the repository's `lib/entrypoint.sh` in the container, which performs the restart
//! (exit code 42) and forwards SIGTERM. The reference peer (`reference-peer/` next to this crate)
//! answers every standard command and is the longer example.
//!
//! # Errors
//!
//! [`Error`] messages are single lines meant for the person running the test:
//! `PEER_NAME is not set: ...`, `cannot reach Redis at redis://:***@10.0.0.5:6399 after 10s:
//! Connection refused (os error 111)`. Passwords in URLs are always shown as `***`.

#![warn(missing_docs)]

mod builder;
mod client;
mod command;
mod error;
mod forwarder;
mod layer;
mod level;
mod redis_url;
mod sigterm;

pub use builder::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_DELAY_FILE, MuleClientBuilder};
pub use client::{MuleClient, RESTART_EXIT_CODE};
pub use command::{Command, RestartDelay};
pub use error::{Error, MuleError, Result};
pub use level::{parse_log_level, wire_level};
pub use redis_url::mask_password;
/// The level filter type used by [`MuleClientBuilder::log_level`], re-exported for convenience.
pub use tracing_subscriber::filter::LevelFilter;
