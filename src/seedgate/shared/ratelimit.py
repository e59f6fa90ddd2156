"""Per-key rate limits shared by every process, as token buckets in Redis.

A check is one step of a Lua script, atomic in Redis, on Redis's clock. Checks arriving in
the same event-loop turn (and while one round trip is in flight) go to Redis together in
one script call, so a busy process pays one round trip per batch, not per request. While
Redis is unreachable each process falls back to its own buckets: limits keep holding per
process (fail open to N times the limit across N processes), and nothing waits on Redis.
"""

from __future__ import annotations

import asyncio
import logging

from seedgate.domain.keys import ApiKey
from seedgate.service.limits import RateLimiter, rate_limited
from seedgate.shared.link import RedisDown, RedisLink

log = logging.getLogger(__name__)

# KEYS: one bucket per check (repeats allowed); ARGV: each check's requests a minute.
# Returns, per check, 0 when allowed or the milliseconds until a token is due.
TOKEN_BUCKETS = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local waits = {}
for i, key in ipairs(KEYS) do
  local per_minute = tonumber(ARGV[i])
  local rate = per_minute / 60000
  local capacity = math.max(1, per_minute / 6)
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  if tokens < 1 then
    waits[i] = math.ceil((1 - tokens) / rate)
  else
    waits[i] = 0
    redis.call('HSET', key, 'tokens', tostring(tokens - 1), 'at', now)
    redis.call('PEXPIRE', key, math.ceil(capacity / rate) + 1000)
  end
end
return waits
"""

Check = tuple[ApiKey, int, asyncio.Future[int]]


class RedisRateLimiter(RateLimiter):
    def __init__(self, default_per_minute: int, link: RedisLink) -> None:
        super().__init__(default_per_minute)
        self._link = link
        self._script = link.client.register_script(TOKEN_BUCKETS)
        self._pending: list[Check] = []
        self._sender: asyncio.Task[None] | None = None

    async def check(self, key: ApiKey) -> None:
        per_minute = self.per_minute(key)
        if per_minute <= 0:
            return
        if not self._link.up:
            await super().check(key)
            return
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((key, per_minute, future))
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send())
        wait_ms = await future
        if wait_ms:
            raise rate_limited(per_minute, wait_ms / 1000)

    async def _send(self) -> None:
        """Send what is pending in batches, until nothing is."""
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                await self._settle(batch)
        finally:
            self._sender = None

    async def _settle(self, batch: list[Check]) -> None:
        keys = [self._link.key("rate", key.id) for key, _, _ in batch]
        limits = [per_minute for _, per_minute, _ in batch]
        try:
            waits = await self._link.call(lambda: self._script(keys=keys, args=limits))
        except RedisDown:
            waits = [_ms(self.take(key)) for key, _, _ in batch]
        except Exception as exc:  # a bug must not hang the requests waiting here
            for _, _, future in batch:
                future.set_exception(exc)
            return
        for (_, _, future), wait in zip(batch, waits, strict=True):
            if not future.done():
                future.set_result(int(wait))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000)) if seconds else 0
