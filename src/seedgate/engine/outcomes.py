"""Turning what a provider reports into task state: store results, settle credits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from seedgate.clock import now_ms
from seedgate.domain.errors import FailureCode
from seedgate.domain.pricing import PriceTable, tokens_of
from seedgate.domain.task import Outputs, Task, TaskStatus
from seedgate.media.storage import Storage, StorageUnavailable
from seedgate.providers.base import UpstreamResult
from seedgate.service import lifecycle
from seedgate.store import tasks as task_store
from seedgate.store.database import Database

log = logging.getLogger(__name__)

STORE_RETRY_S = (0.5, 30.0)  # first and longest pause between tries to store a result


class Outcomes:
    def __init__(
        self, db: Database, storage: Storage, prices: PriceTable, *,
        clock: Callable[[], int] = now_ms, notify: lifecycle.Notify | None = None,
        announce: Callable[[str], None] = lambda task_id: None,
    ) -> None:
        self._db = db
        self._storage = storage
        self._prices = prices
        self._clock = clock
        self._notify = notify or lifecycle.unheard
        self._announce = announce  # a task's progress changed

    async def start(self, task: Task, provider: str) -> Task:
        now = self._clock()
        if await self._db.write(partial(lifecycle.start, task=task, provider=provider,
                                        now=now, notify=self._notify)):
            return replace(task, status=TaskStatus.RUNNING, provider=provider, started_at=now)
        return await self.reload(task)

    async def record_progress(self, task: Task, progress: int) -> Task:
        await self._db.write(partial(task_store.update_active, task_id=task.id,
                                     now=self._clock(), progress=progress))
        self._announce(task.id)
        return replace(task, progress=progress)

    async def end(
        self, task: Task, target: TaskStatus, code: FailureCode | str, message: str
    ) -> bool:
        """Fail, expire or cancel with a refund; False if the task had already ended."""
        return await self._db.write(partial(
            lifecycle.end_unsuccessfully, task=task, target=target, code=str(code),
            message=message, now=self._clock(), notify=self._notify,
        ))

    async def succeed(self, task: Task, result: UpstreamResult) -> bool:
        """Copy the result into storage, then mark the task succeeded and settle its price."""
        video_key = f"videos/{task.id}{result.video.suffix}"  # .mp4 or .mov
        frame_key = f"frames/{task.id}.png" if result.last_frame else None
        await self._store(task, video_key, result.video)
        if frame_key and result.last_frame:
            await self._store(task, frame_key, result.last_frame)
        rendition = result.rendition
        size = (rendition.width, rendition.height)
        tokens = result.tokens if result.tokens is not None else tokens_of(
            *size, rendition.duration)
        assert task.request.resolution is not None
        final_price = self._prices.settle(
            task.request, tokens=tokens, resolution=result.resolution or task.request.resolution,
            size=size, audio=rendition.has_audio, debited=task.price)
        outputs = Outputs(video_key, rendition, frame_key, tokens=result.tokens)
        return await self._db.write(partial(
            lifecycle.succeed, task=task, outputs=outputs, final_price=final_price,
            now=self._clock(), notify=self._notify,
        ))

    async def _store(self, task: Task, key: str, source: Path) -> None:
        """An outage of the media storage delays the task instead of failing it: storing
        is retried, with growing pauses, until the task's deadline."""
        pause, longest = STORE_RETRY_S
        while True:
            try:
                await self._storage.put_file(key, source)
                return
            except StorageUnavailable as exc:
                if self._clock() + pause * 1000 >= task.deadline_at:
                    raise
                log.warning("storing %s of task %s failed, retrying in %.1f s: %s",
                            key, task.id, pause, exc)
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)

    async def reload(self, task: Task) -> Task:
        """The task as stored; one deleted meanwhile reads as cancelled, so nobody drives
        it further."""
        fresh = await self._db.read(partial(task_store.get_task, task_id=task.id))
        return fresh or replace(task, status=TaskStatus.CANCELLED)
