"""Tenant controls: per-key concurrency caps, spend limits, IP and model allow-lists, and the
running totals they are checked against (counted from the existing tasks).

Revision ID: 0005
Revises: 0004
"""

import time

import sqlalchemy as sa
from alembic import op

from seedgate.domain.limits import DAY_MS, day_of, month_of, month_start_ms

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def key_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("max_concurrency", sa.Integer, nullable=True),
        sa.Column("daily_spend", sa.BigInteger, nullable=True),
        sa.Column("monthly_spend", sa.BigInteger, nullable=True),
        sa.Column("allowed_ips", sa.JSON, nullable=True),
        sa.Column("allowed_models", sa.JSON, nullable=True),
    )


def total_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("active_tasks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("day", sa.Integer, nullable=False, server_default="0"),
        sa.Column("day_spent", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("month", sa.Integer, nullable=False, server_default="0"),
        sa.Column("month_spent", sa.BigInteger, nullable=False, server_default="0"),
    )


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for column in key_columns():
            batch.add_column(column)
    with op.batch_alter_table("balances") as batch:
        for column in total_columns():
            batch.add_column(column)
    _count_existing_tasks()


def _count_existing_tasks() -> None:
    now = int(time.time() * 1000)
    day, month = day_of(now), month_of(now)
    month_start = month_start_ms(month)
    tasks = sa.table("tasks", sa.column("key_id"), sa.column("status"), sa.column("price"),
                     sa.column("refunded"), sa.column("created_at"))
    balances = sa.table("balances", sa.column("key_id"), sa.column("active_tasks"),
                        sa.column("day"), sa.column("day_spent"), sa.column("month"),
                        sa.column("month_spent"))
    mine = tasks.c.key_id == balances.c.key_id

    def net_spend_since(start_ms: int) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.coalesce(sa.func.sum(tasks.c.price - tasks.c.refunded), 0)
                         ).where(mine, tasks.c.created_at >= start_ms).scalar_subquery()

    op.execute(balances.update().values(
        active_tasks=sa.select(sa.func.count()).where(
            mine, tasks.c.status.in_(("queued", "running"))).scalar_subquery(),
        day=day, day_spent=net_spend_since(day * DAY_MS),
        month=month, month_spent=net_spend_since(month_start),
    ))


def downgrade() -> None:
    with op.batch_alter_table("balances") as batch:
        for column in total_columns():
            batch.drop_column(column.name)
    with op.batch_alter_table("api_keys") as batch:
        for column in key_columns():
            batch.drop_column(column.name)
