"""A real redis-server on a free port, started and stopped by the tests."""

from __future__ import annotations

import socket
import subprocess
import time

import redis


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """`redis-server` on 127.0.0.1 and a free port, optionally with `--requirepass`."""

    def __init__(self, password: str | None = None) -> None:
        self.password = password
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        """`redis://[:password@]127.0.0.1:<port>/<db>`."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        """A synchronous client for assertions, replies decoded."""
        return redis.Redis.from_url(self.url(db), decode_responses=True)

    def start(self, deadline_seconds: float = 20.0) -> RedisServer:
        """Starts the server and returns once it answers PING (another port if one was taken)."""
        for _ in range(3):
            self.port = free_port()
            args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            args += ["--save", "", "--appendonly", "no"]
            if self.password:
                args += ["--requirepass", self.password]
            self._process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if self._wait_ready(deadline_seconds):
                return self
            self.stop()
        raise RuntimeError("redis-server did not start on three free ports")

    def stop(self) -> None:
        """Stops the server; idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(10)

    def _wait_ready(self, deadline_seconds: float) -> bool:
        deadline = time.monotonic() + deadline_seconds
        with self.client() as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    return False  # exited: the port was taken meanwhile
                try:
                    client.ping()
                    return True
                except redis.ConnectionError:
                    time.sleep(0.05)
        return False
