"""Prometheus metrics of one process, or of every server process of one machine.

The counters and histograms are prometheus_client's, defined once here. When several
processes serve one port (`seedgate serve --workers N`) they write to files under
`PROMETHEUS_MULTIPROC_DIR` (set before this module is imported; the CLI does it), and a
scrape answered by any of them sums every process's files. Gauges of the whole system
(queue depth, breaker states) are read when scraped, by the process that answers.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import time
import weakref
from collections.abc import AsyncIterator, Iterable
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from seedgate.domain.errors import ErrorKind
from seedgate.domain.task import Task
from seedgate.ops import MULTIPROC_ENV

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# The refusals of a key's limits, by the limit's name.
LIMITS = {
    ErrorKind.RATE_LIMITED: "rate", ErrorKind.CONCURRENCY_LIMITED: "concurrency",
    ErrorKind.SPEND_LIMITED: "spend", ErrorKind.IP_NOT_ALLOWED: "ip",
    ErrorKind.MODEL_NOT_ALLOWED: "model",
}

REQUESTS = Counter("seedgate_http_requests", "HTTP requests answered",
                   ("dialect", "route", "method", "status"))
REQUEST_SECONDS = Histogram("seedgate_http_request_duration_seconds",
                            "Time to answer an HTTP request (to the end of its body)",
                            ("dialect", "route", "method"))
TASKS_CREATED = Counter("seedgate_tasks_created", "Tasks created (and debited)", ("model",))
TASKS_FINISHED = Counter("seedgate_tasks_finished", "Tasks that reached an end state",
                         ("model", "provider", "outcome"))
UPSTREAM_CALLS = Counter("seedgate_upstream_calls", "Calls to providers",
                         ("provider", "operation"))
UPSTREAM_ERRORS = Counter("seedgate_upstream_errors", "Provider calls that failed",
                          ("provider", "operation"))
UPSTREAM_SECONDS = Histogram("seedgate_upstream_call_duration_seconds",
                             "Time of a call to a provider", ("provider", "operation"),
                             buckets=UPSTREAM_BUCKETS)
WEBHOOKS = Counter("seedgate_webhook_deliveries", "Webhook delivery attempts and endings",
                   ("outcome",))
CREDITS_DEBITED = Counter("seedgate_credits_debited", "Credits debited for tasks")
CREDITS_REFUNDED = Counter("seedgate_credits_refunded",
                           "Credits given back (failed, cancelled, expired, settled for less)")
REFUSALS = Counter("seedgate_refusals", "Requests refused by a key's limits", ("limit",))


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class RequestTally:
    """Answered requests, tallied in plain dictionaries on the event loop and moved into
    REQUESTS and REQUEST_SECONDS by `flush` (every second, and before a scrape).

    Measured, a tally (a dictionary lookup and a bisection) costs about a third of
    updating prometheus_client's counter and histogram on every request (locks, a linear
    search of the buckets). Moving a histogram's tally in writes its bucket and sum
    values (`_buckets`, `_sum`, the library's own storage: a bucket counts the
    observations up to its bound and above the one before, as `observe` does).
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str, str, int], list[Any]] = {}
        self._bounds = REQUEST_SECONDS._upper_bounds
        _tallies.add(self)

    def add(self, dialect: str, route: str, method: str, status: int, seconds: float) -> None:
        entry = self._pending.get((dialect, route, method, status))
        if entry is None:
            entry = self._pending[(dialect, route, method, status)] = [
                0, 0.0, [0] * len(self._bounds)]
        entry[0] += 1
        entry[1] += seconds
        entry[2][bisect.bisect_left(self._bounds, seconds)] += 1

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for (dialect, route, method, status), (count, total, buckets) in pending.items():
            verb = method if method in METHODS else "other"
            REQUESTS.labels(dialect, route, verb, str(status)).inc(count)
            histogram = REQUEST_SECONDS.labels(dialect, route, verb)
            histogram._sum.inc(total)
            for bucket, observed in zip(histogram._buckets, buckets, strict=True):
                if observed:
                    bucket.inc(observed)

    async def flush_every(self, interval_s: float) -> None:
        try:
            while True:
                await asyncio.sleep(interval_s)
                self.flush()
        finally:
            self.flush()

    def close(self) -> None:
        self.flush()
        _tallies.discard(self)


_tallies: weakref.WeakSet[RequestTally] = weakref.WeakSet()


def task_created(task: Task) -> None:
    TASKS_CREATED.labels(task.model).inc()
    CREDITS_DEBITED.inc(task.price)


def task_finished(task: Task, outcome: str, refunded: int) -> None:
    TASKS_FINISHED.labels(task.model, task.provider or "none", outcome).inc()
    if refunded:
        CREDITS_REFUNDED.inc(refunded)


def webhook_outcome(outcome: str, count: int = 1) -> None:
    WEBHOOKS.labels(outcome).inc(count)


def refused(kind: ErrorKind) -> None:
    limit = LIMITS.get(kind)
    if limit is not None:
        REFUSALS.labels(limit).inc()


@contextlib.asynccontextmanager
async def upstream_call(provider: str, operation: str) -> AsyncIterator[None]:
    """Time and count a call to a provider; an exception that leaves it is an error."""
    started = time.perf_counter()
    UPSTREAM_CALLS.labels(provider, operation).inc()
    try:
        yield
    except Exception:  # not a cancellation: that is this process stopping
        UPSTREAM_ERRORS.labels(provider, operation).inc()
        raise
    finally:
        UPSTREAM_SECONDS.labels(provider, operation).observe(time.perf_counter() - started)


class _Families:
    """Metric families computed for one scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def exposition(live: Iterable[Metric]) -> bytes:
    """The text exposition: every process's counters and histograms, then `live`."""
    for tally in list(_tallies):  # one per app: one in a server process
        tally.flush()
    if multiprocess_dir():
        shared = CollectorRegistry()
        MultiProcessCollector(shared)
    else:
        shared = REGISTRY
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Families(live))  # type: ignore[arg-type]
    return generate_latest(shared) + generate_latest(scrape)
