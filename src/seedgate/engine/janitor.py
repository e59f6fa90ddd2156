"""Deletes what the gateway no longer needs: stored media once its links have expired, so
the disk does not fill up, idempotency keys once their 24 hours are over, and finished
webhook deliveries when their media links have expired too.

A link expires `media_ttl` after its task finished; a file is written just before its
task finishes, so files are removed a grace period after `media_ttl` has passed since
they were written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial

from seedgate.clock import now_ms
from seedgate.domain.idempotency import KEEP_MS
from seedgate.media.storage import Storage
from seedgate.store import idempotency
from seedgate.store import webhooks as webhook_store
from seedgate.store.database import Database

log = logging.getLogger(__name__)

GRACE_S = 86_400


class Janitor:
    def __init__(self, db: Database, storage: Storage, media_ttl_s: int,
                 interval_s: float = 3600, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._storage = storage
        self._media_ttl_s = media_ttl_s
        self._interval_s = interval_s
        self._clock = clock

    async def sweep(self) -> tuple[int, int, int]:
        """Returns how many media files, idempotency keys and webhook deliveries were
        removed."""
        cutoff = self._clock() - self._media_ttl_s - GRACE_S
        files = await self._storage.remove_older_than(cutoff)
        keys = await self._db.write(partial(idempotency.prune, before=now_ms() - KEEP_MS))
        hooks = await self._db.write(partial(webhook_store.prune, before=int(cutoff * 1000)))
        if files or keys or hooks:
            log.info("removed %d expired media files, %d idempotency keys and %d webhook "
                     "deliveries", files, keys, hooks)
        return files, keys, hooks

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("media clean-up failed")
            await asyncio.sleep(self._interval_s)
