"""The restart protocol's constants: exit code 42 and the delay file the entrypoint reads."""

from __future__ import annotations

import math
import os
from decimal import Decimal

from .command import is_delay

RESTART_EXIT_CODE = 42
"""Exit code asking the image's entrypoint to run the peer again after the delay."""

DEFAULT_DELAY_FILE = "/tmp/delay"


def delay_file() -> str:
    """Where the delay goes: `TM_DELAY_FILE`, default `/tmp/delay` (the entrypoint reads it)."""
    return os.environ.get("TM_DELAY_FILE") or DEFAULT_DELAY_FILE


def delay_text(delay: float | str) -> str:
    """The delay as written to the delay file.

    A string is written as given once it is checked (`"2"`, `"0.5"`); a number is written as a
    plain decimal without exponent or trailing zeros (`2` for 2.0, `0.5`, `0.0000001`).
    Raises ValueError for a negative, infinite or non-numeric delay.
    """
    if isinstance(delay, str):
        if not is_delay(delay):
            raise ValueError(f"restart delay must be a non-negative decimal number, got {delay!r}")
        return delay
    if isinstance(delay, bool) or not math.isfinite(delay) or delay < 0:
        raise ValueError(f"restart delay must be a non-negative number of seconds, got {delay!r}")
    return format(Decimal(repr(float(delay))).normalize(), "f")


def write_delay_file(path: str, text: str) -> None:
    """Writes the delay for the entrypoint (blocking: call it through asyncio.to_thread)."""
    with open(path, "w", encoding="ascii") as file:
        file.write(text)
