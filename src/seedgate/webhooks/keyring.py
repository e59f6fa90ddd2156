"""Each API key's webhook signing secret: made on first use, stored encrypted, rotated on
demand (the previous secret keeps signing for a day, so receivers can switch over)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from seedgate.clock import now_ms
from seedgate.store import webhooks as store
from seedgate.store.database import Database
from seedgate.webhooks.secretbox import SecretBox
from seedgate.webhooks.signing import new_secret

ROTATION_GRACE_MS = 24 * 3600 * 1000


class Keyring:
    def __init__(self, db: Database, box: SecretBox,
                 clock: Callable[[], int] = now_ms) -> None:
        self._db = db
        self._box = box
        self._clock = clock

    def reveal(self, key_id: int, *, rotate: bool = False) -> str:
        """The key's current secret, made (or replaced, with `rotate`) first if need be."""
        unit = self._rotate if rotate else self._ensure
        try:
            sealed = self._db.write_sync(partial(unit, key_id=key_id, now=self._clock()))
        except sa.exc.IntegrityError:  # another process made it first
            sealed = self._db.write_sync(partial(self._ensure, key_id=key_id, now=self._clock()))
        return self._box.open(sealed.secret)

    async def signing_secrets(self, key_id: int) -> list[str]:
        """The secrets that sign a delivery now: the current one, and the previous one
        while its grace period lasts."""
        sealed = await self._db.read(partial(store.secrets_of, key_id=key_id))
        if sealed is None:
            try:
                sealed = await self._db.write(partial(self._ensure, key_id=key_id,
                                                      now=self._clock()))
            except sa.exc.IntegrityError:
                sealed = await self._db.read(partial(store.secrets_of, key_id=key_id))
                assert sealed is not None
        found = [self._box.open(sealed.secret)]
        if sealed.previous and (sealed.previous_until or 0) > self._clock():
            found.append(self._box.open(sealed.previous))
        return found

    def _ensure(self, conn: Connection, key_id: int, now: int) -> store.SealedSecrets:
        sealed = store.secrets_of(conn, key_id)
        if sealed is None:
            store.store_secret(conn, key_id, self._box.seal(new_secret()), now)
            sealed = store.secrets_of(conn, key_id)
        assert sealed is not None
        return sealed

    def _rotate(self, conn: Connection, key_id: int, now: int) -> store.SealedSecrets:
        if store.secrets_of(conn, key_id) is None:
            return self._ensure(conn, key_id, now)
        store.rotate_secret(conn, key_id, self._box.seal(new_secret()),
                            now + ROTATION_GRACE_MS, now)
        sealed = store.secrets_of(conn, key_id)
        assert sealed is not None
        return sealed
