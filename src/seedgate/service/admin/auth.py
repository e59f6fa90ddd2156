"""Who may operate the gateway: the holder of the admin token.

There is one admin token. It is made on first start (or by `seedgate admin token
--rotate`), shown once, and stored as its SHA-256 digest; a presented token is compared by
digest in constant time. The admin API takes it as a bearer token; the console exchanges
it for a session (an HttpOnly cookie whose digest is stored), and every form of a session
carries a CSRF token derived from it. Rotating the token ends every console session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from functools import partial

from sqlalchemy.exc import IntegrityError

from seedgate.clock import now_ms
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.keys import digest, generate_key, looks_like_key
from seedgate.store import operators as store
from seedgate.store.database import Database

ADMIN_TOKEN_PREFIX = "sga_"
SESSION_HOURS = 12
CACHE_S = 5.0  # a token rotated by another process is honoured within this time
_NO_TOKEN = digest("no admin token")  # compared against, so a refusal takes as long


class AdminTokens:
    def __init__(self, db: Database, clock: Callable[[], int] = now_ms) -> None:
        self._db = db
        self._clock = clock
        self._cached: tuple[float, str | None] = (0.0, None)

    def ensure(self) -> str | None:
        """On first start, make the admin token and return it (once); None if one exists."""
        if self._db.read_sync(store.token_digest) is not None:
            return None
        new = generate_key(ADMIN_TOKEN_PREFIX)
        try:
            self._db.write_sync(partial(store.insert_token, digest=new.digest,
                                        now=self._clock()))
        except IntegrityError:  # another process made it at the same moment
            return None
        return new.secret

    def rotate(self) -> str:
        """A new admin token, returned once; the old one and every console session end."""
        new = generate_key(ADMIN_TOKEN_PREFIX)
        self._db.write_sync(partial(store.replace_token, digest=new.digest, now=self._clock()))
        self._cached = (time.monotonic() + CACHE_S, new.digest)
        return new.secret

    async def matches(self, token: str) -> bool:
        """Whether `token` is the admin token (compared by digest, in constant time)."""
        stored = await self._digest()
        presented = digest(token).encode()
        return hmac.compare_digest(presented, (stored or _NO_TOKEN).encode()) \
            and stored is not None

    async def authorize(self, authorization: str | None) -> None:
        """Pass a request bearing the admin token; refuse any other with a clear error."""
        if not authorization:
            raise GatewayError(ErrorKind.UNAUTHORIZED, "Missing admin token: send "
                               "`Authorization: Bearer <admin token>`.")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise GatewayError(ErrorKind.UNAUTHORIZED, "Malformed Authorization header: use "
                               "`Bearer <admin token>`.")
        if await self.matches(token):
            return
        if looks_like_key(token):
            raise GatewayError(ErrorKind.FORBIDDEN, "This is a client API key; the admin API "
                               "takes the admin token (`seedgate admin token --rotate` makes "
                               "a new one).")
        raise GatewayError(ErrorKind.UNAUTHORIZED, "Invalid admin token.")

    async def _digest(self) -> str | None:
        expires, found = self._cached
        if time.monotonic() < expires:
            return found
        found = await self._db.read(store.token_digest)
        self._cached = (time.monotonic() + CACHE_S, found)
        return found


class ConsoleSessions:
    """Console sign-ins: a random cookie value, stored as its digest for `SESSION_HOURS`."""

    def __init__(self, db: Database, tokens: AdminTokens, secret: bytes,
                 clock: Callable[[], int] = now_ms) -> None:
        self._db = db
        self._tokens = tokens
        self._secret = secret
        self._clock = clock

    async def sign_in(self, token: str) -> str | None:
        """A new session's cookie value if `token` is the admin token, else None."""
        if not await self._tokens.matches(token.strip()):
            return None
        cookie = secrets.token_urlsafe(32)
        now = self._clock()
        await self._db.write(partial(store.open_session, digest=digest(cookie), now=now,
                                     expires_at=now + SESSION_HOURS * 3_600_000))
        return cookie

    async def alive(self, cookie: str | None) -> bool:
        if not cookie:
            return False
        return await self._db.read(partial(store.session_alive, digest=digest(cookie),
                                           now=self._clock()))

    async def sign_out(self, cookie: str) -> None:
        await self._db.write(partial(store.close_session, digest=digest(cookie)))

    def csrf_token(self, cookie: str) -> str:
        """The value every form of this session must send back (derived, not stored)."""
        return hmac.new(self._secret, f"console-csrf\n{digest(cookie)}".encode(),
                        hashlib.sha256).hexdigest()

    def csrf_valid(self, cookie: str, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(self.csrf_token(cookie).encode(),
                                                        sent.encode())
