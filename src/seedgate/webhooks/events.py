"""What a task's webhook says, in the dialect it was created in (pure, no I/O).

- native: a Standard Webhooks event `{id, object, type, created_at, timestamp, data}` whose
  `data` is the video object, for the subscribed `video.*` events;
- Ark: the task object, on every status change;
- defapi: the query `data` object, once the task has ended;
- apixo: the status envelope `{code, message, data}`, once the task has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from seedgate.dialects import apixo, ark, defapi, native
from seedgate.domain.task import Task
from seedgate.domain.webhooks import Subscription

Encode = Callable[[Task, list[str]], Any]


@dataclass(frozen=True, slots=True)
class Hooks:
    subscription: Callable[[dict[str, Any]], Subscription | None]
    encode: Encode


DIALECTS = {
    ark.NAME: Hooks(ark.webhook_of, ark.encode_task),
    defapi.NAME: Hooks(defapi.webhook_of, defapi.encode_callback),
    apixo.NAME: Hooks(apixo.webhook_of, apixo.encode_task),
}


def subscription(task: Task) -> Subscription | None:
    if task.dialect == native.NAME:
        return native.webhook_of(task.client_request)
    hooks = DIALECTS.get(task.dialect)
    return hooks.subscription(task.client_request) if hooks else None


def event_type(task: Task) -> str:
    if task.dialect == native.NAME:
        return native.EVENTS[task.status]
    return f"task.{task.status.value}"


@dataclass(frozen=True, slots=True)
class Moment:
    """What an event needs besides the task: its id and time, the task's queue position,
    its signed media URLs and how long they last."""

    event_id: str
    at_ms: int
    queue_position: int | None
    urls: list[str]
    media_ttl: int


def payload(task: Task, moment: Moment) -> bytes:
    if task.dialect == native.NAME:
        video = native.encode_video(task, queue_position=moment.queue_position,
                                    urls=moment.urls, media_ttl=moment.media_ttl)
        return orjson.dumps(native.encode_event(moment.event_id, event_type(task),
                                                moment.at_ms, video))
    return orjson.dumps(DIALECTS[task.dialect].encode(task, moment.urls))
