"""Errors the client raises; each carries the data a caller needs to act on it."""

from __future__ import annotations


class MuleClientError(RuntimeError):
    """A problem building or using a MuleClient."""


class MuleConfigError(MuleClientError, ValueError):
    """A required setting is missing or invalid; `variable` names the environment variable.

    Also a ValueError, which the original library raised for a missing setting: a peer written
    for it that catches ValueError keeps working."""

    def __init__(self, message: str, variable: str) -> None:
        super().__init__(message)
        self.variable = variable


class RedisUnreachableError(MuleClientError):
    """`build()` gave up on Redis; `url` has its password masked, `waited` is in seconds."""

    def __init__(self, url: str, waited: float, cause: BaseException) -> None:
        super().__init__(f"cannot reach Redis at {url} after {waited:g}s: {describe(cause)}")
        self.url = url
        self.waited = waited
        self.__cause__ = cause


def describe(error: BaseException) -> str:
    """An error's message, or its class name when it has none (e.g. a bare TimeoutError)."""
    text = str(error).strip()
    return text if text else type(error).__name__
