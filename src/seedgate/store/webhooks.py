"""Webhook deliveries (an outbox leased like tasks), their attempts, per-key secrets and
disabled endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from seedgate.domain.webhooks import Attempt, Delivery, DeliveryStatus
from seedgate.store.schema import (
    webhook_attempts,
    webhook_deliveries,
    webhook_disabled,
    webhook_secrets,
)

D = webhook_deliveries
PENDING, DELIVERED, FAILED = (DeliveryStatus.PENDING, DeliveryStatus.DELIVERED,
                              DeliveryStatus.FAILED)


def _delivery(row: RowMapping, log: tuple[Attempt, ...] = ()) -> Delivery:
    return Delivery(
        id=row["id"], event_id=row["event_id"], task_id=row["task_id"], key_id=row["key_id"],
        event_type=row["event_type"], url=row["url"], payload=bytes(row["payload"]),
        status=row["status"], step=row["step"], attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"], created_at=row["created_at"],
        last_status_code=row["last_status_code"], last_error=row["last_error"],
        finished_at=row["finished_at"], log=log,
    )


def insert_delivery(conn: Connection, delivery: Delivery) -> None:
    conn.execute(D.insert().values(
        event_id=delivery.event_id, task_id=delivery.task_id, key_id=delivery.key_id,
        event_type=delivery.event_type, url=delivery.url, payload=delivery.payload,
        status=delivery.status, step=delivery.step, attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at, created_at=delivery.created_at,
        last_error=delivery.last_error, finished_at=delivery.finished_at,
    ))


def any_due(conn: Connection, now: int) -> bool:
    """Whether some delivery is due: a cheap read that spares idle rounds a write."""
    return conn.execute(
        sa.select(D.c.id).where(D.c.status == PENDING, D.c.next_attempt_at <= now).limit(1)
    ).first() is not None


def lease_due(conn: Connection, owner: str, now: int, until: int, limit: int) -> list[Delivery]:
    """Claim due deliveries that head their task's queue: a task's next event waits until
    the one before it is delivered or given up."""
    earlier = D.alias("earlier")
    blocked = sa.exists().where(earlier.c.task_id == D.c.task_id, earlier.c.id < D.c.id,
                                earlier.c.status == PENDING)
    due = (
        sa.select(D.c.id)
        .where(D.c.status == PENDING, D.c.next_attempt_at <= now,
               sa.or_(D.c.lease_expires_at.is_(None), D.c.lease_expires_at < now),
               ~blocked)
        .order_by(D.c.next_attempt_at, D.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        D.update().where(D.c.id.in_(due.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=until).returning(*D.c)
    ).mappings().all()
    return sorted((_delivery(row) for row in rows), key=lambda d: d.id)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt leads to: `status` PENDING with the next time, or an ending."""

    status: str
    next_attempt_at: int
    step: int
    gone: bool = False  # 410: disable the endpoint


def record_attempt(
    conn: Connection, delivery: Delivery, owner: str, attempt: Attempt, outcome: Outcome
) -> bool:
    """Log an attempt and move the delivery on, if this owner still holds it."""
    values: dict[str, Any] = {
        "status": outcome.status, "step": outcome.step, "attempts": D.c.attempts + 1,
        "next_attempt_at": outcome.next_attempt_at, "lease_owner": None,
        "lease_expires_at": None, "last_status_code": attempt.status_code,
        "last_error": attempt.error,
    }
    if outcome.status != PENDING:
        values["finished_at"] = attempt.attempted_at
    moved = conn.execute(
        D.update().where(D.c.id == delivery.id, D.c.lease_owner == owner,
                         D.c.status == PENDING).values(**values)
    ).rowcount == 1
    if not moved:
        return False
    conn.execute(webhook_attempts.insert().values(
        delivery_id=delivery.id, attempted_at=attempt.attempted_at,
        duration_ms=attempt.duration_ms, status_code=attempt.status_code,
        error=attempt.error, response=attempt.response,
    ))
    if outcome.gone:
        disable(conn, delivery.key_id, delivery.url, attempt.attempted_at)
    return True


def disable(conn: Connection, key_id: int, url: str, now: int) -> None:
    """Stop an endpoint: remember it, and give up what is still pending for it."""
    if not is_disabled(conn, key_id, url):
        conn.execute(webhook_disabled.insert().values(key_id=key_id, url=url, disabled_at=now))
    conn.execute(
        D.update().where(D.c.key_id == key_id, D.c.url == url, D.c.status == PENDING)
        .values(status=FAILED, finished_at=now, lease_owner=None, lease_expires_at=None,
                last_error="The endpoint answered 410 Gone and was disabled.")
    )


def cancel_pending(conn: Connection, task_id: str, now: int) -> int:
    """Give up a deleted task's deliveries that are still pending; how many. One being
    sent right now is not recorded (`record_attempt` wants it pending) nor sent again."""
    return conn.execute(
        D.update().where(D.c.task_id == task_id, D.c.status == PENDING)
        .values(status=DeliveryStatus.CANCELLED, finished_at=now, lease_owner=None,
                lease_expires_at=None, last_error="The task was deleted.")
    ).rowcount


def is_disabled(conn: Connection, key_id: int, url: str) -> bool:
    return conn.execute(
        sa.select(webhook_disabled.c.key_id).where(
            webhook_disabled.c.key_id == key_id, webhook_disabled.c.url == url)
    ).first() is not None


def deliveries_of(conn: Connection, task_id: str) -> list[Delivery]:
    """A task's deliveries in order, each with its attempts."""
    rows = conn.execute(sa.select(D).where(D.c.task_id == task_id).order_by(D.c.id)).mappings()
    found = list(rows)
    logs: dict[int, list[Attempt]] = {row["id"]: [] for row in found}
    if logs:
        for attempt in conn.execute(
            sa.select(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(list(logs)))
            .order_by(webhook_attempts.c.id)
        ).mappings():
            logs[attempt["delivery_id"]].append(Attempt(
                attempt["attempted_at"], attempt["duration_ms"], attempt["status_code"],
                attempt["error"], attempt["response"]))
    return [_delivery(row, tuple(logs[row["id"]])) for row in found]


def replay(conn: Connection, task_id: str, event_id: str, now: int) -> bool:
    """Send a delivery again from the start of the schedule, and re-enable its endpoint."""
    row = conn.execute(
        sa.select(D.c.key_id, D.c.url).where(D.c.task_id == task_id, D.c.event_id == event_id)
    ).first()
    if row is None:
        return False
    conn.execute(webhook_disabled.delete().where(
        webhook_disabled.c.key_id == row.key_id, webhook_disabled.c.url == row.url))
    conn.execute(
        D.update().where(D.c.event_id == event_id)
        .values(status=PENDING, step=0, next_attempt_at=now, finished_at=None,
                lease_owner=None, lease_expires_at=None)
    )
    return True


def prune(conn: Connection, before: int) -> int:
    """Delete deliveries that ended before `before` (Unix ms), with their attempts;
    returns how many deliveries."""
    ended = sa.select(D.c.id).where(D.c.status != PENDING, D.c.finished_at < before)
    conn.execute(webhook_attempts.delete().where(
        webhook_attempts.c.delivery_id.in_(ended.scalar_subquery())))
    return conn.execute(D.delete().where(D.c.id.in_(ended.scalar_subquery()))).rowcount


# -- secrets ------------------------------------------------------------------------------

S = webhook_secrets


@dataclass(frozen=True, slots=True)
class SealedSecrets:
    secret: str
    previous: str | None
    previous_until: int | None


def secrets_of(conn: Connection, key_id: int) -> SealedSecrets | None:
    row = conn.execute(sa.select(S).where(S.c.key_id == key_id)).mappings().first()
    if row is None:
        return None
    return SealedSecrets(row["secret"], row["previous"], row["previous_until"])


def store_secret(conn: Connection, key_id: int, sealed: str, now: int) -> None:
    conn.execute(S.insert().values(key_id=key_id, secret=sealed, created_at=now))


def rotate_secret(conn: Connection, key_id: int, sealed: str, keep_until: int, now: int) -> None:
    """A new secret; the current one keeps signing too until `keep_until`."""
    conn.execute(S.update().where(S.c.key_id == key_id).values(
        previous=S.c.secret, previous_until=keep_until, secret=sealed, created_at=now))

