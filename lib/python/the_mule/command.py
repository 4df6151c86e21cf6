"""Typed orchestrator commands: `Command.parse(raw)` turns a raw command string into a value.

```python
match Command.parse(raw):
    case Restart(secs):
        await client.restart(secs)
    case Peer(addr):
        ...
    case Other(raw):
        logging.warning("unknown command: %s", raw)
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
"""A non-negative decimal number of seconds as `restart|<secs>` carries it (`5`, `0.5`)."""


def is_delay(text: str) -> bool:
    """True if `text` is a restart delay: a non-negative decimal number (`5`, `0.5`)."""
    return _DECIMAL.fullmatch(text) is not None


@dataclass(frozen=True)
class Command:
    """Base of the command values; use `Command.parse` to get one."""

    @staticmethod
    def parse(raw: str) -> Command:
        """Parses a raw command.

        `connect`, `disconnect`, `shutdown` → Connect(), Disconnect(), Shutdown();
        `restart|<secs>` with a non-negative decimal → Restart(secs, delay) (`delay` is the text
        as sent, what `client.restart(delay)` writes to the delay file); `peer|<addr>` with a
        non-empty addr (everything after the first `|`, which may contain `|`) → Peer(addr);
        anything else (`restart|abc`, `restart|`, `peer|`, `connect|x`, `push|bob|hi`) → Other(raw).
        """
        verb, bar, arg = raw.partition("|")
        if not bar:
            simple = _SIMPLE.get(raw)
            if simple is not None:
                return simple
        elif verb == "restart" and is_delay(arg):
            return Restart(float(arg), arg)
        elif verb == "peer" and arg:
            return Peer(arg)
        return Other(raw)


@dataclass(frozen=True)
class Connect(Command):
    """`connect`: join the network."""


@dataclass(frozen=True)
class Disconnect(Command):
    """`disconnect`: leave the network."""


@dataclass(frozen=True)
class Shutdown(Command):
    """`shutdown`: report `stopped` and exit 0."""


@dataclass(frozen=True)
class Restart(Command):
    """`restart|<secs>`: exit 42 and be started again after `secs` seconds.

    `delay` is `secs` as sent (`"0.5"`, `"05"`): pass it to `client.restart()` to write it as is.
    """

    secs: float
    delay: str


@dataclass(frozen=True)
class Peer(Command):
    """`peer|<addr>`: a bootstrap peer's address info, verbatim (`<vlad>|<multiaddr>`)."""

    addr: str


@dataclass(frozen=True)
class Other(Command):
    """Any other command, verbatim (`push|bob|hello`, `pull`, `rotate-key`, ...)."""

    raw: str


_SIMPLE: dict[str, Command] = {
    "connect": Connect(),
    "disconnect": Disconnect(),
    "shutdown": Shutdown(),
}
