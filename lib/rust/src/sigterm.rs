//! SIGTERM handling: what `docker stop` sends. The handler reports `stopped`, flushes the logs
//! and exits 0, so a stopped peer ends like one that was told `shutdown`.

use tokio::signal::unix::{SignalKind, signal};
use tracing::Level;

use crate::error::{Error, Result};
use crate::forwarder::Forwarder;

/// The line logged (at info) when SIGTERM arrives; the same in every language's library.
pub(crate) const SIGTERM_LINE: &str = "received SIGTERM, stopping";

/// Registers for SIGTERM now (so a signal right after `build()` is not lost) and spawns the
/// task that handles it. The task outlives `close()`: once tokio listens for SIGTERM the default
/// action (terminate) is gone for good, so somebody must still exit on it.
pub(crate) fn install(forwarder: Forwarder) -> Result<()> {
    let mut terminate = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    tokio::spawn(async move {
        if terminate.recv().await.is_none() || !forwarder.begin_finishing() {
            // No signal driver any more, or restart() is already ending the process.
            return;
        }
        forwarder.emit(Level::INFO, SIGTERM_LINE);
        match forwarder.set_status("stopped").await {
            Ok(()) | Err(Error::Closed) => {}
            Err(error) => eprintln!("mule: {error}"),
        }
        forwarder.close().await;
        std::process::exit(0);
    });
    Ok(())
}
