"""Status polls served as raw ASGI, in front of the Starlette app.

Clients poll status far more often than they do anything else. Measured with `make bench`,
Starlette's routing and its Request and Response objects cost more than the endpoint itself
on this path, so polls skip them; the endpoint code is the same one the Starlette routes
call, and everything else goes on to the app.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from seedgate.dialects import seedance15pro as codec
from seedgate.http.plumbing import Reply, answer, base_url
from seedgate.http.seedance15pro import STATUS_PATH, SeedanceEndpoints


class FastStatus:
    def __init__(self, app: ASGIApp, seedance: SeedanceEndpoints) -> None:
        self.app = app
        self.seedance = seedance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != STATUS_PATH:
            await self.app(scope, receive, send)
            return
        authorization = host = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        base = base_url(self.seedance.gateway, scope["scheme"], host)
        work = self.seedance.status(authorization, query.get("task_id"), base)
        await send_reply(send, await answer(work, codec.encode_error, f"GET {STATUS_PATH}"))


async def send_reply(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.media_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
        *((name.encode(), value.encode()) for name, value in reply.headers.items()),
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
