"""Per-key request rate limits: token buckets, in this process."""

from __future__ import annotations

import time

from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.keys import ApiKey


def rate_limited(per_minute: int, wait_s: float) -> GatewayError:
    return GatewayError(
        ErrorKind.RATE_LIMITED,
        f"Rate limit of {per_minute} requests a minute exceeded; retry in {wait_s:.1f} s.",
        retry_after=wait_s,
    )


class RateLimiter:
    """A key may send `limit` requests a minute, in bursts of up to a sixth of that."""

    def __init__(self, default_per_minute: int) -> None:
        self._default = default_per_minute
        self._buckets: dict[int, tuple[float, float]] = {}

    def per_minute(self, key: ApiKey) -> int:
        """The key's limit (0: none)."""
        own = key.limits.rate_limit
        return self._default if own is None else own

    async def check(self, key: ApiKey) -> None:
        """Count a request of `key`; raises RATE_LIMITED when it is over its limit."""
        wait_s = self.take(key)
        if wait_s:
            raise rate_limited(self.per_minute(key), wait_s)

    def take(self, key: ApiKey) -> float:
        """Take a token from the key's bucket: 0 if there was one, else the seconds until
        one is due."""
        per_minute = self.per_minute(key)
        if per_minute <= 0:
            return 0.0
        rate = per_minute / 60.0
        capacity = max(1.0, per_minute / 6.0)
        now = time.monotonic()
        tokens, last = self._buckets.get(key.id, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key.id] = (tokens, now)
            return (1.0 - tokens) / rate
        self._buckets[key.id] = (tokens - 1.0, now)
        return 0.0
