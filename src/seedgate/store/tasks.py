"""Task records: insert, read, guarded state transitions and worker leases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from seedgate.domain.request import GenerationRequest
from seedgate.domain.task import TERMINAL, Outputs, Task, TaskStatus, sources_of
from seedgate.store.driver import DriverStatement, json_text
from seedgate.store.schema import api_keys, tasks

ACTIVE = (TaskStatus.QUEUED.value, TaskStatus.RUNNING.value)


def _task(row: RowMapping) -> Task:
    outputs = row["outputs"]
    return Task(
        id=row["id"], key_id=row["key_id"], dialect=row["dialect"],
        request=GenerationRequest.from_json(row["request"]),
        client_request=row["client_request"], status=TaskStatus(row["status"]),
        price=row["price"], refunded=row["refunded"], created_at=row["created_at"],
        updated_at=row["updated_at"], deadline_at=row["deadline_at"], progress=row["progress"],
        error_code=row["error_code"], error_message=row["error_message"],
        outputs=Outputs.from_json(outputs) if outputs else None,
        provider=row["provider"], upstream_id=row["upstream_id"],
        started_at=row["started_at"], completed_at=row["completed_at"], seq=row["seq"],
    )


# Hot statements are built once; the insert runs on the driver (store/driver.py).
_INSERTED = ("id", "key_id", "dialect", "model", "status", "progress", "price", "refunded",
             "request", "client_request", "attempts", "created_at", "updated_at",
             "deadline_at")
_INSERT = DriverStatement(tasks.insert(), _INSERTED)
_BY_ID = sa.select(tasks).where(tasks.c.id == sa.bindparam("task_id"))


def insert_task(conn: Connection, task: Task) -> None:
    _INSERT.execute(conn, {
        "id": task.id, "key_id": task.key_id, "dialect": task.dialect,
        "model": task.request.model, "status": task.status.value, "progress": task.progress,
        "price": task.price, "refunded": task.refunded,
        "request": json_text(task.request.to_json()),
        "client_request": json_text(task.client_request), "attempts": 0,
        "created_at": task.created_at, "updated_at": task.updated_at,
        "deadline_at": task.deadline_at,
    })


def get_task(conn: Connection, task_id: str) -> Task | None:
    row = conn.execute(_BY_ID, {"task_id": task_id}).mappings().first()
    return _task(row) if row else None


def transition(
    conn: Connection, task_id: str, target: TaskStatus, now: int, *,
    only_from: TaskStatus | None = None, **fields: Any,
) -> bool:
    """Move a task to `target` if its current state allows it (the state machine's rule),
    and is `only_from` when given.

    Returns False when the task is in no state that leads to `target`, for instance because
    another process finished it first; the caller must then not act on the transition (no
    refund, no second completion).
    """
    if "outputs" in fields and isinstance(fields["outputs"], Outputs):
        fields["outputs"] = fields["outputs"].to_json()
    values: dict[str, Any] = {"status": target.value, "updated_at": now, **fields}
    if target.terminal:
        values.update(completed_at=now, lease_owner=None, lease_expires_at=None)
    sources = [status.value for status in sources_of(target) if only_from in (None, status)]
    moved = conn.execute(
        tasks.update().where(tasks.c.id == task_id, tasks.c.status.in_(sources)).values(**values)
    ).rowcount
    return moved == 1


def update_active(conn: Connection, task_id: str, now: int, **fields: Any) -> bool:
    """Change bookkeeping fields (progress, upstream id) of a task that is not finished."""
    changed = conn.execute(
        tasks.update().where(tasks.c.id == task_id, tasks.c.status.in_(ACTIVE))
        .values(updated_at=now, **fields)
    ).rowcount
    return changed == 1


def lease(conn: Connection, owner: str, now: int, until: int, limit: int) -> list[Task]:
    """Claim up to `limit` unfinished tasks nobody holds (or whose holder went silent)."""
    free = (
        sa.select(tasks.c.seq)
        .where(
            tasks.c.status.in_(ACTIVE),
            sa.or_(tasks.c.lease_expires_at.is_(None), tasks.c.lease_expires_at < now),
        )
        .order_by(tasks.c.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        tasks.update().where(tasks.c.seq.in_(free.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=until, attempts=tasks.c.attempts + 1)
        .returning(*tasks.c)
    ).mappings().all()
    return sorted((_task(row) for row in rows), key=lambda t: t.seq)


def renew_leases(conn: Connection, owner: str, task_ids: list[str], until: int) -> set[str]:
    """Extend this owner's leases; returns the ids it still holds."""
    if not task_ids:
        return set()
    rows = conn.execute(
        tasks.update()
        .where(tasks.c.id.in_(task_ids), tasks.c.lease_owner == owner,
               tasks.c.status.in_(ACTIVE))
        .values(lease_expires_at=until)
        .returning(tasks.c.id)
    )
    return {row.id for row in rows}


def release_lease(conn: Connection, owner: str, task_id: str) -> None:
    conn.execute(
        tasks.update().where(tasks.c.id == task_id, tasks.c.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )


def overdue(conn: Connection, now: int, limit: int) -> list[Task]:
    """Unfinished tasks past their execution deadline, whoever holds them."""
    rows = conn.execute(
        sa.select(tasks).where(tasks.c.status.in_(ACTIVE), tasks.c.deadline_at <= now)
        .order_by(tasks.c.deadline_at).limit(limit)
    ).mappings()
    return [_task(row) for row in rows]


FINISHED = tuple(status.value for status in TERMINAL)
_DELETE_FINISHED = tasks.delete().where(
    tasks.c.id == sa.bindparam("task_id"), tasks.c.status.in_(FINISHED))
_SEQ = sa.select(tasks.c.seq).where(tasks.c.id == sa.bindparam("task_id"))
_AHEAD = sa.select(sa.func.count()).select_from(tasks).where(
    tasks.c.status == TaskStatus.QUEUED.value, tasks.c.seq < _SEQ.scalar_subquery())


def delete_finished(conn: Connection, task_id: str) -> bool:
    """Delete a task's record if it has finished; False otherwise (or if it is gone)."""
    return conn.execute(_DELETE_FINISHED, {"task_id": task_id}).rowcount == 1


def queue_position(conn: Connection, task_id: str) -> int:
    """How many queued tasks, of every key, are ahead of this one (the status/seq index)."""
    return int(conn.execute(_AHEAD, {"task_id": task_id}).scalar_one())


def queue_stats(conn: Connection) -> tuple[int, int | None]:
    """How many tasks are queued, and when the oldest of them was created (Unix ms)."""
    row = conn.execute(sa.select(sa.func.count(), sa.func.min(tasks.c.created_at))
                       .where(tasks.c.status == TaskStatus.QUEUED.value)).one()
    return int(row[0]), row[1]


def seq_of(conn: Connection, task_id: str, key_id: int) -> int | None:
    return conn.execute(
        sa.select(tasks.c.seq).where(tasks.c.id == task_id, tasks.c.key_id == key_id)
    ).scalar_one_or_none()


def list_tasks(
    conn: Connection, key_id: int, *, limit: int, ascending: bool, after_seq: int | None = None,
    statuses: tuple[TaskStatus, ...] = (), model: str | None = None, offset: int = 0,
    task_ids: tuple[str, ...] = (),
) -> list[Task]:
    """A key's tasks in creation order (`seq`), from just past `after_seq`, filtered."""
    query = _filtered(sa.select(tasks), key_id, statuses, model, task_ids)
    if after_seq is not None:
        query = query.where(tasks.c.seq > after_seq if ascending else tasks.c.seq < after_seq)
    order = tasks.c.seq.asc() if ascending else tasks.c.seq.desc()
    rows = conn.execute(query.order_by(order).offset(offset).limit(limit)).mappings()
    return [_task(row) for row in rows]


def count_tasks(
    conn: Connection, key_id: int, *, statuses: tuple[TaskStatus, ...] = (),
    model: str | None = None, task_ids: tuple[str, ...] = (),
) -> int:
    """How many of a key's tasks pass the same filters as `list_tasks`."""
    query = sa.select(sa.func.count()).select_from(tasks)
    return int(conn.execute(_filtered(query, key_id, statuses, model, task_ids)).scalar_one())


def _filtered(
    query: sa.Select[Any], key_id: int, statuses: tuple[TaskStatus, ...], model: str | None,
    task_ids: tuple[str, ...],
) -> sa.Select[Any]:
    query = query.where(tasks.c.key_id == key_id)
    if statuses:
        query = query.where(tasks.c.status.in_([status.value for status in statuses]))
    if model is not None:
        query = query.where(tasks.c.model == model)
    if task_ids:
        query = query.where(tasks.c.id.in_(task_ids))
    return query


@dataclass(frozen=True, slots=True)
class Search:
    """Which tasks of every key an operator looks for; times are Unix ms, `until` excluded."""

    key_id: int | None = None
    statuses: tuple[TaskStatus, ...] = ()
    model: str | None = None
    provider: str | None = None
    since: int | None = None
    until: int | None = None


def search(conn: Connection, found: Search, *, limit: int,
           before_seq: int | None = None) -> list[tuple[Task, str]]:
    """Tasks of every key, newest first (older than `before_seq`, when given), each with
    its key's name."""
    query = sa.select(tasks, api_keys.c.name.label("key_name")).join(
        api_keys, api_keys.c.id == tasks.c.key_id)
    conditions = [
        tasks.c.key_id == found.key_id if found.key_id is not None else None,
        tasks.c.status.in_([s.value for s in found.statuses]) if found.statuses else None,
        tasks.c.model == found.model if found.model is not None else None,
        tasks.c.provider == found.provider if found.provider is not None else None,
        tasks.c.created_at >= found.since if found.since is not None else None,
        tasks.c.created_at < found.until if found.until is not None else None,
        tasks.c.seq < before_seq if before_seq is not None else None,
    ]
    query = query.where(*(c for c in conditions if c is not None))
    rows = conn.execute(query.order_by(tasks.c.seq.desc()).limit(limit)).mappings()
    return [(_task(row), row["key_name"]) for row in rows]


def seq_of_any(conn: Connection, task_id: str) -> int | None:
    """The creation order of a task of any key."""
    return conn.execute(sa.select(tasks.c.seq).where(tasks.c.id == task_id)
                        ).scalar_one_or_none()
