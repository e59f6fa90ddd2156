"""Per-key rate limits shared by every process, as token buckets in Redis.

Tokens are taken from the shared bucket by a Lua script, atomically and on Redis's clock.
Checks arriving in the same event-loop turn (and while one round trip is in flight) go to
Redis together in one script call, and a process takes a few tokens more than it needs
(a twentieth of the key's burst, at most `RESERVE_MAX`): later checks of that key spend
them without a round trip. Every token spent was taken from the shared bucket, so over
time a key gets its rate across all processes; at one moment it may get, beyond one burst,
the reserves that processes took earlier (a twentieth of a burst each). While Redis is
unreachable each process falls back to its own buckets: limits keep holding per process
(fail open to N times the limit across N processes), and nothing waits on Redis.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from seedgate.domain.keys import ApiKey
from seedgate.service.limits import RateLimiter, rate_limited
from seedgate.shared.link import RedisDown, RedisLink

log = logging.getLogger(__name__)

RESERVE_MAX = 256

# KEYS: one bucket per key; ARGV: per key, its requests a minute and the tokens wanted.
# Returns, per key, the tokens granted (as many as there are, up to those wanted) and the
# milliseconds until the next token is due.
TOKEN_BUCKETS = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local answer = {}
for i, key in ipairs(KEYS) do
  local per_minute = tonumber(ARGV[2 * i - 1])
  local wanted = tonumber(ARGV[2 * i])
  local rate = per_minute / 60000
  local capacity = math.max(1, per_minute / 6)
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  local granted = math.min(wanted, math.floor(tokens))
  tokens = tokens - granted
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
  redis.call('PEXPIRE', key, math.ceil(capacity / rate) + 1000)
  answer[2 * i - 1] = granted
  answer[2 * i] = math.max(1, math.ceil((1 - tokens) / rate))
end
return answer
"""


@dataclass
class _Demand:
    """The checks of one key waiting for the next round trip."""

    key: ApiKey
    per_minute: int
    waiters: list[asyncio.Future[int]] = field(default_factory=list)


def reserve_size(per_minute: int) -> int:
    """The tokens a process takes beyond those it needs now: a twentieth of the burst."""
    return min(RESERVE_MAX, int(per_minute / 6 / 20))


class RedisRateLimiter(RateLimiter):
    def __init__(self, default_per_minute: int, link: RedisLink) -> None:
        super().__init__(default_per_minute)
        self._link = link
        self._script = link.client.register_script(TOKEN_BUCKETS)
        self._reserves: dict[int, int] = {}  # tokens taken ahead, by key id
        self._pending: dict[int, _Demand] = {}
        self._sender: asyncio.Task[None] | None = None

    async def check(self, key: ApiKey) -> None:
        per_minute = self.per_minute(key)
        if per_minute <= 0:
            return
        if not self._link.up:
            await super().check(key)
            return
        if self._spend_reserved(key.id):
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        demand = self._pending.setdefault(key.id, _Demand(key, per_minute))
        demand.waiters.append(future)
        if self._sender is None:
            self._sender = loop.create_task(self._send())
        wait_ms = await future
        if wait_ms:
            raise rate_limited(per_minute, wait_ms / 1000)

    def _spend_reserved(self, key_id: int) -> bool:
        tokens = self._reserves.get(key_id, 0)
        if tokens <= 0:
            return False
        self._reserves[key_id] = tokens - 1
        return True

    async def _send(self) -> None:
        """Send what is pending in batches, until nothing is."""
        try:
            while self._pending:
                batch, self._pending = list(self._pending.values()), {}
                await self._settle(batch)
        finally:
            self._sender = None

    async def _settle(self, batch: list[_Demand]) -> None:
        # Tokens reserved by the round trip just before this one go first.
        for demand in batch:
            while demand.waiters and self._spend_reserved(demand.key.id):
                _resolve(demand.waiters.pop(), 0)
        batch = [demand for demand in batch if demand.waiters]
        if not batch:
            return
        keys = [self._link.key("rate", demand.key.id) for demand in batch]
        args = [number for demand in batch for number in (
            demand.per_minute, len(demand.waiters) + reserve_size(demand.per_minute))]
        try:
            answer = await self._link.call(lambda: self._script(keys=keys, args=args))
        except RedisDown:
            for demand in batch:
                for future in demand.waiters:
                    _resolve(future, _ms(self.take(demand.key)))
            return
        except Exception as exc:  # a bug must not hang the requests waiting here
            for demand in batch:
                for future in demand.waiters:
                    if not future.done():
                        future.set_exception(exc)
            return
        for demand, granted, wait_ms in zip(batch, answer[::2], answer[1::2], strict=True):
            admitted = min(int(granted), len(demand.waiters))
            for index, future in enumerate(demand.waiters):
                _resolve(future, 0 if index < admitted else int(wait_ms))
            if int(granted) > admitted:
                self._reserves[demand.key.id] = int(granted) - admitted


def _resolve(future: asyncio.Future[int], wait_ms: int) -> None:
    if not future.done():  # its request may have gone
        future.set_result(wait_ms)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000)) if seconds else 0
