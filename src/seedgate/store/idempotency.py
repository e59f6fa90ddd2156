"""Stored first responses of idempotent creates (see `domain.idempotency`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from seedgate.domain.idempotency import StoredResponse
from seedgate.store.schema import idempotency_keys as table


class KeyTaken(Exception):
    """Another process recorded the same key first (the unique constraint caught it)."""


_WHERE = (table.c.key_id == sa.bindparam("k"), table.c.idempotency_key == sa.bindparam("ik"))
_FIND = sa.select(table).where(*_WHERE)
_FORGET = table.delete().where(*_WHERE)
_INSERT = table.insert()


def find(conn: Connection, key_id: int, key: str) -> StoredResponse | None:
    row = conn.execute(_FIND, {"k": key_id, "ik": key}).mappings().first()
    if row is None:
        return None
    return StoredResponse(row["request_hash"], row["task_id"], row["response_status"],
                          bytes(row["response_body"]), row["created_at"])


def forget(conn: Connection, key_id: int, key: str) -> None:
    conn.execute(_FORGET, {"k": key_id, "ik": key})


def record(conn: Connection, key_id: int, key: str, response: StoredResponse) -> None:
    try:
        conn.execute(_INSERT, {
            "key_id": key_id, "idempotency_key": key, "request_hash": response.request_hash,
            "task_id": response.task_id, "response_status": response.status,
            "response_body": response.body, "created_at": response.created_at,
        })
    except sa.exc.IntegrityError as exc:
        raise KeyTaken(key) from exc



def prune(conn: Connection, before: int) -> int:
    """Delete keys recorded before `before` (Unix ms); returns how many."""
    return conn.execute(table.delete().where(table.c.created_at < before)).rowcount
