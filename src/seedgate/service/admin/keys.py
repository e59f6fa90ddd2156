"""Operators' use cases on API keys: create with limits, read with their running totals,
change limits and routing, revoke, webhook secrets, credits and the ledger.

Built on `Accounts` and `Keyring`, which the CLI uses too (synchronous: they run on a
thread here); failures become `GatewayError`s that every door renders its own way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.engine import Connection

from seedgate.clock import now_ms
from seedgate.domain.errors import ErrorKind, GatewayError, invalid
from seedgate.domain.keys import KEY_PREFIX, ApiKey
from seedgate.domain.limits import InvalidLimit, KeyLimits
from seedgate.providers.config import Strategy
from seedgate.service.accounts import Accounts, KeyNameTaken
from seedgate.store import keys as key_store
from seedgate.store import ledger
from seedgate.store.database import Database
from seedgate.store.ledger import Entry, InsufficientBalance, Totals
from seedgate.webhooks.keyring import Keyring

MAX_CREDITS = 10**12  # in one grant or withdrawal
STRATEGY = "strategy"
NAME = re.compile(r"[^/\x00-\x1f\x7f]{1,100}")


@dataclass(frozen=True, slots=True)
class KeyView:
    """A key with its running totals: balance, unfinished tasks, spend today and this month."""

    key: ApiKey
    totals: Totals


@dataclass(frozen=True, slots=True)
class LedgerPage:
    key: ApiKey
    entries: list[Entry]
    has_more: bool


def checked_name(name: Any) -> str:
    """A new key's name: 1 to 100 characters, no slash or control character (names appear
    in URL paths), and not shaped like a secret."""
    if not isinstance(name, str) or not NAME.fullmatch(name.strip()):
        raise invalid("name", "`name` must be 1 to 100 characters, without `/` or control "
                      "characters.")
    if name.strip().startswith(KEY_PREFIX):
        raise invalid("name", f"`name` may not start with `{KEY_PREFIX}`, which is how key "
                      "secrets start.")
    return name.strip()


def checked_strategy(value: Any) -> str | None:
    """A routing strategy, or None for the server's default."""
    if value is not None and value not in tuple(Strategy):
        raise invalid(STRATEGY, f"`{STRATEGY}` must be one of "
                      f"{', '.join(s.value for s in Strategy)}, or null for the server's.")
    return value


def checked_credits(amount: Any, param: str, *, negative: bool) -> int:
    low = -MAX_CREDITS if negative else 0
    if isinstance(amount, bool) or not isinstance(amount, int) or not low <= amount <= MAX_CREDITS:
        raise invalid(param, f"`{param}` must be a whole number of credits from {low} to "
                      f"{MAX_CREDITS}.")
    return amount


class KeyAdmin:
    def __init__(self, db: Database, accounts: Accounts, keyring: Keyring,
                 clock: Callable[[], int] = now_ms) -> None:
        self._db = db
        self._accounts = accounts
        self._keyring = keyring
        self._clock = clock

    async def list(self) -> list[KeyView]:
        """Every key, oldest first, with its totals."""
        return await self._db.read(self._views)

    def _views(self, conn: Connection) -> list[KeyView]:
        totals = ledger.every_totals(conn, self._clock())
        return [KeyView(key, totals[key.id]) for key, _ in key_store.list_keys(conn)]

    async def get(self, name: str) -> KeyView:
        key = await self.find(name)
        return KeyView(key, await self._totals(key))

    async def find(self, name: str) -> ApiKey:
        """The key named `name` (by name only: a secret never travels in a URL)."""
        key = await self._db.read(partial(key_store.key_by_name, name=name))
        if key is None:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No API key named {name!r}.",
                               param="name")
        return key

    async def create(self, name: Any, credits: Any = 0, limits: KeyLimits | None = None,
                     strategy: Any = None) -> tuple[KeyView, str]:
        """A new key and its secret, which is never shown again."""
        name = checked_name(name)
        credits = checked_credits(credits, "credits", negative=False)
        strategy = checked_strategy(strategy)
        try:
            key, secret = await asyncio.to_thread(
                self._accounts.create_key, name, credits, limits, strategy)
        except KeyNameTaken as exc:
            raise GatewayError(ErrorKind.CONFLICT, f"A key named {name!r} already exists.",
                               param="name") from exc
        except InvalidLimit as exc:
            raise _limit_error(exc) from None
        return KeyView(key, await self._totals(key)), secret

    async def update(self, name: str, changes: dict[str, Any]) -> KeyView:
        """Change some limits (the others stay) and, if `changes` names it, the routing
        `strategy` (None: the server's default). The limits are checked before anything is
        written."""
        strategy = checked_strategy(changes.get(STRATEGY))
        key = await self.find(name)
        limits = {field: value for field, value in changes.items() if field != STRATEGY}
        if limits:
            try:
                key = await asyncio.to_thread(self._accounts.update_limits, key.name, **limits)
            except InvalidLimit as exc:
                raise _limit_error(exc) from None
        if STRATEGY in changes:
            key = await asyncio.to_thread(self._accounts.set_strategy, key.name, strategy)
        return KeyView(key, await self._totals(key))

    async def revoke(self, name: str) -> KeyView:
        key = await self.find(name)
        await asyncio.to_thread(self._accounts.revoke, key.name)
        return await self.get(key.name)

    async def webhook_secret(self, name: str, *, rotate: bool = False) -> str:
        """The key's webhook signing secret, made on first use (or replaced, with `rotate`:
        the previous one keeps signing alongside for 24 hours)."""
        key = await self.find(name)
        return await asyncio.to_thread(partial(self._keyring.reveal, key.id, rotate=rotate))

    async def add_credits(self, name: str, amount: Any, note: Any = None) -> KeyView:
        """Grant credits, or withdraw them with a negative amount (never below zero)."""
        amount = checked_credits(amount, "amount", negative=True)
        if amount == 0:
            raise invalid("amount", "`amount` must not be 0: positive grants, negative "
                          "withdraws.")
        if note is not None and (not isinstance(note, str) or len(note) > 200):
            raise invalid("note", "`note` must be a string of at most 200 characters.")
        key = await self.find(name)
        try:
            await asyncio.to_thread(self._accounts.add_credits, key.name, amount, note or None)
        except InsufficientBalance as exc:
            raise invalid("amount", f"Withdrawing {-amount} credits would leave the balance "
                          f"of {exc.balance} below zero.") from None
        return await self.get(key.name)

    async def ledger(self, name: str, *, limit: int, before: int | None = None) -> LedgerPage:
        """The key's ledger, newest first, `limit` entries older than entry `before`."""
        key = await self.find(name)
        found = await self._db.read(partial(ledger.page_of, key_id=key.id, limit=limit + 1,
                                            before_id=before))
        return LedgerPage(key, found[:limit], len(found) > limit)

    async def _totals(self, key: ApiKey) -> Totals:
        return await self._db.read(partial(ledger.totals_of, key_id=key.id, now=self._clock()))


def _limit_error(exc: InvalidLimit) -> GatewayError:
    """An invalid limit, naming the limit (its message starts with it in backquotes)."""
    message = str(exc)
    param = message[1:message.index("`", 1)] if message.startswith("`") else None
    return GatewayError(ErrorKind.INVALID_PARAMETER, message, param=param)
