"""The money-moving task transitions, each one database transaction.

A refund is written in the same transaction as the state change that causes it, and only
when that change actually happened, so a task is refunded exactly once however many
processes race to finish it.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from seedgate.domain.task import Outputs, Task, TaskStatus
from seedgate.store import ledger
from seedgate.store import tasks as task_store


def create(conn: Connection, task: Task) -> Task:
    """Debit the task's price and insert it; raises InsufficientBalance otherwise."""
    ledger.debit(conn, task.key_id, task.id, task.price, task.created_at)
    task_store.insert_task(conn, task)
    return task


def start(conn: Connection, task_id: str, provider: str, now: int) -> bool:
    return task_store.transition(
        conn, task_id, TaskStatus.RUNNING, now, provider=provider, started_at=now
    )


def end_unsuccessfully(
    conn: Connection, task: Task, *, target: TaskStatus, code: str, message: str, now: int
) -> bool:
    """Fail, expire or cancel a task and give its credits back."""
    assert target.refundable
    moved = task_store.transition(
        conn, task.id, target, now, refunded=task.price, error_code=code, error_message=message
    )
    if moved:
        ledger.credit_back(conn, task.key_id, task.id, amount=task.price,
                           kind=ledger.EntryKind.REFUND, now=now)
    return moved


def succeed(conn: Connection, task: Task, outputs: Outputs, final_price: int, now: int) -> bool:
    """Complete a task; if it cost less than was debited (auto duration), settle the rest."""
    overpaid = max(0, task.price - final_price)
    moved = task_store.transition(
        conn, task.id, TaskStatus.SUCCEEDED, now, outputs=outputs, progress=100,
        refunded=overpaid,
    )
    if moved and overpaid:
        ledger.credit_back(conn, task.key_id, task.id, amount=overpaid,
                           kind=ledger.EntryKind.SETTLE, now=now)
    return moved
