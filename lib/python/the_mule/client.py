"""MuleClient: a connected peer's statuses, commands, restart protocol and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from types import TracebackType
from typing import Any, NoReturn

import redis.asyncio as aioredis

from .errors import MuleClientError, describe
from .log_forwarder import RedisLogHandler
from .restart import RESTART_EXIT_CODE, delay_file, delay_text, write_delay_file

_log = logging.getLogger("the_mule")


class MuleClient:
    """A connected peer; build one with `await MuleClientBuilder().build()`.

    `async for command in client` yields raw command strings (`BLPOP <peer>_command 0` on a
    connection of its own: it blocks in Redis, there is no polling) until the client is closed.
    `send_status` reports, `close` flushes the log lines and disconnects.

    SIGTERM (handled unless the builder said `handle_sigterm(False)`): logs `received SIGTERM,
    stopping`, sets status `stopped`, closes (every log line flushed) and raises SystemExit(0)
    out of the event loop, so `asyncio.run()` ends and the process exits 0. Calls on the client
    made while that stop runs wait for it rather than fail.
    """

    def __init__(
        self,
        peer_name: str,
        main: aioredis.Redis,
        commands: aioredis.Redis,
        handler: RedisLogHandler,
    ) -> None:
        """Use MuleClientBuilder.build(), which connects and installs the handler first."""
        self._peer_name = peer_name
        self._main = main
        self._commands = commands
        self._handler = handler
        self._status_key = f"{peer_name}_status"
        self._command_key = f"{peer_name}_command"
        self._closed = False
        self._closing = asyncio.Event()
        self._close_task: asyncio.Task[None] | None = None
        self._blpop: asyncio.Future[Any] | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._restarting = False
        self._signal_loop: asyncio.AbstractEventLoop | None = None

    @property
    def peer_name(self) -> str:
        """This peer's name, the prefix of its Redis keys."""
        return self._peer_name

    @property
    def closed(self) -> bool:
        """True once close() began (also after SIGTERM)."""
        return self._closed

    @property
    def log_handler(self) -> logging.Handler:
        """The handler forwarding log records to `<peer>_log` (installed on the root logger)."""
        return self._handler

    async def send_status(self, status: str) -> None:
        """Sets `<peer>_status` (`started`, `started|<vlad>|<multiaddr>`, `connected`, ...).

        Log lines logged before the call are pushed first, so the orchestrator sees them first.
        Once restart() began, statuses are dropped: `restarting` stays the last one.
        """
        await self._wait_if_stopping()
        if self._restarting:
            return
        self._check_open("send_status")
        await self._set_status(status)

    async def fail(self, reason: str) -> None:
        """Reports a failure the peer detected itself: status `failed|<reason>`."""
        await self.send_status(f"failed|{reason}")

    async def restart(self, delay: float | str) -> NoReturn:
        """Runs the restart protocol: status `restarting`, `delay` written to the delay file
        (`TM_DELAY_FILE`, default `/tmp/delay`), logs flushed, client closed, then
        SystemExit(42): the image's entrypoint runs the peer again after `delay` seconds.

        `delay` is seconds, a number or a decimal string written as given (`2`, `"0.5"`).
        Raises ValueError for a negative or non-numeric delay, before anything is sent. From
        here on SIGTERM is ignored (the entrypoint, which got it too, does not restart the peer).
        """
        text = delay_text(delay)
        await self._wait_if_stopping()
        self._check_open("restart")
        self._restarting = True
        await self._set_status("restarting")
        path = delay_file()
        try:
            await asyncio.to_thread(write_delay_file, path, text)
        except OSError as error:
            raise MuleClientError(f"cannot write the restart delay to {path}: {error}") from error
        _log.info("restarting in %ss (delay written to %s)", text, path)
        await self.close()
        raise SystemExit(RESTART_EXIT_CODE)

    def __aiter__(self) -> MuleClient:
        return self

    async def __anext__(self) -> str:
        """The next command, in the order the orchestrator sent them; ends once closed."""
        if self._closed:
            raise StopAsyncIteration
        blpop = asyncio.ensure_future(self._commands.blpop([self._command_key], timeout=0))
        closing = asyncio.ensure_future(self._closing.wait())
        self._blpop = blpop
        try:
            await asyncio.wait({blpop, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not blpop.done():
                blpop.cancel()  # closed, or this task was cancelled: drop the BLPOP
        if blpop.cancelled():
            raise StopAsyncIteration
        error = blpop.exception()
        if error is not None:
            if self._closed:
                raise StopAsyncIteration
            raise MuleClientError(f"waiting for a command failed: {describe(error)}") from error
        reply = blpop.result()
        if reply is None:  # only with a timeout, which BLPOP ... 0 has not
            raise MuleClientError("BLPOP returned no command")
        _, command = reply
        return command if isinstance(command, str) else bytes(command).decode(errors="replace")

    async def close(self) -> None:
        """Flushes every queued log line to Redis, then closes the connections and stops
        handling SIGTERM; idempotent (concurrent callers all wait for the one close)."""
        await self._wait_if_stopping()
        await self._close_once()

    async def __aenter__(self) -> MuleClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def handle_sigterm(self) -> None:
        """Installs the SIGTERM handler on the running loop (build() does it by default).

        Does nothing where asyncio cannot handle signals (not the main thread, not Unix)."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGTERM, self._on_sigterm)
        except (NotImplementedError, RuntimeError, ValueError):
            return
        self._signal_loop = loop

    def _on_sigterm(self) -> None:
        if self._stop_task is None and not self._closed and not self._restarting:
            self._stop_task = asyncio.ensure_future(self._stop())

    async def _stop(self) -> None:
        _log.info("received SIGTERM, stopping")
        try:
            await self._set_status("stopped")
        except Exception as error:
            sys.stderr.write(f"mule: could not report stopped: {describe(error)}\n")
        await self._close_once()
        raise SystemExit(0)

    async def _wait_if_stopping(self) -> None:
        stop = self._stop_task
        if stop is not None and stop is not asyncio.current_task():
            # The stop ends by raising SystemExit out of the loop: this never returns normally.
            await asyncio.shield(stop)

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise MuleClientError(f"{what}() after close()")

    async def _set_status(self, status: str) -> None:
        await asyncio.to_thread(self._handler.flush)
        await self._main.set(self._status_key, status)

    async def _close_once(self) -> None:
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._close())
        await asyncio.shield(self._close_task)

    async def _close(self) -> None:
        self._closed = True
        self._closing.set()
        if self._signal_loop is not None:
            self._signal_loop.remove_signal_handler(signal.SIGTERM)
            self._signal_loop = None
        blpop = self._blpop
        if blpop is not None:
            blpop.cancel()
            await asyncio.gather(blpop, return_exceptions=True)
        logging.getLogger().removeHandler(self._handler)
        await asyncio.to_thread(self._handler.close)
        for connection in (self._commands, self._main):
            with contextlib.suppress(Exception):
                await connection.aclose()
