"""Deletes stored media once its links have expired, so the disk does not fill up.

A link expires `media_ttl` after its task finished; a file is written just before its
task finishes, so files are removed a grace period after `media_ttl` has passed since
they were written.
"""

from __future__ import annotations

import asyncio
import logging
import time

from seedgate.media.storage import LocalStorage

log = logging.getLogger(__name__)

GRACE_S = 86_400


class Janitor:
    def __init__(self, storage: LocalStorage, media_ttl_s: int, interval_s: float = 3600) -> None:
        self._storage = storage
        self._media_ttl_s = media_ttl_s
        self._interval_s = interval_s

    async def sweep(self) -> int:
        cutoff = time.time() - self._media_ttl_s - GRACE_S
        removed = await asyncio.to_thread(self._storage.remove_older_than, cutoff)
        if removed:
            log.info("removed %d expired media files", removed)
        return removed

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("media clean-up failed")
            await asyncio.sleep(self._interval_s)
