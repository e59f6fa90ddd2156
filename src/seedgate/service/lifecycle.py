"""The money-moving task transitions, each one database transaction.

A refund is written in the same transaction as the state change that causes it, and only
when that change actually happened, so a task is refunded exactly once however many
processes race to finish it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy.engine import Connection

from seedgate.domain.errors import FailureCode
from seedgate.domain.idempotency import KEEP_MS, StoredResponse
from seedgate.domain.task import Outputs, Task, TaskStatus
from seedgate.domain.webhooks import DeliveryStatus
from seedgate.ops import metrics
from seedgate.store import idempotency, ledger, webhooks
from seedgate.store import tasks as task_store
from seedgate.store.database import Refused, after_commit

# Renders the create response of a task given its queue position: (HTTP status, body).
Render = Callable[[Task, int], tuple[int, bytes]]
# Called in the transaction of every change of a task (the webhook outbox): (task, now).
Notify = Callable[[Connection, Task, int], None]


def unheard(conn: Connection, task: Task, now: int) -> None:
    """No one listens to task changes."""


def announcing(notify: Notify, announce: Callable[[str], None]) -> Notify:
    """`notify`, and `announce(task id)` once the change is committed."""

    def changed(conn: Connection, task: Task, now: int) -> None:
        notify(conn, task, now)
        after_commit(conn, partial(announce, task.id))

    return changed


class Replay(Refused):
    """The idempotency key was used in the last 24 hours: answer with its first response."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__(f"idempotency key already used for {stored.task_id}")
        self.stored = stored


def create(conn: Connection, task: Task, default_cap: int, notify: Notify = unheard) -> Task:
    """Debit the task's price and insert it; raises a `Refused` (InsufficientBalance,
    ConcurrencyCapReached, SpendLimitReached) otherwise."""
    ledger.debit(conn, task.key_id, task.id, task.price, task.created_at,
                 default_cap=default_cap)
    task_store.insert_task(conn, task)
    notify(conn, task, task.created_at)
    after_commit(conn, partial(metrics.task_created, task))
    return task


def create_once(
    conn: Connection, task: Task, key: str, request_hash: str, render: Render, *,
    default_cap: int, notify: Notify = unheard,
) -> StoredResponse:
    """`create`, and the response recorded under the idempotency key in the same
    transaction, so no debit can exist without its record. Raises `Replay` when the key is
    still remembered."""
    found = idempotency.find(conn, task.key_id, key)
    if found is not None and found.created_at > task.created_at - KEEP_MS:
        raise Replay(found)
    create(conn, task, default_cap, notify)
    if found is not None:
        idempotency.forget(conn, task.key_id, key)
    status, body = render(task, task_store.queue_position(conn, task.id))
    response = StoredResponse(request_hash, task.id, status, body, task.created_at)
    idempotency.record(conn, task.key_id, key, response)
    return response


def start(conn: Connection, task: Task, provider: str, now: int,
          notify: Notify = unheard) -> bool:
    moved = task_store.transition(
        conn, task.id, TaskStatus.RUNNING, now, provider=provider, started_at=now
    )
    if moved:
        notify(conn, task, now)
    return moved


def end_unsuccessfully(
    conn: Connection, task: Task, *, target: TaskStatus, code: str, message: str, now: int,
    only_from: TaskStatus | None = None, notify: Notify = unheard,
) -> bool:
    """Fail, expire or cancel a task and give its credits back."""
    assert target.refundable
    moved = task_store.transition(
        conn, task.id, target, now, only_from=only_from, refunded=task.price, error_code=code,
        error_message=message,
    )
    if moved:
        ledger.close_task(conn, task.key_id, task.id, debited_at=task.created_at,
                          returned=task.price, kind=ledger.EntryKind.REFUND, now=now)
        notify(conn, task, now)
        after_commit(conn, partial(metrics.task_finished, task, target.value, task.price))
    return moved


def succeed(conn: Connection, task: Task, outputs: Outputs, final_price: int, now: int, *,
            notify: Notify = unheard) -> bool:
    """Complete a task; if it cost less than was debited (auto duration), settle the rest."""
    overpaid = max(0, task.price - final_price)
    moved = task_store.transition(
        conn, task.id, TaskStatus.SUCCEEDED, now, outputs=outputs, progress=100,
        refunded=overpaid,
    )
    if moved:
        ledger.close_task(conn, task.key_id, task.id, debited_at=task.created_at,
                          returned=overpaid, kind=ledger.EntryKind.SETTLE, now=now)
        notify(conn, task, now)
        after_commit(conn, partial(metrics.task_finished, task, TaskStatus.SUCCEEDED.value,
                                   overpaid))
    return moved


def cancel_queued(conn: Connection, task: Task, now: int, notify: Notify = unheard) -> bool:
    """Cancel and refund a task that no worker has started; False if it is not queued."""
    return end_unsuccessfully(
        conn, task, target=TaskStatus.CANCELLED, code=FailureCode.CANCELLED.value,
        message="The task was cancelled by the client before it started.", now=now,
        only_from=TaskStatus.QUEUED, notify=notify,
    )


def delete(conn: Connection, task: Task, now: int, notify: Notify = unheard) -> bool:
    """Delete a task's record; a queued one is cancelled and refunded first, and its
    webhook deliveries still pending are cancelled. False when it is running, so nothing
    changed."""
    cancel_queued(conn, task, now, notify)
    if not task_store.delete_finished(conn, task.id):
        return False
    cancelled = webhooks.cancel_pending(conn, task.id, now)
    if cancelled:
        after_commit(conn, partial(metrics.webhook_outcome, DeliveryStatus.CANCELLED, cancelled))
    return True
