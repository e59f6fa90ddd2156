"""Per-key request rate limits (token buckets, in this process)."""

from __future__ import annotations

import time

from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.keys import ApiKey


class RateLimiter:
    """A key may send `limit` requests a minute, in bursts of up to a sixth of that."""

    def __init__(self, default_per_minute: int) -> None:
        self._default = default_per_minute
        self._buckets: dict[int, tuple[float, float]] = {}

    def check(self, key: ApiKey) -> None:
        per_minute = self._default if key.rate_limit is None else key.rate_limit
        if per_minute <= 0:
            return
        rate = per_minute / 60.0
        capacity = max(1.0, per_minute / 6.0)
        now = time.monotonic()
        tokens, last = self._buckets.get(key.id, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key.id] = (tokens, now)
            wait = (1.0 - tokens) / rate
            raise GatewayError(
                ErrorKind.RATE_LIMITED,
                f"Rate limit of {per_minute} requests a minute exceeded; retry in "
                f"{wait:.1f} s.",
                retry_after=wait,
            )
        self._buckets[key.id] = (tokens - 1.0, now)
