"""JSON endpoints served as raw ASGI, in front of the Starlette app.

Status polls and creates are the gateway's hot calls. Measured with `make bench`,
Starlette's routing and its Request and Response objects cost more than the endpoints
themselves, so the dialects' JSON paths are dispatched here with plain values (`Call`):
exact paths by a dictionary lookup, templated ones (`/api/v1/runs/{run_id}`) with
Starlette's own path compiler. Everything else (media, unknown paths) goes on to the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from seedgate.gateway import Gateway
from seedgate.http.observe import ROUTE
from seedgate.http.plumbing import (
    MAX_BODY_BYTES,
    MAX_UPLOAD_BYTES,
    Reply,
    base_url,
    json_reply,
    scope_client,
    send_chunks,
)


@dataclass(frozen=True, slots=True)
class Call:
    """What an endpoint needs from a request."""

    method: str
    authorization: str | None
    query: dict[str, str]
    body: bytes
    base_url: str
    path_params: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    idempotency_key: str | None = None
    raw_query: str = ""  # for repeated keys, which `query` collapses to their last value
    prefer: str | None = None
    client: str | None = None  # the client's IP address (through trusted proxies)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # all, as received

    def header(self, name: bytes) -> str | None:
        """A header the fields above do not hold (`name` in lower case)."""
        return next((value.decode("latin-1") for key, value in self.headers if key == name),
                    None)


Endpoint = Callable[[Call], Awaitable[Reply]]
Methods = dict[str, Endpoint]


class JsonRoutes:
    """`routes` maps each path (template) to its methods, `dialects` to its dialect's name;
    a matched request's scope is labelled with both, for the metrics and the access log."""

    def __init__(self, app: ASGIApp, gateway: Gateway, routes: dict[str, Methods],
                 dialects: dict[str, str]) -> None:
        self.app = app
        self.gateway = gateway
        self.exact = {path: methods for path, methods in routes.items() if "{" not in path}
        self.templated = [
            (compile_path(path)[0], methods) for path, methods in routes.items() if "{" in path
        ]
        self.labels = {id(methods): (dialects[path], path) for path, methods in routes.items()}

    def match(self, path: str) -> tuple[Methods, dict[str, str]] | None:
        methods = self.exact.get(path)
        if methods is not None:
            return methods, {}
        for pattern, candidate in self.templated:
            found = pattern.match(path)
            if found:
                return candidate, found.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self.match(scope["path"]) if scope["type"] == "http" else None
        if matched is None:
            await self.app(scope, receive, send)
            return
        methods, path_params = matched
        scope[ROUTE] = self.labels[id(methods)]
        endpoint = methods.get(scope["method"])
        if endpoint is None:
            allowed = ", ".join(methods)
            reply = json_reply({"error": {"code": "method_not_allowed",
                                          "message": f"Use {allowed} on this path."}},
                               405, {"allow": allowed})
            await send_reply(send, receive, reply)
            return
        authorization = host = content_type = idempotency_key = prefer = forwarded = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"idempotency-key":
                idempotency_key = value.decode("latin-1")
            elif name == b"prefer":
                prefer = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
        body = b""
        if scope["method"] in ("POST", "PUT"):
            body = await read_body(receive, body_limit(content_type))
        raw_query = scope["query_string"].decode("latin-1")
        call = Call(
            method=scope["method"], authorization=authorization,
            query=dict(parse_qsl(raw_query)), body=body,
            base_url=base_url(self.gateway, scope["scheme"], host), path_params=path_params,
            content_type=content_type, idempotency_key=idempotency_key, raw_query=raw_query,
            prefer=prefer, client=scope_client(self.gateway, scope, forwarded),
            headers=scope["headers"],
        )
        await send_reply(send, receive, await endpoint(call))


def body_limit(content_type: str | None) -> int:
    """Uploads (multipart forms carrying an image) may be larger than JSON bodies."""
    if content_type is not None and content_type.startswith("multipart/form-data"):
        return MAX_UPLOAD_BYTES
    return MAX_BODY_BYTES


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body; reading stops past `limit` (the endpoint then refuses it)."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit + 1:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_reply(send: Send, receive: Receive, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.media_type.encode()),
        *((name.encode(), value.encode()) for name, value in reply.headers.items()),
    ]
    if reply.stream is None:
        headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if reply.stream is None:
        await send({"type": "http.response.body", "body": reply.body})
        return
    await send_chunks(send, receive, reply.stream)
