"""A task's webhook subscription, as each dialect names it (`callback_url`, `webhook`)."""

from __future__ import annotations

from dataclasses import dataclass

from seedgate.domain.task import TERMINAL, TaskStatus

ALL_STATUSES = frozenset(TaskStatus)
ENDINGS = frozenset(TERMINAL)


@dataclass(frozen=True, slots=True)
class Subscription:
    """Where a task's events go, which state changes make one, and the request parameter
    that gave the URL (to name it in errors)."""

    url: str
    param: str
    statuses: frozenset[TaskStatus]


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its task was deleted


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: int
    duration_ms: int
    status_code: int | None
    error: str | None
    response: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one task, sent until delivered or given up; timestamps in Unix ms."""

    id: int
    event_id: str
    task_id: str
    key_id: int
    event_type: str
    url: str
    payload: bytes
    status: str
    step: int
    attempts: int
    next_attempt_at: int
    created_at: int
    last_status_code: int | None = None
    last_error: str | None = None
    finished_at: int | None = None
    log: tuple[Attempt, ...] = ()
