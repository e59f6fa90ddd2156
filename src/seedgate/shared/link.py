"""One process's connection to Redis, and what happens when Redis goes away.

Every use of Redis goes through `RedisLink.call`: a command that fails on the connection
marks Redis down, and callers fall back to their in-process behaviour at once instead of
waiting on a dead server; a probe pings every `PROBE_S` seconds and marks it up again when
it answers. Outages and recoveries are logged once each, never the URL's password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger(__name__)

T = TypeVar("T")
TIMEOUT_S = 1.0
PROBE_S = 1.0
# Failures that mean "Redis is not there", as opposed to a bug in a command.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisDown(Exception):
    """Redis cannot be reached now; the caller falls back."""


class RedisLink:
    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=1),
            health_check_interval=30,
        )
        # A hash tag keeps every key of one gateway in one Redis Cluster slot, so that
        # scripts may touch several of them.
        self._prefix = f"{{{prefix}}}"
        self._up = True
        self._probe: asyncio.Task[None] | None = None

    def key(self, *parts: object) -> str:
        return ":".join((self._prefix, *(str(part) for part in parts)))

    @property
    def up(self) -> bool:
        return self._up

    async def call(self, command: Callable[[], Awaitable[T]]) -> T:
        """Run a Redis command; raises RedisDown (having marked Redis down) if it cannot
        be reached."""
        if not self._up:
            raise RedisDown
        try:
            return await command()
        except UNREACHABLE as exc:
            self.mark_down(exc)
            raise RedisDown from exc

    def mark_down(self, exc: BaseException) -> None:
        if not self._up:
            return
        self._up = False
        log.warning("Redis is unreachable (%s); falling back to per-process state until "
                    "it is back", type(exc).__name__)
        self._probe = asyncio.get_running_loop().create_task(self._reconnect(),
                                                             name="redis-probe")

    async def _reconnect(self) -> None:
        down_since = time.monotonic()
        while True:
            await asyncio.sleep(PROBE_S)
            try:
                await self.client.ping()
            except (RedisError, OSError):
                continue
            self._up = True
            log.warning("Redis is reachable again after %.0f s", time.monotonic() - down_since)
            return

    async def ping(self) -> None:
        """For readiness: raises when Redis does not answer."""
        await self.client.ping()

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self.client.aclose()
