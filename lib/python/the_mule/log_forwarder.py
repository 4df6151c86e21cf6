"""The logging.Handler that forwards records to `<peer>_log` from a background thread."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections import deque

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from .errors import describe
from .log_level import wire_level

_BATCH = 1000
"""Most entries per LPUSH: one round trip for a burst, without building unbounded commands."""

_TIMEOUT = 5.0
"""Seconds one connect or push may take, so a dead Redis cannot hang flush() (and exit)."""


class RedisLogHandler(logging.Handler):
    """Forwards each record as `LPUSH <key> "level|message"`.

    `emit` only queues the entry (and echoes it to stdout as `level|message` if asked), so
    logging never waits on Redis; a daemon thread pushes queued entries in order, many per
    LPUSH. `flush()` returns once everything queued so far was pushed or reported as lost on
    stderr; `close()` flushes, then stops the thread. `logging.shutdown()` (run at interpreter
    exit, e.g. after `sys.exit(42)`) calls both, so lines logged just before an exit arrive.
    """

    def __init__(self, redis_url: str, key: str, level: int, *, echo: bool = False) -> None:
        super().__init__(level)
        self.key = key
        self.echo = echo
        self._redis = redis.Redis.from_url(
            redis_url,
            socket_timeout=_TIMEOUT,
            socket_connect_timeout=_TIMEOUT,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        self._queue: deque[str] = deque()
        self._pending = 0  # queued plus in flight
        self._changed = threading.Condition()
        self._stopping = False
        self._said = ""  # the last push error reported on stderr
        self._thread = threading.Thread(target=self._run, name=f"mule-log-{key}", daemon=True)
        self.addFilter(self._own_record)
        self._thread.start()

    def _own_record(self, record: logging.LogRecord) -> bool:
        """A filter: False for redis-py's records (`redis`, `redis.*`: notes about the
        connections that carry the logs, not the peer's) and for anything the forwarding thread
        logs, which would feed back into itself."""
        if record.name == "redis" or record.name.startswith("redis."):
            return False
        return threading.current_thread() is not self._thread

    def emit(self, record: logging.LogRecord) -> None:
        """Queues one entry (and echoes it, if asked)."""
        try:
            entry = f"{wire_level(record.levelno)}|{self.format(record)}"
        except Exception:
            self.handleError(record)
            return
        if self.echo:
            with contextlib.suppress(OSError, ValueError):  # a closed stdout must not stop it
                sys.stdout.write(entry + "\n")
                sys.stdout.flush()
        with self._changed:
            if self._stopping:
                return
            self._queue.append(entry)
            self._pending += 1
            self._changed.notify_all()

    def flush(self) -> None:
        """Blocks until every entry queued before the call was pushed (or reported lost)."""
        with self._changed:
            self._changed.wait_for(lambda: self._pending == 0 or not self._thread.is_alive())

    def close(self) -> None:
        """Flushes, stops the thread and closes its connection; idempotent."""
        with self._changed:
            already = self._stopping
            self._stopping = True
            self._changed.notify_all()
        if not already:
            self._thread.join()
            self._redis.close()
        super().close()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._queue) or self._stopping)
                if not self._queue:
                    return  # stopping, and everything was pushed
                batch = [self._queue.popleft() for _ in range(min(_BATCH, len(self._queue)))]
            try:
                self._redis.lpush(self.key, *batch)
                self._said = ""
            except Exception as error:
                self._report(len(batch), error)
            with self._changed:
                self._pending -= len(batch)
                self._changed.notify_all()

    def _report(self, count: int, error: Exception) -> None:
        # Once per distinct error, not once per batch, while Redis stays away.
        message = describe(error)
        if message == self._said:
            return
        self._said = message
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"mule: could not forward {count} log line(s): {message}\n")
