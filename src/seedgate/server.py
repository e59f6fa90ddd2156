"""Running the gateway: the HTTP server (with its worker) or the worker alone."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

import uvloop
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.embed import Server
from starlette.types import ASGIApp

from seedgate.config import Settings
from seedgate.gateway import Gateway
from seedgate.http.app import create_app


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def tune_garbage_collector() -> None:
    """Move start-up objects out of the collector's sight and collect young objects less
    often: full collections of a large heap showed up as 60-90 ms stalls in p99 latency."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def http_server(app: ASGIApp, settings: Settings) -> Server:
    """Granian, embedded in this process's event loop so the worker shares it.

    Measured by `make bench` on one core: a bare ASGI hello-world answers about twice as
    many requests a second under granian as under uvicorn with httptools and uvloop.
    """
    return Server(
        app, address=settings.host, port=settings.port, interface=Interfaces.ASGI,
        websockets=False, log_level=LogLevels(settings.log_level.lower()),
    )


def serve(settings: Settings, *, worker: bool = True) -> None:
    async def main() -> None:
        server = http_server(create_app(Gateway(settings, run_worker=worker)), settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        tune_garbage_collector()
        await server.serve()

    uvloop.run(main())


def run_worker(settings: Settings) -> None:
    async def main() -> None:
        gateway = Gateway(settings, run_worker=True)
        runner = asyncio.create_task(gateway.run_worker_forever())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runner.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await runner

    uvloop.run(main())
