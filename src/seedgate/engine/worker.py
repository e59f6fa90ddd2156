"""The worker: leases unfinished tasks, drives them through a provider, and settles them.

A task is submitted through the dispatcher (routing and failover), then polled: a local
provider (the simulator) every `poll_s`, a remote one on the poll schedule, or at once when
its callback arrives (`nudge`). A remote result is mirrored before the task succeeds.

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
from seedgate.domain.upstream import UpstreamError
from seedgate.engine.dispatch import Dispatcher
from seedgate.engine.outcomes import Outcomes
from seedgate.engine.schedule import PollSchedule
from seedgate.ops import metrics
from seedgate.providers.base import Provider, UpstreamState, UpstreamStatus
from seedgate.providers.mirror import Mirror, MirrorFailed
from seedgate.providers.router import Router
from seedgate.store import attempts
from seedgate.store import tasks as task_store
from seedgate.store.database import Database
from seedgate.waiting import wait_event

log = logging.getLogger(__name__)

MAX_RESUBMITS = 3


class Worker:
    def __init__(
        self,
        db: Database,
        outcomes: Outcomes,
        router: Router,
        *,
        dispatcher: Dispatcher,
        mirror: Mirror,
        schedule: PollSchedule,
        callbacks: bool = False,
        concurrency: int,
        lease_s: float,
        poll_s: float,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._db = db
        self._outcomes = outcomes
        self._router = router
        self._dispatcher = dispatcher
        self._mirror = mirror
        self._schedule = schedule
        self._callbacks = callbacks  # whether providers are given callback URLs
        self._holding: dict[str, str] = {}  # task id -> provider whose slot it holds
        self._concurrency = concurrency
        self._lease_ms = int(lease_s * 1000)
        self._poll_s = poll_s
        self._clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._nudges: dict[str, asyncio.Event] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}

    def wake(self, _subject: str = "") -> None:
        """New work may be waiting: lease now instead of at the next tick."""
        self._wake.set()

    def nudge(self, task_id: str) -> None:
        """The task's upstream state changed (every task's, if `task_id` is empty): poll
        it now, if this worker holds it."""
        events = [self._nudges.get(task_id)] if task_id else list(self._nudges.values())
        for event in events:
            if event is not None:
                event.set()

    async def run(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(), name="lease-heartbeat")
        try:
            while True:
                await self._lease_more()
                await wait_event(self._wake, self._poll_s)
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
            self._let_go(task.id)
            self._wake.set()  # a slot is free: lease the next task now

    async def _advance(self, task: Task) -> None:
        provider = self._resume(task)
        if provider is None:
            task = replace(task, upstream_id=None)
        resubmits = polls = 0
        delay, submitted_at = 0.0, None
        while True:
            if self._clock() >= task.deadline_at:
                await self._expire(task)
                return
            if task.upstream_id is None or provider is None:
                dispatched = await self._dispatcher.dispatch(task)
                if dispatched is None:
                    return
                task, route = dispatched
                provider, polls, submitted_at = route.provider, 0, self._clock()
                self._holding[task.id] = provider.name
                delay = self._schedule.first(
                    provider.name, task.model, callbacks=self._called_back(provider),
                ) if provider.remote else 0
            await self._pause(task.id, delay)
            assert task.upstream_id is not None
            try:
                async with metrics.upstream_call(provider.name, "poll"):
                    status = await provider.poll(task.upstream_id)
            except UpstreamError as error:
                polls += 1
                log.info("polling task %s at %s failed: %r", task.id, provider.name, error)
                delay = self._schedule.after(polls)  # not the callback's fault: sooner
                continue
            polls += 1
            if status.state is UpstreamState.LOST:
                resubmits += 1
                if resubmits > MAX_RESUBMITS:
                    raise RuntimeError("the provider lost the job repeatedly")
                log.info("provider lost job %s of task %s; submitting again",
                         task.upstream_id, task.id)
                self._let_go(task.id)
                task, provider = replace(task, upstream_id=None), None
                continue
            if status.finished or status.state is UpstreamState.EXPIRED:
                await self._conclude(task, provider, status, polls, submitted_at)
                return
            if status.progress != task.progress:
                task = await self._outcomes.record_progress(task, status.progress)
            delay = self._schedule.after(polls, callbacks=self._called_back(
                provider)) if provider.remote else self._poll_s

    def _called_back(self, provider: Provider) -> bool:
        return self._callbacks and provider.callbacks

    def _resume(self, task: Task) -> Provider | None:
        """The provider of a task already submitted (taken over after a restart), its slot
        held; None when the task has not been submitted or its provider is gone."""
        provider = self._router.get(task.provider) if task.upstream_id else None
        if provider is not None:
            self._router.hold(provider.name)
            self._holding[task.id] = provider.name
        return provider

    def _let_go(self, task_id: str) -> None:
        name = self._holding.pop(task_id, None)
        if name is not None:
            self._router.release(name)

    async def _conclude(self, task: Task, provider: Provider, status: UpstreamStatus,
                        polls: int, submitted_at: int | None) -> None:
        """Store the outcome of a finished job (a local one's files are then removed)."""
        assert task.upstream_id is not None
        remote = status.remote
        # Bookkeeping, written alongside (not before) the outcome: it must not delay it.
        record = asyncio.ensure_future(self._db.write(partial(
            attempts.finished, task_id=task.id, upstream_id=task.upstream_id, calls=polls,
            upstream_done_at=remote.completed_at if remote else None, now=self._clock())))
        try:
            await self._settle(task, provider, status, submitted_at)
        finally:
            await record
        if not provider.remote:  # the simulator's files; remote records expire upstream
            await provider.cancel(task.upstream_id)

    async def _settle(self, task: Task, provider: Provider, status: UpstreamStatus,
                      submitted_at: int | None) -> None:
        if status.state is UpstreamState.SUCCEEDED:
            if submitted_at is not None and provider.remote:
                await self._schedule.observe(provider.name, task.model,
                                       (self._clock() - submitted_at) / 1000)
            await self._succeed(task, status)
        elif status.state is UpstreamState.EXPIRED:
            await self._outcomes.end(
                task, TaskStatus.EXPIRED, FailureCode.PROCESSING_TIMEOUT,
                status.error_message or "The provider did not finish before its deadline.")
        else:
            await self._outcomes.end(
                task, TaskStatus.FAILED, status.error_code or FailureCode.GENERATION_FAILED,
                status.error_message or "The provider could not generate the video.",
            )

    async def _succeed(self, task: Task, status: UpstreamStatus) -> None:
        """A local result is stored as is; a remote one is mirrored first, and a mirror
        that fails for good fails the task (refunded)."""
        if status.result is not None:
            await self._outcomes.succeed(task, status.result)
            return
        assert status.remote is not None
        try:
            result = await self._mirror.fetch(task, status.remote)
            await self._outcomes.succeed(task, result)
        except MirrorFailed as exc:
            await self._outcomes.end(task, TaskStatus.FAILED, FailureCode.INTERNAL_ERROR,
                                     f"The gateway could not copy the provider's video: {exc}")
        finally:
            await asyncio.to_thread(self._mirror.discard, task)

    async def _pause(self, task_id: str, delay: float) -> None:
        if delay <= 0:
            return
        event = self._nudges.get(task_id)
        if event is None:
            await asyncio.sleep(delay)
            return
        await wait_event(event, delay)
        event.clear()

    async def _expire(self, task: Task) -> None:
        expired = await self._outcomes.end(
            task, TaskStatus.EXPIRED, FailureCode.PROCESSING_TIMEOUT,
            "The task did not finish before its execution deadline.",
        )
        provider = self._router.get(task.provider)
        if expired and task.upstream_id and provider is not None:
            await provider.cancel(task.upstream_id)

    async def _stop_inflight(self) -> None:
        running = list(self._inflight.values())
        for job in running:
            job.cancel()
        await asyncio.gather(*running, return_exceptions=True)
