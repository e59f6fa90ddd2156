"""Idempotency keys of creates, and the index that counts queue positions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("response_status", sa.Integer, nullable=False),
        sa.Column("response_body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("key_id", "idempotency_key", name="idempotency_once_per_key"),
    )
    op.create_index("idempotency_created", "idempotency_keys", ["created_at"])
    op.create_index("tasks_status_seq", "tasks", ["status", "seq"])


def downgrade() -> None:
    op.drop_index("tasks_status_seq", "tasks")
    op.drop_table("idempotency_keys")
