"""Submitting a task to a provider, with failover.

Candidates are tried best first (see `providers.router`). A submit that fails because of
the provider (429, 5xx, a timeout, a connection error, a malformed answer, or a refused
key or balance) moves on to the next candidate at once; when every candidate failed, the
next round waits an exponential backoff with jitter, at least as long as the longest
Retry-After heard. A submit refused because of the request itself (content, images,
parameters) fails the task, refunded. Each upstream call is preceded by its attempt's
record, so an attempt is never submitted twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from seedgate.clock import now_ms
from seedgate.domain.errors import FailureCode
from seedgate.domain.task import Task, TaskStatus
from seedgate.domain.upstream import Fault, UpstreamError
from seedgate.engine.outcomes import Outcomes
from seedgate.ops import metrics
from seedgate.providers.config import RoutingSettings, Strategy
from seedgate.providers.router import Route, Router
from seedgate.store import attempts
from seedgate.store import keys as key_store
from seedgate.store.database import Database

log = logging.getLogger(__name__)

REQUEST_FAULTS = frozenset({Fault.CONTENT_VIOLATION, Fault.INVALID_IMAGE,
                            Fault.INVALID_REQUEST})
SLOT_WAIT_S = 1.0


def backoff(round_: int, base_s: float, max_s: float, retry_after: float | None,
            jitter: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter (half to all of the step), never shorter than the
    provider's Retry-After."""
    step = min(max_s, base_s * 2 ** max(0, round_ - 1))
    return max(step * (0.5 + 0.5 * jitter()), retry_after or 0.0)


def strategy_of(task: Task, key_strategy: str | None, default: Strategy) -> Strategy:
    """The request's choice where its dialect carries one (apixo's `provider`, when not
    the default `auto`), else the key's, else the configured default."""
    asked = task.client_request.get("provider") if task.dialect == "apixo" else None
    if asked in (Strategy.OFFICIAL, Strategy.VALUE):
        return Strategy(asked)
    return Strategy(key_strategy) if key_strategy else default


class Dispatcher:
    def __init__(
        self, db: Database, outcomes: Outcomes, router: Router, settings: RoutingSettings, *,
        callback_url: Callable[[str], str | None], clock: Callable[[], int] = now_ms,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._outcomes = outcomes
        self._router = router
        self._settings = settings
        self._callback_url = callback_url
        self._clock = clock
        self._sleep = sleep or asyncio.sleep

    async def dispatch(self, task: Task) -> tuple[Task, Route] | None:
        """Submit `task` somewhere; None when it ended instead (failed, refunded)."""
        key_strategy = await self._db.read(partial(key_store.strategy_of, key_id=task.key_id))
        strategy = strategy_of(task, key_strategy, self._settings.strategy)
        candidates = self._router.candidates(task.request, strategy)
        if not candidates:
            await self._outcomes.end(task, TaskStatus.FAILED, FailureCode.INVALID_INPUT,
                                     f"No provider of this gateway can run this request "
                                     f"(routing strategy {strategy.value}).")
            return None
        names = {route.name for route in candidates}
        tried: set[str] = set()
        rounds, last, retry_after = 0, None, None
        while True:
            route = await self._router.take(candidates, tried)
            if route is None:
                if tried < names:  # the rest are full or resting: wait, still queued
                    await self._router.wait_for_slot(SLOT_WAIT_S)
                    continue
                rounds += 1
                if rounds >= self._settings.submit_rounds:
                    return await self._give_up(task, last)
                tried.clear()
                await self._sleep(backoff(rounds, self._settings.backoff_base,
                                          self._settings.backoff_max, retry_after))
                retry_after = None
                continue
            outcome = await self._submit(task, route)
            if isinstance(outcome, UpstreamError):
                if outcome.fault in REQUEST_FAULTS:
                    await self._outcomes.end(task, TaskStatus.FAILED, outcome.fault.failure_code,
                                             outcome.message)
                    return None
                tried.add(route.name)
                last = outcome
                retry_after = max(retry_after or 0.0, outcome.retry_after or 0.0) or None
                continue
            return None if outcome is None else (outcome, route)

    async def _submit(self, task: Task, route: Route) -> Task | UpstreamError | None:
        """One attempt at one provider, whose slot `take` reserved; the slot is kept only
        when the provider accepted the task (and released if this is cancelled)."""
        kept = False
        try:
            if task.status is TaskStatus.QUEUED:
                task = await self._outcomes.start(task, route.name)
                if task.status.terminal:
                    return None
            number = await self._db.write(partial(attempts.begin, task_id=task.id,
                                                  provider=route.name, now=self._clock()))
            started = time.monotonic()
            try:
                async with metrics.upstream_call(route.name, "submit"):
                    upstream_id = await route.provider.submit(task,
                                                              self._callback_url(task.id))
            except UpstreamError as error:
                if error.fault not in REQUEST_FAULTS:
                    await self._router.health.failed(route.name)
                log.info("submitting task %s to %s failed: %r", task.id, route.name, error)
                await self._db.write(partial(attempts.failed, task_id=task.id, number=number,
                                             error=error.message, now=self._clock()))
                return error
            await self._router.health.succeeded(route.name, time.monotonic() - started)
            if not await self._db.write(partial(
                    attempts.submitted, task_id=task.id, number=number, provider=route.name,
                    upstream_id=upstream_id, now=self._clock())):
                await route.provider.cancel(upstream_id)  # the task ended meanwhile
                return None
            kept = True
            return replace(task, provider=route.name, upstream_id=upstream_id)
        finally:
            if not kept:
                self._router.release(route.name)

    async def _give_up(self, task: Task, last: UpstreamError | None) -> None:
        message = last.message if last else "No provider accepted the task."
        code = last.fault.failure_code if last else FailureCode.INTERNAL_ERROR
        await self._outcomes.end(task, TaskStatus.FAILED, code,
                                 f"Every provider refused the task: {message}")
