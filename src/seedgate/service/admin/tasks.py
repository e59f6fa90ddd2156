"""Operators' use cases on tasks of every key: search, the full record of one task (its
upstream attempts, ledger rows and webhook deliveries), cancel, and replaying a delivery.

Actions go through the same `TaskService` and `WebhookLog` as the clients' own, acting as
the task's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.engine import Connection

from seedgate.domain.errors import ErrorKind, GatewayError, invalid
from seedgate.domain.ids import is_task_id
from seedgate.domain.keys import ApiKey
from seedgate.domain.task import Task
from seedgate.domain.webhooks import Delivery
from seedgate.service.tasks import TaskService
from seedgate.service.webhooks import WebhookLog
from seedgate.store import attempts, ledger
from seedgate.store import keys as key_store
from seedgate.store import tasks as task_store
from seedgate.store import webhooks as webhook_store
from seedgate.store.attempts import Attempt
from seedgate.store.database import Database
from seedgate.store.ledger import Entry
from seedgate.store.tasks import Search

DEFAULT_PAGE = 50
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """A search: `key` is a key's name, `after` the last task id of the previous page."""

    key: str | None = None
    search: Search = field(default_factory=Search)
    limit: int = DEFAULT_PAGE
    after: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    task: Task
    key_name: str


@dataclass(frozen=True, slots=True)
class TaskPage:
    found: list[Found]
    has_more: bool


@dataclass(frozen=True, slots=True)
class TaskRecord:
    task: Task
    key: ApiKey
    queue_position: int | None
    attempts: list[Attempt]
    ledger: list[Entry]
    deliveries: list[Delivery]


class TaskAdmin:
    def __init__(self, db: Database, tasks: TaskService, webhooks: WebhookLog) -> None:
        self._db = db
        self._tasks = tasks
        self._webhooks = webhooks

    async def search(self, query: TaskQuery) -> TaskPage:
        """Tasks of every key, newest first, filtered; one page after `query.after`."""
        return await self._db.read(partial(self._search, query=query))

    def _search(self, conn: Connection, query: TaskQuery) -> TaskPage:
        search = query.search
        if query.key is not None:
            key = key_store.key_by_name(conn, query.key)
            if key is None:
                raise invalid("key", f"No API key named {query.key!r}.")
            search = Search(key.id, search.statuses, search.model, search.provider,
                            search.since, search.until)
        before = None
        if query.after is not None:
            before = task_store.seq_of_any(conn, query.after) if is_task_id(query.after) \
                else None
            if before is None:
                raise invalid("after", f"`after` names no task: {query.after!r}.")
        rows = task_store.search(conn, search, limit=query.limit + 1, before_seq=before)
        return TaskPage([Found(task, name) for task, name in rows[:query.limit]],
                        len(rows) > query.limit)

    async def owner(self, task_id: str) -> tuple[Task, ApiKey]:
        """A task (brought up to date, if unfinished, as a client's read would) and its key."""
        key = await self._db.read(partial(self._owner, task_id=task_id))
        return await self._tasks.get(key, task_id), key

    def _owner(self, conn: Connection, task_id: str) -> ApiKey:
        task = task_store.get_task(conn, task_id) if is_task_id(task_id) else None
        key = key_store.key_by_id(conn, task.key_id) if task is not None else None
        if key is None:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No task with id {task_id!r} exists.",
                               param="task_id")
        return key

    async def record(self, task_id: str) -> TaskRecord:
        task, key = await self.owner(task_id)
        position = await self._tasks.queue_position(task)
        return await self._db.read(partial(self._record, task=task, key=key,
                                           position=position))

    @staticmethod
    def _record(conn: Connection, task: Task, key: ApiKey, position: int | None) -> TaskRecord:
        return TaskRecord(task, key, position, attempts.of_task(conn, task.id),
                          ledger.task_entries(conn, task.id),
                          webhook_store.deliveries_of(conn, task.id))

    async def cancel(self, task_id: str) -> Task:
        """Cancel a queued task and refund it (a running or finished one cannot be)."""
        _, key = await self.owner(task_id)
        return await self._tasks.cancel(key, task_id)

    async def replay(self, task_id: str, delivery_id: str) -> Delivery:
        """Send a webhook delivery again now, and re-enable its endpoint."""
        _, key = await self.owner(task_id)
        return await self._webhooks.replay(key, task_id, delivery_id)
