"""API key records."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from seedgate.domain.keys import ApiKey
from seedgate.store.schema import api_keys, balances


def _key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"], name=row["name"], prefix=row["prefix"], rate_limit=row["rate_limit"],
        created_at=row["created_at"], revoked_at=row["revoked_at"],
    )


def insert_key(
    conn: Connection, *, name: str, digest: str, prefix: str, rate_limit: int | None, now: int
) -> ApiKey:
    key_id = conn.execute(
        api_keys.insert().values(
            name=name, key_hash=digest, prefix=prefix, rate_limit=rate_limit, created_at=now
        ).returning(api_keys.c.id)
    ).scalar_one()
    conn.execute(balances.insert().values(key_id=key_id, balance=0))
    return ApiKey(key_id, name, prefix, rate_limit, now)


def key_by_digest(conn: Connection, digest: str) -> ApiKey | None:
    row = conn.execute(
        sa.select(api_keys).where(api_keys.c.key_hash == digest)
    ).mappings().first()
    return _key(row) if row else None


def key_by_name(conn: Connection, name: str) -> ApiKey | None:
    row = conn.execute(sa.select(api_keys).where(api_keys.c.name == name)).mappings().first()
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


def strategy_of(conn: Connection, key_id: int) -> str | None:
    """The key's routing strategy; None: the configured default."""
    return conn.execute(sa.select(api_keys.c.strategy).where(api_keys.c.id == key_id)
                        ).scalar_one_or_none()


def set_strategy(conn: Connection, key_id: int, strategy: str | None) -> None:
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(strategy=strategy))
