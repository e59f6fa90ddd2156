"""Refresh on read: a status request for an unfinished task asks the provider first.

However many clients poll one task, the provider is asked at most once per interval:
concurrent readers share one in-flight call, and later ones reuse its answer until it is
`min_interval_s` old. A remote provider's calls cost money and count against its rate
limit, so its tasks are asked at most once per `remote_interval_s` (0: never on reads;
the worker's poll schedule and the provider's callbacks keep them current anyway).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from seedgate.domain.errors import FailureCode
from seedgate.domain.task import Task, TaskStatus
from seedgate.engine.outcomes import Outcomes
from seedgate.ops import metrics
from seedgate.providers.base import UpstreamState
from seedgate.providers.router import Router

log = logging.getLogger(__name__)


class Refresher:
    def __init__(
        self,
        router: Router,
        outcomes: Outcomes,
        *,
        min_interval_s: float,
        remote_interval_s: float = 0.0,
        on_finished: Callable[[str], None] = lambda task_id: None,
    ) -> None:
        self._router = router
        self._outcomes = outcomes
        self._min_interval_s = min_interval_s
        self._remote_interval_s = remote_interval_s
        self._on_finished = on_finished
        self._inflight: dict[str, asyncio.Future[Task]] = {}
        self._recent: dict[str, tuple[float, Task]] = {}
        self.provider_calls = 0

    async def refresh(self, task: Task) -> Task:
        provider = self._router.get(task.provider)
        if task.upstream_id is None or task.status.terminal or provider is None or (
                provider.remote and not self._remote_interval_s):
            return task
        interval = self._remote_interval_s if provider.remote else self._min_interval_s
        if (recent := self._recent.get(task.id)) is not None:
            asked_at, asked = recent
            task = _latest(asked=asked, stored=task)
            if time.monotonic() - asked_at < interval:
                return task
        pending = self._inflight.get(task.id)
        if pending is None:
            pending = asyncio.ensure_future(self._ask(task))
            self._inflight[task.id] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(task.id, None))
        return await asyncio.shield(pending)

    async def _ask(self, task: Task) -> Task:
        assert task.upstream_id is not None
        provider = self._router.get(task.provider)
        assert provider is not None
        self.provider_calls += 1
        try:
            async with metrics.upstream_call(provider.name, "poll"):
                status = await provider.poll(task.upstream_id)
        except Exception:
            log.warning("refreshing task %s from its provider failed", task.id, exc_info=True)
            return task
        fresh = task
        if status.state is UpstreamState.FAILED:
            await self._outcomes.end(
                task, TaskStatus.FAILED, status.error_code or FailureCode.GENERATION_FAILED,
                status.error_message or "The provider could not generate the video.",
            )
            fresh = await self._outcomes.reload(task)
        elif status.state is UpstreamState.SUCCEEDED:
            self._on_finished(task.id)  # the worker stores the result, then it shows
        elif status.state is UpstreamState.RUNNING and status.progress > task.progress:
            fresh = replace(task, progress=status.progress)
        self._forget_stale()
        self._recent[task.id] = (time.monotonic(), fresh)
        return fresh

    def _forget_stale(self) -> None:
        if len(self._recent) < 10_000:
            return
        horizon = time.monotonic() - max(self._min_interval_s, self._remote_interval_s)
        self._recent = {k: v for k, v in self._recent.items() if v[0] >= horizon}


def _latest(*, asked: Task, stored: Task) -> Task:
    """The stored task where it changed after the provider was asked, yet never with less
    progress than that answer: the worker may store what an earlier poll of its own said
    after a read has shown a later figure, and a client's progress must not go back."""
    if asked.updated_at >= stored.updated_at:
        return asked
    if stored.status is asked.status and stored.progress < asked.progress:
        return replace(stored, progress=asked.progress)
    return stored
