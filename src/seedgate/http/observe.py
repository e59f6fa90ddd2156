"""The outermost layer of the app: every request gets its `x-request-id`, is counted and
timed in the metrics, gets its access-log line, and has a deadline for its body.

Metrics label a request by its route template (`/v1/videos/{video_id}`), never by its
path, so ids do not multiply the series; `JsonRoutes` names the route it matched, and the
Starlette routes are named by their endpoint after the fact.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Iterable

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedgate.http.plumbing import json_response
from seedgate.ops import access, metrics

REQUEST_ID = "seedgate.request_id"
ROUTE = "seedgate.route"  # (dialect, route template), set by the router that matched
UNMATCHED = ("none", "unmatched")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Starlette's routes, grouped like the dialects' (first matching prefix wins).
GROUPS = (("/admin/", "admin"), ("/console", "console"), ("/media/", "media"),
          ("/v1/", "native"), ("/openapi.json", "docs"), ("/docs", "docs"))


class BodyTimeout(Exception):
    """The client did not send the request's body within `body_read_timeout`."""


class RequestIds:
    """`x-request-id` values: a random per-process prefix and a counter, unique and cheaper
    than fresh randomness on every request."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    def next(self) -> bytes:
        return f"{self._prefix}{next(self._counter):08x}".encode()


def route_labels(routes: Iterable[BaseRoute], prefix: str = "") -> dict[object, tuple[str, str]]:
    """(dialect, template) of every Starlette endpoint, mounted ones included."""
    labels: dict[object, tuple[str, str]] = {}
    for route in routes:
        if isinstance(route, Mount):
            labels.update(route_labels(route.routes, prefix + route.path))
        elif isinstance(route, Route):
            template = prefix + route.path
            group = next((name for start, name in GROUPS if template.startswith(start)), "ops")
            labels[route.endpoint] = (group, template)
    return labels


class Observed:
    def __init__(self, app: ASGIApp, endpoints: dict[object, tuple[str, str]],
                 body_timeout_s: float, tally: metrics.RequestTally) -> None:
        self.app = app
        self.endpoints = endpoints
        self.body_timeout_s = body_timeout_s
        self.tally = tally
        self.ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self.ids.next()
        scope[REQUEST_ID] = request_id
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        access.KEY_NAME.set(None)
        if scope["method"] in BODY_METHODS:
            receive = self._deadline(receive)
        try:
            await self.app(scope, receive, send_with_id)
        except BodyTimeout:
            if not status:
                await timed_out()(scope, receive, send_with_id)
        finally:
            dialect, route = scope.get(ROUTE) or self.endpoints.get(scope.get("endpoint"),
                                                                    UNMATCHED)
            seconds = time.perf_counter() - started
            self.tally.add(dialect, route, scope["method"], status or 500, seconds)
            if access.ACCESS.isEnabledFor(logging.INFO):
                access.record(request_id.decode(), scope["method"], status or 500,
                              seconds * 1000, dialect=dialect, route=route)

    def _deadline(self, receive: Receive) -> Receive:
        """`receive`, with the whole body due within the timeout of the first call; what
        comes after the body (a disconnect) is awaited without one."""
        deadline: float | None = None
        complete = False

        async def receive_in_time() -> Message:
            nonlocal deadline, complete
            if complete:
                return await receive()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self.body_timeout_s
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout from None
            complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        return receive_in_time


def timed_out() -> Response:
    """408, closing the connection: what is left of the body will not be read. The
    Starlette app answers it too (else its error middleware would answer 500 first)."""
    return json_response({"error": {"code": "request_timeout", "message": "The request "
                                    "body did not arrive in time."}}, 408,
                         {"connection": "close"})
