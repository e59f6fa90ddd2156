"""API key records and their limits."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from seedgate.domain.keys import ApiKey
from seedgate.domain.limits import KeyLimits
from seedgate.store.schema import api_keys, balances

LIST_LIMITS = ("allowed_ips", "allowed_models")


def _key(row: RowMapping) -> ApiKey:
    limits = KeyLimits(
        rate_limit=row["rate_limit"], max_concurrency=row["max_concurrency"],
        daily_spend=row["daily_spend"], monthly_spend=row["monthly_spend"],
        allowed_ips=tuple(row["allowed_ips"] or ()),
        allowed_models=tuple(row["allowed_models"] or ()),
    )
    return ApiKey(
        id=row["id"], name=row["name"], prefix=row["prefix"], created_at=row["created_at"],
        revoked_at=row["revoked_at"], limits=limits, strategy=row["strategy"],
    )


def _limit_columns(limits: KeyLimits) -> dict[str, Any]:
    values = limits.to_json()
    for name in LIST_LIMITS:
        values[name] = values[name] or None
    return values


def insert_key(
    conn: Connection, *, name: str, digest: str, prefix: str, limits: KeyLimits,
    strategy: str | None, now: int,
) -> ApiKey:
    key_id = conn.execute(
        api_keys.insert().values(
            name=name, key_hash=digest, prefix=prefix, created_at=now, strategy=strategy,
            **_limit_columns(limits),
        ).returning(api_keys.c.id)
    ).scalar_one()
    conn.execute(balances.insert().values(key_id=key_id, balance=0))
    return ApiKey(key_id, name, prefix, now, limits=limits, strategy=strategy)


def key_by_digest(conn: Connection, digest: str) -> ApiKey | None:
    row = conn.execute(
        sa.select(api_keys).where(api_keys.c.key_hash == digest)
    ).mappings().first()
    return _key(row) if row else None


def key_by_name(conn: Connection, name: str) -> ApiKey | None:
    row = conn.execute(sa.select(api_keys).where(api_keys.c.name == name)).mappings().first()
    return _key(row) if row else None


def key_by_id(conn: Connection, key_id: int) -> ApiKey | None:
    row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
    return _key(row) if row else None


def list_keys(conn: Connection) -> list[tuple[ApiKey, int]]:
    rows = conn.execute(
        sa.select(api_keys, balances.c.balance)
        .join(balances, balances.c.key_id == api_keys.c.id)
        .order_by(api_keys.c.id)
    ).mappings()
    return [(_key(row), row["balance"]) for row in rows]


def revoke_key(conn: Connection, key_id: int, now: int) -> None:
    conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def set_limits(conn: Connection, key_id: int, limits: KeyLimits) -> None:
    conn.execute(api_keys.update().where(api_keys.c.id == key_id)
                 .values(**_limit_columns(limits)))


def strategy_of(conn: Connection, key_id: int) -> str | None:
    """The key's routing strategy; None: the configured default."""
    return conn.execute(sa.select(api_keys.c.strategy).where(api_keys.c.id == key_id)
                        ).scalar_one_or_none()


def set_strategy(conn: Connection, key_id: int, strategy: str | None) -> None:
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(strategy=strategy))
