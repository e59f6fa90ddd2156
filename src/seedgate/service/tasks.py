"""Task use cases shared by every dialect: create (debit and enqueue), get, list, cancel
and delete."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Connection

from seedgate.clock import iso_utc, now_ms
from seedgate.domain import idempotency
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.ids import is_task_id, new_task_id
from seedgate.domain.keys import ApiKey
from seedgate.domain.limits import DEFAULT_CONCURRENCY
from seedgate.domain.paging import ListQuery, NumberedQuery
from seedgate.domain.pricing import PriceTable
from seedgate.domain.request import GenerationRequest, normalize
from seedgate.domain.task import Task, TaskStatus
from seedgate.media.storage import Storage, StorageUnavailable
from seedgate.providers.config import ModelSettings
from seedgate.service import lifecycle
from seedgate.service.models import Lineup
from seedgate.shared.bus import Bus, Topic
from seedgate.store import tasks as task_store
from seedgate.store.database import Database, Unit
from seedgate.store.idempotency import KeyTaken
from seedgate.store.ledger import ConcurrencyCapReached, InsufficientBalance, SpendLimitReached

T = TypeVar("T")
log = logging.getLogger(__name__)
CAP_RETRY_S = 5.0  # a task takes a minute or two: a slot frees up within seconds at best


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: list[Task]
    has_more: bool
    queue_positions: dict[str, int]


@dataclass(frozen=True, slots=True)
class NumberedPage:
    total: int
    tasks: list[Task]


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

    def discard(self, task_id: str) -> None:
        """Forget a task (every task, if `task_id` is empty)."""
        if task_id:
            self._tasks.pop(task_id, None)
        else:
            self._tasks.clear()


class TaskService:
    def __init__(
        self,
        db: Database,
        prices: PriceTable,
        *,
        refresher: Refresher | None = None,
        bus: Bus | None = None,
        clock: Callable[[], int] = now_ms,
        default_cap: int = DEFAULT_CONCURRENCY,
        cache_entries: int = 100_000,
        storage: Storage | None = None,
        notify: lifecycle.Notify | None = None,
        screen: Callable[[Task], None] = lambda task: None,
        lineup: Lineup | None = None,
    ) -> None:
        self._db = db
        self._prices = prices
        self._refresher = refresher
        self._bus = bus or Bus()
        self._clock = clock
        self._default_cap = default_cap
        self._finished = TerminalCache(cache_entries)
        self._bus.subscribe(Topic.DELETED, self._finished.discard)
        self._storage = storage
        self._in_flight: set[tuple[int, str]] = set()
        self._notify = notify or lifecycle.unheard
        self._screen = screen
        self._lineup = lineup or Lineup(ModelSettings())

    def quote(self, request: GenerationRequest) -> tuple[GenerationRequest, int]:
        normalized = normalize(self._lineup.resolve(request))
        return normalized, self._prices.quote(normalized)

    async def create(
        self, key: ApiKey, dialect: str, request: GenerationRequest, client_request: dict[str, Any]
    ) -> Task:
        """Validate, price, debit and enqueue in one transaction."""
        task = self._new_task(key, dialect, request, client_request)
        unit = partial(lifecycle.create, task=task, default_cap=self._default_cap,
                       notify=self._notify)
        await self._write_create(unit, task)
        return task

    async def create_once(
        self, key: ApiKey, dialect: str, request: GenerationRequest,
        client_request: dict[str, Any], *, idempotency_key: str, request_hash: str,
        render: lifecycle.Render,
    ) -> idempotency.StoredResponse:
        """`create` under an idempotency key: the first response, replayed for the same
        parameters within 24 hours; a duplicate of a request still running is refused."""
        task = self._new_task(key, dialect, request, client_request)
        flight = (key.id, idempotency_key)
        if flight in self._in_flight:
            raise idempotency.in_flight(idempotency_key)
        self._in_flight.add(flight)
        try:
            return await self._write_create(partial(
                lifecycle.create_once, task=task, key=idempotency_key,
                request_hash=request_hash, render=render, default_cap=self._default_cap,
                notify=self._notify), task)
        except lifecycle.Replay as replay:
            if replay.stored.request_hash != request_hash:
                raise idempotency.reused(idempotency_key) from None
            return replay.stored
        except KeyTaken:  # another process is creating with this key right now
            raise idempotency.in_flight(idempotency_key) from None
        finally:
            self._in_flight.discard(flight)

    def _new_task(
        self, key: ApiKey, dialect: str, request: GenerationRequest, client_request: dict[str, Any]
    ) -> Task:
        normalized, price = self.quote(request)
        if not key.limits.allows_model(normalized.requested_model or normalized.model):
            raise GatewayError(
                ErrorKind.MODEL_NOT_ALLOWED, f"This API key may not use {normalized.model}; "
                f"it may use {', '.join(key.limits.allowed_models)}.", param="model")
        now = self._clock()
        task = Task(
            id=new_task_id(), key_id=key.id, dialect=dialect, request=normalized,
            client_request=client_request, status=TaskStatus.QUEUED, price=price, refunded=0,
            created_at=now, updated_at=now,
            deadline_at=now + normalized.execution_expires_after * 1000,
        )
        self._screen(task)
        return task

    async def _write_create(self, unit: Unit[T], task: Task) -> T:
        try:
            result = await self._db.write(unit)
        except InsufficientBalance as exc:
            raise GatewayError(
                ErrorKind.INSUFFICIENT_CREDITS,
                f"This task costs {task.price} credits but the balance is {exc.balance}. "
                "Add credits or request a shorter, smaller or silent video.",
            ) from exc
        except ConcurrencyCapReached as exc:
            raise GatewayError(
                ErrorKind.CONCURRENCY_LIMITED,
                f"This API key already has {exc.cap} unfinished tasks, its concurrency cap; "
                "retry when one of them has finished.", retry_after=CAP_RETRY_S,
            ) from exc
        except SpendLimitReached as exc:
            raise GatewayError(
                ErrorKind.SPEND_LIMITED,
                f"This task costs {task.price} credits, over this API key's spend limit of "
                f"{exc.limit} credits per {exc.period} ({exc.left} left until "
                f"{iso_utc(exc.resets_at)}).",
                retry_after=max(1.0, (exc.resets_at - self._clock()) / 1000),
            ) from exc
        self._bus.publish(Topic.WORK)
        return result

    async def get(self, key: ApiKey, task_id: str, *, refresh: bool = True) -> Task:
        """A task of this key; an unfinished one is first brought up to date upstream."""
        task = self._finished.get(task_id)
        if task is None and is_task_id(task_id):
            task = await self._db.read(partial(task_store.get_task, task_id=task_id))
        if task is None or task.key_id != key.id:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No task with id {task_id!r} exists "
                               "for this API key.", param="task_id")
        if not task.status.terminal and refresh and self._refresher is not None:
            task = await self._refresher.refresh(task)
        if task.status.terminal:
            self._finished.add(task)
        return task

    async def queue_position(self, task: Task) -> int | None:
        """Queued tasks of every key ahead of this one; None unless it is queued."""
        if task.status is not TaskStatus.QUEUED:
            return None
        return await self._db.read(partial(task_store.queue_position, task_id=task.id))

    async def page(self, key: ApiKey, query: ListQuery) -> TaskPage:
        return await self._db.read(partial(self._page, key=key, query=query))

    def _page(self, conn: Connection, key: ApiKey, query: ListQuery) -> TaskPage:
        after_seq = None
        if query.after is not None:
            after_seq = task_store.seq_of(conn, query.after, key.id) if is_task_id(
                query.after) else None
            if after_seq is None:
                raise GatewayError(ErrorKind.INVALID_PARAMETER, f"`after` names no task of "
                                   f"this API key: {query.after!r}.", param="after")
        found = task_store.list_tasks(
            conn, key.id, limit=query.limit + 1, ascending=query.ascending,
            after_seq=after_seq, statuses=query.statuses, model=query.model,
        )
        page = found[:query.limit]
        positions = {task.id: task_store.queue_position(conn, task.id) for task in page
                     if task.status is TaskStatus.QUEUED}
        return TaskPage(page, len(found) > query.limit, positions)

    async def numbered_page(self, key: ApiKey, query: NumberedQuery) -> NumberedPage:
        """One numbered page of a key's tasks, newest first, and how many match in all."""
        return await self._db.read(partial(self._numbered_page, key=key, query=query))

    def _numbered_page(self, conn: Connection, key: ApiKey, query: NumberedQuery) -> NumberedPage:
        task_ids = tuple(task_id for task_id in query.task_ids if is_task_id(task_id))
        if query.task_ids and not task_ids:
            return NumberedPage(0, [])
        filters = {"statuses": query.statuses, "model": query.model, "task_ids": task_ids}
        found = task_store.list_tasks(
            conn, key.id, limit=query.size, ascending=False,
            offset=(query.number - 1) * query.size, **filters,
        )
        return NumberedPage(task_store.count_tasks(conn, key.id, **filters), found)

    async def cancel(self, key: ApiKey, task_id: str) -> Task:
        """Cancel a queued task and refund it; a started or finished one cannot be."""
        task = await self.get(key, task_id, refresh=False)
        if task.status is TaskStatus.QUEUED:
            if await self._db.write(partial(lifecycle.cancel_queued, task=task,
                                            now=self._clock(), notify=self._notify)):
                return await self.get(key, task_id, refresh=False)
            task = await self.get(key, task_id, refresh=False)  # a worker started it
        if task.status is TaskStatus.RUNNING:
            raise GatewayError(ErrorKind.CONFLICT, f"Task {task_id} is already running and "
                               "cannot be cancelled once running; it finishes on its own.")
        raise GatewayError(ErrorKind.CONFLICT, f"Task {task_id} has already finished "
                           f"({task.status.value}); there is nothing to cancel.")

    async def delete(self, key: ApiKey, task_id: str) -> None:
        """Delete a task and its media; a queued one is cancelled and refunded first."""
        task = await self.get(key, task_id, refresh=False)
        await self._delete_media(task)
        if not await self._db.write(partial(lifecycle.delete, task=task, now=self._clock(),
                                            notify=self._notify)):
            raise GatewayError(ErrorKind.CONFLICT, f"Task {task_id} is running and cannot be "
                               "deleted until it finishes; delete it then.")
        self._bus.publish(Topic.DELETED, task_id)

    async def _delete_media(self, task: Task) -> None:
        """A finished video's media goes first: while the storage cannot be reached, the
        task stays (its links keep working), and the client can delete it again."""
        if self._storage is None or task.outputs is None:
            return
        keys = [task.outputs.video_key, task.outputs.last_frame_key]
        try:
            await self._storage.delete(*(k for k in keys if k))
        except StorageUnavailable as exc:
            log.warning("deleting task %s: %s", task.id, exc)
            raise GatewayError(ErrorKind.UNAVAILABLE, f"Task {task.id} was not deleted: its "
                               "media storage cannot be reached now. Try again later.",
                               retry_after=30) from exc
