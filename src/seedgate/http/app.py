"""The ASGI application: every dialect's routes on one server."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedgate.gateway import Gateway
from seedgate.http import console, events, media, openapi
from seedgate.http.admin import api as admin_api
from seedgate.http.apixo import ApixoEndpoints
from seedgate.http.ark import ArkEndpoints
from seedgate.http.callbacks import CallbackEndpoints
from seedgate.http.defapi import DefapiEndpoints
from seedgate.http.fastpath import JsonRoutes, Methods
from seedgate.http.native import NativeEndpoints
from seedgate.http.plumbing import json_response
from seedgate.http.runbase import RunbaseEndpoints
from seedgate.http.seedance15pro import SeedanceEndpoints


class RequestIds:
    """`x-request-id` values: a random per-process prefix and a counter, unique and cheaper
    than fresh randomness on every request."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    def next(self) -> bytes:
        return f"{self._prefix}{next(self._counter):08x}".encode()


class RequestId:
    """Adds an `x-request-id` header to every response of the wrapped app."""

    def __init__(self, app: ASGIApp, ids: RequestIds) -> None:
        self.app = app
        self.ids = ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.ids.next()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)


async def http_error(_request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer JSON, like everything else."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return json_response({"error": {"code": code, "message": exc.detail}}, exc.status_code,
                         dict(exc.headers or {}))


def create_app(gateway: Gateway) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = Starlette(
        routes=[*media.routes, *openapi.routes, *events.routes, *admin_api.routes,
                console.mount()], lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.gateway = gateway
    ids = RequestIds()
    return JsonRoutes(RequestId(app, ids), gateway, dialect_routes(gateway), ids.next)


def dialect_routes(gateway: Gateway) -> dict[str, Methods]:
    """Every dialect's JSON endpoints; their paths do not collide."""
    routes: dict[str, Methods] = {}
    for dialect in (
        SeedanceEndpoints(gateway),
        ArkEndpoints(gateway),
        NativeEndpoints(gateway),
        ApixoEndpoints(gateway),
        RunbaseEndpoints(gateway),
        DefapiEndpoints(gateway),
        CallbackEndpoints(gateway),
    ):
        routes.update(dialect.routes())
    return routes
