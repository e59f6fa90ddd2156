"""Reading a task in a dialect, shared by every dialect's status endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seedgate.domain.keys import ApiKey
from seedgate.domain.task import Task
from seedgate.gateway import Gateway
from seedgate.http.media import output_urls
from seedgate.http.plumbing import Reply, ReplyCache, json_reply

TaskEncoder = Callable[[Task, list[str]], Any]


class TaskReplies:
    """A key's task encoded by one dialect. Finished tasks never change, so their encoded
    replies are cached, per base URL since their media links contain it."""

    def __init__(self, gateway: Gateway, encode: TaskEncoder) -> None:
        self._gateway = gateway
        self._encode = encode
        self._finished = ReplyCache(gateway.bus)

    async def read(self, key: ApiKey, task_id: str, base_url: str) -> Reply:
        task = await self._gateway.tasks.get(key, task_id)
        cache_key = (task.id, base_url)
        if cached := self._finished.get(cache_key):
            return cached
        reply = json_reply(self._encode(task, output_urls(self._gateway, task, base_url)))
        if task.status.terminal:
            self._finished.put(cache_key, reply)
        return reply
