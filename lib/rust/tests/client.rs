//! The library against a real redis-server: commands, statuses, log forwarding, close, URLs with
//! a database and a password, connection errors. (The restart protocol, SIGTERM and the
//! environment are exercised through the reference peer binary, in reference-peer/tests.)

use std::time::Duration;

use futures_util::StreamExt;
use mule_test_support::{RedisServer, free_port};
use the_mule::{Command, Error, LevelFilter, MuleClient, MuleClientBuilder, RestartDelay};

/// A client of peer `name` on database `db`, forwarding from `level` up. No global subscriber
/// (tests set a thread-local one) and no SIGTERM handler (the test process is not a peer).
async fn client(server: &RedisServer, db: u32, name: &str, level: LevelFilter) -> MuleClient {
    builder(&server.url(db), name)
        .log_level(level)
        .build()
        .await
        .expect("build")
}

/// Everything the environment could set is set here, so that the tests do not depend on it.
fn builder(url: &str, name: &str) -> MuleClientBuilder {
    MuleClientBuilder::new()
        .redis_url(url)
        .peer_name(name)
        .log_level(LevelFilter::INFO)
        .install_tracing(false)
        .handle_sigterm(false)
}

/// A plain connection to look at what the client wrote.
async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).expect("url");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

/// A blocking connection to look at what the client wrote. Blocking on purpose: while it
/// runs, the client's writer task (on this test's single-threaded runtime) cannot, so a test
/// sees what the call it awaited guaranteed, not what the writer happened to do afterwards.
fn inspect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("url")
        .get_connection()
        .expect("connect")
}

/// The entries of `<peer>_log` in the order `tm` reads them (it pops from the right).
fn log_lines(connection: &mut redis::Connection, key: &str) -> Vec<String> {
    let mut lines: Vec<String> = redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query(connection)
        .unwrap();
    lines.reverse();
    lines
}

fn get(connection: &mut redis::Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(connection).unwrap()
}

#[tokio::test]
async fn stream_yields_a_burst_of_50_commands_in_order() {
    let server = RedisServer::start();
    let mut client = client(&server, 0, "alice", LevelFilter::INFO).await;
    let sent: Vec<String> = (0..50)
        .map(|i| match i % 5 {
            0 => "connect".to_owned(),
            1 => format!("push|bob|message {i}"),
            2 => format!("restart|{i}"),
            3 => format!("peer|vlad-{i}|/ip4/10.0.0.{i}/udp/4001/quic-v1"),
            _ => "disconnect".to_owned(),
        })
        .collect();
    let mut redis = redis(&server.url(0)).await;
    // One RPUSH: all 50 are in the list before the client pops the first.
    let _: () = redis::cmd("RPUSH")
        .arg("alice_command")
        .arg(&sent)
        .query_async(&mut redis)
        .await
        .unwrap();

    let mut received = Vec::new();
    for _ in 0..50 {
        received.push(client.next().await.expect("a command"));
    }
    let raw: Vec<String> = received.iter().map(Command::to_string).collect();
    assert_eq!(raw, sent);
    assert_eq!(received[0], Command::Connect);
    assert_eq!(
        received[2],
        Command::Restart {
            delay_secs: RestartDelay::parse("2").unwrap(),
        }
    );
    assert_eq!(
        received[3],
        Command::Peer {
            multiaddr: "vlad-3|/ip4/10.0.0.3/udp/4001/quic-v1".into(),
        }
    );
    assert_eq!(received[4], Command::Disconnect);
    client.close().await;
}

#[tokio::test]
async fn send_status_sets_the_status_and_fail_reports_the_reason() {
    let server = RedisServer::start();
    let client = client(&server, 0, "alice", LevelFilter::INFO).await;
    let mut redis = inspect(&server.url(0));

    client
        .send_status("started|vlad-1|/ip4/10.0.0.1/udp/4001/quic-v1")
        .await
        .unwrap();
    assert_eq!(
        get(&mut redis, "alice_status").as_deref(),
        Some("started|vlad-1|/ip4/10.0.0.1/udp/4001/quic-v1")
    );
    client.fail("disk full").await.unwrap();
    assert_eq!(
        get(&mut redis, "alice_status").as_deref(),
        Some("failed|disk full")
    );
}

#[tokio::test]
async fn tracing_layer_forwards_every_level_in_order_with_fields() {
    use tracing_subscriber::layer::SubscriberExt;

    let server = RedisServer::start();
    let mut client = client(&server, 0, "alice", LevelFilter::TRACE).await;
    let subscriber = tracing_subscriber::registry().with(client.tracing_layer());
    let _default = tracing::subscriber::set_default(subscriber);

    tracing::error!("one");
    tracing::warn!("two {}", 2);
    tracing::info!(peer = "bob", attempt = 3, "three");
    tracing::debug!("four");
    tracing::trace!("five");
    client.close().await;

    let mut redis = inspect(&server.url(0));
    assert_eq!(
        log_lines(&mut redis, "alice_log"),
        [
            "error|one",
            "warn|two 2",
            "info|three peer=bob attempt=3",
            "debug|four",
            "debug|five"
        ]
    );
}

#[tokio::test]
async fn tracing_layer_drops_lines_below_the_level() {
    use tracing_subscriber::layer::SubscriberExt;

    let server = RedisServer::start();
    let mut client = client(&server, 0, "alice", LevelFilter::WARN).await;
    let _default = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(client.tracing_layer()),
    );

    tracing::info!("dropped");
    tracing::warn!("kept");
    tracing::debug!("dropped too");
    tracing::error!("kept too");
    client.close().await;

    let mut redis = inspect(&server.url(0));
    assert_eq!(
        log_lines(&mut redis, "alice_log"),
        ["warn|kept", "error|kept too"]
    );
}

#[tokio::test]
async fn close_pushes_all_1000_lines_logged_right_before_it() {
    use tracing_subscriber::layer::SubscriberExt;

    let server = RedisServer::start();
    let mut client = client(&server, 0, "alice", LevelFilter::INFO).await;
    let _default = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(client.tracing_layer()),
    );

    for i in 0..1000 {
        tracing::info!("line {i}");
    }
    client.close().await;

    let mut redis = inspect(&server.url(0));
    let expected: Vec<String> = (0..1000).map(|i| format!("info|line {i}")).collect();
    assert_eq!(log_lines(&mut redis, "alice_log"), expected);
}

#[tokio::test]
async fn send_status_reaches_redis_after_the_lines_logged_before_it() {
    use tracing_subscriber::layer::SubscriberExt;

    let server = RedisServer::start();
    let client = client(&server, 0, "alice", LevelFilter::INFO).await;
    let _default = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(client.tracing_layer()),
    );

    for i in 0..100 {
        tracing::info!("before {i}");
    }
    client.send_status("connected").await.unwrap();

    let mut redis = inspect(&server.url(0));
    assert_eq!(log_lines(&mut redis, "alice_log").len(), 100);
}

#[tokio::test]
async fn close_is_idempotent_and_ends_the_stream() {
    let server = RedisServer::start();
    let mut client = client(&server, 0, "alice", LevelFilter::INFO).await;
    client.close().await;
    client.close().await;

    assert_eq!(client.next().await, None);
    assert!(client.take_error().is_none());
    assert!(matches!(
        client.send_status("stopped").await,
        Err(Error::Closed)
    ));
}

#[tokio::test]
async fn stream_loses_no_command_when_next_is_cancelled() {
    let server = RedisServer::start();
    let mut client = client(&server, 0, "alice", LevelFilter::INFO).await;
    // Start a BLPOP and abandon the `next()` future while Redis still holds it.
    let abandoned = tokio::time::timeout(Duration::from_millis(50), client.next()).await;
    assert!(abandoned.is_err(), "no command was sent yet");

    let mut redis = redis(&server.url(0)).await;
    let _: () = redis::cmd("RPUSH")
        .arg("alice_command")
        .arg("connect")
        .query_async(&mut redis)
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(20), client.next_command()).await;
    assert_eq!(
        next.expect("the command pushed after the cancellation"),
        Some(Command::Connect)
    );
}

#[tokio::test]
async fn stream_ends_with_an_error_when_redis_goes_away() {
    let server = RedisServer::start();
    let mut client = client(&server, 0, "alice", LevelFilter::INFO).await;
    drop(server);

    assert_eq!(client.next().await, None);
    let error = client.take_error().expect("why the stream ended");
    assert!(matches!(error, Error::Redis { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("waiting for a command on alice_command failed: "),
        "{error}"
    );
}

#[tokio::test]
async fn build_honours_the_database_and_the_password_of_the_url() {
    let server = RedisServer::start_with_password("s3cret pw");
    let client = client(&server, 3, "alice", LevelFilter::INFO).await;
    client.send_status("started").await.unwrap();

    let mut db3 = inspect(&server.url(3));
    assert_eq!(get(&mut db3, "alice_status").as_deref(), Some("started"));
    let mut db0 = inspect(&server.url(0));
    assert_eq!(get(&mut db0, "alice_status"), None);
}

#[tokio::test]
async fn build_authenticates_as_the_acl_user_of_the_url() {
    let server = RedisServer::start();
    let mut admin = redis(&server.url(0)).await;
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "peer", "on", ">peer-pw", "~*", "&*", "+@all"][..])
        .query_async(&mut admin)
        .await
        .unwrap();
    let url = format!("redis://peer:peer-pw@127.0.0.1:{}/3", server.port());
    let client = builder(&url, "alice")
        .build()
        .await
        .expect("build as ACL user");
    client.send_status("started").await.unwrap();

    let mut db3 = inspect(&server.url(3));
    assert_eq!(get(&mut db3, "alice_status").as_deref(), Some("started"));
}

#[tokio::test]
async fn build_fails_at_once_on_a_wrong_password_without_showing_it() {
    let server = RedisServer::start_with_password("right");
    let url = format!("redis://:wrong-pw@127.0.0.1:{}/0", server.port());
    // The default connect timeout is 10 s: failing at once is what keeps this test short.
    let error = builder(&url, "alice")
        .build()
        .await
        .err()
        .expect("a wrong password fails");

    let message = error.to_string();
    assert!(matches!(error, Error::Redis { .. }), "{error:?}");
    assert!(
        message.starts_with(&format!(
            "connecting to Redis at redis://:***@127.0.0.1:{}/0 failed: ",
            server.port()
        )),
        "{message}"
    );
    assert!(!message.contains("wrong-pw"), "{message}");
}

#[tokio::test]
async fn build_reports_an_unreachable_redis_after_the_connect_timeout() {
    let port = free_port();
    let url = format!("redis://:pw@127.0.0.1:{port}/2");
    let error = builder(&url, "alice")
        .connect_timeout(Duration::from_millis(300))
        .build()
        .await
        .err()
        .expect("nothing listens there");

    let message = error.to_string();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(
        message.starts_with(&format!(
            "cannot reach Redis at redis://:***@127.0.0.1:{port}/2 after 0.3s: "
        )),
        "{message}"
    );
}

#[tokio::test]
async fn build_names_the_missing_variable() {
    let server = RedisServer::start();
    let no_name = builder(&server.url(0), "")
        .build()
        .await
        .err()
        .expect("an empty name fails");
    assert!(
        matches!(no_name, Error::MissingVariable("PEER_NAME")),
        "{no_name:?}"
    );
    assert!(no_name.to_string().starts_with("PEER_NAME is not set"));

    let no_url = builder("", "alice")
        .build()
        .await
        .err()
        .expect("an empty URL fails");
    assert!(
        matches!(no_url, Error::MissingVariable("REDIS_URL")),
        "{no_url:?}"
    );
    assert!(no_url.to_string().starts_with("REDIS_URL is not set"));
}

#[tokio::test]
async fn build_rejects_a_malformed_url_showing_it_masked() {
    let error = builder("http://:pw@127.0.0.1:1", "alice")
        .build()
        .await
        .err()
        .expect("not redis://");
    assert!(matches!(error, Error::InvalidUrl { .. }), "{error:?}");
    assert!(!error.to_string().contains(":pw@"), "{error}");
}
