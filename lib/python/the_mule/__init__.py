"""The Mule client library for peers written in Python (asyncio, on redis-py).

```python
import asyncio
import logging

from the_mule import MuleClientBuilder


async def main() -> None:
    client = await MuleClientBuilder().build()
    await client.send_status("started")
    async for command in client:
        logging.info("received: %s", command)
        if command == "shutdown":
            await client.send_status("stopped")
            break
    await client.close()


asyncio.run(main())
```

See README.md for the guide and the API table.
"""

from .builder import DEFAULT_CONNECT_TIMEOUT, MuleClientBuilder
from .client import MuleClient
from .command import Command, Connect, Disconnect, Other, Peer, Restart, Shutdown
from .errors import MuleClientError, MuleConfigError, RedisUnreachableError
from .log_level import TRACE, parse_log_level, wire_level
from .restart import DEFAULT_DELAY_FILE, RESTART_EXIT_CODE

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DELAY_FILE",
    "RESTART_EXIT_CODE",
    "TRACE",
    "Command",
    "Connect",
    "Disconnect",
    "MuleClient",
    "MuleClientBuilder",
    "MuleClientError",
    "MuleConfigError",
    "Other",
    "Peer",
    "RedisUnreachableError",
    "Restart",
    "Shutdown",
    "parse_log_level",
    "wire_level",
]
