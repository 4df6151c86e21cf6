#!/usr/bin/env python3
import asyncio
import logging
import sys

from the_mule import MuleClientBuilder


async def main() -> None:
    client = await MuleClientBuilder().build()
    # Tell the orchestrator we are ready.
    # Use "started|<vlad>|<multiaddr>" if your app has identity/network info.
    await client.send_status("started")
    # Process commands from the orchestrator.
    # MuleClient is an async iterator that yields raw command strings.
    async for command in client:
        logging.info(f"received: {command}")
        if command == "connect":
            logging.info("connecting to network...")
            # ... your connect logic ...
            await client.send_status("connected")
        elif command == "disconnect":
            logging.info("disconnecting...")
            # ... your disconnect logic ...
            await client.send_status("disconnected")
        elif command.startswith("push|"):
            parts = command.split("|", 2)
            peer, message = parts[1], parts[2]
            logging.info(f"push to {peer}: {message}")
            # ... your push logic ...
        elif command == "pull":
            logging.info("pulling messages...")
            # ... your pull logic ...
        elif command == "rotate-key":
            logging.info("rotating key...")
            # ... your key rotation logic ...
        elif command.startswith("track|"):
            peer = command.split("|", 1)[1]
            logging.info(f"tracking {peer}")
            # ... your tracking logic ...
        elif command.startswith("peer|"):
            parts = command.split("|", 2)
            vlad, multiaddr = parts[1], parts[2]
            logging.info(f"adding bootstrap peer: {vlad} at {multiaddr}")
            # ... add peer to your routing table ...
        elif command.startswith("restart|"):
            delay = command.split("|", 1)[1]
            await client.send_status("restarting")
            with open("/tmp/delay", "w") as f:
                f.write(delay)
            sys.exit(42)
        elif command == "shutdown":
            await client.send_status("stopped")
            break
    await client.close()


asyncio.run(main())
