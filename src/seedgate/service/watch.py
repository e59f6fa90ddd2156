"""Following a task as it changes: `Prefer: wait` holds a request until the task ends, and
the events stream reports each change of status, progress or queue position.

Both wake when the bus announces a change of the task (from whichever process made it)
and read the store then, refreshing from the provider as any read does; they also re-read
every `bus.fallback_s` seconds, in case a change was made where no notice reaches them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from seedgate.domain.keys import ApiKey
from seedgate.domain.task import Task, TaskStatus
from seedgate.service.tasks import TaskService
from seedgate.shared.bus import Bus


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


async def wait_for_end(tasks: TaskService, bus: Bus, key: ApiKey, task_id: str,
                       seconds: float) -> Task:
    """The task once it has ended, or as it is after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    with bus.watch(task_id) as changed:
        task = await tasks.get(key, task_id)
        while not task.status.terminal and (left := deadline - loop.time()) > 0:
            await bus.wait(changed, left)
            task = await tasks.get(key, task_id)
    return task


async def changes(tasks: TaskService, bus: Bus, key: ApiKey, first: Snapshot, *,
                  heartbeat_s: float) -> AsyncIterator[Snapshot | None]:
    """`first`, then each changed snapshot (None after `heartbeat_s` without a change),
    until the task has ended."""
    loop = asyncio.get_running_loop()
    current, quiet = first, 0.0
    yield first
    with bus.watch(first.task.id) as changed:
        while not current.task.status.terminal:
            # The first read also catches a change made before the watch began.
            fresh = await snapshot(tasks, key, current.task.id)
            if fresh.state != current.state:
                current, quiet = fresh, 0.0
                yield fresh
                continue
            began = loop.time()
            await bus.wait(changed, heartbeat_s - quiet)
            quiet += loop.time() - began
            if quiet >= heartbeat_s:
                quiet = 0.0
                yield None
