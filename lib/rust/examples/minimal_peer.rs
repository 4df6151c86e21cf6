//! The minimal peer of docs/peers/rust.md, kept here so that `cargo clippy --all-targets` and
//! `cargo test` compile it: the guide's code cannot rot. Run it with
//! `REDIS_URL=redis://127.0.0.1:6379 PEER_NAME=alice cargo run --example minimal_peer`.

use futures_util::StreamExt;
use the_mule::{Command, MuleClientBuilder};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        // One line naming the problem: "PEER_NAME is not set: ...",
        // "cannot reach Redis at redis://10.0.0.5:6399 after 10s: ...".
        eprintln!("my peer: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), the_mule::Error> {
    // Reads REDIS_URL, PEER_NAME and LOG_LEVEL; installs the tracing subscriber that forwards
    // events to Redis and the SIGTERM handler (docker stop: status "stopped", exit 0).
    let mut client = MuleClientBuilder::new().echo_logs(true).build().await?;
    // Tell the orchestrator we are ready; "started|<vlad>|<multiaddr>" if you have network info.
    client.send_status("started").await?;

    while let Some(command) = client.next().await {
        tracing::info!("received: {command}");
        match command {
            Command::Connect => {
                client.send_status("connecting").await?;
                // ... your connect logic ...
                client.send_status("connected").await?;
            }
            Command::Disconnect => {
                client.send_status("disconnecting").await?;
                // ... your disconnect logic ...
                client.send_status("disconnected").await?;
            }
            Command::Peer { multiaddr: address } => {
                let (vlad, multiaddr) = address.split_once('|').unwrap_or((address.as_str(), ""));
                tracing::info!("adding bootstrap peer: {vlad} at {multiaddr}");
            }
            Command::Restart { delay_secs } => {
                // Status restarting, delay file, logs flushed, exit 42: returns only on error.
                client.restart(delay_secs).await?;
            }
            Command::Shutdown => break,
            // push|<peer>|<msg>, pull, rotate-key, track|<peer>, ... whatever your test sends
            Command::Other(raw) => {
                if let Some(rest) = raw.strip_prefix("push|") {
                    let (peer, message) = rest.split_once('|').unwrap_or((rest, ""));
                    tracing::info!("push to {peer}: {message}");
                }
            }
        }
    }
    client.send_status("stopped").await?;
    client.close().await;
    Ok(())
}
