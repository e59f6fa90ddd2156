"""The admin token's digest and the console's sessions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from seedgate.store.schema import admin_token, console_sessions

TOKEN_ROW = 1


def token_digest(conn: Connection) -> str | None:
    return conn.execute(sa.select(admin_token.c.digest)
                        .where(admin_token.c.id == TOKEN_ROW)).scalar_one_or_none()


def insert_token(conn: Connection, digest: str, now: int) -> None:
    """The first admin token; raises IntegrityError if one exists already."""
    conn.execute(admin_token.insert().values(id=TOKEN_ROW, digest=digest, created_at=now))


def replace_token(conn: Connection, digest: str, now: int) -> None:
    """A new admin token; every console session signed in with the old one ends."""
    conn.execute(admin_token.delete())
    insert_token(conn, digest, now)
    conn.execute(console_sessions.delete())


def open_session(conn: Connection, digest: str, now: int, expires_at: int) -> None:
    conn.execute(console_sessions.delete().where(console_sessions.c.expires_at <= now))
    conn.execute(console_sessions.insert().values(digest=digest, created_at=now,
                                                  expires_at=expires_at))


def session_alive(conn: Connection, digest: str, now: int) -> bool:
    return conn.execute(
        sa.select(console_sessions.c.digest).where(console_sessions.c.digest == digest,
                                                   console_sessions.c.expires_at > now)
    ).first() is not None


def close_session(conn: Connection, digest: str) -> None:
    conn.execute(console_sessions.delete().where(console_sessions.c.digest == digest))
