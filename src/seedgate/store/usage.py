"""Aggregates of tasks for operators: usage by group, time buckets, the queue. SQL
aggregates over the `tasks_created` index, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from seedgate.domain.limits import DAY_MS
from seedgate.domain.task import TaskStatus
from seedgate.domain.usage import Bucket, Grouping, Measures, Queue, UsageRow
from seedgate.store.schema import api_keys, balances, tasks

QUEUED, RUNNING = TaskStatus.QUEUED.value, TaskStatus.RUNNING.value
_FAILED = (TaskStatus.FAILED.value, TaskStatus.EXPIRED.value)


def _count_where(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _total(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(column), 0)


MEASURES = (
    sa.func.count().label("tasks"),
    _count_where(tasks.c.status == TaskStatus.SUCCEEDED.value).label("succeeded"),
    _count_where(tasks.c.status.in_(_FAILED)).label("failed"),
    # Only succeeded tasks have outputs: the seconds of video they delivered.
    _total(tasks.c.outputs["duration"].as_integer()).label("seconds"),
    _total(tasks.c.price).label("debited"),
    _total(tasks.c.refunded).label("refunded"),
)


def _measures(row: Row[Any]) -> Measures:
    return Measures(int(row.tasks), int(row.succeeded), int(row.failed), int(row.seconds),
                    int(row.debited), int(row.refunded))


def _created(since: int, until: int) -> tuple[sa.ColumnElement[bool], ...]:
    return tasks.c.created_at >= since, tasks.c.created_at < until


def usage(conn: Connection, grouping: Grouping, since: int, until: int) -> list[UsageRow]:
    """The tasks created in `[since, until)`, grouped; groups in order."""
    group: sa.ColumnElement[Any] = {
        Grouping.KEY: api_keys.c.name,
        Grouping.MODEL: tasks.c.model,
        Grouping.PROVIDER: sa.func.coalesce(tasks.c.provider, ""),
        Grouping.DAY: tasks.c.created_at // DAY_MS,
    }[grouping]
    query = sa.select(group.label("grp"), *MEASURES).where(*_created(since, until))
    if grouping is Grouping.KEY:
        query = query.join(api_keys, api_keys.c.id == tasks.c.key_id)
    rows = conn.execute(query.group_by(group).order_by(group))
    name = _day if grouping is Grouping.DAY else str
    return [UsageRow(name(row.grp), _measures(row)) for row in rows]


def _day(number: int) -> str:
    """A day counted from the Unix epoch, as an ISO date."""
    return datetime.fromtimestamp(number * DAY_MS // 1000, UTC).date().isoformat()


def buckets(conn: Connection, since: int, until: int, length: int) -> list[Bucket]:
    """The tasks created in `[since, until)` in buckets of `length` ms from `since`, every
    bucket present (empty ones too)."""
    index = ((tasks.c.created_at - since) // length).label("bucket")
    rows = conn.execute(sa.select(index, *MEASURES).where(*_created(since, until))
                        .group_by(index))
    found = {int(row.bucket): _measures(row) for row in rows}
    count = -(-(until - since) // length)
    return [Bucket(since + i * length, found.get(i, Measures())) for i in range(count)]


def queue(conn: Connection) -> Queue:
    """Unfinished tasks now (the status indexes)."""
    queued, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(tasks.c.created_at))
        .where(tasks.c.status == QUEUED)).one()
    running = conn.execute(sa.select(sa.func.count()).where(tasks.c.status == RUNNING)
                           ).scalar_one()
    return Queue(int(queued), int(running), oldest)


def running_by_provider(conn: Connection) -> dict[str, int]:
    """Tasks running now at each provider, across every worker process."""
    rows = conn.execute(sa.select(tasks.c.provider, sa.func.count())
                        .where(tasks.c.status == RUNNING, tasks.c.provider.is_not(None))
                        .group_by(tasks.c.provider))
    return {provider: int(count) for provider, count in rows}


def holdings(conn: Connection) -> tuple[int, int]:
    """How many keys are active, and the credits their balances hold."""
    active, held = conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(balances.c.balance), 0))
        .select_from(api_keys).join(balances, balances.c.key_id == api_keys.c.id)
        .where(api_keys.c.revoked_at.is_(None))).one()
    return int(active), int(held)


def usage_total(conn: Connection, since: int, until: int) -> Measures:
    """The tasks created in `[since, until)`, all together."""
    return _measures(conn.execute(sa.select(*MEASURES).where(*_created(since, until))).one())
