"""The delivery engine: leases due webhook deliveries, signs and sends them, and schedules
retries on the Standard Webhooks schedule (about three days).

At least once and in order per task: a delivery is marked delivered only after a 2xx, a
lease that outlives a crashed sender lets another sender take over, and a task's next event
is not leased until the one before it is delivered or given up. 410 Gone disables the
endpoint; `Retry-After` postpones the next attempt; a URL the outbound guard refuses is
given up at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from functools import partial

import httpx

from seedgate.clock import now_ms
from seedgate.domain.webhooks import Attempt, Delivery, DeliveryStatus
from seedgate.net.fetch import Fetched, GuardedHttp, Limits
from seedgate.net.guard import Refused
from seedgate.ops import metrics
from seedgate.store import webhooks as store
from seedgate.store.database import Database
from seedgate.waiting import wait_event
from seedgate.webhooks import signing
from seedgate.webhooks.keyring import Keyring
from seedgate.webhooks.secretbox import Undecryptable

log = logging.getLogger(__name__)

# Seconds before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h
# and 24 h after the one before (Standard Webhooks), then the delivery is given up.
SCHEDULE_S = (0, 5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400)
MAX_RETRY_AFTER_S = 86_400
RESPONSE_BYTES = 16_384
EXCERPT = 500
GONE = 410
RETRYING = "retrying"  # an attempt failed, another is scheduled


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now_s)
    except (TypeError, ValueError):
        return None


class DeliveryEngine:
    def __init__(
        self, db: Database, http: GuardedHttp, keyring: Keyring, *, timeout_s: float,
        poll_s: float, clock: Callable[[], int] = now_ms, concurrency: int = 16,
        lease_s: float = 120.0, jitter: float = 0.1,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self._http = http
        self._keyring = keyring
        self._timeout_s = timeout_s
        self._poll_s = poll_s
        self.clock = clock
        self._concurrency = concurrency
        self._lease_ms = int(max(lease_s, timeout_s * 2) * 1000)
        self._jitter = jitter
        self._rng = rng
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()

    def wake(self, _subject: str = "") -> None:
        """Deliveries were queued: send now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("webhook delivery round failed; retrying")
                handled = 0
            if not handled:
                await wait_event(self._wake, self._poll_s)

    async def run_once(self) -> int:
        """Send every delivery due now (at most `concurrency`); how many were attempted."""
        now = self.clock()
        if not await self._db.read(partial(store.any_due, now=now)):
            return 0
        leased = await self._db.write(partial(
            store.lease_due, owner=self.owner, now=now, until=now + self._lease_ms,
            limit=self._concurrency))
        await asyncio.gather(*(self._deliver(delivery) for delivery in leased))
        return len(leased)

    async def _deliver(self, delivery: Delivery) -> None:
        at = self.clock()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        response: str | None = None
        wait_s: float | None = None
        refused = False
        try:
            fetched = await self._send(delivery)
            status = fetched.status
            response = fetched.body[:EXCERPT].decode(errors="replace") or None
            wait_s = retry_after_s(fetched.headers.get("retry-after"), time.time())
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except Refused as exc:
            refused, error = True, str(exc)
        except TimeoutError:
            error = f"No answer within {self._timeout_s:g} s."
        except (httpx.HTTPError, OSError, Undecryptable) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt = Attempt(at, int((time.monotonic() - started) * 1000), status,
                          error[:EXCERPT] if error else None, response)
        outcome = self._outcome(delivery, attempt, wait_s, refused)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._db.write(partial(
                store.record_attempt, delivery=delivery, owner=self.owner, attempt=attempt,
                outcome=outcome)))
        metrics.webhook_outcome(RETRYING if outcome.status == DeliveryStatus.PENDING
                                else outcome.status)
        if outcome.status == DeliveryStatus.FAILED:
            log.warning("webhook %s of task %s given up after %d attempts: %s",
                        delivery.event_id, delivery.task_id, delivery.attempts + 1, error)

    async def _send(self, delivery: Delivery) -> Fetched:
        keys = await self._keyring.signing_secrets(delivery.key_id)
        headers = {"content-type": "application/json",
                   **signing.headers(keys, delivery.event_id, int(time.time()),
                                     delivery.payload)}
        limits = Limits(self._timeout_s, RESPONSE_BYTES, max_redirects=0, truncate=True,
                        extra_headers=headers)
        return await self._http.request("POST", delivery.url, limits, delivery.payload)

    def _outcome(self, delivery: Delivery, attempt: Attempt, wait_s: float | None,
                 refused: bool) -> store.Outcome:
        status = attempt.status_code
        if status is not None and 200 <= status < 300:
            return store.Outcome(DeliveryStatus.DELIVERED, attempt.attempted_at, delivery.step)
        if status == GONE or refused:
            return store.Outcome(DeliveryStatus.FAILED, attempt.attempted_at, delivery.step,
                                 gone=status == GONE)
        step = delivery.step + 1
        if step >= len(SCHEDULE_S):
            return store.Outcome(DeliveryStatus.FAILED, attempt.attempted_at, delivery.step)
        delay_s = SCHEDULE_S[step] * (1 + self._jitter * self._rng())
        if wait_s is not None:
            delay_s = max(delay_s, min(wait_s, MAX_RETRY_AFTER_S))
        return store.Outcome(DeliveryStatus.PENDING,
                             attempt.attempted_at + int(delay_s * 1000), step)
