#!/usr/bin/env python3
"""A peer written from the protocol document alone, with no Mule client library: redis-py and
the keys, statuses and commands the document lists. tests/conformance/protocol_level_test.ts
checks that it passes `run.ts --level protocol`, which is what a peer author's own peer meets.

It reads REDIS_URL (user, password and database included) and PEER_NAME, reports `started`
without address info, logs `info|received: <command>` for every command, and follows the
restart protocol by writing the delay to /tmp/delay, as the document says.
"""

import os
import sys

import redis


def main() -> int:
    name = os.environ["PEER_NAME"]
    # redis-py 8 gives every client a 5 s socket timeout, which would end an idle
    # BLPOP ... 0 with a TimeoutError: a peer waits for its next command however long it takes.
    r = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True, socket_timeout=None)

    def log(level: str, message: str) -> None:
        r.lpush(f"{name}_log", f"{level}|{message}")

    def status(value: str) -> None:
        r.set(f"{name}_status", value)

    status("started")
    while True:
        _, command = r.blpop([f"{name}_command"], 0)
        log("info", f"received: {command}")
        if command == "connect":
            status("connecting")
            status("connected")
        elif command == "disconnect":
            status("disconnecting")
            status("disconnected")
        elif command.startswith("restart|"):
            status("restarting")
            with open("/tmp/delay", "w") as f:
                f.write(command.split("|", 1)[1])
            return 42
        elif command == "shutdown":
            status("stopped")
            return 0


if __name__ == "__main__":
    sys.exit(main())
