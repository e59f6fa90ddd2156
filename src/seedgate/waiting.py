"""Waiting for an `asyncio.Event` with a time limit, in a way that a cancellation always ends.

`asyncio.wait_for` on Python 3.11 returns normally when it is cancelled just after what it
awaits has completed (CPython gh-86296, fixed in 3.12): a worker loop that was woken and
stopped in the same moment went on running, and its gateway never stopped.
`asyncio.timeout` keeps the cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, seconds: float) -> None:
    """Until `event` is set or `seconds` have passed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
