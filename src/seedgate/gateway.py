"""The running system's parts, wired once from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from seedgate.config import Settings
from seedgate.engine.janitor import Janitor
from seedgate.engine.outcomes import Outcomes
from seedgate.engine.refresh import Refresher
from seedgate.engine.worker import Worker
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import LocalStorage
from seedgate.providers.simulator import SimulatorProvider
from seedgate.service.accounts import Accounts, Authenticator
from seedgate.service.limits import RateLimiter
from seedgate.service.tasks import TaskService
from seedgate.store.database import Database

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, settings: Settings, *, run_worker: bool = True) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url, schema=settings.database_schema)
        self.storage = LocalStorage(settings.media_dir)
        self.signer = UrlSigner(settings.signing_secret())
        self.accounts = Accounts(self.db)
        self.auth = Authenticator(self.db)
        self.limiter = RateLimiter(settings.rate_limit)
        prices = settings.price_table()
        self.provider = SimulatorProvider(
            settings.simulator_dir, latency_s=settings.simulator_latency,
            render_processes=settings.render_processes, executes=run_worker,
        )
        self.outcomes = Outcomes(self.db, self.storage, prices)
        self.worker = Worker(
            self.db, self.outcomes, self.provider, concurrency=settings.worker_concurrency,
            lease_s=settings.lease_seconds, poll_s=settings.worker_poll_interval,
        ) if run_worker else None
        self.refresher = Refresher(
            self.provider, self.outcomes, min_interval_s=settings.refresh_interval,
            on_finished=self.worker.nudge if self.worker else lambda task_id: None,
        )
        self.tasks = TaskService(
            self.db, prices, refresher=self.refresher,
            on_created=self.worker.wake if self.worker else lambda: None,
            storage=self.storage,
        )
        self.janitor = Janitor(self.db, self.storage, settings.media_ttl)
        self._background: list[asyncio.Task[None]] = []
        self._worker_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.db.migrate)
        if self.worker is not None:
            self._worker_task = asyncio.create_task(self.worker.run(), name="worker")
            janitor = asyncio.create_task(self.janitor.run(), name="media-janitor")
            self._background = [self._worker_task, janitor]

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.provider.close()
        await self.db.close()

    async def run_worker_forever(self) -> None:
        """`seedgate worker`: the worker alone, until cancelled."""
        await self.start()
        try:
            assert self._worker_task is not None
            await self._worker_task
        finally:
            await self.stop()
