"""The append-only credit ledger, the balance it maintains, and the limits checked with it.

Every change of a balance is a ledger row written in the same transaction; the balance
row is a running total that lets a debit check and spend atomically. The same row counts
the key's unfinished tasks and its net spend of the current UTC day and month, so that a
task's debit checks the balance, the concurrency cap and the spend limits in one
conditional UPDATE: exact however many processes create tasks at once (the row is locked
by the update), and changing nothing when any check fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from seedgate.domain.limits import day_of, month_of, next_day_ms, next_month_ms
from seedgate.store.database import Refused
from seedgate.store.driver import DriverStatement
from seedgate.store.schema import api_keys, balances, ledger


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


class ConcurrencyCapReached(Refused):
    def __init__(self, cap: int) -> None:
        super().__init__(f"{cap} unfinished tasks already")
        self.cap = cap


class SpendLimitReached(Refused):
    def __init__(self, period: str, limit: int, left: int, resets_at: int) -> None:
        super().__init__(f"the {period}'s spend limit of {limit} has {left} left")
        self.period = period  # "day" or "month"
        self.limit = limit
        self.left = left
        self.resets_at = resets_at  # Unix ms


@dataclass(frozen=True, slots=True)
class Totals:
    """A key's running totals, as its limits see them at a moment."""

    balance: int
    active_tasks: int
    day_spent: int
    month_spent: int


OPEN_TRIES = 3

# Built once; the writes of every create and refund run on the driver (store/driver.py).
_KEY = sa.bindparam("k")
_COST = sa.bindparam("cost")
_DAY = sa.bindparam("day")
_MONTH = sa.bindparam("month")


def _key_limit(column: sa.Column[int]) -> sa.ScalarSelect[int]:
    return sa.select(column).where(api_keys.c.id == _KEY).scalar_subquery()


_CAP = sa.func.coalesce(_key_limit(api_keys.c.max_concurrency), sa.bindparam("default_cap"))
_DAILY = _key_limit(api_keys.c.daily_spend)
_MONTHLY = _key_limit(api_keys.c.monthly_spend)
# What was spent in the window of this moment: the row's count if it is of the same window.
# (Constants are literal SQL: the driver statements take named parameters only.)
_ZERO, _ONE = sa.literal_column("0"), sa.literal_column("1")
_DAY_SPENT = sa.case((balances.c.day == _DAY, balances.c.day_spent), else_=_ZERO)
_MONTH_SPENT = sa.case((balances.c.month == _MONTH, balances.c.month_spent), else_=_ZERO)

_BALANCE = sa.select(balances.c.balance).where(balances.c.key_id == _KEY)
_TOTALS = sa.select(balances.c.balance, balances.c.active_tasks, _DAY_SPENT.label("day_spent"),
                    _MONTH_SPENT.label("month_spent")).where(balances.c.key_id == _KEY)
_LIMITS = sa.select(_CAP.label("cap"), _DAILY.label("daily"), _MONTHLY.label("monthly"))
_ADD = DriverStatement(
    balances.update().where(balances.c.key_id == _KEY)
    .values(balance=balances.c.balance + sa.bindparam("delta"))
)
_OPEN = DriverStatement(
    balances.update()
    .where(
        balances.c.key_id == _KEY,
        balances.c.balance >= _COST,
        sa.or_(_CAP == _ZERO, balances.c.active_tasks < _CAP),
        sa.or_(_DAILY.is_(None), _DAY_SPENT + _COST <= _DAILY),
        sa.or_(_MONTHLY.is_(None), _MONTH_SPENT + _COST <= _MONTHLY),
    )
    .values(
        balance=balances.c.balance - _COST, active_tasks=balances.c.active_tasks + _ONE,
        day=_DAY, day_spent=_DAY_SPENT + _COST, month=_MONTH, month_spent=_MONTH_SPENT + _COST,
    )
)
# A task ended: it no longer counts as unfinished, and what it returns (a refund, or the
# settlement of a cheaper outcome) is room again in the windows it was debited in.
_RETURNED = sa.bindparam("returned")
_CLOSE = DriverStatement(
    balances.update().where(balances.c.key_id == _KEY)
    .values(
        balance=balances.c.balance + _RETURNED, active_tasks=balances.c.active_tasks - _ONE,
        day_spent=sa.case((balances.c.day == _DAY, balances.c.day_spent - _RETURNED),
                          else_=balances.c.day_spent),
        month_spent=sa.case((balances.c.month == _MONTH, balances.c.month_spent - _RETURNED),
                            else_=balances.c.month_spent),
    )
)
_APPEND = DriverStatement(
    ledger.insert(), ("key_id", "task_id", "kind", "amount", "note", "created_at"))


def balance_of(conn: Connection, key_id: int) -> int:
    return conn.execute(_BALANCE, {"k": key_id}).scalar_one()


def totals_of(conn: Connection, key_id: int, now: int) -> Totals:
    row = conn.execute(_TOTALS, {"k": key_id, "day": day_of(now), "month": month_of(now)}).one()
    return Totals(row.balance, row.active_tasks, row.day_spent, row.month_spent)


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


def debit(conn: Connection, key_id: int, task_id: str, amount: int, now: int, *,
          default_cap: int) -> None:
    """Spend `amount` on a new unfinished task, within the key's balance, concurrency cap
    (`default_cap` unless the key has its own; 0: none) and spend limits; otherwise raise
    the `Refused` that says which, having changed nothing."""
    params = {"k": key_id, "cost": amount, "default_cap": default_cap, "day": day_of(now),
              "month": month_of(now)}
    for _ in range(OPEN_TRIES):
        if _OPEN.execute(conn, params) == 1:
            break
        refusal = _refusal(conn, params, now)
        if refusal is not None:
            raise refusal
        # On PostgreSQL another transaction (a refund) made room between the update and
        # this check: try again.
    else:
        raise RuntimeError(f"the debit of task {task_id} kept failing without a reason")
    _append(conn, key_id, EntryKind.DEBIT, amount=-amount, now=now, task_id=task_id)


def _refusal(conn: Connection, params: dict[str, int], now: int) -> Refused | None:
    """Which check a refused debit failed; None if it would pass now."""
    totals = totals_of(conn, params["k"], now)
    limits = conn.execute(_LIMITS, params).one()
    cost = params["cost"]
    if totals.balance < cost:
        return InsufficientBalance(totals.balance, cost)
    if limits.cap and totals.active_tasks >= limits.cap:
        return ConcurrencyCapReached(limits.cap)
    if limits.daily is not None and totals.day_spent + cost > limits.daily:
        return SpendLimitReached("day", limits.daily, max(0, limits.daily - totals.day_spent),
                                 next_day_ms(now))
    if limits.monthly is not None and totals.month_spent + cost > limits.monthly:
        return SpendLimitReached("month", limits.monthly,
                                 max(0, limits.monthly - totals.month_spent), next_month_ms(now))
    return None


def close_task(conn: Connection, key_id: int, task_id: str, *, debited_at: int, returned: int,
               kind: EntryKind, now: int) -> None:
    """A task ended: it stops counting against the concurrency cap, and `returned` credits
    (possibly 0) go back to the balance and to the spend windows of its debit. The ledger's
    unique (task_id, kind) makes a return once-only."""
    if returned:
        _append(conn, key_id, kind, amount=returned, now=now, task_id=task_id)
    _CLOSE.execute(conn, {"k": key_id, "returned": returned, "day": day_of(debited_at),
                          "month": month_of(debited_at)})


def entries_of(conn: Connection, key_id: int) -> list[tuple[str, int, str | None]]:
    rows = conn.execute(
        sa.select(ledger.c.kind, ledger.c.amount, ledger.c.task_id)
        .where(ledger.c.key_id == key_id).order_by(ledger.c.id)
    )
    return [(row.kind, row.amount, row.task_id) for row in rows]
