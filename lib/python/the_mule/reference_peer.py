"""Reference peer: answers every standard command with realistic statuses and log lines.

Run it with `python3 -m the_mule.reference_peer` (or the `mule-reference-peer` script). It
behaves byte for byte like the TypeScript reference peer (lib/typescript/reference_peer.ts), so
one conformance suite checks both; it is also the example to copy when writing a peer.

Environment: `REDIS_URL`, `PEER_NAME`, `LOG_LEVEL`, `MULE_CONNECT_TIMEOUT` (see the library),
`LISTEN_ADDR` (its UDP port goes into the advertised multiaddr), `ADVERTISE_IP` (default: the
first non-loopback IPv4), `TM_DELAY_FILE` (where `restart|<secs>` writes the delay; default
`/tmp/delay`). Test hooks (reference peer only): `REF_PEER_START_DELAY_MS`,
`REF_PEER_NEVER_START=1`, `REF_PEER_IGNORE_SHUTDOWN=1`, `REF_PEER_ECHO_ENV=<NAME,...>`, and the
commands `exit|<code>` and `fail|<reason>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import re
import signal
import socket
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from .builder import MuleClientBuilder
from .client import MuleClient
from .command import Command, Connect, Disconnect, Peer, Restart, Shutdown
from .errors import MuleClientError

log = logging.getLogger("reference_peer")

TRANSITION_SECONDS = 0.02
"""Delay between `connecting` and `connected` (and `disconnecting`/`disconnected`)."""

_SIOCGIFADDR = 0x8915
"""Linux ioctl: an interface's IPv4 address (the stdlib has no interface listing)."""


def vlad_for(name: str) -> str:
    """A deterministic identifier derived from the peer's name (stands in for a real VLAD)."""
    return "vlad-" + hashlib.sha256(name.encode()).hexdigest()[:32]


def listen_port(listen_addr: str | None) -> int | None:
    """The UDP port of a `/ip4/<ip>/udp/<port>/quic-v1` multiaddr; None if there is none."""
    match = re.search(r"/udp/([0-9]+)(/|$)", listen_addr or "")
    if match is None:
        return None
    port = int(match.group(1))
    return port if port <= 65_535 else None


def interface_ipv4s() -> list[str]:
    """IPv4 addresses of this machine's interfaces in interface order (Linux); [] elsewhere."""
    addresses: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            for _, name in socket.if_nameindex():
                request = struct.pack("256s", name.encode()[:15])
                try:
                    reply = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
                except OSError:
                    continue  # no IPv4 address on this interface
                addresses.append(socket.inet_ntoa(reply[20:24]))
    except OSError:
        return []
    return addresses


def advertise_ip(env: Mapping[str, str] = os.environ) -> str:
    """`ADVERTISE_IP`, else the first non-loopback IPv4 of this machine, else 127.0.0.1."""
    chosen = env.get("ADVERTISE_IP")
    if chosen:
        return chosen
    for address in interface_ipv4s():
        if not address.startswith("127."):
            return address
    return "127.0.0.1"


def env_flag(name: str, env: Mapping[str, str] = os.environ) -> bool:
    """True if variable `name` is set to anything but ``, `0` or `false`."""
    value = env.get(name)
    return value is not None and value not in ("", "0") and value.lower() != "false"


def env_ms(name: str, env: Mapping[str, str] = os.environ) -> float:
    """Variable `name` as a positive number of milliseconds; 0 when unset or not one."""
    try:
        value = float(env.get(name) or "0")
    except ValueError:
        return 0
    return value if math.isfinite(value) and value > 0 else 0


def number_text(value: float) -> str:
    """A number as JavaScript prints it (`500`, not `500.0`), so log lines match the TS peer."""
    return str(int(value)) if value.is_integer() else repr(value)


def js_string(value: str | None) -> str:
    """`value` as JSON.stringify writes it (non-ASCII kept as is); `null` for None."""
    return json.dumps(value, ensure_ascii=False)


def echoed_environment(env: Mapping[str, str] = os.environ) -> list[str]:
    """Test hook: one `env <NAME>=<JSON string>` line per variable named in `REF_PEER_ECHO_ENV`
    (comma-separated), `null` for an unset one. JSON keeps any value on one line, exactly."""
    names = [name.strip() for name in env.get("REF_PEER_ECHO_ENV", "").split(",")]
    return [f"env {name}={js_string(env.get(name))}" for name in names if name]


def exit_code(arg: str) -> int:
    """The code of `exit|<code>`: an integer 0-255 (empty counts as 0), anything else 1."""
    text = arg.strip()
    if text == "":
        return 0
    if re.fullmatch(r"[0-9]+", text) and int(text) <= 255:
        return int(text)
    return 1


@dataclass
class PeerState:
    """What the peer knows about the network it pretends to be part of."""

    vlad: str
    multiaddr: str
    connected: bool = False
    bootstrap: dict[str, str] = field(default_factory=dict)
    tracked: set[str] = field(default_factory=set)
    key_generation: int = 0
    pushed: int = 0
    pulled: int = 0


async def handle_command(client: MuleClient, state: PeerState, command: str) -> int | None:
    """Handles one command; returns an exit code when the peer must exit, else None."""
    log.debug("received command: %s", command)
    match Command.parse(command):
        case Connect():
            if state.connected:
                log.warning("connect: already connected")
                await client.send_status("connected")
                return None
            await client.send_status("connecting")
            log.info("connecting to the network via %d bootstrap peer(s)", len(state.bootstrap))
            for vlad, addr in state.bootstrap.items():
                log.debug("dialing %s at %s", vlad, addr)
            await asyncio.sleep(TRANSITION_SECONDS)
            state.connected = True
            await client.send_status("connected")
            log.info("connected as %s on %s", state.vlad, state.multiaddr)
        case Disconnect():
            await client.send_status("disconnecting")
            log.info("disconnecting from the network")
            await asyncio.sleep(TRANSITION_SECONDS)
            state.connected = False
            await client.send_status("disconnected")
            log.info("disconnected")
        case Shutdown():
            return await shutdown(client)
        case Restart(_, delay):
            await client.restart(delay)  # status restarting, delay file, info line, exit 42
        case Peer(address):
            vlad, _, addr = address.partition("|")
            if not vlad:
                log.warning("peer: expected peer|<address info>, got %s", js_string(command))
                return None
            state.bootstrap[vlad] = addr
            log.info("adding bootstrap peer: %s at %s", vlad, addr or "(no address)")
        case _:
            return await handle_other(client, state, command)
    return None


async def shutdown(client: MuleClient) -> int | None:
    """Sets `stopped` and asks for exit 0, unless `REF_PEER_IGNORE_SHUTDOWN` is set."""
    if env_flag("REF_PEER_IGNORE_SHUTDOWN"):
        log.warning("ignoring shutdown (REF_PEER_IGNORE_SHUTDOWN is set)")
        return None
    log.info("shutting down")
    await client.send_status("stopped")
    return 0


async def handle_other(client: MuleClient, state: PeerState, command: str) -> int | None:
    """The commands `Command.parse` leaves as Other: the peer's own verbs, test hooks, mistakes."""
    verb, *rest = command.split("|")
    arg = "|".join(rest)
    if verb == "push":
        if not rest or not rest[0]:
            log.warning("push: expected push|<peer>|<message>, got %s", js_string(command))
            return None
        to, words = rest[0], rest[1:]
        if not state.connected:
            log.warning("push to %s while not connected", to)
        state.pushed += 1
        log.info("push to %s: %s", to, "|".join(words))
        return None
    if verb == "pull":
        if not state.connected:
            log.warning("pull while not connected")
        state.pulled += 1
        log.info("pulled messages (pull #%d; %d pushed by this peer)", state.pulled, state.pushed)
        return None
    if verb == "rotate-key":
        state.key_generation += 1
        log.info("rotated key: now at generation %d", state.key_generation)
        return None
    if verb == "track":
        if not arg:
            log.warning("track: expected track|<peer>, got %s", js_string(command))
            return None
        state.tracked.add(arg)
        log.info("tracking %s (%d tracked)", arg, len(state.tracked))
        return None
    if verb == "peer":
        log.warning("peer: expected peer|<address info>, got %s", js_string(command))
        return None
    if verb == "restart":
        log.warning("restart: expected restart|<seconds>, got %s", js_string(command))
        return None
    if verb == "log-burst" and re.fullmatch(r"[0-9]+", arg):
        # Conformance hook: n lines, then shutdown; none may be lost when the peer exits.
        for i in range(1, int(arg) + 1):
            log.info("burst %d", i)
        return await shutdown(client)
    if verb == "fail":
        # Test hook: the peer reports a failure of its own (status failed|<reason>), carries on.
        log.warning("reporting failed: %s", arg)
        await client.fail(arg)
        return None
    if verb == "exit":
        # Test hook: die at once, like a crash (nothing flushed, no status).
        sys.stdout.flush()
        os._exit(exit_code(arg))
    log.warning("unknown command: %s", command)
    return None


async def main() -> int:
    """Runs the peer until shutdown, restart or SIGTERM; returns its exit code."""
    client = await MuleClientBuilder().echo_logs().build()
    # SIGTERM is the library's (status stopped, exit 0); SIGINT (Ctrl-C) exits 130 like the TS
    # peer: the close ends the command iteration below.
    interrupted = False
    close_task: asyncio.Future[None] | None = None  # held so it is not collected mid-run

    def on_interrupt() -> None:
        nonlocal interrupted, close_task
        interrupted = True
        log.info("received SIGINT, exiting")
        close_task = asyncio.ensure_future(client.close())

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        name = client.peer_name
        listen_addr = os.environ.get("LISTEN_ADDR")
        port = listen_port(listen_addr)
        if port is None:
            log.warning("LISTEN_ADDR %s has no UDP port; using 0", js_string(listen_addr or ""))
            port = 0
        state = PeerState(vlad_for(name), f"/ip4/{advertise_ip()}/udp/{port}/quic-v1")
        log.info("%s starting: %s on %s", name, state.vlad, state.multiaddr)
        for line in echoed_environment():
            log.info("%s", line)
        start_delay = env_ms("REF_PEER_START_DELAY_MS")
        if start_delay:
            log.info("delaying start by %s ms (REF_PEER_START_DELAY_MS)", number_text(start_delay))
            await asyncio.sleep(start_delay / 1000)
        if env_flag("REF_PEER_NEVER_START"):
            log.warning("never reporting started (REF_PEER_NEVER_START is set)")
        else:
            await client.send_status(f"started|{state.vlad}|{state.multiaddr}")
        async for command in client:
            code = await handle_command(client, state, command)
            if code is not None:
                return code
        return 130 if interrupted else 0  # closed by a signal (SIGTERM exits 0 by itself)
    except MuleClientError:
        # SIGINT closed the client under a command in progress: that is the signal's exit.
        if interrupted:
            return 130
        raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        await client.close()


def run() -> int:
    """Runs main(); a failure is one line on stderr and exit code 1 (no traceback)."""
    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"python reference peer: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(run())
