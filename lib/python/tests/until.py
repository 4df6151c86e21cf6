"""Polling with a deadline, for state that changes in another process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(probe: Callable[[], T | None], what: str, deadline_seconds: float = 20.0) -> T:
    """Calls `probe` every 20 ms until it returns something other than None/False/empty and
    returns that; raises AssertionError naming `what` when the deadline passes first."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
