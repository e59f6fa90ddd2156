"""Readiness: can this process serve now? Each dependency is checked at once, briefly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from seedgate.media.storage import Storage, StorageUnavailable
from seedgate.shared.link import RedisLink
from seedgate.store.database import Database

CHECK_TIMEOUT_S = 5.0
OK = "ok"


def _select_one(conn: Connection) -> Any:
    return conn.execute(sa.text("SELECT 1")).scalar_one()


async def _verdict(check: Awaitable[Any]) -> str:
    """`ok`, or `unavailable: <why>` (never a URL or a credential)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await check
    except TimeoutError:
        return f"unavailable: no answer within {CHECK_TIMEOUT_S:g} s"
    except StorageUnavailable as exc:  # its message is written for operators
        return f"unavailable: {exc}"
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    return OK


async def readiness(db: Database, storage: Storage, redis: RedisLink | None) -> dict[str, str]:
    """Every check by name: the database answers a query, Redis (when configured) a ping,
    and the media storage its own check."""
    checks: dict[str, Awaitable[Any]] = {"database": db.read(_select_one),
                                         "storage": storage.check()}
    if redis is not None:
        checks["redis"] = redis.ping()
    verdicts = await asyncio.gather(*(_verdict(check) for check in checks.values()))
    return dict(zip(checks, verdicts, strict=True))
