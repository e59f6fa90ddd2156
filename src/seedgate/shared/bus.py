"""Notifications between the gateway's parts, within a process or (through Redis) across all
of them: a task changed, was deleted, was called back by its provider; work or webhook
deliveries are waiting; an API key changed.

A notice is a wake-up call, never the data itself: whoever hears one reads the database.
So a lost notice costs only time: everything that waits on notices also re-checks on its
own every `fallback_s` seconds (often without Redis, where other processes' notices cannot
arrive; rarely with it). A notice with an empty subject means "anything may have changed"
(sent after a reconnection, when notices may have been missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator
from enum import StrEnum

from seedgate.shared.link import PROBE_S, UNREACHABLE, RedisDown, RedisLink
from seedgate.waiting import wait_event

log = logging.getLogger(__name__)

Listener = Callable[[str], None]


class Topic(StrEnum):
    TASK = "t"  # a task changed (subject: its id): its watchers read it again
    DELETED = "d"  # a task was deleted (subject: its id): caches forget it
    NUDGE = "n"  # a task's provider called back (subject: its id): its worker polls now
    WORK = "w"  # tasks were queued: workers lease now
    WEBHOOKS = "h"  # webhook deliveries were queued: senders send now
    KEY = "k"  # an API key changed (subject: its id): caches forget it


class Bus:
    """In one process: listeners run at once, on the event loop."""

    def __init__(self, fallback_s: float = 0.25) -> None:
        self._fallback_s = fallback_s
        self._listeners: dict[Topic, list[Listener]] = defaultdict(list)
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def fallback_s(self) -> float:
        """How often those waiting for notices re-check anyway."""
        return self._fallback_s

    def subscribe(self, topic: Topic, listener: Listener) -> None:
        self._listeners[topic].append(listener)

    def publish(self, topic: Topic, subject: str = "") -> None:
        """Tell every listener; safe to call from any thread."""
        if self._loop is not None and _running_loop() is not self._loop:
            self._loop.call_soon_threadsafe(self._deliver, topic, subject)
        else:
            self._deliver(topic, subject)

    def _deliver(self, topic: Topic, subject: str) -> None:
        for listener in self._listeners[topic]:
            try:
                listener(subject)
            except Exception:
                log.exception("a listener of %s notices failed", topic.name)
        if topic is Topic.TASK:
            watchers = self._watchers.get(subject, ()) if subject else [
                event for events in self._watchers.values() for event in events]
            for event in watchers:
                event.set()

    @contextlib.contextmanager
    def watch(self, task_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever `task_id` changes, for as long as the block runs. Watch
        before reading the task, so that no change between the read and the wait is
        missed."""
        event = asyncio.Event()
        self._watchers.setdefault(task_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers.get(task_id)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._watchers[task_id]

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until `event` is set or `seconds` (at most `fallback_s`) have passed; clears it."""
        await wait_event(event, min(seconds, self.fallback_s))
        event.clear()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._loop = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class RedisBus(Bus):
    """Across processes: notices are delivered here at once and published on one Redis
    channel, batched per event-loop turn; every other process delivers them to its own
    listeners."""

    def __init__(self, link: RedisLink, fallback_s: float = 5.0,
                 fallback_down_s: float = 0.25) -> None:
        super().__init__(fallback_s)
        self._link = link
        self._fallback_down_s = fallback_down_s
        self._channel = link.key("events")
        self._origin = secrets.token_hex(6)
        self._outgoing: list[str] = []
        self._subscribed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._listening: asyncio.Task[None] | None = None

    @property
    def fallback_s(self) -> float:
        return self._fallback_s if self._subscribed else self._fallback_down_s

    def _deliver(self, topic: Topic, subject: str) -> None:
        super()._deliver(topic, subject)
        if self._loop is None:
            return
        if not self._outgoing:
            flush = self._loop.create_task(self._flush())
            self._tasks.add(flush)
            flush.add_done_callback(self._tasks.discard)
        self._outgoing.append(f"{topic.value}{subject}")

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let this turn's other notices join the message
        lines, self._outgoing = self._outgoing, []
        message = "\n".join((self._origin, *lines))
        try:
            await self._link.call(lambda: self._link.client.publish(self._channel, message))
        except RedisDown:
            log.debug("Redis is down: %d notices stay in this process", len(lines))

    def _receive(self, message: bytes) -> None:
        origin, *lines = message.decode().split("\n")
        if origin == self._origin:
            return
        for line in lines:
            try:
                topic = Topic(line[:1])
            except ValueError:
                continue
            super()._deliver(topic, line[1:])

    async def start(self) -> None:
        await super().start()
        self._listening = asyncio.get_running_loop().create_task(self._listen(),
                                                                 name="redis-bus")

    async def _listen(self) -> None:
        while True:
            try:
                async with self._link.client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._subscribed = True
                    self._everything_changed()
                    while True:
                        found = await pubsub.get_message(ignore_subscribe_messages=True,
                                                         timeout=PROBE_S)
                        if found is not None and found["type"] == "message":
                            self._receive(found["data"])
            except UNREACHABLE as exc:
                if self._subscribed:
                    log.warning("lost the Redis notice channel (%s); reconnecting",
                                type(exc).__name__)
                self._subscribed = False
                await asyncio.sleep(PROBE_S)

    def _everything_changed(self) -> None:
        """After (re)subscribing: notices may have been missed, so everyone re-checks."""
        for topic in Topic:
            super()._deliver(topic, "")

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._listening] if self._listening else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await super().stop()
