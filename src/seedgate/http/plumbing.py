"""What every dialect's endpoints share: JSON in and out, auth, errors in the dialect.

Endpoints take plain values (`fastpath.Call`) and return a `Reply`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.keys import ApiKey
from seedgate.gateway import Gateway
from seedgate.http.addresses import client_address
from seedgate.ops import access, metrics
from seedgate.shared.bus import Bus, Topic

log = logging.getLogger(__name__)

ErrorEncoder = Callable[[GatewayError], tuple[int, dict[str, Any]]]
MAX_BODY_BYTES = 1 << 20
MAX_UPLOAD_BYTES = 11 << 20  # a 10 MB image and the form around it
JSON = "application/json"


@dataclass(slots=True)
class Reply:
    """A response; a `stream` (with its `content-length` among the headers) is sent
    chunk by chunk instead of `body`."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = JSON
    stream: AsyncGenerator[bytes, None] | None = None

    def response(self) -> Response:
        if self.stream is not None:
            return StreamedResponse(self.stream, self.status, self.headers, self.media_type)
        return Response(self.body, self.status, self.headers, media_type=self.media_type)


class StreamedResponse(Response):
    """Chunks sent as they come (Starlette's StreamingResponse, measured, cost a quarter
    of the downloads a second: it runs each in an anyio task group)."""

    def __init__(self, stream: AsyncGenerator[bytes, None], status: int,
                 headers: dict[str, str], media_type: str) -> None:
        super().__init__(None, status, headers, media_type)
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        await send_chunks(send, receive, self.stream)


async def send_chunks(send: Send, receive: Receive,
                      chunks: AsyncGenerator[bytes, None]) -> None:
    """A response's body, chunk by chunk, after its start. Reading stops when the client
    goes away: the server (granian) would otherwise take every chunk and drop it."""
    gone = asyncio.Event()
    watcher = asyncio.create_task(_await_disconnect(receive, gone))
    try:
        async with aclosing(chunks):
            async for chunk in chunks:
                if gone.is_set():
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        watcher.cancel()


async def _await_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, orjson.dumps(body), headers or {})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_reply(body, status, headers).response()


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


async def authorize(gateway: Gateway, authorization: str | None, client: str | None) -> ApiKey:
    """The caller's key, once it has passed its IP allow-list and its rate limit."""
    key = await gateway.auth.authenticate(authorization)
    access.KEY_NAME.set(key.name)
    if not key.limits.allows_address(client):
        raise GatewayError(ErrorKind.IP_NOT_ALLOWED, f"This API key may not be used from "
                           f"{client or 'an unknown address'}; its IP allow-list refuses it.")
    await gateway.limiter.check(key)
    return key


def scope_client(gateway: Gateway, scope: Scope, forwarded_for: str | None) -> str | None:
    """The client's address for a request's ASGI scope (see `addresses`)."""
    peer = scope.get("client")
    return client_address(peer[0] if peer else None, forwarded_for, gateway.trusted_proxies)


def parse_json(body: bytes) -> Any:
    if len(body) > MAX_BODY_BYTES:
        raise GatewayError(ErrorKind.INVALID_PARAMETER, "The request body is larger than 1 MB.")
    if not body.strip():
        raise GatewayError(ErrorKind.INVALID_JSON, "The request body is empty; send JSON.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(ErrorKind.INVALID_JSON,
                           f"The request body is not valid JSON: {exc}") from exc


def base_url(gateway: Gateway, scheme: str, host: str | None) -> str:
    """Where media links point: the configured public URL, else the host the client called."""
    return gateway.settings.public_url or f"{scheme}://{host or 'localhost'}"


async def answer(work: Awaitable[Reply], encode_error: ErrorEncoder, what: str) -> Reply:
    """Run an endpoint; every failure becomes an error in the dialect's envelope."""
    try:
        return await work
    except GatewayError as error:
        return error_reply(error, encode_error)
    except Exception:
        log.exception("unhandled error in %s", what)
        error = GatewayError(ErrorKind.INTERNAL, "An internal error occurred; retry with "
                             "exponential backoff.")
        return error_reply(error, encode_error)


def error_reply(error: GatewayError, encode_error: ErrorEncoder) -> Reply:
    metrics.refused(error.kind)
    status, body = encode_error(error)
    headers = {}
    if error.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(error.retry_after)))
    return json_reply(body, status, headers)


class ReplyCache:
    """Encoded replies of finished tasks (they never change until deleted, which every
    process hears of on the bus), bounded in size."""

    def __init__(self, bus: Bus, max_entries: int = 50_000) -> None:
        self._max = max_entries
        self._replies: dict[tuple[str, ...], Reply] = {}
        bus.subscribe(Topic.DELETED, self.discard)

    def get(self, key: tuple[str, ...]) -> Reply | None:
        return self._replies.get(key)

    def put(self, key: tuple[str, ...], reply: Reply) -> None:
        if len(self._replies) >= self._max:
            del self._replies[next(iter(self._replies))]
        self._replies[key] = reply

    def discard(self, task_id: str) -> None:
        """Forget every reply of a task (keys start with its id), or every reply if
        `task_id` is empty; rare, so a scan is fine."""
        if not task_id:
            self._replies.clear()
        for key in [key for key in self._replies if key[0] == task_id]:
            del self._replies[key]
