"""A task's webhook deliveries, as its owner sees them: the log, and replays."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from seedgate.clock import now_ms
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.keys import ApiKey
from seedgate.domain.webhooks import Delivery
from seedgate.service.tasks import TaskService
from seedgate.store import webhooks as store
from seedgate.store.database import Database


class WebhookLog:
    def __init__(self, db: Database, tasks: TaskService,
                 clock: Callable[[], int] = now_ms) -> None:
        self._db = db
        self._tasks = tasks
        self._clock = clock

    async def deliveries(self, key: ApiKey, task_id: str) -> list[Delivery]:
        task = await self._tasks.get(key, task_id, refresh=False)
        return await self._db.read(partial(store.deliveries_of, task_id=task.id))

    async def replay(self, key: ApiKey, task_id: str, event_id: str) -> Delivery:
        """Send a delivery again now (whatever became of it) and re-enable its endpoint."""
        task = await self._tasks.get(key, task_id, refresh=False)
        if not await self._db.write(partial(store.replay, task_id=task.id, event_id=event_id,
                                            now=self._clock())):
            raise GatewayError(ErrorKind.NOT_FOUND, f"Video {task.id} has no webhook delivery "
                               f"{event_id!r}.", param="delivery_id")
        found = await self.deliveries(key, task.id)
        return next(delivery for delivery in found if delivery.event_id == event_id)
