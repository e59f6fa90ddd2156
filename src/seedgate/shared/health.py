"""Provider health shared by every process, in Redis: the circuit breaker opens for all of
them at once, one trial call is let through in all of them together, and the running
averages of latency and success count every process's calls.

Each provider is one Redis hash, changed only by one Lua script (atomic, on Redis's
clock); this process keeps a view of it, updated by every change it makes and refreshed
every second (`refresh`). While Redis is unreachable the view is this process's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seedgate.providers.health import SMOOTHING, Breaker, Health
from seedgate.shared.link import RedisDown, RedisLink

# KEYS: provider hashes. ARGV: mode (read, admit, failed, succeeded), failures,
# cooldown ms, smoothing, latency sample. Returns per provider: admitted (0/1),
# consecutive failures, ms until the breaker's rest ends, latency, success rate.
BREAKER = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local mode, failures, cooldown = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local smoothing, sample = tonumber(ARGV[4]), tonumber(ARGV[5])
local found = {}
for i, key in ipairs(KEYS) do
  local s = redis.call('HMGET', key, 'consecutive', 'open_until', 'latency', 'success')
  local consecutive, open_until = tonumber(s[1]) or 0, tonumber(s[2]) or 0
  local latency, success = tonumber(s[3]) or 0, tonumber(s[4]) or 1
  local admitted = 1
  if mode == 'failed' then
    consecutive = consecutive + 1
    success = success - smoothing * success
    if consecutive >= failures then open_until = now + cooldown end
  elseif mode == 'succeeded' then
    consecutive = 0
    latency = latency + smoothing * (sample - latency)
    success = success + smoothing * (1 - success)
  elseif mode == 'admit' and consecutive >= failures then
    if now < open_until then admitted = 0 else open_until = now + cooldown end
  end
  if mode ~= 'read' then
    redis.call('HSET', key, 'consecutive', consecutive, 'open_until', open_until,
               'latency', tostring(latency), 'success', tostring(success))
  end
  found[i] = {admitted, consecutive, open_until - now, tostring(latency), tostring(success)}
end
return found
"""


class RedisHealth(Health):
    def __init__(self, failures: int, cooldown_s: float, link: RedisLink) -> None:
        super().__init__(failures, cooldown_s)
        self._link = link
        self._script = link.client.register_script(BREAKER)

    async def _run(self, mode: str, names: list[str], sample: float = 0.0) -> list[Any] | None:
        keys = [self._link.key("health", name) for name in names]
        args = [mode, self._failures, int(self._cooldown_s * 1000), SMOOTHING, sample]
        try:
            rows = await self._link.call(lambda: self._script(keys=keys, args=args))
        except RedisDown:
            return None
        for name, row in zip(names, rows, strict=True):
            state = self._state(name)
            state.consecutive = int(row[1])
            state.open_until = self._clock() + int(row[2]) / 1000
            state.latency_s = float(row[3])
            state.success = float(row[4])
        return list(rows)

    async def admit(self, name: str) -> bool:
        if self.breaker(name) is not Breaker.HALF_OPEN:
            return await super().admit(name)
        rows = await self._run("admit", [name])  # one trial among all processes
        return await super().admit(name) if rows is None else bool(rows[0][0])

    async def failed(self, name: str) -> None:
        if await self._run("failed", [name]) is None:
            await super().failed(name)

    async def succeeded(self, name: str, latency_s: float) -> None:
        if await self._run("succeeded", [name], latency_s) is None:
            await super().succeeded(name, latency_s)

    async def refresh(self, names: Iterable[str]) -> None:
        """Adopt every process's view of these providers."""
        listed = list(names)
        if listed:
            await self._run("read", listed)
