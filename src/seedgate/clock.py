"""Wall-clock time in the unit the store uses (Unix milliseconds)."""

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
