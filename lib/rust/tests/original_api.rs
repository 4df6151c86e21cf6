//! A peer written for the original tool's Rust library compiles against this one with only the
//! import path changed, and its log lines reach Redis: the original's struct variants
//! (`Command::Restart { delay_secs }`, `Command::Peer { multiaddr }`), its error type
//! `MuleError`, and plain `tracing` macros forwarded by the subscriber `build()` installs. A test
//! binary of its own: that subscriber is process-wide.

use futures_util::StreamExt;
use mule_test_support::RedisServer;
use the_mule::{Command, MuleClient, MuleClientBuilder, MuleError};

/// The peer, as its author wrote it for the original library.
async fn original_peer(url: &str, name: &str) -> Result<(), MuleError> {
    let mut client: MuleClient = MuleClientBuilder::new()
        .redis_url(url)
        .peer_name(name)
        .build()
        .await?;
    client.send_status("started").await?;
    tracing::info!("peer started");
    while let Some(command) = client.next().await {
        tracing::info!("received: {command}");
        match command {
            Command::Connect => client.send_status("connected").await?,
            Command::Disconnect => client.send_status("disconnected").await?,
            Command::Peer { multiaddr } => tracing::info!("bootstrap peer at {multiaddr}"),
            Command::Restart { delay_secs } => {
                tracing::info!("asked to restart in {}s", delay_secs.to_string())
            }
            Command::Shutdown => break,
            Command::Other(raw) => tracing::warn!("unknown command: {raw}"),
        }
    }
    client.send_status("stopped").await?;
    client.close().await;
    Ok(())
}

#[tokio::test]
async fn a_peer_written_for_the_original_library_runs_and_its_log_lines_reach_redis() {
    let server = RedisServer::start();
    let url = server.url(0);
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg("orig_command")
        .arg(&[
            "peer|vlad-1|/ip4/10.0.0.2/udp/4001/quic-v1",
            "connect",
            "restart|0.5",
            "dance",
            "shutdown",
        ])
        .query(&mut redis)
        .unwrap();
    original_peer(&url, "orig").await.expect("the peer");
    let mut lines: Vec<String> = redis::cmd("LRANGE")
        .arg("orig_log")
        .arg(0)
        .arg(-1)
        .query(&mut redis)
        .unwrap();
    lines.reverse();
    assert_eq!(
        lines,
        [
            "info|peer started",
            "info|received: peer|vlad-1|/ip4/10.0.0.2/udp/4001/quic-v1",
            "info|bootstrap peer at vlad-1|/ip4/10.0.0.2/udp/4001/quic-v1",
            "info|received: connect",
            "info|received: restart|0.5",
            "info|asked to restart in 0.5s",
            "info|received: dance",
            "warn|unknown command: dance",
            "info|received: shutdown",
        ]
    );
    let status: String = redis::cmd("GET")
        .arg("orig_status")
        .query(&mut redis)
        .unwrap();
    assert_eq!(status, "stopped");
}
