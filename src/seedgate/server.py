"""Running the gateway: the HTTP server (with its worker) or the worker alone."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import signal

import uvloop
from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server
from starlette.types import ASGIApp

from seedgate.config import Settings, load_settings
from seedgate.gateway import Gateway
from seedgate.http.app import create_app
from seedgate.ops import access


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    access.configure(settings.access_log)


def tune_garbage_collector() -> None:
    """Move start-up objects out of the collector's sight and collect young objects less
    often: full collections of a large heap showed up as 60-90 ms stalls in p99 latency."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def http1(settings: Settings) -> HTTP1Settings:
    """A client that has not sent its headers within `header_read_timeout` is cut off
    (the body's deadline is the app's: see `http.observe`)."""
    return HTTP1Settings(header_read_timeout=int(settings.header_read_timeout * 1000))


# Connections a server process takes at once, and queued in the kernel beyond them.
# Granian's embedded server defaults both to 128: with 300 clients connecting at once, the
# rest waited in SYN retries (1, 3, 7, ... s), and the last answer came after 61 s.
CONNECTIONS = 2048


def http_server(app: ASGIApp, settings: Settings) -> Server:
    """Granian, embedded in this process's event loop so the worker shares it.

    Measured by `make bench` on one core: a bare ASGI hello-world answers about twice as
    many requests a second under granian as under uvicorn with httptools and uvloop.
    """
    return Server(
        app, address=settings.host, port=settings.port, interface=Interfaces.ASGI,
        websockets=False, log_level=LogLevels(settings.log_level.lower()),
        http1_settings=http1(settings), backlog=CONNECTIONS, backpressure=CONNECTIONS,
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


def serve_processes(settings: Settings, processes: int, *, worker: bool = True) -> None:
    """`serve --workers N`: granian's own processes on one socket, each with its gateway
    (and, unless `worker` is off, its task worker), made by `gateway_app` or `api_app`."""
    from granian.constants import Loops
    from granian.server import Server as ProcessServer

    # Fresh interpreters, not forks: no threads or pools of this process are inherited,
    # and each imports prometheus_client with PROMETHEUS_MULTIPROC_DIR set.
    multiprocessing.set_start_method("spawn", force=True)
    ProcessServer(
        f"seedgate.server:{'gateway_app' if worker else 'api_app'}", factory=True,
        address=settings.host, port=settings.port, interface=Interfaces.ASGI,
        workers=processes, loop=Loops.uvloop, websockets=False,
        log_level=LogLevels(settings.log_level.lower()), http1_settings=http1(settings),
        respawn_failed_workers=True, backlog=CONNECTIONS * processes, backpressure=CONNECTIONS,
    ).serve()


def gateway_app() -> ASGIApp:
    """One server process of `serve --workers N`, settings from the environment."""
    return _process_app(worker=True)


def api_app() -> ASGIApp:
    """One server process of `serve --workers N --no-worker`."""
    return _process_app(worker=False)


def _process_app(*, worker: bool) -> ASGIApp:
    settings = load_settings()
    configure_logging(settings)
    return create_app(Gateway(settings, run_worker=worker))


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
