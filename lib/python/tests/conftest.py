"""Fixtures: one real redis-server per session, unique peer names, clients and peer processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis

from the_mule import MuleClient, MuleClientBuilder

from .peer_process import PeerProcess
from .redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A synchronous client on database 0 for assertions."""
    with redis_server.client() as client:
        yield client


@pytest.fixture
def peer_name() -> str:
    """A name no other test uses, so tests share the server without sharing keys."""
    return f"peer-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the peer variables of the shell that runs pytest."""
    for name in ("REDIS_URL", "PEER_NAME", "LOG_LEVEL", "MULE_CONNECT_TIMEOUT", "TM_DELAY_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def client(redis_server: RedisServer, peer_name: str) -> AsyncIterator[MuleClient]:
    """A client for `peer_name` at level debug, closed after the test."""
    built = (
        await MuleClientBuilder()
        .redis_url(redis_server.url())
        .peer_name(peer_name)
        .log_level("debug")
        .build()
    )
    try:
        yield built
    finally:
        await built.close()


def log_entries(store: redis.Redis, peer: str) -> list[str]:
    """`<peer>_log` oldest first (the peer LPUSHes, so the list is newest first)."""
    return [str(entry) for entry in reversed(store.lrange(f"{peer}_log", 0, -1))]


@pytest.fixture
def run_peer(
    tmp_path: Path, redis_server: RedisServer, peer_name: str
) -> Iterator[Callable[..., PeerProcess]]:
    """Starts `python <args>` as a peer process (REDIS_URL and PEER_NAME set, plus `env`)."""
    started: list[PeerProcess] = []

    def start(*args: str, **env: str) -> PeerProcess:
        workdir = tmp_path / f"peer-{len(started)}"
        workdir.mkdir()
        peer = PeerProcess(
            list(args),
            {"REDIS_URL": redis_server.url(), "PEER_NAME": peer_name, **env},
            workdir,
        )
        started.append(peer)
        return peer

    try:
        yield start
    finally:
        for peer in started:
            peer.close()
