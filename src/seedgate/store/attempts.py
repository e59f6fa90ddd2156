"""Upstream attempts: each submission of a task to a provider, recorded before the call."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from seedgate.store import tasks as task_store
from seedgate.store.schema import tasks
from seedgate.store.schema import upstream_attempts as attempts


class AttemptState(StrEnum):
    SUBMITTING = "submitting"  # recorded, upstream call made or about to be
    SUBMITTED = "submitted"  # the provider accepted it: `upstream_id` is its job
    FAILED = "failed"  # the provider refused it, or the call failed
    UNKNOWN = "unknown"  # a worker died during the call: the provider may run a job
    FINISHED = "finished"  # the job ended (whatever the task's outcome)


@dataclass(frozen=True, slots=True)
class Attempt:
    task_id: str
    number: int
    provider: str
    state: AttemptState
    upstream_id: str | None
    calls: int
    created_at: int
    upstream_done_at: int | None
    error: str | None = None  # why a failed attempt failed
    updated_at: int | None = None


def begin(conn: Connection, task_id: str, provider: str, now: int) -> int:
    """Record a new attempt (numbered from 1) before its upstream call. An attempt left
    `submitting` by a dead worker becomes `unknown` first, so it is never retried as is."""
    conn.execute(attempts.update().where(
        attempts.c.task_id == task_id, attempts.c.state == AttemptState.SUBMITTING.value,
    ).values(state=AttemptState.UNKNOWN.value, updated_at=now))
    last = conn.execute(sa.select(sa.func.max(attempts.c.number)).where(
        attempts.c.task_id == task_id)).scalar_one()
    number = (last or 0) + 1
    conn.execute(attempts.insert().values(
        task_id=task_id, number=number, provider=provider,
        state=AttemptState.SUBMITTING.value, calls=1, created_at=now, updated_at=now))
    return number


def submitted(conn: Connection, *, task_id: str, number: int, provider: str,
              upstream_id: str, now: int) -> bool:
    """The provider accepted attempt `number`: record its job on the attempt and the task
    (in one transaction). False if the task has ended meanwhile."""
    conn.execute(attempts.update().where(
        attempts.c.task_id == task_id, attempts.c.number == number,
    ).values(state=AttemptState.SUBMITTED.value, upstream_id=upstream_id, updated_at=now))
    return task_store.update_active(conn, task_id, now, provider=provider,
                                    upstream_id=upstream_id)


def failed(conn: Connection, task_id: str, number: int, error: str, now: int) -> None:
    conn.execute(attempts.update().where(
        attempts.c.task_id == task_id, attempts.c.number == number,
    ).values(state=AttemptState.FAILED.value, error=error[:500], updated_at=now))


def finished(conn: Connection, *, task_id: str, upstream_id: str, calls: int,
             upstream_done_at: int | None, now: int) -> None:
    """The job ended: how many status calls it took, and when the provider says it ended."""
    conn.execute(attempts.update().where(
        attempts.c.task_id == task_id, attempts.c.upstream_id == upstream_id,
    ).values(state=AttemptState.FINISHED.value, calls=attempts.c.calls + calls,
             upstream_done_at=upstream_done_at, updated_at=now))


def of_task(conn: Connection, task_id: str) -> list[Attempt]:
    rows = conn.execute(sa.select(attempts).where(attempts.c.task_id == task_id)
                        .order_by(attempts.c.number)).mappings()
    return [Attempt(row["task_id"], row["number"], row["provider"], AttemptState(row["state"]),
                    row["upstream_id"], row["calls"], row["created_at"],
                    row["upstream_done_at"], row["error"], row["updated_at"]) for row in rows]


@dataclass(frozen=True, slots=True)
class ProviderFigures:
    """What a provider's finished jobs since some time cost and how soon they showed."""

    provider: str
    jobs: int
    calls_per_job: float
    delays_ms: list[int]  # task completed_at - the provider's reported end, sorted


def figures(conn: Connection, since: int) -> list[ProviderFigures]:
    """Per provider, over jobs finished since `since` (Unix ms)."""
    rows = conn.execute(
        sa.select(attempts.c.provider, attempts.c.calls, attempts.c.upstream_done_at,
                  tasks.c.completed_at)
        .join(tasks, tasks.c.id == attempts.c.task_id)
        .where(attempts.c.state == AttemptState.FINISHED.value,
               attempts.c.updated_at >= since)
    ).all()
    grouped: dict[str, list[tuple[int, int | None]]] = {}
    for provider, calls, done_at, completed_at in rows:
        delay = completed_at - done_at if done_at and completed_at else None
        grouped.setdefault(provider, []).append((calls, delay))
    return [
        ProviderFigures(
            provider, len(jobs), sum(calls for calls, _ in jobs) / len(jobs),
            sorted(delay for _, delay in jobs if delay is not None))
        for provider, jobs in sorted(grouped.items())
    ]
