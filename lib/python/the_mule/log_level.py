"""LOG_LEVEL parsing and the mapping from Python's logging levels to the wire's four levels."""

from __future__ import annotations

import logging
from typing import Literal

WireLevel = Literal["debug", "info", "warn", "error"]
"""A level as it appears in a `<peer>_log` entry (`level|message`)."""

TRACE = 5
"""Threshold for `LOG_LEVEL=trace`: below DEBUG, so records at a custom TRACE level pass."""

_THRESHOLDS: dict[str, int] = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.ERROR,
    "fatal": logging.ERROR,
}


def parse_log_level(value: str) -> int | None:
    """The logging threshold `value` names, or None if it names none.

    Case-insensitive; Python (`WARNING`, `CRITICAL`), Rust (`trace`, `info,my_crate=debug`: the
    first directive counts) and plain spellings are understood, as in the other mule libraries.
    """
    word = value.split(",")[0].strip().lower()
    return _THRESHOLDS.get(word)


def wire_level(levelno: int) -> WireLevel:
    """The wire level of a record: CRITICAL and ERROR → error, WARNING → warn, INFO → info,
    anything below INFO (DEBUG, TRACE, ...) → debug."""
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    return "debug"
