#!/usr/bin/env python3
"""A peer that breaks one rule of the protocol, named by its argument, for
tests/conformance/protocol_level_test.ts: each must fail `run.ts --level protocol` with a
message that says which step, what was expected and what came.

  lifo       takes the newest command first (BRPOP): a burst comes backwards, shutdown first
  bare-logs  pushes log lines without a level (`received: connect`)
  db0        ignores the database in REDIS_URL's path
  lose-logs  pushes its log lines from a background thread and exits without waiting for it
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


def main(rule: str) -> int:
    name = os.environ["PEER_NAME"]
    url = os.environ["REDIS_URL"]
    if rule == "db0":
        url = urllib.parse.urlsplit(url)._replace(path="/0").geturl()
    timeout = {} if rule == "idle-timeout" else {"socket_timeout": None}
    r = redis.Redis.from_url(url, decode_responses=True, **timeout)
    lines: queue.Queue[str] = queue.Queue()

    def push_lines() -> None:  # every 0.2 s, what was logged meanwhile
        pusher = redis.Redis.from_url(url, decode_responses=True)
        while True:
            batch = [lines.get()]
            while not lines.empty():
                batch.append(lines.get())
            pusher.lpush(f"{name}_log", *batch)
            time.sleep(0.2)

    threading.Thread(target=push_lines, daemon=True).start()

    def log(message: str) -> None:
        if rule == "lose-logs":
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
                os._exit(0)  # the background thread's queue dies with the process
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
