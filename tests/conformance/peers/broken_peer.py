#!/usr/bin/env python3
"""A peer that breaks one rule of the protocol, named by its argument, for
tests/conformance/protocol_level_test.ts: each must fail `run.ts --level protocol` with a
message that says which step, what was expected and what came.

  lifo       takes the newest command first (BRPOP): a burst comes backwards, shutdown first
  bare-logs  pushes log lines without a level (`received: connect`)
  db0        ignores the database in REDIS_URL's path
  lose-logs  pushes its log lines from a background thread, always the newest 10 held back, and
             exits without them
  no-delay   exits 42 on restart without writing the delay file
  no-stopped exits 0 on shutdown without setting `stopped`
  idle-timeout keeps redis-py 8's default 5 s socket timeout: an idle BLPOP ends in an error
"""

import os
import queue
import sys
import threading
import time
import urllib.parse

import redis

HELD_BACK = 10  # lose-logs: the newest lines never pushed


def main(rule: str) -> int:
    name = os.environ["PEER_NAME"]
    url = os.environ["REDIS_URL"]
    if rule == "db0":
        url = urllib.parse.urlsplit(url)._replace(path="/0").geturl()
    timeout = {} if rule == "idle-timeout" else {"socket_timeout": None}
    r = redis.Redis.from_url(url, decode_responses=True, **timeout)
    lines: queue.Queue[str] = queue.Queue()

    # What was logged, pushed as it comes but for the newest 10 lines, which it holds back: at
    # shutdown the peer waits until all the others are pushed, then exits, and those 10 die
    # with it. Pushing every 0.2 s all that had come lost nothing on a loaded machine (its
    # commands came slower than the pushes), and holding lines back without that wait could
    # leave none pushed at all: either way the loss depended on timing.
    logged, pushed = [0], [0]

    def push_lines() -> None:
        pusher = redis.Redis.from_url(url, decode_responses=True)
        held: list[str] = []
        while True:
            held.append(lines.get())
            if len(held) > HELD_BACK:
                pusher.lpush(f"{name}_log", held.pop(0))
                pushed[0] += 1

    threading.Thread(target=push_lines, daemon=True).start()

    def log(message: str) -> None:
        if rule == "lose-logs":
            logged[0] += 1
            lines.put(f"info|{message}")
        else:
            r.lpush(f"{name}_log", message if rule == "bare-logs" else f"info|{message}")

    r.set(f"{name}_status", "started")
    while True:
        pop = r.brpop if rule == "lifo" else r.blpop
        _, command = pop([f"{name}_command"], 0)
        log(f"received: {command}")
        if command.startswith("restart|"):
            r.set(f"{name}_status", "restarting")
            if rule != "no-delay":
                with open("/tmp/delay", "w") as f:
                    f.write(command.split("|", 1)[1])
            return 42
        if command == "shutdown":
            if rule != "no-stopped":
                r.set(f"{name}_status", "stopped")
            if rule == "lose-logs":
                while pushed[0] < logged[0] - HELD_BACK:
                    time.sleep(0.01)
                os._exit(0)  # the lines held back die with the process
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
