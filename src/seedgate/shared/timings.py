"""Learned generation times shared by every process, in one Redis hash: each completion
moves the running average of its provider and model (a Lua script, atomic), and every
process adopts the averages on `refresh`. While Redis is unreachable this process learns
alone."""

from __future__ import annotations

from seedgate.engine.schedule import SMOOTHING, PollSchedule
from seedgate.shared.link import RedisDown, RedisLink

AVERAGE = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
local value = tonumber(ARGV[2])
if current then value = current + tonumber(ARGV[3]) * (value - current) end
redis.call('HSET', KEYS[1], ARGV[1], tostring(value))
return tostring(value)
"""
SEPARATOR = "\t"


class RedisPollSchedule(PollSchedule):
    def __init__(self, expected_s: float, min_s: float, max_s: float, link: RedisLink) -> None:
        super().__init__(expected_s, min_s, max_s)
        self._link = link
        self._key = link.key("timings")
        self._script = link.client.register_script(AVERAGE)

    async def observe(self, provider: str, model: str, seconds: float) -> None:
        field = f"{provider}{SEPARATOR}{model}"
        try:
            value = await self._link.call(
                lambda: self._script(keys=[self._key], args=[field, seconds, SMOOTHING]))
        except RedisDown:
            await super().observe(provider, model, seconds)
            return
        self._expected[(provider, model)] = float(value)

    async def refresh(self) -> None:
        try:
            found = await self._link.call(lambda: self._link.client.hgetall(self._key))
        except RedisDown:
            return
        for field, value in found.items():
            provider, _, model = field.decode().partition(SEPARATOR)
            self._expected[(provider, model)] = float(value)
