"""The worker: leases unfinished tasks, drives them through a provider, and settles them.

A lease is a claim with an expiry, renewed while this process works on the task. A worker
that dies (even `kill -9`) stops renewing, and another worker, or this one restarted,
takes the task over once the lease runs out; state transitions are guarded in SQL, so a
task never completes twice and is never refunded twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from seedgate.clock import now_ms
from seedgate.domain.errors import FailureCode
from seedgate.domain.task import Task, TaskStatus
from seedgate.engine.outcomes import Outcomes
from seedgate.providers.base import Provider, UpstreamState
from seedgate.store import tasks as task_store
from seedgate.store.database import Database

log = logging.getLogger(__name__)

MAX_RESUBMITS = 3


class Worker:
    def __init__(
        self,
        db: Database,
        outcomes: Outcomes,
        provider: Provider,
        *,
        concurrency: int,
        lease_s: float,
        poll_s: float,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._db = db
        self._outcomes = outcomes
        self._provider = provider
        self._concurrency = concurrency
        self._lease_ms = int(lease_s * 1000)
        self._poll_s = poll_s
        self._clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._nudges: dict[str, asyncio.Event] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}

    def wake(self) -> None:
        """New work may be waiting: lease now instead of at the next tick."""
        self._wake.set()

    def nudge(self, task_id: str) -> None:
        """The task's upstream state changed: poll it now."""
        event = self._nudges.get(task_id)
        if event is not None:
            event.set()

    async def run(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(), name="lease-heartbeat")
        try:
            while True:
                await self._lease_more()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
                self._wake.clear()
        finally:
            heartbeat.cancel()
            await self._stop_inflight()

    async def _lease_more(self) -> None:
        room = self._concurrency - len(self._inflight)
        if room <= 0:
            return
        now = self._clock()
        try:
            leased = await self._db.write(partial(
                task_store.lease, owner=self.owner, now=now, until=now + self._lease_ms,
                limit=room,
            ))
        except Exception:
            log.exception("leasing tasks failed; retrying")
            return
        for task in leased:
            self._nudges[task.id] = asyncio.Event()
            self._inflight[task.id] = asyncio.create_task(self._drive(task), name=task.id)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            await self._renew()
            await self._expire_overdue()

    async def _renew(self) -> None:
        ids = list(self._inflight)
        try:
            held = await self._db.write(partial(
                task_store.renew_leases, owner=self.owner, task_ids=ids,
                until=self._clock() + self._lease_ms,
            ))
        except Exception:
            log.exception("renewing leases failed")
            return
        for task_id in set(ids) - held:
            running = self._inflight.get(task_id)
            if running is not None:  # another worker owns it now, or it ended elsewhere
                running.cancel()

    async def _expire_overdue(self) -> None:
        """Expire tasks past their deadline, queued ones included, wherever they are."""
        try:
            overdue = await self._db.read(partial(task_store.overdue, now=self._clock(),
                                                  limit=100))
            for task in overdue:
                running = self._inflight.get(task.id)
                if running is not None:
                    running.cancel()
                await self._expire(task)
        except Exception:
            log.exception("expiring overdue tasks failed")

    async def _drive(self, task: Task) -> None:
        """Drive one task until it ends; ending a task also clears its lease."""
        try:
            await self._advance(task)
        except asyncio.CancelledError:
            # Shutting down, or the lease went elsewhere: free it for another worker now.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._db.write(partial(
                    task_store.release_lease, owner=self.owner, task_id=task.id)))
            raise
        except Exception:
            log.exception("task %s failed in the worker", task.id)
            await self._outcomes.end(task, TaskStatus.FAILED, FailureCode.INTERNAL_ERROR,
                                     "The gateway could not complete the task.")
        finally:
            self._inflight.pop(task.id, None)
            self._nudges.pop(task.id, None)
            self._wake.set()  # a slot is free: lease the next task now

    async def _advance(self, task: Task) -> None:
        provider = self._provider
        resubmits = 0
        while True:
            if self._clock() >= task.deadline_at:
                await self._expire(task)
                return
            if task.status is TaskStatus.QUEUED:
                task = await self._outcomes.start(task, provider.name)
                if task.status.terminal:
                    return
            if task.upstream_id is None:
                task = await self._outcomes.record_upstream(task, await provider.submit(task))
            status = await provider.poll(task.upstream_id)
            if status.state is UpstreamState.LOST:
                resubmits += 1
                if resubmits > MAX_RESUBMITS:
                    raise RuntimeError("the provider lost the job repeatedly")
                log.info("provider lost job %s of task %s; submitting again",
                         task.upstream_id, task.id)
                task = replace(task, upstream_id=None)
                continue
            if status.state is UpstreamState.FAILED:
                await self._outcomes.end(
                    task, TaskStatus.FAILED, status.error_code or FailureCode.GENERATION_FAILED,
                    status.error_message or "The provider could not generate the video.",
                )
                await provider.cancel(task.upstream_id)
                return
            if status.state is UpstreamState.SUCCEEDED and status.result is not None:
                await self._outcomes.succeed(task, status.result)
                await provider.cancel(task.upstream_id)
                return
            if status.progress != task.progress:
                task = await self._outcomes.record_progress(task, status.progress)
            await self._pause(task.id)

    async def _pause(self, task_id: str) -> None:
        event = self._nudges.get(task_id)
        if event is None:
            await asyncio.sleep(self._poll_s)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), self._poll_s)
        event.clear()

    async def _expire(self, task: Task) -> None:
        expired = await self._outcomes.end(
            task, TaskStatus.EXPIRED, FailureCode.PROCESSING_TIMEOUT,
            "The task did not finish before its execution deadline.",
        )
        if expired and task.upstream_id:
            await self._provider.cancel(task.upstream_id)

    async def _stop_inflight(self) -> None:
        running = list(self._inflight.values())
        for job in running:
            job.cancel()
        await asyncio.gather(*running, return_exceptions=True)
