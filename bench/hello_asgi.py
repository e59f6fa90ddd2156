"""A bare ASGI hello-world: the ceiling that the HTTP server itself sets, for the ratio.

Served the way `seedgate serve` serves the gateway (granian embedded in a uvloop loop, one
process):

    .venv/bin/python bench/hello_asgi.py PORT
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from granian.constants import Interfaces
from granian.server.embed import Server

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY = b'{"code":200,"message":"success","data":{"hello":"world"}}'
START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ],
}
RESPONSE: Message = {"type": "http.response.body", "body": BODY}


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Answer every HTTP request, at any path and with any method, with the same small JSON."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    await send(START)
    await send(RESPONSE)


async def lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge start-up and shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def main(port: int) -> None:
    server = Server(app, address="127.0.0.1", port=port, interface=Interfaces.ASGI,
                    websockets=False, log_level="warning")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    await server.serve()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
