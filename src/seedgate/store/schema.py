"""Table definitions shared by queries; the migrations in `migrations/` create them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("rate_limit", sa.Integer, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
    sa.Column("strategy", sa.String(16), nullable=True),  # routing; None: the default
    # Tenant controls (domain/limits.py); NULL: the server's default, or no limit.
    sa.Column("max_concurrency", sa.Integer, nullable=True),
    sa.Column("daily_spend", sa.BigInteger, nullable=True),
    sa.Column("monthly_spend", sa.BigInteger, nullable=True),
    sa.Column("allowed_ips", sa.JSON, nullable=True),
    sa.Column("allowed_models", sa.JSON, nullable=True),
)

balances = sa.Table(
    "balances",
    metadata,
    sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), primary_key=True),
    sa.Column("balance", sa.BigInteger, nullable=False),
    # Running totals that the limits are checked against, in the debit's own statement:
    # unfinished tasks, and the net spend of the tasks created on `day` and in `month`.
    sa.Column("active_tasks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("day", sa.Integer, nullable=False, server_default="0"),
    sa.Column("day_spent", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("month", sa.Integer, nullable=False, server_default="0"),
    sa.Column("month_spent", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
)

ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), nullable=False),
    sa.Column("task_id", sa.String(40), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("note", sa.String(200), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # A task is debited, refunded and settled at most once each, whatever crashes.
    sa.UniqueConstraint("task_id", "kind", name="ledger_once_per_task"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(40), nullable=False, unique=True),
    sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), nullable=False),
    sa.Column("dialect", sa.String(32), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("progress", sa.Integer, nullable=False, default=0),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("refunded", sa.BigInteger, nullable=False, default=0),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("client_request", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("provider", sa.String(64), nullable=True),
    sa.Column("upstream_id", sa.String(200), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=True),
    sa.Column("completed_at", sa.BigInteger, nullable=True),
    sa.Column("deadline_at", sa.BigInteger, nullable=False),
    sa.Index("tasks_status_lease", "status", "lease_expires_at"),
    sa.Index("tasks_key_seq", "key_id", "seq"),
    sa.Index("tasks_status_seq", "status", "seq"),
)

# Stripe-style idempotency: the first response to (key, Idempotency-Key), replayed later.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("task_id", sa.String(40), nullable=False),
    sa.Column("response_status", sa.Integer, nullable=False),
    sa.Column("response_body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("key_id", "idempotency_key", name="idempotency_once_per_key"),
    sa.Index("idempotency_created", "created_at"),
)

# Client webhooks. A delivery is written in the transaction of the task change it reports
# (an outbox); attempts log each try; secrets are Fernet-encrypted signing secrets per key.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
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
    sa.Index("webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("webhook_deliveries_task", "task_id", "id"),
    sa.Index("webhook_deliveries_endpoint", "key_id", "url", "status"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", BigId, sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("attempted_at", sa.BigInteger, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("response", sa.String(500), nullable=True),
    sa.Index("webhook_attempts_delivery", "delivery_id", "id"),
)

webhook_secrets = sa.Table(
    "webhook_secrets",
    metadata,
    sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), primary_key=True),
    sa.Column("secret", sa.String(400), nullable=False),
    sa.Column("previous", sa.String(400), nullable=True),
    sa.Column("previous_until", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# An endpoint that answered 410 Gone gets nothing more until a replay re-enables it.
webhook_disabled = sa.Table(
    "webhook_disabled",
    metadata,
    sa.Column("key_id", BigId, sa.ForeignKey("api_keys.id"), primary_key=True),
    sa.Column("url", sa.String(2048), primary_key=True),
    sa.Column("disabled_at", sa.BigInteger, nullable=False),
)

# One row per submission of a task to a provider, written before the upstream call, so a
# crash between the call and its record is seen (state `submitting`) and never repeated
# under the same attempt.
upstream_attempts = sa.Table(
    "upstream_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.String(40), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("upstream_id", sa.String(200), nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("upstream_done_at", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("task_id", "number", name="attempt_once"),
)
