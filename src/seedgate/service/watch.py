"""Following a task as it changes: `Prefer: wait` holds a request until the task ends, and
the events stream reports each change of status, progress or queue position. Both read
the store (refreshing from the provider as any read does), so they work whichever
process runs the worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from seedgate.domain.keys import ApiKey
from seedgate.domain.task import Task, TaskStatus
from seedgate.service.tasks import TaskService

INTERVAL_S = 0.25


@dataclass(frozen=True, slots=True)
class Snapshot:
    task: Task
    queue_position: int | None

    @property
    def state(self) -> tuple[TaskStatus, int, int | None]:
        return self.task.status, self.task.progress, self.queue_position


async def snapshot(tasks: TaskService, key: ApiKey, task_id: str) -> Snapshot:
    task = await tasks.get(key, task_id)
    return Snapshot(task, await tasks.queue_position(task))


async def wait_for_end(tasks: TaskService, key: ApiKey, task_id: str, seconds: float,
                       interval_s: float = INTERVAL_S) -> Task:
    """The task once it has ended, or as it is after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    task = await tasks.get(key, task_id)
    while not task.status.terminal and (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(interval_s, left))
        task = await tasks.get(key, task_id)
    return task


async def changes(tasks: TaskService, key: ApiKey, first: Snapshot, *, heartbeat_s: float,
                  interval_s: float = INTERVAL_S) -> AsyncIterator[Snapshot | None]:
    """`first`, then each changed snapshot (None after `heartbeat_s` without a change),
    until the task has ended."""
    current, quiet = first, 0.0
    yield first
    while not current.task.status.terminal:
        await asyncio.sleep(interval_s)
        fresh = await snapshot(tasks, key, current.task.id)
        if fresh.state != current.state:
            current, quiet = fresh, 0.0
            yield fresh
            continue
        quiet += interval_s
        if quiet >= heartbeat_s:
            quiet = 0.0
            yield None
