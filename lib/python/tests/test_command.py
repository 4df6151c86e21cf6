"""Pure logic: command parsing, delays, log levels, URL masking."""

from __future__ import annotations

import logging

import pytest

from the_mule import (
    TRACE,
    Command,
    Connect,
    Disconnect,
    Other,
    Peer,
    Restart,
    Shutdown,
    parse_log_level,
    wire_level,
)
from the_mule.redis_url import mask_password
from the_mule.restart import delay_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("connect", Connect()),
        ("disconnect", Disconnect()),
        ("shutdown", Shutdown()),
        ("restart|5", Restart(5.0, "5")),
        ("restart|0", Restart(0.0, "0")),
        ("restart|0.5", Restart(0.5, "0.5")),
        ("restart|05", Restart(5.0, "05")),
        (
            "peer|vlad-1|/ip4/10.0.0.1/udp/11984/quic-v1",
            Peer("vlad-1|/ip4/10.0.0.1/udp/11984/quic-v1"),
        ),
        ("peer|a|b|c", Peer("a|b|c")),
        ("restart|abc", Other("restart|abc")),
        ("restart|", Other("restart|")),
        ("restart|-1", Other("restart|-1")),
        ("restart|1e3", Other("restart|1e3")),
        ("restart|inf", Other("restart|inf")),
        ("restart", Other("restart")),
        ("peer|", Other("peer|")),
        ("peer", Other("peer")),
        ("connect|x", Other("connect|x")),
        ("shutdown|now", Other("shutdown|now")),
        ("push|bob|hello", Other("push|bob|hello")),
        ("Connect", Other("Connect")),
        ("", Other("")),
    ],
)
def test_command_parse_maps_raw_commands_to_values(raw: str, expected: Command) -> None:
    assert Command.parse(raw) == expected


def test_command_parse_values_work_with_match() -> None:
    match Command.parse("restart|2"):
        case Restart(secs, delay):
            assert (secs, delay) == (2.0, "2")
        case _:
            pytest.fail("restart|2 did not match Restart")


@pytest.mark.parametrize(
    ("delay", "text"),
    [
        (2, "2"),
        (2.0, "2"),
        (0.5, "0.5"),
        (0, "0"),
        (100.0, "100"),
        (1e-7, "0.0000001"),
        ("0.5", "0.5"),
        ("05", "05"),
    ],
)
def test_delay_text_writes_plain_decimals(delay: float | str, text: str) -> None:
    assert delay_text(delay) == text


@pytest.mark.parametrize("delay", [-1, float("inf"), float("nan"), "abc", "-1", "", "1e3"])
def test_delay_text_rejects_what_the_entrypoint_cannot_sleep(delay: float | str) -> None:
    with pytest.raises(ValueError, match="restart delay"):
        delay_text(delay)


@pytest.mark.parametrize(
    ("value", "threshold"),
    [
        ("error", logging.ERROR),
        ("WARN", logging.WARNING),
        ("Warning", logging.WARNING),
        ("info", logging.INFO),
        ("INFO", logging.INFO),
        ("debug", logging.DEBUG),
        ("trace", TRACE),
        ("critical", logging.ERROR),
        (" info,my_crate=debug", logging.INFO),
        ("verbose", None),
        ("", None),
    ],
)
def test_parse_log_level_understands_every_spelling(value: str, threshold: int | None) -> None:
    assert parse_log_level(value) == threshold


@pytest.mark.parametrize(
    ("levelno", "wire"),
    [
        (logging.CRITICAL, "error"),
        (logging.ERROR, "error"),
        (logging.WARNING, "warn"),
        (logging.INFO, "info"),
        (logging.DEBUG, "debug"),
        (TRACE, "debug"),
        (25, "info"),
    ],
)
def test_wire_level_maps_python_levels_to_four(levelno: int, wire: str) -> None:
    assert wire_level(levelno) == wire


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:secret@host:6379/3", "redis://:***@host:6379/3"),
        ("redis://user:secret@host:6379", "redis://user:***@host:6379"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis://user@host", "redis://user@host"),
        ("redis://:p%40ss@10.0.0.1", "redis://:***@10.0.0.1"),
    ],
)
def test_mask_password_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_password(url) == masked
