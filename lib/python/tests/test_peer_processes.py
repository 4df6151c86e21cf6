"""Peers as real processes: the seed guide's my_peer.py and the reference peer, with real
signals, exit codes and the delay file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import redis

from .conftest import log_entries
from .peer_process import EXAMPLES, PeerProcess
from .redis_server import free_port
from .until import until

REFERENCE = ("-m", "the_mule.reference_peer")
MY_PEER = (str(EXAMPLES / "my_peer.py"),)
RunPeer = Callable[..., PeerProcess]


def status_of(store: redis.Redis, peer: str) -> Callable[[], object]:
    return lambda: store.get(f"{peer}_status")


def wait_status(store: redis.Redis, peer: str, status: str) -> None:
    until(lambda: store.get(f"{peer}_status") == status, f"{peer}_status == {status!r}")


def vlad(name: str) -> str:
    return "vlad-" + hashlib.sha256(name.encode()).hexdigest()[:32]


def test_my_peer_connects_and_shuts_down(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*MY_PEER)
    wait_status(store, peer_name, "started")
    store.rpush(f"{peer_name}_command", "connect")
    wait_status(store, peer_name, "connected")
    store.rpush(f"{peer_name}_command", "push|bob|hello", "shutdown")
    assert peer.wait() == 0, peer.stderr
    assert store.get(f"{peer_name}_status") == "stopped"
    assert log_entries(store, peer_name) == [
        "info|received: connect",
        "info|connecting to network...",
        "info|received: push|bob|hello",
        "info|push to bob: hello",
        "info|received: shutdown",
    ]
    assert peer.stderr == ""


def test_my_peer_restart_writes_tmp_delay_and_exits_42(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    # The seed's peer writes /tmp/delay itself (it predates TM_DELAY_FILE).
    peer = run_peer(*MY_PEER)
    wait_status(store, peer_name, "started")
    store.rpush(f"{peer_name}_command", "restart|0")
    assert peer.wait() == 42, peer.stderr
    assert store.get(f"{peer_name}_status") == "restarting"
    delay = Path("/tmp/delay")
    try:
        assert delay.read_text() == "0"
    finally:
        delay.unlink(missing_ok=True)
    # Logged just before sys.exit(42): flushed by logging.shutdown() at exit.
    assert log_entries(store, peer_name) == ["info|received: restart|0"]
    assert peer.stderr == ""  # no traceback from clients left open at exit


def test_my_peer_reports_stopped_and_exits_0_on_sigterm(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*MY_PEER)
    wait_status(store, peer_name, "started")
    peer.terminate()
    assert peer.wait() == 0, peer.stderr
    assert store.get(f"{peer_name}_status") == "stopped"
    assert log_entries(store, peer_name) == ["info|received SIGTERM, stopping"]
    assert peer.stderr == ""


def test_reference_peer_reports_its_address_and_answers_connect_and_disconnect(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(
        *REFERENCE, LISTEN_ADDR="/ip4/0.0.0.0/udp/11984/quic-v1", ADVERTISE_IP="10.1.2.3"
    )
    address = f"{vlad(peer_name)}|/ip4/10.1.2.3/udp/11984/quic-v1"
    wait_status(store, peer_name, f"started|{address}")
    store.rpush(f"{peer_name}_command", "peer|vlad-x|/ip4/10.9.9.9/udp/1/quic-v1", "connect")
    wait_status(store, peer_name, "connected")
    store.rpush(f"{peer_name}_command", "disconnect")
    wait_status(store, peer_name, "disconnected")
    store.rpush(f"{peer_name}_command", "shutdown")
    assert peer.wait() == 0, peer.stderr
    assert store.get(f"{peer_name}_status") == "stopped"
    expected = [
        f"info|{peer_name} starting: {vlad(peer_name)} on /ip4/10.1.2.3/udp/11984/quic-v1",
        "info|adding bootstrap peer: vlad-x at /ip4/10.9.9.9/udp/1/quic-v1",
        "info|connecting to the network via 1 bootstrap peer(s)",
        f"info|connected as {vlad(peer_name)} on /ip4/10.1.2.3/udp/11984/quic-v1",
        "info|disconnecting from the network",
        "info|disconnected",
        "info|shutting down",
    ]
    assert log_entries(store, peer_name) == expected
    assert peer.stdout.splitlines() == expected  # the reference peer echoes its lines


def test_reference_peer_logs_debug_lines_at_log_level_debug(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*REFERENCE, LOG_LEVEL="debug", LISTEN_ADDR="", ADVERTISE_IP="10.1.2.3")
    until(status_of(store, peer_name), "started")
    store.rpush(f"{peer_name}_command", "rotate-key", "bogus|1", "shutdown")
    assert peer.wait() == 0, peer.stderr
    assert log_entries(store, peer_name) == [
        'warn|LISTEN_ADDR "" has no UDP port; using 0',
        f"info|{peer_name} starting: {vlad(peer_name)} on /ip4/10.1.2.3/udp/0/quic-v1",
        "debug|received command: rotate-key",
        "info|rotated key: now at generation 1",
        "debug|received command: bogus|1",
        "warn|unknown command: bogus|1",
        "debug|received command: shutdown",
        "info|shutting down",
    ]


def test_reference_peer_at_log_level_warn_drops_info_lines(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*REFERENCE, LOG_LEVEL="warn", LISTEN_ADDR="/ip4/0.0.0.0/udp/1/quic-v1")
    until(status_of(store, peer_name), "started")
    store.rpush(f"{peer_name}_command", "pull", "restart|soon", "shutdown")
    assert peer.wait() == 0, peer.stderr
    assert log_entries(store, peer_name) == [
        "warn|pull while not connected",
        'warn|restart: expected restart|<seconds>, got "restart|soon"',
    ]


def test_reference_peer_burst_of_50_commands_is_handled_in_order(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*REFERENCE, LISTEN_ADDR="/ip4/0.0.0.0/udp/1/quic-v1")
    until(status_of(store, peer_name), "started")
    store.rpush(f"{peer_name}_command", *[f"track|p{i}" for i in range(50)], "shutdown")
    assert peer.wait() == 0, peer.stderr
    tracked = [e for e in log_entries(store, peer_name) if e.startswith("info|tracking")]
    assert tracked == [f"info|tracking p{i} ({i + 1} tracked)" for i in range(50)]


def test_reference_peer_log_burst_loses_no_line_when_it_exits_right_after(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*REFERENCE, LISTEN_ADDR="/ip4/0.0.0.0/udp/1/quic-v1")
    until(status_of(store, peer_name), "started")
    store.rpush(f"{peer_name}_command", "log-burst|1000")
    assert peer.wait() == 0, peer.stderr
    assert store.get(f"{peer_name}_status") == "stopped"
    assert log_entries(store, peer_name)[1:] == [
        *(f"info|burst {i}" for i in range(1, 1001)),
        "info|shutting down",
    ]


def test_reference_peer_warns_about_standard_verbs_with_a_stray_argument(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*REFERENCE, LOG_LEVEL="warn", LISTEN_ADDR="/ip4/0.0.0.0/udp/1/quic-v1")
    until(status_of(store, peer_name), "started")
    store.rpush(f"{peer_name}_command", "connect|now", "peer|", "log-burst|x", "shutdown")
    assert peer.wait() == 0, peer.stderr
    assert log_entries(store, peer_name) == [
        "warn|unknown command: connect|now",
        'warn|peer: expected peer|<address info>, got "peer|"',
        "warn|unknown command: log-burst|x",
    ]


def test_reference_peer_restart_writes_the_delay_file_and_exits_42(
    run_peer: RunPeer, store: redis.Redis, peer_name: str, tmp_path: Path
) -> None:
    delay_file = tmp_path / "delay"
    peer = run_peer(
        *REFERENCE, TM_DELAY_FILE=str(delay_file), LISTEN_ADDR="/ip4/0.0.0.0/udp/1/quic-v1"
    )
    until(status_of(store, peer_name), "started")
    store.rpush(f"{peer_name}_command", "restart|0.5")
    assert peer.wait() == 42, peer.stderr
    assert delay_file.read_text() == "0.5"
    assert store.get(f"{peer_name}_status") == "restarting"
    assert log_entries(store, peer_name)[-1] == (
        f"info|restarting in 0.5s (delay written to {delay_file})"
    )


def test_reference_peer_reports_stopped_and_exits_0_on_sigterm(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*REFERENCE, LISTEN_ADDR="/ip4/0.0.0.0/udp/1/quic-v1")
    until(status_of(store, peer_name), "started")
    store.rpush(f"{peer_name}_command", "connect")
    wait_status(store, peer_name, "connected")
    peer.terminate()
    assert peer.wait() == 0, peer.stderr
    assert store.get(f"{peer_name}_status") == "stopped"
    assert log_entries(store, peer_name)[-1] == "info|received SIGTERM, stopping"
    assert peer.stderr == ""


def test_reference_peer_exit_hook_exits_with_the_code(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(*REFERENCE, LISTEN_ADDR="/ip4/0.0.0.0/udp/1/quic-v1")
    until(status_of(store, peer_name), "started")
    store.rpush(f"{peer_name}_command", "exit|3")
    assert peer.wait() == 3


def test_reference_peer_test_hooks_echo_env_and_never_start(
    run_peer: RunPeer, store: redis.Redis, peer_name: str
) -> None:
    peer = run_peer(
        *REFERENCE,
        LISTEN_ADDR="/ip4/0.0.0.0/udp/1/quic-v1",
        ADVERTISE_IP="10.0.0.1",
        REF_PEER_ECHO_ENV="GREETING, UNSET_ONE",
        GREETING='say "hi" | bye',
        REF_PEER_NEVER_START="1",
    )
    expected = [
        f"info|{peer_name} starting: {vlad(peer_name)} on /ip4/10.0.0.1/udp/1/quic-v1",
        'info|env GREETING="say \\"hi\\" | bye"',
        "info|env UNSET_ONE=null",
        "warn|never reporting started (REF_PEER_NEVER_START is set)",
    ]
    until(lambda: log_entries(store, peer_name) == expected, "the start lines")
    assert store.get(f"{peer_name}_status") is None
    peer.terminate()
    assert peer.wait() == 0


def test_reference_peer_without_peer_name_prints_one_line_and_exits_1(
    run_peer: RunPeer,
) -> None:
    peer = run_peer(*REFERENCE, PEER_NAME="")
    assert peer.wait() == 1
    assert peer.stderr.splitlines() == [
        "python reference peer: PEER_NAME is not set: the orchestrator sets it; "
        "set it yourself or call .peer_name()"
    ]


def test_reference_peer_with_unreachable_redis_prints_one_line_and_exits_1(
    run_peer: RunPeer,
) -> None:
    port = free_port()
    peer = run_peer(
        *REFERENCE, REDIS_URL=f"redis://:pw@127.0.0.1:{port}/4", MULE_CONNECT_TIMEOUT="0.5"
    )
    assert peer.wait() == 1
    lines = peer.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"python reference peer: cannot reach Redis at redis://:***@127.0.0.1:{port}/4 after 0.5s: "
    )
