//! The reference peer binary as the orchestrator runs it: a process with an environment, a real
//! redis-server, real signals and exit codes. What only a whole process shows (the environment,
//! the restart protocol's exit 42, SIGTERM, one-line errors on stderr) is tested here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};

use mule_test_support::{RedisServer, free_port, until};
use redis::Commands;

const PEER: &str = env!("CARGO_BIN_EXE_reference-peer");

/// The first 32 hex digits of SHA-256("alice"), as `vlad-` in the peer's address.
const ALICE_VLAD: &str = "vlad-2bd806c97f0e00af1a1fc3328fa763a9";

/// The reference peer `alice` with a clean environment: `vars` and nothing else.
fn peer(vars: &[(&str, &str)]) -> Child {
    Command::new(PEER)
        .env_clear()
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the reference peer")
}

/// The environment tm gives a peer, for `alice` on database `db` of `server`.
fn orchestrated(server: &RedisServer, db: u32) -> HashMap<&'static str, String> {
    HashMap::from([
        ("REDIS_URL", server.url(db)),
        ("PEER_NAME", "alice".to_owned()),
        ("LISTEN_ADDR", "/ip4/0.0.0.0/udp/11984/quic-v1".to_owned()),
        ("ADVERTISE_IP", "10.0.0.7".to_owned()),
    ])
}

fn start(env: &HashMap<&'static str, String>) -> Child {
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    peer(&vars)
}

fn connect(server: &RedisServer, db: u32) -> redis::Connection {
    redis::Client::open(server.url(db))
        .unwrap()
        .get_connection()
        .unwrap()
}

fn status(redis: &mut redis::Connection) -> Option<String> {
    redis.get("alice_status").unwrap()
}

/// Waits until `alice_status` starts with `prefix`; returns it.
fn await_status(redis: &mut redis::Connection, prefix: &str) -> String {
    until(&format!("status {prefix}"), || {
        status(redis).filter(|s| s.starts_with(prefix))
    })
}

fn send(redis: &mut redis::Connection, commands: &[&str]) {
    let _: () = redis.rpush("alice_command", commands).unwrap();
}

/// `alice_log` in the order tm reads it.
fn log_lines(redis: &mut redis::Connection) -> Vec<String> {
    let mut lines: Vec<String> = redis.lrange("alice_log", 0, -1).unwrap();
    lines.reverse();
    lines
}

/// Waits for the peer to exit; returns its status and output.
fn finish(mut child: Child) -> Output {
    until("the peer to exit", || child.try_wait().unwrap());
    child.wait_with_output().unwrap()
}

fn code(status: ExitStatus) -> Option<i32> {
    status.code()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn reference_peer_answers_every_command_with_the_lines_of_the_typescript_peer() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 1);
    let mut env = orchestrated(&server, 1);
    env.insert("LOG_LEVEL", "debug".to_owned());
    let child = start(&env);

    let started = await_status(&mut redis, "started");
    assert_eq!(
        started,
        format!("started|{ALICE_VLAD}|/ip4/10.0.0.7/udp/11984/quic-v1")
    );
    send(
        &mut redis,
        &[
            "peer|vlad-b|/ip4/10.0.0.8/udp/1/quic-v1",
            "connect",
            "push|bob|hi|there",
            "pull",
            "track|bob",
            "rotate-key",
            "disconnect",
            "restart|soon",
            "connect|now",
            "log-burst|x",
            "bogus",
            "log-burst|3",
        ],
    );
    let output = finish(child);

    assert_eq!(code(output.status), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(status(&mut redis).as_deref(), Some("stopped"));
    let addr = "/ip4/10.0.0.7/udp/11984/quic-v1";
    let expected = [
        format!("info|alice starting: {ALICE_VLAD} on {addr}"),
        "debug|received command: peer|vlad-b|/ip4/10.0.0.8/udp/1/quic-v1".to_owned(),
        "info|adding bootstrap peer: vlad-b at /ip4/10.0.0.8/udp/1/quic-v1".to_owned(),
        "debug|received command: connect".to_owned(),
        "info|connecting to the network via 1 bootstrap peer(s)".to_owned(),
        "debug|dialing vlad-b at /ip4/10.0.0.8/udp/1/quic-v1".to_owned(),
        format!("info|connected as {ALICE_VLAD} on {addr}"),
        "debug|received command: push|bob|hi|there".to_owned(),
        "info|push to bob: hi|there".to_owned(),
        "debug|received command: pull".to_owned(),
        "info|pulled messages (pull #1; 1 pushed by this peer)".to_owned(),
        "debug|received command: track|bob".to_owned(),
        "info|tracking bob (1 tracked)".to_owned(),
        "debug|received command: rotate-key".to_owned(),
        "info|rotated key: now at generation 1".to_owned(),
        "debug|received command: disconnect".to_owned(),
        "info|disconnecting from the network".to_owned(),
        "info|disconnected".to_owned(),
        "debug|received command: restart|soon".to_owned(),
        "warn|restart: expected restart|<seconds>, got \"restart|soon\"".to_owned(),
        "debug|received command: connect|now".to_owned(),
        "warn|unknown command: connect|now".to_owned(),
        "debug|received command: log-burst|x".to_owned(),
        "warn|unknown command: log-burst|x".to_owned(),
        "debug|received command: bogus".to_owned(),
        "warn|unknown command: bogus".to_owned(),
        "debug|received command: log-burst|3".to_owned(),
        "info|burst 1".to_owned(),
        "info|burst 2".to_owned(),
        "info|burst 3".to_owned(),
        "info|shutting down".to_owned(),
    ];
    assert_eq!(log_lines(&mut redis), expected);
    // The same lines, echoed on stdout for `docker logs`.
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .collect::<Vec<_>>(),
        expected
    );
}

#[test]
fn reference_peer_reports_each_status_of_connect_and_disconnect() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 0);
    // Transitions last 20 ms, too short to poll for: MONITOR, started before the peer, sees
    // every SET of the status in order.
    let mut monitor = connect(&server, 0);
    monitor
        .set_read_timeout(Some(mule_test_support::DEADLINE))
        .unwrap();
    monitor
        .send_packed_command(&redis::cmd("MONITOR").get_packed_command())
        .unwrap();
    assert_eq!(monitor.recv_response().unwrap(), redis::Value::Okay);
    let child = start(&orchestrated(&server, 0));
    let mut next_status = || loop {
        let redis::Value::SimpleString(line) = monitor.recv_response().unwrap() else {
            continue;
        };
        if let Some(set) = line.split_once(r#""SET" "alice_status" ""#) {
            return set.1.trim_end_matches('"').to_owned();
        }
    };

    let mut statuses = vec![next_status()];
    send(&mut redis, &["connect"]);
    statuses.extend([next_status(), next_status()]);
    send(&mut redis, &["connect"]);
    statuses.push(next_status());
    send(&mut redis, &["disconnect"]);
    statuses.extend([next_status(), next_status()]);
    send(&mut redis, &["shutdown"]);
    statuses.push(next_status());
    let output = finish(child);

    assert_eq!(code(output.status), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(
        statuses[0],
        format!("started|{ALICE_VLAD}|/ip4/10.0.0.7/udp/11984/quic-v1")
    );
    assert_eq!(
        statuses[1..],
        [
            "connecting",
            "connected",
            "connected",
            "disconnecting",
            "disconnected",
            "stopped"
        ]
    );
}

#[test]
fn reference_peer_log_burst_of_1000_loses_no_line_when_it_exits() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 0);
    let child = start(&orchestrated(&server, 0));

    await_status(&mut redis, "started");
    send(&mut redis, &["log-burst|1000"]);
    let output = finish(child);

    assert_eq!(code(output.status), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(status(&mut redis).as_deref(), Some("stopped"));
    let lines = log_lines(&mut redis);
    let burst: Vec<String> = (1..=1000).map(|i| format!("info|burst {i}")).collect();
    assert_eq!(lines[1..1001], burst);
    assert_eq!(lines[1001..], ["info|shutting down"]);
}

#[test]
fn reference_peer_restart_writes_the_delay_file_and_exits_42() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 0);
    let delay_file = temp_path("delay");
    let mut env = orchestrated(&server, 0);
    env.insert("TM_DELAY_FILE", delay_file.display().to_string());
    let child = start(&env);

    await_status(&mut redis, "started");
    send(&mut redis, &["restart|0.5"]);
    let output = finish(child);

    assert_eq!(code(output.status), Some(42), "stderr: {}", stderr(&output));
    assert_eq!(status(&mut redis).as_deref(), Some("restarting"));
    assert_eq!(std::fs::read_to_string(&delay_file).unwrap(), "0.5");
    assert_eq!(
        log_lines(&mut redis).last().map(String::as_str),
        Some(
            format!(
                "info|restarting in 0.5s (delay written to {})",
                delay_file.display()
            )
            .as_str()
        )
    );
    std::fs::remove_file(&delay_file).unwrap();
}

#[test]
fn reference_peer_on_sigterm_reports_stopped_and_exits_0() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 0);
    let child = start(&orchestrated(&server, 0));
    await_status(&mut redis, "started");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = finish(child);

    assert_eq!(code(output.status), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(status(&mut redis).as_deref(), Some("stopped"));
    assert_eq!(
        log_lines(&mut redis).last().map(String::as_str),
        Some("info|received SIGTERM, stopping")
    );
}

#[test]
fn reference_peer_with_log_level_warn_forwards_no_info_line() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 0);
    let mut env = orchestrated(&server, 0);
    env.insert("LOG_LEVEL", "WARN".to_owned());
    env.insert("LISTEN_ADDR", "/ip4/0.0.0.0/tcp/4001".to_owned());
    let child = start(&env);

    await_status(&mut redis, "started");
    send(&mut redis, &["pull", "connect", "shutdown"]);
    let output = finish(child);

    assert_eq!(code(output.status), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(
        log_lines(&mut redis),
        [
            "warn|LISTEN_ADDR \"/ip4/0.0.0.0/tcp/4001\" has no UDP port; using 0",
            "warn|pull while not connected"
        ]
    );
}

#[test]
fn reference_peer_honours_rust_log_when_log_level_is_unset() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 0);
    let mut env = orchestrated(&server, 0);
    env.insert("RUST_LOG", "error,reference_peer=debug".to_owned());
    let child = start(&env);

    await_status(&mut redis, "started");
    send(&mut redis, &["pull", "shutdown"]);
    let output = finish(child);

    assert_eq!(code(output.status), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(log_lines(&mut redis), Vec::<String>::new());
}

#[test]
fn reference_peer_echoes_the_environment_and_delays_its_start_when_asked() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 0);
    let mut env = orchestrated(&server, 0);
    env.insert("REF_PEER_ECHO_ENV", "GREETING, UNSET".to_owned());
    env.insert("GREETING", "hello \"tm\"\n".to_owned());
    env.insert("REF_PEER_START_DELAY_MS", "10".to_owned());
    let child = start(&env);

    await_status(&mut redis, "started");
    send(&mut redis, &["shutdown"]);
    finish(child);

    assert_eq!(
        log_lines(&mut redis)[1..4],
        [
            "info|env GREETING=\"hello \\\"tm\\\"\\n\"",
            "info|env UNSET=null",
            "info|delaying start by 10 ms (REF_PEER_START_DELAY_MS)",
        ]
    );
}

#[test]
fn reference_peer_test_hooks_never_start_ignore_shutdown_and_exit() {
    let server = RedisServer::start();
    let mut redis = connect(&server, 0);
    let mut env = orchestrated(&server, 0);
    env.insert("REF_PEER_NEVER_START", "1".to_owned());
    env.insert("REF_PEER_IGNORE_SHUTDOWN", "true".to_owned());
    let child = start(&env);

    let warned = "warn|never reporting started (REF_PEER_NEVER_START is set)";
    until("the never-start warning", || {
        log_lines(&mut redis)
            .contains(&warned.to_owned())
            .then_some(())
    });
    send(&mut redis, &["shutdown", "exit|7"]);
    let output = finish(child);

    assert_eq!(code(output.status), Some(7));
    assert_eq!(status(&mut redis), None);
    assert!(
        log_lines(&mut redis)
            .contains(&"warn|ignoring shutdown (REF_PEER_IGNORE_SHUTDOWN is set)".to_owned())
    );
}

#[test]
fn reference_peer_without_peer_name_exits_1_with_one_line() {
    let server = RedisServer::start();
    let output = finish(peer(&[("REDIS_URL", &server.url(0))]));

    assert_eq!(code(output.status), Some(1));
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("rust reference peer: PEER_NAME is not set"),
        "{stderr}"
    );
}

#[test]
fn reference_peer_without_redis_url_exits_1_with_one_line() {
    let output = finish(peer(&[("PEER_NAME", "alice")]));

    assert_eq!(code(output.status), Some(1));
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("rust reference peer: REDIS_URL is not set"),
        "{stderr}"
    );
}

#[test]
fn reference_peer_with_unreachable_redis_exits_1_naming_the_masked_url() {
    let port = free_port();
    let url = format!("redis://user:hunter2@127.0.0.1:{port}/4");
    let output = finish(peer(&[
        ("REDIS_URL", &url),
        ("PEER_NAME", "alice"),
        ("MULE_CONNECT_TIMEOUT", "0.5"),
    ]));

    assert_eq!(code(output.status), Some(1));
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let expected = format!(
        "rust reference peer: cannot reach Redis at redis://user:***@127.0.0.1:{port}/4 after 0.5s: "
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn reference_peer_with_a_password_and_a_database_uses_both() {
    let server = RedisServer::start_with_password("pw");
    let mut redis = connect(&server, 5);
    let child = start(&orchestrated(&server, 5));

    await_status(&mut redis, "started");
    send(&mut redis, &["shutdown"]);
    let output = finish(child);

    assert_eq!(code(output.status), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(status(&mut redis).as_deref(), Some("stopped"));
}

/// A path in the temp directory unique to this process and `name`.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mule-reference-peer-{}-{name}", std::process::id()))
}
