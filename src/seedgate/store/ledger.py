"""The append-only credit ledger and the balance it maintains.

Every change of a balance is a ledger row written in the same transaction; the balance
row is a running total that lets a debit check and spend atomically.
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from seedgate.store.database import Refused
from seedgate.store.driver import DriverStatement
from seedgate.store.schema import balances, ledger


class EntryKind(StrEnum):
    GRANT = "grant"
    DEBIT = "debit"
    REFUND = "refund"
    SETTLE = "settle"


class InsufficientBalance(Refused):
    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"balance {balance} cannot cover {needed}")
        self.balance = balance
        self.needed = needed


# Built once; the writes of every create and refund run on the driver (store/driver.py).
_BALANCE = sa.select(balances.c.balance).where(balances.c.key_id == sa.bindparam("k"))
_ADD = DriverStatement(
    balances.update().where(balances.c.key_id == sa.bindparam("k"))
    .values(balance=balances.c.balance + sa.bindparam("delta"))
)
_SPEND = DriverStatement(
    balances.update()
    .where(balances.c.key_id == sa.bindparam("k"), balances.c.balance >= sa.bindparam("cost"))
    .values(balance=balances.c.balance - sa.bindparam("cost"))
)
_APPEND = DriverStatement(
    ledger.insert(), ("key_id", "task_id", "kind", "amount", "note", "created_at"))


def balance_of(conn: Connection, key_id: int) -> int:
    return conn.execute(_BALANCE, {"k": key_id}).scalar_one()


def _append(
    conn: Connection, key_id: int, kind: EntryKind, *, amount: int, now: int,
    task_id: str | None = None, note: str | None = None,
) -> None:
    _APPEND.execute(conn, {
        "key_id": key_id, "task_id": task_id, "kind": kind.value, "amount": amount,
        "note": note, "created_at": now,
    })


def grant(conn: Connection, key_id: int, amount: int, now: int, note: str | None = None) -> int:
    """Add (or, with a negative amount, remove) credits; returns the new balance."""
    if amount < 0 and balance_of(conn, key_id) + amount < 0:
        raise InsufficientBalance(balance_of(conn, key_id), -amount)
    _ADD.execute(conn, {"k": key_id, "delta": amount})
    _append(conn, key_id, EntryKind.GRANT, amount=amount, now=now, note=note)
    return balance_of(conn, key_id)


def debit(conn: Connection, key_id: int, task_id: str, amount: int, now: int) -> None:
    """Spend `amount` for a task, or raise InsufficientBalance and change nothing."""
    if _SPEND.execute(conn, {"k": key_id, "cost": amount}) != 1:
        raise InsufficientBalance(balance_of(conn, key_id), amount)
    _append(conn, key_id, EntryKind.DEBIT, amount=-amount, now=now, task_id=task_id)


def credit_back(
    conn: Connection, key_id: int, task_id: str, *, amount: int, kind: EntryKind, now: int
) -> None:
    """Return credits for a task; the ledger's unique (task_id, kind) makes it once-only."""
    _append(conn, key_id, kind, amount=amount, now=now, task_id=task_id)
    _ADD.execute(conn, {"k": key_id, "delta": amount})


def entries_of(conn: Connection, key_id: int) -> list[tuple[str, int, str | None]]:
    rows = conn.execute(
        sa.select(ledger.c.kind, ledger.c.amount, ledger.c.task_id)
        .where(ledger.c.key_id == key_id).order_by(ledger.c.id)
    )
    return [(row.kind, row.amount, row.task_id) for row in rows]
