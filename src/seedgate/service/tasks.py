"""Task use cases shared by every dialect: create (debit and enqueue) and get."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from seedgate.clock import now_ms
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.ids import new_task_id
from seedgate.domain.keys import ApiKey
from seedgate.domain.pricing import PriceTable
from seedgate.domain.request import GenerationRequest, normalize
from seedgate.domain.task import Task, TaskStatus
from seedgate.service import lifecycle
from seedgate.store import tasks as task_store
from seedgate.store.database import Database
from seedgate.store.ledger import InsufficientBalance


class Refresher(Protocol):
    async def refresh(self, task: Task) -> Task: ...


class TerminalCache:
    """Finished tasks never change, so reads of them skip the database."""

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._tasks: dict[str, Task] = {}

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def add(self, task: Task) -> None:
        if len(self._tasks) >= self._max:
            del self._tasks[next(iter(self._tasks))]
        self._tasks[task.id] = task


class TaskService:
    def __init__(
        self,
        db: Database,
        prices: PriceTable,
        *,
        refresher: Refresher | None = None,
        on_created: Callable[[], None] = lambda: None,
        clock: Callable[[], int] = now_ms,
        cache_entries: int = 100_000,
    ) -> None:
        self._db = db
        self._prices = prices
        self._refresher = refresher
        self._on_created = on_created
        self._clock = clock
        self._finished = TerminalCache(cache_entries)

    def quote(self, request: GenerationRequest) -> tuple[GenerationRequest, int]:
        normalized = normalize(request)
        return normalized, self._prices.quote(normalized)

    async def create(
        self, key: ApiKey, dialect: str, request: GenerationRequest, client_request: dict[str, Any]
    ) -> Task:
        """Validate, price, debit and enqueue in one transaction."""
        normalized, price = self.quote(request)
        now = self._clock()
        task = Task(
            id=new_task_id(), key_id=key.id, dialect=dialect, request=normalized,
            client_request=client_request, status=TaskStatus.QUEUED, price=price, refunded=0,
            created_at=now, updated_at=now,
            deadline_at=now + normalized.execution_expires_after * 1000,
        )
        try:
            await self._db.write(partial(lifecycle.create, task=task))
        except InsufficientBalance as exc:
            raise GatewayError(
                ErrorKind.INSUFFICIENT_CREDITS,
                f"This task costs {price} credits but the balance is {exc.balance}. "
                "Add credits or request a shorter, smaller or silent video.",
            ) from exc
        self._on_created()
        return task

    async def get(self, key: ApiKey, task_id: str, *, refresh: bool = True) -> Task:
        """A task of this key; an unfinished one is first brought up to date upstream."""
        task = self._finished.get(task_id)
        if task is None:
            task = await self._db.read(partial(task_store.get_task, task_id=task_id))
        if task is None or task.key_id != key.id:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No task with id {task_id!r} exists "
                               "for this API key.", param="task_id")
        if not task.status.terminal and refresh and self._refresher is not None:
            task = await self._refresher.refresh(task)
        if task.status.terminal:
            self._finished.add(task)
        return task
