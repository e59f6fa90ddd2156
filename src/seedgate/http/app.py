"""The ASGI application: every dialect's routes on one server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from seedgate.gateway import Gateway
from seedgate.http import console, events, media, openapi, ops
from seedgate.http.admin import api as admin_api
from seedgate.http.apixo import ApixoEndpoints
from seedgate.http.ark import ArkEndpoints
from seedgate.http.callbacks import CallbackEndpoints
from seedgate.http.defapi import DefapiEndpoints
from seedgate.http.fastpath import JsonRoutes, Methods
from seedgate.http.native import NativeEndpoints
from seedgate.http.observe import BodyTimeout, Observed, route_labels, timed_out
from seedgate.http.plumbing import json_response
from seedgate.http.runbase import RunbaseEndpoints
from seedgate.http.seedance15pro import SeedanceEndpoints
from seedgate.ops import metrics

TALLY_FLUSH_S = 1.0  # how stale the request metrics of a process not scraped may be


async def http_error(_request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer JSON, like everything else."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return json_response({"error": {"code": code, "message": exc.detail}}, exc.status_code,
                         dict(exc.headers or {}))


def create_app(gateway: Gateway) -> ASGIApp:
    tally = metrics.RequestTally()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        flusher = asyncio.create_task(tally.flush_every(TALLY_FLUSH_S), name="metrics")
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            tally.close()
            await gateway.stop()

    app = Starlette(
        routes=[*media.routes, *openapi.routes, *events.routes, *admin_api.routes,
                *ops.routes, console.mount()], lifespan=lifespan,
        exception_handlers={HTTPException: http_error, BodyTimeout: body_timed_out},
    )
    app.state.gateway = gateway
    routes, dialects = mounted_routes(gateway)
    return Observed(JsonRoutes(app, gateway, routes, dialects), route_labels(app.routes),
                    gateway.settings.body_read_timeout, tally)


async def body_timed_out(_request: Request, _exc: Exception) -> Response:
    return timed_out()


DIALECT_ENDPOINTS = (SeedanceEndpoints, ArkEndpoints, NativeEndpoints, ApixoEndpoints,
                     RunbaseEndpoints, DefapiEndpoints, CallbackEndpoints)


def mounted_routes(gateway: Gateway) -> tuple[dict[str, Methods], dict[str, str]]:
    """Every dialect's JSON endpoints (their paths do not collide), and each path's
    dialect."""
    routes: dict[str, Methods] = {}
    dialects: dict[str, str] = {}
    for endpoints in DIALECT_ENDPOINTS:
        served = endpoints(gateway).routes()
        routes.update(served)
        dialects.update(dict.fromkeys(served, endpoints.dialect))
    return routes, dialects


def dialect_routes(gateway: Gateway) -> dict[str, Methods]:
    """Every dialect's JSON endpoints."""
    return mounted_routes(gateway)[0]
