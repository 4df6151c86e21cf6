//! Reference peer in Rust: answers every standard command with the same statuses and the same
//! log lines (texts and levels) as `lib/typescript/reference_peer.ts`, so that one conformance
//! suite checks all the languages' libraries alike. It is also the example to copy.
//!
//! Environment: `REDIS_URL`, `PEER_NAME`, `LOG_LEVEL` / `RUST_LOG`, `MULE_CONNECT_TIMEOUT`,
//! `TM_DELAY_FILE` (see the_mule), `LISTEN_ADDR` (its UDP port goes into the advertised
//! multiaddr), `ADVERTISE_IP` (default: the first non-loopback IPv4).
//! Test hooks (reference peer only): `REF_PEER_START_DELAY_MS`, `REF_PEER_NEVER_START=1`,
//! `REF_PEER_IGNORE_SHUTDOWN=1`, `REF_PEER_ECHO_ENV=<NAME,...>`, and the commands `exit|<code>`, `fail|<reason>`
//! and `log-burst|<n>` (n info lines `burst <i>`, then what `shutdown` does).
//!
//! Exit codes: 0 after `shutdown` or SIGTERM, 42 for a restart, 1 when the client cannot be
//! built (one line on stderr: `rust reference peer: <message>`).

mod json;
mod network;

use std::time::Duration;

use sha2::{Digest, Sha256};
use the_mule::{Command, MuleClient, MuleClientBuilder};
use tracing::{debug, info, warn};

/// Delay between `connecting` and `connected` (and `disconnecting` and `disconnected`).
const TRANSITION: Duration = Duration::from_millis(20);

/// What the peer knows about the network it pretends to be part of.
struct PeerState {
    vlad: String,
    multiaddr: String,
    connected: bool,
    /// Bootstrap peers in the order they were first announced: `(vlad, address)`.
    bootstrap: Vec<(String, String)>,
    /// Tracked peers, each once.
    tracked: Vec<String>,
    key_generation: u64,
    pushed: u64,
    pulled: u64,
}

/// What the command loop does after a command.
enum Next {
    Continue,
    Exit(i32),
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let code = match run().await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("rust reference peer: {error}");
            1
        }
    };
    std::process::exit(code);
}

/// Runs the peer until shutdown or a lost Redis; returns the exit code. (Restart, SIGTERM and
/// `exit|<code>` end the process from inside.)
async fn run() -> the_mule::Result<i32> {
    let mut client = MuleClientBuilder::new().echo_logs(true).build().await?;
    let name = client.peer_name().to_owned();
    let listen_addr = std::env::var("LISTEN_ADDR").ok();
    let port = match listen_addr.as_deref().and_then(network::listen_port) {
        Some(port) => port,
        None => {
            let shown = json::quote(listen_addr.as_deref().unwrap_or(""));
            warn!("LISTEN_ADDR {shown} has no UDP port; using 0");
            0
        }
    };
    let mut state = PeerState {
        vlad: vlad_for(&name),
        multiaddr: format!("/ip4/{}/udp/{port}/quic-v1", network::advertise_ip()),
        connected: false,
        bootstrap: Vec::new(),
        tracked: Vec::new(),
        key_generation: 0,
        pushed: 0,
        pulled: 0,
    };

    info!("{name} starting: {} on {}", state.vlad, state.multiaddr);
    for line in echoed_environment() {
        info!("{line}");
    }
    let start_delay = env_ms("REF_PEER_START_DELAY_MS");
    if start_delay > 0.0 {
        info!("delaying start by {start_delay} ms (REF_PEER_START_DELAY_MS)");
        tokio::time::sleep(Duration::from_secs_f64(start_delay / 1000.0)).await;
    }
    if env_flag("REF_PEER_NEVER_START") {
        warn!("never reporting started (REF_PEER_NEVER_START is set)");
    } else {
        client
            .send_status(&format!("started|{}|{}", state.vlad, state.multiaddr))
            .await?;
    }

    let result = command_loop(&mut client, &mut state).await;
    client.close().await;
    result
}

/// Handles commands until one ends the peer or the stream ends.
async fn command_loop(client: &mut MuleClient, state: &mut PeerState) -> the_mule::Result<i32> {
    while let Some(command) = client.next_command().await {
        if let Next::Exit(code) = handle_command(client, state, command).await? {
            return Ok(code);
        }
    }
    // The stream also ends when Redis goes away under the BLPOP: that is a failure.
    match client.take_error() {
        Some(error) => Err(error),
        None => Ok(0),
    }
}

/// Handles one command: the standard ones by their typed parse, the rest by the word before
/// the first `|` (as the TypeScript reference peer does, so `connect|now` is unknown in both).
async fn handle_command(
    client: &mut MuleClient,
    state: &mut PeerState,
    command: Command,
) -> the_mule::Result<Next> {
    debug!("received command: {command}");
    match command {
        Command::Connect => {
            if state.connected {
                warn!("connect: already connected");
                client.send_status("connected").await?;
                return Ok(Next::Continue);
            }
            client.send_status("connecting").await?;
            info!(
                "connecting to the network via {} bootstrap peer(s)",
                state.bootstrap.len()
            );
            for (vlad, addr) in &state.bootstrap {
                debug!("dialing {vlad} at {addr}");
            }
            tokio::time::sleep(TRANSITION).await;
            state.connected = true;
            client.send_status("connected").await?;
            info!("connected as {} on {}", state.vlad, state.multiaddr);
        }
        Command::Disconnect => {
            client.send_status("disconnecting").await?;
            info!("disconnecting from the network");
            tokio::time::sleep(TRANSITION).await;
            state.connected = false;
            client.send_status("disconnected").await?;
            info!("disconnected");
        }
        Command::Shutdown => return shutdown(client).await,
        // Status restarting, delay file, info line, flush, close, exit 42: never returns.
        Command::Restart { delay_secs } => match client.restart(delay_secs).await? {},
        Command::Peer { multiaddr: address } => {
            let (vlad, addr) = address.split_once('|').unwrap_or((&address, ""));
            if vlad.is_empty() {
                warn!(
                    "peer: expected peer|<address info>, got {}",
                    json::quote(&format!("peer|{address}"))
                );
                return Ok(Next::Continue);
            }
            match state.bootstrap.iter_mut().find(|(known, _)| known == vlad) {
                Some(entry) => entry.1 = addr.to_owned(),
                None => state.bootstrap.push((vlad.to_owned(), addr.to_owned())),
            }
            let shown = if addr.is_empty() {
                "(no address)"
            } else {
                addr
            };
            info!("adding bootstrap peer: {vlad} at {shown}");
        }
        Command::Other(raw) => return handle_other(client, state, &raw).await,
    }
    Ok(Next::Continue)
}

/// Sets `stopped` and asks for exit 0, unless `REF_PEER_IGNORE_SHUTDOWN` is set.
async fn shutdown(client: &MuleClient) -> the_mule::Result<Next> {
    if env_flag("REF_PEER_IGNORE_SHUTDOWN") {
        warn!("ignoring shutdown (REF_PEER_IGNORE_SHUTDOWN is set)");
        return Ok(Next::Continue);
    }
    info!("shutting down");
    client.send_status("stopped").await?;
    Ok(Next::Exit(0))
}

/// The commands the typed parse leaves as `Other`: the peer's own verbs, test hooks, mistakes.
async fn handle_other(
    client: &mut MuleClient,
    state: &mut PeerState,
    command: &str,
) -> the_mule::Result<Next> {
    let (verb, arg) = command.split_once('|').unwrap_or((command, ""));
    let rest: Vec<&str> = if command.contains('|') {
        arg.split('|').collect()
    } else {
        Vec::new()
    };
    match verb {
        "push" => {
            let to = rest.first().copied().unwrap_or_default();
            if to.is_empty() {
                warn!(
                    "push: expected push|<peer>|<message>, got {}",
                    json::quote(command)
                );
                return Ok(Next::Continue);
            }
            if !state.connected {
                warn!("push to {to} while not connected");
            }
            state.pushed += 1;
            info!("push to {to}: {}", rest[1..].join("|"));
        }
        "pull" => {
            if !state.connected {
                warn!("pull while not connected");
            }
            state.pulled += 1;
            info!(
                "pulled messages (pull #{}; {} pushed by this peer)",
                state.pulled, state.pushed
            );
        }
        "rotate-key" => {
            state.key_generation += 1;
            info!("rotated key: now at generation {}", state.key_generation);
        }
        "track" => {
            if arg.is_empty() {
                warn!("track: expected track|<peer>, got {}", json::quote(command));
                return Ok(Next::Continue);
            }
            if !state.tracked.iter().any(|tracked| tracked == arg) {
                state.tracked.push(arg.to_owned());
            }
            info!("tracking {arg} ({} tracked)", state.tracked.len());
        }
        // Only malformed ones get here: `peer|`, `restart|abc`, `restart|-1`, `restart|`.
        "peer" => warn!(
            "peer: expected peer|<address info>, got {}",
            json::quote(command)
        ),
        "restart" => warn!(
            "restart: expected restart|<seconds>, got {}",
            json::quote(command)
        ),
        "log-burst" if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) => {
            // Conformance hook: n lines, then shutdown; none may be lost when the peer exits.
            if let Ok(count) = arg.parse::<u64>() {
                for i in 1..=count {
                    info!("burst {i}");
                }
                return shutdown(client).await;
            }
            warn!("unknown command: {command}");
        }
        // Test hook: the peer reports a failure of its own (status failed|<reason>), carries on.
        "fail" => {
            warn!("reporting failed: {arg}");
            client.fail(arg).await?;
        }
        // Test hook: die at once, like a crash (nothing flushed, no status).
        "exit" => std::process::exit(exit_code(arg)),
        _ => warn!("unknown command: {command}"),
    }
    Ok(Next::Continue)
}

/// A deterministic identifier derived from the peer's name (stands in for a real VLAD):
/// `vlad-` and the first 32 hex digits of SHA-256(name).
fn vlad_for(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("vlad-{hex}")
}

/// The code of `exit|<code>`: a number 0..=255 (JavaScript's `Number`: blank is 0), else 1.
fn exit_code(arg: &str) -> i32 {
    let trimmed = arg.trim();
    let value = if trimmed.is_empty() {
        Some(0.0)
    } else {
        trimmed.parse::<f64>().ok()
    };
    match value {
        Some(code) if code.fract() == 0.0 && (0.0..=255.0).contains(&code) => code as i32,
        _ => 1,
    }
}

/// True if the variable is set to anything but empty, `0` or `false`.
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| {
        !value.is_empty() && value != "0" && !value.eq_ignore_ascii_case("false")
    })
}

/// A positive number of milliseconds from the variable, else 0.
fn env_ms(name: &str) -> f64 {
    let value = std::env::var(name).ok();
    let ms = value
        .as_deref()
        .map_or(Some(0.0), |v| v.trim().parse::<f64>().ok());
    ms.filter(|ms| ms.is_finite() && *ms > 0.0).unwrap_or(0.0)
}

/// Test hook: one `env <NAME>=<JSON string or null>` line per name in `REF_PEER_ECHO_ENV`
/// (comma-separated); JSON keeps any value on one line, exactly.
fn echoed_environment() -> Vec<String> {
    let names = std::env::var("REF_PEER_ECHO_ENV").unwrap_or_default();
    names
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            let value = std::env::var(name).ok();
            let shown = value
                .as_deref()
                .map_or_else(|| "null".to_owned(), json::quote);
            format!("env {name}={shown}")
        })
        .collect()
}
