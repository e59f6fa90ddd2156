"""Client webhooks: the delivery outbox, its attempts, per-key secrets, disabled endpoints.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(40), nullable=False, unique=True),
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
    )
    op.create_index("webhook_deliveries_due", "webhook_deliveries",
                    ["status", "next_attempt_at"])
    op.create_index("webhook_deliveries_task", "webhook_deliveries", ["task_id", "id"])
    op.create_index("webhook_deliveries_endpoint", "webhook_deliveries",
                    ["key_id", "url", "status"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", BigId,
                  sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempted_at", sa.BigInteger, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("response", sa.String(500), nullable=True),
    )
    op.create_index("webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])
    op.create_table(
        "webhook_secrets",
        sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("secret", sa.String(400), nullable=False),
        sa.Column("previous", sa.String(400), nullable=True),
        sa.Column("previous_until", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "webhook_disabled",
        sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("url", sa.String(2048), primary_key=True),
        sa.Column("disabled_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_disabled")
    op.drop_table("webhook_secrets")
    op.drop_index("webhook_attempts_delivery", "webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("webhook_deliveries_endpoint", "webhook_deliveries")
    op.drop_index("webhook_deliveries_task", "webhook_deliveries")
    op.drop_index("webhook_deliveries_due", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
