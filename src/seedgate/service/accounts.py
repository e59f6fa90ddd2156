"""API keys and credits, as operators manage them (CLI) and as requests present them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from seedgate.clock import now_ms
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.keys import ApiKey, digest, generate_key, looks_like_key
from seedgate.domain.limits import LIMIT_NAMES, InvalidLimit, KeyLimits, checked
from seedgate.store import keys as key_store
from seedgate.store import ledger
from seedgate.store.database import Database
from seedgate.store.ledger import Totals

DEV_KEY_NAME = "dev"


class UnknownKey(LookupError):
    pass


class KeyNameTaken(ValueError):
    pass


class Accounts:
    def __init__(self, db: Database, clock: Callable[[], int] = now_ms,
                 on_change: Callable[[ApiKey], None] = lambda key: None) -> None:
        self._db = db
        self._clock = clock
        self._on_change = on_change  # a key was revoked or its limits changed

    def create_key(
        self, name: str, credits: int = 0, limits: KeyLimits | None = None,
        strategy: str | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key and return it with its secret, which is never shown again."""
        new = generate_key()
        now = self._clock()
        limits = checked(limits or KeyLimits())

        def unit(conn: Connection) -> ApiKey:
            key = key_store.insert_key(conn, name=name, digest=new.digest, prefix=new.prefix,
                                       limits=limits, strategy=strategy, now=now)
            if credits:
                ledger.grant(conn, key.id, credits, now, note="initial credits")
            return key

        try:
            return self._db.write_sync(unit), new.secret
        except IntegrityError as exc:
            raise KeyNameTaken(f"a key named {name!r} already exists") from exc

    def find(self, key_or_name: str) -> ApiKey:
        def unit(conn: Connection) -> ApiKey | None:
            if looks_like_key(key_or_name):
                return key_store.key_by_digest(conn, digest(key_or_name))
            return key_store.key_by_name(conn, key_or_name)

        key = self._db.read_sync(unit)
        if key is None:
            raise UnknownKey(f"no API key named {key_or_name!r}")
        return key

    def revoke(self, key_or_name: str) -> ApiKey:
        key = self.find(key_or_name)
        self._db.write_sync(lambda conn: key_store.revoke_key(conn, key.id, self._clock()))
        self._on_change(key)
        return key

    def set_strategy(self, key_or_name: str, strategy: str | None) -> ApiKey:
        """Route this key's tasks by `strategy`; None: by the configured default."""
        key = self.find(key_or_name)
        self._db.write_sync(lambda conn: key_store.set_strategy(conn, key.id, strategy))
        self._on_change(key)
        return replace(key, strategy=strategy)

    def update_limits(self, key_or_name: str, **changes: Any) -> ApiKey:
        """Change some of a key's limits (the others stay); raises InvalidLimit."""
        unknown = set(changes) - set(LIMIT_NAMES)
        if unknown:
            raise InvalidLimit(f"unknown limits: {', '.join(sorted(unknown))}")
        key = self.find(key_or_name)
        limits = key.limits.changed(**changes)
        self._db.write_sync(lambda conn: key_store.set_limits(conn, key.id, limits))
        self._on_change(key)
        return replace(key, limits=limits)

    def totals(self, key_or_name: str) -> Totals:
        """The key's balance, unfinished tasks and net spend today and this month."""
        key = self.find(key_or_name)
        return self._db.read_sync(partial(ledger.totals_of, key_id=key.id, now=self._clock()))

    def add_credits(self, key_or_name: str, amount: int, note: str | None = None) -> int:
        """Grant (or with a negative amount, withdraw) credits; returns the new balance."""
        key = self.find(key_or_name)
        return self._db.write_sync(
            lambda conn: ledger.grant(conn, key.id, amount, self._clock(), note=note)
        )

    def balances(self) -> list[tuple[ApiKey, int]]:
        return self._db.read_sync(key_store.list_keys)

    def ensure_dev_key(self, credits: int) -> str | None:
        """On a fresh install, create the development key and return its secret once."""
        if self.balances():
            return None
        try:
            _, secret = self.create_key(DEV_KEY_NAME, credits)
        except KeyNameTaken:  # another process created it at the same moment
            return None
        return secret


class Authenticator:
    """Resolves `Authorization: Bearer` secrets to keys, with a short-lived cache.

    Revocations and changed limits reach every process within `ttl_s`, or at once where
    they are announced (`forget`); unknown secrets are cached too, so a flood of bad keys
    does not become a flood of queries.
    """

    def __init__(self, db: Database, ttl_s: float = 5.0, max_entries: int = 10_000) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    def forget(self, key_id: str) -> None:
        """Drop the cached key with this id (every cached key, if `key_id` is empty)."""
        self._cache = {digest_: entry for digest_, entry in self._cache.items()
                       if key_id and (entry[1] is None or str(entry[1].id) != key_id)}

    async def authenticate(self, authorization: str | None) -> ApiKey:
        if not authorization:
            raise GatewayError(ErrorKind.UNAUTHORIZED,
                               "Missing API key: send `Authorization: Bearer <key>`.")
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise GatewayError(ErrorKind.UNAUTHORIZED,
                               "Malformed Authorization header: use `Bearer <key>`.")
        key_digest = digest(secret.strip())
        now = time.monotonic()
        cached = self._cache.get(key_digest)
        if cached is not None and cached[0] > now:
            key = cached[1]
        else:
            key = await self._db.read(lambda conn: key_store.key_by_digest(conn, key_digest))
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
            self._cache[key_digest] = (now + self._ttl_s, key)
        if key is None or not key.active:
            raise GatewayError(ErrorKind.UNAUTHORIZED, "Invalid or revoked API key.")
        return key
