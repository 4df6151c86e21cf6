"""MuleClientBuilder: settings from the environment (or overrides), then a connected client."""

from __future__ import annotations

import json
import logging
import math
import os

from .client import MuleClient
from .errors import MuleConfigError
from .log_forwarder import RedisLogHandler
from .log_level import parse_log_level
from .redis_connect import open_client, wait_until_reachable

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds build() retries an unreachable Redis when `MULE_CONNECT_TIMEOUT` is not set."""


class MuleClientBuilder:
    """Builds a MuleClient.

    Values not set on the builder are read from the environment when `build()` runs:
    `REDIS_URL` and `PEER_NAME` (required), `LOG_LEVEL` (default `info`),
    `MULE_CONNECT_TIMEOUT` (seconds, default 10).
    """

    def __init__(self) -> None:
        self._redis_url: str | None = None
        self._peer_name: str | None = None
        self._log_level: str | None = None
        self._connect_timeout: float | None = None
        self._echo_logs = False
        self._handle_sigterm = True

    def redis_url(self, url: str) -> MuleClientBuilder:
        """Redis URL (`redis://[user:password@]host:port[/db]`), instead of `REDIS_URL`."""
        self._redis_url = url
        return self

    def peer_name(self, name: str) -> MuleClientBuilder:
        """The peer's name (the prefix of its Redis keys), instead of `PEER_NAME`."""
        self._peer_name = name
        return self

    def log_level(self, level: str) -> MuleClientBuilder:
        """Forwarding threshold (`error`, `warn`, `info`, `debug`, `trace`), instead of
        `LOG_LEVEL`; records below it are neither forwarded nor echoed."""
        self._log_level = level
        return self

    def connect_timeout(self, seconds: float) -> MuleClientBuilder:
        """How long build() retries an unreachable Redis, instead of `MULE_CONNECT_TIMEOUT`."""
        self._connect_timeout = seconds
        return self

    def echo_logs(self, echo: bool = True) -> MuleClientBuilder:
        """Also print each forwarded record on stdout as `level|message` (default off)."""
        self._echo_logs = echo
        return self

    def handle_sigterm(self, handle: bool = True) -> MuleClientBuilder:
        """Whether build() installs the SIGTERM handler described on MuleClient (default on)."""
        self._handle_sigterm = handle
        return self

    async def build(self) -> MuleClient:
        """Connects to Redis (retrying for the connect timeout), installs the log handler on the
        root logger (and sets the root logger's level to the threshold) and, unless turned off,
        the SIGTERM handler on the running loop.

        Raises MuleConfigError naming a missing or invalid variable, RedisUnreachableError when
        Redis does not answer in time, MuleClientError when it refuses the client.
        """
        url = self._redis_url or _required(
            "REDIS_URL", "(e.g. redis://127.0.0.1:6379)", ".redis_url()"
        )
        name = self._peer_name or _required("PEER_NAME", "", ".peer_name()")
        threshold = _threshold(self._log_level)
        timeout = self._connect_timeout
        if timeout is None:
            timeout = _seconds("MULE_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)

        await wait_until_reachable(url, timeout)
        main = open_client(url, blocking=False)
        commands = open_client(url, blocking=True)
        handler = RedisLogHandler(url, f"{name}_log", threshold, echo=self._echo_logs)
        root = logging.getLogger()
        root.setLevel(threshold)
        root.addHandler(handler)
        client = MuleClient(name, main, commands, handler)
        if self._handle_sigterm:
            client.handle_sigterm()
        return client


def _required(variable: str, example: str, method: str) -> str:
    value = os.environ.get(variable)
    if value:
        return value
    yourself = f"set it yourself {example}".rstrip()
    raise MuleConfigError(
        f"{variable} is not set: the orchestrator sets it; {yourself} or call {method}", variable
    )


def _threshold(override: str | None) -> int:
    raw = override if override is not None else os.environ.get("LOG_LEVEL", "")
    if raw.strip() == "":
        return logging.INFO
    threshold = parse_log_level(raw)
    if threshold is None:
        raise MuleConfigError(
            f"LOG_LEVEL={json.dumps(raw)} is not a log level (error, warn, info, debug, trace)",
            "LOG_LEVEL",
        )
    return threshold


def _seconds(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "").strip()
    if raw == "":
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise MuleConfigError(
            f"{variable}={json.dumps(raw)} is not a number of seconds (e.g. 10 or 0.5)", variable
        )
    return seconds
