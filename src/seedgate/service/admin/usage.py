"""What the gateway did and earned: usage grouped over a time range, and the overview's
figures and charts (the last hour, day and week)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy.engine import Connection

from seedgate.clock import now_ms
from seedgate.domain.errors import invalid
from seedgate.domain.usage import Bucket, Grouping, Measures, Queue, UsageRow
from seedgate.store import usage as store
from seedgate.store.database import Database

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
DAY_BUCKET_MS = HOUR_MS  # the 24-hour chart: one bar an hour
WEEK_BUCKET_MS = 6 * HOUR_MS  # the 7-day chart: one bar every 6 hours


@dataclass(frozen=True, slots=True)
class UsageReport:
    grouping: Grouping
    since: int  # Unix ms
    until: int  # Unix ms, excluded
    rows: list[UsageRow]

    @property
    def total(self) -> Measures:
        return sum((row.measures for row in self.rows), Measures())


@dataclass(frozen=True, slots=True)
class Overview:
    at: int  # Unix ms
    last_hour: Measures
    last_day: Measures
    queue: Queue
    active_keys: int
    credits_held: int  # in every active key's balance
    day: list[Bucket]  # the last 24 hours, hourly
    week: list[Bucket]  # the last 7 days, 6-hourly

    @property
    def tasks_a_minute(self) -> float:
        return self.last_hour.tasks / 60


class Usage:
    def __init__(self, db: Database, clock: Callable[[], int] = now_ms) -> None:
        self._db = db
        self._clock = clock

    async def report(self, grouping: Grouping, since: int | None = None,
                     until: int | None = None) -> UsageReport:
        """Tasks created in `[since, until)` (default: the 30 days until now), grouped."""
        until = self._clock() if until is None else until
        since = until - 30 * DAY_MS if since is None else since
        if since >= until:
            raise invalid("since", "`since` must be before `until`.")
        rows = await self._db.read(partial(store.usage, grouping=grouping, since=since,
                                           until=until))
        return UsageReport(grouping, since, until, rows)

    async def overview(self) -> Overview:
        return await self._db.read(partial(self._overview, now=self._clock()))

    @staticmethod
    def _overview(conn: Connection, now: int) -> Overview:
        def chart(bars: int, length: int) -> list[Bucket]:
            until = (now // length + 1) * length  # the bar of this moment comes last
            return store.buckets(conn, until - bars * length, until, length)

        last_hour = store.usage_total(conn, now - HOUR_MS, now + 1)
        last_day = store.usage_total(conn, now - DAY_MS, now + 1)
        active, held = store.holdings(conn)
        return Overview(now, last_hour, last_day, store.queue(conn), active, held,
                        chart(24, DAY_BUCKET_MS), chart(28, WEEK_BUCKET_MS))
