"""Running the gateway: the HTTP server (with its worker) or the worker alone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from seedgate.config import Settings
from seedgate.gateway import Gateway
from seedgate.http.app import create_app


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def serve(settings: Settings, *, worker: bool = True) -> None:
    app = create_app(Gateway(settings, run_worker=worker))
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        lifespan="on", access_log=False, log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()


def run_worker(settings: Settings) -> None:
    async def main() -> None:
        gateway = Gateway(settings, run_worker=True)
        runner = asyncio.create_task(gateway.run_worker_forever())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runner.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await runner

    import uvloop

    uvloop.run(main())
