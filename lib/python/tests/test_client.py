"""MuleClient in this process against a real redis-server: commands, statuses, logs, errors."""

from __future__ import annotations

import asyncio
import inspect
import logging
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

import the_mule.client as client_module
from the_mule import (
    MuleClient,
    MuleClientBuilder,
    MuleClientError,
    MuleConfigError,
    RedisUnreachableError,
)
from the_mule.restart import write_delay_file

from .conftest import log_entries
from .redis_server import RedisServer, free_port
from .until import until


async def test_iteration_yields_a_burst_of_50_commands_in_order(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    sent = [f"push|bob|message {i}" for i in range(50)]
    store.rpush(f"{peer_name}_command", *sent)
    received = []
    async for command in client:
        received.append(command)
        if len(received) == len(sent):
            break
    assert received == sent


async def test_iteration_waits_for_a_command_pushed_later(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    waiting = asyncio.ensure_future(client.__anext__())
    await asyncio.sleep(0.05)  # let BLPOP reach Redis; the command is pushed afterwards
    assert not waiting.done()
    store.rpush(f"{peer_name}_command", "connect")
    assert await asyncio.wait_for(waiting, 10) == "connect"


def _redis_py_socket_timeout() -> float | None:
    """The socket timeout redis-py gives a client that sets none: 5 s from redis-py 8 on."""
    parameter = inspect.signature(aioredis.Redis.__init__).parameters["socket_timeout"]
    default = parameter.default
    return float(default) if isinstance(default, (int, float)) else None


async def test_an_idle_blpop_outlives_the_redis_py_default_socket_timeout(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    # redis-py 8 gives every client a 5 s socket timeout, which ends an idle BLPOP ... 0 with a
    # TimeoutError unless the client sets its own (redis-py's retries then reissue it on a new
    # connection, a few times, before the error surfaces); lib/python/check.sh runs this on
    # redis-py 5.x and 8.x. The BLPOP must still be the same one, on the same connection.
    key = f"{peer_name}_command"

    def blocked_on_key() -> list[str]:
        return [str(c["id"]) for c in store.client_list() if c.get("cmd") == "blpop"]

    before = set(blocked_on_key())
    waiting = asyncio.ensure_future(client.__anext__())
    ours = await asyncio.to_thread(
        until, lambda: set(blocked_on_key()) - before, "the client's BLPOP to reach Redis"
    )
    idle = max(_redis_py_socket_timeout() or 0.0, 5.0) + 1.0
    await asyncio.sleep(idle)
    assert not waiting.done(), f"the wait for a command ended after {idle}s idle: {waiting}"
    assert ours <= set(blocked_on_key()), "the BLPOP was dropped and reissued while idle"
    store.rpush(key, "connect")
    assert await asyncio.wait_for(waiting, 10) == "connect"


async def test_iteration_fails_with_a_clear_error_when_redis_goes_away(peer_name: str) -> None:
    server = RedisServer().start()
    try:
        client = await MuleClientBuilder().redis_url(server.url()).peer_name(peer_name).build()
        waiting = asyncio.ensure_future(client.__anext__())
        await asyncio.sleep(0.05)
        server.stop()
        with pytest.raises(MuleClientError, match=r"^waiting for a command failed: "):
            await asyncio.wait_for(waiting, 60)
    finally:
        server.stop()
    await client.close()


async def test_close_ends_a_pending_iteration(client: MuleClient) -> None:
    async def drain() -> list[str]:
        return [command async for command in client]

    iteration = asyncio.ensure_future(drain())
    await asyncio.sleep(0.05)
    await client.close()
    assert await asyncio.wait_for(iteration, 10) == []
    assert client.closed


async def test_send_status_sets_the_status_key(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    await client.send_status("started|vlad-1|/ip4/127.0.0.1/udp/1/quic-v1")
    assert store.get(f"{peer_name}_status") == "started|vlad-1|/ip4/127.0.0.1/udp/1/quic-v1"


async def test_fail_reports_failed_with_the_reason(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    await client.fail("disk full")
    assert store.get(f"{peer_name}_status") == "failed|disk full"


async def test_send_status_pushes_earlier_log_lines_first(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    logging.info("about to connect")
    await client.send_status("connected")
    assert log_entries(store, peer_name) == ["info|about to connect"]


async def test_log_records_are_forwarded_with_wire_levels_in_order(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    logging.getLogger("app").debug("one")
    logging.info("two %d", 2)
    logging.warning("three")
    logging.error("four")
    logging.critical("five")
    logging.log(5, "below debug")  # TRACE-like: under the debug threshold, dropped
    logging.getLogger("redis.connection").debug("redis-py's own record: not the peer's")
    await client.close()
    assert log_entries(store, peer_name) == [
        "debug|one",
        "info|two 2",
        "warn|three",
        "error|four",
        "error|five",
    ]


async def test_close_flushes_1000_lines_logged_just_before(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    for i in range(1000):
        logging.info("line %d", i)
    await client.close()
    assert log_entries(store, peer_name) == [f"info|line {i}" for i in range(1000)]


async def test_close_is_idempotent_and_later_statuses_fail(client: MuleClient) -> None:
    await asyncio.gather(client.close(), client.close())
    await client.close()
    with pytest.raises(MuleClientError, match=r"send_status\(\) after close\(\)"):
        await client.send_status("connected")


async def test_log_level_warn_drops_info_and_debug(
    monkeypatch: pytest.MonkeyPatch,
    redis_server: RedisServer,
    store: redis.Redis,
    peer_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "WARN")
    client = (
        await MuleClientBuilder()
        .redis_url(redis_server.url())
        .peer_name(peer_name)
        .echo_logs()
        .build()
    )
    logging.debug("dropped debug")
    logging.info("dropped info")
    logging.warning("kept warning")
    await client.close()
    assert log_entries(store, peer_name) == ["warn|kept warning"]
    assert capsys.readouterr().out == "warn|kept warning\n"


async def test_echo_logs_prints_level_bar_message_on_stdout(
    redis_server: RedisServer, peer_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = (
        await MuleClientBuilder()
        .redis_url(redis_server.url())
        .peer_name(peer_name)
        .echo_logs()
        .build()
    )
    logging.info("hello")
    await client.close()
    assert capsys.readouterr().out == "info|hello\n"


async def test_build_reads_redis_url_and_peer_name_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer, store: redis.Redis, peer_name: str
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url())
    monkeypatch.setenv("PEER_NAME", peer_name)
    client = await MuleClientBuilder().build()
    await client.send_status("started")
    await client.close()
    assert client.peer_name == peer_name
    assert store.get(f"{peer_name}_status") == "started"


async def test_build_honours_the_database_in_redis_url(
    redis_server: RedisServer, store: redis.Redis, peer_name: str
) -> None:
    client = (
        await MuleClientBuilder().redis_url(redis_server.url(db=3)).peer_name(peer_name).build()
    )
    logging.info("in db 3")
    await client.send_status("started")
    await client.close()
    with redis_server.client(db=3) as db3:
        assert db3.get(f"{peer_name}_status") == "started"
        assert db3.lrange(f"{peer_name}_log", 0, -1) == ["info|in db 3"]
    assert store.exists(f"{peer_name}_status", f"{peer_name}_log") == 0


async def test_build_authenticates_with_the_password_in_redis_url(peer_name: str) -> None:
    server = RedisServer(password="s3cret-pw").start()
    try:
        client = await MuleClientBuilder().redis_url(server.url(db=2)).peer_name(peer_name).build()
        store = server.client(db=2)
        store.rpush(f"{peer_name}_command", "connect")
        assert await client.__anext__() == "connect"
        logging.info("authenticated")
        await client.send_status("connected")
        await client.close()
        assert store.get(f"{peer_name}_status") == "connected"
        assert store.lrange(f"{peer_name}_log", 0, -1) == ["info|authenticated"]
        store.close()

        wrong = f"redis://:not-it@127.0.0.1:{server.port}/2"
        with pytest.raises(MuleClientError) as refused:
            await MuleClientBuilder().redis_url(wrong).peer_name(peer_name).build()
        assert "redis://:***@127.0.0.1" in str(refused.value)
        assert "not-it" not in str(refused.value)
    finally:
        server.stop()


@pytest.mark.parametrize("variable", ["REDIS_URL", "PEER_NAME"])
async def test_build_names_a_missing_variable(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer, variable: str
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url())
    monkeypatch.setenv("PEER_NAME", "alice")
    monkeypatch.delenv(variable)
    with pytest.raises(MuleConfigError, match=f"^{variable} is not set") as missing:
        await MuleClientBuilder().build()
    assert missing.value.variable == variable


async def test_build_without_peer_name_raises_what_the_originals_except_valueerror_catches(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    # The original library raised ValueError; a peer migrating to ours may catch that.
    monkeypatch.setenv("REDIS_URL", redis_server.url())
    with pytest.raises(ValueError, match=r"^PEER_NAME is not set") as missing:
        await MuleClientBuilder().build()
    assert isinstance(missing.value, MuleConfigError)
    assert isinstance(missing.value, MuleClientError)


async def test_build_rejects_an_unknown_log_level(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "loud")
    with pytest.raises(MuleConfigError, match=r'^LOG_LEVEL="loud" is not a log level') as bad:
        await MuleClientBuilder().redis_url(redis_server.url()).peer_name("alice").build()
    assert bad.value.variable == "LOG_LEVEL"


async def test_build_gives_up_on_unreachable_redis_after_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MULE_CONNECT_TIMEOUT", "0.3")
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/1"
    with pytest.raises(RedisUnreachableError) as unreachable:
        await MuleClientBuilder().redis_url(url).peer_name("alice").build()
    message = str(unreachable.value)
    assert message.startswith(f"cannot reach Redis at redis://:***@127.0.0.1:{url.split(':')[3]}")
    assert " after 0.3s: " in message
    assert "hunter2" not in message
    assert unreachable.value.waited == 0.3


async def test_build_waits_for_redis_that_comes_up_within_the_timeout(peer_name: str) -> None:
    server = RedisServer()
    port = free_port()
    building = asyncio.ensure_future(
        MuleClientBuilder()
        .redis_url(f"redis://127.0.0.1:{port}/0")
        .peer_name(peer_name)
        .connect_timeout(60)
        .build()
    )
    await asyncio.sleep(0.3)  # build() is retrying by now; the server appears afterwards
    assert not building.done()
    server.port = port
    process = await asyncio.create_subprocess_exec(
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        client = await asyncio.wait_for(building, 60)
        await client.send_status("started")
        await client.close()
    finally:
        process.terminate()
        await process.wait()


async def test_restart_reports_writes_the_delay_and_exits_42(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    client: MuleClient,
    store: redis.Redis,
    peer_name: str,
) -> None:
    delay_file = tmp_path / "delay"
    monkeypatch.setenv("TM_DELAY_FILE", str(delay_file))
    with pytest.raises(SystemExit) as exit_:
        await client.restart(0.5)
    assert exit_.value.code == 42
    assert delay_file.read_text() == "0.5"
    assert store.get(f"{peer_name}_status") == "restarting"
    assert log_entries(store, peer_name) == [
        f"info|restarting in 0.5s (delay written to {delay_file})"
    ]
    assert client.closed


async def test_restart_keeps_restarting_last_when_other_code_sends_a_status(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    client: MuleClient,
    store: redis.Redis,
    peer_name: str,
) -> None:
    monkeypatch.setenv("TM_DELAY_FILE", str(tmp_path / "delay"))
    loop = asyncio.get_running_loop()

    def write_after_a_late_status(path: str, text: str) -> None:
        # Runs in a worker thread once `restarting` is set: other code reports meanwhile.
        asyncio.run_coroutine_threadsafe(client.send_status("connected"), loop).result(30)
        write_delay_file(path, text)

    monkeypatch.setattr(client_module, "write_delay_file", write_after_a_late_status)
    with pytest.raises(SystemExit):
        await client.restart(1)
    assert store.get(f"{peer_name}_status") == "restarting"


async def test_restart_rejects_a_negative_delay_before_reporting(
    client: MuleClient, store: redis.Redis, peer_name: str
) -> None:
    with pytest.raises(ValueError, match="restart delay"):
        await client.restart(-1)
    assert store.get(f"{peer_name}_status") is None
