"""A bare ASGI hello-world: the ceiling that uvicorn itself sets, for the benchmark's ratio.

Serve it the way `seedgate serve` serves the gateway (run from the repository root):

    .venv/bin/python -m uvicorn bench.hello_asgi:app --loop uvloop --http httptools \\
        --no-access-log --log-level warning
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send(START)
    await send(RESPONSE)
