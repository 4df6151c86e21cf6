"""Opening the Redis connections of a client, retrying an unreachable server for a bounded time."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff

from .errors import MuleClientError, RedisUnreachableError, describe
from .redis_url import mask_password

_FIRST_PAUSE = 0.05
_MAX_PAUSE = 1.0
"""Back-off between attempts while Redis is unreachable: 50 ms, doubling, at most 1 s."""

_SOCKET_TIMEOUT = 10.0
"""Seconds a reply may take on the non-blocking connection before it counts as lost."""

_CONNECT_TIMEOUT = 2.0
"""Seconds one TCP connect may take; a silent host is retried until the deadline."""


def open_client(url: str, *, blocking: bool) -> aioredis.Redis:
    """An asyncio client for `url` (database and password included) that decodes replies.

    A `blocking` client serves `BLPOP ... 0` only: no read timeout. Both retry a dropped
    connection a few times with back-off before a command fails. Neither is a
    `single_connection_client`: such a client left open at exit (a peer calling `sys.exit(42)`
    without `close()`) prints a traceback from its `__del__` once the event loop is closed.
    """
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        encoding_errors="replace",
        socket_timeout=None if blocking else _SOCKET_TIMEOUT,
        socket_connect_timeout=_CONNECT_TIMEOUT,
        retry=Retry(ExponentialBackoff(cap=_MAX_PAUSE, base=_FIRST_PAUSE), 5),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


async def wait_until_reachable(url: str, timeout: float) -> None:
    """PINGs Redis at `url` until it answers, retrying with back-off for up to `timeout` seconds.

    The probe is a client of its own that never retries by itself, so each failure is seen (and
    reported) as it is rather than after redis-py's own retries ate the time.

    Raises RedisUnreachableError (`cannot reach Redis at <masked url> after <timeout>s: <cause>`)
    when the time is up, and MuleClientError at once when Redis answers but refuses the client
    (wrong password, bad database): waiting would not change that.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pause = _FIRST_PAUSE
    last: BaseException | None = None
    probe = aioredis.Redis.from_url(
        url, socket_connect_timeout=_CONNECT_TIMEOUT, retry=Retry(NoBackoff(), 0)
    )
    try:
        while True:
            last = await _attempt(probe, url, max(deadline - loop.time(), _FIRST_PAUSE), last)
            if last is None:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RedisUnreachableError(mask_password(url), timeout, last)
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, _MAX_PAUSE)
    finally:
        await probe.aclose()


async def _attempt(
    probe: aioredis.Redis, url: str, limit: float, last: BaseException | None
) -> BaseException | None:
    """One PING within `limit` seconds: None if it was answered, else the error to report."""
    try:
        await asyncio.wait_for(probe.ping(), limit)
        return None
    except (redis.AuthenticationError, redis.ResponseError) as error:
        raise MuleClientError(
            f"Redis at {mask_password(url)} refused the connection: {describe(error)}"
        ) from error
    except asyncio.TimeoutError:
        # An attempt cut by the deadline says less than the error before it, if any.
        return last or TimeoutError("no answer")
    except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
        return error
