"""Operators: the admin token (its digest), console sessions, and the indexes of the admin
API's reads (tasks by creation time, for usage and date filters; a key's ledger page).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_token",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("console_sessions_expiry", "console_sessions", ["expires_at"])
    op.create_index("tasks_created", "tasks", ["created_at"])
    op.create_index("ledger_key", "ledger", ["key_id", "id"])


def downgrade() -> None:
    op.drop_index("ledger_key", "ledger")
    op.drop_index("tasks_created", "tasks")
    op.drop_table("console_sessions")
    op.drop_table("admin_token")
