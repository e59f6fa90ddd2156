"""Wall-clock time in the unit the store uses (Unix milliseconds), and its ISO form."""

import time
from datetime import UTC, datetime


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_utc(ms: int) -> str:
    """ISO-8601 UTC with second precision, e.g. `2025-06-14T05:21:11Z`."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc_ms(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, e.g. `2025-08-03T10:22:20.010Z`."""
    return f"{iso_utc(ms)[:-1]}.{ms % 1000:03d}Z"
